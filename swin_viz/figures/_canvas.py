"""The figure every ``plot_*`` returns, and what makes redrawing it cheap: the layout and the "chrome" kept.

A :class:`LabFigure` shows itself in Jupyter as one PNG. Redrawn into (see :mod:`swin_viz.figures._pool`),
it pays for three things only: the artists that changed, the constrained layout when something it
measures changed (:class:`RetainedLayout`), and the chrome (tick labels, axis labels, fixed titles)
when it changed (:meth:`LabFigure.draw`); otherwise both are reused.
"""

from __future__ import annotations

import contextlib
import io
import struct
import zlib
from collections import OrderedDict
from typing import Any, Callable, Iterator, Sequence

import numpy as np
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.text import Text
from matplotlib.transforms import Bbox

from swin_viz.figures._style import CHROME_CACHE_BYTES, DPI, LAYOUTS_KEPT
from swin_viz.figures._text import MIN_TEXT_PX, draw_as_outline

__all__ = ["LabFigure", "RetainedLayout", "new_figure", "set_suptitle", "set_title", "set_chrome", "fast_png", "TICK_PARAMS"]

#: Attribute of an Axes: the ``tick_params`` last applied (see :func:`~swin_viz.figures._pool.tick_params`).
TICK_PARAMS = "_swin_viz_tick_params"
_CHROME = "_swin_viz_chrome"  # attribute of an artist drawn with the chrome (see LabFigure.draw)


class LabFigure(Figure):
    """A matplotlib ``Figure`` that shows itself in Jupyter as one PNG, with no text repr.

    Use :meth:`to_png` for the bytes (the explorers put them in an ``Image``).
    Pass it back to the ``plot_*`` that made it (``figure=``) to redraw it in place.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        #: the structure the axes were built for, and what ``build`` returned then (see ``_pool.frame``)
        self.frame_key: object = None
        self.frame_axes: Any = None
        #: the ``Text`` of :func:`set_suptitle` (``None`` until it is set)
        self.lab_suptitle: Text | None = None
        #: the layout, worked out again only for inputs it has not seen
        self.retained_layout = RetainedLayout()
        #: the pixels of the chrome per what they were drawn for, least recently used first
        self.chrome_cache: OrderedDict[tuple, Any] = OrderedDict()

    def clear(self, keep_observers: bool = False) -> None:
        """``Figure.clear``, forgetting the suptitle, layouts and chrome of the axes it removes."""
        super().clear(keep_observers)  # Figure.__init__ calls it too, before this class's __init__ has run
        self.lab_suptitle = None
        self.retained_layout = RetainedLayout()
        self.chrome_cache = OrderedDict()

    def draw(self, renderer: Any) -> None:
        """Lay out (:class:`RetainedLayout`), then draw in two passes: the chrome, then the data on top.

        The chrome is what stays put while a slider moves: the background, every
        axes' patch and axis objects, a grid's tick and axis labels, the suptitle,
        and the artists drawn with ``chrome=True`` (titles that do not follow a
        picker, fixed notes). Its pixels are kept, for the last few layouts
        (:data:`~swin_viz.figures._style.CHROME_CACHE_BYTES`), and pasted back when
        the canvas, the axes' places, the layout key, the tick labels' strings and the
        chrome artists' state are those of a kept copy; the rest (images, lines, cell
        numbers, titles that follow a picker) is drawn on top every time. Chrome
        artists overlap no data artist, so the picture is the one a single pass draws.
        """
        engine = self.retained_layout
        engine.execute(self, renderer)
        if not hasattr(renderer, "copy_from_bbox"):  # a vector backend: one pass, and no smallest size
            super().draw(renderer)
            return
        with _legible(self, renderer):
            self.draw_passes(renderer)

    def draw_passes(self, renderer: Any) -> None:
        """The two passes of :meth:`draw` on a raster renderer, laid out already: the chrome (kept), then the data.

        The axes' titles are drawn from their outlines, each in its pass (see :func:`_outlined_titles`)."""
        engine = self.retained_layout
        suptitle = self.lab_suptitle.get_text() if self.lab_suptitle is not None else None
        chrome = tuple(_chrome_state(artist) for artist in _chrome_artists(self))
        places = tuple(ax.get_position().bounds for ax in self.axes)
        key = (engine.layout_key, places, _tick_texts(self), suptitle, chrome, renderer.width, renderer.height, self.dpi)
        with _outlined_titles(self, renderer) as draw_titles:
            pixels = self.chrome_cache.get(key)
            if pixels is not None:
                self.chrome_cache.move_to_end(key)
                renderer.restore_region(pixels)
            else:
                with _showing(self, chrome=True):
                    super().draw(renderer)
                draw_titles(chrome=True)
                # the whole canvas: self.bbox can fall a hair short of it (7.2 in x 100 dpi = 719.999... px)
                self.chrome_cache[key] = renderer.copy_from_bbox(Bbox([[0, 0], [renderer.width, renderer.height]]))
                kept = CHROME_CACHE_BYTES // max(1, 4 * int(renderer.width) * int(renderer.height))
                while len(self.chrome_cache) > max(1, kept):
                    self.chrome_cache.popitem(last=False)
            with _showing(self, chrome=False):
                super().draw(renderer)
            draw_titles(chrome=False)

    def to_png(self, *, dpi: float = DPI, compress_level: int = 6) -> bytes:
        """Render the figure to PNG bytes at ``dpi``.

        ``compress_level`` is zlib's 0..9: the default 6 makes the smallest files (committed notebooks),
        through PIL; 0 or 1 writes Agg's RGBA pixels without PNG's row filters (:func:`fast_png`), twice
        as fast for about a fifth more bytes (the explorers, which redraw on every slider change).
        """
        if self.dpi != dpi:
            self.dpi = dpi
        if compress_level <= 1 and isinstance(self.canvas, FigureCanvasAgg):
            self.canvas.draw()
            return fast_png(np.asarray(self.canvas.buffer_rgba()), compress_level)
        buffer = io.BytesIO()
        self.canvas.print_png(buffer, pil_kwargs={"compress_level": compress_level})
        return buffer.getvalue()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display({"image/png": self.to_png()}, raw=True)


class RetainedLayout:
    """Matplotlib's constrained layout, run again only for a layout it has not worked out before.

    Laying out measures every tick label, title and note, which costs as much as drawing them. Two
    things spare it:

    * the layout is a function of what it reads (:func:`_layout_inputs`: the figure's size, the grids,
      limits, tick labels, titles ...), so the last :data:`~swin_viz.figures._style.LAYOUTS_KEPT` results
      are kept, and a slider that comes back to a layout puts the axes back where they were, unmeasured;
    * a redraw that changes only data (cell colours, lines, numbers inside the axes) changes no input; one
      that changes only strings whose boxes keep their size (``(4)`` to ``(5)``) measures
      (:func:`_layout_key`) but does not lay out again (:meth:`lay_out`).
    """

    def __init__(self) -> None:
        self.engine = ConstrainedLayoutEngine()
        #: what the layout measured last (:func:`_layout_key`), and what it was a function of (:func:`_layout_inputs`)
        self.layout_key: tuple | None = None
        self.inputs: tuple | None = None
        self.kept: OrderedDict[tuple, tuple[tuple, tuple]] = OrderedDict()  # inputs -> (places, key)
        self.similar: OrderedDict[tuple, tuple] = OrderedDict()  # inputs without strings -> latest such inputs

    def execute(self, fig: LabFigure, renderer: Any) -> None:
        """Lay ``fig`` out for this draw, unless it is laid out for these inputs already."""
        inputs = _layout_inputs(fig)
        if inputs == self.inputs:
            return
        kept = self.kept.get(inputs)
        if kept is not None:
            _set_places(fig, kept[0])
            self.kept.move_to_end(inputs)
        else:
            kept = self.lay_out(fig, renderer, inputs)
        self.layout_key, self.inputs = kept[1], inputs

    def lay_out(self, fig: LabFigure, renderer: Any, inputs: tuple) -> tuple[tuple, tuple]:
        """Lay ``fig`` out for ``inputs`` (seen for the first time) and keep the result.

        If a kept layout differs only in strings (a title ``window 5`` for ``window 15``, tick labels
        ``(4)`` for ``(5)``) and, with the axes put back there, everything the layout measures comes
        out as it did (:func:`_layout_key`), that layout is the answer; otherwise constrained layout runs.
        """
        structure = _layout_inputs(fig, strings=False)
        similar = self.similar.get(structure)
        key = None
        if similar in self.kept:
            places, similar_key = self.kept[similar]
            _set_places(fig, places)
            key = _layout_key(fig, renderer)
            if key != similar_key:
                key = None
        if key is None:
            # constrained layout refines the positions it starts from: start where a new figure starts
            for ax in fig.axes:
                if ax.get_subplotspec() is not None:
                    ax.set_subplotspec(ax.get_subplotspec())
            self.engine.execute(fig)
            key = _layout_key(fig, renderer)
        kept = self.kept[inputs] = (_places(fig), key)
        self.similar[structure] = inputs
        self.similar.move_to_end(structure)
        for table in (self.kept, self.similar):
            while len(table) > LAYOUTS_KEPT:
                table.popitem(last=False)
        return kept


def _places(fig: LabFigure) -> tuple:
    """Where the layout put things: every axes' box (as laid out, and as drawn) and the suptitle's anchor."""
    axes = tuple((ax.get_position(original=True).frozen(), ax.get_position(original=False).frozen()) for ax in fig.axes)
    title = fig.lab_suptitle
    return axes, ((title.get_position(), title.get_verticalalignment()) if title is not None else None)


def _set_places(fig: LabFigure, places: tuple) -> None:
    """Put the axes and the suptitle where :func:`_places` found them."""
    axes, title = places
    for ax, (original, active) in zip(fig.axes, axes):
        ax.set_position(original, which="original")
        ax.set_position(active, which="active")
        ax.set_in_layout(True)  # set_position takes an axes out of the layout: these stay in it
    if fig.lab_suptitle is not None and title is not None:
        fig.lab_suptitle.set_position(title[0])
        fig.lab_suptitle.set_verticalalignment(title[1])


def set_chrome(artist: Artist, chrome: bool) -> None:
    """Mark ``artist`` as drawn with the chrome (see :meth:`LabFigure.draw`) or not."""
    artist.__dict__[_CHROME] = chrome


def _chrome_artists(fig: Figure) -> list[Artist]:
    """The artists of ``fig`` marked ``chrome=True`` (besides the patches, axis objects and suptitle)."""
    return [a for ax in fig.axes for a in ax.get_children() if a.__dict__.get(_CHROME)]


def _chrome_state(artist: Artist) -> tuple:
    """What the chrome's pixels show of ``artist``: a text's string, place and style; an artist that says what it
    shows (``chrome_state()``, a grid's tick labels); for another kind only that it is there (it must never change)."""
    if isinstance(artist, Text):
        return (
            artist.get_gid(), artist.get_text(), artist.get_position(), artist.get_fontsize(), artist.get_color(),
            artist.get_horizontalalignment(), artist.get_verticalalignment(), artist.get_rotation(),
            artist.get_fontweight(), artist.get_visible(),
        )
    state = getattr(artist, "chrome_state", None)
    if state is not None:
        return state()
    return artist.get_gid(), id(artist), artist.get_visible()


@contextlib.contextmanager
def _legible(fig: LabFigure, renderer: Any) -> Iterator[None]:
    """Within: the texts of ``fig`` that would be drawn smaller than :data:`~swin_viz.figures._text.MIN_TEXT_PX`
    pixels (a small figure rendered at a low resolution) are hidden: dropped, never shrunk. A grid's numbers and
    tick labels apply the same rule themselves (:mod:`swin_viz.figures._text`)."""
    scale = renderer.points_to_pixels(1.0)
    texts = [*fig.texts, *(text for ax in fig.axes for text in (*ax.texts, ax.title, ax.xaxis.label, ax.yaxis.label, *ax.get_xticklabels(), *ax.get_yticklabels()))]
    for legend in (ax.get_legend() for ax in fig.axes):
        if legend is not None:
            texts += legend.get_texts()
    hidden = [t for t in texts if t.get_visible() and t.get_text() and t.get_fontsize() * scale < MIN_TEXT_PX]
    for text in hidden:
        text.set_visible(False)
    try:
        yield
    finally:
        for text in hidden:
            text.set_visible(True)


@contextlib.contextmanager
def _outlined_titles(fig: LabFigure, renderer: Any) -> Iterator[Callable[..., None]]:
    """Within: the titles of ``fig``'s visible axes are hidden from matplotlib's own drawing, and the function
    yielded draws those of the chrome (``chrome=True``) or the others from their outlines. A title that follows a
    picker is drawn on every redraw, and FreeType rendered one in 2-4 ms; an outline is made once per string."""
    titles = [ax.title for ax in fig.axes if ax.get_visible() and ax.title.get_visible() and ax.title.get_text()]

    def draw_titles(*, chrome: bool) -> None:
        for title in titles:
            if bool(title.__dict__.get(_CHROME, False)) == chrome:
                draw_as_outline(title, renderer)

    for title in titles:
        title.set_visible(False)
    try:
        yield draw_titles
    finally:
        for title in titles:
            title.set_visible(True)


@contextlib.contextmanager
def _showing(fig: LabFigure, *, chrome: bool) -> Iterator[None]:
    """Within: only the chrome of ``fig`` is visible (``chrome=True``), or everything but the chrome."""
    hidden = []

    def hide(artist: Artist | None) -> None:
        if artist is not None and artist.get_visible():
            artist.set_visible(False)
            hidden.append(artist)

    for artist in (*fig.artists, *fig.lines, *fig.patches, *fig.texts, *fig.images, *fig.legends):
        if (artist is fig.lab_suptitle) != chrome:
            hide(artist)
    if not chrome:
        hide(fig.patch)
    for ax in fig.axes:
        for artist in ax.get_children():
            if artist in fig.axes:
                continue
            is_chrome = artist is ax.patch or artist is ax.xaxis or artist is ax.yaxis or artist.__dict__.get(_CHROME, False)
            if is_chrome != chrome:
                hide(artist)
    try:
        yield
    finally:
        for artist in hidden:
            artist.set_visible(True)


def _extent_key(texts: Sequence[Text], renderer: Any) -> tuple | None:
    """The box around ``texts`` on the canvas, to half a pixel: all the layout takes from them."""
    boxes = [t.get_window_extent(renderer) for t in texts]
    if not boxes:
        return None
    return _half_pixels(Bbox.union(boxes))


def _title_key(title: Text, width: float, renderer: Any) -> tuple | None:
    """A title's height, and how far it overhangs ``width`` pixels: a centred title that fits changes nothing in
    the layout, whatever it says. (Not its position: the layout moves the suptitle.)"""
    if not title.get_visible() or not title.get_text():
        return None
    extent = title.get_window_extent(renderer)
    return title.get_fontsize(), round(extent.height, 2), round(max(0.0, extent.width - width), 2)


def _axis_key(axis: Any, renderer: Any) -> tuple:
    """What the layout takes from an axis: its ticks, its label, and the box its tick labels fill (not their
    strings: a label that changes but keeps its size, ``(4)`` to ``(5)``, moves nothing)."""
    labels = [t for t in axis.get_majorticklabels() if t.get_visible() and t.get_text()]
    return (
        # the label's position is not an input: matplotlib moves it below the tick labels on every draw
        axis.get_visible(), axis.get_label_position(), axis.label.get_text(), axis.label.get_fontsize(),
        tuple(axis.get_majorticklocs()),
        tuple((t.get_fontsize(), t.get_rotation()) for t in labels),
        tuple(Bbox.union([t.get_window_extent(renderer) for t in labels]).extents) if labels else None,
    )


def _tick_texts(fig: Figure) -> tuple:
    """The tick labels' strings of every axes: part of the chrome's pixels, not of the layout."""
    return tuple(
        tuple(t.get_text() for axis in (ax.xaxis, ax.yaxis) for t in axis.get_majorticklabels()) if ax.axison else None
        for ax in fig.axes
    )


def _axes_key(ax: Axes) -> tuple:
    """An axes' place in its grid (and the grid's ratios), visibility, limits, aspect and spines."""
    spec = ax.get_subplotspec()
    grid = spec.get_gridspec() if spec is not None else None
    return (
        spec.get_geometry() if spec is not None else None,
        tuple(grid.get_width_ratios() or ()) if grid is not None else None,
        tuple(grid.get_height_ratios() or ()) if grid is not None else None,
        ax.get_visible(), ax.axison, ax.get_xlim(), ax.get_ylim(), ax.get_aspect(), ax.get_adjustable(),
        tuple(spine.get_visible() for spine in ax.spines.values()),
    )


def _layout_key(fig: LabFigure, renderer: Any) -> tuple:
    """Everything constrained layout measures in ``fig``: its size, the grids, and per axes the limits, aspect,
    tick labels, axis labels, title (height and overhang only), legend, the box around the texts that take part
    in the layout (``in_layout``) and the box of each artist that says what decides it (``layout_inputs``: a
    grid's tick labels). A figure whose layout depends on anything else must add it here."""
    for ax in fig.axes:  # texts are measured where the draw will put them (the layout leaves the aspect undone)
        ax.apply_aspect()
    title = fig.lab_suptitle
    key: list = [tuple(fig.get_size_inches()), fig.dpi, _title_key(title, fig.bbox.width, renderer) if title else None]
    for ax in fig.axes:
        key.append((
            _axes_key(ax),
            _axis_key(ax.xaxis, renderer) if ax.axison and ax.xaxis.get_visible() else None,
            _axis_key(ax.yaxis, renderer) if ax.axison and ax.yaxis.get_visible() else None,
            _title_key(ax.title, ax.get_position(original=True).width * fig.bbox.width, renderer),
            _extent_key([t for t in ax.texts if t.get_visible() and t.get_in_layout()], renderer),
            tuple(_half_pixels(a.get_tightbbox(renderer)) for a in _laid_out_artists(ax)),
            ax.get_legend() is not None,
        ))
    return tuple(key)


def _half_pixels(box: Bbox | None) -> tuple | None:
    """A box's extents to half a pixel (``None`` for no box)."""
    return tuple(round(2 * v) / 2 for v in box.extents) if box is not None else None


def _laid_out_artists(ax: Axes) -> list[Artist]:
    """The artists of ``ax`` that take part in the layout and say what decides their box (``layout_inputs``)."""
    return [a for a in ax.artists if a.get_visible() and a.get_in_layout() and hasattr(a, "layout_inputs")]


def _text_inputs(text: Text, strings: bool = True) -> tuple | None:
    """What decides a text's box, wherever it is drawn: the string (unless ``strings`` is false), the font, the
    angle, the alignment."""
    if not text.get_visible() or not text.get_text():
        return None
    return (
        text.get_text() if strings else text.get_text().count("\n"),
        text.get_fontsize(), text.get_fontweight(), text.get_fontfamily()[0], text.get_rotation(),
        text.get_horizontalalignment(), text.get_verticalalignment(),
    )


def _axis_inputs(axis: Any, strings: bool = True) -> tuple:
    """What the layout reads from an axis, without measuring: ticks, their labels' strings, the axis label."""
    locations = axis.get_majorticklocs()
    styles = {  # the tick labels' own style (``set_xticks(..., fontsize=)`` sets it on them, not on the formatter)
        (label.get_fontsize(), label.get_rotation(), label.get_visible(), label.get_fontweight())
        for tick in axis.get_major_ticks(len(locations)) for label in (tick.label1, tick.label2)
    }
    return (
        axis.get_visible(), axis.get_label_position(), _text_inputs(axis.label), tuple(locations),
        tuple(axis.major.formatter.format_ticks(locations)) if strings else len(locations),
        tuple(sorted(styles, key=repr)),
    )


def _layout_inputs(fig: LabFigure, strings: bool = True) -> tuple:
    """Everything the layout of ``fig`` is a function of, without measuring or placing anything: the figure's
    size, the grids, and per axes the limits, aspect, ticks and their labels, tick style, axis labels, titles,
    legend, the texts that take part in the layout, with their anchors, and the ``layout_inputs`` of artists
    that have them (a grid's tick labels). Two figures with equal inputs are laid out alike. ``strings=False``:
    the same without the strings of titles, tick labels and notes (the axis labels stay)."""
    title = fig.lab_suptitle
    key: list = [tuple(fig.get_size_inches()), fig.dpi, _text_inputs(title, strings) if title else None]
    for ax in fig.axes:
        key.append((
            _axes_key(ax),
            tuple(sorted((name, repr(value)) for name, value in ax.__dict__.get(TICK_PARAMS, {}).items())),
            tuple(_axis_inputs(axis, strings) if axis.get_visible() else None for axis in (ax.xaxis, ax.yaxis))
            if ax.axison else None,
            (_text_inputs(ax.title, strings), ax.title.get_position()),
            tuple(
                (_text_inputs(t, strings), t.get_position(), id(t.get_transform()))
                for t in ax.texts if t.get_visible() and t.get_in_layout()
            ),
            tuple(a.layout_inputs(strings) for a in _laid_out_artists(ax)),
            ax.get_legend() is not None,
        ))
    return tuple(key)


def fast_png(pixels: np.ndarray, compress_level: int = 1) -> bytes:
    """PNG bytes of an ``[H, W, 3]`` (RGB) or ``[H, W, 4]`` (RGBA) ``uint8`` image: every row unfiltered, one zlib stream.

    Twice as fast as PIL's encoder (whose per-row filter search costs more than the compression at low
    levels), for about a fifth more bytes on these flat-coloured figures.
    """
    height, width, channels = pixels.shape
    if pixels.dtype != np.uint8 or channels not in (3, 4):
        raise ValueError(f"pixels must be [H, W, 3] or [H, W, 4] uint8, got {pixels.dtype} {tuple(pixels.shape)}")
    rows = np.empty((height, 1 + channels * width), dtype=np.uint8)
    rows[:, 0] = 0  # filter type 0 (None) on every row
    rows[:, 1:] = pixels.reshape(height, channels * width)
    data = zlib.compress(rows, compress_level)

    def chunk(kind: bytes, body: bytes) -> bytes:
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", zlib.crc32(kind + body))

    colour_type = 2 if channels == 3 else 6  # 8-bit RGB or RGBA
    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)  # deflate, no filter method, no interlace
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data) + chunk(b"IEND", b"")


def new_figure(width: float, height: float) -> LabFigure:
    """A white :class:`LabFigure` of ``width x height`` inches at :data:`~swin_viz.figures._style.DPI`, on Agg."""
    fig = LabFigure(figsize=(width, height), facecolor="white", dpi=DPI)
    FigureCanvasAgg(fig)
    return fig


def set_suptitle(fig: LabFigure, text: str, *, fontsize: float) -> None:
    """``fig.suptitle``, keeping the height the layout gave it when the figure is redrawn
    (``fig.suptitle`` would put it back to its default, and the layout may not run again)."""
    if fig.lab_suptitle is None:
        fig.lab_suptitle = fig.suptitle(text, fontsize=fontsize)
    else:
        fig.lab_suptitle.set_text(text)
        fig.lab_suptitle.set_fontsize(fontsize)


def set_title(ax: Axes, text: str, *, chrome: bool = True, **props: Any) -> None:
    """``ax.set_title`` at a fixed height (just above the axes): matplotlib then skips searching for tick labels
    above the axes on every draw (none of these figures has any).

    ``chrome``: drawn with the chrome (see :meth:`LabFigure.draw`); pass ``False`` for a title that changes
    with a picker (window, query, shift), or every change redraws the chrome.
    """
    ax.set_title(text, y=1.0, **props)
    set_chrome(ax.title, chrome)
