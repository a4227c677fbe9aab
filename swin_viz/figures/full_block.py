"""Figures of ``notebooks/06_full_block.ipynb``: the full block: the tokens through every stage, one window's attention, the weight across a seam."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import TwoSlopeNorm, to_rgba

from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import (
    as_1d,
    as_2d,
    draw_cells,
    finish_grid,
    index_in,
    per_row_of,
    query_key_axes,
    seam_lines,
    window_borders,
)
from swin_viz.figures._pool import boxes, frame, pooled_polygons, pooled_text
from swin_viz.figures._style import MAX_ANNOTATED, SEAM_COLOUR, annotated, fontsize_for, panel_side, region_colours
from swin_viz.figures.broadcast_subtraction import draw_attention_mask
from swin_viz.figures.cyclic_shift import draw_cyclic_shift
from swin_viz.figures.masked_softmax import draw_attention_weights
from swin_viz.figures.window_partition import draw_window_tiles
from swin_viz.tensors import as_pair

__all__ = ["LEAK_CMAP", "WEIGHT_CMAP", "OUTSIDE_COLOUR", "draw_window_tokens", "plot_block_trace", "draw_attention_scores", "plot_window_attention", "draw_leak_map", "plot_leaked_attention", "draw_query_weights", "plot_block_leak"]

#: Colour map of the leaked weight (0 white, 1 dark red) and of one query's weights.
LEAK_CMAP = "Reds"
WEIGHT_CMAP = "Blues"
#: Colour of a cell outside the query's window in :func:`draw_query_weights`.
OUTSIDE_COLOUR = "#f2f2f2"


def _token_grid(tokens: torch.Tensor, name: str, dims: int) -> torch.Tensor:
    """``tokens`` as an integer tensor of ``dims`` dimensions (token ids ``row * Wp + col``)."""
    if not isinstance(tokens, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of token ids, got {type(tokens).__name__}")
    if tokens.dim() != dims:
        raise ValueError(f"{name} must have {dims} dimensions, got shape {tuple(tokens.shape)}")
    if tokens.is_floating_point() or tokens.is_complex() or tokens.dtype == torch.bool:
        raise TypeError(f"{name} must hold integer token ids (use .long()), got dtype {tokens.dtype}")
    return tokens.detach().cpu().long()


def _token_labels(tokens: torch.Tensor, token_labels: torch.Tensor) -> torch.Tensor:
    """The region label of each token id in ``tokens`` (same shape); ``token_labels`` is indexed by id."""
    flat = token_labels.reshape(-1)
    if tokens.numel() and (int(tokens.min()) < 0 or int(tokens.max()) >= flat.numel()):
        raise ValueError(f"token ids must lie in 0..{flat.numel() - 1} (row * Wp + col of the padded map)")
    return flat[tokens]


def _outline_width(height: int, width: int, largest: float = 2.5) -> float:
    """Line width of a one-cell outline: ``largest`` on small maps, thinner as the cells shrink (never below 0.9)."""
    return float(min(largest, max(0.9, 24.0 / max(height, width, 1))))


def _leak_text(value: float) -> str:
    """A leaked weight in a cell: ``0`` exactly, two decimals from 0.005, else one significant digit (``4e-42``)."""
    if value == 0:
        return "0"
    if value >= 0.005:
        return f"{value:.2f}".lstrip("0")
    return f"{value:.0e}".replace("e-0", "e-")


def draw_window_tokens(
    ax: Axes,
    tokens: torch.Tensor,
    token_labels: torch.Tensor,
    width: int,
    windows_per_row: int,
    *,
    highlight: int | None = None,
) -> None:
    """Draw ``[nW, Mh, Mw]`` token ids as windows apart from each other, each cell ``row,col`` in its region colour.

    Args:
        ax: the axes.
        tokens: ``[nW, Mh, Mw]`` ids ``row * width + col`` of the token in each window slot.
        token_labels: ``[Hp, Wp]`` the region label of the token that starts at ``(row, col)``.
        width: ``Wp``, to write id ``t`` as ``t // width, t % width``.
        windows_per_row: ``Wp // Mw``.
        highlight: a window to outline in red.
    """
    tokens = _token_grid(tokens, "tokens", 3)
    n_windows, window_h, window_w = tokens.shape
    windows_per_row = per_row_of(windows_per_row, "windows_per_row", n_windows)
    rows_of_windows = n_windows // windows_per_row
    annotate = max(window_h * rows_of_windows, window_w * windows_per_row) <= MAX_ANNOTATED
    texts = [[[f"{t // width},{t % width}" for t in row] for row in window] for window in tokens.tolist()] if annotate else None
    size = fontsize_for(max(window_h * rows_of_windows, window_w * windows_per_row), 75)
    colours = region_colours(_token_labels(tokens, token_labels))
    draw_window_tiles(ax, colours, windows_per_row, texts, size, highlight=highlight, titles=annotate)


def plot_block_trace(
    padded: torch.Tensor,
    shifted: torch.Tensor,
    windows: torch.Tensor,
    reversed_map: torch.Tensor,
    unshifted: torch.Tensor,
    token_labels: torch.Tensor,
    window: int | tuple[int, int],
    shift: int | tuple[int, int],
    *,
    highlight: int | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Where every token sits at each spatial stage of the block, and the way back.

    Each argument is a map of token ids ``row * Wp + col`` (where the token
    started, in the padded ``Hp x Wp`` map) read off one stage of
    :func:`~swin_viz.block.shifted_window_attention`:

    Args:
        padded: ``[Hp, Wp]`` the input (stage ``padded``).
        shifted: ``[Hp, Wp]`` after ``torch.roll(x, (-s, -s))`` (stage ``shifted``).
        windows: ``[nW, Mh, Mw]`` after ``window_partition`` (stage ``windows``; the
            attention's output, stage ``attended``, comes back in the same slots).
        reversed_map: ``[Hp, Wp]`` after ``window_reverse`` (stage ``reversed``).
        unshifted: ``[Hp, Wp]`` after ``torch.roll(x, (s, s))`` (stage ``unshifted``).
        token_labels: ``[Hp, Wp]`` the region label of the token that starts at ``(row, col)``;
            a token keeps its colour in every panel.
        window, shift: ``M``/``(Mh, Mw)`` and ``s``/``(sh, sw)``.
        highlight: a window ``k`` to outline in the window panel.
        figure: a figure this function returned before, to redraw in place.

    Top row, left to right: input, roll, partition. Bottom row, right to left:
    the attention (a note), window reverse, reverse roll, which ends under the input.
    """
    maps = {name: _token_grid(t, name, 2) for name, t in
            (("padded", padded), ("shifted", shifted), ("reversed_map", reversed_map), ("unshifted", unshifted))}
    tiles = _token_grid(windows, "windows", 3)
    token_labels = as_2d(token_labels, "token_labels")
    height, width = token_labels.shape
    for name, grid in maps.items():
        if tuple(grid.shape) != (height, width):
            raise ValueError(f"{name} must be [Hp, Wp] = {[height, width]} (token_labels.shape), got {tuple(grid.shape)}")
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    if height % window_hw[0] or width % window_hw[1]:
        raise ValueError(f"window={window_hw} must divide the padded map {height}x{width}")
    n_windows, n_tokens = (height // window_hw[0]) * (width // window_hw[1]), window_hw[0] * window_hw[1]
    if tuple(tiles.shape) != (n_windows, *window_hw):
        raise ValueError(f"windows must be [nW, Mh, Mw] = {[n_windows, *window_hw]}, got {tuple(tiles.shape)}")
    side = min(3.6, 1.2 + 0.27 * max(height, width))
    size = (3 * side + 0.6, 2 * side * height / width + 1.5)
    seam_after = (height - shift_hw[0], width - shift_hw[1])
    with frame(figure, ("block_trace",), size, lambda fig: fig.subplots(2, 3)) as (fig, axes):
        (x_ax, roll_ax, windows_ax), (back_ax, reverse_ax, note_ax) = axes
        labelled = lambda grid: _token_labels(grid, token_labels)  # noqa: E731
        draw_cyclic_shift(x_ax, maps["padded"], labelled(maps["padded"]), width, seam=shift_hw,
                          title="1. x: shifted windows (thick), the cut (red)", window=window_hw, window_offset=shift_hw)
        draw_cyclic_shift(roll_ax, maps["shifted"], labelled(maps["shifted"]), width, seam=seam_after,
                          title=f"2. torch.roll(x, ({-shift_hw[0]}, {-shift_hw[1]})): regular windows", window=window_hw)
        draw_window_tokens(windows_ax, tiles, token_labels, width, width // window_hw[1], highlight=highlight)
        set_title(windows_ax, f"3. window_partition: {n_windows} windows of N = {n_tokens}", fontsize=10)
        note_ax.set_axis_off()
        note_ax.set_xlim(0, 1)
        note_ax.set_ylim(0, 1)
        pooled_text(note_ax, "note", 0.0, 0.5,
              "4. attention, window by window:\n"
              "   attn_windows = self.attn(\n"
              "       x_windows, mask=self.attn_mask)\n"
              f"   [nW*B, N, C] = [{n_windows}*B, {n_tokens}, C]\n\n"
              "   output n of window k belongs to\n"
              "   the token in slot n (panel 3):\n"
              "   attention mixes features,\n"
              "   it never moves a token.\n\n"
              "   Back, right to left: 5, then 6.",
              ha="left", va="center", fontsize=9, family="monospace", in_layout=False, chrome=True)
        draw_cyclic_shift(reverse_ax, maps["reversed_map"], labelled(maps["reversed_map"]), width, seam=seam_after,
                          title="5. window_reverse: still rolled", window=window_hw)
        draw_cyclic_shift(back_ax, maps["unshifted"], labelled(maps["unshifted"]), width, seam=shift_hw,
                          title=f"6. torch.roll(x, ({shift_hw[0]}, {shift_hw[1]})): every token back", window=window_hw,
                          window_offset=shift_hw)
        set_suptitle(fig, "The tokens through the block (cells: where each token started; colour: its region)", fontsize=11)
    return fig


def draw_attention_scores(ax: Axes, scores: torch.Tensor, labels: torch.Tensor | None = None, *, limit: float | None = None) -> None:
    """Draw ``[N, N]`` real scores (or biases): red above 0, blue below, one decimal; rows are queries.

    ``limit`` is the value drawn at full colour (default: the largest ``|score|``).
    """
    scores = as_2d(scores, "scores").double()
    n = scores.shape[0]
    values = scores.numpy()
    top = float(limit) if limit is not None else max(float(np.abs(values).max(initial=0.0)), 1e-12)
    colours = matplotlib.colormaps["coolwarm"](TwoSlopeNorm(0.0, -top, top)(np.clip(values, -top, top)))
    texts = [[f"{v:.1f}".replace("-0.0", "0.0") for v in row] for row in scores.tolist()] if annotated(n) else None
    draw_cells(ax, colours, texts, fontsize=fontsize_for(n, 70))
    query_key_axes(ax, n, labels)


def plot_window_attention(
    bias: torch.Tensor,
    scores: torch.Tensor,
    mask: torch.Tensor,
    weights: torch.Tensor,
    labels: torch.Tensor,
    *,
    window_index: int | None = None,
    head: int | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Inside ``WindowAttention.forward`` for one window and head: bias, scores, mask, softmax weights.

    Args:
        bias: ``[N, N]`` ``relative_position_bias[head]`` (stage ``bias``).
        scores: ``[N, N]`` ``q·kᵀ·scale + bias`` of the window (stage ``scores``).
        mask: ``[N, N]`` the window's ``attn_mask`` (stage ``mask``).
        weights: ``[N, N]`` ``softmax(scores + mask)`` (stage ``weights``).
        labels: ``[N]`` the window's region labels (on the axes).
        window_index, head: named in the titles.
        figure: a figure this function returned before, to redraw in place.
    """
    labels = as_1d(labels, "labels")
    n = labels.shape[0]
    grids = {name: as_2d(t, name) for name, t in (("bias", bias), ("scores", scores), ("mask", mask), ("weights", weights))}
    for name, grid in grids.items():
        if tuple(grid.shape) != (n, n):
            raise ValueError(f"{name} must be [N, N] with N={n} (len(labels)), got {tuple(grid.shape)}")
    limit = max(float(grids["scores"].abs().max()), float(grids["bias"].abs().max()), 1e-12)
    side = min(3.7, 1.5 + 0.25 * n)
    where = "" if window_index is None else f"window {window_index}"
    where += "" if head is None else (", " if where else "") + f"head {head}"
    with frame(figure, ("window_attention",), (2 * side + 0.6, 2 * side + 0.9), lambda fig: fig.subplots(2, 2)) as (fig, axes):
        (bias_ax, scores_ax), (mask_ax, weights_ax) = axes
        draw_attention_scores(bias_ax, grids["bias"], labels, limit=limit)
        set_title(bias_ax, "relative_position_bias  (the same in every window)", fontsize=10)
        draw_attention_scores(scores_ax, grids["scores"], labels, limit=limit)
        set_title(scores_ax, "attn = q @ k.transpose(-2, -1) · scale + bias", fontsize=10)
        draw_attention_mask(mask_ax, grids["mask"], labels)
        set_title(mask_ax, "mask  (0: same region, -100: across a seam)", fontsize=10)
        draw_attention_weights(weights_ax, grids["weights"], labels)
        set_title(weights_ax, "softmax(attn + mask): each row sums to 1", fontsize=10)
        set_suptitle(fig, f"WindowAttention.forward, {where}" if where else "WindowAttention.forward", fontsize=11)
    return fig


def draw_leak_map(
    ax: Axes,
    leak: torch.Tensor,
    window: int | tuple[int, int],
    shift: int | tuple[int, int],
    *,
    query: tuple[int, int] | None = None,
) -> None:
    """Draw ``[H, W]`` leaked weights on the original map (white 0 to dark red 1), with the shifted windows and the cut.

    Thick lines are the shifted windows' borders (every ``M`` from ``s``);
    dashed red lines are where the roll cuts the map (row ``sh``, column ``sw``).
    ``query`` ``(row, col)`` is outlined in black.
    """
    leak = as_2d(leak, "leak").double()
    height, width = leak.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    values = leak.numpy()
    colours = matplotlib.colormaps[LEAK_CMAP](np.clip(values, 0.0, 1.0) * 0.9)
    colours[values == 0] = to_rgba("white")
    texts = [[_leak_text(v) for v in row] for row in leak.tolist()] if annotated(height, width) else None
    draw_cells(ax, colours, texts, fontsize=fontsize_for(max(height, width), 72))
    window_borders(ax, height, width, window_hw, shift_hw)
    seam_lines(ax, height, width, *shift_hw)
    if query is not None:
        row, col = query
        pooled_polygons(ax, "query", boxes(col - 0.5, row - 0.5, 1, 1), edgecolor="black",
                  linewidth=_outline_width(height, width, 3.0), zorder=6)
    finish_grid(ax, height, width, every=window_hw)


def plot_leaked_attention(
    unmasked: torch.Tensor,
    masked: torch.Tensor,
    window: int | tuple[int, int],
    shift: int | tuple[int, int],
    *,
    head: int | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """How much of each query's attention crosses a wrap seam, without the mask and with it.

    Args:
        unmasked: ``[H, W]`` ``leaked_attention(..., use_mask=False)[b, head]``.
        masked: ``[H, W]`` ``leaked_attention(..., use_mask=True)[b, head]``.
        window, shift: the layout (the shifted windows and the cut are drawn).
        head: named in the title.
        figure: a figure this function returned before, to redraw in place.

    One colour scale, 0 (white) to 1 (dark red), in both panels; cells read
    the weight (``0`` only when it is exactly zero).
    """
    unmasked = as_2d(unmasked, "unmasked").double()
    masked = as_2d(masked, "masked").double()
    if unmasked.shape != masked.shape:
        raise ValueError(f"unmasked and masked must have the same [H, W] shape, got {tuple(unmasked.shape)} and {tuple(masked.shape)}")
    height, width = unmasked.shape
    side = panel_side(width)
    size = (2 * side + 0.5, side * height / width + 1.1)
    with frame(figure, ("leaked_attention",), size, lambda fig: fig.subplots(1, 2)) as (fig, (left, right)):
        for ax, leak, name in ((left, unmasked, "use_mask=False"), (right, masked, "use_mask=True")):
            draw_leak_map(ax, leak, window, shift)
            leaking = int((leak > 0).sum())
            set_title(ax, f"{name}: {leaking} of {height * width} queries leak, largest {_leak_text(float(leak.max()))}",
                   fontsize=10, chrome=False)
        which = "" if head is None else f" (head {head})"
        set_suptitle(fig, f"Weight each query puts on keys from across a seam{which}", fontsize=11)
    return fig


def draw_query_weights(
    ax: Axes,
    origins: torch.Tensor,
    weights: torch.Tensor,
    across: torch.Tensor,
    query: int,
    height: int,
    width: int,
    *,
    window: int | tuple[int, int] | None = None,
) -> None:
    """Draw one query's softmax weights ``[N]`` on the original ``H x W`` map, at the keys' original places.

    Args:
        ax: the axes.
        origins: ``[N, 2]`` original ``(row, col)`` of the window's tokens; rows ``>= H`` or
            columns ``>= W`` (padding) are not drawn.
        weights: ``[N]`` the query's weights (a row of stage ``weights``); the colour is relative
            to the largest of them, the cell text absolute.
        across: ``[N]`` bool, the keys across a seam from the query (outlined in red).
        query: the query's slot ``i`` in the window (outlined in black).
        height, width: the original map's ``H, W``.
        window: ``M`` or ``(Mh, Mw)``: where a big map is ticked.
    """
    weights = as_1d(weights, "weights").double()
    across = as_1d(across, "across")
    n = weights.shape[0]
    if not isinstance(origins, torch.Tensor) or tuple(origins.shape) != (n, 2):
        raise ValueError(f"origins must be [N, 2] with N={n} (len(weights)), got {getattr(origins, 'shape', None)}")
    if tuple(across.shape) != (n,) or across.dtype != torch.bool:
        raise ValueError(f"across must be a bool [N] with N={n}")
    query = index_in(query, "query", n)
    places = origins.tolist()
    real = [r < height and c < width for r, c in places]
    colours = np.full((height, width, 4), to_rgba(OUTSIDE_COLOUR))
    cmap = matplotlib.colormaps[WEIGHT_CMAP]
    values = weights.tolist()
    texts = [["" for _ in range(width)] for _ in range(height)] if annotated(height, width) else None
    largest = max(max(values), 1e-300)
    for token, ((r, c), ok) in enumerate(zip(places, real, strict=True)):
        if not ok:
            continue
        colours[r, c] = cmap(0.15 + 0.75 * min(max(values[token] / largest, 0.0), 1.0))  # darkest: the largest weight
        if texts is not None:
            texts[r][c] = _leak_text(values[token])
    draw_cells(ax, colours, texts, fontsize=fontsize_for(max(height, width), 72), name="weights")
    corners = np.array(places, dtype=float)[:, ::-1] - 0.5  # (x, y) of each token's cell
    keys = [j for j in range(n) if bool(across[j]) and real[j]]
    pooled_polygons(ax, "across", boxes(corners[keys, 0], corners[keys, 1], 1, 1) if keys else [], edgecolor=SEAM_COLOUR,
              linewidth=_outline_width(height, width), zorder=5)
    pooled_polygons(ax, "query", boxes(*corners[query], 1, 1), edgecolor="black", linewidth=_outline_width(height, width, 3.0),
              zorder=6)
    finish_grid(ax, height, width, every=None if window is None else as_pair(window, "window"))


def plot_block_leak(
    leak: torch.Tensor,
    origins: torch.Tensor,
    weights: torch.Tensor,
    across: torch.Tensor,
    query: int,
    window: int | tuple[int, int],
    shift: int | tuple[int, int],
    *,
    use_mask: bool,
    head: int,
    figure: LabFigure | None = None,
) -> LabFigure:
    """The leak over the whole map, and one query's weights, for the block with or without the mask.

    Args:
        leak: ``[H, W]`` ``leaked_attention(...)[b, head]`` with ``use_mask``.
        origins: ``[N, 2]`` original ``(row, col)`` of the tokens of the query's window.
        weights: ``[N]`` the query's softmax weights in that window.
        across: ``[N]`` bool, the keys on the other side of a seam from the query.
        query: the query's slot ``i`` in its window.
        window, shift: the layout.
        use_mask, head: named in the titles.
        figure: a figure this function returned before, to redraw in place.
    """
    leak = as_2d(leak, "leak")
    height, width = leak.shape
    if not isinstance(origins, torch.Tensor) or origins.dim() != 2 or origins.shape[-1] != 2:
        raise ValueError(f"origins must be [N, 2], got {getattr(origins, 'shape', None)}")
    query = index_in(query, "query", origins.shape[0])
    query_rc = tuple(int(v) for v in origins[query].tolist())
    side = panel_side(width)
    size = (2 * side + 0.5, side * height / width + 1.1)
    state = "mask on" if use_mask else "mask off"
    with frame(figure, ("block_leak",), size, lambda fig: fig.subplots(1, 2)) as (fig, (left, right)):
        draw_leak_map(left, leak, window, shift, query=query_rc)
        leaking = int((leak > 0).sum())
        set_title(left, f"{state}, head {head}: {leaking} of {height * width} queries leak, "
                     f"largest {_leak_text(float(leak.max()))}", fontsize=10, chrome=False)
        draw_query_weights(right, origins, weights, across, query, height, width, window=window)
        crossing = float(as_1d(weights, "weights").double()[across].sum())
        set_title(right, f"query ({query_rc[0]}, {query_rc[1]}): weight across a seam (red boxes) {_leak_text(crossing)}",
               fontsize=10, chrome=False)
        set_suptitle(fig, "Weight across a wrap seam: every query (left), one query's keys (right)", fontsize=11)
    return fig


