"""Figures of ``notebooks/05_masked_softmax.ipynb``: the mask at work in the softmax: the leak, Q·Kᵀ against the mask, the weights (walkthrough figures 7-10)."""

from __future__ import annotations

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.colors import to_rgba

from swin_viz.figures._canvas import LabFigure, set_suptitle, set_title
from swin_viz.figures._grid import (
    as_1d,
    as_2d,
    chart_xticks,
    draw_cells,
    finish_grid,
    grid_ticks,
    index_in,
    no_ticks,
    query_key_axes,
)
from swin_viz.figures._pool import boxes, frame, pooled_legend, pooled_lines, pooled_polygons, pooled_text, set_ratios
from swin_viz.figures._style import (
    GOOD_COLOUR,
    MAX_ANNOTATED,
    NEUTRAL_COLOUR,
    SEAM_COLOUR,
    annotated,
    fontsize_for,
    panel_side,
    region_colours,
    tick_step,
)
from swin_viz.figures._text import outline
from swin_viz.figures.broadcast_subtraction import difference_key, draw_label_difference
from swin_viz.tensors import as_int

__all__ = ["LEAK_KEY", "QK_COLOUR", "QK_FONT_BASE", "scores_title", "draw_attention_weights", "plot_attention_weights", "plot_leak", "plot_qk_sequences", "draw_qk_positions", "qk_labels", "prepare_qk_labels", "QK_LABELLED_N", "plot_qk_alignment", "plot_linear_token_order"]

#: Background of a ``Q·Kᵀ`` position cell (:func:`draw_qk_positions`): neutral, it holds no value yet.
QK_COLOUR = "#f4f4f4"
#: The largest ``N`` whose ``q_i·k_j`` labels an explorer shows: ``M = 4``; from ``M = 5`` on its cells are too small
#: for them and they are dropped.
QK_LABELLED_N = 16
#: ``base`` of :func:`~swin_viz.figures._style.fontsize_for` for the ``q_i·k_j`` labels: 8.3 points (11.6 px) at N = 9.
QK_FONT_BASE = 75.0
#: Colours of :func:`plot_leak`'s bars and what each means (house colours, none of them a region's).
LEAK_KEY: tuple[tuple[str, str], ...] = (
    (SEAM_COLOUR, "no mask: key from another region (leak)"),
    (NEUTRAL_COLOUR, "no mask: key from the query's region"),
    (GOOD_COLOUR, "with the mask"),
)


def draw_attention_weights(ax: Axes, weights: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw ``[N, N]`` softmax weights in blues, with two decimals; rows are queries."""
    weights = as_2d(weights, "weights").double()
    n = weights.shape[0]
    colours = matplotlib.colormaps["Blues"](np.clip(weights.numpy(), 0.0, 1.0) * 0.85)
    texts = [[f"{v:.2f}".lstrip("0") if v >= 0.005 else "0" for v in row] for row in weights.tolist()] if annotated(n) else None
    draw_cells(ax, colours, texts, fontsize=fontsize_for(n, 70))
    query_key_axes(ax, n, labels)


def scores_title(softmax: str, seed: int | None) -> str:
    """The title of a heat map of ``softmax``, saying where its scores came from: seeded random numbers
    (``seed``, the seed the caller drew them with) or, with ``seed=None``, given scores."""
    if seed is None:
        return softmax
    return f"{softmax}, random scores (seed {as_int(seed, 'seed')})"


def plot_attention_weights(
    weights: torch.Tensor,
    labels: torch.Tensor,
    *,
    unmasked: torch.Tensor | None = None,
    seed: int | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Softmax weights of one window and head, ``[N, N]``; with ``unmasked`` the same scores without the mask beside it.

    Args:
        weights: ``[N, N]`` rows of ``masked_window_softmax``.
        labels: ``[N]`` the window's region labels (on the axes).
        unmasked: ``[N, N]`` softmax of the same scores with no mask, drawn on the left.
        seed: the seed the scores were drawn with, if they are random (``torch.randn``): the titles say so
            (:func:`scores_title`); ``None`` for scores of a real ``Q·Kᵀ``.
        figure: a figure this function returned before, to redraw in place.
    """
    weights = as_2d(weights, "weights")
    labels = as_1d(labels, "labels")
    n = labels.shape[0]
    panels = [] if unmasked is None else [(as_2d(unmasked, "unmasked"), scores_title("softmax(Q·Kᵀ), no mask", seed))]
    panels.append((weights, scores_title("softmax(Q·Kᵀ + mask)", seed)))
    for grid, _ in panels:
        if grid.shape != (n, n):
            raise ValueError(f"weights must be [N, N] with N={n} (len(labels)), got {tuple(grid.shape)}")
    side = panel_side(n)
    size = (len(panels) * side + 0.5, side + 0.6)
    build = lambda fig: np.atleast_1d(fig.subplots(1, len(panels)))  # noqa: E731
    with frame(figure, ("attention_weights", len(panels)), size, build) as (fig, axes):
        for ax, (grid, title) in zip(axes, panels, strict=True):
            draw_attention_weights(ax, grid, labels)
            set_title(ax, title, fontsize=10)
        set_suptitle(fig, "Attention weights of one window (each row sums to 1)", fontsize=11)
    return fig


def plot_leak(
    origins: torch.Tensor,
    labels: torch.Tensor,
    unmasked: torch.Tensor,
    masked: torch.Tensor,
    query: int,
    height: int,
    width: int,
    *,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Where one query's attention goes in the original image, without and with the mask (walkthrough figure 7).

    Args:
        origins: ``[N, 2]`` original ``(row, col)`` of the window's tokens (``token_origins(...)[k]``).
        labels: ``[N]`` the window's region labels.
        unmasked: ``[N]`` the query's softmax weights without the mask.
        masked: ``[N]`` its weights with the mask.
        query: the query token ``i`` (``0 <= i < N``).
        height, width: the original feature map's ``H, W``.
        figure: a figure this function returned before, to redraw in place.

    Left: the original map; the query is starred, each key cell shows the
    weight it gets without the mask (red: a different region, i.e. across the
    image). Right: the weights as bars (:data:`LEAK_KEY`): without the mask, red on keys from other regions
    (the leak) and grey on the query's own region; with the mask, green. No region colour is used for a bar.
    """
    labels = as_1d(labels, "labels")
    unmasked = as_1d(unmasked, "unmasked").double()
    masked = as_1d(masked, "masked").double()
    n = labels.shape[0]
    if not isinstance(origins, torch.Tensor) or tuple(origins.shape) != (n, 2):
        raise ValueError(f"origins must be [N, 2] with N={n} (len(labels)), got {getattr(origins, 'shape', None)}")
    if unmasked.shape[0] != n or masked.shape[0] != n:
        raise ValueError(f"unmasked and masked must be [N] with N={n}")
    query = index_in(query, "query", n)
    side = min(6.0, 2.0 + 0.42 * width)
    size = (side + 4.8, max(3.6, side * height / width + 0.8))
    rows_cols = origins.tolist()
    label_values = labels.tolist()
    same = (labels == labels[query]).tolist()
    background = np.full((height, width, 4), to_rgba("#f2f2f2"))
    background[origins[:, 0].numpy(), origins[:, 1].numpy()] = region_colours(labels)
    texts = None
    if annotated(height, width):
        texts = [["" for _ in range(width)] for _ in range(height)]
        for token, (r, c) in enumerate(rows_cols):
            weight = f"{float(unmasked[token]):.2f}".lstrip("0")
            texts[r][c] = f"q\n{weight}" if token == query else weight
    build = lambda fig: fig.subplots(1, 2, width_ratios=[side, 4.2])  # noqa: E731
    with frame(figure, ("leak",), size, build) as (fig, (grid_ax, bar_ax)):
        set_ratios(grid_ax, width=[side, 4.2])
        draw_cells(grid_ax, background, texts, fontsize=fontsize_for(width, 70))
        corners = np.array(rows_cols, dtype=float)[:, ::-1] - 0.5  # (x, y) of each token's cell
        others = [token for token in range(n) if not same[token]]
        pooled_polygons(grid_ax, "query", boxes(*corners[query], 1, 1), edgecolor="black", linewidth=3)
        pooled_polygons(grid_ax, "other_regions", boxes(corners[others, 0], corners[others, 1], 1, 1) if others else [],
                  edgecolor=SEAM_COLOUR, linewidth=2.5)
        finish_grid(grid_ax, height, width)
        qr, qc = rows_cols[query]
        set_title(grid_ax, f"original map: query token {query} (q) from ({qr},{qc}), weights without mask\n"
                        "red boxes: keys from other regions, far away", fontsize=10, chrome=False)
        positions = np.arange(n)
        other = ~np.array(same)
        unmasked_bars = boxes(positions - 0.4, 0, 0.4, unmasked.numpy())
        pooled_polygons(bar_ax, "bars/unmasked/other", unmasked_bars[other], facecolor=SEAM_COLOUR, zorder=1)
        pooled_polygons(bar_ax, "bars/unmasked/own", unmasked_bars[~other], facecolor=NEUTRAL_COLOUR, zorder=1)
        pooled_polygons(bar_ax, "bars/masked", boxes(positions, 0, 0.4, masked.numpy()), facecolor=GOOD_COLOUR, zorder=1)
        if annotated(n):
            chart_xticks(bar_ax, positions, [f"{j}\n({label_values[j]})" for j in positions], fontsize_for(n, 70),
                         "key token j (region label)")
        else:
            ticks = positions[:: tick_step(n)]
            chart_xticks(bar_ax, ticks, [str(j) for j in ticks], fontsize_for(MAX_ANNOTATED, 70), "key token j")
        bar_ax.set_ylabel("attention weight")
        leak_before = float(unmasked[~torch.tensor(same)].sum())
        leak_after = float(masked[~torch.tensor(same)].sum())
        set_title(bar_ax, f"weight on other regions: {leak_before:.3f} → {leak_after:.1e}", fontsize=10, chrome=False)
        pooled_legend(bar_ax, "legend", LEAK_KEY, fontsize=8, loc="upper left")
        margin = 0.05 * (n - 0.2)  # the 5 % autoscale margin ax.bar would leave
        bar_ax.set_xlim(-0.4 - margin, n - 0.6 + margin)
        bar_ax.set_ylim(0, 1.4)  # room for the key above the tallest bar (at most 1)
        y_ticks = np.linspace(0.0, 1.0, 6)
        if not np.array_equal(bar_ax.get_yticks(), y_ticks):  # set once: setting ticks makes them anew
            bar_ax.set_yticks(y_ticks)
        set_suptitle(fig, "Why the mask matters: without it, the query attends across the image", fontsize=11)
    return fig


def plot_qk_sequences(labels: torch.Tensor, *, figure: LabFigure | None = None) -> LabFigure:
    """Q as an ``[N, 1]`` column and Kᵀ as a ``[1, N]`` row of one window, in token order (walkthrough figure 8).

    Args:
        labels: ``[N]`` the window's region labels; cell ``n`` is token ``n``.
        figure: a figure this function returned before, to redraw in place.
    """
    labels = as_1d(labels, "labels")
    n = labels.shape[0]
    values = labels.tolist()

    def build(fig: LabFigure) -> tuple[Axes, Axes, Axes]:
        grid = fig.add_gridspec(2, 2, width_ratios=[1, n], height_ratios=[1, n])
        q_ax = fig.add_subplot(grid[1, 0])
        k_ax = fig.add_subplot(grid[0, 1])
        return q_ax, k_ax, fig.add_subplot(grid[1, 1], sharex=k_ax, sharey=q_ax)

    size = (min(9.0, 2.0 + 0.55 * n), min(7.0, 1.4 + 0.55 * n))
    with frame(figure, ("qk_sequences",), size, build) as (fig, (q_ax, k_ax, note)):
        set_ratios(q_ax, width=[1, n], height=[1, n])
        colours = region_colours(labels)
        annotate = annotated(n)
        draw_cells(q_ax, colours[:, None, :], [[f"q{i}\n({values[i]})"] for i in range(n)] if annotate else None,
                    fontsize=fontsize_for(n, 80))
        finish_grid(q_ax, n, 1, xlabel="", ylabel="token i")
        no_ticks(q_ax)  # the cells say which token they are
        set_title(q_ax, "Q: [N, 1]", fontsize=10)
        draw_cells(k_ax, colours[None, :, :], [[f"k{j}\n({values[j]})" for j in range(n)]] if annotate else None,
                    fontsize=fontsize_for(n, 80))
        finish_grid(k_ax, 1, n, xlabel="", ylabel="")
        no_ticks(k_ax)
        set_title(k_ax, "Kᵀ: [1, N]   (label in brackets)", fontsize=10)
        draw_qk_positions(note, n)
        finish_grid(note, n, n, xlabel="Q·Kᵀ: [N, N]; row i is query token i, column j is key token j", ylabel="")
        no_ticks(note)
    return fig


def qk_labels(n: int) -> list[list[str]]:
    """The ``[N, N]`` texts of :func:`draw_qk_positions`: row ``i``, column ``j`` reads ``q{i}·k{j}``."""
    return [[f"q{i}·k{j}" for j in range(n)] for i in range(n)]


def prepare_qk_labels(n: int = QK_LABELLED_N) -> None:
    """Outline the ``q_i·k_j`` labels of every grid up to ``[n, n]`` now (about half a millisecond each, once per
    process), so that an explorer whose window grows draws them without that wait."""
    for row in qk_labels(n):
        for text in row:
            outline(text)


def draw_qk_positions(ax: Axes, n: int) -> None:
    """Draw the ``[N, N]`` positions of ``Q·Kᵀ``: cell ``(i, j)`` reads ``q{i}·k{j}`` (the dot product of query
    ``i`` and key ``j``) on a neutral background; the labels are dropped, never shrunk, where cells are too small."""
    product = np.full((n, n, 4), to_rgba(QK_COLOUR))
    texts = qk_labels(n) if annotated(n) else None
    draw_cells(ax, product, texts, fontsize=fontsize_for(n, QK_FONT_BASE), name="qk")


def plot_qk_alignment(labels: torch.Tensor, difference: torch.Tensor, *, figure: LabFigure | None = None) -> LabFigure:
    """``Q·Kᵀ`` beside the label difference: entry ``(i, j)`` of both belongs to query ``i`` and key ``j`` (figure 9).

    Args:
        labels: ``[N]`` the window's region labels (on the axes).
        difference: ``[N, N]`` the window's ``label_difference`` (``label[j] - label[i]``), the matrix the mask
            is made from.
        figure: a figure this function returned before, to redraw in place.

    Left, :func:`draw_qk_positions`: cell ``(i, j)`` reads ``q_i·k_j``. Right,
    :func:`~swin_viz.figures.draw_label_difference` in its two colours (:data:`~swin_viz.figures.DIFFERENCE_KEY`):
    where it is non-zero, the mask adds -100 to the score in the same cell on the left.
    """
    labels = as_1d(labels, "labels")
    difference = as_2d(difference, "difference")
    n = labels.shape[0]
    if difference.shape != (n, n):
        raise ValueError(f"difference must be [N, N] with N={n} (len(labels)), got {tuple(difference.shape)}")
    side = panel_side(n)

    def build(fig: LabFigure) -> np.ndarray:
        difference_key(fig)
        return fig.subplots(1, 2)

    with frame(figure, ("qk_alignment",), (2 * side + 0.5, side + 0.9), build) as (fig, (qk_ax, difference_ax)):
        draw_qk_positions(qk_ax, n)
        query_key_axes(qk_ax, n, labels)
        set_title(qk_ax, "attn = q @ k.transpose(-2, -1): entry (i, j) is q_i·k_j", fontsize=10)
        draw_label_difference(difference_ax, difference, labels)
        set_title(difference_ax, "label difference: unsqueeze(1) - unsqueeze(2) = label[j] - label[i]", fontsize=10)
        set_suptitle(fig, "Q·Kᵀ and the label difference index the same pair (i, j): "
                          "+ mask adds -100 exactly where the difference is non-zero", fontsize=11)
    return fig


def plot_linear_token_order(
    x: torch.Tensor, qkv: torch.Tensor, labels: torch.Tensor, *, figure: LabFigure | None = None
) -> LabFigure:
    """``qkv = self.qkv(x)`` acts row by row: token ``n`` of ``x`` becomes row ``n`` of q, k and v (figure 10).

    The walkthrough draws it with ``C = 1`` (``x: [N, 1]``, ``qkv: [N, 3]``), the window of figures 8 and 9.

    Args:
        x: ``[N, C]`` one window's token features.
        qkv: ``[N, 3C]`` the output of the ``nn.Linear``.
        labels: ``[N]`` the tokens' region labels (row colours).
        figure: a figure this function returned before, to redraw in place.
    """
    x = as_2d(x, "x")
    qkv = as_2d(qkv, "qkv")
    labels = as_1d(labels, "labels")
    n = labels.shape[0]
    if x.shape[0] != n or qkv.shape[0] != n:
        raise ValueError(f"x and qkv must have N={n} rows (len(labels)), got {tuple(x.shape)} and {tuple(qkv.shape)}")
    channels, out = x.shape[1], qkv.shape[1]
    values = labels.tolist()
    ratios = [max(channels, 1), max(out, 1)]
    size = (min(12.0, max(6.0, 2.5 + 0.55 * (channels + out))), min(7.0, 1.5 + 0.38 * n))  # at least the suptitle's width
    with frame(figure, ("linear_token_order",), size, lambda fig: fig.subplots(1, 2, width_ratios=ratios)) as (fig, (left, right)):
        set_ratios(left, width=ratios)
        row_colours = region_colours(labels)
        for ax, matrix, title in ((left, x, f"x: [N, C] = [{n}, {channels}]"), (right, qkv, f"qkv = self.qkv(x): [N, 3C] = [{n}, {out}]")):
            cols = matrix.shape[1]
            colours = np.repeat(row_colours[:, None, :], cols, axis=1)
            texts = [[f"{v:.2f}".replace("-0.00", "0.00") for v in row] for row in matrix.double().tolist()]
            draw_cells(ax, colours, texts, fontsize=fontsize_for(max(n, cols), 75))
            finish_grid(ax, n, cols, xlabel="channel", ylabel="token n")
            grid_ticks(ax).set_ticks("y", range(n), [f"token {i} ({values[i]})" for i in range(n)], fontsize_for(n, 70))
            set_title(ax, title, fontsize=10, pad=20)
        if out % 3 == 0 and out > 0:
            boundaries = (out // 3, 2 * out // 3)
            pooled_lines(right, "qkv/borders", [((b - 0.5, -0.5), (b - 0.5, n - 0.5)) for b in boundaries], color="black",
                   linewidth=2, zorder=4)
            for k, name in enumerate("qkv"):
                pooled_text(right, f"qkv/{name}", (k + 0.5) * out / 3 - 0.5, -0.6, name, ha="center", va="bottom", fontsize=11,
                      fontweight="bold", chrome=True)
        set_suptitle(fig, "nn.Linear multiplies every token by the same weights: token n stays row n", fontsize=11)
    return fig


