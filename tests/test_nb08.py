"""Notebook 08 (numerics): what -100 leaves behind in each dtype, what -inf risks, and SDPA's masks."""

from __future__ import annotations

import math

import pytest
import torch

from swin_viz import WindowAttentionWeights, attention_mask, masked_window_softmax, shifted_window_attention
from swin_viz.numerics import (
    DTYPES,
    as_dtype,
    effective_fill,
    fewest_allowed_keys,
    fully_masked_row,
    leaked_weight,
    score_gap,
    sdpa_window_attention,
    suppression_curve,
)

H = W = 9
M, S = 3, 1
F32_STEP = 2.0**-149  # the smallest positive float32 (a subnormal)


@pytest.fixture(scope="module")
def block_scores() -> torch.Tensor:
    """The notebook's scores: q·kᵀ/√d + bias of a seeded block, [9, 2, 9, 9] float64."""
    x = torch.randn(1, H, W, 8, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    weights = WindowAttentionWeights.random(8, 2, M, seed=0)
    _, stages = shifted_window_attention(x, weights, 2, M, S, return_stages=True)
    return stages["scores"]


def _two_token_window(fill: float = -100.0) -> tuple[torch.Tensor, torch.Tensor]:
    """One window of two tokens from different regions, equal scores: [1, 1, 2, 2] and [1, 2, 2]."""
    return torch.zeros(1, 1, 2, 2, dtype=torch.float64), torch.tensor([[[0.0, fill], [fill, 0.0]]])


# --------------------------------------------------------------------------- #
# dtypes                                                                      #
# --------------------------------------------------------------------------- #
def test_as_dtype_takes_names_and_dtypes_of_the_four():
    assert as_dtype("bfloat16") is torch.bfloat16
    assert as_dtype(torch.float16) is torch.float16
    assert list(DTYPES) == ["float64", "float32", "float16", "bfloat16"]
    with pytest.raises(ValueError, match=r"dtype must be one of \['float64'"):
        as_dtype("half")
    with pytest.raises(ValueError, match="dtype must be one of"):
        as_dtype(torch.int32)
    with pytest.raises(TypeError, match="dtype must be a dtype name"):
        as_dtype(32)


# --------------------------------------------------------------------------- #
# leaked_weight                                                               #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    ("dtype", "expected"),
    [("float64", math.exp(-100) / (1 + math.exp(-100))), ("float32", 3.783506e-44), ("float16", 0.0), ("bfloat16", 0.0)],
)
def test_an_equal_score_pair_keeps_exp_minus_100_in_float_32_and_64_and_nothing_in_16_bits(dtype, expected):
    scores, mask = _two_token_window()
    leak = leaked_weight(scores, mask, dtype)
    assert leak.weights.dtype == DTYPES[dtype]
    assert leak.leaked.shape == (1, 1, 2) and leak.leaked.dtype == torch.float64
    if expected:
        assert leak.largest_pair == pytest.approx(expected, rel=1e-6)
        assert leak.worst == pytest.approx(expected, rel=1e-6)
    else:
        assert leak.largest_pair == 0.0 and leak.worst == 0.0
    # float32's value is a subnormal, 27 steps of the smallest float32
    if dtype == "float32":
        assert 0 < leak.largest_pair < torch.finfo(torch.float32).tiny
        assert leak.largest_pair / F32_STEP == pytest.approx(27.0)


def test_leaked_weight_runs_the_blocks_masked_softmax_in_the_dtype():
    generator = torch.Generator().manual_seed(3)
    scores = torch.randn(2 * 9, 3, 9, 9, generator=generator, dtype=torch.float64)  # B = 2 images, 3 heads
    mask = attention_mask(H, W, M, S)
    leak = leaked_weight(scores, mask, torch.float32)
    assert torch.equal(leak.weights, masked_window_softmax(scores.float(), mask))
    # the leaked weight of one row, summed by hand: image 1, window 8, head 2, query 4
    row = leak.weights[9 + 8, 2, 4].double()
    assert leak.leaked[9 + 8, 2, 4] == row[mask[8, 4] != 0].sum()
    # single-region windows (0, 1, 3, 4) leak exactly nothing
    assert (leak.leaked.view(2, 9, 3, 9)[:, [0, 1, 3, 4]] == 0).all()


def test_leaked_weight_per_pair_is_exp_minus_100_times_the_score_factor_within_one_subnormal_step(block_scores):
    mask = attention_mask(H, W, M, S)
    leak = leaked_weight(block_scores, mask, "float32")
    allowed = (mask == 0).unsqueeze(1)
    factor = block_scores.exp() / (block_scores.exp() * allowed).sum(-1, keepdim=True)
    predicted = math.exp(-100) * factor
    forbidden = ~allowed.expand_as(block_scores)
    assert (leak.weights.double() - predicted)[forbidden].abs().max() <= F32_STEP
    assert leak.largest_pair == pytest.approx(1.434e-41, rel=1e-3)
    assert leak.worst == pytest.approx(2.221e-41, rel=1e-3)


def test_leaked_weight_reports_nan_rows():
    scores, mask = _two_token_window(float("-inf"))
    scores[0, 0, 1, 1] = float("-inf")  # query 1 now has no finite key: -inf - (-inf)
    leak = leaked_weight(scores, mask, "float32")
    assert leak.leaked[0, 0, 0] == 0.0 and leak.leaked[0, 0, 1].isnan()
    assert math.isnan(leak.worst) and math.isnan(leak.largest_pair)


def test_leaked_weight_rejects_bad_arguments():
    scores, mask = _two_token_window()
    with pytest.raises(ValueError, match=r"scores must have shape \[B\*nW, heads, N, N\]"):
        leaked_weight(scores[0], mask)
    with pytest.raises(TypeError, match="mask must be a float mask"):
        leaked_weight(scores, mask == 0)
    with pytest.raises(ValueError, match="mask must hold 0 .allowed. or a negative fill"):
        leaked_weight(scores, -mask)
    with pytest.raises(ValueError, match="must be a multiple of nW=2"):
        leaked_weight(scores, mask.expand(2, 2, 2))
    with pytest.raises(ValueError, match="same N"):
        leaked_weight(scores, torch.zeros(1, 3, 3))
    with pytest.raises(TypeError, match="scores must be a floating-point tensor"):
        leaked_weight(scores.long(), mask)
    with pytest.raises(ValueError, match="dtype must be one of"):
        leaked_weight(scores, mask, "int8")


# --------------------------------------------------------------------------- #
# score_gap: the exact condition                                              #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("fill", [-100.0, -30.0, -5.0])
@pytest.mark.parametrize("scale", [1.0, 10.0])
def test_the_leaked_weight_is_the_sigmoid_of_gap_plus_fill(block_scores, fill, scale):
    mask = attention_mask(H, W, M, S, fill=fill)
    gap = score_gap(block_scores * scale, mask)
    leaked = leaked_weight(block_scores * scale, mask, "float64").leaked
    assert torch.allclose(torch.sigmoid(gap + fill), leaked, rtol=1e-9, atol=1e-300)


def test_score_gap_is_minus_inf_without_forbidden_keys_and_grows_with_the_logits(block_scores):
    mask = attention_mask(H, W, M, S)
    gap = score_gap(block_scores, mask)
    assert gap.shape == (9, 2, 9)
    assert torch.isneginf(gap[[0, 1, 3, 4]]).all() and torch.isfinite(gap[[2, 5, 6, 7, 8]]).all()
    assert float(gap.max()) == pytest.approx(6.392, abs=1e-3)
    assert float(score_gap(block_scores * 15, mask).max()) == pytest.approx(89.32, abs=1e-2)


# --------------------------------------------------------------------------- #
# suppression_curve                                                           #
# --------------------------------------------------------------------------- #
def test_suppression_curve_is_the_worst_row_at_each_scale_for_each_dtype(block_scores):
    mask = attention_mask(H, W, M, S)
    scales = [0.5, 1.0, 4.0, 15.0, 20.0]
    curves = suppression_curve(block_scores, mask, scales)
    assert list(curves) == list(DTYPES)
    for name, curve in curves.items():
        one_by_one = [leaked_weight(block_scores * s, mask, name).worst for s in scales]
        assert curve.dtype == torch.float64 and curve.tolist() == one_by_one
    assert curves["float16"][:3].tolist() == [0.0, 0.0, 0.0]  # below float16's smallest subnormal
    assert curves["float32"][1] == pytest.approx(2.221e-41, rel=1e-3)
    assert curves["float64"][3] == pytest.approx(2.294e-5, rel=1e-3)  # gap 89.3: -100 barely holds
    assert curves["float64"][4] > 0.999  # gap 119: the forbidden keys take everything


def test_suppression_curve_with_minus_inf_is_exactly_zero_until_float16_overflows(block_scores):
    mask = attention_mask(H, W, M, S, fill=float("-inf"))
    curves = suppression_curve(block_scores, mask, [1.0, 100.0, 1e4], dtypes=["float32", torch.float16])
    assert curves["float32"].tolist() == [0.0, 0.0, 0.0]
    # |scores| reach 7.5, so 1e4 * scores overflow float16 (max 65504): inf - inf = NaN
    assert curves["float16"][:2].tolist() == [0.0, 0.0] and curves["float16"][2].isnan()


def test_suppression_curve_rejects_bad_scales_and_dtypes(block_scores):
    mask = attention_mask(H, W, M, S)
    with pytest.raises(ValueError, match="finite and positive"):
        suppression_curve(block_scores, mask, [1.0, 0.0])
    with pytest.raises(ValueError, match="must not be empty"):
        suppression_curve(block_scores, mask, [])
    with pytest.raises(TypeError, match="logit_scales must hold real numbers"):
        suppression_curve(block_scores, mask, [1.0, "2"])
    with pytest.raises(TypeError, match="dtypes must be a non-empty sequence"):
        suppression_curve(block_scores, mask, [1.0], dtypes="float32")


# --------------------------------------------------------------------------- #
# effective_fill                                                              #
# --------------------------------------------------------------------------- #
def test_effective_fill_shows_rounding_absorption_and_overflow():
    scores = torch.tensor([3.0, 300.0, 3000.0, 20000.0, 40000.0, 60000.0, -65500.0, 1e5], dtype=torch.float64)
    assert effective_fill(scores, -100.0, "float32").tolist() == [-100.0] * 8
    assert effective_fill(scores, -100.0, "bfloat16").tolist() == [-100.0, -100.0, -96.0, -128.0, 0.0, 0.0, 0.0, 0.0]
    half = effective_fill(scores, -100.0, "float16")
    assert half[:6].tolist() == [-100.0, -100.0, -100.0, -96.0, -96.0, -96.0]
    assert torch.isneginf(half[6]) and half[7].isnan()  # the sum overflows; 1e5 itself is inf in float16
    assert torch.isneginf(effective_fill(scores[:1], float("-inf"), "float32")).all()
    # float32's most negative number becomes -inf in both 16-bit types
    lowest = torch.finfo(torch.float32).min
    assert torch.isneginf(effective_fill(scores[:1], lowest, "float16")).all()
    assert torch.isneginf(effective_fill(scores[:1], lowest, "bfloat16")).all()
    with pytest.raises(ValueError, match="fill must be negative"):
        effective_fill(scores, 0.0, "float32")
    with pytest.raises(TypeError, match="scores must be a floating-point"):
        effective_fill([1.0], -100.0, "float32")


# --------------------------------------------------------------------------- #
# fully masked rows                                                           #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("dtype", list(DTYPES))
def test_a_fully_masked_row_is_nan_with_minus_inf(dtype):
    row = fully_masked_row(float("-inf"), dtype)
    assert row.weights.shape == (9,) and row.output.shape == (4,)
    assert row.weights.isnan().all() and row.output.isnan().all()


def test_a_fully_masked_row_with_a_finite_fill_is_the_unmasked_softmax():
    row = fully_masked_row(-100.0, "float64", keys=5, dim=3, seed=7)
    generator = torch.Generator().manual_seed(7)
    scores = torch.randn(5, generator=generator, dtype=torch.float64)
    values = torch.randn(5, 3, generator=generator, dtype=torch.float64)
    assert torch.allclose(row.weights, torch.softmax(scores, 0), rtol=1e-12)
    assert torch.allclose(row.output, torch.softmax(scores, 0) @ values, rtol=1e-12)


def test_float32_lowest_as_fill_is_uniform_in_float32_and_nan_in_16_bits():
    lowest = torch.finfo(torch.float32).min
    assert torch.equal(fully_masked_row(lowest, "float32").weights, torch.full((9,), 1 / 9))
    assert fully_masked_row(lowest, "float16").weights.isnan().all()
    assert fully_masked_row(lowest, "bfloat16").weights.isnan().all()
    with pytest.raises(ValueError, match="keys must be a positive int"):
        fully_masked_row(-100.0, keys=0)


def test_swin_never_masks_a_whole_row():
    assert fewest_allowed_keys(H, W, M, S) == 1  # the corner token of window 8: itself only
    assert fewest_allowed_keys(H, W, M, 0) == M * M
    fewest = {
        fewest_allowed_keys(height, width, window, shift, pad=True)
        for height in range(1, 11)
        for width in range(1, 11)
        for window in range(1, 6)
        for shift in range(window)
    }
    assert min(fewest) == 1


def test_masking_padding_keys_can_empty_a_row():
    # 5x5 padded to 8x8 with window 4, shift 2: rolled rows 4-5 are padding rows 6-7, a region of their own
    assert fewest_allowed_keys(5, 5, 4, 2, pad=True) == 4
    assert fewest_allowed_keys(5, 5, 4, 2, pad=True, mask_padding_keys=True) == 0
    assert fewest_allowed_keys(8, 8, 4, 2, pad=True, mask_padding_keys=True) == 4  # no padding
    with pytest.raises(TypeError, match="mask_padding_keys must be True or False"):
        fewest_allowed_keys(5, 5, 4, 2, pad=True, mask_padding_keys=1)


# --------------------------------------------------------------------------- #
# SDPA                                                                        #
# --------------------------------------------------------------------------- #
def _qkv(dtype: torch.dtype, batch: int = 2) -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(1)
    return tuple(torch.randn(batch * 9, 2, 9, 4, generator=generator, dtype=torch.float64).to(dtype) for _ in range(3))


def test_sdpa_with_the_swin_mask_matches_the_explicit_masked_softmax():
    q, k, v = _qkv(torch.float64)
    mask = attention_mask(H, W, M, S)
    explicit = masked_window_softmax(q @ k.transpose(-2, -1) * 4**-0.5, mask.double()) @ v
    assert torch.allclose(sdpa_window_attention(q, k, v, mask), explicit, rtol=1e-10, atol=1e-12)
    assert torch.allclose(sdpa_window_attention(q, k, v, mask == 0), explicit, rtol=1e-10, atol=1e-12)
    q32, k32, v32 = (t.float() for t in (q, k, v))
    assert torch.equal(sdpa_window_attention(q32, k32, v32, mask), sdpa_window_attention(q32, k32, v32, mask == 0))
    assert torch.allclose(sdpa_window_attention(q, k, v, None), torch.softmax(q @ k.transpose(-2, -1) / 2, -1) @ v)


def test_sdpa_returns_zeros_for_a_fully_masked_row_where_softmax_gives_nan():
    q, k, v = _qkv(torch.float32, batch=1)
    allowed = attention_mask(H, W, M, S) == 0
    allowed[8, 8, 8] = False  # the corner token of window 8 may only attend to itself; now not even that
    out_bool = sdpa_window_attention(q, k, v, allowed)
    mask_inf = torch.zeros(allowed.shape).masked_fill(~allowed, float("-inf"))
    explicit = masked_window_softmax(q @ k.transpose(-2, -1) / 2, mask_inf) @ v
    assert explicit[8, :, 8].isnan().all() and not explicit[8, :, :8].isnan().any()
    # torch 2.13 (the pinned version): SDPA's safe softmax gives the empty row zero weights
    assert (out_bool[8, :, 8] == 0).all()
    assert (sdpa_window_attention(q, k, v, mask_inf)[8, :, 8] == 0).all()
    assert torch.allclose(out_bool[8, :, :8], explicit[8, :, :8], atol=1e-6)


def test_sdpa_window_attention_rejects_bad_arguments():
    q, k, v = _qkv(torch.float32)
    mask = attention_mask(H, W, M, S)
    with pytest.raises(ValueError, match="q, k and v must share shape and dtype"):
        sdpa_window_attention(q, k.double(), v, mask)
    with pytest.raises(ValueError, match="must be a multiple of nW=4"):
        sdpa_window_attention(q, k, v, attention_mask(6, 6, 3, 1))
    with pytest.raises(ValueError, match=r"mask must be \[nW, 9, 9\]"):
        sdpa_window_attention(q, k, v, attention_mask(8, 8, 4, 2))
    with pytest.raises(TypeError, match="bool mask"):
        sdpa_window_attention(q, k, v, mask.long())
    with pytest.raises(ValueError, match=r"q must have shape"):
        sdpa_window_attention(q[0], k[0], v[0], mask)
