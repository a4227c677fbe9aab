"""Tests for the fast mask construction (``fast_*`` and ``allowed_mask`` in :mod:`swin_viz.tensors`).

Sources of truth, each independent of the closed form under test:

* the package's slice-loop reference (``region_labels``, ``window_labels``,
  ``attention_mask``), itself checked against the official code in test_tensors;
* transformers' ``SwinLayer.get_attn_mask`` (its own vectorised labels, then
  ``window_partition`` and the label difference), including its padded sizes;
* literal numbers from the 9x9 / 3 / 1 walkthrough.

Nothing here is timed; ``make bench`` measures speed.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from helpers import draw_window_and_shift
from hypothesis import given, settings
from hypothesis import strategies as st

import swin_viz
from swin_viz import tensors
from swin_viz.tensors import (
    allowed_mask,
    attention_mask,
    fast_attention_mask,
    fast_region_labels,
    fast_window_labels,
    masked_window_softmax,
    region_labels,
    window_labels,
)

FAST = ("fast_region_labels", "fast_window_labels", "fast_attention_mask", "allowed_mask")
PROPERTY = settings(max_examples=60, deadline=None, derandomize=True, database=None)


def _layouts_for(window: tuple[int, int]) -> list[tuple[int, int, tuple[int, int], tuple[int, int]]]:
    """Every shift of ``window`` on window grids 1x1, 1x3, 2x1 and 3x2."""
    window_h, window_w = window
    return [
        (rows * window_h, cols * window_w, window, (shift_h, shift_w))
        for shift_h in range(window_h)
        for shift_w in range(window_w)
        for rows, cols in ((1, 1), (1, 3), (2, 1), (3, 2))
    ]


def _same_bits(a: torch.Tensor, b: torch.Tensor) -> bool:
    """Equal dtype, shape and bit pattern (so ``-0.0`` is not taken for ``0.0``)."""
    if a.dtype != b.dtype or a.shape != b.shape:
        return False
    if a.dtype.is_floating_point:
        a, b = a.view(torch.uint8), b.view(torch.uint8)
    return torch.equal(a, b)


def _padded(size: int, window: int) -> int:
    return math.ceil(size / window) * window


# --------------------------------------------------------------------------- #
# Equal to the slice-loop reference                                           #
# --------------------------------------------------------------------------- #
class TestEqualsReference:
    @pytest.mark.parametrize("window", [(h, w) for h in range(1, 5) for w in range(1, 5)], ids=str)
    def test_every_shift_of_small_windows(self, window):
        # 1x1 windows, 1xk / kx1 windows, shift 0, shift M-1, a single window, uneven grids
        for H, W, win, shift in _layouts_for(window):
            reference_mask = attention_mask(H, W, win, shift)
            assert _same_bits(fast_region_labels(H, W, win, shift), region_labels(H, W, win, shift)), (H, W, win, shift)
            assert _same_bits(fast_window_labels(H, W, win, shift), window_labels(H, W, win, shift)), (H, W, win, shift)
            assert _same_bits(fast_attention_mask(H, W, win, shift), reference_mask), (H, W, win, shift)
            assert _same_bits(allowed_mask(H, W, win, shift), reference_mask == 0), (H, W, win, shift)

    @pytest.mark.parametrize(
        "H, W, window, shift",
        [(56, 56, 7, 3), (28, 28, 7, 3), (14, 14, 7, 3), (7, 7, 7, 3), (128, 128, 8, 4), (64, 64, 16, 8),
         (12, 20, (6, 5), (3, 2)), (48, 24, (8, 4), (0, 3)), (24, 48, (4, 8), (3, 0))],
    )
    def test_model_sizes(self, H, W, window, shift):
        reference_mask = attention_mask(H, W, window, shift)
        assert _same_bits(fast_region_labels(H, W, window, shift), region_labels(H, W, window, shift))
        assert _same_bits(fast_window_labels(H, W, window, shift), window_labels(H, W, window, shift))
        assert _same_bits(fast_attention_mask(H, W, window, shift), reference_mask)
        assert _same_bits(allowed_mask(H, W, window, shift), reference_mask == 0)

    def test_largest_listed_size(self):
        # 256x256 / 16 / 8: 256 windows of 256 tokens, 16.8 M entries
        reference_mask = attention_mask(256, 256, 16, 8)
        assert _same_bits(fast_attention_mask(256, 256, 16, 8), reference_mask)
        assert _same_bits(allowed_mask(256, 256, 16, 8), reference_mask == 0)

    @PROPERTY
    @given(data=st.data())
    def test_property_equals_reference(self, data):
        # window grids up to 4x4 (one row or column included), rectangular windows, padding, every dtype
        window, shift = draw_window_and_shift(data, 5)
        rows, cols = data.draw(st.integers(1, 4), "rows"), data.draw(st.integers(1, 4), "cols")
        Hp, Wp = rows * window[0], cols * window[1]
        H, W = Hp - data.draw(st.integers(0, window[0] - 1), "pad_h"), Wp - data.draw(st.integers(0, window[1] - 1), "pad_w")
        dtype = data.draw(st.sampled_from([torch.float32, torch.float64, torch.float16, torch.bfloat16]), "dtype")
        fill = data.draw(st.sampled_from([-100.0, -math.inf, -1.5]), "fill")
        reference_mask = attention_mask(Hp, Wp, window, shift, fill)
        assert _same_bits(fast_attention_mask(H, W, window, shift, fill, pad=True, dtype=dtype), reference_mask.to(dtype))
        assert _same_bits(allowed_mask(H, W, window, shift, pad=True), reference_mask == 0)

    @pytest.mark.parametrize("window, shift", [(3, 1), ((3, 3), (1, 1)), ([3, 3], [1, 1]), (torch.Size([3, 3]), 1)])
    def test_int_and_pair_arguments_agree(self, window, shift):
        assert _same_bits(fast_attention_mask(9, 9, window, shift), attention_mask(9, 9, 3, 1))
        assert _same_bits(fast_window_labels(9, 9, window, shift), window_labels(9, 9, 3, 1))


class TestWalkthroughNumbers:
    """The 9x9 / 3 / 1 numbers of the reference walkthrough, from the fast path alone."""

    def test_region_labels(self):
        labels = fast_region_labels(9, 9, 3, 1)
        assert labels.dtype == torch.long
        assert labels[0].tolist() == [0, 0, 0, 0, 0, 0, 1, 1, 2]
        assert labels[6].tolist() == [3, 3, 3, 3, 3, 3, 4, 4, 5]
        assert labels[8].tolist() == [6, 6, 6, 6, 6, 6, 7, 7, 8]
        assert labels[:6].eq(labels[0]).all() and labels[6:8].eq(labels[6]).all()

    def test_last_window_labels(self):
        mask_windows = fast_window_labels(9, 9, 3, 1)
        assert mask_windows.shape == (9, 9)
        assert mask_windows[-1].tolist() == [4, 4, 5, 4, 4, 5, 7, 7, 8]

    def test_masked_windows_and_allowed_counts(self):
        mask = fast_attention_mask(9, 9, 3, 1)
        assert [k for k in range(9) if (mask[k] == -100.0).any()] == [2, 5, 6, 7, 8]
        # allowed pairs per window: one region (81); two regions of 6 + 3 tokens (45);
        # the corner's regions of 4, 2, 2, 1 tokens (16 + 4 + 4 + 1 = 25)
        assert allowed_mask(9, 9, 3, 1).sum(dim=(1, 2)).tolist() == [81, 81, 45, 81, 81, 45, 45, 45, 25]


# --------------------------------------------------------------------------- #
# fill and dtype                                                              #
# --------------------------------------------------------------------------- #
class TestFillAndDtype:
    @pytest.mark.parametrize("fill", [-100.0, -1, -0.5, -1e4, -3.0e38, -math.inf])
    def test_fill_values(self, fill):
        ours = fast_attention_mask(8, 12, (4, 6), (2, 3), fill)
        assert _same_bits(ours, attention_mask(8, 12, (4, 6), (2, 3), fill))
        assert set(ours.unique().tolist()) == {0.0, torch.tensor(fill, dtype=torch.float32).item()}

    @pytest.mark.parametrize("dtype", [torch.float64, torch.float16, torch.bfloat16])
    @pytest.mark.parametrize("fill", [-100.0, -1024.0, -math.inf])
    def test_dtypes(self, dtype, fill):
        ours = fast_attention_mask(14, 14, 7, 3, fill, dtype=dtype)
        assert ours.dtype == dtype
        assert _same_bits(ours, attention_mask(14, 14, 7, 3, fill).to(dtype))

    def test_bool_mask_is_a_quarter_of_the_float_mask(self):
        allowed = allowed_mask(56, 56, 7, 3)
        assert allowed.dtype == torch.bool and allowed.element_size() == 1
        assert fast_attention_mask(56, 56, 7, 3).element_size() == 4

    def test_device_argument(self):
        on_meta = fast_attention_mask(56, 56, 7, 3, device="meta")
        assert on_meta.device.type == "meta" and on_meta.shape == (64, 49, 49)
        assert allowed_mask(50, 50, 7, 3, pad=True, device="meta").shape == (64, 49, 49)
        assert fast_window_labels(9, 9, 3, 1, device=torch.device("cpu")).device.type == "cpu"


# --------------------------------------------------------------------------- #
# pad=True: the mask of the padded map                                        #
# --------------------------------------------------------------------------- #
class TestPad:
    @pytest.mark.parametrize(
        "H, W, window, shift",
        [(50, 50, 7, 3), (9, 10, (4, 3), (1, 2)), (5, 5, 7, 3), (13, 7, 4, 2), (1, 1, 2, 1), (30, 17, (6, 8), (0, 4))],
    )
    def test_equals_reference_on_padded_size(self, H, W, window, shift):
        window_h, window_w = tensors.as_pair(window, "window")
        Hp, Wp = _padded(H, window_h), _padded(W, window_w)
        assert _same_bits(fast_region_labels(H, W, window, shift, pad=True), region_labels(Hp, Wp, window, shift))
        assert _same_bits(fast_window_labels(H, W, window, shift, pad=True), window_labels(Hp, Wp, window, shift))
        reference_mask = attention_mask(Hp, Wp, window, shift)
        assert _same_bits(fast_attention_mask(H, W, window, shift, pad=True), reference_mask)
        assert _same_bits(allowed_mask(H, W, window, shift, pad=True), reference_mask == 0)

    def test_50_pads_to_56(self):
        assert fast_region_labels(50, 50, 7, 3, pad=True).shape == (56, 56)
        assert fast_attention_mask(50, 50, 7, 3, pad=True).shape == (64, 49, 49)

    @pytest.mark.parametrize("H, W, window, shift", [(9, 9, 3, 1), (8, 12, (4, 6), (2, 3))])
    def test_divisible_sizes_are_unchanged(self, H, W, window, shift):
        assert _same_bits(fast_attention_mask(H, W, window, shift, pad=True), fast_attention_mask(H, W, window, shift))
        assert _same_bits(fast_region_labels(H, W, window, shift, pad=True), fast_region_labels(H, W, window, shift))


# --------------------------------------------------------------------------- #
# Agreement with transformers' SwinLayer                                      #
# --------------------------------------------------------------------------- #
class TestTransformers:
    @staticmethod
    def _library_mask(H: int, W: int, window: int, shift: int) -> torch.Tensor:
        from transformers import SwinConfig
        from transformers.models.swin.modeling_swin import SwinLayer

        layer = SwinLayer(SwinConfig(window_size=window), dim=4, input_resolution=(H, W), num_heads=1, shift_size=shift)
        # SwinLayer.forward pads with maybe_pad, then builds the mask of the padded size
        _, pad_values = layer.maybe_pad(torch.zeros(1, H, W, 4), H, W)
        return layer.get_attn_mask(H + pad_values[5], W + pad_values[3], dtype=torch.float32, device="cpu")

    @pytest.mark.parametrize(
        "H, W, window, shift",
        [(56, 56, 7, 3), (28, 28, 7, 3), (9, 9, 3, 1), (12, 16, 4, 2), (50, 50, 7, 3), (9, 10, 4, 1), (30, 25, 6, 3)],
    )
    def test_equals_swin_layer_mask(self, H, W, window, shift):
        library = self._library_mask(H, W, window, shift)
        assert _same_bits(fast_attention_mask(H, W, window, shift, pad=True), library)
        assert _same_bits(allowed_mask(H, W, window, shift, pad=True), library == 0)


# --------------------------------------------------------------------------- #
# The boolean mask in scaled_dot_product_attention                            #
# --------------------------------------------------------------------------- #
class TestScaledDotProductAttention:
    @pytest.mark.parametrize("H, W, window, shift", [(14, 14, 7, 3), (8, 12, (4, 6), (2, 3))])
    def test_bool_and_float_masks_give_the_explicit_softmax(self, H, W, window, shift):
        torch.manual_seed(0)
        nW, N, _ = attention_mask(H, W, window, shift).shape
        B, heads, head_dim = 2, 3, 8
        q, k, v = (torch.randn(B * nW, heads, N, head_dim) for _ in range(3))
        scale = head_dim**-0.5
        explicit = masked_window_softmax(q @ k.transpose(-2, -1) * scale, fast_attention_mask(H, W, window, shift, -math.inf)) @ v
        # the [nW, N, N] masks broadcast over heads, and over images once the batch is [B, nW, ...]
        shape = (B, nW, heads, N, head_dim)
        q5, k5, v5 = q.view(shape), k.view(shape), v.view(shape)
        with_bool = F.scaled_dot_product_attention(q5, k5, v5, attn_mask=allowed_mask(H, W, window, shift).unsqueeze(1))
        with_float = F.scaled_dot_product_attention(q5, k5, v5, attn_mask=fast_attention_mask(H, W, window, shift).unsqueeze(1))
        torch.testing.assert_close(with_bool.reshape(explicit.shape), explicit, rtol=1e-5, atol=1e-6)
        # -100 leaves exp(-100) ~ 3.7e-44 of weight: equal within float32 rounding
        torch.testing.assert_close(with_float.reshape(explicit.shape), explicit, rtol=1e-5, atol=1e-6)
        # and the mask matters: without it the result is different
        unmasked = F.scaled_dot_product_attention(q5, k5, v5).reshape(explicit.shape)
        assert not torch.allclose(unmasked, explicit, atol=1e-3)


# --------------------------------------------------------------------------- #
# Errors: the same checks and messages as the reference                       #
# --------------------------------------------------------------------------- #
BAD_LAYOUTS = [
    (9, 9, 4, 1),  # window does not divide
    (9, 12, (3, 5), (1, 1)),  # window_w does not divide
    (9, 9, 3, 3),  # shift == window
    (9, 9, 3, -1),  # negative shift
    (9, 9, 0, 0),  # window not positive
    (0, 9, 3, 1),  # height not positive
    (9, -3, 3, 1),  # width not positive
    (9.0, 9, 3, 1),  # float height
    (True, 9, 3, 1),  # bool height
    (9, 9, (3, 3, 3), 1),  # three values
    (9, 9, 3, 1.0),  # float shift
    (9, 9, "3", 1),  # string window
]
REFERENCE_OF = {
    "fast_region_labels": region_labels,
    "fast_window_labels": window_labels,
    "fast_attention_mask": attention_mask,
    "allowed_mask": attention_mask,
}


def _error_of(fn, *args, **kwargs) -> tuple[type, str]:
    with pytest.raises((TypeError, ValueError)) as info:
        fn(*args, **kwargs)
    return type(info.value), str(info.value)


class TestErrors:
    @pytest.mark.parametrize("name", FAST)
    @pytest.mark.parametrize("layout", BAD_LAYOUTS, ids=repr)
    def test_same_error_as_reference(self, name, layout):
        expected = _error_of(REFERENCE_OF[name], *layout)
        assert _error_of(getattr(tensors, name), *layout) == expected

    @pytest.mark.parametrize("name", FAST)
    @pytest.mark.parametrize(
        "layout, pattern",
        [
            ((9, 9, 3, 3), r"^shift_h=3 is outside \[0, window_h=3\)"),
            ((9, 9, (3, 0), 1), r"^window must be positive in each dimension, got window_w=0"),
            ((0, 9, 3, 1), r"^height must be a positive int, got 0"),
            ((9, 9.5, 3, 1), r"^width must be an int, got float"),
        ],
    )
    def test_pad_still_checks_the_layout(self, name, layout, pattern):
        with pytest.raises((TypeError, ValueError), match=pattern):
            getattr(tensors, name)(*layout, pad=True)

    @pytest.mark.parametrize("name", FAST)
    @pytest.mark.parametrize("pad", [1, "yes", None])
    def test_pad_must_be_a_bool(self, name, pad):
        with pytest.raises(TypeError, match=r"^pad must be True or False"):
            getattr(tensors, name)(9, 9, 3, 1, pad=pad)

    def test_not_divisible_without_pad_suggests_the_padded_size(self):
        with pytest.raises(ValueError, match=re.escape("pad the feature map to 56 first")):
            fast_attention_mask(50, 50, 7, 3)

    @pytest.mark.parametrize("fill", [0, 0.0, 1.5, math.nan, -1e39, "x", True, None])
    def test_same_fill_errors_as_reference(self, fill):
        assert _error_of(fast_attention_mask, 9, 9, 3, 1, fill) == _error_of(attention_mask, 9, 9, 3, 1, fill)

    def test_fill_must_fit_the_dtype(self):
        with pytest.raises(ValueError, match=re.escape("fill=-100000.0 does not fit in float16: use a value >= -6.55e+04, or -inf")):
            fast_attention_mask(9, 9, 3, 1, -1e5, dtype=torch.float16)
        # -inf always fits
        assert fast_attention_mask(9, 9, 3, 1, -math.inf, dtype=torch.float16).min() == -math.inf

    @pytest.mark.parametrize("dtype", [torch.int64, torch.bool, torch.complex64, "float32", None])
    def test_dtype_must_be_floating(self, dtype):
        with pytest.raises(TypeError, match=r"^dtype must be a floating-point torch.dtype"):
            fast_attention_mask(9, 9, 3, 1, dtype=dtype)


class TestSurface:
    def test_exported(self):
        for name in FAST:
            assert name in tensors.__all__ and name in swin_viz.__all__
            assert getattr(swin_viz, name) is getattr(tensors, name)

    @pytest.mark.parametrize("name", FAST)
    def test_docstring_gives_the_shape(self, name):
        doc = getattr(tensors, name).__doc__
        assert re.search(r"\[(H, W|nW, N|nW, N, N)\]", doc), name
