"""Every explorer, on the one design: numpy ints welcome, bad arguments named, a slider never holds a value its
constructor refuses, close() frees every widget and the figure, and importing the explorers changes nothing."""

from __future__ import annotations

import gc
import os
import re
import subprocess
import sys
import weakref
from pathlib import Path

import ipywidgets
import numpy as np
import pytest

from swin_viz import widgets
from swin_viz.widgets import STAGES, explorer

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(autouse=True)
def small_pictures(monkeypatch):
    """These tests are about controls, arguments and widgets, not pictures: explorers render 400 px wide here
    (a third of the time; the pictures themselves are tested in test_widgets and test_legibility)."""
    from swin_viz.widgets import _base

    monkeypatch.setattr(_base, "EXPLORER_MAX_WIDTH", 400)

#: Every explorer type: how to build it, and a start off its defaults that uses every int argument (Python ints).
STARTS = {
    **{
        name: (
            lambda n=name, **kwargs: explorer(n, **kwargs),
            dict(height=6, width=8, window=2, shift=1)
            | ({"window_index": 3} if "window_index" in cls.control_names() else {})
            | ({"query": 2} if "query" in cls.control_names() else {}),
        )
        for name, cls in STAGES.items()
    },
    "block_leak": (widgets.block_leak_explorer, dict(height=6, width=9, window=3, shift=2, head=1, query=(2, 4))),
    "pad_order": (widgets.pad_order_explorer, dict(height=10, width=7, window=(3, 4), shift=(1, 2))),
    "numerics": (widgets.numerics_explorer, dict(window_index=7, head=1)),
    "cost": (widgets.cost_explorer, dict(size=20, window=5, shift=2, dim=32)),
    "masks_in_the_wild": (widgets.masks_in_the_wild_explorer, dict(size=(4, 6, 6), window=(2, 3, 3), shift=(1, 1, 2), window_index=5)),
    "relative_position": (widgets.relative_position_explorer, dict(window=(2, 5), query=7, head=2)),
}


def _as_numpy(value, kind):
    if isinstance(value, tuple):
        return tuple(_as_numpy(v, kind) for v in value)
    return kind(value)


@pytest.fixture
def made():
    """Weak references to every widget constructed within the test (ipywidgets' public construction hook)."""
    refs: list[weakref.ref] = []
    ipywidgets.Widget.on_widget_constructed(lambda widget: refs.append(weakref.ref(widget)))
    try:
        yield refs
    finally:
        ipywidgets.Widget.on_widget_constructed(None)


def _open(refs) -> int:
    """How many of the widgets are alive and open (a closed widget has no comm)."""
    return sum(1 for ref in refs if ref() is not None and ref().comm is not None)


# --------------------------------------------------------------------------- #
# Arguments                                                                   #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("name", list(STARTS))
def test_numpy_ints_give_the_same_explorer_as_python_ints(name):
    make, start = STARTS[name]
    python = make(**start)
    for kind in (np.int64, np.uint8, np.int16):
        view = make(**{key: _as_numpy(value, kind) for key, value in start.items()})
        assert repr(view) == repr(python) and view.caption.value == python.caption.value
        assert view.values == python.values
        assert [type(value) for value in view.values.values()] == [type(value) for value in python.values.values()]
        assert kind not in {type(value) for value in view.values.values()}  # the controls hold Python ints
        view.close()
    # and the start is not the default: the arguments were used
    default = make()
    assert repr(default) != repr(python)
    default.close()
    python.close()


def _int_arguments(start):
    """Each int argument of a start, with a path into a pair: ``(key, index or None)``."""
    for key, value in start.items():
        if isinstance(value, tuple):
            yield from ((key, i) for i in range(len(value)))
        else:
            yield key, None


@pytest.mark.parametrize("name", list(STARTS))
@pytest.mark.parametrize("bad", [True, 3.0, "3", None], ids=["bool", "float", "str", "None"])
def test_a_non_int_argument_is_a_type_error_naming_it(name, bad, made):
    make, start = STARTS[name]
    for key, index in _int_arguments(start):
        if bad is None and key in ("window_index", "query"):
            continue  # None is a stage picker's "the last one"
        if index is None:
            arguments, label = {**start, key: bad}, key
        else:
            pair = list(start[key])
            pair[index] = bad
            arguments, label = {**start, key: tuple(pair)}, f"{key}[{index}]"
        with pytest.raises(TypeError, match=rf"^{re.escape(label)} must be an int, got {type(bad).__name__}"):
            make(**arguments)
    assert made == []  # refused before any widget was made


@pytest.mark.parametrize(
    "name, arguments, message",
    [
        ("cyclic_shift", dict(window=2, height=18), "height=18 must be a multiple of 2 in [2, 16]"),
        ("region_labels", dict(window=4, height=8, width=8, shift=4), "shift=4 is outside the explorer's range [0, 3]"),
        ("window_partition", dict(window=1), "window=1 is outside the explorer's range [2, 8]"),
        ("window_rows", dict(height=6, window_index=6), "window_index=6 is outside the explorer's range [0, 5]"),
        ("broadcast", dict(window_index=-1), "window_index=-1 is outside the explorer's range [0, 8]"),
        ("label_difference", dict(width=7), "width=7 must be a multiple of 3 in [3, 24]"),
        ("window_masks", dict(height=0), "height=0 must be a multiple of 3 in [3, 24]"),
        ("leak", dict(window=2, height=4, width=4, query=4), "query=4 is outside the explorer's range [0, 3]"),
        ("qk_alignment", dict(window=9), "window=9 is outside the explorer's range [2, 8]"),
        ("attention_weights", dict(shift=-1), "shift=-1 is outside the explorer's range [0, 2]"),
        ("pipeline", dict(width=27), "width=27 must be a multiple of 3 in [3, 24]"),
        ("block_leak", dict(height=6, query=(6, 0)), "query_row=6 is outside the explorer's range [0, 5]"),
        ("block_leak", dict(head=2), "head must be one of [0, 1], got 2"),
        ("pad_order", dict(width=25), "width=25 is outside the explorer's range [1, 24]"),
        ("pad_order", dict(window=(2, 9)), "window_w=9 is outside the explorer's range [1, 8]"),
        ("pad_order", dict(window=(2, 5), shift=(2, 0)), "shift_h=2 is outside the explorer's range [0, 1]"),
        ("numerics", dict(head=2), "head=2 is outside the explorer's range [0, 1]"),
        ("numerics", dict(logit_scale=1e5), "logit_scale must be a number in [0.1, 10000], got 100000.0"),
        ("cost", dict(size=65), "size=65 is outside the explorer's range [1, 64]"),
        ("cost", dict(dim=427), "dim=427 must be a multiple of 16 in [16, 768]"),
        ("relative_position", dict(window=(8, 2)), "window_h=8 is outside the explorer's range [1, 7]"),
        ("relative_position", dict(window=(2, 3), query=6), "query=6 is outside the explorer's range [0, 5]"),
    ],
)
def test_an_argument_out_of_range_is_a_value_error_naming_it_and_its_range(name, arguments, message, made):
    make, _ = STARTS[name]
    with pytest.raises(ValueError) as error:
        make(**arguments)
    assert str(error.value) == message
    assert made == []


@pytest.mark.parametrize(
    "make, arguments, error, message",
    [
        (widgets.block_leak_explorer, dict(use_mask=np.True_), TypeError, "use_mask must be True or False, got bool np.True_"),
        (widgets.numerics_explorer, dict(dtype=np.float32), TypeError, "dtype must be a str, one of"),
        (widgets.numerics_explorer, dict(fill=-100.0), TypeError, "fill must be a str, one of"),
        (widgets.pad_order_explorer, dict(order="pad"), ValueError, "order must be one of ['pad-then-roll', 'roll-then-pad'], got 'pad'"),
        (widgets.cost_explorer, dict(dim=np.float64(96)), TypeError, "dim must be an int, got float64"),
    ],
)
def test_the_other_controls_name_their_rule_too(make, arguments, error, message):
    with pytest.raises(error) as raised:
        make(**arguments)
    assert str(raised.value).startswith(message)


def test_numpy_bool_is_not_a_bool_for_the_mask_toggle():
    """``np.True_ == True``, but the toggle's value must be the option itself: a numpy bool is refused by name."""
    assert np.True_ == True  # noqa: E712 -- the reason a membership test alone would let it through
    with pytest.raises(TypeError, match="use_mask must be True or False"):
        widgets.block_leak_explorer(use_mask=np.True_)


# --------------------------------------------------------------------------- #
# A slider never holds a value its constructor refuses                        #
# --------------------------------------------------------------------------- #
def test_a_channel_count_typed_off_the_step_is_brought_to_the_nearest_multiple():
    view = widgets.cost_explorer()
    view.dim.value = 427  # typed into the readout: the slider itself only clamps to [min, max]
    assert view.dim.value == 432 and view.describe_settings() == "h=w=56, M=7, s=3, C=432"
    assert view.caption.value.startswith("h=w=56, M=7, s=3, C=432: ")
    assert view.draw_count == 2  # one redraw, of the corrected value
    again = widgets.cost_explorer(size=view.size.value, window=view.window.value, shift=view.shift.value, dim=view.dim.value)
    assert repr(again) == repr(view)
    view.dim.value = 20  # the nearest multiple below
    assert view.dim.value == 16
    view.dim.value = 760  # 760 / 16 = 47.5: rounds to the even 48
    assert view.dim.value == 768
    view.close()
    again.close()


@pytest.mark.parametrize("name", list(STARTS))
def test_every_int_control_set_anywhere_ends_where_the_constructor_accepts(name):
    """Each int slider set one past its value, one below, to 10**6 and to -10**6 (as a typed readout can):
    afterwards every value passes the constructor's checks."""
    make, start = STARTS[name]
    view = make(**start)
    ints = [spec.name for spec in view.CONTROLS if isinstance(spec, widgets.IntControl)]
    for control_name in ints:
        control = getattr(view, control_name)
        for value in (control.value + 1, control.value - 1, 10**6, -(10**6)):
            control.value = value
            assert view.check(view.values) == view.values, (control_name, value, view.values)
            assert "Cannot draw" not in view.caption.value
    view.close()


# --------------------------------------------------------------------------- #
# close() frees everything                                                    #
# --------------------------------------------------------------------------- #
def _close_and_collect(name, made):
    make, start = STARTS[name]
    view = make(**start)
    created = len(made)
    figure = weakref.ref(view.figure)
    knob = next(getattr(view, spec.name) for spec in view.CONTROLS if isinstance(spec, widgets.IntControl))
    knob.value = knob.min if knob.value != knob.min else knob.max  # a redraw too: what it makes must go as well
    assert view.draw_count == 2
    view.close()
    del knob
    still_open = _open(made)
    del view
    gc.collect()
    return created, still_open, figure


@pytest.mark.parametrize("name", list(STARTS))
def test_close_closes_every_widget_the_explorer_made_and_lets_its_figure_go(name, made):
    """Its figure too: the figure keeps its axes in lists, not in numpy's object array of ``fig.subplots``, which
    the cyclic collector does not look inside (eight of the fifteen explorers' figures were never freed)."""
    created, still_open, figure = _close_and_collect(name, made)
    assert created >= 20  # the controls, their layouts and styles, the boxes, the caption and the image
    assert still_open == 0
    assert [ref for ref in made if ref() is not None] == []  # and, closed, nothing keeps them
    assert figure() is None


# --------------------------------------------------------------------------- #
# Importing the explorers changes nothing                                     #
# --------------------------------------------------------------------------- #
def _run(code: str) -> str:
    environment = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, cwd=ROOT, check=True)
    return result.stdout.strip()


def test_importing_the_explorers_freezes_nothing_and_freezing_is_one_explicit_call():
    out = _run(
        "import gc, swin_viz.widgets as w\n"
        "before = gc.get_freeze_count()\n"
        "frozen = w.freeze_imported_objects()\n"
        "print(before, frozen, gc.get_freeze_count(), w.__file__)"
    )
    before, frozen, after, path = out.split()
    before, frozen, after = int(before), int(frozen), int(after)
    assert Path(path).is_relative_to(ROOT)
    assert before == 0 and frozen == after > 10_000  # torch, matplotlib, ipywidgets ...
