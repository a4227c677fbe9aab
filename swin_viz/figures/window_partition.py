"""Figures of ``notebooks/03_window_partition.ipynb``: ``window_partition`` and the rows of ``mask_windows`` (walkthrough figures 3 and 4)."""

from __future__ import annotations

from typing import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes

from swin_viz.figures._canvas import LabFigure, set_title
from swin_viz.figures._grid import as_2d, draw_cells, draw_tiles, finish_grid, labels_text, per_row_of
from swin_viz.figures._pool import boxes, frame, pooled_polygons, pooled_text
from swin_viz.figures._style import (
    GOOD_COLOUR,
    MAX_ANNOTATED,
    MIN_FONT_POINTS,
    SEAM_COLOUR,
    annotated,
    fontsize_for,
    region_colours,
)

__all__ = ["GAP", "draw_window_partition", "draw_window_tiles", "plot_window_partition", "draw_window_rows", "plot_window_rows"]

#: Gap between the windows of :func:`draw_window_partition`, in cells.
GAP = 0.6


def draw_window_partition(ax: Axes, windows: torch.Tensor, windows_per_row: int, *, highlight: int | None = None) -> None:
    """Draw ``[nW, Mh, Mw]`` windows apart from each other, in ``window_partition`` order, each titled ``#k``."""
    if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
        raise ValueError(f"windows must be a [nW, Mh, Mw] tensor, got {getattr(windows, 'shape', type(windows).__name__)}")
    windows = windows.detach().cpu()
    n_windows, window_h, window_w = windows.shape
    windows_per_row = per_row_of(windows_per_row, "windows_per_row", n_windows)
    rows_of_windows = n_windows // windows_per_row
    annotate = max(window_h, window_w) * max(rows_of_windows, windows_per_row) <= MAX_ANNOTATED * 2
    size = fontsize_for(max(window_h * rows_of_windows, window_w * windows_per_row), 90)
    texts = [labels_text(w) for w in windows] if annotate else None
    draw_window_tiles(ax, region_colours(windows), windows_per_row, texts, size, highlight=highlight, titles=True)


def draw_window_tiles(
    ax: Axes,
    colours: np.ndarray,
    windows_per_row: int,
    texts: Sequence[Sequence[Sequence[str]]] | None,
    fontsize: float,
    *,
    highlight: int | None = None,
    titles: bool = True,
) -> None:
    """Draw ``[nW, Mh, Mw, 4]`` cell colours as windows :data:`GAP` cells apart, ``windows_per_row`` a row, each
    framed (``highlight`` in red), with its cells' ``texts`` and, if ``titles``, its number ``#k`` above it."""
    n_windows, window_h, window_w = colours.shape[:3]
    rows_of_windows = n_windows // windows_per_row
    origins = draw_tiles(ax, colours, windows_per_row, GAP, texts=texts, fontsize=fontsize, name="windows")
    corners = np.array(origins) - 0.5
    plain = [k for k in range(n_windows) if k != highlight]
    pooled_polygons(ax, "frames", boxes(corners[plain, 0], corners[plain, 1], window_w, window_h), edgecolor="black", linewidth=1.5)
    if highlight is not None:
        pooled_polygons(ax, "highlight", boxes(*corners[highlight], window_w, window_h), edgecolor=SEAM_COLOUR, linewidth=3)
    if titles:
        for k, (x0, y0) in enumerate(origins):
            pooled_text(ax, f"title/{k}", x0 - 0.45, y0 - 0.55, f"#{k}", ha="left", va="bottom",
                        fontsize=max(fontsize - 1, MIN_FONT_POINTS), color=SEAM_COLOUR if k == highlight else "black",
                        in_layout=False, chrome=True)
    ax.set_xlim(-0.7, windows_per_row * (window_w + GAP) - GAP - 0.3)
    ax.set_ylim(rows_of_windows * (window_h + GAP) - GAP - 0.3, -1.1)
    ax.set_axis_off()


def plot_window_partition(windows: torch.Tensor, height: int, width: int, *, figure: LabFigure | None = None) -> LabFigure:
    """The label map cut into windows, in the order ``window_partition`` returns them (walkthrough figure 3).

    Args:
        windows: ``[nW, Mh, Mw]`` (or ``[nW, Mh, Mw, 1]``) from ``window_partition(img_mask, M)``.
        height, width: the feature map's ``H, W`` (to lay the windows out as they sat).
        figure: a figure this function returned before, to redraw in place.
    """
    if isinstance(windows, torch.Tensor) and windows.dim() == 4:
        windows = windows[..., 0]
    if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
        raise ValueError("windows must be a [nW, Mh, Mw] or [nW, Mh, Mw, 1] tensor")
    n_windows, window_h, window_w = windows.shape
    if height % window_h or width % window_w or (height // window_h) * (width // window_w) != n_windows:
        raise ValueError(f"{n_windows} windows of {window_h}x{window_w} do not tile a {height}x{width} map")
    per_row = width // window_w
    side = min(7.0, 2.0 + 0.5 * width)
    with frame(figure, ("window_partition",), (side, side * height / width + 0.6), lambda fig: fig.subplots()) as (fig, ax):
        draw_window_partition(ax, windows, per_row)
        set_title(ax, f"window_partition(img_mask, {window_h if window_h == window_w else (window_h, window_w)}): "
                     f"{n_windows} windows, row-major", fontsize=11)
    return fig


def draw_window_rows(ax: Axes, mask_windows: torch.Tensor, *, highlight: int | None = None) -> None:
    """Draw ``mask_windows`` ``[nW, N]``: one row of token labels per window; mixed rows flagged on the right."""
    mask_windows = as_2d(mask_windows, "mask_windows")
    n_windows, n_tokens = mask_windows.shape
    texts = labels_text(mask_windows) if annotated(n_windows, n_tokens) else None
    draw_cells(ax, region_colours(mask_windows), texts, fontsize=fontsize_for(max(n_tokens, n_windows), 90))
    finish_grid(ax, n_windows, n_tokens, xlabel="token n (row-major inside the window)", ylabel="window k")
    if n_windows <= MAX_ANNOTATED * 2:
        mixed = (mask_windows != mask_windows[:, :1]).any(dim=1).tolist()
        for k, is_mixed in enumerate(mixed):
            pooled_text(ax, f"flag/{k}", n_tokens - 0.2, k, " needs mask" if is_mixed else " one region", va="center", ha="left",
                  fontsize=fontsize_for(n_windows, 80), color=SEAM_COLOUR if is_mixed else GOOD_COLOUR)
    if highlight is not None:
        pooled_polygons(ax, "highlight", boxes(-0.5, highlight - 0.5, n_tokens, 1), edgecolor=SEAM_COLOUR, linewidth=3, zorder=5)


def plot_window_rows(
    mask_windows: torch.Tensor, *, highlight: int | None = None, figure: LabFigure | None = None
) -> LabFigure:
    """``mask_windows.view(-1, M*M)``: each window as a row of ``N`` labels (walkthrough figure 4).

    Args:
        mask_windows: ``[nW, N]`` from ``window_labels``.
        highlight: a window index to outline.
        figure: a figure this function returned before, to redraw in place.
    """
    mask_windows = as_2d(mask_windows, "mask_windows")
    n_windows, n_tokens = mask_windows.shape
    size = (min(8.0, 2.5 + 0.45 * n_tokens), min(8.0, 1.2 + 0.38 * n_windows))
    with frame(figure, ("window_rows",), size, lambda fig: fig.subplots()) as (fig, ax):
        draw_window_rows(ax, mask_windows, highlight=highlight)
        set_title(ax, f"mask_windows.view(-1, window_size * window_size): [{n_windows}, {n_tokens}]", fontsize=11)
    return fig


