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
  (up to :data:`MAX_ANNOTATED` cells a side), thin white lines between them
  while the cells are big enough to show them (up to :data:`MAX_LINED` a side),
  and a tick on every cell up to :data:`MAX_ANNOTATED`, beyond that at most
  :data:`MAX_TICKS` ticks (on the window borders where the panel knows them);
* rows are drawn top to bottom, columns left to right, like the tensor prints;
* thick black lines are window borders.

Figures are built with :class:`matplotlib.figure.Figure`, not ``pyplot``, so
they hold no global state and show as a PNG (and nothing else) in Jupyter.

Retained mode: redrawing into an existing figure
------------------------------------------------
Every ``plot_*`` takes ``figure=None``. Without it a new figure is made, as a
notebook cell does. Given a figure that a ``plot_*`` returned before, the
picture is drawn *into* it: its axes and artists are kept and only their data
change (``AxesImage.set_data``, ``LineCollection.set_segments``,
``Text.set_text`` ...), so an explorer's slider change costs one render and no
construction. The result is the picture a fresh figure shows, pixel for pixel
(``tests/test_widgets.py`` checks it for every stage). A redraw pays for three
things only: the artists that changed, the constrained layout when something it
measures changed, and the "chrome" (ticks, tick labels, axis labels, fixed
titles) when it changed; otherwise both are reused (:class:`_RetainedLayout`,
:meth:`LabFigure.draw`). Text is the dearest thing to draw (about 0.1 ms a
glyph), so most of a redraw's cost is the text that changes.

Every figure, including new ones, follows these rules to stay fast and correct:

1. A ``plot_*`` function takes ``*, figure: LabFigure | None = None``, opens a
   frame and draws its panels inside it::

       with _frame(figure, ("plot_name", n_panels), (width, height), build) as (fig, axes):
           draw_something(axes[0], ...)
           _title(axes[0], "fixed title")                      # chrome
           _title(axes[1], f"window {k}", chrome=False)         # follows a picker
           _suptitle(fig, "...", fontsize=11)
       return fig

   ``build(fig)`` makes the axes (``fig.subplots(...)``); it runs only when the
   figure is new or the key (the figure's structure: its name, its number of
   panels) differs from the last frame's, after ``fig.clear()``. Otherwise the
   axes are reused, the size is set with ``set_size_inches`` and grid ratios
   with :func:`_set_ratios` (call it every frame if they follow the data).
2. Panels create artists only through the pooled helpers :func:`_image`,
   :func:`_lines`, :func:`_polygons`, :func:`_text`, :func:`_bracket` and
   :func:`_legend`, and titles through :func:`_title` / :func:`_suptitle`
   (never ``ax.imshow``, ``ax.text``, ``ax.hlines``, ``add_patch``,
   ``fig.suptitle``). Each names its artist with a gid unique in its axes
   (``"cells/text/3/4"``): the first frame creates it, later frames find it by
   gid and update it in place, skipping what did not change. A gid gets the
   same kind of properties on every call (pass every property that can vary).
3. When the frame ends, every pooled artist that was not claimed in it is
   removed, so a smaller grid leaves no stale numbers behind.
4. Axes state is set in every frame, unconditionally: limits (no autoscale),
   ticks together with their labels, axis labels, titles. A grid panel's ticks
   and axis labels are one pooled artist (:func:`_finish_grid`,
   :func:`_grid_ticks`, :class:`_TickLabels`), not matplotlib's ``Tick`` objects;
   other panels (curves, bars) use matplotlib's ticks (:func:`_tick_params`).
5. Keep the artist count low: one image per panel (several grids in one panel
   are tiles of one image, :func:`_draw_tiles`), one collection for all lines
   or boxes of a kind. Keep the text count low on big grids (numbers only up to
   :data:`MAX_ANNOTATED`, :data:`MAX_TICKS`, :data:`MAX_NOTES`).
6. Texts inside the axes (cell numbers, notes) take ``in_layout=False``: the
   layout then measures only what lies outside. Texts outside the axes that
   change with a picker must stay in the layout; :func:`_layout_key` lists what
   the layout depends on, so extend it if a figure adds another kind of input.
7. Chrome is drawn first and cached; the data is drawn over it. A text may be
   chrome (``chrome=True``) only if it overlaps no data artist; a text that
   follows a picker should not be chrome, or every change redraws the chrome.
"""

from __future__ import annotations

import contextlib
import io
import math
import struct
import zlib
from collections import OrderedDict
from typing import Any, Callable, Iterator, Sequence

import matplotlib
import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection, PolyCollection
from matplotlib.colors import TwoSlopeNorm, to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.image import AxesImage
from matplotlib.layout_engine import ConstrainedLayoutEngine
from matplotlib.legend import Legend
from matplotlib.patches import Patch
from matplotlib.text import Annotation, Text
from matplotlib.transforms import Bbox, IdentityTransform

from swin_viz._glyphs import canvas_class, font_heights
from swin_viz.tensors import as_pair, region_slices, reverse_cyclic_shift

__all__ = [
    "REGION_COLOURS",
    "MAX_ANNOTATED",
    "MAX_LINED",
    "MAX_TICKS",
    "MAX_NOTES",
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
#: Grids with more cells than this on a side are drawn without numbers (and ticked sparsely).
MAX_ANNOTATED = 24
#: Grids with more cells than this on a side are drawn without the white lines between cells.
MAX_LINED = 100
#: Most ticks on a sparsely ticked axis.
MAX_TICKS = 12
#: Most per-window notes in a figure of every window (text is the dearest thing to draw: beyond this,
#: only the windows with something to say get one).
MAX_NOTES = 16
#: Colours of an allowed (0.0) and a forbidden (fill) mask entry.
ALLOWED_COLOUR = "#e3f4e1"
FORBIDDEN_COLOUR = "#4d4d4d"
#: Colour of a zero label difference (same region).
ZERO_COLOUR = "#f0f0f0"
#: Resolution of :meth:`LabFigure.to_png` (the notebooks' pictures).
DPI = 100
#: Layouts a figure keeps, to put its axes back without laying out again (see :class:`_RetainedLayout`).
LAYOUTS_KEPT = 64
#: Bytes of chrome pixels a figure keeps, the most recent layouts first (see :meth:`LabFigure.draw`).
CHROME_CACHE_BYTES = 32 * 2**20


class LabFigure(Figure):
    """A matplotlib ``Figure`` that shows itself in Jupyter as one PNG, with no text repr.

    Use :meth:`to_png` for the bytes (the widgets put them in an ``Image``).
    Pass it back to the ``plot_*`` that made it (``figure=``) to redraw it in place.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._lab_key: object = None  # the structure the axes were built for (see _frame)
        self._lab_axes: Any = None
        #: the pixels of the chrome (see draw) per what they were drawn for, least recently used first
        self._chromes: OrderedDict[tuple, Any] = OrderedDict()

    def draw(self, renderer: Any) -> None:
        """Draw in two passes: the chrome, then the data on top.

        The chrome is what stays put while a slider moves: the background, every
        axes' patch and its axes' ticks, tick labels and axis labels (a grid's
        :class:`_TickLabels`), the suptitle, and the artists drawn with
        ``chrome=True`` (titles that do not follow a picker, fixed notes). That is most of the text, and text is the
        dearest thing to draw. Its pixels are kept, for the last few layouts
        (:data:`CHROME_CACHE_BYTES`), and pasted back when the canvas, the
        axes' places, the layout key (tick label boxes, axis labels, limits ...
        see :func:`_layout_key`), the tick labels' strings and the chrome
        artists' state are those of a kept copy; the rest (images, lines, cell
        numbers, titles and notes that follow a picker, spines) is drawn on top
        every time. Chrome artists must not overlap data artists (they lie
        outside the axes or in the gaps between grids), so the picture is the
        one a single pass draws.
        """
        with getattr(renderer, "drawing", contextlib.nullcontext)():  # a GlyphCacheRenderer remembers fonts for one draw
            self._draw(renderer)

    def _draw(self, renderer: Any) -> None:
        engine = self.get_layout_engine()
        if not isinstance(engine, _RetainedLayout) or not hasattr(renderer, "copy_from_bbox"):
            super().draw(renderer)
            return
        engine.execute(self)
        suptitle = self._suptitle.get_text() if self._suptitle is not None else None
        chrome = tuple(_chrome_state(artist) for artist in _chrome_artists(self))
        places = tuple(ax.get_position().bounds for ax in self.axes)
        key = (engine._key, places, _tick_texts(self), suptitle, chrome, renderer.width, renderer.height, self.dpi)
        with engine.laid_out():
            pixels = self._chromes.get(key)
            if pixels is not None:
                self._chromes.move_to_end(key)
                renderer.restore_region(pixels)
            else:
                with _showing(self, chrome=True):
                    super().draw(renderer)
                # the whole canvas: self.bbox can fall a hair short of it (7.2 in x 100 dpi = 719.999... px)
                self._chromes[key] = renderer.copy_from_bbox(Bbox([[0, 0], [renderer.width, renderer.height]]))
                kept = CHROME_CACHE_BYTES // max(1, 4 * int(renderer.width) * int(renderer.height))
                while len(self._chromes) > max(1, kept):
                    self._chromes.popitem(last=False)
            with _showing(self, chrome=False):
                super().draw(renderer)

    def to_png(self, *, dpi: float = DPI, compress_level: int = 6) -> bytes:
        """Render the figure to PNG bytes at ``dpi``.

        ``compress_level`` is zlib's 0..9: the default 6 makes the smallest
        files (committed notebooks), through PIL; 0 or 1 writes Agg's RGBA
        pixels without PNG's row filters (:func:`_fast_png`), twice as
        fast for about a fifth more bytes (the explorers, which redraw on every
        slider change).
        """
        if self.dpi != dpi:
            self.dpi = dpi
        if compress_level <= 1 and isinstance(self.canvas, FigureCanvasAgg):
            self.canvas.draw()
            return _fast_png(np.asarray(self.canvas.buffer_rgba()), compress_level)
        buffer = io.BytesIO()
        self.canvas.print_png(buffer, pil_kwargs={"compress_level": compress_level})
        return buffer.getvalue()

    def _ipython_display_(self) -> None:
        from IPython.display import display

        display({"image/png": self.to_png()}, raw=True)


class _RetainedLayout(ConstrainedLayoutEngine):
    """Matplotlib's constrained layout, run again only for a layout it has not worked out before.

    Laying out measures every tick label, title and note, which costs as much as
    drawing them. Two things spare it:

    * the layout is a function of what it reads (:func:`_layout_inputs`: the
      figure's size, the grids, limits, tick labels, titles ...), so the last
      :data:`LAYOUTS_KEPT` results are kept, and a slider that comes back to a
      layout it has shown puts the axes back where they were, without measuring;
    * a redraw that changes only data (cell colours, lines, numbers inside the
      axes) changes no input; one that changes only strings whose boxes keep
      their size (``(4)`` to ``(5)``) measures (:func:`_layout_key`) but does not
      lay out again (:meth:`_lay_out`).
    """

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._key: tuple | None = None
        self._inputs: tuple | None = None
        self._kept: OrderedDict[tuple, tuple[tuple, tuple]] = OrderedDict()  # inputs -> (places, key)
        self._similar: OrderedDict[tuple, tuple] = OrderedDict()  # inputs without strings -> latest such inputs
        self._paused = False

    @contextlib.contextmanager
    def laid_out(self) -> Iterator[None]:
        """Within: the figure is laid out for this draw already (:meth:`LabFigure.draw` draws in two passes)."""
        self._paused = True
        try:
            yield
        finally:
            self._paused = False

    def execute(self, fig: Figure) -> Any:
        if self._paused:
            return None
        renderer = fig.canvas.get_renderer() if hasattr(fig.canvas, "get_renderer") else None
        if renderer is None:
            return super().execute(fig)
        inputs = _layout_inputs(fig)
        if inputs == self._inputs:
            return None
        kept = self._kept.get(inputs)
        if kept is not None:
            _set_places(fig, kept[0])
            self._kept.move_to_end(inputs)
        else:
            kept = self._lay_out(fig, renderer, inputs)
        self._key, self._inputs = kept[1], inputs
        return None

    def _lay_out(self, fig: Figure, renderer: Any, inputs: tuple) -> tuple[tuple, tuple]:
        """Lay ``fig`` out for ``inputs`` (seen for the first time) and keep the result.

        If a kept layout differs only in strings (a title ``window 5`` for ``window 15``, tick labels
        ``(4)`` for ``(5)``) and, with the axes put back there, everything the layout measures comes
        out as it did (:func:`_layout_key`), that layout is the answer; otherwise constrained layout runs.
        """
        structure = _layout_inputs(fig, strings=False)
        similar = self._similar.get(structure)
        key = None
        if similar in self._kept:
            places, similar_key = self._kept[similar]
            _set_places(fig, places)
            key = _layout_key(fig, renderer)
            if key != similar_key:
                key = None
        if key is None:
            # constrained layout refines the positions it starts from: start where a new figure starts
            for ax in fig.axes:
                if ax.get_subplotspec() is not None:
                    ax.set_subplotspec(ax.get_subplotspec())
            super().execute(fig)
            key = _layout_key(fig, renderer)
        kept = self._kept[inputs] = (_places(fig), key)
        self._similar[structure] = inputs
        self._similar.move_to_end(structure)
        for table in (self._kept, self._similar):
            while len(table) > LAYOUTS_KEPT:
                table.popitem(last=False)
        return kept


def _places(fig: Figure) -> tuple:
    """Where the layout put things: every axes' box (as laid out, and as drawn) and the figure titles' anchors."""
    axes = tuple((ax.get_position(original=True).frozen(), ax.get_position(original=False).frozen()) for ax in fig.axes)
    titles = tuple(
        (title.get_position(), title.get_verticalalignment()) if title is not None else None
        for title in (fig._suptitle, fig._supxlabel, fig._supylabel)
    )
    return axes, titles


def _set_places(fig: Figure, places: tuple) -> None:
    """Put the axes and figure titles where :func:`_places` found them."""
    axes, titles = places
    for ax, (original, active) in zip(fig.axes, axes):
        ax._set_position(original, which="original")
        ax._set_position(active, which="active")
    for title, place in zip((fig._suptitle, fig._supxlabel, fig._supylabel), titles):
        if title is not None and place is not None:
            title.set_position(place[0])
            title.set_verticalalignment(place[1])


_CHROME = "_swin_viz_chrome"  # attribute of an artist drawn with the chrome (see LabFigure.draw)


def _set_chrome(artist: Artist, chrome: bool) -> None:
    artist.__dict__[_CHROME] = chrome


def _chrome_artists(fig: Figure) -> list[Artist]:
    """The artists of ``fig`` marked ``chrome=True`` (besides the patches, axis objects and suptitle)."""
    return [a for ax in fig.axes for a in ax.get_children() if a.__dict__.get(_CHROME)]


def _chrome_state(artist: Artist) -> tuple:
    """What the chrome's pixels show of ``artist``: a text's string, place and style; for another kind of
    artist only that it is there and visible (such chrome must never change)."""
    if isinstance(artist, Text):
        return (
            artist.get_gid(), artist.get_text(), artist.get_position(), artist.get_fontsize(), artist.get_color(),
            artist.get_horizontalalignment(), artist.get_verticalalignment(), artist.get_rotation(),
            artist.get_fontweight(), artist.get_visible(),
        )
    state = getattr(artist, "chrome_state", None)  # an artist that says what it shows (_TickLabels)
    if state is not None:
        return state()
    return artist.get_gid(), id(artist), artist.get_visible()


@contextlib.contextmanager
def _showing(fig: Figure, *, chrome: bool) -> Iterator[None]:
    """Within: only the chrome of ``fig`` is visible (``chrome=True``), or everything but the chrome."""
    hidden = []

    def hide(artist: Artist | None) -> None:
        if artist is not None and artist.get_visible():
            artist.set_visible(False)
            hidden.append(artist)

    for artist in (*fig.artists, *fig.lines, *fig.patches, *fig.texts, *fig.images, *fig.legends):
        if (artist is fig._suptitle) != chrome:
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
    """A title's height, and how far it overhangs ``width`` pixels: a centred title that fits
    changes nothing in the layout, whatever it says. (Not its position: the layout moves the suptitle.)"""
    if not title.get_visible() or not title.get_text():
        return None
    extent = title.get_window_extent(renderer)
    return title.get_fontsize(), round(extent.height, 2), round(max(0.0, extent.width - width), 2)


def _axis_key(axis: Any, renderer: Any) -> tuple:
    """What the layout takes from an axis: its ticks, its label, and the box its tick labels fill
    (not their strings: a label that changes but keeps its size, ``(4)`` to ``(5)``, moves nothing)."""
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


def _layout_key(fig: Figure, renderer: Any) -> tuple:
    """Everything constrained layout reads from ``fig``: its size, the grids, and per axes the limits, aspect,
    tick labels, axis labels, title (height and overhang only), legend, the box around the texts that
    take part in the layout (``in_layout``) and the box of each artist that says what decides it
    (``layout_inputs``: a grid's :class:`_TickLabels`). A figure whose layout depends on anything else must
    add it here."""
    for ax in fig.axes:  # texts are measured where the draw will put them (the layout leaves the aspect undone)
        ax.apply_aspect()
    key: list = [tuple(fig.get_size_inches()), fig.dpi, _title_key(fig._suptitle, fig.bbox.width, renderer) if fig._suptitle else None]
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
    """The artists of ``ax`` that take part in the layout and say what decides their box (``layout_inputs``,
    e.g. :class:`_TickLabels`)."""
    return [a for a in ax.artists if a.get_visible() and a.get_in_layout() and hasattr(a, "layout_inputs")]


def _text_inputs(text: Text, strings: bool = True) -> tuple | None:
    """What decides a text's box, wherever it is drawn: the string (unless ``strings`` is false), the font,
    the angle, the alignment."""
    if not text.get_visible() or not text.get_text():
        return None
    return (
        text.get_text() if strings else text.get_text().count("\n"),
        text.get_fontsize(), text.get_fontweight(), text.get_fontfamily()[0], text.get_rotation(),
        text.get_horizontalalignment(), text.get_verticalalignment(), text.get_linespacing(),
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


def _layout_inputs(fig: Figure, strings: bool = True) -> tuple:
    """Everything the layout of ``fig`` is a function of, without measuring or placing anything: the figure's
    size, the grids, and per axes the limits, aspect, ticks and their labels, tick style, axis labels, titles,
    legend, the texts that take part in the layout, with their anchors, and the ``layout_inputs`` of
    artists that have them (a grid's :class:`_TickLabels`). Two figures with equal inputs
    are laid out alike (:class:`_RetainedLayout` reuses the result). ``strings=False``: the same without the
    strings of titles, tick labels and notes (the axis labels stay)."""
    key: list = [tuple(fig.get_size_inches()), fig.dpi, _text_inputs(fig._suptitle, strings) if fig._suptitle else None]
    for ax in fig.axes:
        key.append((
            _axes_key(ax),
            tuple(sorted((name, repr(value)) for name, value in ax.__dict__.get(_TICKS, {}).items())),
            tuple(_axis_inputs(axis, strings) if axis.get_visible() else None for axis in (ax.xaxis, ax.yaxis))
            if ax.axison else None,
            tuple((_text_inputs(t, strings), t.get_position()) for t in (ax.title, ax._left_title, ax._right_title)),
            tuple(
                (_text_inputs(t, strings), t.get_position(), id(t.get_transform()))
                for t in ax.texts if t.get_visible() and t.get_in_layout()
            ),
            tuple(a.layout_inputs(strings) for a in _laid_out_artists(ax)),
            ax.get_legend() is not None,
        ))
    return tuple(key)


def _fast_png(pixels: np.ndarray, compress_level: int = 1) -> bytes:
    """PNG bytes of an ``[H, W, 3]`` (RGB) or ``[H, W, 4]`` (RGBA) ``uint8`` image: every row unfiltered, one zlib stream.

    Twice as fast as PIL's encoder (whose per-row filter search costs more than
    the compression at low levels), for about a fifth more bytes on these flat-coloured figures. Agg's
    RGBA buffer goes in as it is: dropping its alpha channel first would cost a strided copy that takes
    as long as compressing the opaque alpha bytes (they compress to almost nothing).
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


def _new_figure(width: float, height: float) -> LabFigure:
    fig = LabFigure(figsize=(width, height), layout=_RetainedLayout(), facecolor="white", dpi=DPI)
    canvas_class()(fig)
    return fig


def _suptitle(fig: Figure, text: str, *, fontsize: float) -> None:
    """``fig.suptitle``, keeping the height the layout gave it when the figure is redrawn
    (``fig.suptitle`` would put it back to its default, and the layout may not run again)."""
    if fig._suptitle is None:
        fig.suptitle(text, fontsize=fontsize)
    else:
        fig._suptitle.set_text(text)
        fig._suptitle.set_fontsize(fontsize)


def _title(ax: Axes, text: str, *, chrome: bool = True, **props: Any) -> None:
    """``ax.set_title`` at a fixed height (just above the axes): matplotlib then skips searching
    for tick labels above the axes on every draw (none of these figures has any).

    ``chrome``: drawn with the chrome (see :meth:`LabFigure.draw`); pass ``False`` for a
    title that changes with a picker (window, query, shift), or every change redraws the chrome.
    """
    ax.set_title(text, y=1.0, **props)
    _set_chrome(ax.title, chrome)


# --------------------------------------------------------------------------- #
# Retained mode: frames, and artists pooled by gid (see the module docstring) #
# --------------------------------------------------------------------------- #
_POOL = "_swin_viz_pool"  # attribute of an Axes: {gid: artist}
_CLAIMED = "_swin_viz_claimed"  # attribute of an Axes: the gids claimed in the current frame
_STYLE = "_swin_viz_style"  # attribute of a pooled artist: the properties last applied
_DATA = "_swin_viz_data"  # attribute of a pooled artist: the geometry last applied
_TICKS = "_swin_viz_tick_params"  # attribute of an Axes: the tick_params last applied


@contextlib.contextmanager
def _frame(
    figure: LabFigure | None, key: tuple, size: tuple[float, float], build: Callable[[LabFigure], Any]
) -> Iterator[tuple[LabFigure, Any]]:
    """Open a frame on ``figure`` (a new one if ``None``): yields ``(fig, axes)``; sweeps unclaimed artists at the end.

    ``axes`` is what ``build(fig)`` returned when the figure was last built for ``key``;
    it is built anew (after ``fig.clear()``) only if the figure is new or ``key`` changed.
    """
    if figure is None:
        fig = _new_figure(*size)
    elif not isinstance(figure, LabFigure):
        raise TypeError(f"figure must be a LabFigure returned by a plot_* function, got {type(figure).__name__}")
    else:
        fig = figure
        if not np.allclose(fig.get_size_inches(), size):
            fig.set_size_inches(size)
    if fig._lab_key != key:
        fig.clear()
        fig._lab_key = None
        fig._lab_axes = build(fig)
        fig._lab_key = key
    for ax in fig.axes:
        ax.__dict__[_CLAIMED] = set()
    yield fig, fig._lab_axes
    for ax in fig.axes:
        pool, claimed = ax.__dict__.get(_POOL, {}), ax.__dict__.get(_CLAIMED, set())
        for gid in [gid for gid in pool if gid not in claimed]:
            pool.pop(gid).remove()
        claimed.clear()


def _set_ratios(ax: Axes, *, width: Sequence[float] | None = None, height: Sequence[float] | None = None) -> None:
    """Set the width/height ratios of the grid ``ax`` sits in (every frame: they may follow the data)."""
    grid = ax.get_subplotspec().get_gridspec()
    if width is not None:
        grid.set_width_ratios(width)
    if height is not None:
        grid.set_height_ratios(height)


def _pooled(ax: Axes, gid: str, make: Callable[[], Artist]) -> tuple[Any, bool]:
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


def _style(artist: Artist, props: dict[str, Any]) -> None:
    """Apply ``props`` to ``artist`` unless they are the ones it already has."""
    if artist.__dict__.get(_STYLE) != props:
        artist.update(props)
        artist.__dict__[_STYLE] = props


def _changed(artist: Artist, data: Any) -> bool:
    """Whether ``data`` (an array of geometry) differs from what ``artist`` was last given; remembers it."""
    data = np.asarray(data, dtype=float)
    old = artist.__dict__.get(_DATA)
    if old is not None and old.shape == data.shape and np.array_equal(old, data):
        return False
    artist.__dict__[_DATA] = data
    return True


def _tick_params(ax: Axes, **props: Any) -> None:
    """``ax.tick_params(**props)``, skipped when the axes already had exactly these (it restyles every tick)."""
    if ax.__dict__.get(_TICKS) != props:
        ax.tick_params(**props)
        ax.__dict__[_TICKS] = props


def _bytes(rgba: np.ndarray) -> np.ndarray:
    """Float RGBA colours in ``[0, 1]`` as ``uint8`` (Agg resamples those three times faster than floats)."""
    if rgba.dtype == np.uint8:
        return rgba
    return (np.clip(rgba, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)


class _CellImage(AxesImage):
    """An image of cells (``uint8`` RGBA) drawn the way ``interpolation="nearest"`` draws it, pixel for pixel,
    but by picking the cell under each canvas pixel with numpy: a third of the time of matplotlib's resampler.

    Other cases (rotated or non-affine transforms, vector backends) fall back to matplotlib.
    """

    def make_image(self, renderer: Any, magnification: float = 1.0, unsampled: bool = False) -> tuple:
        trans = self.get_transform()
        data = np.ma.getdata(self._A) if self._A is not None else None
        if (
            unsampled or magnification != 1.0 or not trans.is_affine or data is None or data.dtype != np.uint8
            or data.ndim != 3 or data.shape[2] != 4
        ):
            return super().make_image(renderer, magnification, unsampled)
        (a, b, e), (c, d, f), _ = trans.get_affine().get_matrix()
        if b != 0 or c != 0 or a == 0 or d == 0:
            return super().make_image(renderer, magnification, unsampled)
        left, right, bottom, top = self.get_extent()
        (xa, ya), (xb, yb) = trans.transform([[left, bottom], [right, top]])
        clip = (self.get_clip_box() or self.axes.bbox) if self.get_clip_on() else self.get_figure(root=True).bbox
        clipped = Bbox.intersection(Bbox.from_extents(min(xa, xb), min(ya, yb), max(xa, xb), max(ya, yb)), clip)
        if clipped is None:
            return None, 0, 0, None
        # the output pixels matplotlib's _make_image would fill (its rounding)
        x0, y0 = np.floor(clipped.x0 + 0.5), np.ceil(clipped.y0 - 0.5 - 1e-8)
        x1, y1 = np.floor(clipped.x1 + 0.5 + 1e-8), np.ceil(clipped.y1 - 0.5)
        width, height = int(x1 - x0), int(y1 - y0)
        if width <= 0 or height <= 0:
            return None, 0, 0, None
        rows, cols = data.shape[:2]
        x = (x0 + np.arange(width) + 0.5 - e) / a  # data coordinates of the pixel centres
        y = (y0 + np.arange(height) + 0.5 - f) / d  # bottom row of pixels first
        start, stop = (top, bottom) if self.origin == "upper" else (bottom, top)
        col = np.floor((x - left) / (right - left) * cols).astype(np.intp)
        row = np.floor((y - start) / (stop - start) * rows).astype(np.intp)
        out = data[np.clip(row, 0, rows - 1)][:, np.clip(col, 0, cols - 1)]
        out[(row < 0) | (row >= rows)] = 0
        out[:, (col < 0) | (col >= cols)] = 0
        return out, x0, y0, IdentityTransform()


def _new_image(ax: Axes, rgba: np.ndarray, extent: tuple[float, float, float, float], zorder: float) -> _CellImage:
    """What ``ax.imshow(rgba, extent=extent, interpolation="nearest")`` makes, as a :class:`_CellImage`."""
    image = _CellImage(ax, interpolation="nearest", extent=extent, zorder=zorder)
    image.set_data(rgba)
    image.set_clip_path(ax.patch)
    ax.set_aspect(matplotlib.rcParams["image.aspect"])
    ax.add_image(image)
    return image


def _image(ax: Axes, gid: str, rgba: np.ndarray, extent: tuple[float, float, float, float], *, zorder: float = 1) -> AxesImage:
    """A pooled ``imshow`` of an ``[R, C, 4]`` colour array over ``extent`` (nearest-neighbour, no autoscale).

    The image holds the colours as ``uint8`` (:func:`_bytes`).
    """
    rgba = _bytes(rgba)
    image, new = _pooled(ax, gid, lambda: _new_image(ax, rgba, extent, zorder))
    if not new:
        image.set_data(rgba)
        if not np.array_equal(image.get_extent(), extent):
            image.set_extent(extent)
        _style(image, {"zorder": zorder})
    return image


def _lines(
    ax: Axes, gid: str, segments: np.ndarray | Sequence, *, color: str, linewidth: float, linestyle: str = "solid", zorder: float = 2
) -> LineCollection:
    """A pooled ``LineCollection`` of ``[n, 2, 2]`` segments ``((x0, y0), (x1, y1))``."""
    collection, _ = _pooled(ax, gid, lambda: ax.add_collection(LineCollection([]), autolim=False))
    if _changed(collection, segments):
        collection.set_segments(segments)
    _style(collection, {"color": color, "linewidth": linewidth, "linestyle": linestyle, "zorder": zorder})
    return collection


def _boxes(x: np.ndarray | float, y: np.ndarray | float, width: np.ndarray | float, height: np.ndarray | float) -> np.ndarray:
    """Corners ``[n, 4, 2]`` of the rectangles with lower-left ``(x, y)`` and size ``width x height`` (broadcast)."""
    x, y, width, height = np.broadcast_arrays(*(np.atleast_1d(np.asarray(v, dtype=float)) for v in (x, y, width, height)))
    return np.stack(
        [np.stack([x, y], -1), np.stack([x + width, y], -1), np.stack([x + width, y + height], -1), np.stack([x, y + height], -1)],
        axis=1,
    )


def _polygons(
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
    collection, _ = _pooled(ax, gid, lambda: ax.add_collection(PolyCollection([]), autolim=False))
    if _changed(collection, verts):
        collection.set_verts(verts)
    _style(
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


def _text(ax: Axes, gid: str, x: float, y: float, text: str, *, chrome: bool = False, **props: Any) -> Text:
    """A pooled ``ax.text(x, y, text, **props)``; properties not given take ``ax.text``'s defaults.

    ``chrome=True``: drawn with the chrome (:meth:`LabFigure.draw`): for texts that rarely change
    and overlap no data artist (window numbers in the gaps, fixed notes).
    """
    artist, _ = _pooled(ax, gid, lambda: ax.text(x, y, text))
    _set_chrome(artist, chrome)
    artist.set_position((x, y))
    artist.set_text(text)
    style = {**_TEXT_DEFAULTS, "fontsize": matplotlib.rcParams["font.size"], "transform": ax.transData}
    style.update({_TEXT_ALIASES.get(name, name): value for name, value in props.items()})
    _style(artist, style)
    return artist


def _bracket(ax: Axes, gid: str, start: tuple[float, float], end: tuple[float, float], arrowprops: dict[str, Any]) -> Annotation:
    """A pooled arrow from ``end`` to ``start`` (an ``annotate`` with no text, drawn outside the axes too)."""
    arrow, new = _pooled(ax, gid, lambda: ax.annotate("", xy=start, xytext=end, arrowprops=arrowprops, annotation_clip=False))
    if not new:
        arrow.xy = start
        arrow.set_position(end)
    return arrow


def _legend(ax: Axes, gid: str, entries: Sequence[tuple[str, str]], **props: Any) -> Legend:
    """A pooled legend of ``(colour, label)`` patches (made once: its entries never change for a gid).

    Not chrome: it lies inside the axes, over the data.
    """
    handles = [Patch(facecolor=colour, label=label) for colour, label in entries]
    legend, _ = _pooled(ax, gid, lambda: ax.legend(handles=handles, **props))
    return legend


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


def _annotated(*sides: int) -> bool:
    """Whether a grid with these side lengths (cells) is small enough to carry its numbers."""
    return max(sides) <= MAX_ANNOTATED


def _cell_lines(rows: int, cols: int, origins: np.ndarray) -> np.ndarray:
    """Segments ``[n, 2, 2]`` of the lines around the cells of ``rows x cols`` grids whose cell ``(0, 0)`` is at each of ``origins`` ``[k, 2]``."""
    x0, y0 = origins[:, 0:1] - 0.5, origins[:, 1:2] - 0.5  # [k, 1]
    xs, ys = x0 + np.arange(cols + 1), y0 + np.arange(rows + 1)  # [k, cols + 1], [k, rows + 1]
    vertical = np.stack(
        [np.stack([xs, np.broadcast_to(y0, xs.shape)], -1), np.stack([xs, np.broadcast_to(y0 + rows, xs.shape)], -1)], axis=2
    )
    horizontal = np.stack(
        [np.stack([np.broadcast_to(x0, ys.shape), ys], -1), np.stack([np.broadcast_to(x0 + cols, ys.shape), ys], -1)], axis=2
    )
    return np.concatenate([vertical.reshape(-1, 2, 2), horizontal.reshape(-1, 2, 2)])


def _font_lines(renderer: Any, prop: FontProperties) -> tuple[float, float, float]:
    """The ascent, descent and line pitch (pixels) of ``prop``'s font: a string of n lines is n boxes of
    ascent + descent, one pitch (ascent + descent + line gap, a Text's "normal" spacing) apart."""
    heights = getattr(renderer, "_get_font_height_metrics", None)  # the glyph cache's: font files remembered per draw
    ascent, descent, gap = heights(prop) if heights is not None else font_heights(prop, renderer.points_to_pixels(72.0))
    if ascent is None:
        _, height, descent = renderer.get_text_width_height_descent("lp", prop, False)
        ascent, gap = height - descent, 0.0
    return ascent, descent, ascent + descent + gap


def _string_lines(
    anchors: np.ndarray, strings: Sequence[str], colours: Sequence[Any], metrics: tuple[float, float, float], valign: str
) -> tuple[list[tuple[float, float]], list[str], list[Any]]:
    """Split each of ``strings`` (one or more lines) into lines: ``(x, baseline)`` (display pixels, y up),
    the line, its colour. ``valign="center"``: the block of lines is centred on its anchor's ``y``, each
    line's box ``[-descent, ascent]`` on its own middle (like ``va="center"``); ``"top"``: the block's box
    starts at the anchor's ``y`` (like ``va="top"``: with more than one line, half a line gap above the first);
    ``"center_baseline"``: the first line's baseline half its ascent below the anchor (like a y tick label's
    ``va="center_baseline"``)."""
    ascent, descent, pitch = metrics
    points, lines, line_colours = [], [], []
    for (x, y), string, colour in zip(anchors, strings, colours):
        parts = string.split("\n")
        leading = (pitch - ascent - descent) / 2 if len(parts) > 1 else 0.0
        for i, line in enumerate(parts):
            if line:
                if valign == "center":
                    points.append((x, y + ((len(parts) - 1) / 2 - i) * pitch - (ascent - descent) / 2))
                elif valign == "top":
                    points.append((x, y - ascent - leading - i * pitch))
                else:
                    points.append((x, y - (ascent + leading) / 2 - i * pitch))
                lines.append(line)
                line_colours.append(colour)
    return points, lines, line_colours


def _ink_span(renderer: Any, line: str, prop: FontProperties) -> tuple[float, float]:
    """``(left, width)`` of a one-line string's ink from its origin, as :func:`_draw_lines` places it
    (another renderer than the glyph cache's: its advance box)."""
    span = getattr(renderer, "ink_span", None)
    if span is not None:
        return span(line, prop)
    return 0.0, renderer.get_text_width_height_descent(line, prop, False)[0]


def _draw_lines(
    artist: Artist, renderer: Any, points: np.ndarray | Sequence[tuple[float, float]], lines: list[str],
    colours: list[Any], prop: FontProperties, align: str,
) -> None:
    """Draw one-line strings at ``(x, baseline)`` display points, ``align``: ink centred on ``x`` or ending at it.
    The glyph cache's renderer draws each from one cached bitmap on whole pixels; another renderer (PDF,
    SVG, another matplotlib) gets one ``draw_text`` per line, its advance box aligned the same way."""
    if not lines:
        return
    gc = renderer.new_gc()
    gc.set_alpha(artist.get_alpha())
    gc.set_url(artist.get_url())
    draw_aligned = getattr(renderer, "draw_aligned_strings", None)
    if draw_aligned is not None:
        draw_aligned(gc, np.array(points, dtype=float).reshape(-1, 2), lines, colours, prop, align)
    else:
        share = 0.5 if align == "center" else 1.0
        for (x, y_base), line, colour in zip(points, lines, colours):
            gc.set_foreground(colour)
            width = renderer.get_text_width_height_descent(line, prop, False)[0]
            if renderer.flipy():
                y_base = renderer.get_canvas_width_height()[1] - y_base
            renderer.draw_text(gc, x - width * share, y_base, line, prop, 0.0)
    gc.restore()


class _CellNumbers(Artist):
    """The numbers of a grid's cells as ONE artist: short strings (of one or more lines), each centred on a
    point in data coordinates.

    A ``Text`` per cell costs a layout and a draw each (0.1-0.2 ms); a 24 x 24 grid of two-part
    labels is a thousand of them. This draws every string from one cached bitmap
    (:meth:`~swin_viz._glyphs.GlyphCacheRenderer.draw_aligned_strings`), placed on whole pixels;
    other renderers (PDF, SVG, another matplotlib) get one ``draw_text`` per string, centred the same way.
    It takes no part in the layout (it lies inside the axes).
    """

    def __init__(self) -> None:
        super().__init__()
        self._xy = np.zeros((0, 2))
        self._strings: list[str] = []
        self._colours: list[str] = []
        self._fontsize = 10.0
        self.set_in_layout(False)

    def set_cells(self, xy: np.ndarray, strings: list[str], colours: list[str], fontsize: float) -> None:
        """``strings[i]`` centred at ``xy[i]`` (data coordinates) in ``colours[i]``, at ``fontsize`` points."""
        xy = np.asarray(xy, dtype=float).reshape(-1, 2)
        if (
            self._strings != strings or self._colours != colours or self._fontsize != fontsize
            or self._xy.shape != xy.shape or not np.array_equal(self._xy, xy)
        ):
            self._xy, self._strings, self._colours, self._fontsize = xy, list(strings), list(colours), float(fontsize)
            self.stale = True

    def cell_texts(self) -> list[tuple[float, float, str]]:
        """``(x, y, string)`` of every number drawn (what the tests read back)."""
        return [(float(x), float(y), s) for (x, y), s in zip(self._xy, self._strings)]

    def draw(self, renderer: Any) -> None:
        if not self.get_visible() or not self._strings:
            return
        prop = FontProperties(size=self._fontsize)
        anchors = self.axes.transData.transform(self._xy)
        points, lines, colours = _string_lines(anchors, self._strings, self._colours, _font_lines(renderer, prop), "center")
        _draw_lines(self, renderer, points, lines, colours, prop, "center")
        self.stale = False


class _TickLabels(Artist):
    """The tick labels and axis labels of a grid panel as ONE artist, in place of matplotlib's ticks.

    Matplotlib makes a ``Tick`` (two lines, two texts) per tick, lays each label out and measures it
    several times per draw (the layout, the axis label's place, the draw), and makes new ``Tick`` objects
    (about 0.6 ms each) when a grid grows: a window-slider change of the pipeline figure spent half its
    time on ticks. Here the labels are strings drawn like the cell numbers (one cached bitmap each, on whole
    pixels) and measured from the same bitmaps. They sit where matplotlib puts tick labels with no tick
    marks (``tests/test_glyphs.py`` compares them): below the axes, ink centred on the tick, the box's top
    ``xtick.major.pad`` points below the axes (x); left of the axes, ink ending ``ytick.major.pad`` points
    before it, the baseline half an ascent below the tick (y, ``va="center_baseline"``).
    The axis labels are ``Text`` objects placed ``axes.labelpad`` points beyond the tick labels, as
    matplotlib places them. It takes part in the layout (:meth:`get_window_extent` is the box around all of
    it) and is chrome (:meth:`LabFigure.draw`): :meth:`layout_inputs` and :meth:`chrome_state` say what it shows.
    """

    def __init__(self) -> None:
        super().__init__()
        self._ticks: dict[str, tuple[tuple[float, ...], tuple[str, ...], float]] = {"x": ((), (), 10.0), "y": ((), (), 10.0)}
        rc = matplotlib.rcParams
        common = dict(fontsize=rc["axes.labelsize"], fontweight=rc["axes.labelweight"], color=rc["axes.labelcolor"])
        self._labels = {
            "x": Text(0, 0, "", va="top", ha="center", transform=IdentityTransform(), **common),
            "y": Text(0, 0, "", va="bottom", ha="center", rotation="vertical", rotation_mode="anchor",
                      transform=IdentityTransform(), **common),
        }
        self._colours = {axis: rc[f"{axis}tick.color"] if rc[f"{axis}tick.labelcolor"] == "inherit" else rc[f"{axis}tick.labelcolor"] for axis in "xy"}
        self._pads = {axis: rc[f"{axis}tick.major.pad"] for axis in "xy"}  # points; the grids draw no tick marks
        self._labelpad = rc["axes.labelpad"]
        self._placed: tuple | None = None  # (key, what _place found) of the last call
        self._geometries: dict[str, tuple] = {}  # axis -> (key, _geometry)
        self._label_boxes: dict[str, tuple] = {}  # axis -> (key, _label_box)
        self.set_in_layout(True)
        self.set_clip_on(False)

    def set_figure(self, fig: Any) -> None:
        super().set_figure(fig)
        for label in self._labels.values():
            label.set_figure(fig)

    def set_ticks(self, axis: str, positions: Sequence[float], strings: Sequence[str], fontsize: float | None = None) -> None:
        """Ticks of ``axis`` (``"x"`` or ``"y"``): ``strings[i]`` at data coordinate ``positions[i]``, at
        ``fontsize`` points (``None``: the size they have)."""
        if len(positions) != len(strings):
            raise ValueError(f"positions and strings must have the same length, got {len(positions)} and {len(strings)}")
        size = float(fontsize) if fontsize is not None else self._ticks[axis][2]
        ticks = (tuple(float(p) for p in positions), tuple(strings), size)
        if self._ticks[axis] != ticks:
            self._ticks[axis] = ticks
            self.stale = True

    def set_label(self, axis: str, text: str, fontsize: float | None = None) -> None:
        """The label of ``axis`` (``""`` for none), at ``fontsize`` points (default ``axes.labelsize``)."""
        label = self._labels[axis]
        size = fontsize if fontsize is not None else matplotlib.rcParams["axes.labelsize"]
        if label.get_text() != text or label.get_fontsize() != FontProperties(size=size).get_size_in_points():
            label.set_text(text)
            label.set_fontsize(size)
            self.stale = True

    def tick_labels(self, axis: str) -> list[tuple[float, str]]:
        """``(position, string)`` of every tick label of ``axis`` (what the tests read back)."""
        positions, strings, _ = self._ticks[axis]
        return list(zip(positions, strings))

    def label(self, axis: str) -> str:
        """The label of ``axis``."""
        return self._labels[axis].get_text()

    def layout_inputs(self, strings: bool = True) -> tuple:
        """What decides its box, given the axes' place: the ticks, their strings (with ``strings=False``,
        only how many lines each has), font sizes, and the axis labels."""
        ticks = tuple(
            (positions, texts if strings else tuple(t.count("\n") for t in texts), size)
            for positions, texts, size in self._ticks.values()
        )
        return ticks, tuple(_text_inputs(label, strings) for label in self._labels.values())

    def chrome_state(self) -> tuple:
        """What its pixels show (the chrome key, :meth:`LabFigure.draw`)."""
        return self.get_gid(), self.get_visible(), self.layout_inputs(), tuple(self._colours.values())

    def _place(self, renderer: Any) -> tuple[dict[str, tuple], Bbox | None]:
        """Per axis the lines to draw ``(points, lines, colours, prop, align)``, with the axis labels placed; and the
        box around it all. The layout asks several times per pass, at new places; each asks only for
        arithmetic on :meth:`_geometry` and :meth:`_label_box`, which are measured once per string set."""
        ax = self.axes
        box = ax.bbox
        key = (id(renderer), box.bounds, ax.viewLim.bounds, self.layout_inputs())
        if self._placed is not None and self._placed[0] == key:
            drawn, found, positions = self._placed[1]
            for label, position in zip(self._labels.values(), positions):
                label.set_position(position)
            return drawn, found
        boxes: list[np.ndarray] = []
        drawn: dict[str, tuple] = {}
        edges = {"x": box.y0, "y": box.x0}  # where each axis label goes beyond: the axes, or the tick labels
        for axis in "xy":
            positions = self._ticks[axis][0]
            geometry = self._geometry(renderer, axis)
            if geometry is None:
                continue
            offsets, owners, lines, prop, extents = geometry
            values = np.array(positions, dtype=float)
            pad = renderer.points_to_pixels(self._pads[axis])
            if axis == "x":
                along = ax.transData.transform(np.column_stack([values, np.zeros_like(values)]))[:, 0]
                anchors = np.column_stack([along, np.full_like(along, box.y0 - pad)])
            else:
                along = ax.transData.transform(np.column_stack([np.zeros_like(values), values]))[:, 1]
                anchors = np.column_stack([np.full_like(along, box.x0 - pad), along])
            points = anchors[owners] + offsets
            line_boxes = extents + np.tile(anchors[owners], 2)
            union = np.array([*line_boxes[:, :2].min(0), *line_boxes[:, 2:].max(0)])
            boxes.append(union)
            edges[axis] = min(edges[axis], union[1] if axis == "x" else union[0])
            drawn[axis] = (points, lines, [self._colours[axis]] * len(lines), prop, "center" if axis == "x" else "right")
        labelpad = renderer.points_to_pixels(self._labelpad)
        places = {"x": (box.x0 + box.width / 2, edges["x"] - labelpad), "y": (edges["y"] - labelpad, box.y0 + box.height / 2)}
        for axis, label in self._labels.items():
            label.set_position(places[axis])
            relative = self._label_box(renderer, axis)
            if relative is not None:
                boxes.append(relative + np.tile(places[axis], 2))
        found = None
        if boxes:
            stacked = np.array(boxes)
            found = Bbox.from_extents(*stacked[:, :2].min(0), *stacked[:, 2:].max(0))
        self._placed = (key, (drawn, found, tuple(places[axis] for axis in self._labels)))
        return drawn, found

    def _geometry(self, renderer: Any, axis: str) -> tuple | None:
        """The tick labels of ``axis`` measured, relative to their anchors (a tick's point on the axes' edge, less
        the pad): each line's ``(x, baseline)`` offset ``[L, 2]``, the tick it belongs to ``[L]``, the lines,
        the font, and each line's box ``[L, 4]`` (its ink across, the font's ascent and descent up and down).
        Remembered while the strings and the renderer stay; ``None`` if there is nothing to draw."""
        positions, strings, size = self._ticks[axis]
        key = (id(renderer), renderer.points_to_pixels(72.0), strings, size)
        found = self._geometries.get(axis)
        if found is not None and found[0] == key:
            return found[1]
        geometry = None
        if strings:
            prop = FontProperties(size=size)
            metrics = _font_lines(renderer, prop)
            valign = "top" if axis == "x" else "center_baseline"
            offsets, owners, lines = [], [], []
            for i, string in enumerate(strings):
                points, parts, _ = _string_lines(np.zeros((1, 2)), [string], [None], metrics, valign)
                offsets += points
                lines += parts
                owners += [i] * len(parts)
            if lines:
                ascent, descent, pitch = metrics
                # half a line gap above and below each line of a string of more than one line, as _string_lines has it
                multi_line = np.array(["\n" in strings[i] for i in owners])
                leading = np.where(multi_line, (pitch - ascent - descent) / 2, 0.0)
                share = 0.5 if axis == "x" else 1.0
                offsets_np = np.array(offsets, dtype=float).reshape(-1, 2)
                widths = np.array([_ink_span(renderer, line, prop)[1] for line in lines], dtype=float)
                extents = np.column_stack([
                    offsets_np[:, 0] - widths * share, offsets_np[:, 1] - descent - leading,
                    offsets_np[:, 0] + widths * (1 - share), offsets_np[:, 1] + ascent + leading,
                ])
                geometry = (offsets_np, np.array(owners, dtype=np.intp), lines, prop, extents)
        self._geometries[axis] = (key, geometry)
        return geometry

    def _label_box(self, renderer: Any, axis: str) -> np.ndarray | None:
        """The box of ``axis``'s label relative to its anchor, ``[x0, y0, x1, y1]`` (``None`` without a label):
        measured once per string, size and renderer (a text's box moves with its anchor)."""
        label = self._labels[axis]
        if not label.get_text() or not label.get_visible():
            return None
        key = (id(renderer), renderer.points_to_pixels(72.0), label.get_text(), label.get_fontsize())
        found = self._label_boxes.get(axis)
        if found is None or found[0] != key:
            x, y = label.get_position()
            found = self._label_boxes[axis] = (key, label.get_window_extent(renderer).extents - np.array([x, y, x, y]))
        return found[1]

    def get_window_extent(self, renderer: Any = None) -> Bbox:
        found = self.get_tightbbox(renderer)
        return found if found is not None else Bbox.null()

    def _shown(self) -> bool:
        """Visible, on an axes whose axis is on (``ax.set_axis_off()`` hides a grid's labels, as it hides ticks)."""
        return self.get_visible() and self.axes is not None and self.axes.axison

    def get_tightbbox(self, renderer: Any = None) -> Bbox | None:
        if not self._shown():
            return None
        if renderer is None:
            renderer = self.get_figure(root=True)._get_renderer()
        return self._place(renderer)[1]

    def draw(self, renderer: Any) -> None:
        if not self._shown():
            return
        drawn, _ = self._place(renderer)
        for points, lines, colours, prop, align in drawn.values():
            _draw_lines(self, renderer, points, lines, colours, prop, align)
        for label in self._labels.values():
            if label.get_text():
                label.draw(renderer)
        self.stale = False


def _cell_texts(
    ax: Axes,
    name: str,
    colours: np.ndarray,
    texts: Sequence[Sequence[str]],
    origin: tuple[float, float],
    fontsize: float,
    alpha: np.ndarray | None = None,
) -> None:
    """The numbers of an ``[R, C]`` grid (cell ``(r, c)`` centred at ``origin + (c, r)``) as one pooled :class:`_CellNumbers`."""
    rows, cols = colours.shape[:2]
    x0, y0 = origin
    xy, strings, text_colours = [], [], []
    for r in range(rows):
        for c in range(cols):
            text = texts[r][c]
            if text:
                faded = alpha is not None and alpha[r, c] < 1
                xy.append((x0 + c, y0 + r))
                strings.append(text)
                text_colours.append("#888888" if faded else _text_colour(colours[r, c]))
    numbers, _ = _pooled(ax, f"{name}/numbers", lambda: ax.add_artist(_CellNumbers()))
    numbers.set_zorder(3)
    numbers.set_cells(np.array(xy, dtype=float).reshape(-1, 2), strings, text_colours, fontsize)


def _draw_cells(
    ax: Axes,
    colours: np.ndarray,
    texts: Sequence[Sequence[str]] | None,
    *,
    origin: tuple[float, float] = (0.0, 0.0),
    fontsize: float | None = None,
    alpha: np.ndarray | None = None,
    name: str = "cells",
) -> None:
    """Draw an ``[R, C, 4]`` colour grid with its cell texts; cell ``(r, c)`` is centred at ``origin + (c, r)``.

    The artists are pooled under ``name`` (two grids in one axes need two names).
    """
    rows, cols = colours.shape[:2]
    x0, y0 = origin
    image = colours.copy()
    if alpha is not None:
        image[..., 3] = alpha
    _image(ax, f"{name}/image", image, (x0 - 0.5, x0 + cols - 0.5, y0 + rows - 0.5, y0 - 0.5))
    if max(rows, cols) <= MAX_LINED:  # thin white lines between cells
        _lines(ax, f"{name}/lines", _cell_lines(rows, cols, np.array([origin])), color="white", linewidth=0.8, zorder=2)
    if texts is None or not _annotated(rows, cols):
        return
    size = fontsize if fontsize is not None else _fontsize(max(rows, cols))
    _cell_texts(ax, name, colours, texts, origin, size, alpha)


def _supersampling(gap: float) -> int:
    """The smallest factor ``f`` (1..10) that makes ``gap * f`` a whole number of pixels."""
    for factor in range(1, 11):
        if abs(gap * factor - round(gap * factor)) < 1e-9:
            return factor
    raise ValueError(f"gap={gap} must be a multiple of 0.1")


def _draw_tiles(
    ax: Axes,
    colours: np.ndarray,
    per_row: int,
    gap: float,
    *,
    texts: Sequence[Sequence[Sequence[str]]] | None = None,
    fontsize: float | None = None,
    name: str = "tiles",
) -> list[tuple[float, float]]:
    """Draw ``K`` grids ``[K, R, C, 4]`` as tiles, ``per_row`` a row, ``gap`` cells apart, as ONE image.

    Tile ``k`` sits at row ``k // per_row``, column ``k % per_row``; its cell ``(r, c)``
    is centred at ``origin_k + (c, r)`` with ``origin_k = (col * (C + gap), row * (R + gap))``.
    Returns the origins. The gaps are transparent; ``texts[k][r][c]`` are the cell texts.
    """
    n_tiles, rows, cols = colours.shape[:3]
    tile_rows = -(-n_tiles // per_row)
    factor = _supersampling(gap)
    gap_px = round(gap * factor)
    step_x, step_y = cols * factor + gap_px, rows * factor + gap_px
    canvas = np.zeros((tile_rows * step_y - gap_px, per_row * step_x - gap_px, 4), dtype=np.uint8)
    sampled = _bytes(colours)
    if factor > 1:
        sampled = sampled.repeat(factor, axis=1).repeat(factor, axis=2)
    origins = []
    for k in range(n_tiles):
        a, b = divmod(k, per_row)
        canvas[a * step_y : a * step_y + rows * factor, b * step_x : b * step_x + cols * factor] = sampled[k]
        origins.append((b * (cols + gap), a * (rows + gap)))
    extent = (-0.5, per_row * (cols + gap) - gap - 0.5, tile_rows * (rows + gap) - gap - 0.5, -0.5)
    _image(ax, f"{name}/image", canvas, extent)
    if max(per_row * (cols + gap), tile_rows * (rows + gap)) <= MAX_LINED:
        _lines(ax, f"{name}/lines", _cell_lines(rows, cols, np.array(origins)), color="white", linewidth=0.8, zorder=2)
    if texts is not None and _annotated(rows, cols):
        size = fontsize if fontsize is not None else _fontsize(max(rows, cols))
        for k, origin in enumerate(origins):
            _cell_texts(ax, f"{name}/{k}", colours[k], texts[k], origin, size)
    return origins


def _tick_step(cells: int, every: int | None = None) -> int:
    """A tick on every cell up to :data:`MAX_ANNOTATED`; beyond, every ``every`` cells (e.g. the window) if that
    gives at most :data:`MAX_TICKS` ticks, else the smallest of 2, 5, 10, 20 … that does."""
    if cells <= MAX_ANNOTATED:
        return 1
    if every is not None and every > 1 and -(-cells // every) <= MAX_TICKS:
        return every
    magnitude = 1
    while True:
        for base in (2, 5, 10):
            if -(-cells // (base * magnitude)) <= MAX_TICKS:
                return base * magnitude
        magnitude *= 10


def _finish_grid(
    ax: Axes,
    rows: int,
    cols: int,
    *,
    xlabel: str = "column",
    ylabel: str = "row",
    every: tuple[int, int] | None = None,
) -> None:
    """Limits, labels and ticks of a grid panel; ``every`` ``(rows, cols)``: where to tick a big grid (the window borders)."""
    ax.set_xlim(-0.5, cols - 0.5)
    ax.set_ylim(rows - 0.5, -0.5)
    ticks = _grid_ticks(ax)
    ticks.set_label("x", xlabel)
    ticks.set_label("y", ylabel)
    every_r, every_c = every if every is not None else (None, None)
    size = _fontsize(max(rows, cols), 110)
    x_ticks = range(0, cols, _tick_step(cols, every_c))
    y_ticks = range(0, rows, _tick_step(rows, every_r))
    ticks.set_ticks("x", x_ticks, [str(t) for t in x_ticks], size)
    ticks.set_ticks("y", y_ticks, [str(t) for t in y_ticks], size)


def _no_ticks(ax: Axes) -> None:
    """A grid panel without tick labels (its axis labels stay)."""
    ticks = _grid_ticks(ax)
    ticks.set_ticks("x", [], [])
    ticks.set_ticks("y", [], [])


def _grid_ticks(ax: Axes) -> _TickLabels:
    """The pooled :class:`_TickLabels` of a grid panel (made, and matplotlib's own ticks and spines
    switched off, the first time): set its ticks and labels every frame."""
    ticks, new = _pooled(ax, "ticks", lambda: ax.add_artist(_TickLabels()))
    if new:
        _set_chrome(ticks, True)
        ax.set_xticks([])
        ax.set_yticks([])
        ax.xaxis.set_visible(False)  # the layout and the draw then skip matplotlib's axes altogether
        ax.yaxis.set_visible(False)
        for spine in ax.spines.values():
            spine.set_visible(False)
    return ticks


def _window_borders(
    ax: Axes, height: int, width: int, window: tuple[int, int], offset: tuple[int, int] = (0, 0), *, gid: str = "borders"
) -> None:
    """Thick lines on the window borders: every ``window`` cells from ``offset``, plus the map's edges."""
    rows = sorted({0, height, *range(offset[0] % window[0], height + 1, window[0])})
    cols = sorted({0, width, *range(offset[1] % window[1], width + 1, window[1])})
    segments = [((-0.5, r - 0.5), (width - 0.5, r - 0.5)) for r in rows]
    segments += [((c - 0.5, -0.5), (c - 0.5, height - 0.5)) for c in cols]
    _lines(ax, gid, segments, color="black", linewidth=2.0, zorder=4)


def _labels_text(labels: torch.Tensor) -> list[list[str]]:
    return [[str(v) for v in row] for row in labels.reshape(labels.shape[0], -1).tolist()]


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
    values = labels.tolist()
    ticks = [f"{prefix}{i}\n({int(values[i])})" if axis == "x" else f"{prefix}{i} ({int(values[i])})" for i in range(n)]
    _grid_ticks(ax).set_ticks(axis, range(n), ticks, _fontsize(n, 80))


def _query_key_axes(ax: Axes, n: int, labels: torch.Tensor | None) -> None:
    """Axes of an ``[N, N]`` grid: rows are query tokens ``i``, columns key tokens ``j``, ticked with their labels."""
    root = math.isqrt(n)
    every = (root, root) if root * root == n else None  # N = M * M: tick each row of the window
    _finish_grid(ax, n, n, xlabel="key token j", ylabel="query token i", every=every)
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
    texts = [[f"{t // width},{t % width}" for t in row] for row in tokens.tolist()] if _annotated(rows, cols) else None
    _draw_cells(ax, region_colours(labels), texts, fontsize=_fontsize(cols, 75))
    if window is not None:
        _window_borders(ax, rows, cols, window, window_offset)
    if seam is not None:
        seam_row, seam_col = seam
        segments = []
        if 0 < seam_row < rows:
            segments.append(((-0.5, seam_row - 0.5), (cols - 0.5, seam_row - 0.5)))
        if 0 < seam_col < cols:
            segments.append(((seam_col - 0.5, -0.5), (seam_col - 0.5, rows - 0.5)))
        if segments:
            _lines(ax, "seam", segments, color="#d62728", linewidth=2.5, linestyle="--", zorder=5)
    _finish_grid(ax, rows, cols, every=window)
    _title(ax, title, fontsize=10)


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
    size = (2 * side + 0.4, side * height / width + 0.7)
    with _frame(figure, ("cyclic_shift",), size, lambda fig: fig.subplots(1, 2)) as (fig, (before, after)):
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
        _title(after, after.get_title(), fontsize=10, chrome=False)  # follows the shift
        _suptitle(fig, "Cyclic shift: the top rows and left columns wrap to the bottom and right", fontsize=11)
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


_BRACKET = {"arrowstyle": "|-|", "color": "#444444", "shrinkA": 0, "shrinkB": 0, "mutation_scale": 3}


def draw_region_labels(
    ax: Axes, labels: torch.Tensor, window: int | tuple[int, int], shift: int | tuple[int, int], *, bands: bool = True
) -> None:
    """Draw the region label map ``[H, W]`` with window borders and, if ``bands``, the h/w slices."""
    labels = _as_2d(labels, "labels")
    height, width = labels.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    _draw_cells(ax, region_colours(labels), _labels_text(labels) if _annotated(height, width) else None)
    _window_borders(ax, height, width, window_hw)
    _finish_grid(ax, height, width, every=window_hw)
    if not bands:
        return
    for k, (start, stop, text) in enumerate(_bands(height, window_hw[0], shift_hw[0])):
        _bracket(ax, f"bands/h/{k}/bracket", (width - 0.2, start - 0.45), (width - 0.2, stop - 0.55), _BRACKET)
        _text(ax, f"bands/h/{k}", width + 0.1, (start + stop - 1) / 2, f"h_slices[{k}] = {text}\n{_span('row', start, stop)}",
              va="center", ha="left", fontsize=8)
    for k, (start, stop, text) in enumerate(_bands(width, window_hw[1], shift_hw[1])):
        _bracket(ax, f"bands/w/{k}/bracket", (start - 0.45, -0.8), (stop - 0.55, -0.8), _BRACKET)
        _text(ax, f"bands/w/{k}", (start + stop - 1) / 2, -1.0, f"w_slices[{k}] = {text}\n{_span('col', start, stop)}",
              va="bottom", ha="center", rotation=90, fontsize=8)


def plot_region_labels(
    labels: torch.Tensor, window: int | tuple[int, int], shift: int | tuple[int, int], *, figure: LabFigure | None = None
) -> LabFigure:
    """The region label map of the rolled feature map, with its slice bands (walkthrough figure 2).

    Args:
        labels: ``[H, W]`` from ``region_labels``.
        window: ``M`` or ``(Mh, Mw)`` (thick lines are window borders).
        shift: ``s`` or ``(sh, sw)`` (the bands are ``region_slices(M, s)``).
        figure: a figure this function returned before, to redraw in place.
    """
    labels = _as_2d(labels, "labels")
    height, width = labels.shape
    side = min(6.5, 2.0 + 0.45 * width)
    size = (side + 3.2, side * height / width + 1.6)
    with _frame(figure, ("region_labels",), size, lambda fig: fig.subplots()) as (fig, ax):
        draw_region_labels(ax, labels, window, shift)
        _suptitle(fig, "img_mask: one label (cnt) per region, cnt counting over (h_slices × w_slices)", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Stage 3: windows                                                            #
# --------------------------------------------------------------------------- #
#: Gap between the windows of :func:`draw_window_partition`, in cells.
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
    texts = [_labels_text(w) for w in windows] if annotate else None
    origins = _draw_tiles(ax, region_colours(windows), windows_per_row, GAP, texts=texts, fontsize=size, name="windows")
    corners = np.array(origins) - 0.5
    plain = [k for k in range(n_windows) if k != highlight]
    _polygons(ax, "frames", _boxes(corners[plain, 0], corners[plain, 1], window_w, window_h), edgecolor="black", linewidth=1.5)
    if highlight is not None:
        x0, y0 = corners[highlight]
        _polygons(ax, "highlight", _boxes(x0, y0, window_w, window_h), edgecolor="#d62728", linewidth=3)
    for k, (x0, y0) in enumerate(origins):
        _text(ax, f"title/{k}", x0 - 0.45, y0 - 0.55, f"#{k}", ha="left", va="bottom", fontsize=max(size - 1, 5),
              color="#d62728" if k == highlight else "black", in_layout=False, chrome=True)
    ax.set_xlim(-0.7, windows_per_row * (window_w + GAP) - GAP - 0.3)
    ax.set_ylim(rows_of_windows * (window_h + GAP) - GAP - 0.3, -1.1)
    ax.set_axis_off()


def plot_window_partition(windows: torch.Tensor, height: int, width: int, *, figure: LabFigure | None = None) -> LabFigure:
    """The label map cut into windows, in the order ``window_partition`` returns them (walkthrough figure 3).

    Args:
        windows: ``[nW, Mh, Mw]`` (or ``[nW, Mh, Mw, 1]``) from ``window_partition(img_mask, M)``.
        height, width: the feature map's ``H, W`` (to lay the windows out as they sat).
        figure: a figure this function returned before, to redraw in place.
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
    with _frame(figure, ("window_partition",), (side, side * height / width + 0.6), lambda fig: fig.subplots()) as (fig, ax):
        draw_window_partition(ax, windows, per_row)
        _title(ax, f"window_partition(img_mask, {window_h if window_h == window_w else (window_h, window_w)}): "
                     f"{n_windows} windows, row-major", fontsize=11)
    return fig


def draw_window_rows(ax: Axes, mask_windows: torch.Tensor, *, highlight: int | None = None) -> None:
    """Draw ``mask_windows`` ``[nW, N]``: one row of token labels per window; mixed rows flagged on the right."""
    mask_windows = _as_2d(mask_windows, "mask_windows")
    n_windows, n_tokens = mask_windows.shape
    texts = _labels_text(mask_windows) if _annotated(n_windows, n_tokens) else None
    _draw_cells(ax, region_colours(mask_windows), texts, fontsize=_fontsize(max(n_tokens, n_windows), 90))
    _finish_grid(ax, n_windows, n_tokens, xlabel="token n (row-major inside the window)", ylabel="window k")
    if n_windows <= MAX_ANNOTATED * 2:
        mixed = (mask_windows != mask_windows[:, :1]).any(dim=1).tolist()
        for k, is_mixed in enumerate(mixed):
            _text(ax, f"flag/{k}", n_tokens - 0.2, k, " needs mask" if is_mixed else " one region", va="center", ha="left",
                  fontsize=_fontsize(n_windows, 80), color="#d62728" if is_mixed else "#2ca02c")
    if highlight is not None:
        _polygons(ax, "highlight", _boxes(-0.5, highlight - 0.5, n_tokens, 1), edgecolor="#d62728", linewidth=3, zorder=5)


def plot_window_rows(
    mask_windows: torch.Tensor, *, highlight: int | None = None, figure: LabFigure | None = None
) -> LabFigure:
    """``mask_windows.view(-1, M*M)``: each window as a row of ``N`` labels (walkthrough figure 4).

    Args:
        mask_windows: ``[nW, N]`` from ``window_labels``.
        highlight: a window index to outline.
        figure: a figure this function returned before, to redraw in place.
    """
    mask_windows = _as_2d(mask_windows, "mask_windows")
    n_windows, n_tokens = mask_windows.shape
    size = (min(8.0, 2.5 + 0.45 * n_tokens), min(8.0, 1.2 + 0.38 * n_windows))
    with _frame(figure, ("window_rows",), size, lambda fig: fig.subplots()) as (fig, ax):
        draw_window_rows(ax, mask_windows, highlight=highlight)
        _title(ax, f"mask_windows.view(-1, window_size * window_size): [{n_windows}, {n_tokens}]", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Stage 4: broadcast subtraction                                              #
# --------------------------------------------------------------------------- #
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
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    side = min(5.5, 1.8 + 0.42 * n)
    as_row = labels.unsqueeze(0).expand(n, n)
    as_col = labels.unsqueeze(1).expand(n, n)
    stored_row = np.full((n, n), 0.35)
    stored_row[0, :] = 1.0
    stored_col = np.full((n, n), 0.35)
    stored_col[:, 0] = 1.0
    with _frame(figure, ("broadcast_operands",), (2 * side + 0.5, side + 0.7), lambda fig: fig.subplots(1, 2)) as (fig, axes):
        for ax, grid, alpha, title in (
            (axes[0], as_row, stored_row, "mask_windows.unsqueeze(1): [1, N] → row repeated\nentry (i, j) = label[j]"),
            (axes[1], as_col, stored_col, "mask_windows.unsqueeze(2): [N, 1] → column repeated\nentry (i, j) = label[i]"),
        ):
            _draw_cells(ax, region_colours(grid), _labels_text(grid) if _annotated(n) else None, alpha=alpha)
            _query_key_axes(ax, n, labels)
            _title(ax, title, fontsize=10)
        _suptitle(fig, "Broadcasting: each operand is repeated N times to [N, N]  (solid: stored, faded: broadcast)", fontsize=11)
    return fig


def draw_label_difference(ax: Axes, difference: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw an ``[N, N]`` difference ``label[j] - label[i]``: white where zero, red/blue by sign."""
    difference = _as_2d(difference, "difference")
    n = difference.shape[0]
    limit = max(1.0, float(difference.abs().max()))
    cmap = matplotlib.colormaps["coolwarm"]
    colours = cmap(TwoSlopeNorm(0.0, -limit, limit)(difference.numpy().astype(float)))
    colours[difference.numpy() == 0] = to_rgba(ZERO_COLOUR)
    _draw_cells(ax, colours, _labels_text(difference) if _annotated(n) else None, fontsize=_fontsize(n, 75))
    _query_key_axes(ax, n, labels)


def _mask_colours(mask: torch.Tensor) -> np.ndarray:
    """RGBA colours of mask entries ``[...]`` → ``[..., 4]``: allowed (0) light, forbidden dark."""
    palette = np.array([to_rgba(FORBIDDEN_COLOUR), to_rgba(ALLOWED_COLOUR)])
    return palette[(mask == 0).numpy().astype(np.intp)]


def draw_attention_mask(ax: Axes, mask: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw an ``[N, N]`` mask: light green 0 (may attend), dark grey fill (may not)."""
    mask = _as_2d(mask, "mask")
    n = mask.shape[0]
    colours = _mask_colours(mask)
    texts = [[f"{v:g}" if v != 0 else "0" for v in row] for row in mask.tolist()] if _annotated(n) else None
    _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 75))
    _query_key_axes(ax, n, labels)


def plot_label_difference(
    difference: torch.Tensor, mask: torch.Tensor, labels: torch.Tensor, *, figure: LabFigure | None = None
) -> LabFigure:
    """One window's difference ``label[j] - label[i]`` and the mask made from it (walkthrough figure 6).

    Args:
        difference: ``[N, N]``, one window of ``label_difference(mask_windows)``.
        mask: ``[N, N]``, the same window of ``attention_mask``.
        labels: ``[N]``, the window's labels (shown on the axes).
        figure: a figure this function returned before, to redraw in place.
    """
    difference = _as_2d(difference, "difference")
    mask = _as_2d(mask, "mask")
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    if difference.shape != (n, n) or mask.shape != (n, n):
        raise ValueError(f"difference and mask must be [N, N] with N={n} (len(labels)), got {tuple(difference.shape)} and {tuple(mask.shape)}")
    side = min(5.5, 1.8 + 0.42 * n)
    with _frame(figure, ("label_difference",), (2 * side + 0.5, side + 0.6), lambda fig: fig.subplots(1, 2)) as (fig, (left, right)):
        draw_label_difference(left, difference, labels)
        _title(left, "unsqueeze(1) - unsqueeze(2): label[j] - label[i]", fontsize=10)
        draw_attention_mask(right, mask, labels)
        _title(right, "masked_fill(!= 0, -100).masked_fill(== 0, 0)", fontsize=10)
        _suptitle(fig, "Zero exactly where query i and key j come from the same region", fontsize=11)
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
    if windows_per_row <= 0 or n_windows % windows_per_row:
        raise ValueError(f"windows_per_row={windows_per_row} must divide nW={n_windows}")
    rows_of_windows = n_windows // windows_per_row
    gap = _mask_gap(n)
    size = (min(9.0, 1.0 + 1.6 * windows_per_row), min(9.0, 1.0 + 1.6 * rows_of_windows))
    every_note = n_windows <= MAX_NOTES
    with _frame(figure, ("window_masks",), size, lambda fig: fig.subplots()) as (fig, ax):
        origins = _draw_tiles(ax, _mask_colours(mask), windows_per_row, gap, name="masks")
        masked_pairs = (mask != 0).flatten(1).sum(dim=1).tolist()
        for k, ((x0, y0), masked) in enumerate(zip(origins, masked_pairs, strict=True)):
            if masked or every_note:
                _text(ax, f"note/{k}", x0 - 0.5, y0 - 0.8, f"#{k}: {masked} masked" if masked else f"#{k}: none",
                      fontsize=8, ha="left", va="bottom", color="#d62728" if masked else "#2ca02c", in_layout=False)
        ax.set_xlim(-0.7, windows_per_row * (n + gap) - gap - 0.3)
        ax.set_ylim(rows_of_windows * (n + gap) - gap - 0.3, -0.5 - max(1.5, 0.2 * n))
        ax.set_axis_off()
        unnoted = "" if every_note else "; no note: nothing masked"
        _title(ax, f"attn_mask: [{n_windows}, {n}, {n}]  (dark: -100, light: 0{unnoted})", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Stage 5: the mask at work                                                   #
# --------------------------------------------------------------------------- #
def draw_attention_weights(ax: Axes, weights: torch.Tensor, labels: torch.Tensor | None = None) -> None:
    """Draw ``[N, N]`` softmax weights in blues, with two decimals; rows are queries."""
    weights = _as_2d(weights, "weights").double()
    n = weights.shape[0]
    colours = matplotlib.colormaps["Blues"](np.clip(weights.numpy(), 0.0, 1.0) * 0.85)
    texts = [[f"{v:.2f}".lstrip("0") if v >= 0.005 else "0" for v in row] for row in weights.tolist()] if _annotated(n) else None
    _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 70))
    _query_key_axes(ax, n, labels)


def plot_attention_weights(
    weights: torch.Tensor, labels: torch.Tensor, *, unmasked: torch.Tensor | None = None, figure: LabFigure | None = None
) -> LabFigure:
    """Softmax weights of one window and head, ``[N, N]``; with ``unmasked`` the same scores without the mask beside it.

    Args:
        weights: ``[N, N]`` rows of ``masked_window_softmax``.
        labels: ``[N]`` the window's region labels (on the axes).
        unmasked: ``[N, N]`` softmax of the same scores with no mask, drawn on the left.
        figure: a figure this function returned before, to redraw in place.
    """
    weights = _as_2d(weights, "weights")
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    panels = [] if unmasked is None else [(_as_2d(unmasked, "unmasked"), "softmax(Q·Kᵀ)  (no mask)")]
    panels.append((weights, "softmax(Q·Kᵀ + mask)"))
    for grid, _ in panels:
        if grid.shape != (n, n):
            raise ValueError(f"weights must be [N, N] with N={n} (len(labels)), got {tuple(grid.shape)}")
    side = min(5.5, 1.8 + 0.42 * n)
    size = (len(panels) * side + 0.5, side + 0.6)
    build = lambda fig: np.atleast_1d(fig.subplots(1, len(panels)))  # noqa: E731
    with _frame(figure, ("attention_weights", len(panels)), size, build) as (fig, axes):
        for ax, (grid, title) in zip(axes, panels, strict=True):
            draw_attention_weights(ax, grid, labels)
            _title(ax, title, fontsize=10)
        _suptitle(fig, "Attention weights of one window (each row sums to 1)", fontsize=11)
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
    size = (side + 4.8, max(3.6, side * height / width + 0.8))
    rows_cols = origins.tolist()
    label_values = labels.tolist()
    same = (labels == labels[query]).tolist()
    background = np.full((height, width, 4), to_rgba("#f2f2f2"))
    background[origins[:, 0].numpy(), origins[:, 1].numpy()] = region_colours(labels)
    texts = None
    if _annotated(height, width):
        texts = [["" for _ in range(width)] for _ in range(height)]
        for token, (r, c) in enumerate(rows_cols):
            weight = f"{float(unmasked[token]):.2f}".lstrip("0")
            texts[r][c] = f"q\n{weight}" if token == query else weight
    build = lambda fig: fig.subplots(1, 2, width_ratios=[side, 4.2])  # noqa: E731
    with _frame(figure, ("leak",), size, build) as (fig, (grid_ax, bar_ax)):
        _set_ratios(grid_ax, width=[side, 4.2])
        _draw_cells(grid_ax, background, texts, fontsize=_fontsize(width, 70))
        corners = np.array(rows_cols, dtype=float)[:, ::-1] - 0.5  # (x, y) of each token's cell
        others = [token for token in range(n) if not same[token]]
        _polygons(grid_ax, "query", _boxes(*corners[query], 1, 1), edgecolor="black", linewidth=3)
        _polygons(grid_ax, "other_regions", _boxes(corners[others, 0], corners[others, 1], 1, 1) if others else [],
                  edgecolor="#d62728", linewidth=2.5)
        _finish_grid(grid_ax, height, width)
        qr, qc = rows_cols[query]
        _title(grid_ax, f"original map: query token {query} (q) from ({qr},{qc}), weights without mask\n"
                        "red boxes: keys from other regions, far away", fontsize=10, chrome=False)
        positions = np.arange(n)
        _polygons(bar_ax, "bars/unmasked", _boxes(positions - 0.4, 0, 0.4, unmasked.numpy()), facecolor="#fb8072", zorder=1)
        _polygons(bar_ax, "bars/masked", _boxes(positions, 0, 0.4, masked.numpy()), facecolor="#80b1d3", zorder=1)
        if _annotated(n):
            bar_ax.set_xticks(positions, [f"{j}\n({label_values[j]})" for j in positions], fontsize=_fontsize(n, 70))
            bar_ax.set_xlabel("key token j (region label)")
        else:
            ticks = positions[:: _tick_step(n)]
            bar_ax.set_xticks(ticks, [str(j) for j in ticks], fontsize=_fontsize(MAX_ANNOTATED, 70))
            bar_ax.set_xlabel("key token j")
        bar_ax.set_ylabel("attention weight")
        leak_before = float(unmasked[~torch.tensor(same)].sum())
        leak_after = float(masked[~torch.tensor(same)].sum())
        _title(bar_ax, f"weight on other regions: {leak_before:.3f} → {leak_after:.1e}", fontsize=10, chrome=False)
        _legend(bar_ax, "legend", [("#fb8072", "no mask"), ("#80b1d3", "with mask")], fontsize=8, loc="upper left")
        margin = 0.05 * (n - 0.2)  # the 5 % autoscale margin ax.bar would leave
        bar_ax.set_xlim(-0.4 - margin, n - 0.6 + margin)
        bar_ax.set_ylim(0, 1.05)
        _suptitle(fig, "Why the mask matters: without it, the query attends across the image", fontsize=11)
    return fig


def plot_qk_sequences(labels: torch.Tensor, *, figure: LabFigure | None = None) -> LabFigure:
    """Q as an ``[N, 1]`` column and Kᵀ as a ``[1, N]`` row of one window, in token order (walkthrough figure 8).

    Args:
        labels: ``[N]`` the window's region labels; cell ``n`` is token ``n``.
        figure: a figure this function returned before, to redraw in place.
    """
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    values = labels.tolist()

    def build(fig: LabFigure) -> tuple[Axes, Axes, Axes]:
        grid = fig.add_gridspec(2, 2, width_ratios=[1, n], height_ratios=[1, n])
        q_ax = fig.add_subplot(grid[1, 0])
        k_ax = fig.add_subplot(grid[0, 1])
        return q_ax, k_ax, fig.add_subplot(grid[1, 1], sharex=k_ax, sharey=q_ax)

    size = (min(9.0, 2.0 + 0.55 * n), min(7.0, 1.4 + 0.55 * n))
    with _frame(figure, ("qk_sequences",), size, build) as (fig, (q_ax, k_ax, note)):
        _set_ratios(q_ax, width=[1, n], height=[1, n])
        colours = region_colours(labels)
        annotate = _annotated(n)
        _draw_cells(q_ax, colours[:, None, :], [[f"q{i}\n({values[i]})"] for i in range(n)] if annotate else None,
                    fontsize=_fontsize(n, 80))
        _finish_grid(q_ax, n, 1, xlabel="", ylabel="token i")
        _no_ticks(q_ax)  # the cells say which token they are
        _title(q_ax, "Q: [N, 1]", fontsize=10)
        _draw_cells(k_ax, colours[None, :, :], [[f"k{j}\n({values[j]})" for j in range(n)]] if annotate else None,
                    fontsize=_fontsize(n, 80))
        _finish_grid(k_ax, 1, n, xlabel="", ylabel="")
        _no_ticks(k_ax)
        _title(k_ax, "Kᵀ: [1, N]   (label in brackets)", fontsize=10)
        product = np.full((n, n, 4), to_rgba("#f4f4f4"))
        _draw_cells(note, product, [[f"q{i}·k{j}" for j in range(n)] for i in range(n)] if annotate else None,
                    fontsize=_fontsize(n, 50))
        _finish_grid(note, n, n, xlabel="Q·Kᵀ: [N, N]; row i is query token i, column j is key token j", ylabel="")
        _no_ticks(note)
    return fig


def plot_qk_alignment(labels: torch.Tensor, mask: torch.Tensor, *, figure: LabFigure | None = None) -> LabFigure:
    """Entry ``(i, j)`` of Q·Kᵀ pairs query ``i`` with key ``j``: the same pair as the mask's ``(i, j)`` (figure 9).

    Args:
        labels: ``[N]`` the window's region labels.
        mask: ``[N, N]`` the window's mask.
        figure: a figure this function returned before, to redraw in place.

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
    texts = None
    if _annotated(n):
        fills = mask.tolist()
        texts = [
            [f"q{i}·k{j}" + (f"\n{fills[i][j]:g}" if show_fill and fills[i][j] != 0 else "") for j in range(n)]
            for i in range(n)
        ]
    side = min(7.0, 2.0 + 0.6 * n)
    with _frame(figure, ("qk_alignment",), (side + 0.4, side + 0.4), lambda fig: fig.subplots()) as (fig, ax):
        _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 55))
        _finish_grid(ax, n, n, xlabel="key token j (label)", ylabel="query token i (label)")
        _token_ticks(ax, labels, axis="x", prefix="k")
        _token_ticks(ax, labels, axis="y", prefix="q")
        _title(ax, "Q·Kᵀ + mask: entry (i, j) is q_i·k_j, and mask[i, j] belongs to the same pair", fontsize=10)
    return fig


def plot_linear_token_order(
    x: torch.Tensor, qkv: torch.Tensor, labels: torch.Tensor, *, figure: LabFigure | None = None
) -> LabFigure:
    """``qkv = self.qkv(x)`` acts row by row: token ``n`` of ``x`` becomes row ``n`` of q, k and v (figure 10).

    Args:
        x: ``[N, C]`` one window's token features.
        qkv: ``[N, 3C]`` the output of the ``nn.Linear``.
        labels: ``[N]`` the tokens' region labels (row colours).
        figure: a figure this function returned before, to redraw in place.
    """
    x = _as_2d(x, "x")
    qkv = _as_2d(qkv, "qkv")
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    if x.shape[0] != n or qkv.shape[0] != n:
        raise ValueError(f"x and qkv must have N={n} rows (len(labels)), got {tuple(x.shape)} and {tuple(qkv.shape)}")
    channels, out = x.shape[1], qkv.shape[1]
    values = labels.tolist()
    ratios = [max(channels, 1), max(out, 1)]
    size = (min(12.0, 2.5 + 0.55 * (channels + out)), min(7.0, 1.5 + 0.38 * n))
    with _frame(figure, ("linear_token_order",), size, lambda fig: fig.subplots(1, 2, width_ratios=ratios)) as (fig, (left, right)):
        _set_ratios(left, width=ratios)
        row_colours = region_colours(labels)
        for ax, matrix, title in ((left, x, f"x: [N, C] = [{n}, {channels}]"), (right, qkv, f"qkv = self.qkv(x): [N, 3C] = [{n}, {out}]")):
            cols = matrix.shape[1]
            colours = np.repeat(row_colours[:, None, :], cols, axis=1)
            texts = [[f"{v:.2f}".replace("-0.00", "0.00") for v in row] for row in matrix.double().tolist()]
            _draw_cells(ax, colours, texts, fontsize=_fontsize(max(n, cols), 75))
            _finish_grid(ax, n, cols, xlabel="channel", ylabel="token n")
            _grid_ticks(ax).set_ticks("y", range(n), [f"token {i} ({values[i]})" for i in range(n)], _fontsize(n, 70))
            _title(ax, title, fontsize=10, pad=20)
        if out % 3 == 0 and out > 0:
            boundaries = (out // 3, 2 * out // 3)
            _lines(right, "qkv/borders", [((b - 0.5, -0.5), (b - 0.5, n - 0.5)) for b in boundaries], color="black",
                   linewidth=2, zorder=4)
            for k, name in enumerate("qkv"):
                _text(right, f"qkv/{name}", (k + 0.5) * out / 3 - 0.5, -0.6, name, ha="center", va="bottom", fontsize=11,
                      fontweight="bold", chrome=True)
        _suptitle(fig, "nn.Linear multiplies every token by the same weights: token n stays row n", fontsize=11)
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
    *,
    figure: LabFigure | None = None,
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
        figure: a figure this function returned before, to redraw in place.
    """
    labels = _as_2d(labels, "labels")
    height, width = labels.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    k_row, k_col = divmod(window_index, width // window_hw[1])
    build = lambda fig: fig.subplot_mosaic([["roll", "labels", "rows"], ["mask", "weights", "note"]])  # noqa: E731
    with _frame(figure, ("pipeline",), (15.0, 10.0), build) as (fig, panels):
        axes = [panels[name] for name in ("roll", "labels", "rows", "mask", "weights")]
        draw_cyclic_shift(axes[0], shifted_x, labels, width, seam=(height - shift_hw[0], width - shift_hw[1]),
                          title="1. torch.roll: each cell shows its original row,col", window=window_hw)
        draw_region_labels(axes[1], labels, window, shift, bands=False)
        _title(axes[1], "2. region labels (img_mask)", fontsize=10)
        outline = _boxes(k_col * window_hw[1] - 0.5, k_row * window_hw[0] - 0.5, window_hw[1], window_hw[0])
        for ax in axes[:2]:
            _polygons(ax, "window", outline, edgecolor="#d62728", linewidth=3.5, zorder=6)
        draw_window_rows(axes[2], mask_windows, highlight=window_index)
        _title(axes[2], "3. mask_windows: [nW, N]", fontsize=10)
        row = mask_windows[window_index]
        draw_attention_mask(axes[3], mask, row)
        _title(axes[3], f"4. attn_mask[{window_index}]: [N, N]", fontsize=10, chrome=False)
        draw_attention_weights(axes[4], weights, row)
        _title(axes[4], f"5. softmax(Q·Kᵀ + mask), window {window_index}", fontsize=10, chrome=False)
        note = panels["note"]
        note.set_axis_off()
        n_windows, n_tokens = mask_windows.shape
        _text(
            note, "note", 0.05, 0.5,
            f"H × W = {height} × {width}, window {window_hw[0]} × {window_hw[1]}, shift {shift_hw}\n"
            f"nW = {n_windows} windows of N = {n_tokens} tokens\n\n"
            f"window {window_index} (red outline) holds labels {sorted(set(row.tolist()))}:",
            fontsize=11, va="bottom", ha="left", transform=note.transAxes, in_layout=False,
        )
        _text(
            note, "note/rule", 0.05, 0.5,
            "a query attends only to keys with its own label;\n"
            "every other pair gets -100 before the softmax.",
            fontsize=11, va="top", ha="left", transform=note.transAxes, in_layout=False, chrome=True,
        )
    return fig


# --------------------------------------------------------------------------- #
# Notebook 06 · the full block: the tokens through every stage, one window's  #
# attention, and the weight that crosses a seam without the mask              #
# --------------------------------------------------------------------------- #
__all__ += [  # this notebook's names, kept with its section
    "draw_window_tokens",
    "draw_attention_scores",
    "draw_leak_map",
    "draw_query_weights",
    "plot_block_trace",
    "plot_window_attention",
    "plot_leaked_attention",
    "plot_block_leak",
]

#: Colour map of the leaked weight (0 white, 1 dark red) and of one query's weights.
LEAK_CMAP = "Reds"
WEIGHT_CMAP = "Blues"
#: Colour of a cell outside the query's window in :func:`draw_query_weights`.
OUTSIDE_COLOUR = "#f2f2f2"
SEAM_COLOUR = "#d62728"


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
    if windows_per_row <= 0 or n_windows % windows_per_row:
        raise ValueError(f"windows_per_row={windows_per_row} must divide nW={n_windows}")
    rows_of_windows = n_windows // windows_per_row
    annotate = max(window_h * rows_of_windows, window_w * windows_per_row) <= MAX_ANNOTATED
    texts = [[[f"{t // width},{t % width}" for t in row] for row in window] for window in tokens.tolist()] if annotate else None
    size = _fontsize(max(window_h * rows_of_windows, window_w * windows_per_row), 75)
    origins = _draw_tiles(ax, region_colours(_token_labels(tokens, token_labels)), windows_per_row, GAP, texts=texts, fontsize=size,
                          name="windows")
    corners = np.array(origins) - 0.5
    plain = [k for k in range(n_windows) if k != highlight]
    _polygons(ax, "frames", _boxes(corners[plain, 0], corners[plain, 1], window_w, window_h), edgecolor="black", linewidth=1.5)
    if highlight is not None:
        _polygons(ax, "highlight", _boxes(*corners[highlight], window_w, window_h), edgecolor=SEAM_COLOUR, linewidth=3)
    if annotate:
        for k, (x0, y0) in enumerate(origins):
            _text(ax, f"title/{k}", x0 - 0.45, y0 - 0.55, f"#{k}", ha="left", va="bottom", fontsize=max(size - 1, 5),
                  color=SEAM_COLOUR if k == highlight else "black", in_layout=False, chrome=True)
    ax.set_xlim(-0.7, windows_per_row * (window_w + GAP) - GAP - 0.3)
    ax.set_ylim(rows_of_windows * (window_h + GAP) - GAP - 0.3, -1.1)
    ax.set_axis_off()


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
    token_labels = _as_2d(token_labels, "token_labels")
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
    with _frame(figure, ("block_trace",), size, lambda fig: fig.subplots(2, 3)) as (fig, axes):
        (x_ax, roll_ax, windows_ax), (back_ax, reverse_ax, note_ax) = axes
        labelled = lambda grid: _token_labels(grid, token_labels)  # noqa: E731
        draw_cyclic_shift(x_ax, maps["padded"], labelled(maps["padded"]), width, seam=shift_hw,
                          title="1. x: shifted windows (thick), the cut (red)", window=window_hw, window_offset=shift_hw)
        draw_cyclic_shift(roll_ax, maps["shifted"], labelled(maps["shifted"]), width, seam=seam_after,
                          title=f"2. torch.roll(x, ({-shift_hw[0]}, {-shift_hw[1]})): regular windows", window=window_hw)
        draw_window_tokens(windows_ax, tiles, token_labels, width, width // window_hw[1], highlight=highlight)
        _title(windows_ax, f"3. window_partition: {n_windows} windows of N = {n_tokens}", fontsize=10)
        note_ax.set_axis_off()
        note_ax.set_xlim(0, 1)
        note_ax.set_ylim(0, 1)
        _text(note_ax, "note", 0.0, 0.5,
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
        _suptitle(fig, "The tokens through the block (cells: where each token started; colour: its region)", fontsize=11)
    return fig


def draw_attention_scores(ax: Axes, scores: torch.Tensor, labels: torch.Tensor | None = None, *, limit: float | None = None) -> None:
    """Draw ``[N, N]`` real scores (or biases): red above 0, blue below, one decimal; rows are queries.

    ``limit`` is the value drawn at full colour (default: the largest ``|score|``).
    """
    scores = _as_2d(scores, "scores").double()
    n = scores.shape[0]
    values = scores.numpy()
    top = float(limit) if limit is not None else max(float(np.abs(values).max(initial=0.0)), 1e-12)
    colours = matplotlib.colormaps["coolwarm"](TwoSlopeNorm(0.0, -top, top)(np.clip(values, -top, top)))
    texts = [[f"{v:.1f}".replace("-0.0", "0.0") for v in row] for row in scores.tolist()] if _annotated(n) else None
    _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 70))
    _query_key_axes(ax, n, labels)


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
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]
    grids = {name: _as_2d(t, name) for name, t in (("bias", bias), ("scores", scores), ("mask", mask), ("weights", weights))}
    for name, grid in grids.items():
        if tuple(grid.shape) != (n, n):
            raise ValueError(f"{name} must be [N, N] with N={n} (len(labels)), got {tuple(grid.shape)}")
    limit = max(float(grids["scores"].abs().max()), float(grids["bias"].abs().max()), 1e-12)
    side = min(3.7, 1.5 + 0.25 * n)
    where = "" if window_index is None else f"window {window_index}"
    where += "" if head is None else (", " if where else "") + f"head {head}"
    with _frame(figure, ("window_attention",), (2 * side + 0.6, 2 * side + 0.9), lambda fig: fig.subplots(2, 2)) as (fig, axes):
        (bias_ax, scores_ax), (mask_ax, weights_ax) = axes
        draw_attention_scores(bias_ax, grids["bias"], labels, limit=limit)
        _title(bias_ax, "relative_position_bias  (the same in every window)", fontsize=10)
        draw_attention_scores(scores_ax, grids["scores"], labels, limit=limit)
        _title(scores_ax, "attn = q @ k.transpose(-2, -1) · scale + bias", fontsize=10)
        draw_attention_mask(mask_ax, grids["mask"], labels)
        _title(mask_ax, "mask  (0: same region, -100: across a seam)", fontsize=10)
        draw_attention_weights(weights_ax, grids["weights"], labels)
        _title(weights_ax, "softmax(attn + mask): each row sums to 1", fontsize=10)
        _suptitle(fig, f"WindowAttention.forward, {where}" if where else "WindowAttention.forward", fontsize=11)
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
    leak = _as_2d(leak, "leak").double()
    height, width = leak.shape
    window_hw, shift_hw = as_pair(window, "window"), as_pair(shift, "shift")
    values = leak.numpy()
    colours = matplotlib.colormaps[LEAK_CMAP](np.clip(values, 0.0, 1.0) * 0.9)
    colours[values == 0] = to_rgba("white")
    texts = [[_leak_text(v) for v in row] for row in leak.tolist()] if _annotated(height, width) else None
    _draw_cells(ax, colours, texts, fontsize=_fontsize(max(height, width), 72))
    _window_borders(ax, height, width, window_hw, shift_hw)
    segments = []
    if 0 < shift_hw[0] < height:
        segments.append(((-0.5, shift_hw[0] - 0.5), (width - 0.5, shift_hw[0] - 0.5)))
    if 0 < shift_hw[1] < width:
        segments.append(((shift_hw[1] - 0.5, -0.5), (shift_hw[1] - 0.5, height - 0.5)))
    _lines(ax, "seam", segments, color=SEAM_COLOUR, linewidth=2.5, linestyle="--", zorder=5)
    if query is not None:
        row, col = query
        _polygons(ax, "query", _boxes(col - 0.5, row - 0.5, 1, 1), edgecolor="black",
                  linewidth=_outline_width(height, width, 3.0), zorder=6)
    _finish_grid(ax, height, width, every=window_hw)


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
    unmasked = _as_2d(unmasked, "unmasked").double()
    masked = _as_2d(masked, "masked").double()
    if unmasked.shape != masked.shape:
        raise ValueError(f"unmasked and masked must have the same [H, W] shape, got {tuple(unmasked.shape)} and {tuple(masked.shape)}")
    height, width = unmasked.shape
    side = min(5.5, 1.8 + 0.42 * width)
    size = (2 * side + 0.5, side * height / width + 1.1)
    with _frame(figure, ("leaked_attention",), size, lambda fig: fig.subplots(1, 2)) as (fig, (left, right)):
        for ax, leak, name in ((left, unmasked, "use_mask=False"), (right, masked, "use_mask=True")):
            draw_leak_map(ax, leak, window, shift)
            leaking = int((leak > 0).sum())
            _title(ax, f"{name}: {leaking} of {height * width} queries leak, largest {_leak_text(float(leak.max()))}",
                   fontsize=10, chrome=False)
        which = "" if head is None else f" (head {head})"
        _suptitle(fig, f"Weight each query puts on keys from across a seam{which}", fontsize=11)
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
    weights = _as_1d(weights, "weights").double()
    across = _as_1d(across, "across")
    n = weights.shape[0]
    if not isinstance(origins, torch.Tensor) or tuple(origins.shape) != (n, 2):
        raise ValueError(f"origins must be [N, 2] with N={n} (len(weights)), got {getattr(origins, 'shape', None)}")
    if tuple(across.shape) != (n,) or across.dtype != torch.bool:
        raise ValueError(f"across must be a bool [N] with N={n}")
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < n:
        raise ValueError(f"query must be an int in [0, {n}), got {query!r}")
    places = origins.tolist()
    real = [r < height and c < width for r, c in places]
    colours = np.full((height, width, 4), to_rgba(OUTSIDE_COLOUR))
    cmap = matplotlib.colormaps[WEIGHT_CMAP]
    values = weights.tolist()
    texts = [["" for _ in range(width)] for _ in range(height)] if _annotated(height, width) else None
    largest = max(max(values), 1e-300)
    for token, ((r, c), ok) in enumerate(zip(places, real, strict=True)):
        if not ok:
            continue
        colours[r, c] = cmap(0.15 + 0.75 * min(max(values[token] / largest, 0.0), 1.0))  # darkest: the largest weight
        if texts is not None:
            texts[r][c] = _leak_text(values[token])
    _draw_cells(ax, colours, texts, fontsize=_fontsize(max(height, width), 72), name="weights")
    corners = np.array(places, dtype=float)[:, ::-1] - 0.5  # (x, y) of each token's cell
    keys = [j for j in range(n) if bool(across[j]) and real[j]]
    _polygons(ax, "across", _boxes(corners[keys, 0], corners[keys, 1], 1, 1) if keys else [], edgecolor=SEAM_COLOUR,
              linewidth=_outline_width(height, width), zorder=5)
    _polygons(ax, "query", _boxes(*corners[query], 1, 1), edgecolor="black", linewidth=_outline_width(height, width, 3.0),
              zorder=6)
    _finish_grid(ax, height, width, every=None if window is None else as_pair(window, "window"))


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
    leak = _as_2d(leak, "leak")
    height, width = leak.shape
    if not isinstance(origins, torch.Tensor) or origins.dim() != 2 or origins.shape[-1] != 2:
        raise ValueError(f"origins must be [N, 2], got {getattr(origins, 'shape', None)}")
    if isinstance(query, bool) or not isinstance(query, int) or not 0 <= query < origins.shape[0]:
        raise ValueError(f"query must be an int in [0, {origins.shape[0]}), got {query!r}")
    query_rc = tuple(int(v) for v in origins[query].tolist())
    side = min(5.5, 1.8 + 0.42 * width)
    size = (2 * side + 0.5, side * height / width + 1.1)
    state = "mask on" if use_mask else "mask off"
    with _frame(figure, ("block_leak",), size, lambda fig: fig.subplots(1, 2)) as (fig, (left, right)):
        draw_leak_map(left, leak, window, shift, query=query_rc)
        leaking = int((leak > 0).sum())
        _title(left, f"{state}, head {head}: {leaking} of {height * width} queries leak, "
                     f"largest {_leak_text(float(leak.max()))}", fontsize=10, chrome=False)
        draw_query_weights(right, origins, weights, across, query, height, width, window=window)
        crossing = float(_as_1d(weights, "weights").double()[across].sum())
        _title(right, f"query ({query_rc[0]}, {query_rc[1]}): weight across a seam (red boxes) {_leak_text(crossing)}",
               fontsize=10, chrome=False)
        _suptitle(fig, "Weight across a wrap seam: every query (left), one query's keys (right)", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Notebook 07 · real-world shapes: padding orders, and label schemes          #
# --------------------------------------------------------------------------- #
__all__ += ["PAD_ORDER_ANNOTATED", "draw_padded_map", "draw_key_counts", "plot_pad_order", "plot_label_maps"]

#: Panels of :func:`plot_pad_order` carry numbers up to this many cells a side (three grids share the figure).
PAD_ORDER_ANNOTATED = 16
#: Opacity of padding (zero-token) cells in :func:`draw_padded_map`.
PADDING_ALPHA = 0.3
#: Colour of the dashed lines where original row 0 and column 0 landed, and of outlines that flag a difference.
SEAM_COLOUR = "#d62728"


def _landed(token_ids: torch.Tensor, width: int, axis: int) -> int:
    """The row (``axis=0``) or column (``axis=1``) of a rolled map that holds original row / column 0 (0 if none)."""
    original = token_ids // width if axis == 0 else token_ids % width
    hits = ((original == 0) & (token_ids >= 0)).any(dim=1 - axis).nonzero().flatten().tolist()
    return hits[0] if hits else 0


def _sparse_ticks(ax: Axes, rows: int, cols: int, *, every: tuple[int, int] = (1, 1), most: int = 8) -> None:
    """Tick every cell up to :data:`PAD_ORDER_ANNOTATED` cells a side; beyond, every ``every`` cells (the window)
    if that makes at most ``most`` ticks, else every 2, 5, 10 … cells (each tick label costs a redraw time)."""
    for cells, step_of, axis in ((cols, every[1], "x"), (rows, every[0], "y")):
        steps = (1,) if cells <= PAD_ORDER_ANNOTATED else (step_of, 2, 5, 10, 20, 50, 100)
        step = next((s for s in steps if s > 1 and -(-cells // s) <= most), 1) if cells > PAD_ORDER_ANNOTATED else 1
        ticks = range(0, cells, step)
        _grid_ticks(ax).set_ticks(axis, ticks, [str(t) for t in ticks])


def draw_padded_map(ax: Axes, token_ids: torch.Tensor, labels: torch.Tensor, width: int, window: int | tuple[int, int]) -> None:
    """Draw a rolled, padded map ``[Hp, Wp]``: each token's original ``row,col`` on its mask region colour.

    ``token_ids`` are ``row * width + col`` of the unpadded map and ``-1`` for
    padding (zero) tokens; ``labels`` are the mask's region labels of the padded
    layout. Padding cells are faded and show a dot. Thick lines are the window
    borders; dashed red lines run just above the row and left of the column
    where original row 0 and column 0 landed, i.e. where the wrapped rows and
    columns begin (the mask assumes they are its last band).
    """
    token_ids = _as_2d(token_ids, "token_ids")
    labels = _as_2d(labels, "labels")
    if token_ids.shape != labels.shape:
        raise ValueError(f"token_ids and labels must have the same [Hp, Wp] shape, got {tuple(token_ids.shape)} and {tuple(labels.shape)}")
    rows, cols = token_ids.shape
    window_hw = as_pair(window, "window")
    texts = None
    if max(rows, cols) <= PAD_ORDER_ANNOTATED:
        texts = [["·" if t < 0 else f"{t // width},{t % width}" for t in row] for row in token_ids.tolist()]
    alpha = np.where((token_ids < 0).numpy(), PADDING_ALPHA, 1.0)
    _draw_cells(ax, region_colours(labels), texts, fontsize=_fontsize(cols, 75), alpha=alpha)
    _window_borders(ax, rows, cols, window_hw)
    seam_row, seam_col = _landed(token_ids, width, 0), _landed(token_ids, width, 1)
    segments = []
    if seam_row > 0:
        segments.append(((-0.5, seam_row - 0.5), (cols - 0.5, seam_row - 0.5)))
    if seam_col > 0:
        segments.append(((seam_col - 0.5, -0.5), (seam_col - 0.5, rows - 0.5)))
    _lines(ax, "seam", segments, color=SEAM_COLOUR, linewidth=2.5, linestyle="--", zorder=5)
    _finish_grid(ax, rows, cols, every=window_hw)
    _sparse_ticks(ax, rows, cols, every=window_hw)


def draw_key_counts(ax: Axes, counts: torch.Tensor, *, cmap: str, vmax: int) -> None:
    """Draw ``[H, W]`` counts, one cell per query token of the image, shaded from white (0) to ``vmax``.

    Non-zero counts are written in their cells while the grid has at most
    :data:`PAD_ORDER_ANNOTATED` cells a side.
    """
    counts = _as_2d(counts, "counts")
    rows, cols = counts.shape
    colours = matplotlib.colormaps[cmap](0.8 * counts.numpy().astype(float) / max(vmax, 1))
    texts = None
    if max(rows, cols) <= PAD_ORDER_ANNOTATED:
        texts = [[str(v) if v else "" for v in row] for row in counts.tolist()]
    _draw_cells(ax, colours, texts, fontsize=_fontsize(cols, 80))
    _finish_grid(ax, rows, cols)
    _sparse_ticks(ax, rows, cols, most=6)


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
    ``leaked`` (red) and ``blocked`` (blue), on one scale.
    """
    token_ids = _as_2d(token_ids, "token_ids")
    labels = _as_2d(labels, "labels")
    leaked = _as_2d(leaked, "leaked")
    blocked = _as_2d(blocked, "blocked")
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
    with _frame(figure, ("pad_order",), size, build) as (fig, (map_ax, leaked_ax, blocked_ax)):
        _set_ratios(map_ax, width=ratios)
        draw_padded_map(map_ax, token_ids, labels, width, window_hw)
        _title(map_ax, f"{order}, {height_p}x{width_p}:\nmask colours, original row,col (· padding)", chrome=False, fontsize=10)
        draw_key_counts(leaked_ax, leaked, cmap="Reds", vmax=vmax)
        _title(leaked_ax, f"leaked keys per query token\n(across a seam): {int(leaked.sum())}", chrome=False, fontsize=10)
        draw_key_counts(blocked_ax, blocked, cmap="Blues", vmax=vmax)
        _title(blocked_ax, f"blocked keys per query token\n(same side, masked): {int(blocked.sum())}", chrome=False, fontsize=10)
        _suptitle(fig, f"{height}x{width} map, window {window_hw[0]}x{window_hw[1]}, rolled and padded; "
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
    label_maps = [_as_2d(labels, f"label_maps[{k}]") for k, labels in enumerate(label_maps)]
    masks = [_as_2d(mask, f"masks[{k}]") for k, mask in enumerate(masks)]
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
    if isinstance(highlight, bool) or not isinstance(highlight, int) or not 0 <= highlight < n_windows:
        raise ValueError(f"highlight must be a window index in [0, {n_windows}), got {highlight!r}")
    row0, col0 = (highlight // per_row) * window_hw[0], (highlight % per_row) * window_hw[1]
    unit = min(0.3, 3.2 / max(width, n))
    size = (count * (unit * max(width, n) + 1.0) + 0.4, unit * (height + n) + 2.4)
    build = lambda fig: fig.subplots(2, count, squeeze=False, height_ratios=[height, n])  # noqa: E731
    reference = masks[0] != 0
    with _frame(figure, ("label_maps", count), size, build) as (fig, axes):
        _set_ratios(axes[0][0], height=[height, n])
        for k in range(count):
            top, bottom = axes[0][k], axes[1][k]
            draw_region_labels(top, label_maps[k], window_hw, 0, bands=False)
            _polygons(top, "highlight", _boxes(col0 - 0.5, row0 - 0.5, window_hw[1], window_hw[0]),
                      edgecolor=SEAM_COLOUR, linewidth=3, zorder=6)
            _title(top, titles[k], fontsize=10)
            window_row = label_maps[k][row0 : row0 + window_hw[0], col0 : col0 + window_hw[1]].flatten()
            draw_attention_mask(bottom, masks[k], window_row)
            wrong = ((masks[k] != 0) != reference).nonzero().numpy()  # [n_wrong, 2] (query i, key j)
            _polygons(bottom, "differs", _boxes(wrong[:, 1] - 0.5, wrong[:, 0] - 0.5, 1, 1) if len(wrong) else [],
                      edgecolor=SEAM_COLOUR, linewidth=2, zorder=6)
            note = f", {len(wrong)} differ" if k else ""
            _title(bottom, f"window {highlight}: {int((masks[k] != 0).sum())} masked pairs{note}", chrome=False, fontsize=10)
        _suptitle(fig, f"Label maps (window {highlight} outlined) and the mask each gives that window", fontsize=11)
    return fig


# --------------------------------------------------------------------------- #
# Notebook 08: numerics (what -100 leaves behind, in each dtype)              #
# --------------------------------------------------------------------------- #
__all__ += [  # this notebook's names, kept with its section
    "DTYPE_COLOURS",
    "NAN_COLOUR",
    "LOG_FLOOR",
    "draw_log_weights",
    "draw_suppression_curve",
    "plot_suppression_curve",
    "plot_numerics",
]

#: The colour of each dtype's curve in :func:`draw_suppression_curve`.
DTYPE_COLOURS: dict[str, str] = {"float64": "#1b9e77", "float32": "#7570b3", "float16": "#d95f02", "bfloat16": "#e7298a"}
#: Colour of a NaN weight (a fully masked row, or scores that overflowed).
NAN_COLOUR = "#d62728"
#: ``log10`` of the smallest weight the log-scale panels resolve: below float32's smallest
#: subnormal (``1.4e-45``), so every non-zero weight of any dtype is on the scale.
LOG_FLOOR = -46.0
_CURVE_STYLES = {"float64": (4.5, "solid"), "float32": (2.0, "dashed"), "float16": (2.5, "solid"), "bfloat16": (1.6, "dotted")}
_ZERO_Y = LOG_FLOOR - 2.0  # where a weight of exactly 0 is drawn on the curve's y axis
_NAN_Y = 3.0  # where a NaN is drawn


def _weight_text(value: float) -> str:
    """A softmax weight as a cell shows it: two decimals, or the order of magnitude of a tiny one, ``0`` or ``NaN``."""
    if math.isnan(value):
        return "NaN"
    if value == 0.0:
        return "0"
    if value >= 0.005:
        return f"{value:.2f}".lstrip("0") or "0"
    return f"{value:.0e}".replace("e-0", "e-")


def _log_weight_colours(weights: np.ndarray) -> np.ndarray:
    """RGBA of weights on a log scale (``viridis`` over ``[10^LOG_FLOOR, 1]``); 0 light grey, NaN red."""
    with np.errstate(divide="ignore", invalid="ignore"):
        position = (np.log10(weights) - LOG_FLOOR) / -LOG_FLOOR
    colours = matplotlib.colormaps["viridis"](np.clip(np.nan_to_num(position, nan=0.0), 0.0, 1.0))
    colours[weights == 0] = to_rgba(ZERO_COLOUR)
    colours[np.isnan(weights)] = to_rgba(NAN_COLOUR)
    return colours


def draw_log_weights(
    ax: Axes, weights: torch.Tensor, forbidden: torch.Tensor | None = None, labels: torch.Tensor | None = None
) -> None:
    """Draw ``[N, N]`` softmax weights on a log colour scale, so ``1e-41`` shows beside ``0.5``.

    Cells read ``.38`` (two decimals), ``4e-44`` (a tiny weight), ``0`` (exactly
    zero, light grey) or ``NaN`` (red). ``forbidden`` ``[N, N]`` bool outlines the
    pairs the mask forbids in red. Rows are queries, columns keys.
    """
    weights = _as_2d(weights, "weights").double()
    n = weights.shape[0]
    if weights.shape != (n, n):
        raise ValueError(f"weights must be square [N, N], got {tuple(weights.shape)}")
    values = weights.numpy()
    colours = _log_weight_colours(values)
    texts = [[_weight_text(v) for v in row] for row in values.tolist()] if _annotated(n) else None
    _draw_cells(ax, colours, texts, fontsize=_fontsize(n, 62), name="logw")
    boxes = np.zeros((0, 4, 2))
    if forbidden is not None:
        forbidden = _as_2d(forbidden, "forbidden")
        if forbidden.shape != (n, n) or forbidden.dtype != torch.bool:
            raise ValueError(f"forbidden must be a bool [N, N] tensor with N={n}, got {forbidden.dtype} {tuple(forbidden.shape)}")
        rows, cols = np.nonzero(forbidden.numpy())
        boxes = _boxes(cols - 0.45, rows - 0.45, 0.9, 0.9)
    _polygons(ax, "logw/forbidden", boxes, edgecolor=NAN_COLOUR, linewidth=1.2, zorder=4)
    _query_key_axes(ax, n, labels)


def _check_curves(logit_scales: torch.Tensor, curves: dict[str, torch.Tensor]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    scales = _as_1d(logit_scales, "logit_scales").double().numpy()
    if scales.size == 0 or not np.all(np.isfinite(scales)) or np.any(scales <= 0):
        raise ValueError("logit_scales must be a non-empty 1-D tensor of finite positive numbers")
    if not isinstance(curves, dict) or not curves:
        raise TypeError(f"curves must be a non-empty dict {{dtype name: [S] tensor}}, got {type(curves).__name__}")
    checked = {}
    for name, curve in curves.items():
        if name not in DTYPE_COLOURS:
            raise ValueError(f"curves keys must be dtype names {list(DTYPE_COLOURS)}, got {name!r}")
        values = _as_1d(curve, f"curves[{name!r}]").double().numpy()
        if values.shape != scales.shape:
            raise ValueError(f"curves[{name!r}] must have one value per logit scale ({scales.size}), got {values.size}")
        checked[name] = values
    return scales, checked


def _curve_y(values: np.ndarray) -> np.ndarray:
    """``log10`` of leaked weights for the plot: exactly 0 on the floor band, NaN in the top band."""
    with np.errstate(divide="ignore", invalid="ignore"):
        y = np.log10(np.clip(values, 10.0**LOG_FLOOR, None))
    y[values == 0] = _ZERO_Y
    y[np.isnan(values)] = _NAN_Y
    return y


def draw_suppression_curve(
    ax: Axes,
    logit_scales: torch.Tensor,
    curves: dict[str, torch.Tensor],
    *,
    threshold: float = 1e-3,
    scale: float | None = None,
    highlight: str | None = None,
) -> None:
    """Draw the worst leaked weight against the logit scale, one curve per dtype, both axes logarithmic.

    Weights of exactly 0 are drawn on a band below the scale ("0"), NaN on a
    band above it ("NaN"); a dotted line marks ``threshold`` (visible leak), a
    grey vertical line the current ``scale``. ``highlight`` (a dtype name) is drawn thicker.
    """
    scales, values = _check_curves(logit_scales, curves)
    x = np.log10(scales)
    if not 0 < threshold < 1:
        raise ValueError(f"threshold must lie in (0, 1), got {threshold}")
    if highlight is not None and highlight not in values:
        raise ValueError(f"highlight must be one of the curves {list(values)}, got {highlight!r}")
    for name in DTYPE_COLOURS:
        if name not in values:
            continue
        y = _curve_y(values[name])
        finite = ~np.isnan(values[name])
        joined = finite[:-1] & finite[1:]
        points = np.stack([x, y], -1)
        segments = np.stack([points[:-1], points[1:]], 1)[joined]
        width, style = _CURVE_STYLES[name]
        width = width * 1.6 if name == highlight else width
        _lines(ax, f"curve/{name}", segments, color=DTYPE_COLOURS[name], linewidth=width, linestyle=style, zorder=3 if name == highlight else 2)
        nan_x = x[~finite]
        crosses = np.stack([np.stack([nan_x - 0.04, np.full_like(nan_x, _NAN_Y - 0.8)], -1),
                            np.stack([nan_x + 0.04, np.full_like(nan_x, _NAN_Y + 0.8)], -1)], 1)
        _lines(ax, f"nan/{name}", crosses, color=DTYPE_COLOURS[name], linewidth=width, zorder=3)
    x_low, x_high = float(x.min()), float(x.max())
    pad = 0.02 * max(x_high - x_low, 1.0)
    guides = [((x_low - pad, math.log10(threshold)), (x_high + pad, math.log10(threshold)))]
    _lines(ax, "threshold", guides, color="black", linewidth=1.0, linestyle="dotted", zorder=1)
    bands = [((x_low - pad, _ZERO_Y + 1.0), (x_high + pad, _ZERO_Y + 1.0)), ((x_low - pad, _NAN_Y - 1.5), (x_high + pad, _NAN_Y - 1.5))]
    _lines(ax, "bands", bands, color="#bbbbbb", linewidth=0.8, zorder=1)
    marker = [] if scale is None else [((math.log10(scale), _ZERO_Y - 1.5), (math.log10(scale), _NAN_Y + 1.5))]
    _lines(ax, "scale", marker, color="#555555", linewidth=1.2, zorder=1)
    _text(ax, "threshold/label", x_low, math.log10(threshold) + 0.8, f"visible: {threshold:g}", fontsize=8, ha="left",
          va="bottom", in_layout=False, chrome=True)
    ax.set_xlim(x_low - pad, x_high + pad)
    ax.set_ylim(_ZERO_Y - 1.5, _NAN_Y + 1.5)
    decades = np.arange(math.ceil(x_low), math.floor(x_high) + 1)
    ax.set_xticks(decades, [f"{10.0 ** d:g}" for d in decades])
    y_ticks = [_ZERO_Y, *range(-45, 1, 5), _NAN_Y]
    ax.set_yticks(y_ticks, ["0", *(f"1e{t}" if t else "1" for t in range(-45, 1, 5)), "NaN"])
    _tick_params(ax, labelsize=8)
    ax.set_xlabel("logit scale (scores × scale)")
    ax.set_ylabel("worst leaked weight of a query")
    # the legend: one coloured name per dtype, drawn with the chrome (left of the curves, which start low)
    for row, name in enumerate(name for name in DTYPE_COLOURS if name in values):
        _text(ax, f"legend/{name}", x_low + 0.05 * (x_high - x_low), -14.0 - 4.0 * row, f"— {name}", fontsize=9,
              color=DTYPE_COLOURS[name], fontweight="bold", ha="left", va="center", in_layout=False, chrome=True)


def plot_suppression_curve(
    logit_scales: torch.Tensor,
    curves: dict[str, torch.Tensor],
    *,
    fill: float,
    threshold: float = 1e-3,
    scale: float | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """How much the worst query leaks as the logits grow, one curve per dtype (``suppression_curve``'s result).

    Args:
        logit_scales: ``[S]`` positive scales.
        curves: ``{dtype name: [S]}`` worst leaked weight per scale (0 and NaN allowed).
        fill: the fill the curves were computed with (for the title).
        threshold: where a leak counts as visible (a dotted line).
        scale: a scale to mark with a vertical line, or ``None``.
        figure: a figure this function returned before, to redraw in place.
    """
    with _frame(figure, ("suppression_curve",), (7.5, 4.4), lambda fig: fig.subplots()) as (fig, ax):
        draw_suppression_curve(ax, logit_scales, curves, threshold=threshold, scale=scale)
        _title(ax, f"Weight that leaks through fill {fill:g}: worst query, softmax in each dtype", fontsize=11, chrome=False)
    return fig


def plot_numerics(
    weights: torch.Tensor,
    forbidden: torch.Tensor,
    labels: torch.Tensor,
    logit_scales: torch.Tensor,
    curves: dict[str, torch.Tensor],
    *,
    dtype: str,
    fill: float,
    scale: float,
    window_index: int,
    head: int,
    threshold: float = 1e-3,
    figure: LabFigure | None = None,
) -> LabFigure:
    """One window's masked softmax on a log scale, beside the suppression curves (``numerics_explorer``'s figure).

    Left: :func:`draw_log_weights`; right: :func:`draw_suppression_curve` with
    ``dtype`` highlighted and ``scale`` marked.

    Args:
        weights: ``[N, N]`` ``softmax(scale * scores + mask)`` of one window and head, in ``dtype``.
        forbidden: ``[N, N]`` bool, the pairs the mask forbids (outlined).
        labels: ``[N]`` the window's region labels (on the axes).
        logit_scales, curves, threshold: as :func:`plot_suppression_curve`.
        dtype: the dtype name of ``weights`` (highlighted among the curves).
        fill, scale: the fill and logit scale of ``weights`` (titles; ``scale`` is marked on the curves).
        window_index, head: which window and head ``weights`` belong to (title).
        figure: a figure this function returned before, to redraw in place.
    """
    labels = _as_1d(labels, "labels")
    n = labels.shape[0]

    def build(fig: LabFigure) -> np.ndarray:
        return fig.subplots(1, 2, width_ratios=[5.0, 5.6])

    with _frame(figure, ("numerics", n), (10.6, 4.7), build) as (fig, axes):
        draw_log_weights(axes[0], weights, forbidden, labels)
        _title(axes[0], f"window {window_index}, head {head}: softmax(scores × {scale:.3g} + mask)\n"
                        f"in {dtype}, fill {fill:g}; red boxes: forbidden pairs", fontsize=10, chrome=False)
        draw_suppression_curve(axes[1], logit_scales, curves, threshold=threshold, scale=scale, highlight=dtype)
        _title(axes[1], "worst leaked weight of any query, per dtype", fontsize=10)
    return fig


# --------------------------------------------------------------------------- #
# Notebook 09 · cost: FLOP and time curves, window counts, both partitions    #
# --------------------------------------------------------------------------- #
from typing import Mapping  # noqa: E402

from matplotlib.lines import Line2D  # noqa: E402
from matplotlib.ticker import NullLocator  # noqa: E402

__all__ += [
    "COST_COLOURS",
    "COST_NAMES",
    "PADDING_COLOUR",
    "draw_cost_curves",
    "draw_window_counts",
    "draw_padded_windows",
    "plot_flops",
    "plot_times",
    "plot_window_counts",
    "plot_shift_vs_padding",
    "plot_cost",
]

#: One colour per attention / partition in the cost figures (ColorBrewer Dark2).
COST_COLOURS: dict[str, str] = {
    "msa": "#d95f02",
    "w-msa": "#1b9e77",
    "sw-msa": "#1b9e77",
    "cyclic": "#1b9e77",
    "padding": "#7570b3",
}
#: What each key of a cost figure's curves is called in its legend.
COST_NAMES: dict[str, str] = {
    "msa": "global MSA",
    "w-msa": "W-MSA",
    "sw-msa": "SW-MSA (cyclic shift)",
    "cyclic": "cyclic shift",
    "padding": "padding",
}
#: Colour of a padding token in :func:`draw_padded_windows`.
PADDING_COLOUR = "#d9d9d9"
#: :func:`draw_padded_windows` writes the labels into the cells while the partition has at most this many.
MAX_ANNOTATED_CELLS = 160
#: Gap between the windows of :func:`draw_padded_windows`, in cells: a whole cell, so the tiles are one
#: image at one pixel per cell (a fractional gap such as :data:`GAP` needs supersampling, slower to redraw).
WINDOW_GAP = 1
#: Windows titled ``#k`` in :func:`draw_padded_windows` up to this many.
MAX_WINDOW_TITLES = 36


def _curve(
    ax: Axes,
    gid: str,
    xs: Sequence[float],
    ys: Sequence[float],
    *,
    color: str,
    linewidth: float = 1.8,
    linestyle: str = "solid",
    marker: str = "None",
    markersize: float = 5.0,
    zorder: float = 3,
) -> Line2D:
    """A pooled ``ax.plot(xs, ys)`` line (markers only with ``linestyle="None"``); its data set in place on redraw."""
    line, _ = _pooled(ax, gid, lambda: ax.add_line(Line2D([], [])))
    data = np.stack([np.asarray(xs, dtype=float), np.asarray(ys, dtype=float)])
    if _changed(line, data):
        line.set_data(data[0], data[1])
    _style(
        line,
        {"color": color, "linewidth": linewidth, "linestyle": linestyle, "marker": marker, "markersize": markersize, "zorder": zorder},
    )
    return line


def _series(values: Any, name: str, length: int | None = None) -> np.ndarray:
    array = np.asarray(values, dtype=float)
    if array.ndim != 1 or array.size == 0:
        raise ValueError(f"{name} must be a non-empty 1-D sequence of numbers, got shape {array.shape}")
    if length is not None and array.size != length:
        raise ValueError(f"{name} must have {length} values (one per size), got {array.size}")
    return array


def _cost_key(kind: object, name: str) -> str:
    if kind not in COST_COLOURS:
        raise ValueError(f"{name} keys must be among {tuple(COST_COLOURS)}, got {kind!r}")
    return str(kind)


def draw_cost_curves(
    ax: Axes,
    tokens: Sequence[float],
    lines: Mapping[str, Sequence[float]],
    *,
    points: Mapping[str, Sequence[float]] | None = None,
    marker: int | None = None,
    ylabel: str = "multiply-adds",
    guides: bool = True,
    ylim: tuple[float, float] | None = None,
) -> None:
    """Cost against the number of tokens ``hw`` on log-log axes, one line per attention.

    Args:
        ax: the axes.
        tokens: ``hw`` of each size, increasing.
        lines: attention (a key of :data:`COST_COLOURS`) -> one value per size, drawn as a line.
        points: attention -> one value per size, drawn as dots (the measured counts).
        marker: index into ``tokens`` of a size to mark: a dotted vertical line and a ring on each line.
        ylabel: the quantity.
        guides: grey dashed lines of slope 1 and 2, starting below the lines' first values.
        ylim: fixed ``(bottom, top)`` (an explorer keeps its axes, hence its layout, still);
            by default the data's range with a margin.
    """
    xs = _series(tokens, "tokens")
    if np.any(xs <= 0) or np.any(np.diff(xs) <= 0):
        raise ValueError("tokens must be positive and increasing")
    values = [_series(v, f"lines[{k!r}]", xs.size) for k, v in lines.items()]
    keys = [_cost_key(k, "lines") for k in lines]
    dots = {_cost_key(k, "points"): _series(v, f"points[{k!r}]", xs.size) for k, v in (points or {}).items()}
    every = np.concatenate(values + list(dots.values()))
    if np.any(every <= 0):
        raise ValueError("costs must be positive to be drawn on log axes")
    low, high = float(every.min()), float(every.max())
    for key, ys in zip(keys, values, strict=True):
        _curve(ax, f"line/{key}", xs, ys, color=COST_COLOURS[key], zorder=3)
    for key, ys in dots.items():
        _curve(ax, f"points/{key}", xs, ys, color=COST_COLOURS[key], linestyle="None", marker="o", markersize=5.5, zorder=4)
    if guides and values:
        x0, y0 = xs[0], min(float(v[0]) for v in values) / 4  # below every line, so that none hides a guide
        for power in (1, 2):
            ys = y0 * (xs / x0) ** power
            _curve(ax, f"guide/{power}", xs, ys, color="#aaaaaa", linewidth=1.0, linestyle="--", zorder=2)
        low, high = min(low, y0), max(high, float(y0 * (xs[-1] / x0) ** 2))
    if marker is not None:
        if not 0 <= marker < xs.size:
            raise ValueError(f"marker={marker} must index tokens (0..{xs.size - 1})")
        x = xs[marker]
        _lines(ax, "marker", [((x, 1e-30), (x, 1e30))], color="#444444", linewidth=1.0, linestyle=":", zorder=2)
        for key, ys in zip(keys, values, strict=True):
            _curve(ax, f"marker/{key}", [x], [ys[marker]], color=COST_COLOURS[key], linestyle="None", marker="o",
                   markersize=9, zorder=5)
    bottom, top = (low / 2, high * 2) if ylim is None else _positive_range(ylim, "ylim")
    _log_ticks(ax.xaxis, xs[0] / 1.4, xs[-1] * 1.4)
    _log_ticks(ax.yaxis, bottom, top)
    ax.set_xlim(xs[0] / 1.4, xs[-1] * 1.4)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("tokens hw")
    ax.set_ylabel(ylabel)
    labelled = keys + [k for k in dots if k not in keys]
    entries = [(COST_COLOURS[k], COST_NAMES[k]) for k in labelled] + ([("#aaaaaa", "slopes 1 and 2")] if guides else [])
    _legend(ax, "legend/" + "/".join(labelled) + ("/guides" if guides else ""), entries, loc="upper left", fontsize=8)


_SUPERSCRIPTS = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


def _positive_range(limits: object, name: str) -> tuple[float, float]:
    if not isinstance(limits, (tuple, list)) or len(limits) != 2:
        raise ValueError(f"{name} must be a (bottom, top) pair, got {limits!r}")
    bottom, top = float(limits[0]), float(limits[1])
    if not 0 < bottom < top:
        raise ValueError(f"{name} must satisfy 0 < bottom < top for a log axis, got {limits!r}")
    return bottom, top


def _log_ticks(axis: Any, low: float, high: float) -> None:
    """Major ticks of a log axis over ``[low, high]``: the powers of ten, as ``10ⁿ`` (every other one beyond
    :data:`MAX_TICKS`); over less than three decades also 2 and 5 times them, as plain numbers."""
    first, last = math.ceil(math.log10(low)), math.floor(math.log10(high))
    if last - first < 2:
        values = [m * 10.0**p for p in range(first - 1, last + 1) for m in (1, 2, 5) if low <= m * 10.0**p <= high]
        axis.set_ticks(values, [f"{v:g}" for v in values])
        return
    step = max(1, -(-(last - first + 1) // MAX_TICKS))
    powers = list(range(first, last + 1, step))
    axis.set_ticks([10.0**p for p in powers], [f"10{str(p).translate(_SUPERSCRIPTS)}" for p in powers])


def draw_window_counts(
    ax: Axes,
    sizes: Sequence[int],
    counts: Mapping[str, Sequence[int]],
    paper: Sequence[int] | None = None,
    *,
    window: int,
    marker: int | None = None,
    ylim: tuple[float, float] | None = None,
) -> None:
    """Windows of each shifted partition against the map size ``h = w``.

    On linear axes, or on log-y axes if ``ax`` has them (the ratio of two counts is then a fixed gap).

    Args:
        ax: the axes.
        sizes: ``h = w`` of each map, increasing.
        counts: ``"cyclic"`` / ``"padding"`` -> windows per size (``window_count``).
        paper: the paper's ``(⌈h/M⌉+1)²`` per size, drawn dashed, or ``None``.
        window: ``M``: faint lines mark the sizes it divides.
        marker: index into ``sizes`` of the chosen map: a dotted line and a ring on each count.
        ylim: fixed ``(bottom, top)``; by default from 0 (linear) or 0.7 (log) to a margin above the data.
    """
    xs = _series(sizes, "sizes")
    if np.any(np.diff(xs) <= 0):
        raise ValueError("sizes must be increasing")
    series = {_cost_key(k, "counts"): _series(v, f"counts[{k!r}]", xs.size) for k, v in counts.items()}
    top = max(float(v.max()) for v in series.values()) if series else 1.0
    if paper is not None:
        formula = _series(paper, "paper", xs.size)
        top = max(top, float(formula.max()))
        _curve(ax, "paper", xs, formula, color="black", linewidth=1.0, linestyle="--", zorder=4)
    for key, ys in series.items():
        _curve(ax, f"count/{key}", xs, ys, color=COST_COLOURS[key], marker="o", markersize=3, zorder=3)
    log = ax.get_yscale() == "log"
    if ylim is not None:
        bottom, top = _positive_range(ylim, "ylim") if log else (float(ylim[0]), float(ylim[1]))
    else:
        bottom, top = (0.7, top * 1.5) if log else (0.0, top * 1.1)
    multiples = [m for m in range(window, int(xs[-1]) + 1, window) if m >= xs[0]]
    _lines(ax, "multiples", [((m, bottom), (m, top)) for m in multiples], color="#e5e5e5", linewidth=1.0, zorder=1)
    if marker is not None:
        if not 0 <= marker < xs.size:
            raise ValueError(f"marker={marker} must index sizes (0..{xs.size - 1})")
        x = xs[marker]
        _lines(ax, "marker", [((x, bottom), (x, top))], color="#444444", linewidth=1.0, linestyle=":", zorder=2)
        for key, ys in series.items():
            _curve(ax, f"marker/{key}", [x], [ys[marker]], color=COST_COLOURS[key], linestyle="None", marker="o",
                   markersize=8, zorder=5)
    ax.set_xlim(xs[0] - 0.5, xs[-1] + 0.5)
    if log:
        _log_ticks(ax.yaxis, bottom, top)
    ax.set_ylim(bottom, top)
    ax.set_xlabel("h = w  (faint lines: multiples of M)")
    ax.set_ylabel("windows")
    entries = [(COST_COLOURS[k], COST_NAMES[k]) for k in series] + ([("black", "(⌈h/M⌉+1)²")] if paper is not None else [])
    _legend(ax, "legend/" + "/".join(series) + ("/paper" if paper is not None else ""), entries, loc="upper left", fontsize=8)


def _padded_colours(windows: torch.Tensor) -> np.ndarray:
    """RGBA of ``[...]`` region labels with ``-1`` (padding) in :data:`PADDING_COLOUR`."""
    colours = region_colours(windows.clamp(min=0))
    colours[(windows < 0).numpy()] = to_rgba(PADDING_COLOUR)
    return colours


def draw_padded_windows(
    ax: Axes, windows: torch.Tensor, windows_per_row: int, *, room: tuple[int, int] | None = None, labels: bool = True
) -> None:
    """Draw ``[nW, Mh, Mw]`` windows of region labels apart from each other, padding (``-1``) in grey.

    The windows are laid out as the partition's rows, one cell apart, scaled into
    the unit square of fixed axes limits (so that a new partition changes only
    data, never the layout): window ``k`` at row ``k // windows_per_row``. With
    ``labels``, cells carry their labels while the partition has at most
    :data:`MAX_ANNOTATED_CELLS` cells, and windows their number ``#k`` up to
    :data:`MAX_WINDOW_TITLES` windows.

    Args:
        ax: the axes.
        windows: ``[nW, Mh, Mw]`` labels ``0..8``, ``-1`` for padding tokens.
        windows_per_row: windows per row of the partition (divides ``nW``).
        room: ``(rows, cols)`` of windows to leave room for (at least this partition's), so
            that two partitions drawn side by side have cells of the same size; the smaller
            one is centred.
        labels: write the labels and window numbers (when small enough); ``False`` draws colours only.
    """
    if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
        raise ValueError(f"windows must be a [nW, Mh, Mw] tensor, got {getattr(windows, 'shape', type(windows).__name__)}")
    windows = windows.detach().cpu()
    n_windows, window_h, window_w = windows.shape
    if isinstance(windows_per_row, bool) or not isinstance(windows_per_row, int) or windows_per_row <= 0 or n_windows % windows_per_row:
        raise ValueError(f"windows_per_row={windows_per_row!r} must be a positive int that divides nW={n_windows}")
    if int(windows.min()) < -1 or int(windows.max()) >= len(REGION_COLOURS):
        raise ValueError(f"windows must hold region labels 0..{len(REGION_COLOURS) - 1} or -1 (padding)")
    rows_of_windows = n_windows // windows_per_row
    room_rows, room_cols = room if room is not None else (rows_of_windows, windows_per_row)
    room_rows, room_cols = max(room_rows, rows_of_windows), max(room_cols, windows_per_row)
    gap = WINDOW_GAP
    step_x, step_y = window_w + gap, window_h + gap
    unit = 1.0 / max(room_cols * step_x - gap, room_rows * step_y - gap)  # one cell, in axes data units
    x0 = (1.0 - (windows_per_row * step_x - gap) * unit) / 2  # centred across, top-aligned
    # the tiles as one image, one pixel per cell and per gap (transparent)
    colours = _bytes(_padded_colours(windows))
    canvas = np.zeros((rows_of_windows * step_y - gap, windows_per_row * step_x - gap, 4), dtype=np.uint8)
    tiles = colours.reshape(rows_of_windows, windows_per_row, window_h, window_w, 4)
    for a in range(rows_of_windows):
        for b in range(windows_per_row):
            canvas[a * step_y : a * step_y + window_h, b * step_x : b * step_x + window_w] = tiles[a, b]
    height, width = canvas.shape[:2]
    _image(ax, "windows/image", canvas, (x0, x0 + width * unit, height * unit, 0.0))
    corners = np.array([(x0 + (k % windows_per_row) * step_x * unit, (k // windows_per_row) * step_y * unit) for k in range(n_windows)])
    cells = room_rows * room_cols * window_h * window_w
    if max(room_rows * step_y, room_cols * step_x) <= MAX_LINED // 2:  # cells big enough for the white lines between them
        lines = _cell_lines(window_h, window_w, corners / unit + 0.5) * unit
        _lines(ax, "windows/lines", lines, color="white", linewidth=0.8, zorder=2)
    _polygons(ax, "frames", _boxes(corners[:, 0], corners[:, 1], window_w * unit, window_h * unit), edgecolor="black",
              linewidth=1.5 if n_windows <= 100 else 0.8)
    size = _fontsize(max(window_h * room_rows, window_w * room_cols), 90)
    if labels and cells <= MAX_ANNOTATED_CELLS:
        for k, (cx, cy) in enumerate(corners):
            tile = windows[k].tolist()
            for r in range(window_h):
                for c in range(window_w):
                    if tile[r][c] >= 0:
                        _text(ax, f"cells/{k}/{r}/{c}", cx + (c + 0.5) * unit, cy + (r + 0.5) * unit, str(tile[r][c]),
                              ha="center", va="center", fontsize=size, color="black", in_layout=False)
    if labels and n_windows <= MAX_WINDOW_TITLES:
        for k, (cx, cy) in enumerate(corners):
            _text(ax, f"title/{k}", cx, cy - 0.05 * unit, f"#{k}", ha="left", va="bottom", fontsize=max(size - 1, 5),
                  in_layout=False)
    ax.set_xlim(-0.01, 1.01)
    ax.set_ylim(1.01, -0.04)
    ax.set_aspect("equal")
    ax.set_axis_off()


def _partition_room(naive: torch.Tensor, naive_per_row: int, cyclic: torch.Tensor, cyclic_per_row: int) -> tuple[int, int]:
    """``(rows, cols)`` of windows that hold either partition: both are drawn at one cell size."""
    for name, windows, per_row in (("naive", naive, naive_per_row), ("cyclic", cyclic, cyclic_per_row)):
        if not isinstance(windows, torch.Tensor) or windows.dim() != 3:
            raise ValueError(f"{name} must be a [nW, Mh, Mw] tensor, got {getattr(windows, 'shape', type(windows).__name__)}")
        if isinstance(per_row, bool) or not isinstance(per_row, int) or per_row <= 0 or windows.shape[0] % per_row:
            raise ValueError(f"{name}_per_row={per_row!r} must be a positive int that divides nW={windows.shape[0]}")
    if naive.shape[1:] != cyclic.shape[1:]:
        raise ValueError(f"naive and cyclic windows must have the same [Mh, Mw], got {tuple(naive.shape[1:])} and {tuple(cyclic.shape[1:])}")
    rows = max(naive.shape[0] // naive_per_row, cyclic.shape[0] // cyclic_per_row)
    return rows, max(naive_per_row, cyclic_per_row)


def _partition_titles(naive: torch.Tensor, cyclic: torch.Tensor) -> tuple[str, str]:
    return f"padding: {naive.shape[0]} windows", f"cyclic shift: {cyclic.shape[0]} windows"


def plot_shift_vs_padding(
    naive: torch.Tensor,
    naive_per_row: int,
    cyclic: torch.Tensor,
    cyclic_per_row: int,
    *,
    figure: LabFigure | None = None,
) -> LabFigure:
    """The shifted windows two ways: cut out and padded (left) against the rolled map's windows (right).

    Args:
        naive, naive_per_row, cyclic, cyclic_per_row: the fields of
            :func:`swin_viz.cost.shifted_partitions` (``plot_shift_vs_padding(*partitions)``):
            ``[nW', Mh, Mw]`` and ``[nW, Mh, Mw]`` region labels, ``-1`` for padding.
        figure: a figure this function returned before, to redraw in place.

    Both panels share one cell size, so the extra row and column of the padded
    partition show as extra room.
    """
    room = _partition_room(naive, naive_per_row, cyclic, cyclic_per_row)
    size = (9.4, 5.2)
    with _frame(figure, ("shift_vs_padding",), size, _side_by_side) as (fig, (left, right)):
        draw_padded_windows(left, naive, naive_per_row, room=room)
        draw_padded_windows(right, cyclic, cyclic_per_row, room=room)
        titles = _partition_titles(naive, cyclic)
        _title(left, titles[0], fontsize=10)
        _title(right, titles[1], fontsize=10)
        _suptitle(fig, "The shifted windows, cut out and padded (grey) or rolled together", fontsize=11)
    return fig


def plot_flops(
    tokens: Sequence[float],
    formulas: Mapping[str, Sequence[float]],
    measured: Mapping[str, Sequence[float]] | None = None,
    *,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Multiply-adds against ``hw``, log-log: the paper's formulas as lines, the measured counts as dots.

    Args:
        tokens: ``hw`` of each map, increasing.
        formulas: ``"msa"`` / ``"w-msa"`` ... -> ``Ω`` per map.
        measured: the same keys -> ``FlopCounterMode`` counts halved, per map.
        figure: a figure this function returned before, to redraw in place.
    """
    with _frame(figure, ("flops",), (6.4, 4.4), _log_axes) as (fig, ax):
        draw_cost_curves(ax, tokens, formulas, points=measured)
        _title(ax, "lines: the paper's Ω · dots: FlopCounterMode count / 2", fontsize=10)
    return fig


def plot_times(tokens: Sequence[float], times: Mapping[str, Sequence[float]], *, figure: LabFigure | None = None) -> LabFigure:
    """Measured seconds against ``hw``, log-log, with guides of slope 1 and 2.

    Args:
        tokens: ``hw`` of each map, increasing.
        times: ``"msa"`` / ``"w-msa"`` ... -> median seconds per map (``time_call``).
        figure: a figure this function returned before, to redraw in place.
    """
    with _frame(figure, ("times",), (6.4, 4.4), _log_axes) as (fig, ax):
        draw_cost_curves(ax, tokens, times, points=times, ylabel="seconds")
        _title(ax, "wall time, median of repeated calls", fontsize=10)
    return fig


def plot_window_counts(
    sizes: Sequence[int],
    counts: Mapping[str, Sequence[int]],
    paper: Sequence[int] | None = None,
    *,
    window: int,
    shift: int,
    figure: LabFigure | None = None,
) -> LabFigure:
    """Windows of the cyclic shift and of padding against the map size (``h = w``), with the paper's count.

    Args:
        sizes: ``h = w`` of each map, increasing.
        counts: ``"cyclic"`` / ``"padding"`` -> ``window_count`` per map.
        paper: ``window_count_formula(..., method="padding")`` per map, or ``None``.
        window, shift: ``M`` and ``s`` (for the title and the faint lines at multiples of ``M``).
        figure: a figure this function returned before, to redraw in place.
    """
    with _frame(figure, ("window_counts",), (7.0, 4.2), lambda fig: fig.subplots()) as (fig, ax):
        draw_window_counts(ax, sizes, counts, paper, window=window)
        _title(ax, f"windows of the shifted partition, M = {window}, s = {shift}", fontsize=10)
    return fig


def _side_by_side(fig: LabFigure) -> Any:
    fig.get_layout_engine().set(wspace=0.12)
    return fig.subplots(1, 2)


def _make_log(ax: Axes) -> Axes:
    """Log-log axes without minor ticks (:func:`_log_ticks` sets the major ones every frame)."""
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.xaxis.set_minor_locator(NullLocator())
    ax.yaxis.set_minor_locator(NullLocator())
    return ax


def _log_axes(fig: LabFigure) -> Axes:
    return _make_log(fig.subplots())


def _cost_axes(fig: LabFigure) -> tuple[Axes, Axes, Axes, Axes]:
    fig.get_layout_engine().set(wspace=0.08)
    (flops, counts), (naive, cyclic) = fig.subplots(2, 2, height_ratios=(1, 1.1))
    counts.set_yscale("log")
    counts.yaxis.set_minor_locator(NullLocator())
    return _make_log(flops), counts, naive, cyclic


def plot_cost(
    tokens: Sequence[float],
    flops: Mapping[str, Sequence[float]],
    sizes: Sequence[int],
    counts: Mapping[str, Sequence[int]],
    paper: Sequence[int],
    partitions: Sequence[Any],
    *,
    window: int,
    shift: int,
    marker: int,
    flop_limits: tuple[float, float] | None = None,
    count_limits: tuple[float, float] | None = None,
    figure: LabFigure | None = None,
) -> LabFigure:
    """The explorer's picture: multiply-adds and window counts against the map size, and the chosen map's two partitions.

    Top left, :func:`draw_cost_curves`; top right, :func:`draw_window_counts` on a log
    scale; below, the two partitions of the chosen map (:func:`draw_padded_windows`,
    colours only).

    Args:
        tokens: ``hw`` of each map (``sizes`` squared).
        flops: ``"msa"`` / ``"w-msa"`` ... -> multiply-adds per map.
        sizes: ``h = w`` of each map.
        counts: ``"cyclic"`` / ``"padding"`` -> windows per map.
        paper: the paper's padded count per map.
        partitions: :func:`swin_viz.cost.shifted_partitions` of the chosen map.
        window, shift: ``M`` and ``s``.
        marker: index of the chosen map in ``sizes``.
        flop_limits, count_limits: fixed y ranges of the two plots: an explorer passes the
            range of every reachable setting, so that a change redraws data only.
        figure: a figure this function returned before, to redraw in place.
    """
    naive, naive_per_row, cyclic, cyclic_per_row = partitions
    room = _partition_room(naive, naive_per_row, cyclic, cyclic_per_row)
    with _frame(figure, ("cost",), (10.0, 7.4), _cost_axes) as (fig, (flop_ax, count_ax, naive_ax, cyclic_ax)):
        draw_cost_curves(flop_ax, tokens, flops, marker=marker, ylim=flop_limits)
        _title(flop_ax, "multiply-adds", fontsize=10)
        draw_window_counts(count_ax, sizes, counts, paper, window=window, marker=marker, ylim=count_limits)
        _title(count_ax, f"windows of the shifted partition, M = {window}, s = {shift}", fontsize=10, chrome=False)
        draw_padded_windows(naive_ax, naive, naive_per_row, room=room, labels=False)
        draw_padded_windows(cyclic_ax, cyclic, cyclic_per_row, room=room, labels=False)
        titles = _partition_titles(naive, cyclic)
        size = int(sizes[marker])
        _title(naive_ax, f"{size} × {size}: {titles[0]}", fontsize=10, chrome=False)
        _title(cyclic_ax, f"{size} × {size}: {titles[1]}", fontsize=10, chrome=False)
    return fig
