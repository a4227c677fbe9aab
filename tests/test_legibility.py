"""No text is drawn smaller than MIN_TEXT_PX pixels, in a notebook's picture or an explorer's: a grid whose cells
are too small for their numbers drops them instead of shrinking them."""

from __future__ import annotations

import pytest
from matplotlib.backends.backend_agg import RendererAgg

from swin_viz import region_labels, widgets
from swin_viz.figures import MIN_TEXT_PX, _text, plot_cyclic_shift
from swin_viz.figures._text import CellNumbers

LAYOUTS = [dict(height=9, width=9, window=3, shift=1), dict(height=12, width=16, window=4, shift=2),
           dict(height=56, width=56, window=7, shift=3), dict(height=24, width=24, window=3, shift=1)]


@pytest.fixture
def drawn_sizes(monkeypatch):
    """Every text size drawn, in pixels: matplotlib's texts (``draw_text``) and a grid's outlines."""
    sizes: list[tuple[float, str]] = []
    draw_text = RendererAgg.draw_text

    def recording_text(self, gc, x, y, s, prop, angle, ismath=False, mtext=None):
        sizes.append((prop.get_size_in_points() * self.points_to_pixels(1.0), s))
        return draw_text(self, gc, x, y, s, prop, angle, ismath, mtext)

    draw_outlines = _text.draw_outlines

    def recording_outlines(artist, renderer, anchors, strings, colours, size, **kwargs):
        sizes.extend((size * renderer.points_to_pixels(1.0), s) for s in strings)
        return draw_outlines(artist, renderer, anchors, strings, colours, size, **kwargs)

    monkeypatch.setattr(RendererAgg, "draw_text", recording_text)
    monkeypatch.setattr(_text, "draw_outlines", recording_outlines)
    return sizes


@pytest.mark.parametrize("layout", LAYOUTS, ids=lambda d: "{height}x{width}-{window}-{shift}".format(**d))
@pytest.mark.parametrize("stage", list(widgets.STAGES))
def test_no_explorer_draws_text_below_the_smallest_size(drawn_sizes, stage, layout):
    view = widgets.explorer(stage, **layout)
    try:
        assert view.draw_count == 1
        small = [(round(px, 2), s) for px, s in drawn_sizes if px < MIN_TEXT_PX]
        assert drawn_sizes and small == []
    finally:
        view.close()


@pytest.mark.parametrize("make", [widgets.block_leak_explorer, widgets.pad_order_explorer, widgets.numerics_explorer,
                                  widgets.cost_explorer, widgets.masks_in_the_wild_explorer,
                                  widgets.relative_position_explorer], ids=lambda f: f.__name__)
def test_no_notebook_explorer_draws_text_below_the_smallest_size(drawn_sizes, make):
    view = make()
    try:
        assert [(round(px, 2), s) for px, s in drawn_sizes if px < MIN_TEXT_PX] == [] and drawn_sizes
    finally:
        view.close()


def test_the_pipeline_at_12x16_drops_the_numbers_it_cannot_show_legibly(drawn_sizes):
    """The issue's case: at 12x16 / 4 / 2 the pipeline drew its cell numbers about 4 px tall."""
    view = widgets.explorer("pipeline", height=12, width=16, window=4, shift=2)
    try:
        assert min(px for px, _ in drawn_sizes) >= MIN_TEXT_PX
        numbers = [a for ax in view.figure.axes for a in ax.artists if isinstance(a, CellNumbers)]
        assert numbers and all(n.drawn_px is None or n.drawn_px >= MIN_TEXT_PX for n in numbers)
    finally:
        view.close()


def test_cells_too_small_for_their_numbers_drop_them(drawn_sizes):
    """The same 24 x 24 map: a big figure shows its numbers; rendered at a fifth of the resolution they would be
    tiny, and are dropped instead; the region colours are still drawn."""
    import torch

    labels = region_labels(24, 24, 8, 4)
    x = torch.arange(24 * 24).view(24, 24)
    fig = plot_cyclic_shift(x, torch.roll(x, (-4, -4), (0, 1)), labels, 4)
    numbers = [a for a in fig.axes[0].artists if isinstance(a, CellNumbers)][0]
    fig.to_png()
    assert numbers.drawn_px is not None and numbers.drawn_px >= MIN_TEXT_PX
    drawn_sizes.clear()
    fig.to_png(dpi=20)
    assert numbers.drawn_px is None and numbers.cell_texts() == []
    assert all(px >= MIN_TEXT_PX for px, _ in drawn_sizes)
