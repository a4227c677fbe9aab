"""Figures of ``notebooks/11_relative_position.ipynb``: the relative position index and bias, the mask's trick used twice.

* :func:`plot_relative_coords`: the operands of ``coords_flatten[:, :, None] - coords_flatten[:, None, :]``, drawn as
  notebook 04 draws the mask's, and the differences ``yi - yj`` and ``xi - xj`` as grids;
* :func:`plot_table_lookup`: one query's keys in the window, the table laid out over the offsets with the rows that
  query reads outlined, and the bias ``[N, N]`` with its row outlined (the explorer's picture);
* :func:`plot_row_strides`: the row each offset is sent to for a few row strides, the shared rows in red (#75, #367);
* :func:`plot_bias_and_mask`: the bias and the mask of one window side by side, and their sum.
"""

from __future__ import annotations

from typing import Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm, to_rgba

from swin_viz._checks import as_window
from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import as_1d, as_2d, draw_cells, grid_ticks, labels_text, query_key_axes
from swin_viz.figures._pool import boxes, frame, pooled_polygons, set_ratios
from swin_viz.figures._style import ALLOWED_COLOUR, REGION_COLOURS, SEAM_COLOUR, annotated, fontsize_for, region_colours
from swin_viz.figures.broadcast_subtraction import draw_attention_mask, draw_label_difference
from swin_viz.figures.full_block import draw_attention_scores
from swin_viz.tensors import as_int

__all__ = ["draw_offset_grid", "plot_relative_coords", "plot_table_lookup", "plot_row_strides", "plot_bias_and_mask"]

#: Light red: a table row that two different offsets read.
SHARED_COLOUR = "#fb8072"
_AXIS_NAMES = ("h", "w")


def _value_colours(values: torch.Tensor, limit: float) -> np.ndarray:
    """RGBA ``[..., 4]`` of real values as :func:`~swin_viz.figures.draw_attention_scores` colours them: red above 0,
    blue below, full colour at ``limit``."""
    array = values.detach().cpu().double().numpy()
    return matplotlib.colormaps["coolwarm"](TwoSlopeNorm(0.0, -limit, limit)(np.clip(array, -limit, limit)))


def _operand_alpha(n: int, stored: str) -> np.ndarray:
    """Solid where the operand is stored (its one row or column), faded where broadcasting repeats it."""
    alpha = np.full((n, n), 0.35)
    if stored == "row":
        alpha[0, :] = 1.0
    else:
        alpha[:, 0] = 1.0
    return alpha


def plot_relative_coords(coords_flatten: torch.Tensor, relative: torch.Tensor, *, figure: LabFigure | None = None) -> LabFigure:
    """The broadcast subtraction of the relative position index, row offsets above, column offsets below.

    Args:
        coords_flatten: ``[2, N]``, the row ``y`` and column ``x`` of every token (row-major).
        relative: ``[2, N, N]``, ``coords_flatten[:, :, None] - coords_flatten[:, None, :]``.
        figure: a figure this function returned before, to redraw in place.

    Left, ``coords_flatten[:, :, None]`` is ``[2, N, 1]``: its column is repeated, entry ``(i, j)`` is the query's
    coordinate. Middle, ``coords_flatten[:, None, :]`` is ``[2, 1, N]``: its row is repeated, entry ``(i, j)`` is the
    key's. Right, their difference (query minus key): white where 0, red above, blue below. Cells are coloured by
    coordinate with the region colours of notebook 04; the stored column or row is solid, the broadcast copies faded.
    """
    if not isinstance(coords_flatten, torch.Tensor) or coords_flatten.dim() != 2 or coords_flatten.shape[0] != 2:
        raise ValueError(
            f"coords_flatten must be a [2, N] tensor, got {getattr(coords_flatten, 'shape', type(coords_flatten).__name__)}"
        )
    n = coords_flatten.shape[1]
    if not isinstance(relative, torch.Tensor) or tuple(relative.shape) != (2, n, n):
        raise ValueError(
            f"relative must be a [2, N, N] tensor with N={n}, got {getattr(relative, 'shape', type(relative).__name__)}"
        )
    coords_flatten = coords_flatten.detach().cpu().long()
    relative = relative.detach().cpu().long()
    side = min(3.8, 1.4 + 0.3 * n)
    with frame(figure, ("relative_coords",), (3 * side + 0.6, 2 * side + 2.0), lambda fig: fig.subplots(2, 3)) as (fig, axes):
        for c, (query_ax, key_ax, diff_ax) in enumerate(axes):
            coord = coords_flatten[c]
            letter = "y" if c == 0 else "x"
            for ax, grid, stored, title in (
                (
                    query_ax,
                    coord.unsqueeze(1).expand(n, n),
                    "column",
                    f"coords_flatten[{c}][:, None]: column repeated\nentry (i, j) = {letter}[i]",
                ),
                (
                    key_ax,
                    coord.unsqueeze(0).expand(n, n),
                    "row",
                    f"coords_flatten[{c}][None, :]: row repeated\nentry (i, j) = {letter}[j]",
                ),
            ):
                colours = region_colours(grid % len(REGION_COLOURS))
                draw_cells(ax, colours, labels_text(grid) if annotated(n) else None, alpha=_operand_alpha(n, stored))
                query_key_axes(ax, n, None)
                set_title(ax, title, fontsize=9)
            draw_label_difference(diff_ax, relative[c])
            set_title(diff_ax, f"relative_coords[{c}] = {letter}[i] - {letter}[j]\n(query minus key)", fontsize=9)
        set_suptitle(fig, "Top: rows (y), bottom: columns (x). Each operand is broadcast to [N, N], then subtracted", fontsize=11)
    return fig


def draw_offset_grid(
    ax: Axes, values: torch.Tensor, window: tuple[int, int], colours: np.ndarray, *, texts: Sequence[Sequence[str]] | None = None
) -> None:
    """Draw a grid over the offsets: cell ``(a, b)`` is ``(yi - yj, xi - xj) = (a - (Mh - 1), b - (Mw - 1))``.

    Args:
        ax: the axes.
        values: ``[2Mh-1, 2Mw-1]``, the numbers in the cells (unless ``texts``).
        window: ``(Mh, Mw)``.
        colours: ``[2Mh-1, 2Mw-1, 4]`` RGBA.
        texts: the cells' strings (default: ``values``).
    """
    window_h, window_w = as_window(window)
    values = as_2d(values, "values")
    rows, cols = 2 * window_h - 1, 2 * window_w - 1
    if tuple(values.shape) != (rows, cols):
        raise ValueError(
            f"values must be [2Mh-1, 2Mw-1] = [{rows}, {cols}] for window={(window_h, window_w)}, got {tuple(values.shape)}"
        )
    draw_cells(ax, colours, texts if texts is not None else labels_text(values), fontsize=fontsize_for(max(rows, cols), 80))
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ticks = grid_ticks(ax)
    size = fontsize_for(max(rows, cols), 110)
    ticks.set_ticks("x", range(cols), [str(b - (window_w - 1)) for b in range(cols)], size)
    ticks.set_ticks("y", range(rows), [str(a - (window_h - 1)) for a in range(rows)], size)
    ticks.set_label("x", "xi - xj")
    ticks.set_label("y", "yi - yj")


def plot_table_lookup(
    index: torch.Tensor,
    table: torch.Tensor,
    bias: torch.Tensor,
    window: int | tuple[int, int],
    query: int,
    *,
    head: int | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Which rows of the bias table one query reads, and where they land in the bias.

    Args:
        index: ``[N, N]``, the ``relative_position_index`` of the window.
        table: ``[(2Mh-1)(2Mw-1)]``, one head's column of ``relative_position_bias_table``.
        bias: ``[N, N]``, that head's ``relative_position_bias`` (``table[index]``).
        window: ``M`` or ``(Mh, Mw)``.
        query: the query token ``i``, ``0 <= i < N``.
        head: named in the title.
        figure: a figure this function returned before, to redraw in place.

    Left, the window: key ``j`` at its place, numbered with the row ``index[i, j]`` it reads, coloured by that row's
    value; the query is outlined in black. Middle, the table over the offsets ``(yi - yj, xi - xj)``, numbered with
    the row ``r``, the ``N`` rows the query reads outlined in red (an ``Mh x Mw`` block, turned half a turn).
    Right, the bias ``[N, N]`` with the query's row outlined.
    """
    window_h, window_w = as_window(window)
    n = window_h * window_w
    index = as_2d(index, "index").long()
    bias = as_2d(bias, "bias").double()
    table = as_1d(table, "table").double()
    rows, cols = 2 * window_h - 1, 2 * window_w - 1
    if tuple(index.shape) != (n, n) or tuple(bias.shape) != (n, n):
        raise ValueError(
            f"index and bias must be [N, N] with N = Mh * Mw = {n}, got {tuple(index.shape)} and {tuple(bias.shape)}"
        )
    if table.shape[0] != rows * cols:
        raise ValueError(
            f"table must be [(2Mh-1)(2Mw-1)] = [{rows * cols}] for window={(window_h, window_w)}, got {tuple(table.shape)}"
        )
    query = as_int(query, "query")
    if not 0 <= query < n:
        raise ValueError(f"query must be an int in [0, {n}), got {query}")
    limit = max(float(table.abs().max()), 1e-12)
    read = index[query]  # N: the rows the query reads
    y, x = divmod(query, window_w)
    width = min(13.0, 2.4 + 0.5 * (window_w + cols) + 0.25 * max(n, 12))
    height = min(5.0, 2.2 + 0.3 * max(window_h, rows, 0.45 * n))
    ratios = (max(window_w, 3) + 0.6, max(cols, 5) + 0.6, max(0.45 * n, 5.0))

    def build(fig: LabFigure) -> list:
        return fig.subplots(1, 3, gridspec_kw={"width_ratios": ratios}).tolist()

    with frame(figure, ("table_lookup",), (width, height), build) as (fig, (win_ax, table_ax, bias_ax)):
        set_ratios(win_ax, width=ratios)  # a new window keeps the axes: only their shares of the width change
        key_values = table[read].view(window_h, window_w)
        draw_cells(
            win_ax,
            _value_colours(key_values, limit),
            labels_text(read.view(window_h, window_w)),
            fontsize=fontsize_for(max(window_h, window_w), 60),
        )
        win_ax.set_xlim(-0.5, window_w - 0.5)
        win_ax.set_ylim(window_h - 0.5, -0.5)
        ticks = grid_ticks(win_ax)
        size = fontsize_for(max(window_h, window_w), 80)
        ticks.set_ticks("x", range(window_w), [str(c) for c in range(window_w)], size)
        ticks.set_ticks("y", range(window_h), [str(r) for r in range(window_h)], size)
        ticks.set_label("x", "key column xj")
        ticks.set_label("y", "key row yj")
        pooled_polygons(win_ax, "query", boxes(x - 0.5, y - 0.5, 1, 1), edgecolor="black", linewidth=3.0, zorder=5)
        set_title(win_ax, f"query i={query} at ({y}, {x})\nkey j: row index[i, j]", fontsize=9, chrome=False)

        grid = table.view(rows, cols)
        draw_offset_grid(table_ax, torch.arange(rows * cols).view(rows, cols), (window_h, window_w), _value_colours(grid, limit))
        a, b = read // cols, read % cols
        pooled_polygons(
            table_ax, "read", boxes((b - 0.5).numpy(), (a - 0.5).numpy(), 1, 1), edgecolor=SEAM_COLOUR, linewidth=2.0, zorder=5
        )
        set_title(
            table_ax,
            f"table[:, {head if head is not None else 'h'}], row r\nred: the {n} rows i={query} reads",
            fontsize=9,
            chrome=False,
        )

        draw_attention_scores(bias_ax, bias, None, limit=limit)
        pooled_polygons(bias_ax, "row", boxes(-0.5, query - 0.5, n, 1), edgecolor=SEAM_COLOUR, linewidth=2.0, zorder=5)
        set_title(bias_ax, f"bias[{head if head is not None else 'h'}]: [N, N]\nrow i={query} outlined", fontsize=9, chrome=False)
        where = f", head {head}" if head is not None else ""
        set_suptitle(fig, f"{window_h}x{window_w} window{where}: bias[i, j] = table[index[i, j]]", fontsize=11)
    return fig


def plot_row_strides(
    window: int | tuple[int, int], row_strides: Sequence[int], rows: Sequence[torch.Tensor], *, figure: LabFigure | None = None
) -> LabFigure:
    """The table row ``dh * row_stride + dw`` of every offset, one panel per row stride; shared rows in red.

    Args:
        window: ``M`` or ``(Mh, Mw)``.
        row_strides: the strides, one per panel (for the titles).
        rows: ``[2Mh-1, 2Mw-1]`` each, as :func:`swin_viz.relative_position.offset_rows` returns for each stride.
        figure: a figure this function returned before, to redraw in place.

    A cell whose row number appears in another cell of the same panel (two different offsets, one row of the
    table: they get the same bias) is light red and outlined; every other cell is light green.
    """
    window_h, window_w = as_window(window)
    strides = [as_int(s, "row_strides") for s in row_strides]
    grids = [as_2d(r, "rows").long() for r in rows]
    if not grids or len(grids) != len(strides):
        raise ValueError(f"rows and row_strides must be as long as each other and not empty, got {len(grids)} and {len(strides)}")
    n_rows, n_cols = 2 * window_h - 1, 2 * window_w - 1
    side = min(4.2, 1.6 + 0.42 * max(n_rows, n_cols))
    palette = np.array([to_rgba(ALLOWED_COLOUR), to_rgba(SHARED_COLOUR)])

    def build(fig: LabFigure) -> list:
        return fig.subplots(1, len(grids), squeeze=False)[0].tolist()

    with frame(figure, ("row_strides", len(grids)), (len(grids) * (side + 0.4) + 0.4, side + 1.1), build) as (fig, axes):
        for ax, stride, grid in zip(axes, strides, grids, strict=True):
            values, counts = torch.unique(grid, return_counts=True)
            shared = torch.isin(grid, values[counts > 1])
            draw_offset_grid(ax, grid, (window_h, window_w), palette[shared.numpy().astype(np.intp)])
            where = shared.nonzero()
            outline = boxes(where[:, 1].numpy() - 0.5, where[:, 0].numpy() - 0.5, 1, 1) if len(where) else []
            pooled_polygons(ax, "shared", outline, edgecolor=SEAM_COLOUR, linewidth=2.0, zorder=5)
            used = len(values)
            note = (
                f"{int(shared.sum())} offsets share {int((counts > 1).sum())} rows"
                if bool(shared.any())
                else "every offset its own row"
            )
            set_title(ax, f"row stride {stride}: rows 0..{int(grid.max())}, {used} used\n{note}", fontsize=9)
        set_suptitle(fig, f"{window_h}x{window_w} window: row = dh * stride + dw for each offset (yi - yj, xi - xj)", fontsize=11)
    return fig


def plot_bias_and_mask(
    bias: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, *, head: int | None = None, figure: LabFigure | None = None
) -> LabFigure:
    """The relative position bias and the attention mask of one window side by side, and their sum.

    Args:
        bias: ``[N, N]``, one head of ``relative_position_bias``.
        mask: ``[N, N]``, one window of ``attn_mask``.
        labels: ``[N]``, the window's region labels (on the mask's axes).
        head: named in the title.
        figure: a figure this function returned before, to redraw in place.

    Both are indexed ``[query i, key j]`` in the same token order, so both are added to the same entry of
    ``q @ k.transpose(-2, -1)``: the right panel is what the scores receive.
    """
    labels = as_1d(labels, "labels")
    n = labels.shape[0]
    bias = as_2d(bias, "bias").double()
    mask = as_2d(mask, "mask")
    if tuple(bias.shape) != (n, n) or tuple(mask.shape) != (n, n):
        raise ValueError(
            f"bias and mask must be [N, N] with N={n} (len(labels)), got {tuple(bias.shape)} and {tuple(mask.shape)}"
        )
    limit = max(float(bias.abs().max()), 1e-12)
    side = min(4.2, 1.5 + 0.3 * n)
    with frame(figure, ("bias_and_mask",), (3 * side + 0.6, side + 0.9), lambda fig: fig.subplots(1, 3)) as (
        fig,
        (bias_ax, mask_ax, sum_ax),
    ):
        draw_attention_scores(bias_ax, bias, labels, limit=limit)
        set_title(bias_ax, f"relative_position_bias[{head if head is not None else 'h'}]  [i, j]", fontsize=10)
        draw_attention_mask(mask_ax, mask, labels)
        set_title(mask_ax, "attn_mask[k]  [i, j]", fontsize=10)
        draw_attention_scores(sum_ax, bias + mask.double(), labels, limit=limit)
        set_title(sum_ax, "bias + mask: added to (q @ kᵀ)[i, j]", fontsize=10)
        set_suptitle(fig, "Both are indexed (query i, key j) in the window's row-major token order", fontsize=11)
    return fig
