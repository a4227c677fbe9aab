"""Driving the sliders programmatically: the figure follows, and no reachable position is an error."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from helpers import as_text, cell_texts

from swin_viz import attention_mask, label_difference, region_labels, window_labels
from swin_viz import widgets
from matplotlib.layout_engine import ConstrainedLayoutEngine
from swin_viz.widgets import MAX_WINDOWS, STAGES, WINDOW_RANGE, Settings, explorer

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize("name", list(STAGES))
def test_every_stage_opens_on_the_running_example(name):
    view = explorer(name)
    assert view.settings.height == 9 and view.settings.window == 3 and view.settings.shift == 1
    assert view.draw_count == 1
    assert bytes(view.image.value).startswith(PNG_MAGIC)
    assert "windows that need a mask: 2, 5, 6, 7, 8" in view.caption.value
    assert repr(view) == f"StageExplorer({STAGES[name].title!r}, H=9, W=9, M=3, s=1)"
    if "window_index" in STAGES[name].control_names():
        assert view.window_index.value == 8 and view.window_index.max == 8
    else:
        assert view.window_index is None


def test_named_explorer_functions_match_their_stage():
    pairs = {
        widgets.cyclic_shift_explorer: "cyclic_shift",
        widgets.region_labels_explorer: "region_labels",
        widgets.window_partition_explorer: "window_partition",
        widgets.window_rows_explorer: "window_rows",
        widgets.broadcast_explorer: "broadcast",
        widgets.label_difference_explorer: "label_difference",
        widgets.window_masks_explorer: "window_masks",
        widgets.leak_explorer: "leak",
        widgets.qk_alignment_explorer: "qk_alignment",
        widgets.attention_weights_explorer: "attention_weights",
        widgets.pipeline_explorer: "pipeline",
    }
    assert sorted(pairs.values()) == sorted(STAGES)
    for make, name in pairs.items():
        assert type(make(height=6, width=6, window=2, shift=1)) is STAGES[name]


def test_region_figure_follows_the_shift_slider():
    view = widgets.region_labels_explorer()
    view.shift.value = 2
    assert view.draw_count == 2
    texts = cell_texts(view.figure.axes[0], 9, 9)
    assert texts == as_text(region_labels(9, 9, 3, 2))
    assert texts[6] == "3 3 3 3 3 3 4 5 5".split()
    view.shift.value = 0
    assert cell_texts(view.figure.axes[0], 9, 9) == [["0"] * 9] * 9
    assert "windows that need a mask: none" in view.caption.value


def test_window_change_keeps_sizes_multiples_and_shift_below_window():
    view = widgets.label_difference_explorer(shift=2)
    view.window.value = 4
    settings = view.settings
    # 9 is rounded to the nearest multiple of 4, the shift slider now stops at 3
    assert (settings.height, settings.width, settings.window, settings.shift) == (8, 8, 4, 2)
    assert (view.height.min, view.height.step, view.height.max) == (4, 4, 4 * MAX_WINDOWS)
    assert view.shift.max == 3
    assert view.window_index.max == 3 and view.window_index.value == 3
    assert view.draw_count == 2  # one redraw for the whole coordinated change
    view.window.value = 2
    assert view.settings.shift == 1 and view.shift.max == 1
    assert view.settings.height == 8 and view.height.max == 2 * MAX_WINDOWS
    # the figure shows the new window's difference and mask
    k = view.settings.window_index
    expected = label_difference(window_labels(8, 8, 2, 1))[k]
    assert cell_texts(view.figure.axes[0], 4, 4) == as_text(expected)


def test_window_picker_follows_the_number_of_windows():
    view = widgets.window_rows_explorer()
    view.height.value = 18
    assert view.window_index.max == 17
    view.window_index.value = 17
    view.height.value = 3
    assert view.window_index.max == 2 and view.window_index.value == 2
    rows = cell_texts(view.figure.axes[0], 3, 9)
    assert rows == as_text(window_labels(3, 9, 3, 1))


def test_query_picker_follows_the_window_size():
    view = widgets.leak_explorer()
    assert view.query.max == 8 and view.query.value == 8
    view.window.value = 2
    assert view.query.max == 3 and view.query.value == 3
    view.query.value = 0
    assert view.settings.query == 0
    assert "query token 0" in view.figure.axes[0].get_title()


def test_a_size_set_off_the_step_is_snapped_to_a_multiple():
    view = widgets.region_labels_explorer()
    view.height.value = 10  # e.g. typed into the readout
    assert view.settings.height == 9
    assert "Cannot draw" not in view.caption.value


def test_every_reachable_layout_draws_without_error():
    """Every window size, on the flattest maps the sliders reach (one window high and most wide, and the
    transpose), with the largest and the smallest shift, for every stage."""
    low, high = WINDOW_RANGE
    for window in range(low, high + 1):
        for height, width, shift in ((window, window * MAX_WINDOWS, window - 1), (window * MAX_WINDOWS, window, 0)):
            n_windows = (height // window) * (width // window)
            layout = Settings(height, width, window, shift, window_index=n_windows - 1, query=window * window - 1)
            for stage in STAGES.values():
                stage.picture(layout)


def test_drawing_errors_are_shown_in_the_caption_not_raised():
    view = widgets.region_labels_explorer()

    def broken(layout, figure=None):
        raise ValueError("boom")

    view.picture = broken  # this instance only: its stage's drawing fails
    view.redraw()
    assert "Cannot draw H=9, W=9, M=3, s=1: boom" in view.caption.value
    assert view.draw_count == 1
    # the next good draw starts from a fresh figure (the failed one may be half-drawn)
    failed = view.figure
    del view.picture
    view.shift.value = 2
    assert view.draw_count == 2 and view.figure is not failed
    assert view.caption.value.startswith("H=9, W=9, M=3, s=2")


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        ({"stage": "nope"}, ValueError, "stage must be one of cyclic_shift, region_labels"),
        ({"stage": "leak", "size": 9}, TypeError, "unexpected keyword argument 'size'"),
        ({"stage": "leak", "height": 10}, ValueError, r"height=10 must be a multiple of 3 in \[3, 24\]"),
        ({"stage": "leak", "shift": 3}, ValueError, r"shift=3 is outside the explorer's range \[0, 2\]"),
        ({"stage": "leak", "window": 9, "height": 9, "width": 9, "shift": 1}, ValueError, r"window=9 is outside the explorer's range \[2, 8\]"),
        ({"stage": "leak", "height": 30, "width": 3}, ValueError, r"height=30 must be a multiple of 3 in \[3, 24\]"),
        ({"stage": "leak", "window": (3, 3)}, TypeError, r"window must be an int, got tuple \(3, 3\)"),
        ({"stage": "leak", "window": 0}, ValueError, r"window=0 is outside the explorer's range \[2, 8\]"),
        ({"stage": "leak", "query": 9}, ValueError, r"query=9 is outside the explorer's range \[0, 8\]"),
        ({"stage": "cyclic_shift", "window_index": 2}, TypeError, "CyclicShiftExplorer has no window_index picker"),
    ],
)
def test_bad_starting_layouts_are_named(kwargs, error, match):
    with pytest.raises(error, match=match):
        explorer(**kwargs)


def test_mask_caption_agrees_with_attention_mask():
    view = widgets.window_masks_explorer(height=8, width=12, window=4, shift=2)
    mask = attention_mask(8, 12, 4, 2)
    expected = [k for k in range(mask.shape[0]) if bool((mask[k] != 0).any())]
    assert expected == [2, 3, 4, 5]
    assert view.caption.value.endswith("windows that need a mask: 2, 3, 4, 5")
    assert torch.equal(mask[0], torch.zeros(16, 16))


def test_a_drag_of_the_window_slider_leaves_the_sizes_where_one_step_would():
    """Live drags pass through every window on the way: the sizes are rounded from the chosen ones each time."""
    dragged = explorer("pipeline", height=8, width=16, window=8, shift=0)
    for window in range(7, 1, -1):
        dragged.window.value = window
    stepped = explorer("pipeline", height=8, width=16, window=8, shift=0)
    stepped.window.value = 2
    assert (dragged.height.value, dragged.width.value) == (stepped.height.value, stepped.width.value) == (8, 16)
    dragged.window.value = 3  # 8 -> 9, 16 -> 15: the nearest multiples of 3
    assert (dragged.height.value, dragged.width.value) == (9, 15)
    dragged.height.value = 3  # a size the student moves becomes the one to round from
    dragged.window.value = 2
    assert (dragged.height.value, dragged.width.value) == (4, 16)


# --------------------------------------------------------------------------- #
# Redrawing in place                                                          #
# --------------------------------------------------------------------------- #
def _pixels(png: bytes):
    import io

    from matplotlib.image import imread

    return imread(io.BytesIO(png), format="png")


#: A walk through layouts: a shift and a picker change, a change of grid size (and of N), a sparse
#: large grid (no numbers, thinned ticks), and back to the start.
REDRAW_WALK = [
    Settings(9, 9, 3, 1, window_index=8, query=8),
    Settings(9, 9, 3, 2, window_index=4, query=2),
    Settings(8, 12, 4, 2, window_index=5, query=15),
    Settings(28, 28, 7, 3, window_index=15, query=48),
    Settings(9, 9, 3, 1, window_index=8, query=8),
]


@pytest.mark.parametrize("name", list(STAGES))
def test_redrawing_into_the_figure_gives_the_picture_of_a_fresh_one(name):
    stage = STAGES[name]
    figure = stage.picture(REDRAW_WALK[0])
    axes = len(figure.axes)
    for settings in REDRAW_WALK[1:]:
        again = stage.picture(settings, figure=figure)
        assert again is figure and len(figure.axes) == axes
        retained, fresh = _pixels(figure.to_png()), _pixels(stage.picture(settings).to_png())
        assert retained.shape == fresh.shape, settings
        assert np.array_equal(retained, fresh), f"{name} at {settings}: {np.sum(np.any(retained != fresh, axis=-1))} pixels differ"


def test_explorer_keeps_one_figure_and_draws_once_per_change():
    view = widgets.pipeline_explorer()
    figure = view.figure
    children = [len(ax.get_children()) for ax in figure.axes]
    for slider, value in (("shift", 2), ("window_index", 3), ("shift", 1), ("window_index", 8)):
        count = view.draw_count
        getattr(view, slider).value = value
        assert view.draw_count == count + 1
        assert view.figure is figure
    # back at the start, the figure holds the same artists, no more
    assert view.settings == Settings(query=0)  # the pipeline has no query picker
    assert [len(ax.get_children()) for ax in figure.axes] == children
    view.height.value = 6  # a change of grid size redraws the same figure too
    assert view.figure is figure and len(figure.axes) == len(children)
    assert cell_texts(figure.axes[1], 6, 9) == as_text(region_labels(6, 9, 3, 1))


def test_a_picker_change_reuses_the_layout_and_the_chrome(monkeypatch):
    """At a size without per-token tick labels, moving k changes data only: no new layout, no new chrome."""
    from swin_viz import figures

    runs = []
    real = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(ConstrainedLayoutEngine, "execute", lambda self, fig: runs.append(fig) or real(self, fig))
    view = widgets.pipeline_explorer(height=28, width=28, window=7, shift=3)
    chromes = list(view.figure.chrome_cache.values())
    assert len(chromes) == 1
    runs.clear()
    view.window_index.value = 3
    view.window_index.value = 9
    assert runs == []
    assert list(view.figure.chrome_cache.values()) == chromes
    assert "window 9 (red outline)" in " ".join(t.get_text() for t in view.figure.axes[5].texts)


def test_a_layout_shown_before_is_put_back_without_laying_out(monkeypatch):
    """Coming back to a size: the axes go back where the layout put them (no new run), the chrome is pasted
    back, and the picture is the one a fresh explorer draws there, pixel for pixel."""
    import io

    import numpy as np
    from PIL import Image

    from swin_viz import figures

    runs = []
    real = ConstrainedLayoutEngine.execute
    monkeypatch.setattr(ConstrainedLayoutEngine, "execute", lambda self, fig: runs.append(fig) or real(self, fig))
    view = widgets.pipeline_explorer(height=28, width=28, window=7, shift=3)
    view.height.value = 21
    view.width.value = 14
    assert len(runs) == 3 and len(view.figure.chrome_cache) == 3
    runs.clear()
    view.width.value = 28  # 21 x 28, shown before
    view.height.value = 28  # 28 x 28, the first
    assert runs == []
    assert len(view.figure.chrome_cache) == 3
    assert view.window_index.value == 5  # the 21 x 14 map had windows 0..5 only
    fresh = widgets.pipeline_explorer(height=28, width=28, window=7, shift=3, window_index=5)
    pixels = [np.asarray(Image.open(io.BytesIO(bytes(v.image.value))).convert("RGB")) for v in (view, fresh)]
    assert np.array_equal(*pixels)


def test_the_kept_layouts_and_chromes_are_bounded(monkeypatch):
    from swin_viz import figures

    monkeypatch.setattr(figures._canvas, "LAYOUTS_KEPT", 2)
    view = widgets.explorer("region_labels", height=9, width=9, window=3, shift=1)
    for height in (3, 6, 9, 3, 6):
        view.height.value = height
    assert len(view.figure.retained_layout.kept) == 2
    size = view.figure.canvas.get_renderer()
    assert len(view.figure.chrome_cache) <= max(1, figures._canvas.CHROME_CACHE_BYTES // (4 * int(size.width) * int(size.height)))


def test_drags_in_a_kernel_are_coalesced_into_one_redraw_of_the_last_position(monkeypatch):
    """With an asyncio loop running (a kernel), changes that come within REDRAW_INTERVAL of the last redraw
    are drawn once, at the end of the interval, at the sliders' last position; a change after a pause is drawn at once.
    (The interval is stretched to 0.4 s here, so that a busy machine cannot slip a pause into the drag.)"""
    import asyncio

    from swin_viz.widgets import _base

    monkeypatch.setattr(_base, "REDRAW_INTERVAL", 0.4)
    monkeypatch.setattr(widgets, "REDRAW_INTERVAL", 0.4)

    async def drag():
        view = widgets.region_labels_explorer()
        assert view.draw_count == 1  # the first draw is synchronous
        for shift in (2, 0, 2):  # right after the first draw: all within the interval
            view.shift.value = shift
        assert view.draw_count == 1
        await asyncio.sleep(widgets.REDRAW_INTERVAL * 3)
        assert view.draw_count == 2
        assert view.caption.value.startswith("H=9, W=9, M=3, s=2")
        assert cell_texts(view.figure.axes[0], 9, 9) == as_text(region_labels(9, 9, 3, 2))
        await asyncio.sleep(widgets.REDRAW_INTERVAL * 2)
        view.shift.value = 1  # after a pause: drawn before the assignment returns
        assert view.draw_count == 3 and view.caption.value.startswith("H=9, W=9, M=3, s=1")
        view.redraw()  # an explicit redraw is always immediate and cancels a pending one
        view.shift.value = 0
        view.redraw()
        count = view.draw_count
        await asyncio.sleep(widgets.REDRAW_INTERVAL * 3)
        assert view.draw_count == count

    asyncio.run(drag())


def test_sliders_report_while_dragged_except_the_window_which_reports_on_release():
    view = widgets.leak_explorer()
    sliders = [view.height, view.width, view.shift, view.window_index, view.query]
    assert all(slider.continuous_update for slider in sliders)
    assert not view.window.continuous_update  # M re-ranges every other slider: once, when released


def test_the_block_explorer_rounds_its_sizes_like_the_stage_explorers():
    block = widgets.block_leak_explorer(height=8, width=16, window=8, shift=0, query=(0, 0))
    for window in range(7, 1, -1):
        block.window.value = window
    assert (block.height.value, block.width.value) == (8, 16)
    block.window.value = 3
    assert (block.height.value, block.width.value) == (9, 15)


class _Recording(widgets.Explorer):
    """An explorer whose draw records whether the garbage collector may run, and can be made to fail."""

    title = "recording"
    CONTROLS = (widgets.IntControl("knob", "k"),)

    def __init__(self) -> None:
        self.fail = False
        self.seen: list[bool] = []
        super().__init__({"knob": 0})

    def ranges(self, values):
        yield "knob", widgets.Range(0, 3)

    def draw(self, figure):
        import gc

        from swin_viz import figures

        self.seen.append(gc.isenabled())
        if self.fail:
            raise RuntimeError("planted")
        return figures.plot_region_labels(region_labels(9, 9, 3, self.knob.value % 3), 3, self.knob.value % 3, figure=figure)


def test_no_garbage_collection_runs_inside_a_redraw_and_it_is_back_after():
    import gc

    assert gc.isenabled()
    view = _Recording()
    view.knob.value = 1
    view.fail = True
    view.knob.value = 2  # a failing draw: the error goes into the caption, the collector still comes back
    assert "planted" in view.caption.value
    assert view.seen == [False, False, False] and gc.isenabled()
    gc.disable()  # a collector someone else switched off stays off
    try:
        view.fail = False
        view.knob.value = 3
        assert not gc.isenabled() and view.seen[-1] is False
    finally:
        gc.enable()


def test_a_closed_explorer_is_freed_with_its_figure():
    """ipywidgets keeps open widgets alive; explorer.close() closes every widget in it and lets the figure go."""
    import gc
    import weakref

    view = explorer("region_labels")
    figure, slider, image = weakref.ref(view.figure), weakref.ref(view.height), weakref.ref(view.image)
    view.close()
    assert view.figure is None and view.comm is None and image().comm is None
    del view
    gc.collect()
    assert figure() is None and slider() is None and image() is None
