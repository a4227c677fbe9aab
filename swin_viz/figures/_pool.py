"""Retained mode: a ``plot_*`` draws into a figure it made before, updating its artists in place.

Every ``plot_*`` takes ``figure=None``. Without it a new figure is made, as a notebook cell does. Given a
figure that a ``plot_*`` returned before, the picture is drawn *into* it: its axes and artists are kept
and only their data change (``AxesImage.set_data``, ``LineCollection.set_segments``, ``Text.set_text`` ...),
so an explorer's slider change costs one render and no construction. The rules:

1. A ``plot_*`` function opens a :func:`frame` and draws its panels inside it::

       with frame(figure, ("plot_name", n_panels), (width, height), build) as (fig, axes):
           draw_something(axes[0], ...)
           set_title(axes[0], "fixed title")                      # chrome
           set_title(axes[1], f"window {k}", chrome=False)         # follows a picker
       return fig

   ``build(fig)`` makes the axes (``fig.subplots(...)``); it runs only when the figure is new or the key
   (its structure) differs from the last frame's, after ``fig.clear()``.
2. Panels create artists only through the pooled helpers here (:func:`pooled_image`, :func:`pooled_lines`,
   :func:`pooled_polygons`, :func:`pooled_text`, :func:`pooled_bracket`, :func:`pooled_legend`), each named
   by a gid unique in its axes: the first frame creates it, later frames find it and update it in place.
3. When the frame ends, every pooled artist that was not claimed in it is removed.
4. Axes state (limits, ticks, labels, titles) is set in every frame, unconditionally.
5. Texts inside the axes take ``in_layout=False``; a text may be chrome only if it overlaps no data artist.
"""

from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator, Sequence

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.collections import LineCollection, PolyCollection, QuadMesh
from matplotlib.image import AxesImage
from matplotlib.legend import Legend
from matplotlib.patches import Patch
from matplotlib.text import Annotation, Text

from swin_viz.figures._canvas import TICK_PARAMS, LabFigure, new_figure, set_chrome
from swin_viz.figures._style import MESH_CELLS
from swin_viz.figures._text import OutlinedText

_POOL = "_swin_viz_pool"  # attribute of an Axes: {gid: artist}
_CLAIMED = "_swin_viz_claimed"  # attribute of an Axes: the gids claimed in the current frame
_STYLE = "_swin_viz_style"  # attribute of a pooled artist: the properties last applied
_DATA = "_swin_viz_data"  # attribute of a pooled artist: the geometry last applied


@contextlib.contextmanager
def frame(
    figure: LabFigure | None, key: tuple, size: tuple[float, float], build: Callable[[LabFigure], Any]
) -> Iterator[tuple[LabFigure, Any]]:
    """Open a frame on ``figure`` (a new one if ``None``): yields ``(fig, axes)``; sweeps unclaimed artists at the end.

    ``axes`` is what ``build(fig)`` returned when the figure was last built for ``key``;
    it is built anew (after ``fig.clear()``) only if the figure is new or ``key`` changed.
    """
    if figure is None:
        fig = new_figure(*size)
    elif not isinstance(figure, LabFigure):
        raise TypeError(f"figure must be a LabFigure returned by a plot_* function, got {type(figure).__name__}")
    else:
        fig = figure
        if not np.allclose(fig.get_size_inches(), size):
            fig.set_size_inches(size)
    if fig.frame_key != key:
        fig.clear()
        fig.frame_key = None
        axes = build(fig)
        # nested lists, not numpy's object array of fig.subplots: the cyclic collector does not look inside
        # numpy object arrays, so an array held by the figure would keep the figure alive forever
        fig.frame_axes = axes.tolist() if isinstance(axes, np.ndarray) else axes
        fig.frame_key = key
    for ax in fig.axes:
        ax.__dict__[_CLAIMED] = set()
    yield fig, fig.frame_axes
    for ax in fig.axes:
        pool, claimed = ax.__dict__.get(_POOL, {}), ax.__dict__.get(_CLAIMED, set())
        for gid in [gid for gid in pool if gid not in claimed]:
            pool.pop(gid).remove()
        claimed.clear()


def set_ratios(ax: Axes, *, width: Sequence[float] | None = None, height: Sequence[float] | None = None) -> None:
    """Set the width/height ratios of the grid ``ax`` sits in (every frame: they may follow the data)."""
    grid = ax.get_subplotspec().get_gridspec()
    if width is not None:
        grid.set_width_ratios(width)
    if height is not None:
        grid.set_height_ratios(height)


def pooled(ax: Axes, gid: str, make: Callable[[], Artist]) -> tuple[Any, bool]:
    """The artist named ``gid`` in ``ax`` (made by ``make()`` if there is none), claimed for this frame; and whether it is new."""
    pool = ax.__dict__.setdefault(_POOL, {})
    artist = pool.get(gid)
    new = artist is None or artist.axes is not ax
    if new:
        artist = make()
        artist.set_gid(gid)
        pool[gid] = artist
    ax.__dict__.setdefault(_CLAIMED, set()).add(gid)
    return artist, new


def apply_style(artist: Artist, props: dict[str, Any]) -> None:
    """Apply ``props`` to ``artist`` unless they are the ones it already has."""
    if artist.__dict__.get(_STYLE) != props:
        artist.update(props)
        artist.__dict__[_STYLE] = props


def data_changed(artist: Artist, data: Any) -> bool:
    """Whether ``data`` (an array of geometry) differs from what ``artist`` was last given; remembers it."""
    data = np.asarray(data, dtype=float)
    old = artist.__dict__.get(_DATA)
    if old is not None and old.shape == data.shape and np.array_equal(old, data):
        return False
    artist.__dict__[_DATA] = data
    return True


def tick_params(ax: Axes, **props: Any) -> None:
    """``ax.tick_params(**props)``, skipped when the axes already had exactly these (it restyles every tick)."""
    if ax.__dict__.get(TICK_PARAMS) != props:
        ax.tick_params(**props)
        ax.__dict__[TICK_PARAMS] = props


def as_bytes(rgba: np.ndarray) -> np.ndarray:
    """Float RGBA colours in ``[0, 1]`` as ``uint8`` (Agg resamples those three times faster than floats)."""
    if rgba.dtype == np.uint8:
        return rgba
    return (np.clip(rgba, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


def _new_image(ax: Axes, rgba: np.ndarray, extent: tuple[float, float, float, float], zorder: float) -> AxesImage:
    """What ``ax.imshow(rgba, extent=extent, interpolation="nearest")`` makes, without autoscaling."""
    image = AxesImage(ax, interpolation="nearest", extent=extent, zorder=zorder)
    image.set_data(rgba)
    image.set_clip_path(ax.patch)
    ax.set_aspect(matplotlib.rcParams["image.aspect"])
    ax.add_image(image)
    return image


def pooled_image(
    ax: Axes, gid: str, rgba: np.ndarray, extent: tuple[float, float, float, float], *, zorder: float = 1
) -> AxesImage | QuadMesh:
    """A pooled ``imshow`` of an ``[R, C, 4]`` colour array over ``extent`` (nearest-neighbour, no autoscale).

    Up to :data:`~swin_viz.figures._style.MESH_CELLS` cells it is drawn as a ``QuadMesh`` of one quad per cell,
    without antialiasing: Agg fills a few thousand quads several times faster than it resamples an image into the
    axes (an image costs the same whatever its size; a mesh grows with its cells). Either way the cells look
    alike, and :func:`drawn_cells` reads them back.
    """
    rgba = as_bytes(rgba)
    rows, cols = rgba.shape[:2]
    if rows * cols > MESH_CELLS:
        image, new = pooled(ax, gid, lambda: _new_image(ax, rgba, extent, zorder))
        if not new:
            image.set_data(rgba)
            if not np.array_equal(image.get_extent(), extent):
                image.set_extent(extent)
            apply_style(image, {"zorder": zorder})
        return image
    # one mesh per geometry (a mesh keeps its coordinates): another shape or extent makes a new one
    mesh, new = pooled(ax, f"{gid}/mesh {rows}x{cols} {tuple(extent)}", lambda: _new_mesh(ax, rows, cols, extent))
    colours = rgba.reshape(-1, 4) / 255.0
    if data_changed(mesh, colours):
        mesh.set_facecolor(colours)
    apply_style(mesh, {"zorder": zorder})
    return mesh


def _new_mesh(ax: Axes, rows: int, cols: int, extent: tuple[float, float, float, float]) -> QuadMesh:
    """An empty ``rows x cols`` ``QuadMesh`` over ``extent`` (row 0 at its ``top``, as ``imshow`` places it)."""
    left, right, bottom, top = extent
    xs, ys = np.meshgrid(np.linspace(left, right, cols + 1), np.linspace(top, bottom, rows + 1))
    mesh = QuadMesh(np.stack([xs, ys], axis=-1), antialiased=False, edgecolors="none", linewidths=0)
    ax.set_aspect(matplotlib.rcParams["image.aspect"])
    ax.add_collection(mesh, autolim=False)
    return mesh


def drawn_cells(ax: Axes, gid: str | None = None) -> tuple[np.ndarray, tuple[float, float, float, float]]:
    """The cells :func:`pooled_image` drew in ``ax`` under ``gid`` (or its only cells, if ``None``): their ``[R, C, 4]``
    ``uint8`` colours and their ``extent`` ``(left, right, bottom, top)``."""
    found = []
    for name, artist in ax.__dict__.get(_POOL, {}).items():
        if isinstance(artist, AxesImage) and gid in (None, name):
            found.append((np.asarray(artist.get_array()), tuple(artist.get_extent())))
        elif isinstance(artist, QuadMesh) and "/mesh " in name and gid in (None, name.split("/mesh ")[0]):
            corners = artist.get_coordinates()
            rows, cols = corners.shape[0] - 1, corners.shape[1] - 1
            rgba = (artist.get_facecolor().reshape(rows, cols, 4) * 255.0 + 0.5).astype(np.uint8)
            found.append((rgba, (corners[0, 0, 0], corners[0, -1, 0], corners[-1, 0, 1], corners[0, 0, 1])))
    if len(found) != 1:
        raise LookupError(f"{len(found)} grids of cells named {gid!r} in this axes, not one")
    return found[0]


def pooled_lines(
    ax: Axes, gid: str, segments: np.ndarray | Sequence, *, color: str, linewidth: float, linestyle: str = "solid", zorder: float = 2
) -> LineCollection:
    """A pooled ``LineCollection`` of ``[n, 2, 2]`` segments ``((x0, y0), (x1, y1))``."""
    collection, _ = pooled(ax, gid, lambda: ax.add_collection(LineCollection([]), autolim=False))
    if data_changed(collection, segments):
        collection.set_segments(segments)
    apply_style(collection, {"color": color, "linewidth": linewidth, "linestyle": linestyle, "zorder": zorder})
    return collection


def boxes(x: np.ndarray | float, y: np.ndarray | float, width: np.ndarray | float, height: np.ndarray | float) -> np.ndarray:
    """Corners ``[n, 4, 2]`` of the rectangles with lower-left ``(x, y)`` and size ``width x height`` (broadcast)."""
    x, y, width, height = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, y, width, height)))
    return np.stack(
        [np.stack([x, y], -1), np.stack([x + width, y], -1), np.stack([x + width, y + height], -1), np.stack([x, y + height], -1)],
        axis=1,
    )


def pooled_polygons(
    ax: Axes,
    gid: str,
    verts: np.ndarray | Sequence,
    *,
    facecolor: str = "none",
    edgecolor: str = "none",
    linewidth: float = 0.0,
    zorder: float = 4,
) -> PolyCollection:
    """A pooled ``PolyCollection`` (e.g. all the outlines of one kind, or the bars of one series)."""
    collection, _ = pooled(ax, gid, lambda: ax.add_collection(PolyCollection([]), autolim=False))
    if data_changed(collection, verts):
        collection.set_verts(verts)
    apply_style(
        collection,
        {"facecolor": facecolor, "edgecolor": edgecolor, "linewidth": linewidth, "zorder": zorder, "joinstyle": "miter"},
    )
    return collection


#: Properties every pooled text gets unless told otherwise (``ax.text``'s defaults).
_TEXT_DEFAULTS: dict[str, Any] = {
    "horizontalalignment": "left",
    "verticalalignment": "baseline",
    "rotation": 0.0,
    "color": "black",
    "fontweight": "normal",
    "zorder": 3,
    "clip_on": False,
    "in_layout": True,
}
_TEXT_ALIASES = {"ha": "horizontalalignment", "va": "verticalalignment"}


def pooled_text(ax: Axes, gid: str, x: float, y: float, text: str, *, chrome: bool = False, **props: Any) -> Text:
    """A pooled ``ax.text(x, y, text, **props)``, drawn from its cached outline
    (:class:`~swin_viz.figures._text.OutlinedText`); properties not given take ``ax.text``'s defaults.

    ``chrome=True``: drawn with the chrome (:meth:`LabFigure.draw`): for texts that rarely change
    and overlap no data artist (window numbers in the gaps, fixed notes).
    """
    artist, _ = pooled(ax, gid, lambda: ax.add_artist(OutlinedText(x, y, text)))
    set_chrome(artist, chrome)
    artist.set_position((x, y))
    artist.set_text(text)
    style = {**_TEXT_DEFAULTS, "fontsize": matplotlib.rcParams["font.size"], "transform": ax.transData}
    style.update({_TEXT_ALIASES.get(name, name): value for name, value in props.items()})
    apply_style(artist, style)
    return artist


def pooled_bracket(ax: Axes, gid: str, start: tuple[float, float], end: tuple[float, float], arrowprops: dict[str, Any]) -> Annotation:
    """A pooled arrow from ``end`` to ``start`` (an ``annotate`` with no text, drawn outside the axes too)."""
    arrow, new = pooled(ax, gid, lambda: ax.annotate("", xy=start, xytext=end, arrowprops=arrowprops, annotation_clip=False))
    if not new:
        arrow.xy = start
        arrow.set_position(end)
    return arrow


def pooled_legend(ax: Axes, gid: str, entries: Sequence[tuple[str, str]], **props: Any) -> Legend:
    """A pooled legend of ``(colour, label)`` patches (made once: its entries never change for a gid).

    Not chrome: it lies inside the axes, over the data.
    """
    handles = [Patch(facecolor=colour, label=label) for colour, label in entries]
    legend, _ = pooled(ax, gid, lambda: ax.legend(handles=handles, **props))
    return legend


