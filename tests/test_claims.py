"""Evidence for what notebook 07 and :mod:`swin_viz.layout` say other libraries do on small and padded maps.

* transformers (installed, runs here): ``Swinv2Layer`` and ``Swin2SRLayer`` keep the height's clamp for both
  dimensions (rule ``"transformers-swinv2"``); ``SwinLayer`` raises ``RuntimeError`` exactly when its clamp
  shrinks the window; at ``H = W = M`` it drops the shift, as the official block does, and
  :func:`shifted_window_attention` matches it with ``clamp="official"``, not with its default.
* timm (does not import beside this torch): verbatim ports of the clamp of
  ``timm/models/swin_transformer.py`` at tags v0.9.5 and v0.9.6 of huggingface/pytorch-image-models.
* the pad-order counts of :mod:`swin_viz.pairs`: against a brute-force count over token pairs that places
  every token by hand and applies the geometric rule of the oracle.
"""

from __future__ import annotations

import functools
import itertools
import math

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import Swin2SRConfig, SwinConfig, Swinv2Config
from transformers.models.swin import modeling_swin
from transformers.models.swin2sr.modeling_swin2sr import Swin2SRLayer
from transformers.models.swinv2.modeling_swinv2 import Swinv2Layer

from swin_viz import (
    CLAMP_RULES,
    ChangedPairs,
    WindowAttentionWeights,
    WrongPairs,
    clamp_layout,
    count_changed_pairs,
    count_wrong_pairs,
    pad_order_layout,
    pair_relation,
    shifted_window_attention,
)

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None)


# --------------------------------------------------------------------------- #
# 1 · timm: the official rule up to v0.9.5, per dimension from v0.9.6          #
# --------------------------------------------------------------------------- #
class TimmV095Block:
    """``SwinTransformerBlock.__init__``, timm/models/swin_transformer.py lines 221-227 at tag v0.9.5
    (commit 81089b10a24b3a780988a1cdf075dd1de9c17042; the same lines at v0.9.0, v0.9.1 and v0.9.2), verbatim."""

    def __init__(self, input_resolution, window_size, shift_size):
        self.input_resolution = input_resolution
        self.window_size = window_size
        self.shift_size = shift_size
        if min(self.input_resolution) <= self.window_size:
            # if window size is larger than input resolution, we don't partition windows
            self.shift_size = 0
            self.window_size = min(self.input_resolution)


class TimmV096Block:
    """``SwinTransformerBlock._calc_window_shift``, timm/models/swin_transformer.py lines 279-284 at tag v0.9.6
    (commit f544d4916c2ab8d7a763228303d3a5e8e4015909; added by 7790ea709b5572f5dbb7d1c5766182cb8001bf3b,
    the first tag holding it is v0.9.6), verbatim but for ``to_2tuple``."""

    def __init__(self, input_resolution, window_size, shift_size):
        self.input_resolution = input_resolution
        self.window_size, self.shift_size = self._calc_window_shift(window_size, shift_size)

    def _calc_window_shift(self, target_window_size, target_shift_size):
        target_window_size = _to_2tuple(target_window_size)
        target_shift_size = _to_2tuple(target_shift_size)
        window_size = [r if r <= w else w for r, w in zip(self.input_resolution, target_window_size)]  # noqa: FURB136 (verbatim)
        shift_size = [0 if r <= w else s for r, w, s in zip(self.input_resolution, window_size, target_shift_size)]
        return tuple(window_size), tuple(shift_size)


def _to_2tuple(value):
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


def test_timm_up_to_v0_9_5_clamps_as_the_official_code_and_from_v0_9_6_per_dimension():
    differ = 0
    for M in (4, 7):
        s = M // 2
        for H, W in itertools.product(range(1, 2 * M + 1), repeat=2):
            old, new = TimmV095Block((H, W), M, s), TimmV096Block((H, W), M, s)
            assert ((old.window_size,) * 2, (old.shift_size,) * 2) == clamp_layout(H, W, M, s, "official"), (H, W, M)
            assert (new.window_size, new.shift_size) == clamp_layout(H, W, M, s, "timm"), (H, W, M)
            same = ((old.window_size,) * 2, (old.shift_size,) * 2) == (new.window_size, new.shift_size)
            assert same or (H != W and min(H, W) <= M), (H, W, M)  # they differ on maps small in one dimension only
            differ += not same
    assert differ > 0
    # v0.9.6 takes a rectangular window; v0.9.5 compares min(H, W) with one int
    assert TimmV096Block((3, 10), (4, 5), (2, 2)).window_size == clamp_layout(3, 10, (4, 5), (2, 2), "timm")[0] == (3, 5)
    assert "v0.9.6" in CLAMP_RULES["timm"] and "v0.9.5" in CLAMP_RULES["official"]


# --------------------------------------------------------------------------- #
# 2 · transformers' Swinv2 and Swin2SR: the height decides both dimensions     #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "layer_class, config_class",
    [(Swinv2Layer, Swinv2Config), (Swin2SRLayer, Swin2SRConfig)],
)
def test_swinv2_and_swin2sr_keep_the_heights_window_and_shift_for_both_dimensions(layer_class, config_class):
    seen = set()
    for M in (4, 8):
        config = config_class(embed_dim=4, depths=[1], num_heads=[1], window_size=M)
        for H, W in itertools.product(range(1, 2 * M + 2), repeat=2):
            layer = layer_class(config, dim=4, input_resolution=(H, W), num_heads=1, shift_size=M // 2)
            window, shift = clamp_layout(H, W, M, M // 2, "transformers-swinv2")
            assert window[0] == window[1] and shift[0] == shift[1]
            assert (layer.window_size, layer.shift_size) == (window[0], shift[0]), (H, W, M)
            seen.add((window, shift) == clamp_layout(H, W, M, M // 2, "timm"))
            if H == W:  # square maps: the same as timm's per-dimension rule and the official one
                assert (window, shift) == clamp_layout(H, W, M, M // 2, "timm") == clamp_layout(H, W, M, M // 2, "official")
    assert seen == {True, False}


def test_swinv2_on_the_issue_map_runs_window_8_and_shift_4_in_both_dimensions():
    config = Swinv2Config(embed_dim=4, depths=[1], num_heads=[1], window_size=8)
    config._attn_implementation = "eager"
    layer = Swinv2Layer(config, dim=4, input_resolution=(20, 5), num_heads=1, shift_size=4).eval()
    assert (layer.window_size, layer.shift_size) == (8, 4)
    assert clamp_layout(20, 5, 8, 4, "transformers-swinv2") == ((8, 8), (4, 4))
    assert clamp_layout(20, 5, 8, 4, "timm") == ((8, 5), (4, 0))
    with torch.no_grad():
        out = layer(torch.randn(1, 20 * 5, 4, generator=torch.Generator().manual_seed(0)), (20, 5))[0]
    assert out.shape == (1, 100, 4) and bool(torch.isfinite(out).all())
    # it pads 20 x 5 to 24 x 8 and masks the shift in both dimensions
    mask = layer.get_attn_mask(24, 8, torch.float32)
    assert mask.shape == (3, 64, 64) and bool((mask[-1] != 0).any())


# --------------------------------------------------------------------------- #
# 3 · transformers' SwinLayer fails when its clamp shrinks the window          #
# --------------------------------------------------------------------------- #
#: The family of small layouts counted in notebook 07: window M = 2..7, shift 0 and M // 2 (both blocks of a
#: stage), every H, W in 1..2M with min(H, W) <= M.
SMALL_LAYOUTS = [
    (H, W, M, s)
    for M in range(2, 8)
    for s in (0, M // 2)
    for H, W in itertools.product(range(1, 2 * M + 1), repeat=2)
    if min(H, W) <= M
]


def _swin_layer(H: int, W: int, M: int, s: int) -> modeling_swin.SwinLayer:
    config = SwinConfig(embed_dim=4, depths=[1], num_heads=[1], window_size=M)
    config._attn_implementation = "eager"
    return modeling_swin.SwinLayer(config, dim=4, input_resolution=(H, W), num_heads=1, shift_size=s).eval()


@functools.cache  # the M = 7 count below reads the same layouts again
def _fails(H: int, W: int, M: int, s: int) -> str | None:
    try:
        with torch.no_grad():
            _swin_layer(H, W, M, s)(torch.zeros(1, H * W, 4), (H, W))
    except RuntimeError as error:
        return str(error)
    return None


def test_swin_layer_raises_exactly_when_its_clamp_shrinks_the_window():
    failed = 0
    for H, W, M, s in SMALL_LAYOUTS:
        error = _fails(H, W, M, s)
        shrinks = clamp_layout(H, W, M, s, "transformers")[0] != (M, M)
        assert (error is not None) == shrinks == (min(H, W) < M), (H, W, M, s, error)
        failed += error is not None
    assert (len(SMALL_LAYOUTS), failed) == (834, 714)  # the numbers notebook 07 states
    # with M = 7: every map up to 14 x 14 with a side no larger than 7
    sevens = [layout for layout in SMALL_LAYOUTS if layout[2:] == (7, 3)]
    assert (len(sevens), sum(_fails(*layout) is not None for layout in sevens)) == (147, 132)


def test_swin_layer_keeps_its_clamp_for_later_larger_maps():
    layer = _swin_layer(14, 14, 7, 3)
    with torch.no_grad():
        for size, expected in [(14, (7, 3)), (7, (7, 0)), (14, (7, 0))]:
            layer(torch.zeros(1, size * size, 4), (size, size))
            assert (int(layer.window_size), int(layer.shift_size)) == expected, size
    assert "kept by the layer for later, larger maps" in CLAMP_RULES["transformers"]


def test_swin_layer_error_on_the_notebook_map():
    error = _fails(5, 14, 7, 3)
    assert error is not None and "The size of tensor a (25) must match the size of tensor b (49)" in error
    assert clamp_layout(5, 14, 7, 3, "transformers") == ((5, 5), (0, 0))


# --------------------------------------------------------------------------- #
# 5 · shifted_window_attention's default does not clamp                        #
# --------------------------------------------------------------------------- #
def _load(layer: modeling_swin.SwinLayer, weights: WindowAttentionWeights) -> modeling_swin.SwinLayer:
    """``layer`` as ``x + attention(x)`` with ``weights``, in float64 (no layernorm before, MLP output zeroed)."""
    layer = layer.double()
    layer.layernorm_before = torch.nn.Identity()
    attention = layer.attention
    C = weights.dim
    with torch.no_grad():
        for linear, weight, bias in zip(
            (attention.q_proj, attention.k_proj, attention.v_proj, attention.o_proj),
            (*weights.qkv_weight.split(C), weights.proj_weight),
            (*weights.qkv_bias.split(C), weights.proj_bias),
            strict=True,
        ):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        attention.relative_position_bias.relative_position_bias_table.copy_(weights.relative_position_bias_table)
        layer.mlp.fc2.weight.zero_()
        layer.mlp.fc2.bias.zero_()
    return layer


def test_default_keeps_the_shift_where_the_official_block_drops_it():
    C, heads, M, s = 8, 2, 7, 3
    config = SwinConfig(embed_dim=C, depths=[1], num_heads=[heads], window_size=M, qkv_bias=True, hidden_dropout_prob=0.0)
    config._attn_implementation = "eager"
    weights = WindowAttentionWeights.random(C, heads, M, seed=0)
    layer = _load(modeling_swin.SwinLayer(config, dim=C, input_resolution=(M, M), num_heads=heads, shift_size=s), weights)
    x = torch.randn(1, M, M, C, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    with torch.no_grad():
        theirs = (layer(x.view(1, M * M, C), (M, M))[0] - x.view(1, M * M, C)).view(1, M, M, C)
    assert (layer.window_size, layer.shift_size) == (7, 0)  # transformers, as the official block, drops the shift
    official = shifted_window_attention(x, weights, heads, M, s, clamp="official")
    default = shifted_window_attention(x, weights, heads, M, s)
    # transformers' eager attention takes its softmax in float32 whatever the input: agreement to float32 round-off
    assert float((official - theirs).abs().max()) < 1e-6
    assert float((default - theirs).abs().max()) > 0.5
    assert torch.equal(default, shifted_window_attention(x, weights, heads, M, s, clamp=None))
    doc = shifted_window_attention.__doc__
    assert "as the real Swin block runs it" not in doc and 'clamp="official"' in doc


# --------------------------------------------------------------------------- #
# 4 · the pad-order counts against a brute-force count over token pairs        #
# --------------------------------------------------------------------------- #
def _band(position: int, size: int, window: int, shift: int) -> int:
    """The official slices ``(0, -M), (-M, -s), (-s, None)`` of a ``size``-long padded axis, as a band number
    (``s = 0``: no seam, one band)."""
    if shift == 0 or position < size - window:
        return 0
    return 1 if position < size - shift else 2


def brute_force_counts(H: int, W: int, window, shift, order: str) -> tuple[WrongPairs, ChangedPairs]:
    """Place every real token by hand, then test every ordered pair of real tokens in pure Python.

    * the layout: pad-then-roll puts token ``(r, c)`` at ``((r - sh) mod Hp, (c - sw) mod Wp)`` of the padded
      map; roll-then-pad at ``((r - sh) mod H, (c - sw) mod W)`` (rolled before the padding is added below and
      to the right). Its window is that position ``// (Mh, Mw)``, its label the band of each coordinate;
    * the mask allows a pair in one window with the same label;
    * the oracle (what should attend): the same shifted window of the padded map and the same side of both
      seams, ``(r < sh) == (r' < sh)`` and ``(c < sw) == (c' < sw)``;
    * a layout's own seams (for leaked and blocked): the roll it makes, ``(sh mod H, sw mod W)`` for roll-then-pad.
    """
    (Mh, Mw), (sh, sw) = window, shift
    Hp, Wp = math.ceil(H / Mh) * Mh, math.ceil(W / Mw) * Mw
    roll = (sh, sw) if order == "pad-then-roll" else (sh % H, sw % W)
    tokens = list(itertools.product(range(H), range(W)))

    def placed(r: int, c: int) -> tuple[int, int]:
        return ((r - sh) % Hp, (c - sw) % Wp) if order == "pad-then-roll" else ((r - sh) % H, (c - sw) % W)

    def window_of(r: int, c: int) -> tuple[int, int]:
        row, col = placed(r, c)
        return row // Mh, col // Mw

    def label(r: int, c: int) -> tuple[int, int]:
        row, col = placed(r, c)
        return _band(row, Hp, Mh, sh), _band(col, Wp, Mw, sw)

    def oracle(p, q) -> bool:
        same_window = all(
            ((p[d] - shift[d]) % size) // m == ((q[d] - shift[d]) % size) // m for d, size, m in ((0, Hp, Mh), (1, Wp, Mw))
        )
        return same_window and (p[0] < sh) == (q[0] < sh) and (p[1] < sw) == (q[1] < sw)

    leaked = blocked = lost = gained = 0
    for p, q in itertools.product(tokens, repeat=2):
        together = window_of(*p) == window_of(*q)
        allowed = together and label(*p) == label(*q)
        own_side = (p[0] < roll[0]) == (q[0] < roll[0]) and (p[1] < roll[1]) == (q[1] < roll[1])
        leaked += allowed and not own_side
        blocked += together and own_side and not allowed
        should = oracle(p, q)
        lost += should and not allowed
        gained += allowed and not should
    return WrongPairs(leaked, blocked), ChangedPairs(lost, gained)


@pytest.mark.parametrize(
    "H, W, M, s",
    [(11, 8, 3, 1), (11, 7, 3, 2), (10, 10, 3, 1), (13, 13, 7, 3), (16, 16, 7, 3), (17, 17, 7, 3), (9, 9, 3, 1)],
)
def test_pad_order_counts_equal_a_brute_force_count(H, W, M, s):
    for order in ("pad-then-roll", "roll-then-pad"):
        wrong, changed = brute_force_counts(H, W, (M, M), (s, s), order)
        assert count_wrong_pairs(H, W, M, s, order=order) == wrong, order
        assert count_changed_pairs(H, W, M, s, order=order) == changed, order
        if order == "pad-then-roll":
            assert wrong.total == changed.total == 0


@PROPERTY
@given(st.data())
def test_pad_order_counts_equal_a_brute_force_count_on_drawn_layouts(data):
    window = (data.draw(st.integers(1, 5), "Mh"), data.draw(st.integers(1, 5), "Mw"))
    shift = (data.draw(st.integers(0, window[0] - 1), "sh"), data.draw(st.integers(0, window[1] - 1), "sw"))
    H, W = data.draw(st.integers(1, 11), "H"), data.draw(st.integers(1, 11), "W")
    for order in ("pad-then-roll", "roll-then-pad"):
        wrong, changed = brute_force_counts(H, W, window, shift, order)
        assert count_wrong_pairs(H, W, window, shift, order=order) == wrong, order
        assert count_changed_pairs(H, W, window, shift, order=order) == changed, order


def test_16x16_window_7_shift_3_loses_pairs_no_count_of_wrong_pairs_sees():
    H, W, M, s = 16, 16, 7, 3
    wrong = count_wrong_pairs(H, W, M, s, order="roll-then-pad")
    changed = count_changed_pairs(H, W, M, s, order="roll-then-pad")
    assert wrong == WrongPairs(leaked=2304, blocked=0)
    assert changed == ChangedPairs(lost=736, gained=2304)
    # query (0, 0), key (0, 1): neighbours that pad-then-roll lets attend; roll-then-pad splits them
    before, after = pair_relation(H, W, M, s), pair_relation(H, W, M, s, order="roll-then-pad")
    assert bool(before.allowed[0, 1]) and not bool(after.together[0, 1]) and not bool(after.allowed[0, 1])
    # lost = blocked + the pairs pad-then-roll lets attend that roll-then-pad splits into two windows; gained = leaked
    split = int((before.allowed & ~after.together).sum())
    assert (changed.lost, changed.gained) == (wrong.blocked + split, wrong.leaked) == (736, 2304)
    assert pad_order_layout(H, W, M, s, "roll-then-pad").changed == changed


def test_count_changed_pairs_names_bad_arguments():
    with pytest.raises(ValueError, match=r"^order must be one of"):
        count_changed_pairs(11, 8, 3, 1, order="roll")
    with pytest.raises(ValueError, match=r"^height must be a positive int, got 0$"):
        count_changed_pairs(0, 8, 3, 1)
    with pytest.raises(ValueError, match=r"shift_h=3 is outside \[0, window_h=3\)"):
        count_changed_pairs(11, 8, 3, 3)
