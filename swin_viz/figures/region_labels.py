"""Figures of ``notebooks/02_region_labels.ipynb``: the region labels ``img_mask`` and the slices that make them (walkthrough figure 2)."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from swin_viz.figures._canvas import LabFigure, set_suptitle
from swin_viz.figures._grid import as_2d, draw_cells, finish_grid, labels_text, window_borders
from swin_viz.figures._pool import frame, pooled_bracket, pooled_text
from swin_viz.figures._style import annotated, region_colours
from swin_viz.tensors import as_pair, region_slices

__all__ = ["draw_region_labels", "plot_region_labels"]

def _bands(size: int, window: int, shift: int) -> list[tuple[int, int, str]]:
    """``(start, stop, text)`` for each slice of :func:`region_slices` along one dimension."""
    bands = []
    for band in region_slices(window, shift):
        start, stop, _ = band.indices(size)
        text = f"slice({band.start}, {band.stop})"
        bands.append((start, stop, text))
    return bands


def _span(noun: str, start: int, stop: int) -> str:
    return f"{noun} {start}" if stop - start == 1 else f"{noun}s {start}–{stop - 1}"


_BRACKET = {"arrowstyle": "|-|", "color": "#444444", "shrinkA": 0, "shrinkB": 0, "mutation_scale": 3}


def draw_region_labels(
    ax: Axes, labels: torch.Tensor, window: int | tuple[int, int], shift: int | tuple[int, int], *, bands: bool = True
) -> None:
    """Draw the region label map ``[H, W]`` with window borders and, if ``bands``, the h/w slices."""
    labels = as_2d(labels, "labels")
    height, width = labels.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    draw_cells(ax, region_colours(labels), labels_text(labels) if annotated(height, width) else None)
    window_borders(ax, height, width, window_hw)
    finish_grid(ax, height, width, every=window_hw)
    if not bands:
        return
    for k, (start, stop, text) in enumerate(_bands(height, window_hw[0], shift_hw[0])):
        pooled_bracket(ax, f"bands/h/{k}/bracket", (width - 0.2, start - 0.45), (width - 0.2, stop - 0.55), _BRACKET)
        pooled_text(ax, f"bands/h/{k}", width + 0.1, (start + stop - 1) / 2, f"h_slices[{k}] = {text}\n{_span('row', start, stop)}",
              va="center", ha="left", fontsize=8)
    for k, (start, stop, text) in enumerate(_bands(width, window_hw[1], shift_hw[1])):
        pooled_bracket(ax, f"bands/w/{k}/bracket", (start - 0.45, -0.8), (stop - 0.55, -0.8), _BRACKET)
        pooled_text(ax, f"bands/w/{k}", (start + stop - 1) / 2, -1.0, f"w_slices[{k}] = {text}\n{_span('col', start, stop)}",
              va="bottom", ha="center", rotation=90, fontsize=8)


def plot_region_labels(
    labels: torch.Tensor, window: int | tuple[int, int], shift: int | tuple[int, int], *, figure: LabFigure | None = None
) -> LabFigure:
    """The region label map of the rolled feature map, with its slice bands (walkthrough figure 2).

    Args:
        labels: ``[H, W]`` from ``region_labels``.
        window: ``M`` or ``(Mh, Mw)`` (thick lines are window borders).
        shift: ``s`` or ``(sh, sw)`` (the bands are ``region_slices(M, s)``).
        figure: a figure this function returned before, to redraw in place.
    """
    labels = as_2d(labels, "labels")
    height, width = labels.shape
    side = min(6.5, 2.0 + 0.45 * width)
    size = (side + 3.2, max(side * height / width + 1.6, 3.4))  # a flat map still has room for the w_slices notes
    with frame(figure, ("region_labels",), size, lambda fig: fig.subplots()) as (fig, ax):
        draw_region_labels(ax, labels, window, shift)
        set_suptitle(fig, "img_mask: one label (cnt) per region, cnt counting over (h_slices × w_slices)", fontsize=11)
    return fig


