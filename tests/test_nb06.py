"""Notebook 06 (the full block): its figures draw the block's tensors, redraw in place, and its explorer never fails.

Independent sources of truth: the token coordinates of :func:`token_origins`
and the official region labels (what the trace figure must show), the
block's stages and :func:`leaked_attention` (what the leak figures must
show), and :func:`seam_neighbours` (which keys the explorer outlines).
"""

from __future__ import annotations

import io
import math

import matplotlib
import numpy as np
import pytest
import torch
from PIL import Image

from swin_viz import figures, widgets
from swin_viz.block import (
    WindowAttentionWeights,
    leaked_attention,
    relative_position_index,
    seam_neighbours,
    shifted_window_attention,
)
from swin_viz.figures.full_block import _leak_text
from swin_viz.figures import (
    GAP,
    plot_block_leak,
    plot_block_trace,
    plot_leaked_attention,
    plot_window_attention,
    region_colours,
)
from swin_viz.tensors import region_labels, reverse_cyclic_shift, token_origins, window_labels
from swin_viz.widgets import BLOCK_CHANNELS, BLOCK_HEADS, BLOCK_SEED, BlockLeakExplorer, block_leak_explorer
from swin_viz.figures._pool import drawn_cells

from helpers import cell_texts

H, W, M, S = 9, 9, 3, 1
C, HEADS = 4, 2


# --------------------------------------------------------------------------- #
# The running example, computed as notebook 06 computes it                    #
# --------------------------------------------------------------------------- #
def _example_input(height: int = H, width: int = W) -> torch.Tensor:
    return torch.randn(1, height, width, C, generator=torch.Generator().manual_seed(0), dtype=torch.float64)


@pytest.fixture(scope="module")
def block():
    weights = WindowAttentionWeights.random(C, HEADS, M, seed=0)
    x = _example_input()
    _, stages = shifted_window_attention(x, weights, HEADS, M, S, return_stages=True)
    _, stages_off = shifted_window_attention(x, weights, HEADS, M, S, use_mask=False, return_stages=True)
    leak_off = leaked_attention(x, weights, HEADS, M, S)[0]
    leak_on = leaked_attention(x, weights, HEADS, M, S, use_mask=True)[0]
    return {"weights": weights, "x": x, "stages": stages, "stages_off": stages_off, "leak_off": leak_off, "leak_on": leak_on}


@pytest.fixture(scope="module")
def trace():
    """The block run with pass-through weights on a map of token numbers, as in the notebook's section 1."""
    eye, zero = torch.eye(C, dtype=torch.float64), torch.zeros(C, C, dtype=torch.float64)
    table = torch.zeros((2 * M - 1) ** 2, HEADS, dtype=torch.float64)
    table[relative_position_index(M)[0, 0]] = 1e4
    pass_through = WindowAttentionWeights(
        qkv_weight=torch.cat([zero, zero, eye]), qkv_bias=torch.zeros(3 * C, dtype=torch.float64), proj_weight=eye,
        proj_bias=torch.zeros(C, dtype=torch.float64), relative_position_bias_table=table, window=M,
    )
    ids = torch.zeros(1, H, W, C, dtype=torch.float64)
    ids[..., 0] = torch.arange(H * W, dtype=torch.float64).view(H, W)
    _, stages = shifted_window_attention(ids, pass_through, HEADS, M, S, return_stages=True)

    def token_ids(name):
        tensor = stages[name][..., 0].round().long()
        return tensor.view(-1, M, M) if name in ("windows", "attended") else tensor[0]

    return {name: token_ids(name) for name in ("padded", "shifted", "windows", "attended", "reversed", "unshifted")}


def _pixels(fig: figures.LabFigure) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(fig.to_png())))


def _image_rgba(ax) -> np.ndarray:
    """The colour array ``[R, C, 4]`` of the (one) grid of cells of a panel, as floats in ``[0, 1]``."""
    return drawn_cells(ax)[0] / 255.0


def _same_colours(actual: np.ndarray, expected: np.ndarray) -> None:
    np.testing.assert_allclose(actual, expected, rtol=0, atol=0.5 / 255 + 1e-9)  # cells are stored as uint8


def _rc(token: int, width: int = W) -> str:
    return f"{token // width},{token % width}"


# --------------------------------------------------------------------------- #
# plot_block_trace                                                            #
# --------------------------------------------------------------------------- #
def _trace_figure(trace, figure=None):
    token_labels = reverse_cyclic_shift(region_labels(H, W, M, S), S)
    return plot_block_trace(trace["padded"], trace["shifted"], trace["windows"], trace["reversed"], trace["unshifted"],
                            token_labels, M, S, highlight=8, figure=figure)


def test_trace_maps_show_where_each_token_started(trace):
    fig = _trace_figure(trace)
    (x_ax, roll_ax, windows_ax), (back_ax, reverse_ax, note_ax) = np.asarray(fig.axes).reshape(2, 3)
    rows, cols = torch.meshgrid(torch.arange(H), torch.arange(W), indexing="ij")
    start = [[f"{r},{c}" for c in range(W)] for r in range(H)]
    rolled = [[f"{(r + S) % H},{(c + S) % W}" for c in range(W)] for r in range(H)]  # torch.roll by -s brings (r+s, c+s)
    assert cell_texts(x_ax, H, W) == start
    assert cell_texts(roll_ax, H, W) == rolled
    assert cell_texts(reverse_ax, H, W) == rolled  # window_reverse alone leaves the map rolled
    assert cell_texts(back_ax, H, W) == start  # the reverse roll puts every token back
    # the colours follow the tokens: a cell of the rolled map has the official label of that place
    labels = region_labels(H, W, M, S)
    _same_colours(_image_rgba(roll_ax), region_colours(labels))
    _same_colours(_image_rgba(x_ax), region_colours(reverse_cyclic_shift(labels, S)))
    assert "4. attention" in note_ax.texts[0].get_text() and "[9*B, 9, C]" in note_ax.texts[0].get_text()


def test_trace_windows_hold_the_tokens_token_origins_names(trace):
    fig = _trace_figure(trace)
    windows_ax = fig.axes[2]
    origins = token_origins(H, W, M, S)  # [nW, N, 2]
    for k in range(origins.shape[0]):
        a, b = divmod(k, W // M)
        texts = cell_texts(windows_ax, M, M, origin=(b * (M + GAP), a * (M + GAP)))
        expected = [[f"{r},{c}" for r, c in origins[k, row * M:(row + 1) * M].tolist()] for row in range(M)]
        assert texts == expected, k
    titles = [t.get_text() for t in windows_ax.texts if t.get_text().startswith("#")]
    assert titles == [f"#{k}" for k in range(9)]


def test_trace_redraw_into_the_retained_figure_is_the_same_picture(trace):
    fresh = _trace_figure(trace)
    other = {name: torch.flip(t, dims=(-1,)) for name, t in trace.items()}  # another picture first
    reused = _trace_figure(other)
    reused = _trace_figure(trace, figure=reused)
    np.testing.assert_array_equal(_pixels(reused), _pixels(fresh))


def test_trace_rejects_maps_of_the_wrong_shape(trace):
    token_labels = reverse_cyclic_shift(region_labels(H, W, M, S), S)
    with pytest.raises(ValueError, match="shifted must be"):
        plot_block_trace(trace["padded"], trace["shifted"][:, :6], trace["windows"], trace["reversed"], trace["unshifted"],
                         token_labels, M, S)
    with pytest.raises(ValueError, match="windows must be"):
        plot_block_trace(trace["padded"], trace["shifted"], trace["windows"][:4], trace["reversed"], trace["unshifted"],
                         token_labels, M, S)
    with pytest.raises(TypeError, match="integer token ids"):
        plot_block_trace(trace["padded"].double(), trace["shifted"], trace["windows"], trace["reversed"],
                         trace["unshifted"], token_labels, M, S)
    with pytest.raises(ValueError, match="token ids must lie in 0..80"):
        plot_block_trace(trace["padded"] + 1, trace["shifted"], trace["windows"], trace["reversed"], trace["unshifted"],
                         token_labels, M, S)


# --------------------------------------------------------------------------- #
# plot_window_attention                                                       #
# --------------------------------------------------------------------------- #
def _attention_figure(block, k=8, head=0, figure=None):
    stages = block["stages"]
    return plot_window_attention(stages["bias"][head], stages["scores"][k, head], stages["mask"][k],
                                 stages["weights"][k, head], window_labels(H, W, M, S)[k], window_index=k, head=head,
                                 figure=figure)


def test_window_attention_panels_carry_the_stage_tensors(block):
    fig = _attention_figure(block)
    bias_ax, scores_ax, mask_ax, weights_ax = fig.axes
    stages, n = block["stages"], M * M

    def one_decimal(t):
        return [[f"{v:.1f}".replace("-0.0", "0.0") for v in row] for row in t.tolist()]

    assert cell_texts(bias_ax, n, n) == one_decimal(stages["bias"][0])
    assert cell_texts(scores_ax, n, n) == one_decimal(stages["scores"][8, 0])
    assert cell_texts(mask_ax, n, n) == [["0" if v == 0 else "-100" for v in row] for row in stages["mask"][8].tolist()]
    weights_text = cell_texts(weights_ax, n, n)
    assert weights_text[8] == ["0"] * 8 + ["1.00"]  # the (0, 0) token is alone in its region: all weight on itself
    assert "window 8, head 0" in fig._suptitle.get_text()
    # one colour scale for bias and scores, saturated at the largest |score| of the window
    limit = float(stages["scores"][8, 0].abs().max())
    assert limit > float(stages["bias"][0].abs().max())
    norm = matplotlib.colors.TwoSlopeNorm(0.0, -limit, limit)
    for ax, values in ((bias_ax, stages["bias"][0]), (scores_ax, stages["scores"][8, 0])):
        _same_colours(_image_rgba(ax), matplotlib.colormaps["coolwarm"](norm(values.numpy())))


def test_window_attention_redraws_in_place(block):
    fresh = _attention_figure(block, k=8, head=1)
    reused = _attention_figure(block, k=2, head=0)
    reused = _attention_figure(block, k=8, head=1, figure=reused)
    np.testing.assert_array_equal(_pixels(reused), _pixels(fresh))


def test_window_attention_rejects_mismatched_shapes(block):
    stages = block["stages"]
    with pytest.raises(ValueError, match=r"mask must be \[N, N\] with N=9"):
        plot_window_attention(stages["bias"][0], stages["scores"][8, 0], stages["mask"][8][:4], stages["weights"][8, 0],
                              window_labels(H, W, M, S)[8])


# --------------------------------------------------------------------------- #
# plot_leaked_attention                                                       #
# --------------------------------------------------------------------------- #
def test_leak_text_formats():
    assert _leak_text(0.0) == "0"
    assert _leak_text(0.9947) == ".99"
    assert _leak_text(1.0) == "1.00"
    assert _leak_text(7.0e-42) == "7e-42"
    assert _leak_text(2.3e-3) == "2e-3"


def test_leaked_attention_figure_shows_both_maps(block):
    leak_off, leak_on = block["leak_off"], block["leak_on"]
    fig = plot_leaked_attention(leak_off[0], leak_on[0], M, S, head=0)
    left, right = fig.axes
    assert cell_texts(left, H, W) == [[_leak_text(v) for v in row] for row in leak_off[0].tolist()]
    assert cell_texts(right, H, W) == [[_leak_text(v) for v in row] for row in leak_on[0].tolist()]
    assert left.get_title().startswith("use_mask=False: 45 of 81 queries leak, largest .99")
    assert right.get_title().startswith("use_mask=True: 45 of 81 queries leak, largest 7e-42")
    # white where exactly zero, else Reds by the weight; with the mask, nothing darker than the palest red
    for ax, leak in ((left, leak_off[0]), (right, leak_on[0])):
        expected = matplotlib.colormaps["Reds"](leak.numpy() * 0.9)
        expected[leak.numpy() == 0] = matplotlib.colors.to_rgba("white")
        _same_colours(_image_rgba(ax), expected)
    assert _image_rgba(right)[..., :3].min() > 0.9 > 0.2 > _image_rgba(left)[..., :3].min()


def test_leaked_attention_redraws_in_place(block):
    leak_off, leak_on = block["leak_off"], block["leak_on"]
    fresh = plot_leaked_attention(leak_off[1], leak_on[1], M, S, head=1)
    reused = plot_leaked_attention(leak_off[0], leak_on[0], M, S, head=0)
    reused = plot_leaked_attention(leak_off[1], leak_on[1], M, S, head=1, figure=reused)
    np.testing.assert_array_equal(_pixels(reused), _pixels(fresh))


def test_leaked_attention_rejects_different_shapes(block):
    with pytest.raises(ValueError, match="same"):
        plot_leaked_attention(block["leak_off"][0], block["leak_on"][0][:, :6], M, S)


# --------------------------------------------------------------------------- #
# plot_block_leak and the explorer                                            #
# --------------------------------------------------------------------------- #
def test_block_leak_draws_the_query_weights_at_the_keys_places(block):
    k, i, head = 8, 8, 0
    origins = token_origins(H, W, M, S)[k]
    weights_row = block["stages_off"]["weights"][k, head, i]
    across = ~seam_neighbours(H, W, M, S)[k, i]
    fig = plot_block_leak(block["leak_off"][head], origins, weights_row, across, i, M, S, use_mask=False, head=head)
    left, right = fig.axes
    texts = cell_texts(right, H, W)
    for (r, c), weight in zip(origins.tolist(), weights_row.tolist(), strict=True):
        assert texts[r][c] == _leak_text(weight)
    assert sum(bool(t) for row in texts for t in row) == M * M  # nothing outside the query's window
    darkest = np.unravel_index(_image_rgba(right)[..., :3].sum(-1).argmin(), (H, W))
    assert tuple(int(v) for v in darkest) == tuple(origins[int(weights_row.argmax())].tolist()) == (7, 0)
    red_boxes = [c for c in right.collections if c.get_gid() == "across"][0]
    assert len(red_boxes.get_paths()) == int(across.sum()) == 8  # every other key of window 8 is across a seam
    assert right.get_title() == f"query (0, 0): weight across a seam (red boxes) {_leak_text(float(weights_row[across].sum()))}"
    assert left.get_title() == "mask off, head 0: 45 of 81 queries leak, largest .99"
    query_box = [c for c in left.collections if c.get_gid() == "query"][0]
    np.testing.assert_allclose(query_box.get_paths()[0].vertices.min(0), [-0.5, -0.5])
    assert fig._suptitle.get_text().startswith("Weight across a wrap seam")


def test_explorer_starts_on_the_notebook_example():
    view = block_leak_explorer()
    assert isinstance(view, BlockLeakExplorer)
    assert repr(view) == ("BlockLeakExplorer('6. The full block: what crosses a seam, mask on and off', "
                          "H=9, W=9, M=3, s=1, mask on, head 0, query (0, 0))")
    assert view.draw_count == 1 and "color:#d62728" not in view.caption.value
    assert "45 of 81 queries" in view.caption.value and "token 8 of window 8" in view.caption.value
    assert (BLOCK_CHANNELS, BLOCK_HEADS, BLOCK_SEED) == (C, HEADS, 0)


def _left_leak(view) -> torch.Tensor:
    """The leak the explorer drew, read back from the cell texts of its left panel (small maps)."""
    return cell_texts(view.figure.axes[0], view.height.value, view.width.value)


def test_mask_toggle_turns_a_zero_leak_into_a_positive_one():
    view = block_leak_explorer(shift=1, use_mask=True)
    with_mask = _image_rgba(view.figure.axes[0])[..., :3]
    assert with_mask.min() > 0.9  # every cell white or the palest red: (almost) nothing crosses a seam
    view.use_mask.value = False
    without = _image_rgba(view.figure.axes[0])[..., :3]
    assert without.min() < 0.5  # dark red cells: weight crosses the seams
    assert "mask off" in repr(view) and "45 of 81 queries" in view.caption.value
    assert _left_leak(view)[0][0] == ".99"
    # no shift: nothing is rolled, and nothing leaks with the mask off either
    view.shift.value = 0
    assert all(t == "0" for row in _left_leak(view) for t in row)
    assert "0 of 81 queries" in view.caption.value


def test_explorer_sliders_stay_valid_when_the_window_changes():
    view = block_leak_explorer(height=9, width=9, window=3, shift=2, query=(8, 8))
    view.window.value = 4
    assert (view.height.value, view.width.value) == (8, 8)  # rounded to multiples of the window
    assert view.shift.value == 2 and view.shift.max == 3
    assert (view.query_row.value, view.query_col.value) == (7, 7) and view.query_row.max == 7
    view.window.value = 2
    assert view.shift.value == 1 and view.height.step == 2 and view.height.max == 16
    assert "color:#d62728" not in view.caption.value


def test_every_reachable_position_draws_without_error():
    """The corners of the reachable settings: smallest and largest window, shift and map, the query at the far
    corner, both mask states and both heads (a few dozen redraws)."""
    view = block_leak_explorer()
    count = view.draw_count
    low, high = widgets.WINDOW_RANGE
    for window in (low, high):
        view.window.value = window
        for shift in sorted({0, window - 1}):
            view.shift.value = shift
            for size in (window, window * widgets.MAX_WINDOWS):
                view.height.value = size
                view.query_row.value = view.query_row.max
                view.query_col.value = view.query_col.max
                view.use_mask.value = not view.use_mask.value
                view.head.value = 1 - view.head.value
                assert "color:#d62728" not in view.caption.value, view.caption.value
                assert view.query_row.max == size - 1 and view.query_col.max == view.width.value - 1
    assert view.draw_count >= count + 25


def test_explorer_redraws_into_one_figure_and_matches_a_fresh_one():
    view = block_leak_explorer()
    figure = view.figure
    view.use_mask.value = False
    view.head.value = 1
    view.query_row.value = 4
    assert view.figure is figure
    fresh = block_leak_explorer(use_mask=False, head=1, query=(4, 0))
    np.testing.assert_array_equal(_pixels(view.figure), _pixels(fresh.figure))


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"window": 9, "height": 9, "width": 9}, ValueError, r"window=9 is outside the explorer's range \[2, 8\]"),
        ({"height": 10}, ValueError, r"height=10 must be a multiple of 3 in \[3, 24\]"),
        ({"height": 27}, ValueError, r"height=27 must be a multiple of 3 in \[3, 24\]"),
        ({"shift": 3}, ValueError, r"shift=3 is outside the explorer's range \[0, 2\]"),
        ({"head": 2}, ValueError, r"head must be one of \[0, 1\], got 2"),
        ({"head": 0.0}, TypeError, "head must be an int, got float"),
        ({"use_mask": 1}, TypeError, "use_mask must be True or False"),
        ({"query": (9, 0)}, ValueError, r"query_row=9 is outside the explorer's range \[0, 8\]"),
        ({"query": (0, 9)}, ValueError, r"query_col=9 is outside the explorer's range \[0, 8\]"),
        ({"query": 1.5}, TypeError, "query must be an int"),
        ({"query": (1, 2, 3)}, TypeError, r"query must be an int or an \(h, w\) pair of ints"),
    ],
)
def test_bad_starting_settings_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        block_leak_explorer(**kwargs)


def test_explorer_block_matches_the_package_on_a_larger_layout():
    """The cached run the explorer draws is the block itself: recompute one layout independently."""
    view = block_leak_explorer(height=12, width=8, window=4, shift=2, use_mask=False, head=1, query=(0, 7))
    weights = WindowAttentionWeights.random(C, HEADS, 4, seed=0)
    leak = leaked_attention(_example_input(12, 8), weights, HEADS, 4, 2)[0, 1]
    assert cell_texts(view.figure.axes[0], 12, 8) == [[_leak_text(v) for v in row] for row in leak.tolist()]
    largest = f"{float(leak.max()):.3g}"
    assert f"largest {largest}" in view.caption.value
    assert math.isclose(float(view.caption.value.split("puts ")[1].split(" ")[0]), float(leak[0, 7]), rel_tol=1e-2)
