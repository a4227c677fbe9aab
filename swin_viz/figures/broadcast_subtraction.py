"""Figures of ``notebooks/04_broadcast_subtraction.ipynb``: the broadcast subtraction and ``masked_fill``: operands, difference, mask (walkthrough figures 5 and 6)."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba
from matplotlib.patches import Patch

from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import as_1d, as_2d, draw_cells, draw_tiles, labels_text, per_row_of, query_key_axes
from swin_viz.figures._pool import frame, pooled_text
from swin_viz.figures._style import (
    ALLOWED_COLOUR,
    FORBIDDEN_COLOUR,
    GOOD_COLOUR,
    MAX_NOTES,
    SEAM_COLOUR,
    annotated,
    fontsize_for,
    panel_side,
    region_colours,
)

__all__ = [
    "DIFFERENCE_KEY", "plot_broadcast_operands", "draw_label_difference", "draw_attention_mask", "plot_label_difference",
    "plot_window_masks", "difference_key",
]

#: The two colours of a label difference and what each means: only zero / non-zero matters, not sign or size.
DIFFERENCE_KEY: tuple[tuple[str, str], tuple[str, str]] = (
    (ALLOWED_COLOUR, "0: same region → attend"),
    (FORBIDDEN_COLOUR, "≠ 0: different regions → masked (-100)"),
)

def plot_broadcast_operands(labels: torch.Tensor, *, figure: LabFigure | None = None) -> LabFigure:
    """The two operands of ``mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)`` for one window (figure 5).

    Args:
        labels: ``[N]``, one row of ``mask_windows``.
        figure: a figure this function returned before, to redraw in place.

    Left, ``unsqueeze(1)`` is ``[1, N]``: broadcasting repeats that row ``N``
    times, so entry ``(i, j)`` is ``label[j]``. Right, ``unsqueeze(2)`` is
    ``[N, 1]``: the column is repeated, so entry ``(i, j)`` is ``label[i]``.
    The stored row or column is drawn solid; the broadcast copies are faded.
    """
    labels = as_1d(labels, "labels")
    n = labels.shape[0]
    side = panel_side(n)
    as_row = labels.unsqueeze(0).expand(n, n)
    as_col = labels.unsqueeze(1).expand(n, n)
    stored_row = np.full((n, n), 0.35)
    stored_row[0, :] = 1.0
    stored_col = np.full((n, n), 0.35)
    stored_col[:, 0] = 1.0
    with frame(figure, ("broadcast_operands",), (2 * side + 0.5, side + 0.7), lambda fig: fig.subplots(1, 2)) as (fig, axes):
        for ax, grid, alpha, title in (
            (axes[0], as_row, stored_row, "mask_windows.unsqueeze(1): [1, N] → row repeated\nentry (i, j) = label[j]"),
            (axes[1], as_col, stored_col, "mask_windows.unsqueeze(2): [N, 1] → column repeated\nentry (i, j) = label[i]"),
        ):
            draw_cells(ax, region_colours(grid), labels_text(grid) if annotated(n) else None, alpha=alpha)
            query_key_axes(ax, n, labels)
            set_title(ax, title, fontsize=10)
        set_suptitle(fig, "Broadcasting: each operand is repeated N times to [N, N]  (solid: stored, faded: broadcast)", fontsize=11)
    return fig


def draw_label_difference(ax: Axes, difference: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw an ``[N, N]`` difference ``label[j] - label[i]`` in two colours (:data:`DIFFERENCE_KEY`): zero, the
    pair may attend; non-zero, it is masked. Sign and size do not matter, so they get no colour; the numbers
    are written in the cells."""
    difference = as_2d(difference, "difference")
    n = difference.shape[0]
    draw_cells(ax, _mask_colours(difference), labels_text(difference) if annotated(n) else None, fontsize=fontsize_for(n, 75))
    query_key_axes(ax, n, labels)


def difference_key(fig: LabFigure) -> None:
    """The colour key of :func:`draw_label_difference` (:data:`DIFFERENCE_KEY`), below the figure's panels."""
    handles = [Patch(facecolor=colour, edgecolor="#999999", label=text) for colour, text in DIFFERENCE_KEY]
    fig.legend(handles=handles, loc="outside lower center", ncols=len(handles), fontsize=9, frameon=False)


def _mask_colours(mask: torch.Tensor) -> np.ndarray:
    """RGBA colours of mask (or label difference) entries ``[...]`` → ``[..., 4]``: 0 (allowed) light, any other
    value (forbidden) dark."""
    palette = np.array([to_rgba(FORBIDDEN_COLOUR), to_rgba(ALLOWED_COLOUR)])
    return palette[(mask == 0).numpy().astype(np.intp)]


def draw_attention_mask(ax: Axes, mask: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw an ``[N, N]`` mask: light green 0 (may attend), dark grey fill (may not)."""
    mask = as_2d(mask, "mask")
    n = mask.shape[0]
    colours = _mask_colours(mask)
    texts = [[f"{v:g}" if v != 0 else "0" for v in row] for row in mask.tolist()] if annotated(n) else None
    draw_cells(ax, colours, texts, fontsize=fontsize_for(n, 75))
    query_key_axes(ax, n, labels)


def plot_label_difference(
    difference: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, *, figure: LabFigure | None = None
) -> LabFigure:
    """One window's difference ``label[j] - label[i]`` and the mask made from it (walkthrough figure 6).

    Both panels use the same two colours, with a key below them (:data:`DIFFERENCE_KEY`): the difference is
    drawn only as zero / non-zero, the one thing ``masked_fill`` reads.

    Args:
        difference: ``[N, N]``, one window of ``label_difference(mask_windows)``.
        mask: ``[N, N]``, the same window of ``attention_mask``.
        labels: ``[N]``, the window's labels (shown on the axes).
        figure: a figure this function returned before, to redraw in place.
    """
    difference = as_2d(difference, "difference")
    mask = as_2d(mask, "mask")
    labels = as_1d(labels, "labels")
    n = labels.shape[0]
    if difference.shape != (n, n) or mask.shape != (n, n):
        raise ValueError(f"difference and mask must be [N, N] with N={n} (len(labels)), got {tuple(difference.shape)} and {tuple(mask.shape)}")
    side = panel_side(n)

    def build(fig: LabFigure) -> np.ndarray:
        difference_key(fig)
        return fig.subplots(1, 2)

    with frame(figure, ("label_difference",), (2 * side + 0.5, side + 0.9), build) as (fig, (left, right)):
        draw_label_difference(left, difference, labels)
        set_title(left, "unsqueeze(1) - unsqueeze(2): label[j] - label[i]", fontsize=10)
        draw_attention_mask(right, mask, labels)
        set_title(right, "masked_fill(!= 0, -100).masked_fill(== 0, 0)", fontsize=10)
        set_suptitle(fig, "Zero exactly where query i and key j come from the same region; only zero or non-zero matters", fontsize=11)
    return fig


def _mask_gap(n: int) -> int:
    """Gap in cells between the ``[N, N]`` masks of :func:`plot_window_masks`: room for a note line above each."""
    return max(2, round(n / 8))


def plot_window_masks(mask: torch.Tensor, windows_per_row: int, *, figure: LabFigure | None = None) -> LabFigure:
    """Every window's ``[N, N]`` mask, laid out as the windows sit in the map.

    Args:
        mask: ``[nW, N, N]`` from ``attention_mask``.
        windows_per_row: ``W // Mw``.
        figure: a figure this function returned before, to redraw in place.

    Mask ``k``'s entry ``(i, j)`` is centred at ``(col * (N + gap) + j, row * (N + gap) + i)``,
    with ``row, col = divmod(k, windows_per_row)`` and ``gap`` = :func:`_mask_gap` ``(N)``.
    Above each mask a note counts its masked pairs; beyond :data:`MAX_NOTES` windows only
    the masks that have some are noted.
    """
    if not isinstance(mask, torch.Tensor) or mask.dim() != 3:
        raise ValueError(f"mask must be a [nW, N, N] tensor, got {getattr(mask, 'shape', type(mask).__name__)}")
    mask = mask.detach().cpu()
    n_windows, n, _ = mask.shape
    windows_per_row = per_row_of(windows_per_row, "windows_per_row", n_windows)
    rows_of_windows = n_windows // windows_per_row
    gap = _mask_gap(n)
    size = (min(9.0, 1.0 + 1.6 * windows_per_row), min(9.0, 1.0 + 1.6 * rows_of_windows))
    every_note = n_windows <= MAX_NOTES
    with frame(figure, ("window_masks",), size, lambda fig: fig.subplots()) as (fig, ax):
        origins = draw_tiles(ax, _mask_colours(mask), windows_per_row, gap, name="masks")
        masked_pairs = (mask != 0).flatten(1).sum(dim=1).tolist()
        for k, ((x0, y0), masked) in enumerate(zip(origins, masked_pairs, strict=True)):
            if masked or every_note:
                pooled_text(ax, f"note/{k}", x0 - 0.5, y0 - 0.8, f"#{k}: {masked} masked" if masked else f"#{k}: none",
                      fontsize=8, ha="left", va="bottom", color=SEAM_COLOUR if masked else GOOD_COLOUR, in_layout=False)
        ax.set_xlim(-0.7, windows_per_row * (n + gap) - gap - 0.3)
        ax.set_ylim(rows_of_windows * (n + gap) - gap - 0.3, -0.5 - max(1.5, 0.2 * n))
        ax.set_axis_off()
        unnoted = "" if every_note else "; no note: nothing masked"
        set_title(ax, f"attn_mask: [{n_windows}, {n}, {n}]  (dark: -100, light: 0{unnoted})", fontsize=11)
    return fig


