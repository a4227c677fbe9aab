"""The figures' canvas: Agg, with its text drawn from cached glyph bitmaps (private to :mod:`swin_viz.figures`).

Matplotlib's Agg renderer lays out every string (``FT2Font._layout``, about
0.3 ms) and rasterises every glyph (``_render_glyph``, about 40 us) each time
it draws a text, and it forgets the measured size of every string whenever the
canvas changes size. An explorer redraws the same few hundred short strings
(cell numbers, tick labels) on every slider change, so most of a redraw went
into text. :class:`GlyphCacheRenderer` keeps

* the layout of each string (its glyphs and their offsets) per font files,
  size, dpi and hinting;
* each glyph's bitmap per font, size, dpi, angle, antialiasing, hinting and
  the sub-pixel part (1/64 px) of where it is drawn: FreeType renders a glyph
  moved by whole pixels as the same bitmap moved by those pixels, so the
  cached bitmap is pasted where a fresh one would be;
* the width, height and descent of each string, and each font's ascent,
  descent and line gap (which ``Text`` reads from the font's tables on every
  layout);
* during one draw, the font files each font property resolves to.

One thing differs from Agg: a text's origin is rounded to a whole pixel (it moves by half a pixel at most).
Then each glyph's sub-pixel offset is its offset within its string, the same on every draw, so a title or an
axis label that moves with the layout is drawn from glyph bitmaps cached before; at a fractional origin each
move would render its glyphs anew. Apart from that, the picture is the one Agg draws at those origins,
pixel for pixel (``tests/test_glyphs.py`` checks it).

It uses matplotlib's private text machinery (``FT2Font._layout``,
``_render_glyph``, ``_set_transform``, matplotlib 3.11); where those are missing,
:func:`canvas_class` returns plain :class:`FigureCanvasAgg`.
"""

from __future__ import annotations

import contextlib
import math
from typing import Any, Iterator

import numpy as np
from matplotlib.backends import backend_agg
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg
from matplotlib.font_manager import fontManager, get_font

__all__ = ["COMPOSABLE", "GlyphCacheRenderer", "GlyphCacheCanvas", "canvas_class", "clear_caches", "cache_sizes", "font_heights"]

#: Characters laid out from their pairs (:meth:`GlyphCacheRenderer._composed`): digits, ASCII punctuation, the
#: space, the minus sign, the middle dot, the multiplication sign and the lower-case letters but ``f``. In the fonts
#: matplotlib ships, nothing but kerning acts between them (their only ligatures start with ``f``);
#: ``tests/test_glyphs.py`` checks composed layouts against FreeType's.
COMPOSABLE = frozenset("0123456789 !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~−·×abcdeghijklmnopqrstuvwxyz")

#: Strings up to this long are composed from their pairs even when a pair must be shaped first (see ``_composed``).
COMPOSED_LENGTH = 8

#: Entries kept per cache before it is emptied and filled again (a bitmap is a few hundred bytes).
CACHE_LIMIT = 50_000

_layouts: dict[tuple, list[tuple[Any, int, float, float]]] = {}
_glyphs: dict[tuple, tuple[np.ndarray, int, int]] = {}
_metrics: dict[tuple, tuple[float, float, float]] = {}
_heights: dict[tuple, tuple[Any, Any, Any]] = {}
_strings: dict[tuple, tuple[np.ndarray, int, int]] = {}


def clear_caches() -> None:
    """Forget every cached layout, glyph bitmap and string size."""
    _layouts.clear()
    _glyphs.clear()
    _metrics.clear()
    _heights.clear()
    _strings.clear()


def cache_sizes() -> dict[str, int]:
    """How many layouts, glyph bitmaps and string sizes are cached now."""
    return {"layouts": len(_layouts), "glyphs": len(_glyphs), "metrics": len(_metrics), "heights": len(_heights), "strings": len(_strings)}


def _store(cache: dict, key: tuple, value: Any) -> Any:
    if len(cache) >= CACHE_LIMIT:
        cache.clear()
    cache[key] = value
    return value


def _supported() -> bool:
    """Whether this matplotlib has the text internals the cache relies on (those of 3.11)."""
    from matplotlib.ft2font import FT2Font

    return (
        all(hasattr(FT2Font, name) for name in ("_layout", "_render_glyph", "_set_transform"))
        and all(hasattr(backend_agg, name) for name in ("get_hinting_flag", "RenderMode"))
        and hasattr(fontManager, "_find_fonts_by_props")
    )


def font_heights(prop: Any, dpi: float, files: tuple | None = None) -> tuple[Any, Any, Any]:
    """The ascent, descent and line gap (pixels at ``dpi``) of ``prop``'s font, read from its OS/2 or hhea
    table as ``Text._get_layout`` reads them; ``(None, None, None)`` if it has neither (``Text`` then measures)."""
    files = files if files is not None else tuple(fontManager._find_fonts_by_props(prop))
    size = prop.get_size_in_points()
    key = (files, size, dpi)
    found = _heights.get(key)
    if found is None:
        found = (None, None, None)
        font = get_font(list(files))
        for table_name, gap_key, ascent_key, descent_key in (
            ("OS/2", "sTypoLineGap", "sTypoAscender", "sTypoDescender"),
            ("hhea", "lineGap", "ascent", "descent"),
        ):
            table = font.get_sfnt_table(table_name)
            if table is None:
                continue
            scale = 1 / font.get_sfnt_table("head")["unitsPerEm"] * size * dpi / 72
            found = (table[ascent_key] * scale, -table[descent_key] * scale, table[gap_key] * scale)
            break
        _store(_heights, key, found)
    return found


class GlyphCacheRenderer(RendererAgg):
    """:class:`RendererAgg` whose ``draw_text`` and ``get_text_width_height_descent`` reuse cached work
    (see the module docstring). Math text and TeX go the plain way."""

    def __init__(self, width: float, height: float, dpi: float) -> None:
        super().__init__(width, height, dpi)
        #: font property -> font files, kept only while a draw runs (rcParams may change between draws)
        self._font_files: dict[tuple, tuple] | None = None

    @contextlib.contextmanager
    def drawing(self) -> Iterator[None]:
        """Within: one draw (the font files each font property resolves to are remembered)."""
        self._font_files = {}
        try:
            yield
        finally:
            self._font_files = None

    def _files(self, prop: Any) -> tuple:
        if self._font_files is None:
            return tuple(fontManager._find_fonts_by_props(prop))
        key = (
            tuple(prop.get_family()), prop.get_slant(), prop.get_variant(), prop.get_weight(), prop.get_stretch(),
            prop.get_file(), prop.get_math_fontfamily(),
        )
        files = self._font_files.get(key)
        if files is None:
            files = self._font_files[key] = tuple(fontManager._find_fonts_by_props(prop))
        return files

    def _prepare_font(self, prop: Any, files: tuple | None = None) -> Any:
        """``RendererAgg._prepare_font`` (the font, cleared, at ``prop``'s size), with the font files looked up
        once per draw (:meth:`_files`) or given."""
        font = get_font(list(files if files is not None else self._files(prop)))
        font.clear()
        font.set_size(prop.get_size_in_points(), self.dpi)
        return font

    def _font_key(self, prop: Any) -> tuple:
        return self._files(prop), prop.get_size_in_points(), self.dpi, backend_agg.get_hinting_flag()

    def _get_font_height_metrics(self, prop: Any) -> tuple[Any, Any, Any]:
        """The font's ascent, descent and line gap in pixels, as ``Text._get_layout`` reads them from its tables."""
        return font_heights(prop, self.dpi, self._files(prop))

    def get_text_width_height_descent(self, s: str, prop: Any, ismath: Any) -> tuple[float, float, float]:
        if ismath:
            return super().get_text_width_height_descent(s, prop, ismath)
        key = (self._font_key(prop), s)
        found = _metrics.get(key)
        if found is None:
            found = _store(_metrics, key, super().get_text_width_height_descent(s, prop, ismath))
        return found

    def _items(
        self, prop: Any, s: str, features: Any = None, language: Any = None, font_key: tuple | None = None
    ) -> list[tuple[Any, int, float, float]]:
        """The glyphs of ``s`` laid out: ``(font, glyph index, x, y)`` in pixels from the origin (y up), cached.
        ``font_key``: ``self._font_key(prop)``, if the caller has it already.

        A string of :data:`COMPOSABLE` characters is laid out from the cached layouts of its pairs of
        neighbours (:meth:`_composed`); any other string is shaped by FreeType (``FT2Font._layout``)."""
        font_key = font_key if font_key is not None else self._font_key(prop)
        layout_key = (font_key, s, tuple(features) if features is not None else None, language)
        items = _layouts.get(layout_key)
        if items is None:
            if features is None and language is None and 2 < len(s) and COMPOSABLE.issuperset(s):
                items = self._composed(prop, s, font_key, shape_pairs=len(s) <= COMPOSED_LENGTH)
            if items is None:
                font = self._prepare_font(prop, font_key[0])
                laid_out = font._layout(s, flags=layout_key[0][3], features=features, language=language)
                items = [(item.ft_object, item.glyph_index, item.x, item.y) for item in laid_out]
            _store(_layouts, layout_key, items)
        return items

    def _composed(
        self, prop: Any, s: str, font_key: tuple, shape_pairs: bool = True
    ) -> list[tuple[Any, int, float, float]] | None:
        """The layout of ``s`` (three characters or more) put together from the layouts of its neighbour pairs:
        the first pair as it is, then each next glyph one pair's advance (the second glyph's ``x`` less the
        first's, kerning included) after the glyph before. ``None`` if a pair is not two glyphs on the
        baseline (a ligature, a mark), or, unless ``shape_pairs``, not laid out yet: then ``s`` is shaped whole.

        Shaping costs about 0.15 ms a string, whatever its length; a grid of 24 x 24 new ``row,col`` labels
        is a hundred milliseconds of it, but their pairs are a few dozen. A long string (a title) is
        composed only from pairs laid out already (shaping its pairs would cost more than shaping it)."""
        if not shape_pairs and any((font_key, s[i : i + 2], None, None) not in _layouts for i in range(len(s) - 1)):
            return None
        items: list[tuple[Any, int, float, float]] = []
        x = 0.0
        for a, b in zip(s, s[1:]):
            pair = self._items(prop, a + b, font_key=font_key)
            if len(pair) != 2 or pair[0][3] != 0 or pair[1][3] != 0:
                return None
            if not items:
                items.append(pair[0])
                x = pair[0][2]
            x += pair[1][2] - pair[0][2]
            items.append((pair[1][0], pair[1][1], x, 0.0))
        return items

    def _glyph(
        self, font: Any, size: float, glyph_index: int, angle: float, antialiased: bool, load_flags: Any, tx: int, ty: int
    ) -> tuple[np.ndarray, int, int]:
        """The bitmap of a glyph drawn at ``(tx, ty)`` (1/64 px, y up): ``(coverage, left, top)`` in whole pixels.

        Cached per sub-pixel part of ``(tx, ty)``: moved by whole pixels, FreeType draws the same bitmap."""
        key = (font.fname, size, self.dpi, glyph_index, angle, antialiased, load_flags, tx & 0x3F, ty & 0x3F)
        glyph = _glyphs.get(key)
        if glyph is None:
            cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
            font.set_size(size, self.dpi)
            font._set_transform((0x10000 * np.array([[cos, -sin], [sin, cos]])).round().astype(int), [tx & 0x3F, ty & 0x3F])
            bitmap = font._render_glyph(
                glyph_index, load_flags, backend_agg.RenderMode.NORMAL if antialiased else backend_agg.RenderMode.MONO
            )
            buffer = np.array(bitmap.buffer, dtype=np.uint8, copy=True)
            if not antialiased:
                buffer *= 0xFF
            glyph = _store(_glyphs, key, (buffer, bitmap.left, bitmap.top))
        buffer, left, top = glyph
        return buffer, left + (tx >> 6), top + (ty >> 6)

    def draw_text(self, gc: Any, x: float, y: float, s: str, prop: Any, angle: float, ismath: Any = False, mtext: Any = None) -> None:
        if ismath:
            return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)
        x, y = round(x), round(y)  # whole pixels: a glyph's sub-pixel offset is then its offset in the string
        features = mtext.get_fontfeatures() if mtext is not None else None
        language = mtext.get_language() if mtext is not None else None
        items = self._items(prop, s, features, language)
        # what RendererAgg._draw_text_glyphs_and_boxes does for plain text, each glyph's bitmap cached
        cos, sin = math.cos(math.radians(angle)), math.sin(math.radians(angle))
        antialiased, load_flags, size = bool(gc.get_antialiased()), backend_agg.get_hinting_flag(), prop.get_size_in_points()
        height = self.height
        for font, glyph_index, dx, dy in items:  # y is downwards, dy upwards
            tx = round(0x40 * (x + dx * cos - dy * sin))
            ty = round(0x40 * (height - y + dx * sin + dy * cos))
            buffer, left, top = self._glyph(font, size, glyph_index, angle, antialiased, load_flags, tx, ty)
            self._renderer.draw_text_image(buffer, left, int(height) - top + buffer.shape[0], 0, gc)

    def _string_bitmap(self, s: str, prop: Any, font_key: tuple) -> tuple[np.ndarray, int, int]:
        """``s`` rendered once with its origin on a whole pixel: ``(coverage [h, w] uint8, left, top)``,
        ``left``/``top`` the pixel offsets of the bitmap's top-left corner from the origin (y up).
        ``font_key``: ``self._font_key(prop)``."""
        key = (font_key, s)
        found = _strings.get(key)
        if found is None:
            size, load_flags = prop.get_size_in_points(), font_key[3]
            pieces = [
                self._glyph(font, size, glyph_index, 0.0, True, load_flags, round(0x40 * dx), round(0x40 * dy))
                for font, glyph_index, dx, dy in self._items(prop, s, font_key=font_key)
            ]
            pieces = [piece for piece in pieces if piece[0].size]
            if not pieces:
                found = (np.zeros((0, 0), dtype=np.uint8), 0, 0)
            else:
                left = min(x for _, x, _ in pieces)
                top = max(y for _, _, y in pieces)
                right = max(x + b.shape[1] for b, x, _ in pieces)
                bottom = min(y - b.shape[0] for b, _, y in pieces)
                canvas = np.zeros((top - bottom, right - left), dtype=np.uint8)
                for buffer, x, y in pieces:
                    area = canvas[top - y : top - y + buffer.shape[0], x - left : x - left + buffer.shape[1]]
                    np.maximum(area, buffer, out=area)
                found = (canvas, left, top)
            _store(_strings, key, found)
        return found

    def ink_span(self, s: str, prop: Any) -> tuple[int, int]:
        """Where the ink of the one-line ``s`` lies across, as :meth:`draw_aligned_strings` places it:
        ``(left, width)`` in whole pixels from the origin."""
        bitmap, left, _ = self._string_bitmap(s, prop, self._font_key(prop))
        return left, bitmap.shape[1]

    def draw_aligned_strings(
        self, gc: Any, points: np.ndarray, strings: list[str], colours: list[Any], prop: Any, align: str = "center"
    ) -> None:
        """Draw the one-line ``strings[i]`` in ``colours[i]`` with its baseline at ``points[i, 1]`` and its ink
        centred on ``points[i, 0]`` (``align="center"``) or ending there (``"right"``) (display pixels, y up),
        each from one cached bitmap placed on whole pixels. (Agg's string width, which a ``Text`` aligns
        instead, would cost a second layout of every new string, and measures the advance box: centred ink
        lands up to a pixel right of centre.)"""
        if align not in ("center", "right"):
            raise ValueError(f"align must be 'center' or 'right', got {align!r}")
        share = 0.5 if align == "center" else 1.0
        font_key = self._font_key(prop)
        canvas_height = int(self.height)
        by_colour: dict[Any, list[int]] = {}
        for i, colour in enumerate(colours):
            by_colour.setdefault(colour, []).append(i)
        for colour, indices in by_colour.items():
            gc.set_foreground(colour)
            for i in indices:
                bitmap, left, top = self._string_bitmap(strings[i], prop, font_key)
                if not bitmap.size:
                    continue
                x = round(points[i, 0] - left - bitmap.shape[1] * share)
                y = round(points[i, 1])
                self._renderer.draw_text_image(bitmap, x + left, canvas_height - (y + top) + bitmap.shape[0], 0, gc)


class GlyphCacheCanvas(FigureCanvasAgg):
    """:class:`FigureCanvasAgg` drawing with a :class:`GlyphCacheRenderer`."""

    def get_renderer(self) -> RendererAgg:
        w, h = self.get_width_height(physical=True)
        key = w, h, self.figure.dpi
        if self._lastKey != key:
            self.renderer = GlyphCacheRenderer(w, h, self.figure.dpi)
            self._lastKey = key
        return self.renderer


def canvas_class() -> type[FigureCanvasAgg]:
    """:class:`GlyphCacheCanvas` where this matplotlib supports it, else :class:`FigureCanvasAgg`."""
    return GlyphCacheCanvas if _SUPPORTED else FigureCanvasAgg


_SUPPORTED = _supported()
