"""The figures carry the right numbers, in the right cells, and refuse tensors they cannot draw."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import as_text, cell_texts, tick_labels
from matplotlib.colors import to_rgba

from swin_viz import (
    attention_mask,
    cyclic_shift,
    label_difference,
    masked_window_softmax,
    region_labels,
    token_origins,
    window_labels,
    window_partition,
)
from swin_viz import figures
from swin_viz.figures import GAP, REGION_COLOURS, LabFigure
from swin_viz.figures._canvas import fast_png, new_figure, set_title
from swin_viz.figures._text import CellNumbers, TickLabels
from swin_viz.figures._pool import drawn_cells

H = W = 9
M, S = 3, 1
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def example():
    x = torch.arange(H * W).view(H, W)
    mask_windows = window_labels(H, W, M, S)
    return {
        "x": x,
        "shifted_x": cyclic_shift(x, S),
        "labels": region_labels(H, W, M, S),
        "mask_windows": mask_windows,
        "difference": label_difference(mask_windows),
        "mask": attention_mask(H, W, M, S),
    }


def test_lab_figure_shows_as_png_only(monkeypatch, example):
    shown = []
    monkeypatch.setattr("IPython.display.display", lambda obj, raw=False: shown.append((obj, raw)))
    fig = figures.plot_region_labels(example["labels"], M, S)
    assert isinstance(fig, LabFigure)
    fig._ipython_display_()
    (bundle, raw), = shown
    assert raw is True
    assert set(bundle) == {"image/png"}
    assert bundle["image/png"].startswith(PNG_MAGIC)


def test_region_colours_are_fixed_per_label():
    colours = figures.region_colours(torch.tensor([[0, 8], [4, 0]]))
    assert colours.shape == (2, 2, 4)
    assert np.allclose(colours[0, 0], to_rgba(REGION_COLOURS[0]))
    assert np.allclose(colours[1, 1], colours[0, 0])
    assert np.allclose(colours[0, 1], to_rgba(REGION_COLOURS[8]))
    with pytest.raises(ValueError, match=r"labels must lie in 0\.\.8"):
        figures.region_colours(torch.tensor([9]))


def test_cyclic_shift_cells_show_original_coordinates(example):
    fig = figures.plot_cyclic_shift(example["x"], example["shifted_x"], example["labels"], S)
    before, after = fig.axes
    before_text = cell_texts(before, H, W)
    after_text = cell_texts(after, H, W)
    assert before_text[0][0] == "0,0" and before_text[8][8] == "8,8"
    # the roll carried the top-left token to the bottom-right corner, and row 0 to row 8
    assert after_text[8][8] == "0,0"
    assert after_text[0][0] == "1,1"
    assert after_text[8][:8] == [f"0,{c}" for c in range(1, 9)]
    assert after.get_title().startswith("torch.roll(x, shifts=(-1, -1))")
    assert _line_positions(before, "h") == [] and _line_positions(after, "v") == [], "no borders without a window"
    # each token keeps its colour: the image of the rolled map is the rolled image of the original
    before_rgba = drawn_cells(before)[0]
    after_rgba = drawn_cells(after)[0]
    assert np.allclose(np.roll(before_rgba, (-1, -1), axis=(0, 1)), after_rgba)


def _line_positions(ax, kind):
    """Positions of the thick black (window border) lines of a grid: rows for "h", columns for "v"."""
    positions = set()
    for collection in ax.collections:
        if collection.get_linewidth()[0] != 2.0:
            continue
        for segment in collection.get_segments():
            (x0, y0), (x1, y1) = segment
            if kind == "h" and y0 == y1:
                positions.add(y0 + 0.5)
            if kind == "v" and x0 == x1:
                positions.add(x0 + 0.5)
    return sorted(positions)


def test_cyclic_shift_draws_the_shifted_windows_on_the_original(example):
    fig = figures.plot_cyclic_shift(example["x"], example["shifted_x"], example["labels"], S, window=M)
    before, after = fig.axes
    # the regular windows of the rolled map are the windows offset by s of the original one
    assert _line_positions(after, "h") == [0, 3, 6, 9]
    assert _line_positions(before, "h") == [0, 1, 4, 7, 9]
    assert _line_positions(before, "v") == [0, 1, 4, 7, 9]


def test_region_label_figure_carries_the_label_map_and_slices(example):
    fig = figures.plot_region_labels(example["labels"], M, S)
    ax = fig.axes[0]
    texts = cell_texts(ax, H, W)
    assert texts[0] == "0 0 0 0 0 0 1 1 2".split()
    assert texts[6] == "3 3 3 3 3 3 4 4 5".split()
    assert texts[8] == "6 6 6 6 6 6 7 7 8".split()
    assert texts == as_text(example["labels"])
    annotations = " ".join(t.get_text() for t in ax.texts)
    assert "h_slices[0] = slice(0, -3)\nrows 0–5" in annotations
    assert "h_slices[1] = slice(-3, -1)\nrows 6–7" in annotations
    assert "h_slices[2] = slice(-1, None)\nrow 8" in annotations
    assert "w_slices[2] = slice(-1, None)\ncol 8" in annotations


def test_window_partition_figure_draws_each_window_in_order(example):
    windows = window_partition(example["labels"].view(1, H, W, 1), M)
    fig = figures.plot_window_partition(windows, H, W)
    ax = fig.axes[0]
    for k in range(9):
        a, b = divmod(k, 3)
        origin = (b * (M + GAP), a * (M + GAP))
        assert cell_texts(ax, M, M, origin) == as_text(windows[k, :, :, 0])
    assert cell_texts(ax, M, M, (2 * (M + GAP), 2 * (M + GAP))) == [["4", "4", "5"], ["4", "4", "5"], ["7", "7", "8"]]
    titles = [t.get_text() for t in ax.texts if t.get_text().startswith("#")]
    assert titles == [f"#{k}" for k in range(9)]


def test_window_rows_figure_flags_the_windows_that_need_a_mask(example):
    fig = figures.plot_window_rows(example["mask_windows"], highlight=8)
    ax = fig.axes[0]
    texts = cell_texts(ax, 9, 9)
    assert texts[8] == ["4", "4", "5", "4", "4", "5", "7", "7", "8"]
    flags = [t.get_text().strip() for t in ax.texts if t.get_text().strip() in ("needs mask", "one region")]
    assert [k for k, flag in enumerate(flags) if flag == "needs mask"] == [2, 5, 6, 7, 8]


def test_broadcast_operands_repeat_the_row_and_the_column(example):
    row = example["mask_windows"][8]
    fig = figures.plot_broadcast_operands(row)
    left, right = fig.axes
    labels = [str(int(v)) for v in row]
    assert cell_texts(left, 9, 9) == [labels] * 9
    assert cell_texts(right, 9, 9) == [[label] * 9 for label in labels]
    # only the stored row (left) and column (right) are drawn solid (cells hold uint8 RGBA)
    left_alpha = drawn_cells(left)[0][..., 3] / 255
    right_alpha = drawn_cells(right)[0][..., 3] / 255
    assert np.allclose(left_alpha[0, :], 1.0) and np.allclose(right_alpha[:, 0], 1.0)
    assert np.allclose(left_alpha[1:, :], 0.35, atol=1 / 255) and np.allclose(right_alpha[:, 1:], 0.35, atol=1 / 255)


def test_difference_and_mask_figure_carry_figure_six(example):
    fig = figures.plot_label_difference(example["difference"][8], example["mask"][8], example["mask_windows"][8])
    left, right = fig.axes
    difference = cell_texts(left, 9, 9)
    assert difference[0] == "0 0 1 0 0 1 3 3 4".split()
    assert difference[2] == "-1 -1 0 -1 -1 0 2 2 3".split()
    assert difference[8] == "-4 -4 -3 -4 -4 -3 -1 -1 0".split()
    mask = cell_texts(right, 9, 9)
    for i in range(9):
        for j in range(9):
            assert mask[i][j] == ("0" if difference[i][j] == "0" else "-100")
    _assert_zero_non_zero_colours(left, example["difference"][8])
    # the mask panel shows the same two colours in the same cells: masked_fill only renames them
    assert np.array_equal(drawn_cells(left)[0], drawn_cells(right)[0])
    _assert_difference_key(fig)


def _pooled(ax, gid):
    """The artist a figure pooled under ``gid`` in ``ax``."""
    (artist,) = [a for a in ax.get_children() if a.get_gid() == gid]
    return artist


def _assert_zero_non_zero_colours(ax, difference):
    """A label difference drawn in exactly two colours, by zero / non-zero only (not by sign or size)."""
    image = drawn_cells(ax)[0][..., :3].reshape(-1, 3)
    assert len(np.unique(image, axis=0)) == 2
    expected = np.array([to_rgba(figures.FORBIDDEN_COLOUR), to_rgba(figures.ALLOWED_COLOUR)])[:, :3]
    expected = np.round(255 * expected[(difference == 0).flatten().numpy().astype(int)])
    assert np.array_equal(image, expected)


def _assert_difference_key(fig):
    (legend,) = fig.legends
    texts = [t.get_text() for t in legend.get_texts()]
    assert texts[0].startswith("0: same region → attend") and texts[1].startswith("≠ 0: different regions → masked")


def test_window_masks_figure_counts_masked_pairs(example):
    fig = figures.plot_window_masks(example["mask"], 3)
    notes = [t.get_text() for t in fig.axes[0].texts]
    assert notes[:2] == ["#0: none", "#1: none"]
    assert notes[2] == f"#2: {int((example['mask'][2] != 0).sum())} masked"
    assert [n.split(":")[0] for n in notes if "masked" in n] == ["#2", "#5", "#6", "#7", "#8"]
    # window 8 holds regions of 4, 2, 2 and 1 tokens: 81 - (16 + 4 + 4 + 1) = 56 forbidden pairs
    assert notes[8] == "#8: 56 masked"


def test_leak_figure_reports_weight_across_the_seam(example):
    equal_scores = torch.zeros(9, 1, 9, 9)
    unmasked = masked_window_softmax(equal_scores, None)[8, 0, 8]
    masked = masked_window_softmax(equal_scores, example["mask"])[8, 0, 8]
    origins = token_origins(H, W, M, S)[8]
    fig = figures.plot_leak(origins, example["mask_windows"][8], unmasked, masked, 8, H, W)
    grid_ax, bar_ax = fig.axes
    # the query (token 8) sat at (0, 0); its window-mates sit at the far edges of the original map
    texts = cell_texts(grid_ax, H, W)
    assert texts[0][0] == "q\n.11"
    assert texts[8][8] == ".11" and texts[7][0] == ".11" and texts[4][4] == ""
    assert "0.889 → 3.0e-43" in bar_ax.get_title()
    # the bars use house colours, none of them a region's; red (the leak) exactly on the keys of other regions
    region = {tuple(np.round(to_rgba(c), 6)) for c in REGION_COLOURS}
    bars = [a for a in bar_ax.collections if str(a.get_gid()).startswith("bars/")]
    assert len(bars) == 3
    assert all(tuple(np.round(face, 6)) not in region for bar in bars for face in bar.get_facecolor())
    leak = _pooled(bar_ax, "bars/unmasked/other")
    assert np.allclose(leak.get_facecolor()[0], to_rgba(figures.SEAM_COLOUR))
    assert len(leak.get_paths()) == int((example["mask"][8][8] != 0).sum()) == 8
    assert [t.get_text() for t in bar_ax.get_legend().get_texts()] == [text for _, text in figures.LEAK_KEY]


def test_qk_figures_pair_query_i_with_key_j(example):
    row, difference = example["mask_windows"][8], example["difference"][8]
    fig = figures.plot_qk_alignment(row, difference)
    qk_ax, difference_ax = fig.axes
    texts = cell_texts(qk_ax, 9, 9)
    assert texts[0][1] == "q0·k1" and texts[2][5] == "q2·k5" and texts[8][8] == "q8·k8"
    # beside it, the label difference of walkthrough figure 6, in its two colours: the same (i, j) in both panels
    assert cell_texts(difference_ax, 9, 9) == as_text(difference)
    assert cell_texts(difference_ax, 9, 9)[8] == ["-4", "-4", "-3", "-4", "-4", "-3", "-1", "-1", "0"]
    _assert_zero_non_zero_colours(difference_ax, difference)
    _assert_difference_key(fig)
    assert tick_labels(qk_ax, "y") == tick_labels(difference_ax, "y") and tick_labels(qk_ax, "x")[0][1] == "j=0\n(4)"
    sequences = figures.plot_qk_sequences(row)
    q_ax, k_ax = sequences.axes[:2]
    assert cell_texts(q_ax, 9, 1)[2] == ["q2\n(5)"]
    assert cell_texts(k_ax, 1, 9)[0][6] == "k6\n(7)"
    # the cells name their tokens: no tick labels on any panel (a grid with nothing around it is laid out too)
    assert all(tick_labels(ax, axis) == [] for ax in sequences.axes for axis in "xy")
    assert sequences.to_png().startswith(PNG_MAGIC)
    # the q_i·k_j labels of both figures are drawn at 10 px or more (they were 7.7 and 8.5 px), never below 7
    for figure, ax in ((fig, qk_ax), (sequences, sequences.axes[2])):
        figure.to_png()
        (numbers,) = [a for a in ax.artists if isinstance(a, CellNumbers)]
        assert numbers.drawn_px is not None and numbers.drawn_px >= 10.0


def test_attention_weights_figure_prints_rounded_weights(example):
    torch.manual_seed(0)
    scores = torch.randn(9, 1, 9, 9)
    weights = masked_window_softmax(scores, example["mask"])[8, 0]
    fig = figures.plot_attention_weights(weights, example["mask_windows"][8])
    texts = cell_texts(fig.axes[0], 9, 9)
    assert texts[8] == ["0"] * 8 + ["1.00"]  # token 8 is alone in its region
    assert texts[6][8] == "0"
    expected = f"{float(weights[6, 6]):.2f}".lstrip("0")
    assert texts[6][6] == expected
    assert "random" not in fig.axes[0].get_title()  # scores of unknown origin: the title claims nothing about them
    unmasked = masked_window_softmax(scores, None)[8, 0]
    seeded = figures.plot_attention_weights(weights, example["mask_windows"][8], unmasked=unmasked, seed=0)
    assert [ax.get_title() for ax in seeded.axes] == [
        "softmax(Q·Kᵀ), no mask, random scores (seed 0)", "softmax(Q·Kᵀ + mask), random scores (seed 0)"
    ]
    with pytest.raises(TypeError, match="seed"):
        figures.plot_attention_weights(weights, example["mask_windows"][8], seed=0.5)


def test_linear_figure_shows_q_k_v_blocks(example):
    torch.manual_seed(0)
    x = torch.randn(9, 2)
    qkv = torch.nn.Linear(2, 6)(x).detach()
    fig = figures.plot_linear_token_order(x, qkv, example["mask_windows"][8])
    left, right = fig.axes
    assert cell_texts(left, 9, 2)[3] == [f"{float(v):.2f}".replace("-0.00", "0.00") for v in x[3]]
    assert [t.get_text() for t in right.texts if t.get_text() in ("q", "k", "v")] == ["q", "k", "v"]


def test_linear_figure_with_one_channel_as_the_walkthrough_draws_it(example):
    torch.manual_seed(0)
    x = torch.randn(9, 1)
    qkv = torch.nn.Linear(1, 3)(x).detach()
    fig = figures.plot_linear_token_order(x, qkv, example["mask_windows"][8])
    left, right = fig.axes
    assert cell_texts(left, 9, 1)[4] == [f"{float(x[4, 0]):.2f}"]
    assert cell_texts(right, 9, 3)[4] == [f"{float(v):.2f}".replace("-0.00", "0.00") for v in qkv[4]]
    fig.to_png()
    # the suptitle fits in the figure (a C = 1 figure was narrower than its title)
    box = fig.lab_suptitle.get_window_extent()
    assert box.x0 >= 0 and box.x1 <= fig.bbox.width


def test_pipeline_has_the_five_stages(example):
    weights = masked_window_softmax(torch.zeros(9, 1, 9, 9), example["mask"])[8, 0]
    fig = figures.plot_pipeline(
        example["shifted_x"], example["labels"], example["mask_windows"], example["mask"][8], weights, M, S, 8
    )
    titles = [ax.get_title() for ax in fig.axes if ax.get_title()]
    assert [t.split(".")[0] for t in titles] == ["1", "2", "3", "4", "5"]
    note = " ".join(t.get_text() for ax in fig.axes for t in ax.texts if "nW =" in t.get_text())
    assert "nW = 9 windows of N = 9 tokens" in note and "holds labels [4, 5, 7, 8]" in note
    assert cell_texts(fig.axes[1], H, W) == as_text(example["labels"])
    assert fig.to_png().startswith(PNG_MAGIC)
    assert "random" not in titles[4]
    seeded = figures.plot_pipeline(
        example["shifted_x"], example["labels"], example["mask_windows"], example["mask"][8], weights, M, S, 8, seed=3
    )
    assert "5. softmax(Q·Kᵀ + mask), random scores (seed 3)" in [ax.get_title().split("\n")[0] for ax in seeded.axes]


def test_large_maps_are_drawn_without_numbers():
    labels = region_labels(56, 56, 7, 3)
    fig = figures.plot_region_labels(labels, 7, 3)
    assert cell_texts(fig.axes[0], 56, 56) == [[""] * 56] * 56


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda: figures.plot_region_labels(torch.zeros(9), 3, 1), ValueError, "labels must be 2-D"),
        (lambda: figures.plot_region_labels([[0]], 3, 1), TypeError, "labels must be a torch.Tensor"),
        (lambda: figures.plot_broadcast_operands(torch.zeros(3, 3)), ValueError, r"labels must be 1-D \[N\]"),
        (
            lambda: figures.plot_label_difference(torch.zeros(9, 9), torch.zeros(4, 4), torch.zeros(9, dtype=torch.long)),
            ValueError,
            r"difference and mask must be \[N, N\] with N=9",
        ),
        (
            lambda: figures.plot_window_partition(torch.zeros(9, 3, 3), 9, 12),
            ValueError,
            "9 windows of 3x3 do not tile a 9x12 map",
        ),
        (lambda: figures.plot_window_masks(torch.zeros(9, 9, 9), 4), ValueError, "windows_per_row=4 must be a positive int that divides nW=9"),
        (
            lambda: figures.plot_cyclic_shift(torch.zeros(9, 9), torch.zeros(9, 9), torch.zeros(8, 9, dtype=torch.long), 1),
            ValueError,
            "x, shifted_x and labels must have the same",
        ),
        (
            lambda: figures.plot_leak(
                torch.zeros(9, 2, dtype=torch.long), torch.zeros(9, dtype=torch.long), torch.zeros(9), torch.zeros(9), 9, 9, 9
            ),
            ValueError,
            r"query must be an int in \[0, 9\)",
        ),
        (
            lambda: figures.plot_qk_alignment(torch.zeros(9, dtype=torch.long), torch.zeros(3, 3)),
            ValueError,
            r"difference must be \[N, N\] with N=9",
        ),
    ],
)
def test_bad_arguments_are_named(call, error, match):
    with pytest.raises(error, match=match):
        call()


# --------------------------------------------------------------------------- #
# Redrawing into an existing figure (retained mode)                           #
# --------------------------------------------------------------------------- #
def test_redrawing_a_smaller_grid_leaves_no_stale_numbers():
    fig = figures.plot_region_labels(region_labels(9, 9, 3, 1), 3, 1)
    ax = fig.axes[0]
    assert figures.plot_region_labels(region_labels(6, 6, 3, 2), 3, 2, figure=fig) is fig
    assert fig.axes == [ax]  # same axes, same figure
    assert cell_texts(ax, 9, 9) == [row + [""] * 3 for row in as_text(region_labels(6, 6, 3, 2))] + [[""] * 9] * 3
    fresh = figures.plot_region_labels(region_labels(6, 6, 3, 2), 3, 2).axes[0]
    assert sorted(t.get_text() for t in ax.texts) == sorted(t.get_text() for t in fresh.texts)
    assert drawn_cells(ax)[0].shape == (6, 6, 4)  # one grid of cells, 6 x 6


def test_a_figure_redrawn_back_and_forth_holds_the_same_artists(example):
    windows = window_partition(example["labels"].view(1, H, W, 1), M)
    big = window_partition(region_labels(56, 56, 7, 3).view(1, 56, 56, 1), 7)
    fig = figures.plot_window_partition(windows, H, W)
    counts = [len(ax.get_children()) for ax in fig.axes]
    for _ in range(3):
        figures.plot_window_partition(big, 56, 56, figure=fig)
        figures.plot_window_partition(windows, H, W, figure=fig)
    assert [len(ax.get_children()) for ax in fig.axes] == counts
    assert cell_texts(fig.axes[0], M, M, (2 * (M + GAP), 2 * (M + GAP))) == [["4", "4", "5"], ["4", "4", "5"], ["7", "7", "8"]]


def test_a_figure_of_another_kind_is_rebuilt(example):
    fig = figures.plot_cyclic_shift(example["x"], example["shifted_x"], example["labels"], S, window=M)
    assert len(fig.axes) == 2
    again = figures.plot_region_labels(example["labels"], M, S, figure=fig)
    assert again is fig and len(fig.axes) == 1
    assert cell_texts(fig.axes[0], H, W) == as_text(example["labels"])
    assert np.array_equal(fig.to_png(), figures.plot_region_labels(example["labels"], M, S).to_png())


def test_only_lab_figures_can_be_redrawn(example):
    from matplotlib.figure import Figure

    with pytest.raises(TypeError, match="figure must be a LabFigure returned by a plot_\\* function, got Figure"):
        figures.plot_region_labels(example["labels"], M, S, figure=Figure())


def test_large_grids_are_ticked_on_the_window_borders():
    fig = figures.plot_region_labels(region_labels(56, 56, 7, 3), 7, 3)
    ax = fig.axes[0]
    assert tick_labels(ax, "x") == [(c, str(c)) for c in range(0, 56, 7)] == tick_labels(ax, "y")
    assert not ax.get_xticks().size and not ax.get_yticks().size  # matplotlib's own ticks are off
    # an [N, N] grid with N = M * M is ticked on each row of the window; mask_windows [64, 49] every 10 windows
    mask = attention_mask(56, 56, 7, 3)
    mask_windows = window_labels(56, 56, 7, 3)
    fig = figures.plot_label_difference(label_difference(mask_windows)[63], mask[63], mask_windows[63])
    assert [p for p, _ in tick_labels(fig.axes[1], "x")] == list(range(0, 49, 7))
    rows = figures.plot_window_rows(mask_windows).axes[0]
    assert [p for p, _ in tick_labels(rows, "y")] == list(range(0, 64, 10))
    assert [p for p, _ in tick_labels(rows, "x")] == list(range(0, 49, 5))
    assert max(len(tick_labels(ax, "x")) for ax in (rows, fig.axes[0])) <= figures.MAX_TICKS


def test_many_window_masks_note_only_the_masked_ones():
    mask = attention_mask(56, 56, 7, 3)
    fig = figures.plot_window_masks(mask, 8)
    notes = {t.get_text().split(":")[0]: t.get_text() for t in fig.axes[0].texts}
    masked = [k for k in range(64) if bool((mask[k] != 0).any())]
    assert masked == [*range(7, 56, 8), *range(56, 64)]
    assert sorted(notes) == sorted(f"#{k}" for k in masked)
    assert notes["#63"] == f"#63: {int((mask[63] != 0).sum())} masked"
    assert "no note: nothing masked" in fig.axes[0].get_title()


def test_fast_png_is_a_png_of_the_same_pixels():
    import io

    from PIL import Image

    rng = np.random.default_rng(0)
    for channels, mode in ((3, "RGB"), (4, "RGBA")):
        pixels = rng.integers(0, 256, size=(7, 5, channels), dtype=np.uint8)
        png = fast_png(pixels)
        assert png.startswith(PNG_MAGIC)
        decoded = Image.open(io.BytesIO(png))
        assert decoded.mode == mode and decoded.size == (5, 7)
        assert np.array_equal(np.asarray(decoded), pixels)
    with pytest.raises(ValueError, match=r"pixels must be \[H, W, 3\] or \[H, W, 4\] uint8, got float64 \(2, 2, 4\)"):
        fast_png(np.zeros((2, 2, 4)))


def test_an_explorer_png_shows_the_figure_pixels(example):
    import io

    from PIL import Image

    fig = figures.plot_region_labels(example["labels"], M, S)
    fast, plain = fig.to_png(compress_level=1), fig.to_png(compress_level=6)
    assert fast != plain
    decoded = [np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")) for png in (fast, plain)]
    assert np.array_equal(*decoded)


def test_a_see_through_figure_keeps_its_alpha_at_explorer_compression(example):
    import io

    from PIL import Image

    fig = figures.plot_region_labels(example["labels"], M, S)
    fig.patch.set_alpha(0.0)
    fast, plain = fig.to_png(compress_level=1), fig.to_png(compress_level=6)
    decoded = [np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")) for png in (fast, plain)]
    assert decoded[0][..., 3].min() < 255
    assert np.array_equal(*decoded)


def test_vector_output_carries_the_grid_labels(example):
    """An SVG keeps ordinary texts as text and draws a grid's numbers and tick labels as outlines, all of them
    (a vector picture has no pixels: the smallest-size rule is for raster output only)."""
    import io

    import matplotlib

    fig = figures.plot_region_labels(example["labels"], M, S)
    buffer = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none"}):
        fig.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    assert svg.count(">h_slices[0] = slice(0, -3)") == 1
    numbers = next(a for a in fig.axes[0].artists if isinstance(a, CellNumbers))
    ticks = next(a for a in fig.axes[0].artists if isinstance(a, TickLabels))
    assert numbers.drawn_px is not None and ticks.drawn_px is not None
    # an outline per cell number, tick label and axis label, besides the lines' and the image's paths
    assert svg.count("<path") >= H * W + H + W + 2


def test_a_grid_with_its_axis_off_shows_no_labels(example):
    """``ax.set_axis_off()`` hides a grid's tick and axis labels (one artist), as it hides matplotlib's ticks."""
    import io

    import matplotlib

    fig = figures.plot_region_labels(example["labels"], M, S)
    ticks = next(a for a in fig.axes[0].artists if isinstance(a, TickLabels))
    renderer = fig.canvas.get_renderer()
    assert ticks.get_tightbbox(renderer) is not None
    fig.canvas.draw()
    assert ticks.drawn_px is not None
    fig.axes[0].set_axis_off()
    assert ticks.get_tightbbox(renderer) is None
    fig.canvas.draw()
    assert ticks.drawn_px is None


def test_pad_order_panels_with_nothing_to_count_say_why():
    from swin_viz.block import pair_relation
    from swin_viz.tensors import padded_size

    height, width, window, shift = 11, 8, 3, 1
    height_p, width_p = padded_size(height, width, window)
    ids = torch.arange(height * width).view(height, width)

    def pad(tokens):
        padded = torch.full((height_p, width_p), -1, dtype=torch.long)
        padded[:height, :width] = tokens
        return padded

    labels = region_labels(height, width, window, shift, pad=True)
    notes = {}
    for order, token_ids in (("pad-then-roll", cyclic_shift(pad(ids), shift)), ("roll-then-pad", pad(cyclic_shift(ids, shift)))):
        relation = pair_relation(height, width, window, shift, order=order)
        leaked = (relation.allowed & ~relation.genuine).sum(1).view(height, width)
        blocked = (relation.genuine & ~relation.allowed).sum(1).view(height, width)
        fig = figures.plot_pad_order(token_ids, labels, leaked, blocked, window, order=order)
        fig.to_png()
        notes[order] = [[t.get_text() for t in ax.texts] for ax in fig.axes[1:]]
        assert [int(leaked.sum()), int(blocked.sum())] == ([0, 0] if order == "pad-then-roll" else [102, 0])
    # pad-then-roll: both count panels are blank, and each says why; roll-then-pad leaks, so only "blocked" is blank
    assert notes["pad-then-roll"] == [[figures.EMPTY_NOTES["leaked"]], [figures.EMPTY_NOTES["blocked"]]]
    assert notes["roll-then-pad"] == [[], [figures.EMPTY_NOTES["blocked"]]]
    # a panel one cell wide has no room for the note: a short "none", at no less than the smallest size
    one = torch.zeros(11, 1, dtype=torch.long)
    fig = figures.plot_pad_order(torch.zeros(12, 3, dtype=torch.long), torch.zeros(12, 3, dtype=torch.long), one, one, 3,
                                 order="pad-then-roll")
    for ax in fig.axes[1:]:
        (note,) = ax.texts
        assert note.get_text() == "none" and note.get_fontsize() >= figures.MIN_TEXT_PX * 72 / figures.DPI


def test_float32_curve_is_drawn_above_float64_and_marked():
    from matplotlib.lines import Line2D

    scales = torch.logspace(-1, 2, 13, dtype=torch.float64)
    leak = torch.exp(-100.0 / scales)  # the same values in both dtypes: the curves coincide
    fig = figures.plot_suppression_curve(scales, {"float64": leak, "float32": leak.clone()}, fill=-100.0)
    ax = fig.axes[0]
    wide, thin = _pooled(ax, "curve/float64"), _pooled(ax, "curve/float32")
    assert thin.get_zorder() > wide.get_zorder()
    assert thin.get_linestyle() != wide.get_linestyle() and thin.get_linewidth()[0] < wide.get_linewidth()[0]
    marks = _pooled(ax, "marks/float32")
    assert isinstance(marks, Line2D) and marks.get_marker() == "o" and marks.get_zorder() > wide.get_zorder()
    assert np.allclose(marks.get_xdata(), np.log10(scales.numpy())[:: figures.MARK_EVERY])
    handles = ax.get_legend().legend_handles
    assert [h.get_label() for h in handles] == ["float64", "float32"]
    assert [h.get_linestyle() for h in handles] == ["-", "--"] and handles[1].get_marker() == "o"


@pytest.mark.parametrize("chrome", [True, False])
@pytest.mark.parametrize("text", ["window 8", "softmax(Q·Kᵀ + mask)\nwindow 8"])
def test_titles_are_drawn_from_outlines_where_matplotlib_measures_them(text, chrome):
    """A title is drawn from its outline (in the chrome's pass or the data's), inside the box matplotlib's layout
    reserved for it: a two-line title stacks upwards from the baseline, as matplotlib places it."""
    fig = new_figure(4.0, 3.0)
    ax = fig.subplots()
    ax.set_axis_off()
    set_title(ax, text, chrome=chrome, fontsize=12)
    fig.canvas.draw()
    pixels = np.asarray(fig.canvas.buffer_rgba())[..., :3]
    assert ax.title.get_visible()  # hidden from matplotlib's own drawing only while the figure draws
    box = ax.title.get_window_extent(fig.canvas.get_renderer())
    ink_rows, ink_cols = np.nonzero((pixels < 128).any(axis=-1))
    height = pixels.shape[0]
    # the ink, in display coordinates (y up), lies within matplotlib's box of the title, give or take 2 pixels
    assert ink_rows.size > 0
    assert box.x0 - 2 <= ink_cols.min() and ink_cols.max() <= box.x1 + 2
    assert box.y0 - 2 <= height - 1 - ink_rows.max() and height - 1 - ink_rows.min() <= box.y1 + 2
    # and fills most of it: both lines are drawn
    assert (ink_rows.max() - ink_rows.min()) >= 0.6 * box.height
