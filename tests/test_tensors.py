"""Unit tests for :mod:`swin_viz.tensors`, the SW-MSA mask computation.

Three independent sources of truth are used:

* literal tensors written out by hand (H = W = 9, M = 3, s = 1 and the tiny
  H = W = 4, M = 2, s = 1 example);
* a literal port of the official Swin Transformer code (``window_partition``
  and the ``img_mask`` / ``cnt`` loop of ``SwinTransformerBlock.__init__``);
* a geometric rule computed from coordinates only, with no region labels:
  two tokens of one window may attend to each other exactly when the cyclic
  shift moved both or neither across the top edge, and both or neither across
  the left edge.
"""

from __future__ import annotations

import re

import pytest
import torch

import swin_viz
from swin_viz import tensors
from swin_viz.tensors import (
    CLAMP_RULES,
    as_pair,
    attention_mask,
    clamp_layout,
    cyclic_shift,
    label_difference,
    masked_window_softmax,
    padded_size,
    region_labels,
    region_slices,
    reverse_cyclic_shift,
    token_origins,
    validate_layout,
    window_grid,
    window_labels,
    window_partition,
    window_reverse,
)


# --------------------------------------------------------------------------- #
# Reference implementations (written here, independent of the package)        #
# --------------------------------------------------------------------------- #
def official_window_partition(x: torch.Tensor, window_size: int) -> torch.Tensor:
    """The official Swin ``window_partition`` (square window), verbatim."""
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
    return windows


def official_attn_mask(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """The official ``SwinTransformerBlock.__init__`` mask construction, verbatim."""
    img_mask = torch.zeros((1, H, W, 1))  # 1 H W 1
    h_slices = (
        slice(0, -window_size),
        slice(-window_size, -shift_size),
        slice(-shift_size, None),
    )
    w_slices = (
        slice(0, -window_size),
        slice(-window_size, -shift_size),
        slice(-shift_size, None),
    )
    cnt = 0
    for h in h_slices:
        for w in w_slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1

    mask_windows = official_window_partition(img_mask, window_size)  # nW, window_size, window_size, 1
    mask_windows = mask_windows.view(-1, window_size * window_size)
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))
    return attn_mask


def official_img_mask(H: int, W: int, window_size: int, shift_size: int) -> torch.Tensor:
    """Only the ``img_mask`` part of the official code, as a long ``[H, W]`` tensor."""
    img_mask = torch.zeros((1, H, W, 1))
    slices = (slice(0, -window_size), slice(-window_size, -shift_size), slice(-shift_size, None))
    cnt = 0
    for h in slices:
        for w in slices:
            img_mask[:, h, w, :] = cnt
            cnt += 1
    return img_mask[0, :, :, 0].long()


def geometric_allowed(H: int, W: int, window, shift) -> torch.Tensor:
    """``[nW, N, N]`` bool: may query i attend to key j, from coordinates alone.

    In the rolled map, row p came across the top edge iff ``p >= H - sh``;
    column q came across the left edge iff ``q >= W - sw``.  Two tokens of a
    window may attend iff their row wrap status and column wrap status agree.
    Windows are numbered row-major over the window grid, tokens row-major
    inside the window (explicit index arithmetic, no window_partition).
    """
    Mh, Mw = (window, window) if isinstance(window, int) else window
    sh, sw = (shift, shift) if isinstance(shift, int) else shift
    n_cols = W // Mw
    nW = (H // Mh) * n_cols
    N = Mh * Mw
    k = torch.arange(nW).view(nW, 1)
    t = torch.arange(N).view(1, N)
    rows = (k // n_cols) * Mh + t // Mw  # [nW, N]
    cols = (k % n_cols) * Mw + t % Mw  # [nW, N]
    row_wrapped = rows >= H - sh
    col_wrapped = cols >= W - sw
    same_rows = row_wrapped.unsqueeze(2) == row_wrapped.unsqueeze(1)
    same_cols = col_wrapped.unsqueeze(2) == col_wrapped.unsqueeze(1)
    return same_rows & same_cols


# --------------------------------------------------------------------------- #
# Literal reference numbers: H = W = 9, M = 3, s = 1                          #
# --------------------------------------------------------------------------- #
REGION_9_3_1 = torch.tensor(
    [
        [0, 0, 0, 0, 0, 0, 1, 1, 2],
        [0, 0, 0, 0, 0, 0, 1, 1, 2],
        [0, 0, 0, 0, 0, 0, 1, 1, 2],
        [0, 0, 0, 0, 0, 0, 1, 1, 2],
        [0, 0, 0, 0, 0, 0, 1, 1, 2],
        [0, 0, 0, 0, 0, 0, 1, 1, 2],
        [3, 3, 3, 3, 3, 3, 4, 4, 5],
        [3, 3, 3, 3, 3, 3, 4, 4, 5],
        [6, 6, 6, 6, 6, 6, 7, 7, 8],
    ],
    dtype=torch.long,
)

WINDOW_LABELS_9_3_1 = torch.tensor(
    [
        [0, 0, 0, 0, 0, 0, 0, 0, 0],  # window 0: rows 0-2, cols 0-2
        [0, 0, 0, 0, 0, 0, 0, 0, 0],  # window 1: rows 0-2, cols 3-5
        [1, 1, 2, 1, 1, 2, 1, 1, 2],  # window 2: rows 0-2, cols 6-8
        [0, 0, 0, 0, 0, 0, 0, 0, 0],  # window 3
        [0, 0, 0, 0, 0, 0, 0, 0, 0],  # window 4
        [1, 1, 2, 1, 1, 2, 1, 1, 2],  # window 5
        [3, 3, 3, 3, 3, 3, 6, 6, 6],  # window 6: rows 6-8, cols 0-2
        [3, 3, 3, 3, 3, 3, 6, 6, 6],  # window 7
        [4, 4, 5, 4, 4, 5, 7, 7, 8],  # window 8: bottom-right
    ],
    dtype=torch.long,
)

DIFF_LAST_9_3_1 = torch.tensor(
    [
        [0, 0, 1, 0, 0, 1, 3, 3, 4],
        [0, 0, 1, 0, 0, 1, 3, 3, 4],
        [-1, -1, 0, -1, -1, 0, 2, 2, 3],
        [0, 0, 1, 0, 0, 1, 3, 3, 4],
        [0, 0, 1, 0, 0, 1, 3, 3, 4],
        [-1, -1, 0, -1, -1, 0, 2, 2, 3],
        [-3, -3, -2, -3, -3, -2, 0, 0, 1],
        [-3, -3, -2, -3, -3, -2, 0, 0, 1],
        [-4, -4, -3, -4, -4, -3, -1, -1, 0],
    ],
    dtype=torch.long,
)

# H = W = 4, M = 2, s = 1, written by hand from the slice rule:
# slice(0, -2) -> rows/cols 0, 1; slice(-2, -1) -> row/col 2; slice(-1, None) -> row/col 3;
# cnt = 3 * (row band) + (column band).
REGION_4_2_1 = torch.tensor(
    [
        [0, 0, 1, 2],
        [0, 0, 1, 2],
        [3, 3, 4, 5],
        [6, 6, 7, 8],
    ],
    dtype=torch.long,
)


class TestPackageSurface:
    def test_reexports_are_the_same_objects(self):
        # swin_viz re-exports tensors (and swin_viz.block, checked in test_block.py)
        for name in tensors.__all__:
            if name in swin_viz.__all__:
                assert getattr(swin_viz, name) is getattr(tensors, name)
        assert {"padded_size", "clamp_layout", "CLAMP_RULES"} <= set(swin_viz.__all__)

    def test_all_public_functions_listed(self):
        expected = {
            "as_pair",
            "validate_layout",
            "cyclic_shift",
            "reverse_cyclic_shift",
            "region_slices",
            "region_labels",
            "window_partition",
            "window_reverse",
            "window_grid",
            "window_labels",
            "label_difference",
            "attention_mask",
            "masked_window_softmax",
        }
        # other public helpers may be added; these must stay exported
        assert expected <= set(tensors.__all__)
        assert expected <= set(swin_viz.__all__)


# --------------------------------------------------------------------------- #
# as_pair / validate_layout                                                   #
# --------------------------------------------------------------------------- #
class TestAsPair:
    @pytest.mark.parametrize(
        "value, expected",
        [
            (3, (3, 3)),
            (0, (0, 0)),
            ((3, 4), (3, 4)),
            ([5, 2], (5, 2)),
            (torch.Size([7, 1]), (7, 1)),
        ],
    )
    def test_values(self, value, expected):
        result = as_pair(value, "window")
        assert result == expected
        assert type(result) is tuple
        assert all(type(v) is int for v in result)

    def test_numpy_integer_accepted(self):
        np = pytest.importorskip("numpy")
        assert as_pair(np.int64(4), "window") == (4, 4)
        assert as_pair((np.int32(2), np.int64(3)), "window") == (2, 3)

    @pytest.mark.parametrize(
        "value, pattern",
        [
            (3.0, r"^window must be an int, got float 3\.0$"),
            ("3", r"^window must be an int, got str '3'$"),
            (True, r"^window must be an int, got bool True$"),
            (None, r"^window must be an int, got NoneType None$"),
            ((3, 4.0), r"^window\[1\] must be an int, got float 4\.0$"),
            ((False, 4), r"^window\[0\] must be an int, got bool False$"),
            ((3, 3, 3), re.escape("window must be an int or an (h, w) pair of ints, got 3 values (3, 3, 3)")),
            ((3,), re.escape("window must be an int or an (h, w) pair of ints, got 1 values (3,)")),
            ([], re.escape("window must be an int or an (h, w) pair of ints, got 0 values ()")),
        ],
    )
    def test_type_errors(self, value, pattern):
        with pytest.raises(TypeError, match=pattern):
            as_pair(value, "window")

    def test_name_is_used_in_message(self):
        with pytest.raises(TypeError, match=r"^my_arg must be an int"):
            as_pair(1.5, "my_arg")


class TestValidateLayout:
    @pytest.mark.parametrize(
        "args, expected",
        [
            ((9, 9, 3, 1), ((3, 3), (1, 1))),
            ((9, 9, 3), ((3, 3), (0, 0))),
            ((6, 8, (3, 4), (0, 2)), ((3, 4), (0, 2))),
            ((12, 8, [4, 2], [3, 1]), ((4, 2), (3, 1))),
            ((7, 7, 7, 6), ((7, 7), (6, 6))),
            ((5, 5, 1, 0), ((1, 1), (0, 0))),
        ],
    )
    def test_returns_pairs(self, args, expected):
        assert validate_layout(*args) == expected

    @pytest.mark.parametrize(
        "args, exc, pattern",
        [
            # window does not divide the map: named, and padding suggested
            ((9, 9, 4, 1), ValueError, re.escape("window_h=4 does not divide height=9: height must be a multiple of the window (pad the feature map to 12 first)")),
            ((8, 9, 4, 1), ValueError, re.escape("window_w=4 does not divide width=9: width must be a multiple of the window (pad the feature map to 12 first)")),
            ((6, 8, (4, 4), 0), ValueError, r"window_h=4 does not divide height=6.*pad the feature map to 8 first"),
            # shift out of range
            ((9, 9, 3, 3), ValueError, re.escape("shift_h=3 is outside [0, window_h=3)")),
            ((9, 9, 3, 4), ValueError, r"shift_h=4 is outside .*0 <= shift < window"),
            ((9, 9, 3, -1), ValueError, re.escape("shift_h=-1 is outside [0, window_h=3)")),
            ((9, 9, 3, (1, 3)), ValueError, re.escape("shift_w=3 is outside [0, window_w=3)")),
            ((9, 9, 3, (0, -2)), ValueError, re.escape("shift_w=-2 is outside [0, window_w=3)")),
            # non-positive sizes
            ((0, 9, 3, 1), ValueError, r"^height must be a positive int, got 0$"),
            ((-9, 9, 3, 1), ValueError, r"^height must be a positive int, got -9$"),
            ((9, 0, 3, 1), ValueError, r"^width must be a positive int, got 0$"),
            ((9, -3, 3, 1), ValueError, r"^width must be a positive int, got -3$"),
            ((9, 9, 0, 0), ValueError, r"^window must be positive in each dimension, got window_h=0$"),
            ((9, 9, -3, 0), ValueError, r"^window must be positive in each dimension, got window_h=-3$"),
            ((9, 9, (3, 0), 0), ValueError, r"^window must be positive in each dimension, got window_w=0$"),
            # wrong types
            ((9.0, 9, 3, 1), TypeError, r"^height must be an int, got float 9\.0$"),
            (("9", 9, 3, 1), TypeError, r"^height must be an int, got str '9'$"),
            ((True, 9, 3, 1), TypeError, r"^height must be an int, got bool True$"),
            ((None, 9, 3, 1), TypeError, r"^height must be an int, got NoneType None$"),
            ((9, 9.0, 3, 1), TypeError, r"^width must be an int"),
            ((9, 9, 3.0, 1), TypeError, r"^window must be an int, got float 3\.0$"),
            ((9, 9, "3", 1), TypeError, r"^window must be an int, got str"),
            ((9, 9, True, 0), TypeError, r"^window must be an int, got bool True$"),
            ((9, 9, None, 1), TypeError, r"^window must be an int, got NoneType"),
            ((9, 9, 3, 1.0), TypeError, r"^shift must be an int, got float 1\.0$"),
            ((9, 9, 3, "1"), TypeError, r"^shift must be an int, got str"),
            ((9, 9, 3, True), TypeError, r"^shift must be an int, got bool True$"),
            ((9, 9, 3, None), TypeError, r"^shift must be an int, got NoneType None$"),
            ((9, 9, (3, 3, 3), 1), TypeError, r"^window must be an int or an \(h, w\) pair of ints, got 3 values"),
            ((9, 9, 3, (1,)), TypeError, r"^shift must be an int or an \(h, w\) pair of ints, got 1 values"),
        ],
    )
    def test_errors(self, args, exc, pattern):
        with pytest.raises(exc, match=pattern):
            validate_layout(*args)


# --------------------------------------------------------------------------- #
# Padding (pad=True, pad-then-roll) and clamping                              #
# --------------------------------------------------------------------------- #
def _bands(size: int, window: int, shift: int) -> list[int]:
    """The band of each row of a ``size``-row map, by hand from ``region_slices``: 0 above the last window row,
    1 for the last window row's unwrapped rows, 2 for the last ``shift`` rows."""
    return [0] * (size - window) + [1] * (window - shift) + [2] * shift


class TestPaddedSize:
    @pytest.mark.parametrize(
        "args, expected",
        [
            ((9, 9, 4), (12, 12)),
            ((8, 9, 4), (8, 12)),
            ((9, 10, (4, 3)), (12, 12)),
            ((9, 9, 3), (9, 9)),
            ((5, 5, 7), (7, 7)),
            ((1, 1, 1), (1, 1)),
            ((13, 2, (7, 5)), (14, 5)),
        ],
    )
    def test_values(self, args, expected):
        assert padded_size(*args) == expected

    @pytest.mark.parametrize(
        "args, exc, pattern",
        [
            ((0, 9, 4), ValueError, r"^height must be a positive int, got 0$"),
            ((9, -1, 4), ValueError, r"^width must be a positive int, got -1$"),
            ((9, 9, 0), ValueError, r"^window must be positive in each dimension, got window_h=0$"),
            ((9, 9, (4, -2)), ValueError, r"^window must be positive in each dimension, got window_w=-2$"),
            ((9.0, 9, 4), TypeError, r"^height must be an int, got float 9\.0$"),
            ((9, 9, "4"), TypeError, r"^window must be an int, got str"),
        ],
    )
    def test_errors(self, args, exc, pattern):
        with pytest.raises(exc, match=pattern):
            padded_size(*args)


class TestPadOption:
    def test_validate_layout_accepts_any_size_with_pad(self):
        assert validate_layout(9, 10, 4, 2, pad=True) == ((4, 4), (2, 2))
        assert validate_layout(5, 5, 7, 3, pad=True) == ((7, 7), (3, 3))
        # the shift rule still holds
        with pytest.raises(ValueError, match=re.escape("shift_h=4 is outside [0, window_h=4)")):
            validate_layout(9, 10, 4, 4, pad=True)

    def test_strict_default_suggests_pad_true_where_it_is_offered(self):
        message = "window_h=4 does not divide height=9: height must be a multiple of the window (pad the feature map to 12 first), or pass pad=True to pad it with zeros at the bottom/right to 12x12"
        for function in (region_labels, window_labels, token_origins, attention_mask):
            with pytest.raises(ValueError, match="^" + re.escape(message) + "$"):
                function(9, 9, 4, 2)
        with pytest.raises(ValueError, match=re.escape("window_w=4 does not divide width=9") + ".*pass pad=True.*to 8x12$"):
            attention_mask(8, 9, 4, 1)

    def test_functions_without_pad_do_not_offer_it(self):
        for call in (lambda: validate_layout(9, 9, 4, 1), lambda: window_partition(torch.zeros(1, 9, 9, 1), 4)):
            with pytest.raises(ValueError, match=r"pad the feature map to 12 first\)$"):
                call()

    def test_region_labels_of_the_padded_map_by_hand(self):
        # H = W = 9, M = 4, s = 2 -> 12 x 12; bands 0 (rows 0-7), 1 (rows 8-9), 2 (rows 10-11)
        bands = _bands(12, 4, 2)
        expected = torch.tensor([[3 * bands[r] + bands[c] for c in range(12)] for r in range(12)])
        assert torch.equal(region_labels(9, 9, 4, 2, pad=True), expected)

    @pytest.mark.parametrize("H, W, M, s", [(9, 9, 4, 2), (10, 13, 7, 3), (5, 5, 7, 3), (1, 6, 3, 1), (13, 9, 6, 5)])
    def test_padded_mask_is_the_official_mask_of_the_padded_size(self, H, W, M, s):
        Hp, Wp = padded_size(H, W, M)
        assert torch.equal(attention_mask(H, W, M, s, pad=True), official_attn_mask(Hp, Wp, M, s))
        assert torch.equal(region_labels(H, W, M, s, pad=True), official_img_mask(Hp, Wp, M, s))

    @pytest.mark.parametrize("H, W, window, shift", [(9, 10, (4, 3), (2, 1)), (3, 7, (2, 5), (1, 4)), (6, 6, (4, 4), (0, 3))])
    def test_padded_mask_follows_the_geometric_rule(self, H, W, window, shift):
        Hp, Wp = padded_size(H, W, window)
        mask = attention_mask(H, W, window, shift, pad=True)
        assert mask.shape == ((Hp // window[0]) * (Wp // window[1]), window[0] * window[1], window[0] * window[1])
        assert torch.equal(mask == 0, geometric_allowed(Hp, Wp, window, shift))

    @pytest.mark.parametrize("H, W, window, shift", [(9, 9, 3, 1), (8, 12, (4, 6), (2, 3)), (6, 9, (2, 3), (1, 0))])
    def test_pad_changes_nothing_when_the_window_divides(self, H, W, window, shift):
        for function in (region_labels, window_labels, token_origins, attention_mask):
            assert torch.equal(function(H, W, window, shift, pad=True), function(H, W, window, shift))

    def test_token_origins_of_the_padded_map(self):
        origins = token_origins(5, 6, (4, 4), (2, 3), pad=True)  # padded to 8 x 8
        assert origins.shape == (4, 16, 2)
        # every padded position appears exactly once
        flat = sorted((int(r), int(c)) for r, c in origins.view(-1, 2))
        assert flat == [(r, c) for r in range(8) for c in range(8)]
        # token 0 of window 0 is the one the roll brought to the top-left: (2, 3)
        assert origins[0, 0].tolist() == [2, 3]
        # window 3 (bottom-right) holds rows 6, 7, 0, 1 and columns 7, 0, 1, 2 (6, 7 are padding)
        assert origins[3, :, 0].view(4, 4)[:, 0].tolist() == [6, 7, 0, 1]
        assert origins[3, :, 1].view(4, 4)[0].tolist() == [7, 0, 1, 2]

    @pytest.mark.parametrize("function", [region_labels, window_labels, token_origins, attention_mask])
    @pytest.mark.parametrize("bad", [1, "yes", None])
    def test_pad_must_be_a_bool(self, function, bad):
        with pytest.raises(TypeError, match=rf"^pad must be True or False, got {type(bad).__name__}"):
            function(9, 9, 3, 1, pad=bad)


ALL_RULES = ("official", "transformers", "transformers-swinv2", "timm", "torchvision")


class TestClampLayout:
    def test_rule_names(self):
        assert set(CLAMP_RULES) == set(ALL_RULES)
        assert all(isinstance(text, str) and text for text in CLAMP_RULES.values())

    @pytest.mark.parametrize(
        "H, W, window, shift, expected",
        [
            # larger than the window: no rule changes anything
            (8, 8, 7, 3, dict.fromkeys(ALL_RULES, ((7, 7), (3, 3)))),
            (14, 9, 7, 3, dict.fromkeys(ALL_RULES, ((7, 7), (3, 3)))),
            # exactly the window: every rule uses <=, so the shift goes
            (7, 7, 7, 3, dict.fromkeys(ALL_RULES, ((7, 7), (0, 0)))),
            # smaller than the window: shrink the window, or (torchvision) pad the map up to it
            (5, 5, 7, 3, {"official": ((5, 5), (0, 0)), "transformers": ((5, 5), (0, 0)), "transformers-swinv2": ((5, 5), (0, 0)), "timm": ((5, 5), (0, 0)), "torchvision": ((7, 7), (0, 0))}),
            # small in one dimension only: min of both (official) versus per dimension (timm, torchvision)
            # (transformers' Swinv2 looks at the height only, and uses its result in both dimensions)
            (4, 12, 6, 3, {"official": ((4, 4), (0, 0)), "transformers": ((4, 4), (0, 0)), "transformers-swinv2": ((4, 4), (0, 0)), "timm": ((4, 6), (0, 3)), "torchvision": ((6, 6), (0, 3))}),
            (12, 6, 6, 3, {"official": ((6, 6), (0, 0)), "transformers": ((6, 6), (0, 0)), "transformers-swinv2": ((6, 6), (3, 3)), "timm": ((6, 6), (3, 0)), "torchvision": ((6, 6), (3, 0))}),
            (12, 4, 6, 3, {"official": ((4, 4), (0, 0)), "transformers": ((4, 4), (0, 0)), "transformers-swinv2": ((6, 6), (3, 3)), "timm": ((6, 4), (3, 0)), "torchvision": ((6, 6), (3, 0))}),
        ],
    )
    def test_rules_table(self, H, W, window, shift, expected):
        for rule, effective in expected.items():
            assert clamp_layout(H, W, window, shift, rule) == effective, rule

    def test_per_dimension_rules_take_rectangular_windows(self):
        assert clamp_layout(3, 10, (4, 5), (2, 2), "timm") == ((3, 5), (0, 2))
        assert clamp_layout(3, 10, (4, 5), (2, 2), "torchvision") == ((4, 5), (0, 2))
        assert clamp_layout(10, 5, (4, 5), (2, 2), "timm") == ((4, 5), (2, 0))

    def test_official_rule_on_an_equal_pair(self):
        assert clamp_layout(5, 9, (7, 7), (3, 3), "official") == ((5, 5), (0, 0))

    @pytest.mark.parametrize(
        "args, exc, pattern",
        [
            ((7, 7, 7, 3, None), TypeError, r"^rule must be one of \['official', 'timm', 'torchvision', 'transformers', 'transformers-swinv2'\], got NoneType None$"),
            ((7, 7, 7, 3, "Official"), ValueError, r"^rule must be one of .* \(the libraries' clamping rules\), got 'Official'$"),
            ((7, 7, (7, 6), 3, "official"), ValueError, r"^rule='official' takes a square window and shift .*got window=\(7, 6\), shift=\(3, 3\): use rule='timm'"),
            ((7, 7, 7, (3, 2), "transformers"), ValueError, r"^rule='transformers' takes a square window and shift"),
            ((7, 7, (7, 8), 3, "transformers-swinv2"), ValueError, r"^rule='transformers-swinv2' takes a square window and shift"),
            ((7, 7, 7, 7, "timm"), ValueError, re.escape("shift_h=7 is outside [0, window_h=7)")),
            ((0, 7, 7, 3, "timm"), ValueError, r"^height must be a positive int, got 0$"),
            ((7, 7, 7.0, 3, "timm"), TypeError, r"^window must be an int, got float 7\.0$"),
        ],
    )
    def test_errors(self, args, exc, pattern):
        with pytest.raises(exc, match=pattern):
            clamp_layout(*args)


# --------------------------------------------------------------------------- #
# Stage 1: cyclic shift                                                       #
# --------------------------------------------------------------------------- #
class TestCyclicShift:
    def test_arange_9x9_shift_1_literal(self):
        x = torch.arange(81).view(9, 9)
        y = cyclic_shift(x, 1)
        # Original top-left value 0 ends at the bottom-right corner.
        assert y[8, 8].item() == 0
        assert (y == 0).nonzero().tolist() == [[8, 8]]
        # The original top row (0..8) ends as the bottom row, rolled left by one.
        assert y[8].tolist() == [1, 2, 3, 4, 5, 6, 7, 8, 0]
        # The original left column ends as the right column, rolled up by one.
        assert y[:, 8].tolist() == [9, 18, 27, 36, 45, 54, 63, 72, 0]
        # New top-left is the original (1, 1).
        assert y[0, 0].item() == 10
        assert y[0].tolist() == [10, 11, 12, 13, 14, 15, 16, 17, 9]

    def test_top_rows_move_to_bottom(self):
        x = torch.arange(81).view(9, 9)
        y = cyclic_shift(x, (2, 0))
        assert torch.equal(y[7:], x[:2])
        assert torch.equal(y[:7], x[2:])

    @pytest.mark.parametrize(
        "H, W, shift",
        [(9, 9, 1), (9, 9, (1, 2)), (8, 12, (3, 5)), (6, 4, (0, 3)), (5, 7, (4, 0)), (4, 4, 0)],
    )
    def test_matches_torch_roll_2d(self, H, W, shift):
        sh, sw = (shift, shift) if isinstance(shift, int) else shift
        x = torch.arange(H * W).view(H, W)
        y = cyclic_shift(x, shift)
        assert torch.equal(y, torch.roll(x, (-sh, -sw), dims=(0, 1)))
        assert y.shape == x.shape

    @pytest.mark.parametrize("B, H, W, C, shift", [(2, 9, 9, 3, 1), (3, 8, 6, 2, (3, 2)), (1, 4, 4, 1, 2)])
    def test_matches_torch_roll_4d(self, B, H, W, C, shift):
        sh, sw = (shift, shift) if isinstance(shift, int) else shift
        g = torch.Generator().manual_seed(0)
        x = torch.randn(B, H, W, C, generator=g)
        y = cyclic_shift(x, shift)
        assert torch.equal(y, torch.roll(x, (-sh, -sw), dims=(1, 2)))
        # batch and channel dims untouched: position (b, i, j, c) came from (b, i+sh, j+sw, c)
        assert torch.equal(y[:, 0, 0, :], x[:, sh % H, sw % W, :])

    def test_returns_new_tensor(self):
        x = torch.arange(16).view(4, 4)
        y = cyclic_shift(x, 1)
        y[0, 0] = -1
        assert x[1, 1].item() == 5

    @pytest.mark.parametrize("shift", [1, (1, 2), (2, 1), (0, 3), (3, 0), (8, 11)])
    def test_reverse_inverts(self, shift):
        g = torch.Generator().manual_seed(1)
        x = torch.randn(2, 9, 12, 3, generator=g)
        assert torch.equal(reverse_cyclic_shift(cyclic_shift(x, shift), shift), x)
        assert torch.equal(cyclic_shift(reverse_cyclic_shift(x, shift), shift), x)
        x2 = torch.arange(9 * 12).view(9, 12)
        assert torch.equal(reverse_cyclic_shift(cyclic_shift(x2, shift), shift), x2)

    def test_reverse_matches_torch_roll(self):
        x = torch.arange(6 * 8).view(6, 8)
        assert torch.equal(reverse_cyclic_shift(x, (1, 2)), torch.roll(x, (1, 2), dims=(0, 1)))
        # reverse with non-zero shift is not the identity and not the forward shift
        assert not torch.equal(reverse_cyclic_shift(x, (1, 2)), x)
        assert not torch.equal(reverse_cyclic_shift(x, (1, 2)), cyclic_shift(x, (1, 2)))
        # value 0 moves down-right to (1, 2)
        assert reverse_cyclic_shift(x, (1, 2))[1, 2].item() == 0

    def test_shift_may_exceed_window_but_not_map(self):
        # cyclic_shift only knows the map: any shift in [0, size) is allowed.
        x = torch.arange(81).view(9, 9)
        assert torch.equal(cyclic_shift(x, 8), torch.roll(x, (-8, -8), dims=(0, 1)))

    @pytest.mark.parametrize("fn", [cyclic_shift, reverse_cyclic_shift])
    @pytest.mark.parametrize(
        "shape, shift, pattern",
        [
            ((9, 9), 9, re.escape("shift_h=9 is outside [0, 9)")),
            ((9, 9), -1, re.escape("shift_h=-1 is outside [0, 9)")),
            ((9, 5), (0, 5), re.escape("shift_w=5 is outside [0, 5)")),
            ((1, 9, 5, 2), (0, -1), re.escape("shift_w=-1 is outside [0, 5)")),
            ((1, 4, 9, 2), (4, 0), re.escape("shift_h=4 is outside [0, 4)")),
        ],
    )
    def test_shift_out_of_range(self, fn, shape, shift, pattern):
        with pytest.raises(ValueError, match=pattern):
            fn(torch.zeros(shape), shift)

    @pytest.mark.parametrize("fn", [cyclic_shift, reverse_cyclic_shift])
    @pytest.mark.parametrize("shape", [(2, 3, 4), (9,), (1, 1, 3, 3, 1)])
    def test_wrong_ndim(self, fn, shape):
        pattern = re.escape(f"x must have shape [H, W] or [B, H, W, C], got {len(shape)} dimensions {shape}")
        with pytest.raises(ValueError, match=pattern):
            fn(torch.zeros(shape), 1)

    @pytest.mark.parametrize("fn", [cyclic_shift, reverse_cyclic_shift])
    def test_not_a_tensor(self, fn):
        with pytest.raises(TypeError, match=r"^x must be a torch\.Tensor of shape \[H, W\] or \[B, H, W, C\], got list$"):
            fn([[0, 1], [2, 3]], 1)
        np = pytest.importorskip("numpy")
        with pytest.raises(TypeError, match=r"x must be a torch\.Tensor.*got ndarray"):
            fn(np.zeros((4, 4)), 1)

    @pytest.mark.parametrize("shift, pattern", [(1.0, r"^shift must be an int"), ((1, 2, 3), r"^shift must be an int or an \(h, w\) pair")])
    def test_shift_type_errors(self, shift, pattern):
        with pytest.raises(TypeError, match=pattern):
            cyclic_shift(torch.zeros(4, 4), shift)


# --------------------------------------------------------------------------- #
# Stage 2: region labels                                                      #
# --------------------------------------------------------------------------- #
class TestRegionSlices:
    def test_official_slices(self):
        assert region_slices(3, 1) == (slice(0, -3), slice(-3, -1), slice(-1, None))
        assert region_slices(7, 3) == (slice(0, -7), slice(-7, -3), slice(-3, None))

    def test_shift_zero_is_one_band(self):
        assert region_slices(3, 0) == (slice(0, None),)
        assert region_slices(1, 0) == (slice(0, None),)

    @pytest.mark.parametrize("M, s", [(3, 1), (4, 2), (7, 6), (2, 1)])
    def test_bands_partition_the_rows(self, M, s):
        # For a map of 3 windows, the bands cover every row exactly once,
        # with sizes (H - M, M - s, s).
        H = 3 * M
        rows = list(range(H))
        covered = [rows[sl] for sl in region_slices(M, s)]
        assert [len(c) for c in covered] == [H - M, M - s, s]
        assert sum(covered, []) == rows

    @pytest.mark.parametrize(
        "args, exc, pattern",
        [
            ((3, 3), ValueError, re.escape("shift=3 is outside [0, window=3)")),
            ((3, -1), ValueError, re.escape("shift=-1 is outside [0, window=3)")),
            ((0, 0), ValueError, r"^window must be a positive int, got 0$"),
            ((-2, 0), ValueError, r"^window must be a positive int, got -2$"),
            ((3.0, 1), TypeError, r"^window must be an int, got float"),
            ((3, 1.0), TypeError, r"^shift must be an int, got float"),
            ((3, None), TypeError, r"^shift must be an int, got NoneType"),
            ((True, 0), TypeError, r"^window must be an int, got bool"),
        ],
    )
    def test_errors(self, args, exc, pattern):
        with pytest.raises(exc, match=pattern):
            region_slices(*args)


class TestRegionLabels:
    def test_9_3_1_literal(self):
        labels = region_labels(9, 9, 3, 1)
        assert labels.dtype == torch.long
        assert labels.shape == (9, 9)
        assert torch.equal(labels, REGION_9_3_1)

    def test_4_2_1_literal_by_hand(self):
        labels = region_labels(4, 4, 2, 1)
        assert labels.dtype == torch.long
        assert torch.equal(labels, REGION_4_2_1)

    def test_pair_arguments_same_as_ints(self):
        assert torch.equal(region_labels(9, 9, (3, 3), (1, 1)), REGION_9_3_1)
        assert torch.equal(region_labels(9, 9, [3, 3], [1, 1]), REGION_9_3_1)

    def test_non_square_literal(self):
        # H=4, W=6, window (2, 3), shift (1, 2):
        # rows: band0 = {0,1}, band1 = {2}, band2 = {3}
        # cols: band0 = {0,1,2}, band1 = {3}, band2 = {4,5}
        expected = torch.tensor(
            [
                [0, 0, 0, 1, 2, 2],
                [0, 0, 0, 1, 2, 2],
                [3, 3, 3, 4, 5, 5],
                [6, 6, 6, 7, 8, 8],
            ]
        )
        assert torch.equal(region_labels(4, 6, (2, 3), (1, 2)), expected)

    def test_one_zero_shift_component(self):
        # shift (0, 1): rows are one band, columns three bands -> labels 0, 1, 2 only
        expected_row = torch.tensor([0, 0, 0, 0, 0, 0, 1, 1, 2])
        labels = region_labels(9, 9, 3, (0, 1))
        assert torch.equal(labels, expected_row.expand(9, 9))
        # shift (1, 0): columns one band -> labels 0, 1, 2 down the rows
        labels = region_labels(9, 9, 3, (1, 0))
        assert torch.equal(labels, expected_row.view(9, 1).expand(9, 9))

    def test_shift_zero_all_zero(self):
        labels = region_labels(9, 9, 3, 0)
        assert labels.dtype == torch.long
        assert torch.equal(labels, torch.zeros(9, 9, dtype=torch.long))

    @pytest.mark.parametrize("M", [2, 3, 4, 5, 7])
    @pytest.mark.parametrize("k", [1, 2, 3])
    def test_matches_official_img_mask(self, M, k):
        for s in range(1, M):
            H = W = M * k
            assert torch.equal(region_labels(H, W, M, s), official_img_mask(H, W, M, s)), (H, M, s)

    @pytest.mark.parametrize(
        "args, exc, pattern",
        [
            ((9, 9, 4, 1), ValueError, r"window_h=4 does not divide height=9.*pad"),
            ((9, 9, 3, 3), ValueError, r"shift_h=3 is outside"),
            ((9, 9.0, 3, 1), TypeError, r"^width must be an int"),
        ],
    )
    def test_errors(self, args, exc, pattern):
        with pytest.raises(exc, match=pattern):
            region_labels(*args)


# --------------------------------------------------------------------------- #
# Stage 3: windows                                                            #
# --------------------------------------------------------------------------- #
ROUND_TRIP_CASES = [
    # B, H, W, C, window
    (1, 9, 9, 1, 3),
    (2, 9, 9, 4, 3),
    (3, 6, 8, 2, (3, 4)),
    (2, 8, 12, 5, (4, 6)),
    (1, 12, 8, 3, (4, 2)),
    (4, 7, 7, 1, 7),
    (2, 5, 10, 2, 1),
    (2, 6, 9, 3, (2, 3)),
]


class TestWindowPartition:
    @pytest.mark.parametrize("B, H, W, C, window", ROUND_TRIP_CASES)
    def test_round_trip(self, B, H, W, C, window):
        g = torch.Generator().manual_seed(2)
        x = torch.randn(B, H, W, C, generator=g)
        Mh, Mw = (window, window) if isinstance(window, int) else window
        windows = window_partition(x, window)
        nW = (H // Mh) * (W // Mw)
        assert windows.shape == (B * nW, Mh, Mw, C)
        assert torch.equal(window_reverse(windows, window, H, W), x)

    @pytest.mark.parametrize("B, H, W, C, M", [(1, 9, 9, 1, 3), (2, 8, 8, 3, 4), (3, 12, 6, 2, 2), (2, 14, 7, 1, 7)])
    def test_matches_official(self, B, H, W, C, M):
        g = torch.Generator().manual_seed(3)
        x = torch.randn(B, H, W, C, generator=g)
        assert torch.equal(window_partition(x, M), official_window_partition(x, M))

    @pytest.mark.parametrize("B, H, W, window", [(2, 6, 8, (3, 4)), (1, 8, 12, (4, 6)), (2, 9, 9, 3), (1, 12, 8, (4, 2))])
    def test_row_major_order(self, B, H, W, window):
        Mh, Mw = (window, window) if isinstance(window, int) else window
        coords = torch.stack(
            torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij"), dim=-1
        )  # [H, W, 2] = (row, col)
        x = torch.stack([torch.cat([coords, torch.full((H, W, 1), b)], dim=-1) for b in range(B)])  # [B, H, W, 3]
        windows = window_partition(x, window)
        n_cols = W // Mw
        nW = (H // Mh) * n_cols
        for idx in range(B * nW):
            b, k = divmod(idx, nW)
            r0, c0 = (k // n_cols) * Mh, (k % n_cols) * Mw
            for t in range(Mh * Mw):
                i, j = divmod(t, Mw)
                assert windows[idx, i, j].tolist() == [r0 + i, c0 + j, b]

    def test_9x9_first_windows_literal(self):
        x = torch.arange(81).view(1, 9, 9, 1)
        w = window_partition(x, 3)[..., 0]
        assert w[0].tolist() == [[0, 1, 2], [9, 10, 11], [18, 19, 20]]
        assert w[1].tolist() == [[3, 4, 5], [12, 13, 14], [21, 22, 23]]
        assert w[3].tolist() == [[27, 28, 29], [36, 37, 38], [45, 46, 47]]
        assert w[8].tolist() == [[60, 61, 62], [69, 70, 71], [78, 79, 80]]

    @pytest.mark.parametrize(
        "shape, window, exc, pattern",
        [
            ((1, 9, 9, 1), 4, ValueError, r"window_h=4 does not divide height=9.*pad the feature map to 12"),
            ((1, 8, 9, 1), 4, ValueError, r"window_w=4 does not divide width=9.*pad the feature map to 12"),
            ((9, 9, 1), 3, ValueError, re.escape("x must have shape [B, H, W, C], got 3 dimensions (9, 9, 1)")),
            ((9, 9), 3, ValueError, re.escape("x must have shape [B, H, W, C], got 2 dimensions (9, 9)")),
            ((1, 9, 9, 1), 0, ValueError, r"window must be positive in each dimension, got window_h=0"),
            ((1, 9, 9, 1), 3.0, TypeError, r"^window must be an int"),
        ],
    )
    def test_errors(self, shape, window, exc, pattern):
        with pytest.raises(exc, match=pattern):
            window_partition(torch.zeros(shape), window)

    def test_not_a_tensor(self):
        with pytest.raises(TypeError, match=r"^x must be a torch\.Tensor of shape \[B, H, W, C\], got list"):
            window_partition([[[[0.0]]]], 1)


class TestWindowReverse:
    def test_literal_9x9(self):
        windows = torch.arange(9).view(9, 1, 1, 1).expand(9, 3, 3, 1).contiguous()
        out = window_reverse(windows, 3, 9, 9)
        assert out.shape == (1, 9, 9, 1)
        assert out[0, :, :, 0].tolist() == [
            [0, 0, 0, 1, 1, 1, 2, 2, 2],
        ] * 3 + [[3, 3, 3, 4, 4, 4, 5, 5, 5]] * 3 + [[6, 6, 6, 7, 7, 7, 8, 8, 8]] * 3

    def test_batch_recovered(self):
        # 18 windows of a 9x9 map with window 3 -> B = 2
        windows = torch.arange(18).view(18, 1, 1, 1).expand(18, 3, 3, 2).contiguous()
        out = window_reverse(windows, 3, 9, 9)
        assert out.shape == (2, 9, 9, 2)
        assert out[1, 0, 0, 0].item() == 9
        assert out[1, 8, 8, 1].item() == 17

    @pytest.mark.parametrize(
        "windows_shape, window, H, W, pattern",
        [
            ((9, 3, 3, 1), 1, 9, 9, re.escape("windows have shape (9, 3, 3, 1) but window=(1, 1): windows.shape[1:3] must equal the window")),
            ((4, 3, 4, 1), (4, 3), 8, 6, re.escape("windows have shape (4, 3, 4, 1) but window=(4, 3)")),
            ((8, 3, 3, 1), 3, 9, 9, re.escape("windows.shape[0]=8 is not a multiple of nW=9, the number of 3x3 windows in a 9x9 map")),
            ((10, 3, 4, 2), (3, 4), 6, 8, re.escape("windows.shape[0]=10 is not a multiple of nW=4")),
            ((9, 3, 3, 1), 3, 9, 10, r"window_w=3 does not divide width=10"),
            ((9, 3, 3), 3, 9, 9, re.escape("windows must have shape [B*nW, Mh, Mw, C], got 3 dimensions")),
        ],
    )
    def test_errors(self, windows_shape, window, H, W, pattern):
        with pytest.raises(ValueError, match=pattern):
            window_reverse(torch.zeros(windows_shape), window, H, W)

    def test_type_errors(self):
        with pytest.raises(TypeError, match=r"^windows must be a torch\.Tensor"):
            window_reverse([0], 3, 9, 9)
        with pytest.raises(TypeError, match=r"^height must be an int"):
            window_reverse(torch.zeros(9, 3, 3, 1), 3, 9.0, 9)


class TestWindowGrid:
    def test_9_9_3_literal(self):
        expected = torch.tensor(
            [
                [0, 0, 0, 1, 1, 1, 2, 2, 2],
                [0, 0, 0, 1, 1, 1, 2, 2, 2],
                [0, 0, 0, 1, 1, 1, 2, 2, 2],
                [3, 3, 3, 4, 4, 4, 5, 5, 5],
                [3, 3, 3, 4, 4, 4, 5, 5, 5],
                [3, 3, 3, 4, 4, 4, 5, 5, 5],
                [6, 6, 6, 7, 7, 7, 8, 8, 8],
                [6, 6, 6, 7, 7, 7, 8, 8, 8],
                [6, 6, 6, 7, 7, 7, 8, 8, 8],
            ]
        )
        grid = window_grid(9, 9, 3)
        assert grid.dtype == torch.long
        assert torch.equal(grid, expected)

    def test_non_square_literal(self):
        expected = torch.tensor(
            [
                [0, 0, 0, 0, 1, 1, 1, 1],
                [0, 0, 0, 0, 1, 1, 1, 1],
                [0, 0, 0, 0, 1, 1, 1, 1],
                [2, 2, 2, 2, 3, 3, 3, 3],
                [2, 2, 2, 2, 3, 3, 3, 3],
                [2, 2, 2, 2, 3, 3, 3, 3],
            ]
        )
        assert torch.equal(window_grid(6, 8, (3, 4)), expected)

    @pytest.mark.parametrize("H, W, window", [(9, 9, 3), (6, 8, (3, 4)), (12, 8, (4, 2)), (6, 9, (2, 3))])
    def test_consistent_with_window_partition(self, H, W, window):
        grid = window_grid(H, W, window)
        parts = window_partition(grid.view(1, H, W, 1), window)
        for k in range(parts.shape[0]):
            assert torch.all(parts[k] == k)

    def test_errors(self):
        with pytest.raises(ValueError, match=r"window_h=4 does not divide height=9"):
            window_grid(9, 9, 4)
        with pytest.raises(TypeError, match=r"^window must be an int"):
            window_grid(9, 9, "3")


class TestWindowLabels:
    def test_9_3_1_literal(self):
        wl = window_labels(9, 9, 3, 1)
        assert wl.dtype == torch.long
        assert wl.shape == (9, 9)
        assert wl[-1].tolist() == [4, 4, 5, 4, 4, 5, 7, 7, 8]
        for k in (0, 1, 3, 4):
            assert wl[k].unique().numel() == 1, k
        assert torch.equal(wl, WINDOW_LABELS_9_3_1)

    def test_4_2_1_literal(self):
        expected = torch.tensor(
            [
                [0, 0, 0, 0],
                [1, 2, 1, 2],
                [3, 3, 6, 6],
                [4, 5, 7, 8],
            ]
        )
        assert torch.equal(window_labels(4, 4, 2, 1), expected)

    def test_non_square_shape(self):
        wl = window_labels(6, 8, (3, 4), (1, 2))
        assert wl.shape == (4, 12)
        assert wl.dtype == torch.long

    @pytest.mark.parametrize(
        "H, W, window, shift, expected_max",
        [
            (9, 9, 3, 1, 4),
            (8, 12, (4, 6), (2, 3), 4),
            (12, 8, (4, 2), (3, 1), 4),
            (6, 9, (2, 3), (1, 0), 2),
            (6, 6, (3, 3), (0, 2), 2),
            (9, 9, 3, 0, 1),
            (14, 14, 7, 3, 4),
        ],
    )
    def test_at_most_four_labels_per_window(self, H, W, window, shift, expected_max):
        wl = window_labels(H, W, window, shift)
        counts = [row.unique().numel() for row in wl]
        assert max(counts) == expected_max
        # the bottom-right window always has the most regions
        assert counts[-1] == expected_max


# --------------------------------------------------------------------------- #
# Stages 4 and 5                                                              #
# --------------------------------------------------------------------------- #
class TestLabelDifference:
    def test_9_3_1_last_window_literal(self):
        diff = label_difference(window_labels(9, 9, 3, 1))
        assert diff.shape == (9, 9, 9)
        assert diff.dtype == torch.long
        assert torch.equal(diff[-1], DIFF_LAST_9_3_1)

    def test_sign_convention(self):
        # entry (k, i, j) = label[j] - label[i]
        diff = label_difference(torch.tensor([[10, 3, 7]]))
        assert diff[0].tolist() == [[0, -7, -3], [7, 0, 4], [3, -4, 0]]

    def test_keeps_float_dtype(self):
        diff = label_difference(torch.tensor([[1.0, 2.5]]))
        assert diff.dtype == torch.float32
        assert diff[0].tolist() == [[0.0, 1.5], [-1.5, 0.0]]

    @pytest.mark.parametrize("shape", [(9,), (1, 9, 9), (2, 3, 4, 5)])
    def test_wrong_ndim(self, shape):
        pattern = re.escape(f"mask_windows must have shape [nW, N], got {len(shape)} dimensions {shape}")
        with pytest.raises(ValueError, match=pattern):
            label_difference(torch.zeros(shape))

    def test_not_a_tensor(self):
        with pytest.raises(TypeError, match=r"^mask_windows must be a torch\.Tensor of shape \[nW, N\], got list"):
            label_difference([[0, 1]])


class TestAttentionMask:
    def test_9_3_1_reference(self):
        mask = attention_mask(9, 9, 3, 1)
        assert mask.shape == (9, 9, 9)
        assert mask.dtype == torch.float32
        values = set(mask.unique().tolist())
        assert values == {0.0, -100.0}
        expected_last = torch.where(DIFF_LAST_9_3_1 != 0, -100.0, 0.0)
        assert torch.equal(mask[-1], expected_last)
        # -100 exactly where the label difference is non-zero, in every window
        diff = label_difference(WINDOW_LABELS_9_3_1)
        assert torch.equal(mask == -100.0, diff != 0)
        assert torch.equal(mask == 0.0, diff == 0)
        windows_with_mask = [k for k in range(9) if (mask[k] == -100.0).any()]
        assert windows_with_mask == [2, 5, 6, 7, 8]

    def test_4_2_1_counts(self):
        mask = attention_mask(4, 4, 2, 1)
        # allowed pairs per window: window 0 one region (16), windows 1/2 two regions
        # of two tokens (8), window 3 four singleton regions (4).
        assert (mask == 0).sum(dim=(1, 2)).tolist() == [16, 8, 8, 4]

    @pytest.mark.parametrize(
        "H, W, M, s",
        [
            (H_k * M, W_k * M, M, s)
            for M in range(2, 8)
            for s in range(1, M)
            for H_k, W_k in ((1, 1), (2, 2), (3, 3), (2, 3))
        ],
    )
    def test_matches_official_code(self, H, W, M, s):
        ours = attention_mask(H, W, M, s)
        ref = official_attn_mask(H, W, M, s)
        assert ours.dtype == ref.dtype == torch.float32
        assert ours.shape == ref.shape
        assert torch.equal(ours, ref)

    @pytest.mark.parametrize(
        "H, W, window, shift",
        [
            (9, 9, 3, 1),
            (8, 12, (4, 6), (2, 3)),
            (6, 9, (2, 3), (1, 0)),
            (6, 6, (3, 3), (0, 2)),
            (12, 8, (4, 2), (3, 1)),
            (14, 14, 7, 3),
            (4, 4, 2, 1),
            (6, 8, (3, 4), (2, 1)),
            (5, 10, (5, 2), (4, 1)),
            (3, 3, 3, 2),
            (9, 9, 3, (0, 1)),
            (9, 9, 3, (1, 0)),
        ],
    )
    def test_geometric_rule(self, H, W, window, shift):
        mask = attention_mask(H, W, window, shift)
        allowed = geometric_allowed(H, W, window, shift)
        assert mask.shape == allowed.shape
        assert torch.equal(mask == 0, allowed)
        assert torch.equal(mask == -100.0, ~allowed)

    def test_geometric_rule_is_discriminating(self):
        # sanity: the geometric reference really forbids something, so the
        # comparison above is not trivially all-True.
        allowed = geometric_allowed(8, 12, (4, 6), (2, 3))
        assert (~allowed).sum().item() > 0
        assert allowed[0].all()
        assert not allowed[-1].all()

    @pytest.mark.parametrize("shift", [0, (0, 0)])
    @pytest.mark.parametrize("H, W, window", [(9, 9, 3), (6, 8, (3, 4)), (7, 7, 7)])
    def test_shift_zero_all_zero(self, H, W, window, shift):
        mask = attention_mask(H, W, window, shift)
        Mh, Mw = (window, window) if isinstance(window, int) else window
        nW = (H // Mh) * (W // Mw)
        assert mask.shape == (nW, Mh * Mw, Mh * Mw)
        assert mask.dtype == torch.float32
        assert torch.equal(mask, torch.zeros(nW, Mh * Mw, Mh * Mw))

    def test_one_zero_shift_component_literal(self):
        # shift (0, 1) on 9x9 / window 3: only the right-hand column of windows is
        # masked, where the last token column (wrapped) is cut off from the others.
        mask = attention_mask(9, 9, 3, (0, 1))
        masked = [k for k in range(9) if (mask[k] != 0).any()]
        assert masked == [2, 5, 8]
        col_wrapped = torch.tensor([False, False, True] * 3)
        expected = torch.where(col_wrapped.view(-1, 1) == col_wrapped.view(1, -1), 0.0, -100.0)
        for k in masked:
            assert torch.equal(mask[k], expected)

    def test_fill_neg_inf(self):
        mask = attention_mask(9, 9, 3, 1, fill=float("-inf"))
        assert mask.dtype == torch.float32
        assert torch.equal(torch.isneginf(mask), attention_mask(9, 9, 3, 1) == -100.0)
        assert set(mask.unique().tolist()) == {0.0, float("-inf")}
        assert torch.isneginf(mask).sum().item() == int((DIFF_LAST_9_3_1 != 0).sum()) + (
            (label_difference(WINDOW_LABELS_9_3_1)[:-1] != 0).sum().item()
        )

    def test_custom_fill(self):
        mask = attention_mask(9, 9, 3, 1, fill=-1e4)
        assert set(mask.unique().tolist()) == {0.0, -1e4}
        assert torch.equal(mask == -1e4, attention_mask(9, 9, 3, 1) == -100.0)
        mask_int = attention_mask(9, 9, 3, 1, fill=-7)
        assert set(mask_int.unique().tolist()) == {0.0, -7.0}

    @pytest.mark.parametrize(
        "fill, pattern",
        [
            (0, r"^fill must be negative .*got 0$"),
            (0.0, r"^fill must be negative .*got 0\.0$"),
            (5, r"^fill must be negative .*got 5$"),
            (float("inf"), r"^fill must be negative .*got inf$"),
            (float("nan"), r"^fill must be negative .*got nan$"),
        ],
    )
    def test_fill_value_errors(self, fill, pattern):
        with pytest.raises(ValueError, match=pattern):
            attention_mask(9, 9, 3, 1, fill=fill)

    @pytest.mark.parametrize(
        "fill, pattern",
        [
            ("x", r"^fill must be a real number such as -100\.0, got str 'x'$"),
            (None, r"^fill must be a real number .*got NoneType None$"),
            (True, r"^fill must be a real number .*got bool True$"),
            (-1j, r"^fill must be a real number .*got complex"),
        ],
    )
    def test_fill_type_errors(self, fill, pattern):
        with pytest.raises(TypeError, match=pattern):
            attention_mask(9, 9, 3, 1, fill=fill)

    @pytest.mark.parametrize(
        "args, exc, pattern",
        [
            ((9, 9, 4, 1), ValueError, r"window_h=4 does not divide height=9.*pad the feature map to 12 first"),
            ((9, 9, 3, 3), ValueError, re.escape("shift_h=3 is outside [0, window_h=3)")),
            ((9, 9, 3, -1), ValueError, r"shift_h=-1"),
            ((9, 9, 3, (1, 5)), ValueError, r"shift_w=5"),
            ((0, 9, 3, 1), ValueError, r"^height must be a positive int, got 0$"),
            ((9, -9, 3, 1), ValueError, r"^width must be a positive int, got -9$"),
            ((9, 9, 0, 0), ValueError, r"window_h=0"),
            ((9.0, 9, 3, 1), TypeError, r"^height must be an int, got float"),
            (("9", 9, 3, 1), TypeError, r"^height must be an int, got str"),
            ((True, 9, 3, 1), TypeError, r"^height must be an int, got bool"),
            ((None, 9, 3, 1), TypeError, r"^height must be an int, got NoneType"),
            ((9, 9, 3.0, 1), TypeError, r"^window must be an int"),
            ((9, 9, None, 1), TypeError, r"^window must be an int"),
            ((9, 9, 3, 1.0), TypeError, r"^shift must be an int"),
            ((9, 9, 3, None), TypeError, r"^shift must be an int"),
            ((9, 9, 3, True), TypeError, r"^shift must be an int, got bool"),
            ((9, 9, (3, 3, 1), 1), TypeError, r"^window must be an int or an \(h, w\) pair"),
            ((9, 9, 3, (1, 1, 1)), TypeError, r"^shift must be an int or an \(h, w\) pair"),
        ],
    )
    def test_layout_errors(self, args, exc, pattern):
        with pytest.raises(exc, match=pattern):
            attention_mask(*args)


class TestMaskedWindowSoftmax:
    H, W, M, S = 9, 9, 3, 1
    B, HEADS = 2, 3

    def _scores(self, seed=0, scale=0.5):
        torch.manual_seed(seed)
        nW, N = 9, 9
        return torch.randn(self.B * nW, self.HEADS, N, N) * scale

    def test_shape_and_rows_sum_to_one(self):
        mask = attention_mask(self.H, self.W, self.M, self.S)
        attn = self._scores()
        out = masked_window_softmax(attn, mask)
        assert out.shape == (18, 3, 9, 9)
        assert out.dtype == torch.float32
        torch.testing.assert_close(out.sum(-1), torch.ones(18, 3, 9), rtol=0, atol=1e-6)
        assert (out >= 0).all()

    def test_equals_manual_loop(self):
        mask = attention_mask(self.H, self.W, self.M, self.S)
        attn = self._scores(seed=1234, scale=1.0)
        out = masked_window_softmax(attn, mask)
        nW = mask.shape[0]
        expected = torch.empty_like(attn)
        for b in range(self.B):
            for k in range(nW):
                for h in range(self.HEADS):
                    row = attn[b * nW + k, h] + mask[k]
                    expected[b * nW + k, h] = torch.softmax(row, dim=-1)
        torch.testing.assert_close(out, expected, rtol=1e-6, atol=1e-7)

    def test_forbidden_pairs_get_no_weight(self):
        mask = attention_mask(self.H, self.W, self.M, self.S)
        attn = self._scores(seed=7, scale=0.5)
        out = masked_window_softmax(attn, mask)
        forbidden = (mask != 0).unsqueeze(1).unsqueeze(0).expand(self.B, 9, self.HEADS, 9, 9).reshape(18, 3, 9, 9)
        assert forbidden.any()
        assert out[forbidden].max().item() < 1e-40
        # allowed pairs carry real weight
        assert out[~forbidden].min().item() > 1e-3
        # and the allowed weights of each row alone sum to 1
        torch.testing.assert_close((out * ~forbidden).sum(-1), torch.ones(18, 3, 9), rtol=0, atol=1e-6)

    def test_zero_scores_give_uniform_over_region(self):
        mask = attention_mask(self.H, self.W, self.M, self.S)
        out = masked_window_softmax(torch.zeros(9, 1, 9, 9), mask)
        # window 8, query 0 (label 4): allowed keys 0, 1, 3, 4 -> 1/4 each
        row = out[8, 0, 0]
        torch.testing.assert_close(row[[0, 1, 3, 4]], torch.full((4,), 0.25))
        assert row[[2, 5, 6, 7, 8]].max().item() < 1e-40
        # window 0 has no mask -> uniform 1/9
        torch.testing.assert_close(out[0, 0], torch.full((9, 9), 1 / 9))
        # query 8 of window 8 is alone in its region -> attends only to itself
        torch.testing.assert_close(out[8, 0, 8], torch.eye(9)[8], rtol=0, atol=1e-30)

    def test_mask_none_equals_plain_softmax(self):
        attn = self._scores(seed=3, scale=2.0)
        out = masked_window_softmax(attn, None)
        assert torch.equal(out, torch.softmax(attn, dim=-1))

    def test_all_zero_mask_equals_plain_softmax(self):
        attn = self._scores(seed=4)
        mask = attention_mask(self.H, self.W, self.M, 0)
        torch.testing.assert_close(masked_window_softmax(attn, mask), torch.softmax(attn, dim=-1), rtol=0, atol=0)

    def test_mask_broadcasts_per_window_not_per_image(self):
        # 4 windows per image, B = 3 images: windows are ordered image by image,
        # so batch index b * nW + k must get mask[k], for every image b.
        mask = attention_mask(4, 4, 2, 1)  # nW = 4, N = 4, every window different
        nW, N = mask.shape[0], mask.shape[1]
        assert len({tuple(m.flatten().tolist()) for m in mask}) == nW
        B, heads = 3, 2
        attn = torch.zeros(B * nW, heads, N, N)
        out = masked_window_softmax(attn, mask)
        for b in range(B):
            for k in range(nW):
                expected = torch.softmax(mask[k], dim=-1)
                for h in range(heads):
                    torch.testing.assert_close(out[b * nW + k, h], expected, rtol=0, atol=1e-7)
        # image 1's window k gets mask[k], not mask[1] or mask[b*nW+k]
        assert not torch.allclose(out[nW + 0, 0], torch.softmax(mask[1], dim=-1))
        # the wrong broadcast (per image) would give a different answer
        wrong = torch.softmax(attn.view(nW, B, heads, N, N) + mask.view(nW, 1, 1, N, N), dim=-1).view(-1, heads, N, N)
        assert not torch.allclose(out, wrong)

    def test_mask_same_for_every_head(self):
        mask = attention_mask(self.H, self.W, self.M, self.S)
        attn = self._scores(seed=5)[:, :1].expand(18, 3, 9, 9).contiguous()
        out = masked_window_softmax(attn, mask)
        assert torch.equal(out[:, 0], out[:, 1])
        assert torch.equal(out[:, 0], out[:, 2])

    def test_neg_inf_mask(self):
        mask = attention_mask(self.H, self.W, self.M, self.S, fill=float("-inf"))
        attn = self._scores(seed=6)
        out = masked_window_softmax(attn, mask)
        assert not torch.isnan(out).any()
        forbidden = (mask != 0).unsqueeze(1).unsqueeze(0).expand(2, 9, 3, 9, 9).reshape(18, 3, 9, 9)
        assert (out[forbidden] == 0).all()
        torch.testing.assert_close(out, masked_window_softmax(attn, attention_mask(9, 9, 3, 1)), rtol=1e-6, atol=1e-7)

    def test_does_not_modify_input(self):
        mask = attention_mask(self.H, self.W, self.M, self.S)
        attn = self._scores(seed=8)
        before = attn.clone()
        masked_window_softmax(attn, mask)
        assert torch.equal(attn, before)

    @pytest.mark.parametrize(
        "attn_shape, mask_shape, pattern",
        [
            ((18, 3, 4, 4), (9, 9, 9), re.escape("mask has shape (9, 9, 9) but attn has N=4: mask must be [nW, 4, 4]")),
            ((18, 3, 9, 9), (9, 4, 4), re.escape("mask has shape (9, 4, 4) but attn has N=9")),
            ((10, 3, 9, 9), (9, 9, 9), re.escape("attn.shape[0]=10 must be a multiple of nW=9 (mask.shape[0])")),
            ((4, 3, 9, 9), (9, 9, 9), re.escape("attn.shape[0]=4 must be a multiple of nW=9")),
            ((18, 3, 9, 9), (0, 9, 9), re.escape("attn.shape[0]=18 must be a multiple of nW=0")),
            ((18, 9, 9), (9, 9, 9), re.escape("attn must have shape [B*nW, heads, N, N], got 3 dimensions (18, 9, 9)")),
            ((2, 18, 3, 9, 9), (9, 9, 9), re.escape("attn must have shape [B*nW, heads, N, N], got 5 dimensions")),
            ((18, 3, 9, 8), (9, 9, 9), re.escape("attn must be square in its last two dimensions [.., N, N], got (18, 3, 9, 8)")),
            ((18, 3, 9, 9), (9, 81), re.escape("mask must have shape [nW, N, N], got 2 dimensions (9, 81)")),
        ],
    )
    def test_value_errors(self, attn_shape, mask_shape, pattern):
        with pytest.raises(ValueError, match=pattern):
            masked_window_softmax(torch.zeros(attn_shape), torch.zeros(mask_shape))

    def test_non_square_attn_without_mask(self):
        with pytest.raises(ValueError, match=r"attn must be square"):
            masked_window_softmax(torch.zeros(2, 1, 3, 4), None)

    def test_type_errors(self):
        with pytest.raises(TypeError, match=r"^attn must be a torch\.Tensor"):
            masked_window_softmax([[[[0.0]]]], None)
        with pytest.raises(TypeError, match=r"^mask must be a torch\.Tensor of shape \[nW, N, N\], got list"):
            masked_window_softmax(torch.zeros(9, 1, 9, 9), [[[0.0]]])


# --------------------------------------------------------------------------- #
# End to end: the pipeline stages agree with each other                        #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("H, W, window, shift", [(9, 9, 3, 1), (8, 12, (4, 6), (2, 3)), (12, 8, (4, 2), (3, 1))])
def test_window_labels_is_partition_of_region_labels(H, W, window, shift):
    Mh, Mw = (window, window) if isinstance(window, int) else window
    labels = region_labels(H, W, window, shift)
    wl = window_labels(H, W, window, shift)
    via_partition = window_partition(labels.view(1, H, W, 1), window).reshape(-1, Mh * Mw)
    assert torch.equal(wl, via_partition)


@pytest.mark.parametrize("H, W, window, shift", [(9, 9, 3, 1), (8, 12, (4, 6), (2, 3)), (6, 9, (2, 3), (1, 0))])
def test_region_labels_encode_wrap_status(H, W, window, shift):
    # In the rolled map, labels equal <=> same (row band, column band); restricted
    # to pairs inside one window, that is exactly "same wrap status" (checked by
    # test_geometric_rule). Here: rolling an image of "came across an edge" flags
    # with cyclic_shift reproduces the wrap status used by geometric_allowed.
    sh, sw = (shift, shift) if isinstance(shift, int) else shift
    rows = torch.arange(H).view(H, 1).expand(H, W)
    cols = torch.arange(W).view(1, W).expand(H, W)
    rolled_rows = cyclic_shift(rows, shift)
    rolled_cols = cyclic_shift(cols, shift)
    # after rolling up by sh, position p holds original row (p + sh) % H, which
    # wrapped (came from the top) iff p >= H - sh
    p = torch.arange(H).view(H, 1).expand(H, W)
    q = torch.arange(W).view(1, W).expand(H, W)
    assert torch.equal(rolled_rows < sh, p >= H - sh)
    assert torch.equal(rolled_cols < sw, q >= W - sw)
    assert torch.equal(rolled_rows, (p + sh) % H)
    assert torch.equal(rolled_cols, (q + sw) % W)


# --------------------------------------------------------------------------- #
# Edge cases: empty batches, zero channels, fills beyond float32             #
# --------------------------------------------------------------------------- #
def test_round_trip_empty_batch():
    x = torch.zeros(0, 9, 9, 2)
    windows = window_partition(x, 3)
    assert windows.shape == (0, 3, 3, 2)
    out = window_reverse(windows, 3, 9, 9)
    assert out.shape == (0, 9, 9, 2)


def test_window_partition_zero_channels():
    windows = window_partition(torch.zeros(2, 9, 9, 0), 3)
    assert windows.shape == (18, 3, 3, 0)


def test_fill_below_float32_range():
    with pytest.raises(ValueError, match=r"fill=-1e\+40 does not fit in float32"):
        attention_mask(9, 9, 3, 1, fill=-1e40)
    lowest = float(torch.finfo(torch.float32).min)
    assert float(attention_mask(9, 9, 3, 1, fill=lowest).min()) == lowest
