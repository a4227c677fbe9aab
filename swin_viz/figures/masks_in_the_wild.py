"""Figures of ``notebooks/10_masks_in_the_wild.ipynb``: masks in 1, 2 and 3 axes, and what :func:`swin_viz.check_mask` found.

A map of 1, 2 or 3 axes is drawn as a row (or rows) of 2D slices: a sequence ``[L]`` is one row of cells, an
image ``[H, W]`` one grid, a volume ``[D, H, W]`` one grid per depth, left to right. A region label keeps its
house colour (for 3D, the colour is the label's ``(h, w)`` part, ``label % 9``; the number is the whole label).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_hex, to_rgba

from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import draw_cells, grid_ticks, no_ticks, query_key_axes
from swin_viz.figures._pool import boxes, frame, pooled_legend, pooled_lines, pooled_polygons, pooled_text
from swin_viz.figures._style import (
    ALLOWED_COLOUR,
    FORBIDDEN_COLOUR,
    REGION_COLOURS,
    SEAM_COLOUR,
    ZERO_COLOUR,
    annotated,
    fontsize_for,
)

if TYPE_CHECKING:
    from swin_viz.check import MaskCheck

__all__ = ["OVER_BLOCKED_COLOUR", "SLICES_PER_ROW", "draw_slices", "plot_labels_nd", "plot_mask_check", "plot_window_mask_nd"]

#: Over-blocked pairs (neighbours the mask forbids): the blue of notebook 07's "blocked" counts; leaked pairs are red.
OVER_BLOCKED_COLOUR = to_hex(matplotlib.colormaps["Blues"](0.8))
#: Most depth slices side by side before the next row of slices.
SLICES_PER_ROW = 4
_GAP = 1.5  # cells between two slices
_AXIS_NAMES = {1: ("L",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _as_slices(values: torch.Tensor) -> torch.Tensor:
    """``[L]``, ``[H, W]`` or ``[D, H, W]`` as ``[S, R, C]`` slices."""
    if not isinstance(values, torch.Tensor):
        raise TypeError(f"values must be a torch.Tensor of 1, 2 or 3 axes, got {type(values).__name__}")
    if not 1 <= values.dim() <= 3:
        raise ValueError(f"values must have 1, 2 or 3 axes ([L], [H, W] or [D, H, W]), got shape {tuple(values.shape)}")
    values = values.detach().cpu()
    return values.reshape((1,) * (3 - values.dim()) + tuple(values.shape))


def _origins(slices: int, rows: int, cols: int) -> list[tuple[float, float]]:
    per_row = min(slices, SLICES_PER_ROW)
    return [((z % per_row) * (cols + _GAP), (z // per_row) * (rows + _GAP + 0.8)) for z in range(slices)]


def draw_slices(
    ax: Axes, colours: np.ndarray, texts: np.ndarray | None, window: Sequence[int], *, name: str, slice_title: str = "depth"
) -> list[tuple[float, float]]:
    """Draw ``[S, R, C, 4]`` colours as ``S`` grids side by side, thick lines on the window borders (``window``:
    ``(Md, Mh, Mw)``, a depth window drawn as a bracket under the slices it joins). Returns each slice's origin."""
    slices, rows, cols = colours.shape[:3]
    origins = _origins(slices, rows, cols)
    window_d, window_h, window_w = window
    segments = []
    for z, (x0, y0) in enumerate(origins):
        text = None if texts is None or not annotated(rows, cols) else texts[z].tolist()
        draw_cells(ax, colours[z], text, origin=(x0, y0), fontsize=fontsize_for(max(rows, cols, 8)), name=f"{name}/{z}")
        for r in range(0, rows + 1, window_h):
            segments.append(((x0 - 0.5, y0 + r - 0.5), (x0 + cols - 0.5, y0 + r - 0.5)))
        for c in range(0, cols + 1, window_w):
            segments.append(((x0 + c - 0.5, y0 - 0.5), (x0 + c - 0.5, y0 + rows - 0.5)))
        if slices > 1:
            label = f"{slice_title} {z}" + (f" · window {z // window_d}" if window_d > 1 else "")
            pooled_text(ax, f"{name}/title/{z}", x0 + (cols - 1) / 2, y0 - 0.9, label, ha="center", va="bottom", fontsize=9)
    pooled_lines(ax, f"{name}/borders", segments, color="black", linewidth=1.6, zorder=4)
    width = origins[-1][0] + cols if len(origins) == 1 else min(slices, SLICES_PER_ROW) * (cols + _GAP) - _GAP
    height = origins[-1][1] + rows
    ax.set_xlim(-0.6, width - 0.4)
    ax.set_ylim(height - 0.4, -0.6 - (1.6 if slices > 1 else 0))
    ax.set_aspect("equal")
    return origins


def _label_colours(labels: torch.Tensor) -> np.ndarray:
    palette = np.array([to_rgba(c) for c in REGION_COLOURS])
    return palette[labels.numpy().astype(np.int64) % len(REGION_COLOURS)]


def _window3(window: Sequence[int]) -> tuple[int, int, int]:
    window = tuple(int(m) for m in window)
    return (1,) * (3 - len(window)) + window  # type: ignore[return-value]


def _window_box(ax: Axes, gid: str, origins: list, shape: tuple[int, int, int], window: tuple[int, int, int], k: int) -> None:
    """A red outline around window ``k`` (row-major over the window grid) on every slice it spans."""
    grid = [n // m for n, m in zip(shape, window, strict=True)]
    gd, rest = divmod(k, grid[1] * grid[2])
    gh, gw = divmod(rest, grid[2])
    verts = [
        boxes(x0 + gw * window[2] - 0.5, y0 + gh * window[1] - 0.5, window[2], window[1])[0]
        for x0, y0 in origins[gd * window[0] : (gd + 1) * window[0]]
    ]
    pooled_polygons(ax, gid, verts, edgecolor=SEAM_COLOUR, linewidth=3.0, zorder=6)


def plot_labels_nd(
    labels: torch.Tensor,
    window: Sequence[int],
    *,
    window_index: int | None = None,
    title: str | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Region labels of a map of 1, 2 or 3 axes (``region_labels(size, window, shift)``), as slices.

    Args:
        labels: ``[L]``, ``[H, W]`` or ``[D, H, W]``.
        window: one int per axis of ``labels`` (thick lines are window borders).
        window_index: a window to outline in red (row-major over the window grid), or ``None``.
        title: the figure's title (default: what the map is).
        figure: a figure this function returned before, to redraw in place.
    """
    slices = _as_slices(labels)
    window3 = _window3(window)
    S, R, C = slices.shape
    per_row = min(S, SLICES_PER_ROW)
    width = min(12.0, 1.2 + 0.34 * (per_row * (C + _GAP)))
    height = min(9.0, 1.4 + 0.34 * math.ceil(S / per_row) * (R + 2.3) * max(1.0, width / (0.34 * per_row * (C + _GAP) + 1.2)))
    with frame(figure, ("labels_nd",), (width, max(height, 1.9)), lambda fig: fig.subplots()) as (fig, ax):
        origins = draw_slices(ax, _label_colours(slices), slices.numpy().astype(str), window3, name="labels")
        if window_index is not None:
            _window_box(ax, "picked", origins, (S, R, C), window3, window_index)
        no_ticks(ax)
        ticks = grid_ticks(ax)
        ticks.set_label("x", "w (last axis)" if labels.dim() > 1 else "position in the sequence")
        ticks.set_label("y", "h" if labels.dim() > 1 else "")
        set_suptitle(
            fig, title or f"img_mask of a {'x'.join(str(n) for n in labels.shape)} map: one label (cnt) per region", fontsize=11
        )
    return fig


def _mask_colours(allowed: torch.Tensor) -> np.ndarray:
    out = np.empty((*allowed.shape, 4))
    out[allowed.numpy()] = to_rgba(ALLOWED_COLOUR)
    out[~allowed.numpy()] = to_rgba(FORBIDDEN_COLOUR)
    return out


def plot_window_mask_nd(
    labels: torch.Tensor, window: Sequence[int], window_index: int, mask_window: torch.Tensor, *, figure: LabFigure | None = None
) -> LabFigure:
    """The labels of a map of 1, 2 or 3 axes with one window outlined, and that window's ``[N, N]`` mask.

    Args:
        labels: ``[L]``, ``[H, W]`` or ``[D, H, W]``.
        window: one int per axis of ``labels``.
        window_index: the window shown (row-major over the window grid).
        mask_window: ``[N, N]`` bools, ``True`` where query ``i`` may attend to key ``j``.
        figure: a figure this function returned before, to redraw in place.
    """
    slices = _as_slices(labels)
    window3 = _window3(window)
    S, R, C = slices.shape
    N = mask_window.shape[-1]
    with frame(figure, ("window_mask_nd",), (11.0, 5.2), lambda fig: fig.subplots(1, 2, width_ratios=(1.5, 1.0))) as (
        fig,
        (left, right),
    ):
        origins = draw_slices(left, _label_colours(slices), slices.numpy().astype(str), window3, name="labels")
        _window_box(left, "picked", origins, (S, R, C), window3, window_index)
        no_ticks(left)
        grid_ticks(left).set_label("x", "w (last axis)" if labels.dim() > 1 else "position")
        set_title(left, f"region labels; window {window_index} in red", chrome=False, fontsize=10)
        draw_cells(right, _mask_colours(mask_window.detach().cpu().bool()), None, name="mask")
        query_key_axes(right, N, None)
        right.set_aspect("equal")
        set_title(right, f"window {window_index}: may query i attend to key j? (N = {N})", chrome=False, fontsize=10)
        pooled_legend(
            right,
            "legend",
            [(ALLOWED_COLOUR, "allowed (0.0)"), (FORBIDDEN_COLOUR, "masked (-100)")],
            loc="upper left",
            bbox_to_anchor=(0.0, -0.12),
            ncol=2,
            fontsize=8,
            frameon=False,
        )
        set_suptitle(fig, "The mask in any number of axes: labels per region, and one window's mask", fontsize=11)
    return fig


def _pair_colours(report: MaskCheck, k: int) -> np.ndarray:
    """``[N, N, 4]``: the pairs of window ``k`` by verdict."""
    allowed, genuine = report.allowed[k], report.genuine[k]
    real = report.real[k].unsqueeze(1) & report.real[k].unsqueeze(0)
    out = np.empty((*allowed.shape, 4))
    classes = [
        (allowed & genuine, ALLOWED_COLOUR),
        (~allowed & ~genuine, FORBIDDEN_COLOUR),
        (allowed & ~genuine & real, SEAM_COLOUR),
        (~allowed & genuine, OVER_BLOCKED_COLOUR),
        (~real, ZERO_COLOUR),
    ]
    for where, colour in classes:
        out[where.numpy()] = to_rgba(colour)
    return out


def plot_mask_check(report: MaskCheck, window: int | None = None, *, figure: LabFigure | None = None) -> LabFigure:
    """What :func:`~swin_viz.check_mask` found: wrong pairs per window, and one window's pairs by verdict.

    Left, one cell per window (slices for 3D): its count of wrong pairs, red if any leaked, blue if only
    over-blocked. Right, the ``[N, N]`` pairs of ``window`` (default: the window with the most wrong pairs):
    allowed and right, masked and right, leaked (red), over-blocked (blue), padding (not judged, grey).

    Args:
        report: a :class:`~swin_viz.check.MaskCheck` whose mask had the right shape.
        window: the window shown on the right.
        figure: a figure this function returned before, to redraw in place.
    """
    if report.allowed is None:
        raise ValueError(f"nothing to draw: {report.shape_problem}")
    leaked, over = report.wrong_per_window()
    wrong = leaked + over
    k = int(torch.argmax(wrong)) if window is None else int(window)
    if not 0 <= k < report.layout.n_windows:
        raise ValueError(f"window must be in [0, {report.layout.n_windows}), got {window}")
    grid = report.layout.grid
    grid3 = (1,) * (3 - len(grid)) + tuple(grid)
    colours = np.empty((*grid3, 4))
    colours[...] = to_rgba(ALLOWED_COLOUR)
    flat = colours.reshape(-1, 4)
    flat[(over > 0).numpy()] = to_rgba(OVER_BLOCKED_COLOUR)
    flat[(leaked > 0).numpy()] = to_rgba(SEAM_COLOUR)
    texts = wrong.view(grid3).numpy().astype(str)
    N = report.layout.tokens
    with frame(figure, ("mask_check",), (11.0, 5.4), lambda fig: fig.subplots(1, 2, width_ratios=(1.0, 1.0))) as (
        fig,
        (left, right),
    ):
        origins = draw_slices(left, colours, texts, (1, 1, 1), name="windows", slice_title="window depth")
        _window_box(left, "picked", origins, grid3, (1, 1, 1), k)
        no_ticks(left)
        grid_ticks(left).set_label("x", "window column" if len(grid) > 1 else "window")
        set_title(left, "wrong pairs per window", chrome=False, fontsize=10)
        draw_cells(right, _pair_colours(report, k), None, name="pairs")
        query_key_axes(right, N, None)
        right.set_aspect("equal")
        set_title(right, f"window {k}: {int(leaked[k])} leaked, {int(over[k])} over-blocked", chrome=False, fontsize=10)
        pooled_legend(
            right,
            "legend",
            [
                (ALLOWED_COLOUR, "allowed, right"),
                (FORBIDDEN_COLOUR, "masked, right"),
                (SEAM_COLOUR, "leaked"),
                (OVER_BLOCKED_COLOUR, "over-blocked"),
                (ZERO_COLOUR, "padding (not judged)"),
            ],
            loc="upper left",
            bbox_to_anchor=(0.0, -0.1),
            ncol=3,
            fontsize=8,
            frameon=False,
        )
        verdict = "correct" if report.ok else "WRONG"
        set_suptitle(fig, f"check_mask: {verdict}: {report.leaked} leaked, {report.over_blocked} over-blocked pairs", fontsize=11)
    return fig
