"""Figures of ``notebooks/01_cyclic_shift.ipynb``: the cyclic shift ``torch.roll(x, (-s, -s))``, before and after (walkthrough figure 1)."""

from __future__ import annotations

import torch
from matplotlib.axes import Axes

from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import as_2d, draw_cells, finish_grid, seam_lines, window_borders
from swin_viz.figures._pool import frame
from swin_viz.figures._style import annotated, fontsize_for, region_colours
from swin_viz.tensors import as_pair, reverse_cyclic_shift

__all__ = ["draw_cyclic_shift", "plot_cyclic_shift"]

def draw_cyclic_shift(
    ax: Axes,
    tokens: torch.Tensor,
    labels: torch.Tensor,
    width: int,
    *,
    seam: tuple[int, int] | None,
    title: str,
    window: tuple[int, int] | None = None,
    window_offset: tuple[int, int] = (0, 0),
) -> None:
    """Draw a map of token ids as their original ``row,col``, coloured by ``labels`` ``[H, W]``.

    ``seam`` marks, with dashed red lines, the row and column where the roll cut
    (before) or joined (after) the map. With ``window``, thick lines show the
    window borders, starting ``window_offset`` cells from the top left.
    """
    tokens = as_2d(tokens, "tokens")
    labels = as_2d(labels, "labels")
    rows, cols = tokens.shape
    texts = [[f"{t // width},{t % width}" for t in row] for row in tokens.tolist()] if annotated(rows, cols) else None
    draw_cells(ax, region_colours(labels), texts, fontsize=fontsize_for(cols, 75))
    if window is not None:
        window_borders(ax, rows, cols, window, window_offset)
    if seam is not None:
        seam_row, seam_col = seam
        seam_lines(ax, rows, cols, seam_row, seam_col)
    finish_grid(ax, rows, cols, every=window)
    set_title(ax, title, fontsize=10)


def plot_cyclic_shift(
    x: torch.Tensor,
    shifted_x: torch.Tensor,
    labels: torch.Tensor,
    shift: int | tuple[int, int],
    window: int | tuple[int, int] | None = None,
    *,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Before and after ``torch.roll(x, (-s, -s))``, side by side (walkthrough figure 1).

    Args:
        x: ``[H, W]`` token ids ``row * W + col`` of the original map.
        shifted_x: ``[H, W]``, ``cyclic_shift(x, shift)``.
        labels: ``[H, W]`` region labels of the rolled map (``region_labels``);
            each token keeps its colour through the roll.
        shift: ``s`` or ``(sh, sw)``.
        window: ``M`` or ``(Mh, Mw)`` to draw the window borders: the regular
            windows on the rolled map (right) are the shifted windows, offset by
            ``s``, of the original map (left).
        figure: a figure this function returned before, to redraw in place.

    Cells show each token's original ``row,col``; dashed red lines mark where
    the map is cut (left) and where the moved rows and columns now join (right).
    """
    x = as_2d(x, "x")
    shifted_x = as_2d(shifted_x, "shifted_x")
    labels = as_2d(labels, "labels")
    if x.shape != shifted_x.shape or x.shape != labels.shape:
        raise ValueError(
            f"x, shifted_x and labels must have the same [H, W] shape, got {tuple(x.shape)}, {tuple(shifted_x.shape)}, {tuple(labels.shape)}"
        )
    height, width = x.shape
    shift_hw = as_pair(shift, "shift")
    window_hw = None if window is None else as_pair(window, "window")
    side = min(6.0, 2.0 + 0.45 * width)
    size = (2 * side + 0.4, side * height / width + 0.7)
    with frame(figure, ("cyclic_shift",), size, lambda fig: fig.subplots(1, 2)) as (fig, (before, after)):
        draw_cyclic_shift(
            before, x, reverse_cyclic_shift(labels, shift_hw), width, seam=shift_hw, title="x  (before)",
            window=window_hw, window_offset=shift_hw,
        )
        draw_cyclic_shift(
            after,
            shifted_x,
            labels,
            width,
            seam=(height - shift_hw[0], width - shift_hw[1]),
            title=f"torch.roll(x, shifts=({-shift_hw[0]}, {-shift_hw[1]}))  (after)",
            window=window_hw,
        )
        set_title(after, after.get_title(), fontsize=10, chrome=False)  # follows the shift
        set_suptitle(fig, "Cyclic shift: the top rows and left columns wrap to the bottom and right", fontsize=11)
    return fig


