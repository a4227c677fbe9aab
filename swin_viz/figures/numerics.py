"""Figures of ``notebooks/08_numerics.ipynb``: numerics: what -100 leaves behind in each dtype."""

from __future__ import annotations

import functools
import math

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D

from swin_viz.figures._canvas import LabFigure, set_title
from swin_viz.figures._grid import as_1d, as_2d, draw_cells, query_key_axes
from swin_viz.figures._pool import boxes, frame, pooled, pooled_lines, pooled_polygons, pooled_text, tick_params
from swin_viz.figures._style import SEAM_COLOUR, ZERO_COLOUR, annotated, fontsize_for

__all__ = ["DTYPE_COLOURS", "CURVE_STYLES", "MARKED", "MARK_EVERY", "NAN_COLOUR", "LOG_FLOOR", "draw_log_weights", "draw_suppression_curve", "plot_suppression_curve", "plot_numerics"]

#: The colour of each dtype's curve in :func:`draw_suppression_curve`.
DTYPE_COLOURS: dict[str, str] = {"float64": "#1b9e77", "float32": "#7570b3", "float16": "#d95f02", "bfloat16": "#e7298a"}
#: Colour of a NaN weight (a fully masked row, or scores that overflowed).
NAN_COLOUR = SEAM_COLOUR
#: ``log10`` of the smallest weight the log-scale panels resolve: below float32's smallest
#: subnormal (``1.4e-45``), so every non-zero weight of any dtype is on the scale.
LOG_FLOOR = -46.0
#: ``(line width, line style, zorder)`` of each dtype's curve: the widest lowest, so that where two curves
#: coincide (float32 follows float64 down to its smallest subnormal) the thinner one is drawn on top.
CURVE_STYLES: dict[str, tuple[float, str, float]] = {
    "float64": (5.0, "solid", 2.0),
    "float16": (2.5, "solid", 2.5),
    "float32": (2.0, "dashed", 3.0),
    "bfloat16": (1.6, "dotted", 3.5),
}
#: Dtypes whose curve also carries open circles (every :data:`MARK_EVERY` scales): float32 lies on float64.
MARKED = ("float32",)
MARK_EVERY = 3
_ZERO_Y = LOG_FLOOR - 2.0  # where a weight of exactly 0 is drawn on the curve's y axis
_NAN_Y = 3.0  # where a NaN is drawn


def _weight_text(value: float) -> str:
    """A softmax weight as a cell shows it: two decimals, or the order of magnitude of a tiny one, ``0`` or ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if value == 0.0:
        return "0"
    if value >= 0.005:
        return f"{value:.2f}".lstrip("0") or "0"
    return f"{value:.0e}".replace("e-0", "e-")


def _log_weight_colours(weights: np.ndarray) -> np.ndarray:
    """RGBA of weights on a log scale (``viridis`` over ``[10^LOG_FLOOR, 1]``); 0 light grey, NaN red."""
    with np.errstate(divide="ignore", invalid="ignore"):
        position = (np.log10(weights) - LOG_FLOOR) / -LOG_FLOOR
    colours = matplotlib.colormaps["viridis"](np.clip(np.nan_to_num(position, nan=0.0), 0.0, 1.0))
    colours[weights == 0] = to_rgba(ZERO_COLOUR)
    colours[np.isnan(weights)] = to_rgba(NAN_COLOUR)
    return colours


def draw_log_weights(
    ax: Axes, weights: torch.Tensor, forbidden: torch.Tensor | None = None, labels: torch.Tensor | None = None
) -> None:
    """Draw ``[N, N]`` softmax weights on a log colour scale, so ``1e-41`` shows beside ``0.5``.

    Cells read ``.38`` (two decimals), ``4e-44`` (a tiny weight), ``0`` (exactly
    zero, light grey) or ``NaN`` (red). ``forbidden`` ``[N, N]`` bool outlines the
    pairs the mask forbids in red. Rows are queries, columns keys.
    """
    weights = as_2d(weights, "weights").double()
    n = weights.shape[0]
    if weights.shape != (n, n):
        raise ValueError(f"weights must be square [N, N], got {tuple(weights.shape)}")
    values = weights.numpy()
    colours = _log_weight_colours(values)
    texts = [[_weight_text(v) for v in row] for row in values.tolist()] if annotated(n) else None
    draw_cells(ax, colours, texts, fontsize=fontsize_for(n, 62), name="logw")
    outlines = np.zeros((0, 4, 2))
    if forbidden is not None:
        forbidden = as_2d(forbidden, "forbidden")
        if forbidden.shape != (n, n) or forbidden.dtype != torch.bool:
            raise ValueError(f"forbidden must be a bool [N, N] tensor with N={n}, got {forbidden.dtype} {tuple(forbidden.shape)}")
        rows, cols = np.nonzero(forbidden.numpy())
        outlines = boxes(cols - 0.45, rows - 0.45, 0.9, 0.9)
    pooled_polygons(ax, "logw/forbidden", outlines, edgecolor=NAN_COLOUR, linewidth=1.2, zorder=4)
    query_key_axes(ax, n, labels)


def _check_curves(logit_scales: torch.Tensor, curves: dict[str, torch.Tensor]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    scales = as_1d(logit_scales, "logit_scales").double().numpy()
    if scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        raise ValueError("logit_scales must be a non-empty 1-D tensor of finite positive numbers")
    if not isinstance(curves, dict) or not curves:
        raise TypeError(f"curves must be a non-empty dict {{dtype name: [S] tensor}}, got {type(curves).__name__}")
    checked = {}
    for name, curve in curves.items():
        if name not in DTYPE_COLOURS:
            raise ValueError(f"curves keys must be dtype names {list(DTYPE_COLOURS)}, got {name!r}")
        values = as_1d(curve, f"curves[{name!r}]").double().numpy()
        if values.shape != scales.shape:
            raise ValueError(f"curves[{name!r}] must have one value per logit scale ({scales.size}), got {values.size}")
        checked[name] = values
    return scales, checked


def _curve_y(values: np.ndarray) -> np.ndarray:
    """``log10`` of leaked weights for the plot: exactly 0 on the floor band, NaN in the top band."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log10(np.clip(values, 10.0**LOG_FLOOR, None))
    y[values == 0] = _ZERO_Y
    y[np.isnan(values)] = _NAN_Y
    return y


def draw_suppression_curve(
    ax: Axes,
    logit_scales: torch.Tensor,
    curves: dict[str, torch.Tensor],
    *,
    threshold: float = 1e-3,
    scale: float | None = None,
    highlight: str | None = None,
) -> None:
    """Draw the worst leaked weight against the logit scale, one curve per dtype, both axes logarithmic.

    Weights of exactly 0 are drawn on a band below the scale ("0"), NaN on a
    band above it ("NaN"); a dotted line marks ``threshold`` (visible leak), a
    grey vertical line the current ``scale``. ``highlight`` (a dtype name) is drawn thicker. Each dtype has its
    own line style and zorder (:data:`CURVE_STYLES`), float32 carries open circles (:data:`MARKED`), so a curve
    that coincides with another stays visible; a legend shows each line as drawn.
    """
    scales, values = _check_curves(logit_scales, curves)
    x = np.log10(scales)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    if highlight is not None and highlight not in values:
        raise ValueError(f"highlight must be one of the curves {list(values)}, got {highlight!r}")
    for name in DTYPE_COLOURS:
        if name not in values:
            continue
        y = _curve_y(values[name])
        finite = ~np.isnan(values[name])
        joined = finite[:-1] & finite[1:]
        points = np.stack([x, y], -1)
        segments = np.stack([points[:-1], points[1:]], 1)[joined]
        width, style, zorder = CURVE_STYLES[name]
        width = width * 1.6 if name == highlight else width
        pooled_lines(ax, f"curve/{name}", segments, color=DTYPE_COLOURS[name], linewidth=width, linestyle=style, zorder=zorder)
        if name in MARKED:
            marks, _ = pooled(ax, f"marks/{name}", functools.partial(_add_marks, ax, name))
            every = np.flatnonzero(finite)[::MARK_EVERY]
            marks.set_data(x[every], y[every])
            marks.set_zorder(zorder + 0.1)
        nan_x = x[~finite]
        crosses = np.stack([np.stack([nan_x - 0.04, np.full_like(nan_x, _NAN_Y - 0.8)], -1),
                            np.stack([nan_x + 0.04, np.full_like(nan_x, _NAN_Y + 0.8)], -1)], 1)
        pooled_lines(ax, f"nan/{name}", crosses, color=DTYPE_COLOURS[name], linewidth=width, zorder=3)
    x_low, x_high = float(x.min()), float(x.max())
    pad = 0.02 * max(x_high - x_low, 1.0)
    guides = [((x_low - pad, math.log10(threshold)), (x_high + pad, math.log10(threshold)))]
    pooled_lines(ax, "threshold", guides, color="black", linewidth=1.0, linestyle="dotted", zorder=1)
    bands = [((x_low - pad, _ZERO_Y + 1.0), (x_high + pad, _ZERO_Y + 1.0)), ((x_low - pad, _NAN_Y - 1.5), (x_high + pad, _NAN_Y - 1.5))]
    pooled_lines(ax, "bands", bands, color="#bbbbbb", linewidth=0.8, zorder=1)
    marker = [] if scale is None else [((math.log10(scale), _ZERO_Y - 1.5), (math.log10(scale), _NAN_Y + 1.5))]
    pooled_lines(ax, "scale", marker, color="#555555", linewidth=1.2, zorder=1)
    pooled_text(ax, "threshold/label", x_low, math.log10(threshold) + 0.8, f"visible: {threshold:g}", fontsize=8, ha="left",
          va="bottom", in_layout=False, chrome=True)
    ax.set_xlim(x_low - pad, x_high + pad)
    ax.set_ylim(_ZERO_Y - 1.5, _NAN_Y + 1.5)
    decades = np.arange(math.ceil(x_low), math.floor(x_high) + 1)
    ax.set_xticks(decades, [f"{10.0 ** d:g}" for d in decades])
    y_ticks = [_ZERO_Y, *range(-45, 1, 5), _NAN_Y]
    ax.set_yticks(y_ticks, ["0", *(f"1e{t}" if t else "1" for t in range(-45, 1, 5)), "NaN"])
    tick_params(ax, labelsize=8)
    ax.set_xlabel("logit scale (scores × scale)")
    ax.set_ylabel("worst leaked weight of a query")
    # the legend: each dtype's line as drawn (left of the curves, which start low)
    names = [name for name in DTYPE_COLOURS if name in values]
    pooled(ax, "legend/" + "/".join(names), lambda: ax.legend(handles=[_legend_line(name) for name in names], loc="center left",
                                                              bbox_to_anchor=(0.02, 0.55), fontsize=9, handlelength=3.5))


def _marker_style(name: str) -> dict[str, object]:
    """The open circles on a :data:`MARKED` dtype's curve (no line: the curve is the ``LineCollection``)."""
    return {"linestyle": "none", "marker": "o", "markersize": 6, "markerfacecolor": "white", "markeredgewidth": 1.5,
            "markeredgecolor": DTYPE_COLOURS[name]}


def _add_marks(ax: Axes, name: str) -> Line2D:
    """A new, empty line of ``name``'s circles (:func:`_marker_style`) in ``ax``."""
    return ax.add_line(Line2D([], [], **_marker_style(name)))


def _legend_line(name: str) -> Line2D:
    """A legend entry drawn as ``name``'s curve is: colour, width, style, and circles if it has them."""
    width, style, _ = CURVE_STYLES[name]
    marks = _marker_style(name) if name in MARKED else {}
    marks.pop("linestyle", None)
    return Line2D([], [], color=DTYPE_COLOURS[name], linewidth=width, linestyle=style, label=name, **marks)


def plot_suppression_curve(
    logit_scales: torch.Tensor,
    curves: dict[str, torch.Tensor],
    *,
    fill: float,
    threshold: float = 1e-3,
    scale: float | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """How much the worst query leaks as the logits grow, one curve per dtype (``suppression_curve``'s result).

    Args:
        logit_scales: ``[S]`` positive scales.
        curves: ``{dtype name: [S]}`` worst leaked weight per scale (0 and NaN allowed).
        fill: the fill the curves were computed with (for the title).
        threshold: where a leak counts as visible (a dotted line).
        scale: a scale to mark with a vertical line, or ``None``.
        figure: a figure this function returned before, to redraw in place.
    """
    with frame(figure, ("suppression_curve",), (7.5, 4.4), lambda fig: fig.subplots()) as (fig, ax):
        draw_suppression_curve(ax, logit_scales, curves, threshold=threshold, scale=scale)
        set_title(ax, f"Weight that leaks through fill {fill:g}: worst query, softmax in each dtype", fontsize=11, chrome=False)
    return fig


def plot_numerics(
    weights: torch.Tensor,
    forbidden: torch.Tensor,
    labels: torch.Tensor,
    logit_scales: torch.Tensor,
    curves: dict[str, torch.Tensor],
    *,
    dtype: str,
    fill: float,
    scale: float,
    window_index: int,
    head: int,
    threshold: float = 1e-3,
    figure: LabFigure | None = None,
) -> LabFigure:
    """One window's masked softmax on a log scale, beside the suppression curves (``numerics_explorer``'s figure).

    Left: :func:`draw_log_weights`; right: :func:`draw_suppression_curve` with
    ``dtype`` highlighted and ``scale`` marked.

    Args:
        weights: ``[N, N]`` ``softmax(scale * scores + mask)`` of one window and head, in ``dtype``.
        forbidden: ``[N, N]`` bool, the pairs the mask forbids (outlined).
        labels: ``[N]`` the window's region labels (on the axes).
        logit_scales, curves, threshold: as :func:`plot_suppression_curve`.
        dtype: the dtype name of ``weights`` (highlighted among the curves).
        fill, scale: the fill and logit scale of ``weights`` (titles; ``scale`` is marked on the curves).
        window_index, head: which window and head ``weights`` belong to (title).
        figure: a figure this function returned before, to redraw in place.
    """
    labels = as_1d(labels, "labels")
    n = labels.shape[0]

    def build(fig: LabFigure) -> np.ndarray:
        return fig.subplots(1, 2, width_ratios=[5.0, 5.6])

    with frame(figure, ("numerics", n), (10.6, 4.7), build) as (fig, axes):
        draw_log_weights(axes[0], weights, forbidden, labels)
        set_title(axes[0], f"window {window_index}, head {head}: softmax(scores × {scale:.3g} + mask)\n"
                        f"in {dtype}, fill {fill:g}; red boxes: forbidden pairs", fontsize=10, chrome=False)
        draw_suppression_curve(axes[1], logit_scales, curves, threshold=threshold, scale=scale, highlight=dtype)
        set_title(axes[1], "worst leaked weight of any query, per dtype", fontsize=10)
    return fig


