"""Figures of ``notebooks/00_overview.ipynb``: every stage on one page."""

from __future__ import annotations

import torch

from swin_viz.figures._canvas import LabFigure, set_title
from swin_viz.figures._grid import as_2d
from swin_viz.figures._pool import boxes, frame, pooled_polygons, pooled_text
from swin_viz.figures._style import SEAM_COLOUR
from swin_viz.figures.broadcast_subtraction import draw_attention_mask
from swin_viz.figures.cyclic_shift import draw_cyclic_shift
from swin_viz.figures.masked_softmax import draw_attention_weights, scores_title
from swin_viz.figures.region_labels import draw_region_labels
from swin_viz.figures.window_partition import draw_window_rows
from swin_viz.tensors import as_pair

__all__ = ["plot_pipeline"]

def plot_pipeline(
    shifted_x: torch.Tensor,
    labels: torch.Tensor,
    mask_windows: torch.Tensor,
    mask: torch.Tensor,
    weights: torch.Tensor,
    window: int | tuple[int, int],
    shift: int | tuple[int, int],
    window_index: int,
    *,
    seed: int | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """The five stages in one row, for one window ``k``.

    Args:
        shifted_x: ``[H, W]`` token ids after ``cyclic_shift``.
        labels: ``[H, W]`` region labels.
        mask_windows: ``[nW, N]`` labels per window.
        mask: ``[N, N]`` window ``k``'s mask.
        weights: ``[N, N]`` window ``k``'s softmax weights.
        window, shift: the layout (window borders, bands).
        window_index: ``k``, outlined in the first three panels.
        seed: the seed the scores behind ``weights`` were drawn with, if they are random (``torch.randn``): the
            last panel's title says so (:func:`~swin_viz.figures.scores_title`); ``None`` for a real ``Q·Kᵀ``.
        figure: a figure this function returned before, to redraw in place.
    """
    labels = as_2d(labels, "labels")
    height, width = labels.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    k_row, k_col = divmod(window_index, width // window_hw[1])
    build = lambda fig: fig.subplot_mosaic([["roll", "labels", "rows"], ["mask", "weights", "note"]])  # noqa: E731
    with frame(figure, ("pipeline",), (15.0, 10.0), build) as (fig, panels):
        axes = [panels[name] for name in ("roll", "labels", "rows", "mask", "weights")]
        draw_cyclic_shift(axes[0], shifted_x, labels, width, seam=(height - shift_hw[0], width - shift_hw[1]),
                          title="1. torch.roll: each cell shows its original row,col", window=window_hw)
        draw_region_labels(axes[1], labels, window, shift, bands=False)
        set_title(axes[1], "2. region labels (img_mask)", fontsize=10)
        outline = boxes(k_col * window_hw[1] - 0.5, k_row * window_hw[0] - 0.5, window_hw[1], window_hw[0])
        for ax in axes[:2]:
            pooled_polygons(ax, "window", outline, edgecolor=SEAM_COLOUR, linewidth=3.5, zorder=6)
        draw_window_rows(axes[2], mask_windows, highlight=window_index)
        set_title(axes[2], "3. mask_windows: [nW, N]", fontsize=10)
        row = mask_windows[window_index]
        draw_attention_mask(axes[3], mask, row)
        set_title(axes[3], f"4. attn_mask[{window_index}]: [N, N]", fontsize=10, chrome=False)
        draw_attention_weights(axes[4], weights, row)
        set_title(axes[4], f"5. {scores_title('softmax(Q·Kᵀ + mask)', seed)}\nwindow {window_index}", fontsize=10, chrome=False)
        note = panels["note"]
        note.set_axis_off()
        n_windows, n_tokens = mask_windows.shape
        pooled_text(
            note, "note", 0.05, 0.5,
            f"H × W = {height} × {width}, window {window_hw[0]} × {window_hw[1]}, shift {shift_hw}\n"
            f"nW = {n_windows} windows of N = {n_tokens} tokens\n\n"
            f"window {window_index} (red outline) holds labels {sorted(set(row.tolist()))}:",
            fontsize=11, va="bottom", ha="left", transform=note.transAxes, in_layout=False,
        )
        pooled_text(
            note, "note/rule", 0.05, 0.5,
            "a query attends only to keys with its own label;\n"
            "every other pair gets -100 before the softmax.",
            fontsize=11, va="top", ha="left", transform=note.transAxes, in_layout=False, chrome=True,
        )
    return fig


