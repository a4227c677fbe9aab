"""Notebook 08 (numerics): what -100 leaves behind in each dtype, what -inf risks, and SDPA's masks."""

from __future__ import annotations

import math

import pytest
import torch
from helpers import cell_texts
from matplotlib.colors import to_rgba

from swin_viz import (
    WindowAttentionWeights,
    attention_mask,
    masked_window_softmax,
    shifted_window_attention,
    window_labels,
)
from swin_viz import figures, widgets
from swin_viz.figures._canvas import new_figure
from swin_viz.figures.numerics import _weight_text
from swin_viz.widgets import numerics as explorer08
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
from swin_viz.figures._pool import drawn_cells

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


# --------------------------------------------------------------------------- #
# figures                                                                     #
# --------------------------------------------------------------------------- #
def _pooled(ax, gid):
    """The artist a figure pooled under ``gid`` in ``ax``."""
    (artist,) = [a for a in ax.get_children() if a.get_gid() == gid]
    return artist


def test_log_weights_panel_prints_tiny_weights_zeros_and_nans(block_scores):
    fig = new_figure(5, 5)
    ax = fig.subplots()
    mask = attention_mask(H, W, M, S)
    weights = leaked_weight(block_scores, mask, "float32").weights[8, 0].clone()
    weights[0, 0], weights[0, 1] = float("nan"), 0.0
    figures.draw_log_weights(ax, weights, mask[8] != 0, window_labels(H, W, M, S)[8])
    texts = cell_texts(ax, 9, 9)
    assert texts[0][:2] == ["NaN", "0"]
    assert texts[8][8] == "1.00" and texts[8][7] == "1e-41"  # the corner query: itself, and e^-100 x 385.5 on key 7
    assert texts[1][0] == f"{float(weights[1, 0]):.2f}".lstrip("0")
    assert texts[2][0] == f"{float(weights[2, 0]):.0e}".replace("e-0", "e-") and "e-4" in texts[2][0]
    image = drawn_cells(ax, "logw/image")[0]
    assert tuple(image[0, 0, :3]) == tuple(round(255 * v) for v in to_rgba(figures.NAN_COLOUR)[:3])
    assert tuple(image[0, 1, :3]) == tuple(round(255 * v) for v in to_rgba(figures.ZERO_COLOUR)[:3])
    # one red box per forbidden pair of window 8
    assert len(_pooled(ax, "logw/forbidden").get_paths()) == int((mask[8] != 0).sum()) == 56
    with pytest.raises(ValueError, match="forbidden must be a bool"):
        figures.draw_log_weights(ax, weights, mask[8])


def test_suppression_curve_draws_zeros_on_the_floor_and_nans_as_marks(block_scores):
    mask = attention_mask(H, W, M, S)
    scales = torch.logspace(-1, 4, 21, dtype=torch.float64)
    curves = suppression_curve(block_scores, mask, scales)
    fig = figures.plot_suppression_curve(scales, curves, fill=-100.0)
    ax = fig.axes[0]
    half = curves["float16"]
    nan_count, zero_count = int(half.isnan().sum()), int((half == 0).sum())
    assert nan_count >= 1 and zero_count >= 1
    segments = _pooled(ax, "curve/float16").get_segments()
    finite = ~half.isnan()
    assert len(segments) == int((finite[:-1] & finite[1:]).sum())
    floor = [y for seg in segments for (_, y) in seg if y == figures.LOG_FLOOR - 2.0]
    assert floor, "exact zeros lie on the floor band"
    assert len(_pooled(ax, "nan/float16").get_segments()) == nan_count
    assert len(_pooled(ax, "nan/float32").get_segments()) == 0
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[0] == "0" and labels[-1] == "NaN" and "1e-40" in labels
    assert [t.get_text() for t in ax.get_xticklabels()] == ["0.1", "1", "10", "100", "1000", "10000"]
    assert "fill -100" in ax.get_title()


def test_suppression_curve_rejects_curves_it_cannot_draw():
    scales = torch.tensor([1.0, 2.0], dtype=torch.float64)
    with pytest.raises(ValueError, match="one value per logit scale"):
        figures.plot_suppression_curve(scales, {"float32": torch.zeros(3)}, fill=-100.0)
    with pytest.raises(ValueError, match="curves keys must be dtype names"):
        figures.plot_suppression_curve(scales, {"half": torch.zeros(2)}, fill=-100.0)
    with pytest.raises(ValueError, match="finite positive"):
        figures.plot_suppression_curve(torch.tensor([0.0, 1.0]), {"float32": torch.zeros(2)}, fill=-100.0)
    with pytest.raises(ValueError, match="threshold must lie in"):
        figures.plot_suppression_curve(scales, {"float32": torch.zeros(2)}, fill=-100.0, threshold=2.0)


def test_numerics_figure_redraws_in_place(block_scores):
    mask = attention_mask(H, W, M, S)
    labels = window_labels(H, W, M, S)[8]
    scales = torch.logspace(-1, 2, 7, dtype=torch.float64)
    curves = suppression_curve(block_scores, mask, scales, dtypes=["float32", "float16"])
    first = leaked_weight(block_scores, mask, "float32").weights[8, 0]
    fig = figures.plot_numerics(first, mask[8] != 0, labels, scales, curves, dtype="float32", fill=-100.0, scale=1.0,
                                window_index=8, head=0)
    axes = list(fig.axes)
    second = leaked_weight(block_scores * 20, mask, "float16").weights[8, 0]
    again = figures.plot_numerics(second, mask[8] != 0, labels, scales, curves, dtype="float16", fill=-100.0, scale=20.0,
                                  window_index=8, head=0, figure=fig)
    assert again is fig and list(fig.axes) == axes
    assert cell_texts(axes[0], 9, 9)[8][8] == _weight_text(float(second[8, 8]))
    assert "× 20" in axes[0].get_title() and "float16" in axes[0].get_title()
    assert _pooled(axes[1], "curve/float16").get_linewidth()[0] > _pooled(axes[1], "curve/float32").get_linewidth()[0]
    assert bytes(fig.to_png()).startswith(b"\x89PNG")


# --------------------------------------------------------------------------- #
# the explorer                                                                #
# --------------------------------------------------------------------------- #
def test_numerics_explorer_opens_on_float32_minus_100(block_scores):
    view = widgets.numerics_explorer()
    assert view.draw_count == 1 and bytes(view.image.value).startswith(b"\x89PNG")
    assert torch.equal(explorer08.numerics_scores(), block_scores)  # the notebook's scores
    assert "worst leaked weight of any query 2.221e-41, invisible" in view.caption.value
    assert repr(view) == (
        "NumericsExplorer('08 · What the fill leaves on forbidden keys, per dtype', "
        "dtype=float32, fill=-100, logit scale=1, k=8, head=0)"
    )
    assert cell_texts(view.figure.axes[0], 9, 9)[8][7] == "1e-41"
    # the slider's positions are the curves' grid
    scales = explorer08.numerics_scales()
    assert scales.numel() == 101 and float(scales[0]) == pytest.approx(0.1) and float(scales[-1]) == pytest.approx(1e4)


def test_numerics_explorer_follows_its_controls():
    view = widgets.numerics_explorer()
    view.dtype.value = "float16"
    assert "worst leaked weight of any query 0.000e+00, exactly 0" in view.caption.value
    assert set(cell_texts(view.figure.axes[0], 9, 9)[8][:5]) == {"0"}
    view.logit_scale.value = float(explorer08.numerics_scales()[60])  # 10^2
    assert "visible (> 1e-3)" in html_unescape(view.caption.value)
    view.fill.value = "-inf"
    assert "exactly 0" in view.caption.value
    view.logit_scale.value = 1e4  # 1e4 * 7.55 overflows float16
    (row,) = leaked_weight(explorer08.numerics_scores() * 1e4, explorer08.numerics_mask(float("-inf")), "float16").leaked.isnan().nonzero().tolist()
    assert row == [7, 1, 8]
    assert "NaN in 1 query row (window 7, head 1, query 8): float16 scores overflowed" in view.caption.value
    assert "NaN" not in {t for row in cell_texts(view.figure.axes[0], 9, 9) for t in row}  # window 8, head 0
    view.window_index.value, view.head.value = 7, 1
    assert cell_texts(view.figure.axes[0], 9, 9)[8] == ["NaN"] * 9
    assert "window 7, head 1" in view.figure.axes[0].get_title()
    assert view.draw_count == 7 and "Cannot draw" not in view.caption.value


def html_unescape(text: str) -> str:
    import html

    return html.unescape(text)


def test_every_reachable_numerics_position_draws():
    view = widgets.numerics_explorer()
    scales = explorer08.numerics_scales()
    figure = view.figure
    # every position through the drawing code (no PNG: fast), then the extremes through the widget
    for fill, fill_value in widgets.NUMERICS_FILLS.items():
        mask = explorer08.numerics_mask(fill_value)
        for dtype in widgets.NUMERICS_DTYPES:
            for scale in scales.tolist():
                leak = leaked_weight(explorer08.numerics_scores() * scale, mask, dtype)
                for k, head in ((8, 0), (7, 1)):
                    figure = figures.plot_numerics(
                        leak.weights[k, head], mask[k] != 0, explorer08.numerics_labels()[k], scales,
                        explorer08.numerics_curves(fill_value), dtype=dtype, fill=fill_value, scale=scale,
                        window_index=k, head=head, figure=figure,
                    )
            view.fill.value, view.dtype.value = fill, dtype
            for scale in (float(scales[0]), float(scales[-1])):
                view.logit_scale.value = scale
                assert "Cannot draw" not in view.caption.value, view.caption.value


def test_numerics_explorer_rejects_bad_settings():
    with pytest.raises(ValueError, match="dtype must be one of"):
        widgets.numerics_explorer(dtype="int8")
    with pytest.raises(ValueError, match="fill must be one of"):
        widgets.numerics_explorer(fill="-1e9")
    with pytest.raises(ValueError, match="logit_scale must be a number in"):
        widgets.numerics_explorer(logit_scale=0.0)
    with pytest.raises(ValueError, match=r"window_index=9 is outside the explorer's range \[0, 8\]"):
        widgets.numerics_explorer(window_index=9)
    with pytest.raises(ValueError, match=r"head=2 is outside the explorer's range \[0, 1\]"):
        widgets.numerics_explorer(head=2)
    with pytest.raises(TypeError, match="head must be an int, got bool True"):
        widgets.numerics_explorer(head=True)
    with pytest.raises(TypeError, match="logit_scale must be a number in"):
        widgets.numerics_explorer(logit_scale="1")
