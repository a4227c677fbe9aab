"""Figures of ``notebooks/09_cost.ipynb``: the cost: FLOP and time curves, window counts, both partitions."""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from matplotlib.ticker import NullLocator

from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import cell_lines, cell_numbers, per_row_of, tile_canvas
from swin_viz.figures._pool import (
    apply_style,
    boxes,
    data_changed,
    frame,
    pooled,
    pooled_image,
    pooled_legend,
    pooled_lines,
    pooled_polygons,
    pooled_text,
)
from swin_viz.figures._style import MAX_LINED, MAX_TICKS, MIN_FONT_POINTS, REGION_COLOURS, fontsize_for, region_colours

__all__ = ["COST_COLOURS", "COST_NAMES", "PADDING_COLOUR", "MAX_ANNOTATED_CELLS", "WINDOW_GAP", "MAX_WINDOW_TITLES", "draw_cost_curves", "draw_window_counts", "draw_padded_windows", "plot_shift_vs_padding", "plot_flops", "plot_times", "plot_window_counts", "plot_cost"]

#: One colour per attention / partition in the cost figures (ColorBrewer Dark2).
COST_COLOURS: dict[str, str] = {
    "msa": "#d95f02",
    "w-msa": "#1b9e77",
    "sw-msa": "#1b9e77",
    "cyclic": "#1b9e77",
    "padding": "#7570b3",
}
#: What each key of a cost figure's curves is called in its legend.
COST_NAMES: dict[str, str] = {
    "msa": "global MSA",
    "w-msa": "W-MSA",
    "sw-msa": "SW-MSA (cyclic shift)",
    "cyclic": "cyclic shift",
    "padding": "padding",
}
#: Colour of a padding token in :func:`draw_padded_windows`.
PADDING_COLOUR = "#d9d9d9"
#: :func:`draw_padded_windows` writes the labels into the cells while the partition has at most this many.
MAX_ANNOTATED_CELLS = 160
#: Gap between the windows of :func:`draw_padded_windows`, in cells: a whole cell, so the tiles are one
#: image at one pixel per cell (a fractional gap such as :data:`GAP` needs supersampling, slower to redraw).
WINDOW_GAP = 1
#: Windows titled ``#k`` in :func:`draw_padded_windows` up to this many.
MAX_WINDOW_TITLES = 36


def _curve(
    ax: Axes,
    gid: str,
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    color: str,
    linewidth: float = 1.8,
    linestyle: str = "solid",
    marker: str = "None",
    markersize: float = 5.0,
    zorder: float = 3,
) -> Line2D:
    """A pooled ``ax.plot(xs, ys)`` line (markers only with ``linestyle="None"``); its data set in place on redraw."""
    line, _ = pooled(ax, gid, lambda: ax.add_line(Line2D([], [])))
    data = np.stack([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)])
    if data_changed(line, data):
        line.set_data(data[0], data[1])
    apply_style(
        line,
        {"color": color, "linewidth": linewidth, "linestyle": linestyle, "marker": marker, "markersize": markersize, "zorder": zorder},
    )
    return line


def _series(values: Any, name: str, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {array.shape}")
    if length is not None and array.size != length:
        raise ValueError(f"{name} must have {length} values (one per size), got {array.size}")
    return array


def _cost_key(kind: object, name: str) -> str:
    if kind not in COST_COLOURS:
        raise ValueError(f"{name} keys must be among {tuple(COST_COLOURS)}, got {kind!r}")
    return str(kind)


def draw_cost_curves(
    ax: Axes,
    tokens: Sequence[float],
    lines: Mapping[str, Sequence[float]],
    *,
    points: Mapping[str, Sequence[float]] | None = None,
    marker: int | None = None,
    ylabel: str = "multiply-adds",
    guides: bool = True,
    ylim: tuple[float, float] | None = None,
) -> None:
    """Cost against the number of tokens ``hw`` on log-log axes, one line per attention.

    Args:
        ax: the axes.
        tokens: ``hw`` of each size, increasing.
        lines: attention (a key of :data:`COST_COLOURS`) -> one value per size, drawn as a line.
        points: attention -> one value per size, drawn as dots (the measured counts).
        marker: index into ``tokens`` of a size to mark: a dotted vertical line and a ring on each line.
        ylabel: the quantity.
        guides: grey dashed lines of slope 1 and 2, starting below the lines' first values.
        ylim: fixed ``(bottom, top)`` (an explorer keeps its axes, hence its layout, still);
            by default the data's range with a margin.
    """
    xs = _series(tokens, "tokens")
    if np.any(xs <= 0) or np.any(np.diff(xs) <= 0):
        raise ValueError("tokens must be positive and increasing")
    values = [_series(v, f"lines[{k!r}]", xs.size) for k, v in lines.items()]
    keys = [_cost_key(k, "lines") for k in lines]
    dots = {_cost_key(k, "points"): _series(v, f"points[{k!r}]", xs.size) for k, v in (points or {}).items()}
    every = np.concatenate(values + list(dots.values()))
    if np.any(every <= 0):
        raise ValueError("costs must be positive to be drawn on log axes")
    low, high = float(every.min()), float(every.max())
    for key, ys in zip(keys, values, strict=True):
        _curve(ax, f"line/{key}", xs, ys, color=COST_COLOURS[key], zorder=3)
    for key, ys in dots.items():
        _curve(ax, f"points/{key}", xs, ys, color=COST_COLOURS[key], linestyle="None", marker="o", markersize=5.5, zorder=4)
    if guides and values:
        x0, y0 = xs[0], min(float(v[0]) for v in values) / 4  # below every line, so that none hides a guide
        for power in (1, 2):
            ys = y0 * (xs / x0) ** power
            _curve(ax, f"guide/{power}", xs, ys, color="#aaaaaa", linewidth=1.0, linestyle="--", zorder=2)
        low, high = min(low, y0), max(high, float(y0 * (xs[-1] / x0) ** 2))
    if marker is not None:
        if not 0 <= marker < xs.size:
            raise ValueError(f"marker={marker} must index tokens (0..{xs.size - 1})")
        x = xs[marker]
        pooled_lines(ax, "marker", [((x, 1e-30), (x, 1e30))], color="#444444", linewidth=1.0, linestyle=":", zorder=2)
        for key, ys in zip(keys, values, strict=True):
            _curve(ax, f"marker/{key}", [x], [ys[marker]], color=COST_COLOURS[key], linestyle="None", marker="o",
                   markersize=9, zorder=5)
    bottom, top = (low / 2, high * 2) if ylim is None else _positive_range(ylim, "ylim")
    _log_ticks(ax.xaxis, xs[0] / 1.4, xs[-1] * 1.4)
    _log_ticks(ax.yaxis, bottom, top)
    ax.set_xlim(xs[0] / 1.4, xs[-1] * 1.4)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("tokens hw")
    ax.set_ylabel(ylabel)
    labelled = keys + [k for k in dots if k not in keys]
    entries = [(COST_COLOURS[k], COST_NAMES[k]) for k in labelled] + ([("#aaaaaa", "slopes 1 and 2")] if guides else [])
    pooled_legend(ax, "legend/" + "/".join(labelled) + ("/guides" if guides else ""), entries, loc="upper left", fontsize=8)


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _positive_range(limits: object, name: str) -> tuple[float, float]:
    if not isinstance(limits, (tuple, list)) or len(limits) != 2:
        raise ValueError(f"{name} must be a (bottom, top) pair, got {limits!r}")
    bottom, top = float(limits[0]), float(limits[1])
    if not 0 < bottom < top:
        raise ValueError(f"{name} must satisfy 0 < bottom < top for a log axis, got {limits!r}")
    return bottom, top


def _log_ticks(axis: Any, low: float, high: float) -> None:
    """Major ticks of a log axis over ``[low, high]``: the powers of ten, as ``10ⁿ`` (every other one beyond
    :data:`MAX_TICKS`); over less than three decades also 2 and 5 times them, as plain numbers."""
    first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
    if last - first < 2:
        values = [m * 10.0**p for p in range(first - 1, last + 1) for m in (1, 2, 5) if low <= m * 10.0**p <= high]
        axis.set_ticks(values, [f"{v:g}" for v in values])
        return
    step = max(1, -(-(last - first + 1) // MAX_TICKS))
    powers = list(range(first, last + 1, step))
    axis.set_ticks([10.0**p for p in powers], [f"10{str(p).translate(_SUPERSCRIPTS)}" for p in powers])


def draw_window_counts(
    ax: Axes,
    sizes: Sequence[int],
    counts: Mapping[str, Sequence[int]],
    paper: Sequence[int] | None = None,
    *,
    window: int,
    marker: int | None = None,
    ylim: tuple[float, float] | None = None,
) -> None:
    """Windows of each shifted partition against the map size ``h = w``.

    On linear axes, or on log-y axes if ``ax`` has them (the ratio of two counts is then a fixed gap).

    Args:
        ax: the axes.
        sizes: ``h = w`` of each map, increasing.
        counts: ``"cyclic"`` / ``"padding"`` -> windows per size (``window_count``).
        paper: the paper's ``(⌈h/M⌉+1)²`` per size, drawn dashed, or ``None``.
        window: ``M``: faint lines mark the sizes it divides.
        marker: index into ``sizes`` of the chosen map: a dotted line and a ring on each count.
        ylim: fixed ``(bottom, top)``; by default from 0 (linear) or 0.7 (log) to a margin above the data.
    """
    xs = _series(sizes, "sizes")
    if np.any(np.diff(xs) <= 0):
        raise ValueError("sizes must be increasing")
    series = {_cost_key(k, "counts"): _series(v, f"counts[{k!r}]", xs.size) for k, v in counts.items()}
    top = max(float(v.max()) for v in series.values()) if series else 1.0
    if paper is not None:
        formula = _series(paper, "paper", xs.size)
        top = max(top, float(formula.max()))
        _curve(ax, "paper", xs, formula, color="black", linewidth=1.0, linestyle="--", zorder=4)
    for key, ys in series.items():
        _curve(ax, f"count/{key}", xs, ys, color=COST_COLOURS[key], marker="o", markersize=3, zorder=3)
    log = ax.get_yscale() == "log"
    if ylim is not None:
        bottom, top = _positive_range(ylim, "ylim") if log else (float(ylim[0]), float(ylim[1]))
    else:
        bottom, top = (0.7, top * 1.5) if log else (0.0, top * 1.1)
    multiples = [m for m in range(window, int(xs[-1]) + 1, window) if m >= xs[0]]
    pooled_lines(ax, "multiples", [((m, bottom), (m, top)) for m in multiples], color="#e5e5e5", linewidth=1.0, zorder=1)
    if marker is not None:
        if not 0 <= marker < xs.size:
            raise ValueError(f"marker={marker} must index sizes (0..{xs.size - 1})")
        x = xs[marker]
        pooled_lines(ax, "marker", [((x, bottom), (x, top))], color="#444444", linewidth=1.0, linestyle=":", zorder=2)
        for key, ys in series.items():
            _curve(ax, f"marker/{key}", [x], [ys[marker]], color=COST_COLOURS[key], linestyle="None", marker="o",
                   markersize=8, zorder=5)
    ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
    if log:
        _log_ticks(ax.yaxis, bottom, top)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("h = w  (faint lines: multiples of M)")
    ax.set_ylabel("windows")
    entries = [(COST_COLOURS[k], COST_NAMES[k]) for k in series] + ([("black", "(⌈h/M⌉+1)²")] if paper is not None else [])
    pooled_legend(ax, "legend/" + "/".join(series) + ("/paper" if paper is not None else ""), entries, loc="upper left", fontsize=8)


def _padded_colours(windows: torch.Tensor) -> np.ndarray:
    """RGBA of ``[...]`` region labels with ``-1`` (padding) in :data:`PADDING_COLOUR`."""
    colours = region_colours(windows.clamp(min=0))
    colours[(windows < 0).numpy()] = to_rgba(PADDING_COLOUR)
    return colours


def draw_padded_windows(
    ax: Axes, windows: torch.Tensor, windows_per_row: int, *, room: tuple[int, int] | None = None, labels: bool = True
) -> None:
    """Draw ``[nW, Mh, Mw]`` windows of region labels apart from each other, padding (``-1``) in grey.

    The windows are laid out as the partition's rows, one cell apart, scaled into
    the unit square of fixed axes limits (so that a new partition changes only
    data, never the layout): window ``k`` at row ``k // windows_per_row``. With
    ``labels``, cells carry their labels while the partition has at most
    :data:`MAX_ANNOTATED_CELLS` cells, and windows their number ``#k`` up to
    :data:`MAX_WINDOW_TITLES` windows.

    Args:
        ax: the axes.
        windows: ``[nW, Mh, Mw]`` labels ``0..8``, ``-1`` for padding tokens.
        windows_per_row: windows per row of the partition (divides ``nW``).
        room: ``(rows, cols)`` of windows to leave room for (at least this partition's), so
            that two partitions drawn side by side have cells of the same size; the smaller
            one is centred.
        labels: write the labels and window numbers (when small enough); ``False`` draws colours only.
    """
    if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
        raise ValueError(f"windows must be a [nW, Mh, Mw] tensor, got {getattr(windows, 'shape', type(windows).__name__)}")
    windows = windows.detach().cpu()
    n_windows, window_h, window_w = windows.shape
    windows_per_row = per_row_of(windows_per_row, "windows_per_row", n_windows)
    if int(windows.min()) < -1 or int(windows.max()) >= len(REGION_COLOURS):
        raise ValueError(f"windows must hold region labels 0..{len(REGION_COLOURS) - 1} or -1 (padding)")
    rows_of_windows = n_windows // windows_per_row
    room_rows, room_cols = room if room is not None else (rows_of_windows, windows_per_row)
    room_rows, room_cols = max(room_rows, rows_of_windows), max(room_cols, windows_per_row)
    gap = WINDOW_GAP
    step_x, step_y = window_w + gap, window_h + gap
    unit = 1.0 / max(room_cols * step_x - gap, room_rows * step_y - gap)  # one cell, in axes data units
    x0 = (1.0 - (windows_per_row * step_x - gap) * unit) / 2  # centred across, top-aligned
    # the tiles as one image, one pixel per cell and per gap (transparent)
    colours = _padded_colours(windows)
    canvas, origins = tile_canvas(colours, windows_per_row, gap)
    height, width = canvas.shape[:2]
    pooled_image(ax, "windows/image", canvas, (x0, x0 + width * unit, height * unit, 0.0))
    corners = np.array(origins, dtype=float).reshape(-1, 2) * unit + [x0, 0.0]
    cells = room_rows * room_cols * window_h * window_w
    if max(room_rows * step_y, room_cols * step_x) <= MAX_LINED // 2:  # cells big enough for the white lines between them
        lines = cell_lines(window_h, window_w, corners / unit + 0.5) * unit
        pooled_lines(ax, "windows/lines", lines, color="white", linewidth=0.8, zorder=2)
    pooled_polygons(ax, "frames", boxes(corners[:, 0], corners[:, 1], window_w * unit, window_h * unit), edgecolor="black",
                    linewidth=1.5 if n_windows <= 100 else 0.8)
    size = fontsize_for(max(window_h * room_rows, window_w * room_cols), 90)
    if labels and cells <= MAX_ANNOTATED_CELLS:
        texts = [[[str(v) if v >= 0 else "" for v in row] for row in window] for window in windows.tolist()]
        cell_numbers(ax, "cells", colours, texts, corners + unit / 2, size, step=unit)
    if labels and n_windows <= MAX_WINDOW_TITLES:
        for k, (cx, cy) in enumerate(corners):
            pooled_text(ax, f"title/{k}", cx, cy - 0.05 * unit, f"#{k}", ha="left", va="bottom",
                        fontsize=max(size - 1, MIN_FONT_POINTS), in_layout=False)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(1.01, -0.04)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _partition_room(naive: torch.Tensor, naive_per_row: int, cyclic: torch.Tensor, cyclic_per_row: int) -> tuple[int, int]:
    """``(rows, cols)`` of windows that hold either partition: both are drawn at one cell size."""
    for name, windows, per_row in (("naive", naive, naive_per_row), ("cyclic", cyclic, cyclic_per_row)):
        if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
            raise ValueError(f"{name} must be a [nW, Mh, Mw] tensor, got {getattr(windows, 'shape', type(windows).__name__)}")
        per_row_of(per_row, f"{name}_per_row", windows.shape[0])
    if naive.shape[1:] != cyclic.shape[1:]:
        raise ValueError(f"naive and cyclic windows must have the same [Mh, Mw], got {tuple(naive.shape[1:])} and {tuple(cyclic.shape[1:])}")
    rows = max(naive.shape[0] // naive_per_row, cyclic.shape[0] // cyclic_per_row)
    return rows, max(naive_per_row, cyclic_per_row)


def _partition_titles(naive: torch.Tensor, cyclic: torch.Tensor) -> tuple[str, str]:
    return f"padding: {naive.shape[0]} windows", f"cyclic shift: {cyclic.shape[0]} windows"


def plot_shift_vs_padding(
    naive: torch.Tensor,
    naive_per_row: int,
    cyclic: torch.Tensor,
    cyclic_per_row: int,
    *,
    figure: LabFigure | None = None,
) -> LabFigure:
    """The shifted windows two ways: cut out and padded (left) against the rolled map's windows (right).

    Args:
        naive, naive_per_row, cyclic, cyclic_per_row: the fields of
            :func:`swin_viz.cost.shifted_partitions` (``plot_shift_vs_padding(*partitions)``):
            ``[nW', Mh, Mw]`` and ``[nW, Mh, Mw]`` region labels, ``-1`` for padding.
        figure: a figure this function returned before, to redraw in place.

    Both panels share one cell size, so the extra row and column of the padded
    partition show as extra room.
    """
    room = _partition_room(naive, naive_per_row, cyclic, cyclic_per_row)
    size = (9.4, 5.2)
    with frame(figure, ("shift_vs_padding",), size, _side_by_side) as (fig, (left, right)):
        draw_padded_windows(left, naive, naive_per_row, room=room)
        draw_padded_windows(right, cyclic, cyclic_per_row, room=room)
        titles = _partition_titles(naive, cyclic)
        set_title(left, titles[0], fontsize=10)
        set_title(right, titles[1], fontsize=10)
        set_suptitle(fig, "The shifted windows, cut out and padded (grey) or rolled together", fontsize=11)
    return fig


def plot_flops(
    tokens: Sequence[float],
    formulas: Mapping[str, Sequence[float]],
    measured: Mapping[str, Sequence[float]] | None = None,
    *,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Multiply-adds against ``hw``, log-log: the paper's formulas as lines, the measured counts as dots.

    Args:
        tokens: ``hw`` of each map, increasing.
        formulas: ``"msa"`` / ``"w-msa"`` ... -> ``Ω`` per map.
        measured: the same keys -> ``FlopCounterMode`` counts halved, per map.
        figure: a figure this function returned before, to redraw in place.
    """
    with frame(figure, ("flops",), (6.4, 4.4), _log_axes) as (fig, ax):
        draw_cost_curves(ax, tokens, formulas, points=measured)
        set_title(ax, "lines: the paper's Ω · dots: FlopCounterMode count / 2", fontsize=10)
    return fig


def plot_times(tokens: Sequence[float], times: Mapping[str, Sequence[float]], *, figure: LabFigure | None = None) -> LabFigure:
    """Measured seconds against ``hw``, log-log, with guides of slope 1 and 2.

    Args:
        tokens: ``hw`` of each map, increasing.
        times: ``"msa"`` / ``"w-msa"`` ... -> median seconds per map (``time_call``).
        figure: a figure this function returned before, to redraw in place.
    """
    with frame(figure, ("times",), (6.4, 4.4), _log_axes) as (fig, ax):
        draw_cost_curves(ax, tokens, times, points=times, ylabel="seconds")
        set_title(ax, "wall time, median of repeated calls", fontsize=10)
    return fig


def plot_window_counts(
    sizes: Sequence[int],
    counts: Mapping[str, Sequence[int]],
    paper: Sequence[int] | None = None,
    *,
    window: int,
    shift: int,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Windows of the cyclic shift and of padding against the map size (``h = w``), with the paper's count.

    Args:
        sizes: ``h = w`` of each map, increasing.
        counts: ``"cyclic"`` / ``"padding"`` -> ``window_count`` per map.
        paper: ``window_count_formula(..., method="padding")`` per map, or ``None``.
        window, shift: ``M`` and ``s`` (for the title and the faint lines at multiples of ``M``).
        figure: a figure this function returned before, to redraw in place.
    """
    with frame(figure, ("window_counts",), (7.0, 4.2), lambda fig: fig.subplots()) as (fig, ax):
        draw_window_counts(ax, sizes, counts, paper, window=window)
        set_title(ax, f"windows of the shifted partition, M = {window}, s = {shift}", fontsize=10)
    return fig


def _side_by_side(fig: LabFigure) -> Any:
    fig.retained_layout.engine.set(wspace=0.12)
    return fig.subplots(1, 2)


def _make_log(ax: Axes) -> Axes:
    """Log-log axes without minor ticks (:func:`_log_ticks` sets the major ones every frame)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())
    return ax


def _log_axes(fig: LabFigure) -> Axes:
    return _make_log(fig.subplots())


def _cost_axes(fig: LabFigure) -> tuple[Axes, Axes, Axes, Axes]:
    fig.retained_layout.engine.set(wspace=0.08)
    (flops, counts), (naive, cyclic) = fig.subplots(2, 2, height_ratios=(1, 1.1))
    counts.set_yscale("log")
    counts.yaxis.set_minor_locator(NullLocator())
    return _make_log(flops), counts, naive, cyclic


def plot_cost(
    tokens: Sequence[float],
    flops: Mapping[str, Sequence[float]],
    sizes: Sequence[int],
    counts: Mapping[str, Sequence[int]],
    paper: Sequence[int],
    partitions: Sequence[Any],
    *,
    window: int,
    shift: int,
    marker: int,
    flop_limits: tuple[float, float] | None = None,
    count_limits: tuple[float, float] | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """The explorer's picture: multiply-adds and window counts against the map size, and the chosen map's two partitions.

    Top left, :func:`draw_cost_curves`; top right, :func:`draw_window_counts` on a log
    scale; below, the two partitions of the chosen map (:func:`draw_padded_windows`,
    colours only).

    Args:
        tokens: ``hw`` of each map (``sizes`` squared).
        flops: ``"msa"`` / ``"w-msa"`` ... -> multiply-adds per map.
        sizes: ``h = w`` of each map.
        counts: ``"cyclic"`` / ``"padding"`` -> windows per map.
        paper: the paper's padded count per map.
        partitions: :func:`swin_viz.cost.shifted_partitions` of the chosen map.
        window, shift: ``M`` and ``s``.
        marker: index of the chosen map in ``sizes``.
        flop_limits, count_limits: fixed y ranges of the two plots: an explorer passes the
            range of every reachable setting, so that a change redraws data only.
        figure: a figure this function returned before, to redraw in place.
    """
    naive, naive_per_row, cyclic, cyclic_per_row = partitions
    room = _partition_room(naive, naive_per_row, cyclic, cyclic_per_row)
    with frame(figure, ("cost",), (10.0, 7.4), _cost_axes) as (fig, (flop_ax, count_ax, naive_ax, cyclic_ax)):
        draw_cost_curves(flop_ax, tokens, flops, marker=marker, ylim=flop_limits)
        set_title(flop_ax, "multiply-adds", fontsize=10)
        draw_window_counts(count_ax, sizes, counts, paper, window=window, marker=marker, ylim=count_limits)
        set_title(count_ax, f"windows of the shifted partition, M = {window}, s = {shift}", fontsize=10, chrome=False)
        draw_padded_windows(naive_ax, naive, naive_per_row, room=room, labels=False)
        draw_padded_windows(cyclic_ax, cyclic, cyclic_per_row, room=room, labels=False)
        titles = _partition_titles(naive, cyclic)
        size = int(sizes[marker])
        set_title(naive_ax, f"{size} × {size}: {titles[0]}", fontsize=10, chrome=False)
        set_title(cyclic_ax, f"{size} × {size}: {titles[1]}", fontsize=10, chrome=False)
    return fig
