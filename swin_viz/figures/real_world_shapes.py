"""Figures of ``notebooks/07_real_world_shapes.ipynb``: real-world shapes: padding orders and label schemes."""

from __future__ import annotations

from typing import Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes

from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import as_2d, draw_cells, finish_grid, grid_ticks, index_in, seam_lines, window_borders
from swin_viz.figures._pool import boxes, frame, pooled_polygons, pooled_text, set_ratios
from swin_viz.figures._style import MIN_FONT_POINTS, SEAM_COLOUR, fontsize_for, region_colours, tick_step
from swin_viz.figures._text import outline
from swin_viz.figures.broadcast_subtraction import draw_attention_mask
from swin_viz.figures.region_labels import draw_region_labels
from swin_viz.tensors import as_pair

__all__ = ["PAD_ORDER_ANNOTATED", "PADDING_ALPHA", "EMPTY_NOTES", "draw_padded_map", "draw_key_counts", "plot_pad_order", "plot_label_maps"]

#: Panels of :func:`plot_pad_order` carry numbers up to this many cells a side (three grids share the figure).
PAD_ORDER_ANNOTATED = 16
#: Opacity of padding (zero-token) cells in :func:`draw_padded_map`.
PADDING_ALPHA = 0.3
#: What a count panel of :func:`plot_pad_order` says when every count is 0 (the panel is blank).
EMPTY_NOTES: dict[str, str] = {
    "leaked": "no leaked keys:\nthe mask lets no pair\nattend across a seam",
    "blocked": "no blocked keys:\nthe mask forbids no pair\nof same-side tokens\nthat share a window",
}


def _landed(token_ids: torch.Tensor, width: int, axis: int) -> int:
    """The row (``axis=0``) or column (``axis=1``) of a rolled map that holds original row / column 0 (0 if none)."""
    original = token_ids // width if axis == 0 else token_ids % width
    hits = ((original == 0) & (token_ids >= 0)).any(dim=1 - axis).nonzero().flatten().tolist()
    return hits[0] if hits else 0


def _sparse_ticks(ax: Axes, rows: int, cols: int, *, every: tuple[int, int] = (1, 1), most: int = 8) -> None:
    """Tick every cell up to :data:`PAD_ORDER_ANNOTATED` cells a side; beyond, every ``every`` cells (the window)
    if that makes at most ``most`` ticks, else every 2, 5, 10 … cells (:func:`~swin_viz.figures._style.tick_step`)."""
    for cells, step_of, axis in ((cols, every[1], "x"), (rows, every[0], "y")):
        ticks = range(0, cells, tick_step(cells, step_of, dense=PAD_ORDER_ANNOTATED, most=most))
        grid_ticks(ax).set_ticks(axis, ticks, [str(t) for t in ticks])


def draw_padded_map(ax: Axes, token_ids: torch.Tensor, labels: torch.Tensor, width: int, window: int | tuple[int, int]) -> None:
    """Draw a rolled, padded map ``[Hp, Wp]``: each token's original ``row,col`` on its mask region colour.

    ``token_ids`` are ``row * width + col`` of the unpadded map and ``-1`` for
    padding (zero) tokens; ``labels`` are the mask's region labels of the padded
    layout. Padding cells are faded and show a dot. Thick lines are the window
    borders; dashed red lines run just above the row and left of the column
    where original row 0 and column 0 landed, i.e. where the wrapped rows and
    columns begin (the mask assumes they are its last band).
    """
    token_ids = as_2d(token_ids, "token_ids")
    labels = as_2d(labels, "labels")
    if token_ids.shape != labels.shape:
        raise ValueError(f"token_ids and labels must have the same [Hp, Wp] shape, got {tuple(token_ids.shape)} and {tuple(labels.shape)}")
    rows, cols = token_ids.shape
    window_hw = as_pair(window, "window")
    texts = None
    if max(rows, cols) <= PAD_ORDER_ANNOTATED:
        texts = [["·" if t < 0 else f"{t // width},{t % width}" for t in row] for row in token_ids.tolist()]
    alpha = np.where((token_ids < 0).numpy(), PADDING_ALPHA, 1.0)
    draw_cells(ax, region_colours(labels), texts, fontsize=fontsize_for(cols, 75), alpha=alpha)
    window_borders(ax, rows, cols, window_hw)
    seam_row, seam_col = _landed(token_ids, width, 0), _landed(token_ids, width, 1)
    seam_lines(ax, rows, cols, seam_row, seam_col)
    finish_grid(ax, rows, cols, every=window_hw)
    _sparse_ticks(ax, rows, cols, every=window_hw)


def draw_key_counts(ax: Axes, counts: torch.Tensor, *, cmap: str, vmax: int) -> None:
    """Draw ``[H, W]`` counts, one cell per query token of the image, shaded from white (0) to ``vmax``.

    Non-zero counts are written in their cells while the grid has at most
    :data:`PAD_ORDER_ANNOTATED` cells a side.
    """
    counts = as_2d(counts, "counts")
    rows, cols = counts.shape
    colours = matplotlib.colormaps[cmap](0.8 * counts.numpy().astype(float) / max(vmax, 1))
    texts = None
    if max(rows, cols) <= PAD_ORDER_ANNOTATED:
        texts = [[str(v) if v else "" for v in row] for row in counts.tolist()]
    draw_cells(ax, colours, texts, fontsize=fontsize_for(cols, 80))
    finish_grid(ax, rows, cols)
    _sparse_ticks(ax, rows, cols, most=6)


def _empty_note(ax: Axes, counts: torch.Tensor, note: str, unit: float) -> None:
    """Over a count panel whose counts are all 0 (drawn blank), a note that says why it is blank: at most
    10 points, smaller to fit the panel (``unit`` inches a cell), "none" where even that would be under
    :data:`~swin_viz.figures._style.MIN_FONT_POINTS`, nothing where "none" would be."""
    if bool(counts.any()):
        return
    height, width = counts.shape
    for text in (note, "none"):
        x0, y0, x1, y1 = outline(text)[1]
        size = min(10.0, 0.9 * 72 * unit * width / (x1 - x0), 0.9 * 72 * unit * height / (y1 - y0))
        if size >= MIN_FONT_POINTS:
            pooled_text(ax, "empty", (width - 1) / 2, (height - 1) / 2, text, fontsize=size, ha="center", va="center",
                        color="#444444", in_layout=False)
            return


def plot_pad_order(
    token_ids: torch.Tensor,
    labels: torch.Tensor,
    leaked: torch.Tensor,
    blocked: torch.Tensor,
    window: int | tuple[int, int],
    *,
    order: str,
    figure: LabFigure | None = None,
) -> LabFigure:
    """The map one padding order hands to ``window_partition``, and the keys its mask gets wrong.

    Args:
        token_ids: ``[Hp, Wp]`` the rolled, padded map of this order: ``row * W + col``
            of each token of the ``H x W`` map, ``-1`` for padding.
        labels: ``[Hp, Wp]`` the mask's region labels, ``region_labels(H, W, M, s, pad=True)``.
        leaked: ``[H, W]`` per query token of the image, the keys the mask lets it
            attend across a seam (``(allowed & ~genuine).sum(1)`` of ``pair_relation``).
        blocked: ``[H, W]`` per query token, the same-side keys the mask forbids.
        window: ``M`` or ``(Mh, Mw)``.
        order: ``"pad-then-roll"`` or ``"roll-then-pad"``, for the title.
        figure: a figure this function returned before, to redraw in place.

    Left: :func:`draw_padded_map`. Middle and right: :func:`draw_key_counts` of
    ``leaked`` (red) and ``blocked`` (blue), on one scale. A panel whose counts are all 0 is blank and says
    why (:data:`EMPTY_NOTES`).
    """
    token_ids = as_2d(token_ids, "token_ids")
    labels = as_2d(labels, "labels")
    leaked = as_2d(leaked, "leaked")
    blocked = as_2d(blocked, "blocked")
    if leaked.shape != blocked.shape:
        raise ValueError(f"leaked and blocked must have the same [H, W] shape, got {tuple(leaked.shape)} and {tuple(blocked.shape)}")
    if not isinstance(order, str):
        raise TypeError(f"order must be a str such as 'pad-then-roll', got {type(order).__name__}")
    height, width = leaked.shape
    height_p, width_p = token_ids.shape
    window_hw = as_pair(window, "window")
    if height_p < height or width_p < width or height_p % window_hw[0] or width_p % window_hw[1]:
        raise ValueError(f"token_ids {tuple(token_ids.shape)} must be the {height}x{width} map padded to multiples of window={window_hw}")
    vmax = int(max(leaked.max(), blocked.max(), 1))
    unit = min(0.42, 11.0 / (width_p + 2 * width))
    size = (unit * (width_p + 2 * width) + 2.8, unit * max(height_p, height) + 1.6)
    ratios = [width_p, width, width]
    build = lambda fig: fig.subplots(1, 3, width_ratios=ratios)  # noqa: E731
    with frame(figure, ("pad_order",), size, build) as (fig, (map_ax, leaked_ax, blocked_ax)):
        set_ratios(map_ax, width=ratios)
        draw_padded_map(map_ax, token_ids, labels, width, window_hw)
        set_title(map_ax, f"{order}, {height_p}x{width_p}:\nmask colours, original row,col (· padding)", chrome=False, fontsize=10)
        draw_key_counts(leaked_ax, leaked, cmap="Reds", vmax=vmax)
        set_title(leaked_ax, f"leaked keys per query token\n(across a seam): {int(leaked.sum())}", chrome=False, fontsize=10)
        _empty_note(leaked_ax, leaked, EMPTY_NOTES["leaked"], unit)
        draw_key_counts(blocked_ax, blocked, cmap="Blues", vmax=vmax)
        set_title(blocked_ax, f"blocked keys per query token\n(same side, masked): {int(blocked.sum())}", chrome=False, fontsize=10)
        _empty_note(blocked_ax, blocked, EMPTY_NOTES["blocked"], unit)
        set_suptitle(fig, f"{height}x{width} map, window {window_hw[0]}x{window_hw[1]}, rolled and padded; "
                       "dashed red: where original row 0 and column 0 landed", fontsize=11)
    return fig


def plot_label_maps(
    label_maps: Sequence[torch.Tensor],
    masks: Sequence[torch.Tensor],
    titles: Sequence[str],
    window: int | tuple[int, int],
    *,
    highlight: int,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Several labellings of one map side by side, each above the mask it gives one window.

    Args:
        label_maps: ``K`` label maps ``[Hp, Wp]`` with values ``0..8``: the
            official ``img_mask`` first, then alternatives to it.
        masks: ``K`` masks ``[N, N]`` of window ``highlight``, one per labelling
            (0 where the two tokens' labels are equal, the fill elsewhere).
        titles: ``K`` titles.
        window: ``M`` or ``(Mh, Mw)``.
        highlight: the window (``window_partition`` order) outlined in red, whose masks are drawn.
        figure: a figure this function returned before, to redraw in place.

    Mask entries that differ from the first labelling's mask are outlined in red.
    """
    label_maps = [as_2d(labels, f"label_maps[{k}]") for k, labels in enumerate(label_maps)]
    masks = [as_2d(mask, f"masks[{k}]") for k, mask in enumerate(masks)]
    count = len(label_maps)
    if count == 0 or len(masks) != count or len(titles) != count:
        raise ValueError(f"label_maps, masks and titles must have the same positive length, got {count}, {len(masks)}, {len(titles)}")
    height, width = label_maps[0].shape
    if any(labels.shape != (height, width) for labels in label_maps):
        raise ValueError("label_maps must all have the same [Hp, Wp] shape")
    window_hw = as_pair(window, "window")
    if min(window_hw) <= 0 or height % window_hw[0] or width % window_hw[1]:
        raise ValueError(f"window={window_hw} must divide the {height}x{width} label maps")
    n = window_hw[0] * window_hw[1]
    if any(mask.shape != (n, n) for mask in masks):
        raise ValueError(f"masks must be [N, N] with N = {n} tokens per window")
    per_row = width // window_hw[1]
    n_windows = per_row * (height // window_hw[0])
    highlight = index_in(highlight, "highlight", n_windows)
    row0, col0 = (highlight // per_row) * window_hw[0], (highlight % per_row) * window_hw[1]
    unit = min(0.3, 3.2 / max(width, n))
    size = (count * (unit * max(width, n) + 1.0) + 0.4, unit * (height + n) + 2.4)
    build = lambda fig: fig.subplots(2, count, squeeze=False, height_ratios=[height, n])  # noqa: E731
    reference = masks[0] != 0
    with frame(figure, ("label_maps", count), size, build) as (fig, axes):
        set_ratios(axes[0][0], height=[height, n])
        for k in range(count):
            top, bottom = axes[0][k], axes[1][k]
            draw_region_labels(top, label_maps[k], window_hw, 0, bands=False)
            pooled_polygons(top, "highlight", boxes(col0 - 0.5, row0 - 0.5, window_hw[1], window_hw[0]),
                      edgecolor=SEAM_COLOUR, linewidth=3, zorder=6)
            set_title(top, titles[k], fontsize=10)
            window_row = label_maps[k][row0 : row0 + window_hw[0], col0 : col0 + window_hw[1]].flatten()
            draw_attention_mask(bottom, masks[k], window_row)
            wrong = ((masks[k] != 0) != reference).nonzero().numpy()  # [n_wrong, 2] (query i, key j)
            pooled_polygons(bottom, "differs", boxes(wrong[:, 1] - 0.5, wrong[:, 0] - 0.5, 1, 1) if len(wrong) else [],
                      edgecolor=SEAM_COLOUR, linewidth=2, zorder=6)
            note = f", {len(wrong)} differ" if k else ""
            set_title(bottom, f"window {highlight}: {int((masks[k] != 0).sum())} masked pairs{note}", chrome=False, fontsize=10)
        set_suptitle(fig, f"Label maps (window {highlight} outlined) and the mask each gives that window", fontsize=11)
    return fig


