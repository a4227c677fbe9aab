"""Cell grids: the one drawing routine every grid panel uses (cells, tiles, window borders, seams, ticks)."""

from __future__ import annotations

import math
from typing import Sequence

import numpy as np
import torch
from matplotlib.axes import Axes

from swin_viz.figures._canvas import set_chrome
from swin_viz.figures._pool import as_bytes, pooled, pooled_image, pooled_lines
from swin_viz.figures._style import MAX_ANNOTATED, MAX_LINED, SEAM_COLOUR, annotated, fontsize_for, text_colour, tick_step
from swin_viz.figures._text import CellNumbers, TickLabels
from swin_viz.tensors import as_int


def cell_lines(rows: int, cols: int, origins: np.ndarray) -> np.ndarray:
    """Segments ``[n, 2, 2]`` of the lines around the cells of ``rows x cols`` grids whose cell ``(0, 0)`` is at each of ``origins`` ``[k, 2]``."""
    x0, y0 = origins[:, 0:1] - 0.5, origins[:, 1:2] - 0.5  # [k, 1]
    xs, ys = x0 + np.arange(cols + 1), y0 + np.arange(rows + 1)  # [k, cols + 1], [k, rows + 1]
    vertical = np.stack(
        [np.stack([xs, np.broadcast_to(y0, xs.shape)], -1), np.stack([xs, np.broadcast_to(y0 + rows, xs.shape)], -1)], axis=2
    )
    horizontal = np.stack(
        [np.stack([np.broadcast_to(x0, ys.shape), ys], -1), np.stack([np.broadcast_to(x0 + cols, ys.shape), ys], -1)], axis=2
    )
    return np.concatenate([vertical.reshape(-1, 2, 2), horizontal.reshape(-1, 2, 2)])


def cell_numbers(
    ax: Axes,
    name: str,
    colours: np.ndarray,
    texts: Sequence[Sequence[Sequence[str]]],
    origins: Sequence[tuple[float, float]],
    fontsize: float,
    *,
    alpha: np.ndarray | None = None,
    step: float = 1.0,
) -> None:
    """The numbers of ``K`` grids ``[K, R, C, 4]`` as ONE pooled :class:`~swin_viz.figures._text.CellNumbers`: the
    text ``texts[k][r][c]`` centred at ``origins[k] + step * (c, r)``, black or white for its cell's colour (grey
    where ``alpha[k, r, c] < 1``)."""
    xy, strings, text_colours = [], [], []
    for k, (x0, y0) in enumerate(origins):
        for r, row in enumerate(texts[k]):
            for c, text in enumerate(row):
                if text:
                    faded = alpha is not None and alpha[k, r, c] < 1
                    xy.append((x0 + step * c, y0 + step * r))
                    strings.append(text)
                    text_colours.append("#888888" if faded else text_colour(colours[k, r, c]))
    numbers, _ = pooled(ax, f"{name}/numbers", lambda: ax.add_artist(CellNumbers()))
    numbers.set_zorder(3)
    numbers.set_cells(np.array(xy, dtype=float).reshape(-1, 2), strings, text_colours, fontsize, step=step)


def draw_cells(
    ax: Axes,
    colours: np.ndarray,
    texts: Sequence[Sequence[str]] | None,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    fontsize: float | None = None,
    alpha: np.ndarray | None = None,
    name: str = "cells",
) -> None:
    """Draw an ``[R, C, 4]`` colour grid with its cell texts; cell ``(r, c)`` is centred at ``origin + (c, r)``.

    The artists are pooled under ``name`` (two grids in one axes need two names).
    """
    rows, cols = colours.shape[:2]
    x0, y0 = origin
    image = colours.copy()
    if alpha is not None:
        image[..., 3] = alpha
    pooled_image(ax, f"{name}/image", image, (x0 - 0.5, x0 + cols - 0.5, y0 + rows - 0.5, y0 - 0.5))
    if max(rows, cols) <= MAX_LINED:  # thin white lines between cells
        pooled_lines(ax, f"{name}/lines", cell_lines(rows, cols, np.array([origin])), color="white", linewidth=0.8, zorder=2)
    if texts is None or not annotated(rows, cols):
        return
    size = fontsize if fontsize is not None else fontsize_for(max(rows, cols))
    cell_numbers(ax, name, colours[None], [texts], [origin], size, alpha=None if alpha is None else alpha[None])


def supersampling(gap: float) -> int:
    """The smallest factor ``f`` (1..10) that makes ``gap * f`` a whole number of pixels."""
    for factor in range(1, 11):
        if abs(gap * factor - round(gap * factor)) < 1e-9:
            return factor
    raise ValueError(f"gap={gap} must be a multiple of 0.1")


def draw_tiles(
    ax: Axes,
    colours: np.ndarray,
    per_row: int,
    gap: float,
    *,
    texts: Sequence[Sequence[Sequence[str]]] | None = None,
    fontsize: float | None = None,
    name: str = "tiles",
) -> list[tuple[float, float]]:
    """Draw ``K`` grids ``[K, R, C, 4]`` as tiles, ``per_row`` a row, ``gap`` cells apart, as ONE image.

    Tile ``k`` sits at row ``k // per_row``, column ``k % per_row``; its cell ``(r, c)``
    is centred at ``origin_k + (c, r)`` with ``origin_k = (col * (C + gap), row * (R + gap))``.
    Returns the origins. The gaps are transparent; ``texts[k][r][c]`` are the cell texts.
    """
    n_tiles, rows, cols = colours.shape[:3]
    tile_rows = -(-n_tiles // per_row)
    canvas, origins = tile_canvas(colours, per_row, gap)
    extent = (-0.5, per_row * (cols + gap) - gap - 0.5, tile_rows * (rows + gap) - gap - 0.5, -0.5)
    pooled_image(ax, f"{name}/image", canvas, extent)
    if max(per_row * (cols + gap), tile_rows * (rows + gap)) <= MAX_LINED:
        pooled_lines(ax, f"{name}/lines", cell_lines(rows, cols, np.array(origins)), color="white", linewidth=0.8, zorder=2)
    if texts is not None and annotated(rows, cols):
        size = fontsize if fontsize is not None else fontsize_for(max(rows, cols))
        cell_numbers(ax, name, colours, texts, origins, size)
    return origins


def tile_canvas(colours: np.ndarray, per_row: int, gap: float) -> tuple[np.ndarray, list[tuple[float, float]]]:
    """``K`` grids ``[K, R, C, 4]`` as one ``uint8`` image, ``per_row`` a row, ``gap`` cells apart (transparent);
    each cell is :func:`supersampling` ``(gap)`` pixels a side. Also the tiles' origins, in cells (``(x, y)`` of
    tile ``k``'s cell ``(0, 0)``)."""
    n_tiles, rows, cols = colours.shape[:3]
    factor = supersampling(gap)
    gap_px = round(gap * factor)
    step_x, step_y = cols * factor + gap_px, rows * factor + gap_px
    canvas = np.zeros((-(-n_tiles // per_row) * step_y - gap_px, per_row * step_x - gap_px, 4), dtype=np.uint8)
    sampled = as_bytes(colours)
    if factor > 1:
        sampled = sampled.repeat(factor, axis=1).repeat(factor, axis=2)
    origins = []
    for k in range(n_tiles):
        a, b = divmod(k, per_row)
        canvas[a * step_y : a * step_y + rows * factor, b * step_x : b * step_x + cols * factor] = sampled[k]
        origins.append((b * (cols + gap), a * (rows + gap)))
    return canvas, origins


def finish_grid(
    ax: Axes,
    rows: int,
    cols: int,
    *,
    xlabel: str = "column",
    ylabel: str = "row",
    every: tuple[int, int] | None = None,
) -> None:
    """Limits, labels and ticks of a grid panel; ``every`` ``(rows, cols)``: where to tick a big grid (the window borders)."""
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ticks = grid_ticks(ax)
    ticks.set_label("x", xlabel)
    ticks.set_label("y", ylabel)
    every_r, every_c = every if every is not None else (None, None)
    size = fontsize_for(max(rows, cols), 110)
    x_ticks = range(0, cols, tick_step(cols, every_c))
    y_ticks = range(0, rows, tick_step(rows, every_r))
    ticks.set_ticks("x", x_ticks, [str(t) for t in x_ticks], size)
    ticks.set_ticks("y", y_ticks, [str(t) for t in y_ticks], size)


def no_ticks(ax: Axes) -> None:
    """A grid panel without tick labels (its axis labels stay)."""
    ticks = grid_ticks(ax)
    ticks.set_ticks("x", [], [])
    ticks.set_ticks("y", [], [])


def grid_ticks(ax: Axes) -> TickLabels:
    """The pooled :class:`~swin_viz.figures._text.TickLabels` of a grid panel (made, and matplotlib's own ticks and spines
    switched off, the first time): set its ticks and labels every frame."""
    return _outline_ticks(ax, "xy", spines=False)


def chart_xticks(ax: Axes, positions: Sequence[float], strings: Sequence[str], fontsize: float, label: str) -> None:
    """A chart's x tick labels and x label drawn as outlines (:class:`~swin_viz.figures._text.TickLabels`), in place of
    matplotlib's ticks, which are made anew and measured again whenever their number changes with a slider; the y
    axis keeps matplotlib's ticks."""
    ticks = _outline_ticks(ax, "x", spines=True)
    ticks.set_ticks("x", positions, strings, fontsize)
    ticks.set_label("x", label)


def _outline_ticks(ax: Axes, axes: str, *, spines: bool) -> TickLabels:
    """The pooled tick-label artist of ``ax``; made the first time, when matplotlib's own ticks of ``axes`` (``"x"``,
    ``"xy"``) are switched off (the layout and the draw then skip those axis objects) and, unless ``spines``, the spines."""
    ticks, new = pooled(ax, "ticks", lambda: ax.add_artist(TickLabels()))
    if new:
        set_chrome(ticks, True)
        for axis in axes:
            getattr(ax, f"set_{axis}ticks")([])
            getattr(ax, f"{axis}axis").set_visible(False)
        for spine in ax.spines.values():
            spine.set_visible(spines)
    return ticks


def window_borders(
    ax: Axes, height: int, width: int, window: tuple[int, int], offset: tuple[int, int] = (0, 0), *, gid: str = "borders"
) -> None:
    """Thick lines on the window borders: every ``window`` cells from ``offset``, plus the map's edges."""
    rows = sorted({0, height, *range(offset[0] % window[0], height + 1, window[0])})
    cols = sorted({0, width, *range(offset[1] % window[1], width + 1, window[1])})
    segments = [((-0.5, r - 0.5), (width - 0.5, r - 0.5)) for r in rows]
    segments += [((c - 0.5, -0.5), (c - 0.5, height - 0.5)) for c in cols]
    pooled_lines(ax, gid, segments, color="black", linewidth=2.0, zorder=4)


def labels_text(labels: torch.Tensor) -> list[list[str]]:
    return [[str(v) for v in row] for row in labels.reshape(labels.shape[0], -1).tolist()]


def index_in(value: object, name: str, n: int) -> int:
    """``value`` as an index ``0 <= value < n`` (an int, :func:`~swin_viz.tensors.as_int`); else an error naming ``name``."""
    number = as_int(value, name)
    if not 0 <= number < n:
        raise ValueError(f"{name} must be an int in [0, {n}), got {value!r}")
    return number


def per_row_of(value: object, name: str, n_windows: int) -> int:
    """``value`` as a number of windows per row: a positive int that divides ``n_windows``."""
    number = as_int(value, name)
    if number <= 0 or n_windows % number:
        raise ValueError(f"{name}={value!r} must be a positive int that divides nW={n_windows}")
    return number


def as_2d(tensor: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(tensor.shape)}")
    return tensor.detach().cpu()


def as_1d(tensor: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() != 1:
        raise ValueError(f"{name} must be 1-D [N], got shape {tuple(tensor.shape)}")
    return tensor.detach().cpu()


def token_ticks(ax: Axes, labels: torch.Tensor, *, axis: str, prefix: str) -> None:
    n = labels.shape[0]
    if n > MAX_ANNOTATED:
        return
    values = labels.tolist()
    ticks = [f"{prefix}{i}\n({int(values[i])})" if axis == "x" else f"{prefix}{i} ({int(values[i])})" for i in range(n)]
    grid_ticks(ax).set_ticks(axis, range(n), ticks, fontsize_for(n, 80))


def query_key_axes(ax: Axes, n: int, labels: torch.Tensor | None) -> None:
    """Axes of an ``[N, N]`` grid: rows are query tokens ``i``, columns key tokens ``j``, ticked with their labels."""
    root = math.isqrt(n)
    every = (root, root) if root * root == n else None  # N = M * M: tick each row of the window
    finish_grid(ax, n, n, xlabel="key token j", ylabel="query token i", every=every)
    if labels is not None:
        token_ticks(ax, labels, axis="x", prefix="j=")
        token_ticks(ax, labels, axis="y", prefix="i=")




def seam_lines(ax: Axes, rows: int, cols: int, seam_row: int, seam_col: int, *, gid: str = "seam") -> None:
    """Dashed red lines just above row ``seam_row`` and left of column ``seam_col`` of a ``rows x cols`` grid
    (where the roll cut or joined the map); a seam at 0 or at the far edge draws nothing."""
    segments = []
    if 0 < seam_row < rows:
        segments.append(((-0.5, seam_row - 0.5), (cols - 0.5, seam_row - 0.5)))
    if 0 < seam_col < cols:
        segments.append(((seam_col - 0.5, -0.5), (seam_col - 0.5, rows - 0.5)))
    pooled_lines(ax, gid, segments, color=SEAM_COLOUR, linewidth=2.5, linestyle="--", zorder=5)
