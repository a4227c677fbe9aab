"""The figures' canvas draws text from cached glyph bitmaps: texts exactly as plain Agg draws them at their origins
rounded to whole pixels, pixel for pixel; cell numbers and tick labels from one bitmap per string, within a pixel
or two of where matplotlib puts them."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg, RendererAgg

from swin_viz import _glyphs, attention_mask, cyclic_shift, label_difference, region_labels, window_labels
from swin_viz import figures


class _WholePixelRenderer(RendererAgg):
    """Plain Agg, with each text's origin rounded to a whole pixel as the glyph cache rounds it."""

    def draw_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        if not ismath:
            x, y = round(x), round(y)
        return super().draw_text(gc, x, y, s, prop, angle, ismath, mtext)


class _WholePixelAgg(FigureCanvasAgg):
    def get_renderer(self):
        key = (*self.get_width_height(physical=True), self.figure.dpi)
        if self._lastKey != key:
            self.renderer = _WholePixelRenderer(key[0], key[1], key[2])
            self._lastKey = key
        return self.renderer


def _pixels(fig) -> np.ndarray:
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


def _figures(height: int, window: int, shift: int) -> list:
    """Figures with every kind of text: cell numbers, tick labels, rotated band notes, titles, a suptitle."""
    x = torch.arange(height * height).view(height, height)
    labels = region_labels(height, height, window, shift)
    mask_windows = window_labels(height, height, window, shift)
    mask = attention_mask(height, height, window, shift)
    k = mask.shape[0] - 1
    return [
        figures.plot_cyclic_shift(x, cyclic_shift(x, shift), labels, shift, window),
        figures.plot_region_labels(labels, window, shift),
        figures.plot_window_masks(mask, height // window),
        figures.plot_label_difference(label_difference(mask_windows)[k], mask[k], mask_windows[k]),
    ]


@pytest.mark.parametrize("height, window, shift", [(9, 3, 1), (8, 4, 2), (24, 6, 3)])
def test_cached_text_is_drawn_where_plain_agg_draws_it(height, window, shift):
    _glyphs.clear_caches()
    cached = _figures(height, window, shift)
    plain = _figures(height, window, shift)
    for fig in plain:
        _WholePixelAgg(fig)
    for fig in cached + plain:  # cell numbers and tick labels are placed on whole pixels by the cache (tests below)
        for ax in fig.axes:
            for artist in ax.artists:
                if isinstance(artist, (figures._CellNumbers, figures._TickLabels)):
                    artist.set_visible(False)
    for fig_cached, fig_plain in zip(cached, plain):
        assert isinstance(fig_cached.canvas, _glyphs.GlyphCacheCanvas)
        first = _pixels(fig_cached)  # fills the caches
        assert _glyphs.cache_sizes()["glyphs"] > 0
        second = _pixels(fig_cached)  # drawn from them
        expected = _pixels(fig_plain)
        assert first.shape == expected.shape
        assert np.count_nonzero((first != expected).any(-1)) == 0
        assert np.array_equal(second, expected)


def test_rotated_and_unantialiased_text_match_plain_agg():
    def picture(canvas_class):
        fig = figures.LabFigure(figsize=(3, 2), dpi=100)
        canvas_class(fig)
        ax = fig.add_subplot()
        ax.text(0.2, 0.5, "rows 0-5", rotation=90, fontsize=9)
        ax.text(0.5, 0.3, "j=3\n(7)", rotation=33, fontsize=11, ha="center")
        ax.text(0.6, 0.8, "mono 123", antialiased=False, fontsize=8)
        return _pixels(fig)

    assert np.array_equal(picture(_glyphs.GlyphCacheCanvas), picture(_WholePixelAgg))


def test_a_text_moved_by_a_fraction_of_a_pixel_reuses_its_glyphs():
    """Its origin is rounded to a whole pixel, so its glyphs keep their sub-pixel offsets: no glyph is rendered again."""
    fig = figures.LabFigure(figsize=(3, 2), dpi=100)
    _glyphs.GlyphCacheCanvas(fig)
    text = fig.text(0.1, 0.5, "needs mask: window 12", fontsize=9)
    _glyphs.clear_caches()
    _pixels(fig)
    rendered = _glyphs.cache_sizes()["glyphs"]
    assert rendered >= len(set("needs mask: window 12".replace(" ", "")))
    for x in (0.10013, 0.10047, 0.2031, 0.40077):  # 0.04, 0.14, 30.5, 90.2 px further right
        text.set_x(x)
        _pixels(fig)
    assert _glyphs.cache_sizes()["glyphs"] == rendered


def test_string_sizes_and_font_heights_come_from_the_cache():
    _glyphs.clear_caches()
    fig = figures.plot_region_labels(region_labels(9, 9, 3, 1), 3, 1)
    fig.canvas.draw()
    sizes = _glyphs.cache_sizes()
    assert sizes["metrics"] > 0 and sizes["heights"] > 0 and sizes["layouts"] > 0
    renderer = fig.canvas.get_renderer()
    prop = fig.axes[0].title.get_fontproperties()
    expected = FigureCanvasAgg(figures.LabFigure(dpi=renderer.dpi)).get_renderer().get_text_width_height_descent("k=12", prop, False)
    assert renderer.get_text_width_height_descent("k=12", prop, False) == expected


def test_the_caches_are_bounded(monkeypatch):
    monkeypatch.setattr(_glyphs, "CACHE_LIMIT", 5)
    _glyphs.clear_caches()
    fig = figures.plot_region_labels(region_labels(9, 9, 3, 1), 3, 1)
    fig.canvas.draw()
    assert all(0 < size <= 5 for size in _glyphs.cache_sizes().values())


def test_other_matplotlib_versions_get_plain_agg(monkeypatch):
    monkeypatch.setattr(_glyphs, "_SUPPORTED", False)
    assert _glyphs.canvas_class() is FigureCanvasAgg
    fig = figures.plot_region_labels(region_labels(9, 9, 3, 1), 3, 1)
    assert type(fig.canvas) is FigureCanvasAgg
    assert fig.to_png().startswith(b"\x89PNG")


def _ink_boxes(canvas_class, strings: list[str]) -> list[tuple[int, int, int, int]]:
    """Draw each string as the number of one cell of a 1 x n grid; the box around each one's ink."""
    fig = figures.LabFigure(figsize=(len(strings), 1.2), dpi=100)
    canvas_class(fig)
    ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(-0.5, len(strings) - 0.5)
    ax.set_ylim(0.5, -0.5)
    ax.set_axis_off()
    numbers = figures._CellNumbers()
    ax.add_artist(numbers)
    numbers.set_cells(np.array([(i, 0.0) for i in range(len(strings))]), strings, ["black"] * len(strings), 11.0)
    ink = _pixels(fig)[..., 0] < 128
    boxes = []
    for i in range(len(strings)):
        part = ink[:, i * 100 : (i + 1) * 100]
        rows, cols = np.nonzero(part)
        boxes.append((rows.min(), rows.max(), cols.min(), cols.max()))
    return boxes


def test_cell_numbers_are_centred_and_land_where_plain_agg_text_does():
    strings = ["0", "8", "12,3", "-100", ".07", "q\n.25", "k3\n(8)", "23,23"]
    cached, plain = _ink_boxes(_glyphs.GlyphCacheCanvas, strings), _ink_boxes(FigureCanvasAgg, strings)
    for string, box_cached, box_plain in zip(strings, cached, plain):
        top, bottom, left, right = box_cached
        assert abs((left + right) / 2 - 49.5) <= 1, string  # the ink centred across its cell (pixels 0..99)
        assert (top, bottom) == box_plain[:2] or np.abs(np.subtract((top, bottom), box_plain[:2])).max() <= 1, string
        # plain Agg centres the string's advance box, which leaves the ink up to ~1 px right of centre
        assert np.abs(np.subtract((left, right), box_plain[2:])).max() <= 2, string
        assert abs((right - left) - (box_plain[3] - box_plain[2])) <= 1, string  # the same glyphs (sub-pixel apart)


@pytest.mark.parametrize("size, weight", [(5.0, "normal"), (8.333, "normal"), (10.0, "bold"), (12.0, "normal")])
def test_strings_laid_out_from_their_pairs_match_freetype(size, weight):
    """A string of COMPOSABLE characters is laid out from cached pairs: glyph for glyph, and to the 1/64 px,
    where FreeType shaping the whole string puts them (kerning included, e.g. ``1,`` or ``(7``)."""
    import random

    from matplotlib.font_manager import FontProperties

    if not _glyphs._SUPPORTED:
        pytest.skip("this matplotlib lacks the text internals the glyph cache uses")
    renderer = _glyphs.GlyphCacheRenderer(100, 100, 100.0)
    prop = FontProperties(size=size, weight=weight)
    alphabet = sorted(_glyphs.COMPOSABLE)
    rng = random.Random(f"composed {size} {weight}")
    samples = ["23,17", "−100", "i=0 (4)", "j=12\n", "q3·k5", ".23", "7 × 7", "window 15", "a11", "((7))", "1,1,1"]
    samples += ["".join(rng.choice(alphabet) for _ in range(rng.randint(3, 12))) for _ in range(400)]
    _glyphs.clear_caches()
    font_key = renderer._font_key(prop)
    composed = 0
    for s in samples:
        shaped = [(i.ft_object.fname, i.glyph_index, i.x, i.y) for i in renderer._prepare_font(prop)._layout(s, flags=font_key[3])]
        assert [(font.fname, g, x, y) for font, g, x, y in renderer._items(prop, s, font_key=font_key)] == shaped, s
        if _glyphs.COMPOSABLE.issuperset(s):
            items = renderer._composed(prop, s, font_key)  # the pair path itself, not a shaped fallback
            assert items is not None and [(font.fname, g, x, y) for font, g, x, y in items] == shaped, s
            composed += 1
    assert composed > 400


def _tick_ink(canvas_class, ours: bool) -> dict[str, list[tuple[int, int, int, int]]]:
    """Ticks and labels of a 5 x 5 grid panel, drawn by figures._TickLabels (``ours``) or by matplotlib's own
    ticks (no tick marks, as the grids had them): the box around each tick label's and axis label's ink,
    ``(top, bottom, left, right)`` in pixels."""
    x_strings, y_strings = ["0", "12", "j=3\n(7)", "-100", "k4\n(8)"], ["0", "i=1 (4)", "23", "q3", "7,7"]
    fig = figures.LabFigure(figsize=(5, 4), dpi=100)
    canvas_class(fig)
    ax = fig.add_axes((0.3, 0.3, 0.6, 0.6))
    ax.set_xlim(-0.5, 4.5)
    ax.set_ylim(4.5, -0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    if ours:
        ticks = figures._grid_ticks(ax)
        ticks.set_ticks("x", range(5), x_strings, 9.0)
        ticks.set_ticks("y", range(5), y_strings, 9.0)
        ticks.set_label("x", "key token j")
        ticks.set_label("y", "query token i")
    else:
        ax.set_xticks(range(5), x_strings, fontsize=9.0)
        ax.set_yticks(range(5), y_strings, fontsize=9.0)
        ax.tick_params(length=0)
        ax.set_xlabel("key token j")
        ax.set_ylabel("query token i")
    ink = _pixels(fig)[..., 0] < 160
    left, bottom, right, top = (round(v) for v in (150, 400 - 120, 450, 400 - 360))  # the axes in pixels, y down

    def box(part: np.ndarray, row0: int, col0: int) -> tuple[int, int, int, int]:
        rows, cols = np.nonzero(part)
        return row0 + rows.min(), row0 + rows.max(), col0 + cols.min(), col0 + cols.max()

    found = {"x": [], "y": []}
    # a cell is 60 x 48 px; tick labels in the 35 px below the axes and the 55 px left of it, axis labels beyond
    for i in range(5):
        found["x"].append(box(ink[bottom : bottom + 35, left + 60 * i : left + 60 * (i + 1)], bottom, left + 60 * i))
        found["y"].append(box(ink[top + 48 * i : top + 48 * (i + 1), left - 50 : left], top + 48 * i, left - 50))
    found["labels"] = [box(ink[bottom + 35 :, left:right], bottom + 35, left), box(ink[top:bottom, : left - 50], top, 0)]
    return found


@pytest.mark.parametrize("canvas_class", [_glyphs.GlyphCacheCanvas, FigureCanvasAgg])
def test_tick_labels_sit_where_matplotlib_puts_its_own(canvas_class):
    """A grid's tick labels (one artist, drawn from cached bitmaps) and axis labels land within a pixel or two
    of matplotlib's ticks with no tick marks: x labels centred under their tick, y labels ending left of the
    axes and centred on theirs."""
    ours, theirs = _tick_ink(canvas_class, True), _tick_ink(FigureCanvasAgg, False)
    for kind in ("x", "y", "labels"):
        for box_ours, box_theirs in zip(ours[kind], theirs[kind]):
            difference = np.abs(np.subtract(box_ours, box_theirs))
            # a second line sits one font line pitch below the first; matplotlib's pitch also grows with each
            # line's measured height (a pixel or two more): the bottom of a two-line label, and the x axis label
            # below such labels, may sit up to 3 px higher
            loose = kind == "labels" or (kind == "x" and box_theirs[1] - box_theirs[0] > 20)
            assert difference[[2, 3]].max() <= 2 and difference[[0, 1]].max() <= (4 if loose else 2), (kind, box_ours, box_theirs)
    # the x axis label keeps matplotlib's gap below the lowest tick label
    gap_ours = ours["labels"][0][0] - max(b for _, b, _, _ in ours["x"])
    gap_theirs = theirs["labels"][0][0] - max(b for _, b, _, _ in theirs["x"])
    assert abs(gap_ours - gap_theirs) <= 1
    for i, (top, bottom, left, right) in enumerate(ours["x"]):
        assert abs((left + right) / 2 - (150 + 60 * i + 29.5)) <= 1  # ink centred under the tick
    assert len({right for _, _, _, right in ours["y"]}) <= 2  # ink ends at one edge (a pixel of rounding)
