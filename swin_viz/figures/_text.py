"""The many short strings of a grid (cell numbers, tick labels) drawn as outlines, one collection per grid.

A matplotlib ``Text`` per cell costs a layout and a FreeType rendering each time it is drawn (a 24 x 24
grid of ``row,col`` numbers takes hundreds of milliseconds). Here every string becomes its outline once,
a :class:`matplotlib.textpath.TextPath` made once per string (at one size, then scaled), and all the strings of a grid
are drawn as one :class:`matplotlib.collections.PathCollection`. Only public matplotlib API is used.

Legibility: no string is drawn smaller than :data:`MIN_TEXT_PX` pixels (its font size at the figure's
resolution; a vector picture has none), and a grid whose numbers do not fit in their cells drops them rather
than shrinking them.
Each artist records what its last draw showed (:attr:`CellNumbers.drawn_px`), which the tests read.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import matplotlib
import numpy as np
from matplotlib.artist import Artist
from matplotlib.collections import PathCollection
from matplotlib.font_manager import FontProperties
from matplotlib.path import Path
from matplotlib.text import Text
from matplotlib.textpath import TextPath
from matplotlib.transforms import Affine2D, Bbox, IdentityTransform

#: No text is drawn smaller than this many pixels (its font size at the figure's resolution).
MIN_TEXT_PX = 7.0
#: Distance between the baselines of a string's lines, in font sizes (``Text``'s default ``linespacing``).
LINE_SPACING = 1.2
#: Outlines kept (strings and placements): a 64 x 64 grid of ``row,col`` numbers is 4,096.
OUTLINES_KEPT = 16384
#: The font size outlines are made at, in points, before they are scaled to the size they are drawn at.
REFERENCE_SIZE = 10.0


@functools.lru_cache(maxsize=64)
def _font(size: float, weight: str) -> FontProperties:
    return FontProperties(size=size, weight=weight)


@functools.lru_cache(maxsize=8)
def font_lines(weight: str = "normal") -> tuple[float, float, float]:
    """A line's box and middle, in font sizes from its baseline: how far the tallest and deepest marks reach (the
    ink of ``"(|"``, brackets and bars: the font's ascent and descent) and a digit's half height."""
    prop = _font(REFERENCE_SIZE, weight)
    _, descent, _, ascent = _ink(TextPath((0, 0), "(|", size=REFERENCE_SIZE, prop=prop))
    digit = _ink(TextPath((0, 0), "0", size=REFERENCE_SIZE, prop=prop))[3]
    return float(ascent) / REFERENCE_SIZE, float(-descent) / REFERENCE_SIZE, float(digit) / 2 / REFERENCE_SIZE


def _ink(path: Path) -> tuple[float, float, float, float]:
    """``(x0, y0, x1, y1)`` around a path's points (a glyph's curve control points lie a hair outside its ink;
    a fraction of a point on these sizes). ``(0, 0, 0, 0)`` for an empty path."""
    vertices = path.vertices
    if path.codes is not None:
        vertices = vertices[path.codes != Path.CLOSEPOLY]
    if not len(vertices):
        return 0.0, 0.0, 0.0, 0.0
    (x0, y0), (x1, y1) = vertices.min(0), vertices.max(0)
    return float(x0), float(y0), float(x1), float(y1)


def outline(string: str, weight: str = "normal", ha: str = "center", va: str = "center", rotation: float = 0.0) -> tuple[Path, tuple]:
    """A string's outline in font sizes (scale it by the size in points), placed around its anchor at the origin as
    a ``Text`` with these ``ha``, ``va`` and ``rotation`` is; and its box ``(x0, y0, x1, y1)``, what the layout
    reserves. Made once at :data:`REFERENCE_SIZE` for every size: a text outline scales exactly.

    Lines lie :data:`LINE_SPACING` font sizes apart, each line's ink aligned on the others as ``ha`` says
    (``"left"``, ``"center"``, ``"right"``); a line's box is its ink across and the font's ascent and descent
    (:func:`font_lines`) up and down. The whole, turned by ``rotation`` degrees, is then placed so that its
    box is ``ha`` and ``va`` (``"top"``, ``"bottom"``, ``"center"``; ``"baseline"``: the last line's
    baseline, as matplotlib places it; ``"center_baseline"``: the middle of the first line's digits) of the origin.
    """
    return _outline(string, weight, ha, va, float(rotation))  # one cache entry however the arguments are passed


@functools.lru_cache(maxsize=OUTLINES_KEPT)
def _outline(string: str, weight: str, ha: str, va: str, rotation: float) -> tuple[Path, tuple]:
    size = REFERENCE_SIZE
    prop = _font(size, weight)
    ascent, descent, half = (size * v for v in font_lines(weight))
    parts, boxes = [], []
    for i, line in enumerate(string.split("\n")):
        path = TextPath((0, 0), line, size=size, prop=prop) if line.strip() else Path(np.zeros((0, 2)))  # "" fails
        x0, _, x1, _ = _ink(path)
        dx = {"left": -x0, "center": -(x0 + x1) / 2}.get(ha, -x1)
        dy = -i * LINE_SPACING * size
        if len(path.vertices):
            parts.append(path.transformed(Affine2D().translate(dx, dy)))
        boxes.append((x0 + dx, dy - descent, x1 + dx, dy + ascent))
    box = np.array(boxes)
    x0, y0, x1, y1 = box[:, 0].min(), box[:, 1].min(), box[:, 2].max(), box[:, 3].max()
    turn = Affine2D().rotate_deg(rotation)
    (x0, y0), (x1, y1) = np.sort(turn.transform([[x0, y0], [x1, y1]]), axis=0) if rotation else ((x0, y0), (x1, y1))
    dx = {"left": -x0, "center": -(x0 + x1) / 2}.get(ha, -x1)
    last = (len(boxes) - 1) * LINE_SPACING * size  # how far the last line's baseline lies below the first's
    dy = {"top": -y1, "bottom": -y0, "center": -(y0 + y1) / 2, "baseline": last, "center_baseline": -half}[va]
    place = turn.translate(dx, dy).scale(1 / size)
    path = Path.make_compound_path(*parts).transformed(place) if parts else Path(np.zeros((0, 2)))
    return path, tuple(float(v) / size for v in (x0 + dx, y0 + dy, x1 + dx, y1 + dy))


def draw_outlines(
    artist: Artist, renderer: Any, anchors: np.ndarray, strings: Sequence[str], colours: Sequence[Any], size: float,
    *, weight: str = "normal", ha: str = "center", va: str = "center", rotation: float = 0.0,
) -> None:
    """Draw ``strings`` at display-pixel ``anchors`` ``[n, 2]`` as one collection of their cached outlines."""
    collection = PathCollection([outline(s, weight, ha, va, rotation)[0] for s in strings], edgecolors="none", linewidths=0)
    collection.set_offsets(anchors)
    collection.set_offset_transform(IdentityTransform())
    collection.set_transform(Affine2D().scale(renderer.points_to_pixels(size)))
    collection.set_facecolor(colours)
    collection.set_figure(artist.get_figure(root=False))
    collection.set_clip_on(False)
    collection.set_alpha(artist.get_alpha())
    collection.draw(renderer)


def draw_as_outline(text: Text, renderer: Any) -> None:
    """Draw a ``Text`` from its cached outline, where and as it would draw itself (colour, size, weight, alignment,
    angle), on a raster canvas. (An axes' title is drawn so by :class:`~swin_viz.figures._canvas.LabFigure`.)"""
    anchor = text.get_transform().transform([text.get_position()])
    draw_outlines(text, renderer, anchor, [text.get_text()], [text.get_color()], text.get_fontsize(),
                  weight=str(text.get_fontweight()), ha=text.get_horizontalalignment(), va=text.get_verticalalignment(),
                  rotation=text.get_rotation())


class OutlinedText(Text):
    """A ``Text`` drawn from its cached outline on a raster canvas (a vector picture keeps it as text): a note or
    flag that follows a slider is drawn afresh on every redraw, and FreeType's rendering costs about 0.1 ms
    a glyph. Everything else (its properties, its box in the layout) is matplotlib's ``Text``."""

    def draw(self, renderer: Any) -> None:
        if not self.get_visible() or not self.get_text() or not _raster(renderer):
            super().draw(renderer)
            return
        draw_as_outline(self, renderer)
        self.stale = False


def _raster(renderer: Any) -> bool:
    """Whether ``renderer`` draws pixels (Agg) rather than a vector picture (PDF, SVG), which has no smallest size."""
    return hasattr(renderer, "buffer_rgba")


class _Outlines(Artist):
    """Strings drawn as one collection of cached outlines (the base of the two below)."""

    def __init__(self) -> None:
        super().__init__()
        #: the font size in pixels of the strings the last draw showed (the smallest, if several), or ``None``
        self.drawn_px: float | None = None


class CellNumbers(_Outlines):
    """The numbers of a grid's cells as ONE artist: short strings (one or more lines), each centred on a point
    in data coordinates. It takes no part in the layout (it lies inside the axes).

    At draw time the numbers are dropped, all of them, if their font would be smaller than
    :data:`MIN_TEXT_PX` pixels or the widest does not fit its cell.
    """

    def __init__(self) -> None:
        super().__init__()
        self._cell_xy = np.zeros((0, 2))
        self._strings: list[str] = []
        self._colours: list[Any] = []
        self._number_size = 10.0
        self._cell_step = 1.0
        self.set_in_layout(False)

    def set_cells(self, xy: np.ndarray, strings: list[str], colours: list[Any], fontsize: float, *, step: float = 1.0) -> None:
        """``strings[i]`` centred at ``xy[i]`` (data coordinates) in ``colours[i]``, at ``fontsize`` points, in cells
        ``step`` data units a side (what a number must fit in)."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if (
            self._strings != strings or self._colours != colours or self._number_size != fontsize or self._cell_step != step
            or self._cell_xy.shape != xy.shape or not np.array_equal(self._cell_xy, xy)
        ):
            self._cell_xy, self._strings, self._colours = xy, list(strings), list(colours)
            self._number_size, self._cell_step = float(fontsize), float(step)
            self.stale = True

    def cell_texts(self) -> list[tuple[float, float, str]]:
        """``(x, y, string)`` of every number the last draw showed (what the tests read back)."""
        if self.drawn_px is None:
            return []
        return [(float(x), float(y), s) for (x, y), s in zip(self._cell_xy, self._strings)]

    def _fits(self, renderer: Any) -> bool:
        """Whether the numbers are legible: at least :data:`MIN_TEXT_PX` and each within its cell."""
        scale = renderer.points_to_pixels(1.0)
        if _raster(renderer) and self._number_size * scale < MIN_TEXT_PX:
            return False
        step = self._cell_step
        origin, right, below = self.axes.transData.transform([[0, 0], [step, 0], [0, step]])
        cell_w, cell_h = abs(right[0] - origin[0]), abs(below[1] - origin[1])
        widest = max(self._strings, key=len)
        x0, _, x1, _ = outline(widest)[1]
        lines = max(s.count("\n") for s in self._strings) + 1
        height = (lines - 1) * LINE_SPACING + 2 * font_lines()[2]
        return (x1 - x0) * self._number_size * scale <= cell_w and height * self._number_size * scale <= cell_h

    def draw(self, renderer: Any) -> None:
        if not self.get_visible():  # hidden while the figure draws its chrome: keep what the last draw showed
            return
        self.drawn_px = None
        if not self._strings or not self._fits(renderer):
            return
        anchors = self.axes.transData.transform(self._cell_xy)
        draw_outlines(self, renderer, anchors, self._strings, self._colours, self._number_size)
        self.drawn_px = self._number_size * renderer.points_to_pixels(1.0)
        self.stale = False


class TickLabels(_Outlines):
    """The tick labels and axis labels of a grid panel as ONE artist, in place of matplotlib's ``Tick`` objects
    (one ``Tick`` is two lines and two texts, made anew when a grid grows, measured several times a draw).

    x tick labels are centred below their ticks, their box ``xtick.major.pad`` points below the axes; y tick
    labels end ``ytick.major.pad`` points left of the axes, centred on their ticks; each axis label lies
    ``axes.labelpad`` points beyond its tick labels (the y label turned up the side), as matplotlib places
    them. It takes part in the layout (:meth:`get_window_extent` is the box around all of it) and says
    what decides that box (:meth:`layout_inputs`) and what it shows (:meth:`chrome_state`).
    """

    def __init__(self) -> None:
        super().__init__()
        rc = matplotlib.rcParams
        self._ticks: dict[str, tuple[tuple[float, ...], tuple[str, ...], float]] = {"x": ((), (), 10.0), "y": ((), (), 10.0)}
        self._labels = {"x": "", "y": ""}
        self._label_size = float(FontProperties(size=rc["axes.labelsize"]).get_size_in_points())
        self._colours = {
            axis: rc[f"{axis}tick.color"] if rc[f"{axis}tick.labelcolor"] == "inherit" else rc[f"{axis}tick.labelcolor"]
            for axis in "xy"
        }
        self._label_colour = rc["axes.labelcolor"]
        self._pads = {axis: rc[f"{axis}tick.major.pad"] for axis in "xy"}
        self._labelpad = rc["axes.labelpad"]
        self.set_in_layout(True)
        self.set_clip_on(False)

    def set_ticks(self, axis: str, positions: Sequence[float], strings: Sequence[str], fontsize: float | None = None) -> None:
        """Ticks of ``axis`` (``"x"`` or ``"y"``): ``strings[i]`` at data coordinate ``positions[i]``, at ``fontsize``
        points (``None``: the size they have)."""
        if len(positions) != len(strings):
            raise ValueError(f"positions and strings must have the same length, got {len(positions)} and {len(strings)}")
        size = float(fontsize) if fontsize is not None else self._ticks[axis][2]
        ticks = (tuple(float(p) for p in positions), tuple(strings), size)
        if self._ticks[axis] != ticks:
            self._ticks[axis] = ticks
            self.stale = True

    def set_label(self, axis: str, text: str) -> None:
        """The label of ``axis`` (``""`` for none)."""
        if self._labels[axis] != text:
            self._labels[axis] = text
            self.stale = True

    def tick_labels(self, axis: str) -> list[tuple[float, str]]:
        """``(position, string)`` of every tick label of ``axis`` (what the tests read back)."""
        positions, strings, _ = self._ticks[axis]
        return list(zip(positions, strings))

    def label(self, axis: str) -> str:
        """The label of ``axis``."""
        return self._labels[axis]

    def layout_inputs(self, strings: bool = True) -> tuple:
        """What decides its box, given the axes' place: ticks, their strings (with ``strings=False`` only how many
        lines each has), font sizes, and the axis labels."""
        ticks = tuple(
            (positions, texts if strings else tuple(t.count("\n") for t in texts), size)
            for positions, texts, size in self._ticks.values()
        )
        return ticks, tuple(self._labels.values())

    def chrome_state(self) -> tuple:
        """What its pixels show (part of the chrome key of :class:`~swin_viz.figures._canvas.LabFigure`)."""
        return self.get_gid(), self.get_visible(), self.layout_inputs(), tuple(self._colours.values())

    def _labels_shown(self) -> bool:
        """Visible, on an axes whose axis is on (``ax.set_axis_off()`` hides a grid's labels, as it hides ticks)."""
        return self.get_visible() and self.axes is not None and self.axes.axison

    def _place(self, scale: float) -> list[tuple[np.ndarray, list[str], float, dict[str, Any], Any, np.ndarray]]:
        """What to draw, ``(anchors [n, 2], strings, size, placement (ha, va, rotation), colour, boxes [n, 4])`` per
        group of strings, in display pixels; ``scale`` is pixels per point."""
        ax = self.axes
        box = ax.bbox
        groups = []
        edges = {"x": box.y0, "y": box.x0}  # what each axis label keeps clear of: the axes, or the tick labels
        for axis in "xy":
            positions, strings, size = self._ticks[axis]
            if not strings:
                continue
            values = np.array(positions, dtype=float)
            placement = {"ha": "center", "va": "top"} if axis == "x" else {"ha": "right", "va": "center_baseline"}
            extents = np.array([outline(s, **placement)[1] for s in strings]) * size * scale
            pad = self._pads[axis] * scale
            if axis == "x":
                along = ax.transData.transform(np.column_stack([values, np.zeros_like(values)]))[:, 0]
                anchors = np.column_stack([along, np.full_like(along, box.y0 - pad)])
            else:
                along = ax.transData.transform(np.column_stack([np.zeros_like(values), values]))[:, 1]
                anchors = np.column_stack([np.full_like(along, box.x0 - pad), along])
            boxes = extents + np.tile(anchors, 2)
            edges[axis] = boxes[:, 1].min() if axis == "x" else boxes[:, 0].min()
            groups.append((anchors, list(strings), size, placement, self._colours[axis], boxes))
        labelpad = self._labelpad * scale
        for axis in "xy":
            text = self._labels[axis]
            if not text:
                continue
            placement = {"ha": "center", "va": "top"} if axis == "x" else {"ha": "right", "va": "center", "rotation": 90}
            extent = np.array(outline(text, **placement)[1]) * self._label_size * scale
            if axis == "x":
                anchor = np.array([[box.x0 + box.width / 2, edges["x"] - labelpad]])
            else:
                anchor = np.array([[edges["y"] - labelpad, box.y0 + box.height / 2]])
            groups.append((anchor, [text], self._label_size, placement, self._label_colour, extent + np.tile(anchor, 2)))
        return groups

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        found = self.get_tightbbox(renderer)
        return found if found is not None else Bbox.null()

    def get_tightbbox(self, renderer: Any = None) -> Bbox | None:
        if not self._labels_shown():
            return None
        groups = self._place(self.get_figure(root=True).dpi / 72.0)
        if not groups:
            return None
        boxes = np.concatenate([group[-1] for group in groups])
        return Bbox.from_extents(*boxes[:, :2].min(0), *boxes[:, 2:].max(0))

    def draw(self, renderer: Any) -> None:
        if not self.get_visible():  # hidden while the figure draws what is not chrome: keep what the last draw showed
            return
        self.drawn_px = None
        if not self._labels_shown():
            return
        scale = renderer.points_to_pixels(1.0)
        sizes = []
        for anchors, strings, size, placement, colour, _ in self._place(scale):
            if _raster(renderer) and size * scale < MIN_TEXT_PX:  # dropped, not shrunk
                continue
            draw_outlines(self, renderer, anchors, strings, [colour] * len(strings), size, **placement)
            sizes.append(size * scale)
        self.drawn_px = min(sizes) if sizes else None
        self.stale = False
