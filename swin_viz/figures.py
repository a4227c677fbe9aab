"""The pictures: matplotlib figures of the tensors that :mod:`swin_viz.tensors` computes.

Each ``plot_*`` function takes tensors (and the few layout numbers it needs for
annotation) and returns a :class:`LabFigure`. Nothing here computes the mask:
a notebook computes each tensor in front of the reader, prints it, then draws it.

Each ``draw_*`` function draws one panel on a given ``Axes``; the ``plot_*``
functions and :func:`plot_pipeline` lay those panels out, so every picture of a
stage is drawn by one piece of code.

Conventions shared by every figure:

* a region label always has the same colour (:data:`REGION_COLOURS`);
* cells carry their numbers while the grid is small enough to read them
  (up to :data:`MAX_ANNOTATED` cells a side);
* rows are drawn top to bottom, columns left to right, like the tensor prints;
* thick black lines are window borders.

Figures are built with :class:`matplotlib.figure.Figure`, not ``pyplot``, so
they hold no global state and show as a PNG (and nothing else) in Jupyter.
"""

from __future__ import annotations

import io
from typing import Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import TwoSlopeNorm, to_rgba
from matplotlib.figure import Figure

from swin_viz.tensors import as_pair, region_slices, reverse_cyclic_shift

__all__ = [
    "REGION_COLOURS",
    "MAX_ANNOTATED",
    "LabFigure",
    "region_colours",
    "draw_cyclic_shift",
    "draw_region_labels",
    "draw_window_partition",
    "draw_window_rows",
    "draw_label_difference",
    "draw_attention_mask",
    "draw_attention_weights",
    "plot_cyclic_shift",
    "plot_region_labels",
    "plot_window_partition",
    "plot_window_rows",
    "plot_broadcast_operands",
    "plot_label_difference",
    "plot_window_masks",
    "plot_leak",
    "plot_qk_sequences",
    "plot_qk_alignment",
    "plot_attention_weights",
    "plot_linear_token_order",
    "plot_pipeline",
]

#: One colour per region label 0..8 (ColorBrewer Set3), the same in every figure.
REGION_COLOURS: tuple[str, ...] = (
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#bc80bd",
)
#: Grids with more cells than this on a side are drawn without numbers.
MAX_ANNOTATED = 24
#: Colours of an allowed (0.0) and a forbidden (fill) mask entry.
ALLOWED_COLOUR = "#e3f4e1"
FORBIDDEN_COLOUR = "#4d4d4d"
#: Colour of a zero label difference (same region).
ZERO_COLOUR = "#f0f0f0"
DPI = 100


class LabFigure(Figure):
    """A matplotlib ``Figure`` that shows itself in Jupyter as one PNG, with no text repr.

    Use :meth:`to_png` for the bytes (the widgets put them in an ``Image``).
    """

    def to_png(self) -> bytes:
        """Render the figure to PNG bytes at :data:`DPI`."""
        buffer = io.BytesIO()
        self.savefig(buffer, format="png", dpi=DPI, facecolor="white")
        return buffer.getvalue()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display({"image/png": self.to_png()}, raw=True)


def _new_figure(width: float, height: float) -> LabFigure:
    fig = LabFigure(figsize=(width, height), layout="constrained")
    FigureCanvasAgg(fig)
    return fig


# --------------------------------------------------------------------------- #
# Cell grids: the one drawing routine every panel uses                        #
# --------------------------------------------------------------------------- #
def region_colours(labels: torch.Tensor) -> np.ndarray:
    """RGBA colours of region labels: ``[...]`` labels ``0..8`` → ``[..., 4]`` floats."""
    labels_np = np.asarray(labels.detach().cpu(), dtype=np.int64)
    if labels_np.size and (labels_np.min() < 0 or labels_np.max() >= len(REGION_COLOURS)):
        raise ValueError(f"labels must lie in 0..{len(REGION_COLOURS) - 1} to have a region colour")
    palette = np.array([to_rgba(c) for c in REGION_COLOURS])
    return palette[labels_np]


def _text_colour(rgba: np.ndarray) -> str:
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def _fontsize(cells: int, base: float = 100.0) -> float:
    return float(min(12.0, max(5.0, base / max(cells, 1))))


def _draw_cells(
    ax: Axes,
    colours: np.ndarray,
    texts: Sequence[Sequence[str]] | None,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    fontsize: float | None = None,
    alpha: np.ndarray | None = None,
) -> None:
    """Draw an ``[R, C, 4]`` colour grid with its cell texts; cell ``(r, c)`` is centred at ``origin + (c, r)``."""
    rows, cols = colours.shape[:2]
    x0, y0 = origin
    image = colours.copy()
    if alpha is not None:
        image[..., 3] = alpha
    ax.imshow(
        image,
        extent=(x0 - 0.5, x0 + cols - 0.5, y0 + rows - 0.5, y0 - 0.5),
        interpolation="nearest",
        zorder=1,
    )
    # thin white lines between cells
    ax.vlines(np.arange(cols + 1) + x0 - 0.5, y0 - 0.5, y0 + rows - 0.5, colors="white", linewidth=0.8, zorder=2)
    ax.hlines(np.arange(rows + 1) + y0 - 0.5, x0 - 0.5, x0 + cols - 0.5, colors="white", linewidth=0.8, zorder=2)
    if texts is None or max(rows, cols) > MAX_ANNOTATED:
        return
    size = fontsize if fontsize is not None else _fontsize(max(rows, cols))
    for r in range(rows):
        for c in range(cols):
            text = texts[r][c]
            if text:
                faded = alpha is not None and alpha[r, c] < 1
                ax.text(
                    x0 + c,
                    y0 + r,
                    text,
                    ha="center",
                    va="center",
                    fontsize=size,
                    color="#888888" if faded else _text_colour(colours[r, c]),
                    zorder=3,
                )


def _finish_grid(ax: Axes, rows: int, cols: int, *, xlabel: str = "column", ylabel: str = "row") -> None:
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    step_c = max(1, int(np.ceil(cols / MAX_ANNOTATED)))
    step_r = max(1, int(np.ceil(rows / MAX_ANNOTATED)))
    ax.set_xticks(np.arange(0, cols, step_c))
    ax.set_yticks(np.arange(0, rows, step_r))
    ax.tick_params(length=0, labelsize=_fontsize(max(rows, cols), 110))
    for spine in ax.spines.values():
        spine.set_visible(False)


def _window_borders(
    ax: Axes, height: int, width: int, window: tuple[int, int], offset: tuple[int, int] = (0, 0), **style: object
) -> None:
    """Thick lines on the window borders: every ``window`` cells from ``offset``, plus the map's edges."""
    style = {"colors": "black", "linewidth": 2.0, "zorder": 4, **style}
    rows = sorted({0, height, *range(offset[0] % window[0], height + 1, window[0])})
    cols = sorted({0, width, *range(offset[1] % window[1], width + 1, window[1])})
    ax.hlines(np.array(rows) - 0.5, -0.5, width - 0.5, **style)
    ax.vlines(np.array(cols) - 0.5, -0.5, height - 0.5, **style)


def _labels_text(labels: torch.Tensor) -> list[list[str]]:
    return [[str(int(v)) for v in row] for row in labels.reshape(labels.shape[0], -1)]


def _as_2d(tensor: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() != 2:
        raise ValueError(f"{name} must be 2-D, got shape {tuple(tensor.shape)}")
    return tensor.detach().cpu()


def _as_1d(tensor: torch.Tensor, name: str) -> torch.Tensor:
    if not isinstance(tensor, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
    if tensor.dim() != 1:
        raise ValueError(f"{name} must be 1-D [N], got shape {tuple(tensor.shape)}")
    return tensor.detach().cpu()


def _token_ticks(ax: Axes, labels: torch.Tensor, *, axis: str, prefix: str) -> None:
    n = labels.shape[0]
    if n > MAX_ANNOTATED:
        return
    ticks = [f"{prefix}{i}\n({int(labels[i])})" if axis == "x" else f"{prefix}{i} ({int(labels[i])})" for i in range(n)]
    size = _fontsize(n, 80)
    if axis == "x":
        ax.set_xticks(range(n), ticks, fontsize=size)
    else:
        ax.set_yticks(range(n), ticks, fontsize=size)


def _query_key_axes(ax: Axes, n: int, labels: torch.Tensor | None) -> None:
    """Axes of an ``[N, N]`` grid: rows are query tokens ``i``, columns key tokens ``j``, ticked with their labels."""
    _finish_grid(ax, n, n, xlabel="key token j", ylabel="query token i")
    if labels is not None:
        _token_ticks(ax, labels, axis="x", prefix="j=")
        _token_ticks(ax, labels, axis="y", prefix="i=")


# --------------------------------------------------------------------------- #
# Stage 1: cyclic shift                                                       #
# --------------------------------------------------------------------------- #
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
    tokens = _as_2d(tokens, "tokens")
    labels = _as_2d(labels, "labels")
    rows, cols = tokens.shape
    texts = [[f"{int(t) // width},{int(t) % width}" for t in row] for row in tokens]
    _draw_cells(ax, region_colours(labels), texts, fontsize=_fontsize(cols, 75))
    if window is not None:
        _window_borders(ax, rows, cols, window, window_offset)
    if seam is not None:
        seam_row, seam_col = seam
        style = {"colors": "#d62728", "linewidth": 2.5, "linestyles": "--", "zorder": 5}
        if 0 < seam_row < rows:
            ax.hlines(seam_row - 0.5, -0.5, cols - 0.5, **style)
        if 0 < seam_col < cols:
            ax.vlines(seam_col - 0.5, -0.5, rows - 0.5, **style)
    _finish_grid(ax, rows, cols)
    ax.set_title(title, fontsize=10)


def plot_cyclic_shift(
    x: torch.Tensor,
    shifted_x: torch.Tensor,
    labels: torch.Tensor,
    shift: int | tuple[int, int],
    window: int | tuple[int, int] | None = None,
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

    Cells show each token's original ``row,col``; dashed red lines mark where
    the map is cut (left) and where the moved rows and columns now join (right).
    """
    x = _as_2d(x, "x")
    shifted_x = _as_2d(shifted_x, "shifted_x")
    labels = _as_2d(labels, "labels")
    if x.shape != shifted_x.shape or x.shape != labels.shape:
        raise ValueError(
            f"x, shifted_x and labels must have the same [H, W] shape, got {tuple(x.shape)}, {tuple(shifted_x.shape)}, {tuple(labels.shape)}"
        )
    height, width = x.shape
    shift_hw = as_pair(shift, "shift")
    window_hw = None if window is None else as_pair(window, "window")
    side = min(6.0, 2.0 + 0.45 * width)
    fig = _new_figure(2 * side + 0.4, side * height / width + 0.7)
    before, after = fig.subplots(1, 2)
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
    fig.suptitle("Cyclic shift: the top rows and left columns wrap to the bottom and right", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Stage 2: region labels                                                      #
# --------------------------------------------------------------------------- #
def _bands(size: int, window: int, shift: int) -> list[tuple[int, int, str]]:
    """``(start, stop, text)`` for each slice of :func:`region_slices` along one dimension."""
    bands = []
    for band in region_slices(window, shift):
        start, stop, _ = band.indices(size)
        text = f"slice({band.start}, {band.stop})"
        bands.append((start, stop, text))
    return bands


def _span(noun: str, start: int, stop: int) -> str:
    return f"{noun} {start}" if stop - start == 1 else f"{noun}s {start}–{stop - 1}"


def draw_region_labels(
    ax: Axes, labels: torch.Tensor, window: int | tuple[int, int], shift: int | tuple[int, int], *, bands: bool = True
) -> None:
    """Draw the region label map ``[H, W]`` with window borders and, if ``bands``, the h/w slices."""
    labels = _as_2d(labels, "labels")
    height, width = labels.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    _draw_cells(ax, region_colours(labels), _labels_text(labels))
    _window_borders(ax, height, width, window_hw)
    _finish_grid(ax, height, width)
    if not bands:
        return
    bracket = {"arrowstyle": "|-|", "color": "#444444", "shrinkA": 0, "shrinkB": 0, "mutation_scale": 3}
    for k, (start, stop, text) in enumerate(_bands(height, window_hw[0], shift_hw[0])):
        ax.annotate("", xy=(width - 0.2, start - 0.45), xytext=(width - 0.2, stop - 0.55), arrowprops=bracket,
                    annotation_clip=False)
        ax.text(width + 0.1, (start + stop - 1) / 2, f"h_slices[{k}] = {text}\n{_span('row', start, stop)}",
                va="center", ha="left", fontsize=8, clip_on=False)
    for k, (start, stop, text) in enumerate(_bands(width, window_hw[1], shift_hw[1])):
        ax.annotate("", xy=(start - 0.45, -0.8), xytext=(stop - 0.55, -0.8), arrowprops=bracket, annotation_clip=False)
        ax.text((start + stop - 1) / 2, -1.0, f"w_slices[{k}] = {text}\n{_span('col', start, stop)}",
                va="bottom", ha="center", rotation=90, fontsize=8, clip_on=False)
    ax.xaxis.set_label_position("bottom")


def plot_region_labels(labels: torch.Tensor, window: int | tuple[int, int], shift: int | tuple[int, int]) -> LabFigure:
    """The region label map of the rolled feature map, with its slice bands (walkthrough figure 2).

    Args:
        labels: ``[H, W]`` from ``region_labels``.
        window: ``M`` or ``(Mh, Mw)`` (thick lines are window borders).
        shift: ``s`` or ``(sh, sw)`` (the bands are ``region_slices(M, s)``).
    """
    labels = _as_2d(labels, "labels")
    height, width = labels.shape
    side = min(6.5, 2.0 + 0.45 * width)
    fig = _new_figure(side + 3.2, side * height / width + 1.6)
    ax = fig.subplots()
    draw_region_labels(ax, labels, window, shift)
    fig.suptitle("img_mask: one label (cnt) per region, cnt counting over (h_slices × w_slices)", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Stage 3: windows                                                            #
# --------------------------------------------------------------------------- #
GAP = 0.6


def draw_window_partition(ax: Axes, windows: torch.Tensor, windows_per_row: int, *, highlight: int | None = None) -> None:
    """Draw ``[nW, Mh, Mw]`` windows apart from each other, in ``window_partition`` order, each titled ``#k``."""
    if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
        raise ValueError(f"windows must be a [nW, Mh, Mw] tensor, got {getattr(windows, 'shape', type(windows).__name__)}")
    windows = windows.detach().cpu()
    n_windows, window_h, window_w = windows.shape
    if windows_per_row <= 0 or n_windows % windows_per_row:
        raise ValueError(f"windows_per_row={windows_per_row} must divide nW={n_windows}")
    rows_of_windows = n_windows // windows_per_row
    annotate = max(window_h, window_w) * max(rows_of_windows, windows_per_row) <= MAX_ANNOTATED * 2
    size = _fontsize(max(window_h * rows_of_windows, window_w * windows_per_row), 90)
    for k in range(n_windows):
        a, b = divmod(k, windows_per_row)
        x0, y0 = b * (window_w + GAP), a * (window_h + GAP)
        _draw_cells(ax, region_colours(windows[k]), _labels_text(windows[k]) if annotate else None, origin=(x0, y0), fontsize=size)
        edge = "#d62728" if k == highlight else "black"
        ax.add_patch(matplotlib.patches.Rectangle((x0 - 0.5, y0 - 0.5), window_w, window_h, fill=False,
                                                  edgecolor=edge, linewidth=3 if k == highlight else 1.5, zorder=4))
        ax.text(x0 - 0.45, y0 - 0.55, f"#{k}", ha="left", va="bottom", fontsize=max(size - 1, 5), color=edge)
    ax.set_xlim(-0.7, windows_per_row * (window_w + GAP) - GAP - 0.3)
    ax.set_ylim(rows_of_windows * (window_h + GAP) - GAP - 0.3, -1.1)
    ax.set_axis_off()


def plot_window_partition(windows: torch.Tensor, height: int, width: int) -> LabFigure:
    """The label map cut into windows, in the order ``window_partition`` returns them (walkthrough figure 3).

    Args:
        windows: ``[nW, Mh, Mw]`` (or ``[nW, Mh, Mw, 1]``) from ``window_partition(img_mask, M)``.
        height, width: the feature map's ``H, W`` (to lay the windows out as they sat).
    """
    if isinstance(windows, torch.Tensor) and windows.dim() == 4:
        windows = windows[..., 0]
    if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
        raise ValueError("windows must be a [nW, Mh, Mw] or [nW, Mh, Mw, 1] tensor")
    n_windows, window_h, window_w = windows.shape
    if height % window_h or width % window_w or (height // window_h) * (width // window_w) != n_windows:
        raise ValueError(f"{n_windows} windows of {window_h}x{window_w} do not tile a {height}x{width} map")
    per_row = width // window_w
    side = min(7.0, 2.0 + 0.5 * width)
    fig = _new_figure(side, side * height / width + 0.6)
    ax = fig.subplots()
    draw_window_partition(ax, windows, per_row)
    ax.set_title(f"window_partition(img_mask, {window_h if window_h == window_w else (window_h, window_w)}): "
                 f"{n_windows} windows, row-major", fontsize=11)
    return fig


def draw_window_rows(ax: Axes, mask_windows: torch.Tensor, *, highlight: int | None = None) -> None:
    """Draw ``mask_windows`` ``[nW, N]``: one row of token labels per window; mixed rows flagged on the right."""
    mask_windows = _as_2d(mask_windows, "mask_windows")
    n_windows, n_tokens = mask_windows.shape
    _draw_cells(ax, region_colours(mask_windows), _labels_text(mask_windows), fontsize=_fontsize(max(n_tokens, n_windows), 90))
    _finish_grid(ax, n_windows, n_tokens, xlabel="token n (row-major inside the window)", ylabel="window k")
    mixed = [len(torch.unique(row)) > 1 for row in mask_windows]
    if n_windows <= MAX_ANNOTATED * 2:
        for k, is_mixed in enumerate(mixed):
            ax.text(n_tokens - 0.2, k, " needs mask" if is_mixed else " one region", va="center", ha="left",
                    fontsize=_fontsize(n_windows, 80), color="#d62728" if is_mixed else "#2ca02c", clip_on=False)
    if highlight is not None:
        ax.add_patch(matplotlib.patches.Rectangle((-0.5, highlight - 0.5), n_tokens, 1, fill=False,
                                                  edgecolor="#d62728", linewidth=3, zorder=5))


def plot_window_rows(mask_windows: torch.Tensor, *, highlight: int | None = None) -> LabFigure:
    """``mask_windows.view(-1, M*M)``: each window as a row of ``N`` labels (walkthrough figure 4).

    Args:
        mask_windows: ``[nW, N]`` from ``window_labels``.
        highlight: a window index to outline.
    """
    mask_windows = _as_2d(mask_windows, "mask_windows")
    n_windows, n_tokens = mask_windows.shape
    width = min(8.0, 2.5 + 0.45 * n_tokens)
    fig = _new_figure(width, min(8.0, 1.2 + 0.38 * n_windows))
    ax = fig.subplots()
    draw_window_rows(ax, mask_windows, highlight=highlight)
    ax.set_title(f"mask_windows.view(-1, window_size * window_size): [{n_windows}, {n_tokens}]", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Stage 4: broadcast subtraction                                              #
# --------------------------------------------------------------------------- #
def plot_broadcast_operands(labels: torch.Tensor) -> LabFigure:
    """The two operands of ``mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)`` for one window (figure 5).

    Args:
        labels: ``[N]``, one row of ``mask_windows``.

    Left, ``unsqueeze(1)`` is ``[1, N]``: broadcasting repeats that row ``N``
    times, so entry ``(i, j)`` is ``label[j]``. Right, ``unsqueeze(2)`` is
    ``[N, 1]``: the column is repeated, so entry ``(i, j)`` is ``label[i]``.
    The stored row or column is drawn solid; the broadcast copies are faded.
    """
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    side = min(5.5, 1.8 + 0.42 * n)
    fig = _new_figure(2 * side + 0.5, side + 0.7)
    left, right = fig.subplots(1, 2)
    as_row = labels.unsqueeze(0).expand(n, n)
    as_col = labels.unsqueeze(1).expand(n, n)
    stored_row = np.full((n, n), 0.35)
    stored_row[0, :] = 1.0
    stored_col = np.full((n, n), 0.35)
    stored_col[:, 0] = 1.0
    for ax, grid, alpha, title in (
        (left, as_row, stored_row, "mask_windows.unsqueeze(1): [1, N] → row repeated\nentry (i, j) = label[j]"),
        (right, as_col, stored_col, "mask_windows.unsqueeze(2): [N, 1] → column repeated\nentry (i, j) = label[i]"),
    ):
        _draw_cells(ax, region_colours(grid), _labels_text(grid), alpha=alpha)
        _query_key_axes(ax, n, labels)
        ax.set_title(title, fontsize=10)
    fig.suptitle("Broadcasting: each operand is repeated N times to [N, N]  (solid: stored, faded: broadcast)", fontsize=11)
    return fig


def draw_label_difference(ax: Axes, difference: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw an ``[N, N]`` difference ``label[j] - label[i]``: white where zero, red/blue by sign."""
    difference = _as_2d(difference, "difference")
    n = difference.shape[0]
    limit = max(1.0, float(difference.abs().max()))
    cmap = matplotlib.colormaps["coolwarm"]
    colours = cmap(TwoSlopeNorm(0.0, -limit, limit)(difference.numpy().astype(float)))
    colours[difference.numpy() == 0] = to_rgba(ZERO_COLOUR)
    _draw_cells(ax, colours, _labels_text(difference), fontsize=_fontsize(n, 75))
    _query_key_axes(ax, n, labels)


def _mask_colours(mask: torch.Tensor) -> np.ndarray:
    """RGBA colours of mask entries ``[...]`` → ``[..., 4]``: allowed (0) light, forbidden dark."""
    allowed = (mask == 0).numpy()
    colours = np.empty((*allowed.shape, 4))
    colours[allowed] = to_rgba(ALLOWED_COLOUR)
    colours[~allowed] = to_rgba(FORBIDDEN_COLOUR)
    return colours


def draw_attention_mask(ax: Axes, mask: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw an ``[N, N]`` mask: light green 0 (may attend), dark grey fill (may not)."""
    mask = _as_2d(mask, "mask")
    n = mask.shape[0]
    colours = _mask_colours(mask)
    texts = [[f"{float(v):g}" if v != 0 else "0" for v in row] for row in mask]
    _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 75))
    _query_key_axes(ax, n, labels)


def plot_label_difference(difference: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor) -> LabFigure:
    """One window's difference ``label[j] - label[i]`` and the mask made from it (walkthrough figure 6).

    Args:
        difference: ``[N, N]``, one window of ``label_difference(mask_windows)``.
        mask: ``[N, N]``, the same window of ``attention_mask``.
        labels: ``[N]``, the window's labels (shown on the axes).
    """
    difference = _as_2d(difference, "difference")
    mask = _as_2d(mask, "mask")
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    if difference.shape != (n, n) or mask.shape != (n, n):
        raise ValueError(f"difference and mask must be [N, N] with N={n} (len(labels)), got {tuple(difference.shape)} and {tuple(mask.shape)}")
    side = min(5.5, 1.8 + 0.42 * n)
    fig = _new_figure(2 * side + 0.5, side + 0.6)
    left, right = fig.subplots(1, 2)
    draw_label_difference(left, difference, labels)
    left.set_title("unsqueeze(1) - unsqueeze(2): label[j] - label[i]", fontsize=10)
    draw_attention_mask(right, mask, labels)
    right.set_title("masked_fill(!= 0, -100).masked_fill(== 0, 0)", fontsize=10)
    fig.suptitle("Zero exactly where query i and key j come from the same region", fontsize=11)
    return fig


def plot_window_masks(mask: torch.Tensor, windows_per_row: int) -> LabFigure:
    """Every window's ``[N, N]`` mask, laid out as the windows sit in the map.

    Args:
        mask: ``[nW, N, N]`` from ``attention_mask``.
        windows_per_row: ``W // Mw``.
    """
    if not isinstance(mask, torch.Tensor) or mask.dim() != 3:
        raise ValueError(f"mask must be a [nW, N, N] tensor, got {getattr(mask, 'shape', type(mask).__name__)}")
    mask = mask.detach().cpu()
    n_windows, n, _ = mask.shape
    if windows_per_row <= 0 or n_windows % windows_per_row:
        raise ValueError(f"windows_per_row={windows_per_row} must divide nW={n_windows}")
    rows_of_windows = n_windows // windows_per_row
    fig = _new_figure(min(9.0, 1.0 + 1.6 * windows_per_row), min(9.0, 1.0 + 1.6 * rows_of_windows))
    ax = fig.subplots()
    colours = _mask_colours(mask)
    allowed = (mask == 0).numpy()
    for k in range(n_windows):
        a, b = divmod(k, windows_per_row)
        x0, y0 = b * (n + GAP * 3), a * (n + GAP * 3)
        _draw_cells(ax, colours[k], None, origin=(x0, y0))
        masked_pairs = int((~allowed[k]).sum())
        ax.text(x0 - 0.5, y0 - 0.8, f"#{k}: {masked_pairs} masked" if masked_pairs else f"#{k}: none",
                fontsize=8, ha="left", va="bottom", color="#d62728" if masked_pairs else "#2ca02c")
    ax.set_xlim(-0.7, windows_per_row * (n + GAP * 3) - GAP * 3 - 0.3)
    ax.set_ylim(rows_of_windows * (n + GAP * 3) - GAP * 3 - 0.3, -0.5 - max(1.5, 0.2 * n))
    ax.set_axis_off()
    ax.set_title(f"attn_mask: [{n_windows}, {n}, {n}]  (dark: -100, light: 0)", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Stage 5: the mask at work                                                   #
# --------------------------------------------------------------------------- #
def draw_attention_weights(ax: Axes, weights: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw ``[N, N]`` softmax weights in blues, with two decimals; rows are queries."""
    weights = _as_2d(weights, "weights").double()
    n = weights.shape[0]
    colours = matplotlib.colormaps["Blues"](np.clip(weights.numpy(), 0.0, 1.0) * 0.85)
    texts = [[f"{float(v):.2f}".lstrip("0") if float(v) >= 0.005 else "0" for v in row] for row in weights]
    _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 70))
    _query_key_axes(ax, n, labels)


def plot_attention_weights(weights: torch.Tensor, labels: torch.Tensor, *, unmasked: torch.Tensor | None = None) -> LabFigure:
    """Softmax weights of one window and head, ``[N, N]``; with ``unmasked`` the same scores without the mask beside it.

    Args:
        weights: ``[N, N]`` rows of ``masked_window_softmax``.
        labels: ``[N]`` the window's region labels (on the axes).
        unmasked: ``[N, N]`` softmax of the same scores with no mask, drawn on the left.
    """
    weights = _as_2d(weights, "weights")
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    panels = [] if unmasked is None else [(_as_2d(unmasked, "unmasked"), "softmax(Q·Kᵀ)  (no mask)")]
    panels.append((weights, "softmax(Q·Kᵀ + mask)"))
    side = min(5.5, 1.8 + 0.42 * n)
    fig = _new_figure(len(panels) * side + 0.5, side + 0.6)
    axes = np.atleast_1d(fig.subplots(1, len(panels)))
    for ax, (grid, title) in zip(axes, panels, strict=True):
        if grid.shape != (n, n):
            raise ValueError(f"weights must be [N, N] with N={n} (len(labels)), got {tuple(grid.shape)}")
        draw_attention_weights(ax, grid, labels)
        ax.set_title(title, fontsize=10)
    fig.suptitle("Attention weights of one window (each row sums to 1)", fontsize=11)
    return fig


def plot_leak(
    origins: torch.Tensor,
    labels: torch.Tensor,
    unmasked: torch.Tensor,
    masked: torch.Tensor,
    query: int,
    height: int,
    width: int,
) -> LabFigure:
    """Where one query's attention goes in the original image, without and with the mask (walkthrough figure 7).

    Args:
        origins: ``[N, 2]`` original ``(row, col)`` of the window's tokens (``token_origins(...)[k]``).
        labels: ``[N]`` the window's region labels.
        unmasked: ``[N]`` the query's softmax weights without the mask.
        masked: ``[N]`` its weights with the mask.
        query: the query token ``i`` (``0 <= i < N``).
        height, width: the original feature map's ``H, W``.

    Left: the original map; the query is starred, each key cell shows the
    weight it gets without the mask (red: a different region, i.e. across the
    image). Right: the weights as bars, with and without the mask.
    """
    labels = _as_1d(labels, "labels")
    unmasked = _as_1d(unmasked, "unmasked").double()
    masked = _as_1d(masked, "masked").double()
    n = labels.shape[0]
    if not isinstance(origins, torch.Tensor) or tuple(origins.shape) != (n, 2):
        raise ValueError(f"origins must be [N, 2] with N={n} (len(labels)), got {getattr(origins, 'shape', None)}")
    if unmasked.shape[0] != n or masked.shape[0] != n:
        raise ValueError(f"unmasked and masked must be [N] with N={n}")
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < n:
        raise ValueError(f"query must be an int in [0, {n}), got {query!r}")
    side = min(6.0, 2.0 + 0.42 * width)
    fig = _new_figure(side + 4.8, max(3.6, side * height / width + 0.8))
    grid_ax, bar_ax = fig.subplots(1, 2, width_ratios=[side, 4.2])
    background = np.full((height, width, 4), to_rgba("#f2f2f2"))
    texts = [["" for _ in range(width)] for _ in range(height)]
    same = labels == labels[query]
    for token in range(n):
        r, c = (int(v) for v in origins[token])
        background[r, c] = to_rgba(REGION_COLOURS[int(labels[token])])
        weight = f"{float(unmasked[token]):.2f}".lstrip("0")
        texts[r][c] = f"q\n{weight}" if token == query else weight
    _draw_cells(grid_ax, background, texts, fontsize=_fontsize(width, 70))
    for token in range(n):
        r, c = (int(v) for v in origins[token])
        if token == query:
            grid_ax.add_patch(matplotlib.patches.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="black",
                                                           linewidth=3, zorder=4))
        elif not same[token]:
            grid_ax.add_patch(matplotlib.patches.Rectangle((c - 0.5, r - 0.5), 1, 1, fill=False, edgecolor="#d62728",
                                                           linewidth=2.5, zorder=4))
    _finish_grid(grid_ax, height, width)
    qr, qc = (int(v) for v in origins[query])
    grid_ax.set_title(f"original map: query token {query} (q) from ({qr},{qc}), weights without mask\nred boxes: keys from other regions, far away", fontsize=10)
    positions = np.arange(n)
    bar_ax.bar(positions - 0.2, unmasked.numpy(), width=0.4, color="#fb8072", label="no mask")
    bar_ax.bar(positions + 0.2, masked.numpy(), width=0.4, color="#80b1d3", label="with mask")
    bar_ax.set_xticks(positions, [f"{j}\n({int(labels[j])})" for j in positions], fontsize=_fontsize(n, 70))
    bar_ax.set_xlabel("key token j (region label)")
    bar_ax.set_ylabel("attention weight")
    leak_before = float(unmasked[~same].sum())
    leak_after = float(masked[~same].sum())
    bar_ax.set_title(f"weight on other regions: {leak_before:.3f} → {leak_after:.1e}", fontsize=10)
    bar_ax.legend(fontsize=8, loc="upper left")
    bar_ax.set_ylim(0, 1.05)
    fig.suptitle("Why the mask matters: without it, the query attends across the image", fontsize=11)
    return fig


def plot_qk_sequences(labels: torch.Tensor) -> LabFigure:
    """Q as an ``[N, 1]`` column and Kᵀ as a ``[1, N]`` row of one window, in token order (walkthrough figure 8).

    Args:
        labels: ``[N]`` the window's region labels; cell ``n`` is token ``n``.
    """
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    fig = _new_figure(min(9.0, 2.0 + 0.55 * n), min(7.0, 1.4 + 0.55 * n))
    grid = fig.add_gridspec(2, 2, width_ratios=[1, n], height_ratios=[1, n])
    q_ax = fig.add_subplot(grid[1, 0])
    k_ax = fig.add_subplot(grid[0, 1])
    note = fig.add_subplot(grid[1, 1], sharex=k_ax, sharey=q_ax)
    colours = region_colours(labels)
    _draw_cells(q_ax, colours[:, None, :], [[f"q{i}\n({int(labels[i])})"] for i in range(n)], fontsize=_fontsize(n, 80))
    _finish_grid(q_ax, n, 1, xlabel="", ylabel="token i")
    q_ax.set_xticks([])
    q_ax.set_title("Q: [N, 1]", fontsize=10)
    _draw_cells(k_ax, colours[None, :, :], [[f"k{j}\n({int(labels[j])})" for j in range(n)]], fontsize=_fontsize(n, 80))
    _finish_grid(k_ax, 1, n, xlabel="", ylabel="")
    k_ax.set_yticks([])
    k_ax.set_title("Kᵀ: [1, N]   (label in brackets)", fontsize=10)
    product = np.full((n, n, 4), to_rgba("#f4f4f4"))
    _draw_cells(note, product, [[f"q{i}·k{j}" for j in range(n)] for i in range(n)], fontsize=_fontsize(n, 50))
    _finish_grid(note, n, n, xlabel="", ylabel="")
    note.set_xticks([])
    note.set_yticks([])
    note.set_xlabel("Q·Kᵀ: [N, N]; row i is query token i, column j is key token j", fontsize=10)
    return fig


def plot_qk_alignment(labels: torch.Tensor, mask: torch.Tensor) -> LabFigure:
    """Entry ``(i, j)`` of Q·Kᵀ pairs query ``i`` with key ``j``: the same pair as the mask's ``(i, j)`` (figure 9).

    Args:
        labels: ``[N]`` the window's region labels.
        mask: ``[N, N]`` the window's mask.

    Cells read ``q_i·k_j``; allowed pairs take the region colour they share,
    forbidden pairs are dark, as in the mask.
    """
    labels = _as_1d(labels, "labels")
    mask = _as_2d(mask, "mask")
    n = labels.shape[0]
    if mask.shape != (n, n):
        raise ValueError(f"mask must be [N, N] with N={n} (len(labels)), got {tuple(mask.shape)}")
    colours = region_colours(labels.unsqueeze(1).expand(n, n)).copy()
    colours[(mask != 0).numpy()] = to_rgba(FORBIDDEN_COLOUR)
    show_fill = n <= 9  # beyond that the colour alone says which pairs are masked
    texts = [
        [f"q{i}·k{j}" + (f"\n{float(mask[i, j]):g}" if show_fill and mask[i, j] != 0 else "") for j in range(n)]
        for i in range(n)
    ]
    side = min(7.0, 2.0 + 0.6 * n)
    fig = _new_figure(side + 0.4, side + 0.4)
    ax = fig.subplots()
    _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 55))
    _finish_grid(ax, n, n, xlabel="key token j (label)", ylabel="query token i (label)")
    _token_ticks(ax, labels, axis="x", prefix="k")
    _token_ticks(ax, labels, axis="y", prefix="q")
    ax.set_title("Q·Kᵀ + mask: entry (i, j) is q_i·k_j, and mask[i, j] belongs to the same pair", fontsize=10)
    return fig


def plot_linear_token_order(x: torch.Tensor, qkv: torch.Tensor, labels: torch.Tensor) -> LabFigure:
    """``qkv = self.qkv(x)`` acts row by row: token ``n`` of ``x`` becomes row ``n`` of q, k and v (figure 10).

    Args:
        x: ``[N, C]`` one window's token features.
        qkv: ``[N, 3C]`` the output of the ``nn.Linear``.
        labels: ``[N]`` the tokens' region labels (row colours).
    """
    x = _as_2d(x, "x")
    qkv = _as_2d(qkv, "qkv")
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    if x.shape[0] != n or qkv.shape[0] != n:
        raise ValueError(f"x and qkv must have N={n} rows (len(labels)), got {tuple(x.shape)} and {tuple(qkv.shape)}")
    channels, out = x.shape[1], qkv.shape[1]
    fig = _new_figure(min(12.0, 2.5 + 0.55 * (channels + out)), min(7.0, 1.5 + 0.38 * n))
    left, right = fig.subplots(1, 2, width_ratios=[max(channels, 1), max(out, 1)])
    row_colours = region_colours(labels)
    for ax, matrix, title in ((left, x, f"x: [N, C] = [{n}, {channels}]"), (right, qkv, f"qkv = self.qkv(x): [N, 3C] = [{n}, {out}]")):
        cols = matrix.shape[1]
        colours = np.repeat(row_colours[:, None, :], cols, axis=1)
        texts = [[f"{float(v):.2f}".replace("-0.00", "0.00") for v in row] for row in matrix.double()]
        _draw_cells(ax, colours, texts, fontsize=_fontsize(max(n, cols), 75))
        _finish_grid(ax, n, cols, xlabel="channel", ylabel="token n")
        ax.set_yticks(range(n), [f"token {i} ({int(labels[i])})" for i in range(n)], fontsize=_fontsize(n, 70))
        ax.set_title(title, fontsize=10, pad=20)
    if out % 3 == 0 and out > 0:
        for boundary in (out // 3, 2 * out // 3):
            right.vlines(boundary - 0.5, -0.5, n - 0.5, colors="black", linewidth=2, zorder=4)
        for k, name in enumerate("qkv"):
            right.text((k + 0.5) * out / 3 - 0.5, -0.6, name, ha="center", va="bottom", fontsize=11, fontweight="bold")
    fig.suptitle("nn.Linear multiplies every token by the same weights: token n stays row n", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Everything on one page                                                      #
# --------------------------------------------------------------------------- #
def plot_pipeline(
    shifted_x: torch.Tensor,
    labels: torch.Tensor,
    mask_windows: torch.Tensor,
    mask: torch.Tensor,
    weights: torch.Tensor,
    window: int | tuple[int, int],
    shift: int | tuple[int, int],
    window_index: int,
) -> LabFigure:
    """The five stages in one row, for one window ``k``.

    Args:
        shifted_x: ``[H, W]`` token ids after ``cyclic_shift``.
        labels: ``[H, W]`` region labels.
        mask_windows: ``[nW, N]`` labels per window.
        mask: ``[N, N]`` window ``k``'s mask.
        weights: ``[N, N]`` window ``k``'s softmax weights.
        window, shift: the layout (window borders, bands).
        window_index: ``k``, outlined in the first three panels.
    """
    labels = _as_2d(labels, "labels")
    height, width = labels.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    k_row, k_col = divmod(window_index, width // window_hw[1])
    fig = _new_figure(15.0, 10.0)
    panels = fig.subplot_mosaic([["roll", "labels", "rows"], ["mask", "weights", "note"]])
    axes = [panels[name] for name in ("roll", "labels", "rows", "mask", "weights")]
    draw_cyclic_shift(axes[0], shifted_x, labels, width, seam=(height - shift_hw[0], width - shift_hw[1]),
                      title="1. torch.roll: each cell shows its original row,col", window=window_hw)
    draw_region_labels(axes[1], labels, window, shift, bands=False)
    axes[1].set_title("2. region labels (img_mask)", fontsize=10)
    for ax in axes[:2]:
        ax.add_patch(matplotlib.patches.Rectangle((k_col * window_hw[1] - 0.5, k_row * window_hw[0] - 0.5), window_hw[1], window_hw[0],
                                                  fill=False, edgecolor="#d62728", linewidth=3.5, zorder=6))
    draw_window_rows(axes[2], mask_windows, highlight=window_index)
    axes[2].set_title("3. mask_windows: [nW, N]", fontsize=10)
    row = mask_windows[window_index]
    draw_attention_mask(axes[3], mask, row)
    axes[3].set_title(f"4. attn_mask[{window_index}]: [N, N]", fontsize=10)
    draw_attention_weights(axes[4], weights, row)
    axes[4].set_title(f"5. softmax(Q·Kᵀ + mask), window {window_index}", fontsize=10)
    note = panels["note"]
    note.set_axis_off()
    n_windows, n_tokens = mask_windows.shape
    note.text(
        0.05, 0.5,
        f"H × W = {height} × {width}, window {window_hw[0]} × {window_hw[1]}, shift {shift_hw}\n"
        f"nW = {n_windows} windows of N = {n_tokens} tokens\n\n"
        f"window {window_index} (red outline) holds labels {sorted(set(int(v) for v in row))}:\n"
        "a query attends only to keys with its own label;\n"
        "every other pair gets -100 before the softmax.",
        fontsize=11, va="center", ha="left", transform=note.transAxes,
    )
    return fig
