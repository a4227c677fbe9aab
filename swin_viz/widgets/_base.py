"""The explorer machinery every notebook shares: controls declared once, one set of rules, one redraw loop.

An explorer is a subclass of :class:`Explorer` that declares

* ``CONTROLS``: its controls, in layout order (two per column): :class:`IntControl` (an int slider),
  :class:`ChoiceControl` (toggle buttons or a dropdown), :class:`LogControl` (a float slider on a log scale);
* :meth:`Explorer.ranges`: the range of every int control, given the controls it depends on (``0 <= s < M``,
  sizes that step by ``M`` ...);
* :meth:`Explorer.draw` (the figure), :meth:`Explorer.describe` (the caption) and
  :meth:`Explorer.describe_settings` (the values, for the repr).

From these the base checks the constructor's arguments (:func:`swin_viz.tensors.as_int` and the ranges: a bad argument is
a ``TypeError`` or ``ValueError`` naming it and its rule), builds the widgets, and after every change brings
each int control back into its range (clamped and rounded to its step, see :meth:`Range.nearest`), so a slider
never holds a value the constructor would refuse, whether it was dragged, typed into the readout or set in code.

Redraws are cheap and live: the explorer keeps one figure and redraws into it (see "Retained mode" in
:mod:`swin_viz.figures`), renders it at most :data:`EXPLORER_MAX_WIDTH` pixels wide with fast PNG compression,
computes its tensors on one torch thread (:func:`one_thread`), and the sliders report while they are dragged.
In a kernel (an asyncio loop is running) a change is drawn at once if the last redraw finished at least
:data:`REDRAW_INTERVAL` seconds ago; changes that come sooner are coalesced into one redraw of the latest
position, scheduled with ``loop.call_later`` for the end of that interval. So a click or an arrow key redraws
immediately, a drag redraws a few times a second, and the position where the handle stops is always drawn.
With no loop running (a script, a test) every change is drawn before the assignment returns. No garbage
collection runs inside a redraw (:func:`collector_paused`).
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import gc
import html
import io
import numbers
import time
from dataclasses import dataclass
from typing import Any, Callable, ClassVar, Iterator, Mapping, Union

import ipywidgets as widgets
import torch
from PIL import Image

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import as_int

__all__ = ["EXPLORER_MAX_WIDTH", "EXPLORER_PNG_COMPRESSION", "REDRAW_INTERVAL", "ChoiceControl", "Explorer", "IntControl", "LogControl", "Range", "freeze_imported_objects"]

#: Widest explorer picture in pixels: a wider figure is rendered at a lower resolution than the notebooks'
#: ``figures.DPI`` (a notebook column shows about this many pixels; more would only be scaled down).
EXPLORER_MAX_WIDTH = 1200
#: zlib level of the explorers' PNG: 1 encodes about twice as fast as the default 6, for a few % more bytes.
EXPLORER_PNG_COMPRESSION = 1
#: Seconds between the end of one redraw and the start of the next while a slider is dragged.
REDRAW_INTERVAL = 0.06

#: The width of every control's label, and of a slider or dropdown.
_LABEL_WIDTH = "90px"
_CONTROL_WIDTH = "340px"


# --------------------------------------------------------------------------- #
# Checking arguments                                                          #
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class Range:
    """The values an int control may take: ``low, ..., high`` in steps of ``step`` (``low`` and ``high`` are
    multiples of ``step``, so the values are the multiples of ``step`` in ``[low, high]``)."""

    low: int
    high: int
    step: int = 1

    def nearest(self, value: int) -> int:
        """The allowed value nearest ``value``: rounded to a multiple of :attr:`step`, then clamped."""
        return min(max(self.step * round(value / self.step), self.low), self.high)

    def check(self, value: object, name: str) -> int:
        """``value`` (an int, :func:`~swin_viz.tensors.as_int`) if it is allowed; else ``ValueError`` naming ``name`` and the range."""
        number = as_int(value, name)
        if self.step > 1 and (number % self.step or not self.low <= number <= self.high):
            raise ValueError(f"{name}={number} must be a multiple of {self.step} in [{self.low}, {self.high}]")
        if not self.low <= number <= self.high:
            raise ValueError(f"{name}={number} is outside the explorer's range [{self.low}, {self.high}]")
        return number


# --------------------------------------------------------------------------- #
# Declaring controls                                                          #
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class IntControl:
    """An int slider; its range comes from the explorer's :meth:`~Explorer.ranges`.

    Attributes:
        name: the explorer's attribute, and the name of its value in the checks (e.g. ``"shift"``).
        description: the label beside it.
        live: report while dragged (the explorer coalesces the changes, :data:`REDRAW_INTERVAL`) or only when
            the handle is released (a slider that re-ranges the others, like the window ``M``).
        follows_choice: when its range changes, bring it to the value nearest the one the student chose last,
            not nearest its current (already rounded) value. The map sizes do this: moving ``M`` through
            several values leaves them where a single step would.
        none_is_last: a constructor may give ``None``: the control starts at the top of its range (a window
            picker's last window, which holds the most regions).
    """

    name: str
    description: str
    live: bool = True
    follows_choice: bool = False
    none_is_last: bool = False

    def widget(self, value: int, allowed: Range) -> widgets.IntSlider:
        """The slider, at ``value`` in ``allowed``."""
        return widgets.IntSlider(
            value=value,
            min=allowed.low,
            max=allowed.high,
            step=allowed.step,
            description=self.description,
            continuous_update=self.live,
            style={"description_width": _LABEL_WIDTH},
            layout=widgets.Layout(width=_CONTROL_WIDTH),
        )


@dataclass(frozen=True)
class ChoiceControl:
    """One of a few fixed values: toggle buttons, or a dropdown.

    Attributes:
        name, description: as for :class:`IntControl`.
        options: ``(label, value)`` pairs. The values are all bools, all ints or all strings; a value given to
            the constructor must be of that kind (``TypeError``) and one of them (``ValueError``).
        dropdown: a ``Dropdown`` instead of ``ToggleButtons``.
        button_width: the buttons' width (``None``: ipywidgets' default).
    """

    name: str
    description: str
    options: tuple[tuple[str, Any], ...]
    dropdown: bool = False
    button_width: str | None = None

    def check(self, value: object) -> Any:
        """``value`` if it is one of the options' values; else ``TypeError``/``ValueError`` naming the control."""
        values = [option for _, option in self.options]
        if all(isinstance(option, bool) for option in values):
            if not isinstance(value, bool):
                raise TypeError(f"{self.name} must be True or False, got {type(value).__name__} {value!r}")
        elif all(isinstance(option, int) for option in values):
            value = as_int(value, self.name)
        elif not isinstance(value, str):
            raise TypeError(f"{self.name} must be a str, one of {values}; got {type(value).__name__} {value!r}")
        if value not in values:
            raise ValueError(f"{self.name} must be one of {values}, got {value!r}")
        return value

    def widget(self, value: Any) -> widgets.ValueWidget:
        """The toggle buttons (or dropdown), at ``value``."""
        if self.dropdown:
            return widgets.Dropdown(
                options=list(self.options), value=value, description=self.description,
                style={"description_width": _LABEL_WIDTH}, layout=widgets.Layout(width=_CONTROL_WIDTH),
            )
        style = {"description_width": _LABEL_WIDTH}
        if self.button_width is not None:
            style["button_width"] = self.button_width
        return widgets.ToggleButtons(options=list(self.options), value=value, description=self.description, style=style)


@dataclass(frozen=True)
class LogControl:
    """A float slider on a log scale: values ``10 ** e`` for ``e`` from ``low`` to ``high`` in steps of ``step``."""

    name: str
    description: str
    low: float
    high: float
    step: float

    def check(self, value: object) -> float:
        """``value`` as a float if it is a number in ``[10 ** low, 10 ** high]``; else ``TypeError``/``ValueError``."""
        rule = f"{self.name} must be a number in [{10 ** self.low:g}, {10 ** self.high:g}]"
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise TypeError(f"{rule}, got {type(value).__name__} {value!r}")
        if not 10**self.low <= value <= 10**self.high:
            raise ValueError(f"{rule}, got {value!r}")
        return float(value)

    def widget(self, value: float) -> widgets.FloatLogSlider:
        """The slider, at ``value``."""
        return widgets.FloatLogSlider(
            value=value, base=10, min=self.low, max=self.high, step=self.step, description=self.description,
            readout_format=".3g", continuous_update=True,
            style={"description_width": _LABEL_WIDTH}, layout=widgets.Layout(width=_CONTROL_WIDTH),
        )


Control = Union[IntControl, ChoiceControl, LogControl]
#: What :meth:`Explorer.ranges` yields: an int control's name and its range.
Ranges = Iterator[tuple[str, Range]]


# --------------------------------------------------------------------------- #
# The explorer                                                                #
# --------------------------------------------------------------------------- #
class Explorer(widgets.VBox):
    """Controls wired to one retained figure: the base of every explorer.

    A subclass sets :attr:`title` and :attr:`CONTROLS`, defines :meth:`ranges`, :meth:`draw`,
    :meth:`describe` and :meth:`describe_settings`, and its constructor calls
    ``super().__init__(values)`` with a value for every control (by name). The base checks the values,
    makes each control (as the attribute of its name), lays out the title, the controls (two per column),
    the caption and the image, observes every control's ``value``, and draws once, synchronously.

    On a change the int controls are first brought back into their ranges (:meth:`sync`, with redraws held,
    so one change is one redraw), then the figure is redrawn into the same
    :class:`~swin_viz.figures.LabFigure` (the retained mode of :mod:`swin_viz.figures`). A drawing error goes
    into the caption, in red, and never becomes a traceback in the page.

    Attributes:
        title: the bold line above the controls.
        controls: the control widgets, in layout order.
        image: the ``Image`` widget showing the figure as PNG.
        caption: an ``HTML`` line: :meth:`describe`, or the error if drawing failed.
        figure: the :class:`~swin_viz.figures.LabFigure` drawn into (the same one across redraws).
        draw_count: how many times the figure has been drawn.
        redraw_listeners: functions called with no argument at the end of every redraw, drawn or failed (the
            benchmark's stopwatch).
    """

    title: ClassVar[str] = ""
    CONTROLS: ClassVar[tuple[Control, ...]] = ()

    def __init__(self, values: Mapping[str, Any]) -> None:
        start = self.check(values)
        self.figure: LabFigure | None = None
        self.draw_count = 0
        self.redraw_listeners: list[Callable[[], None]] = []
        self._holding = False
        self._reuse_figure = False  # False until a draw succeeded (and after a failed one): draw a fresh figure
        self._pending: asyncio.TimerHandle | None = None  # a redraw scheduled by _request_redraw
        self._last_draw_end = float("-inf")  # time.monotonic() when the last redraw finished
        allowed = dict(self.ranges(start))
        for spec in self.CONTROLS:
            if isinstance(spec, IntControl):
                setattr(self, spec.name, spec.widget(start[spec.name], allowed[spec.name]))
            else:
                setattr(self, spec.name, spec.widget(start[spec.name]))
        # the value each follows_choice control was last brought to, and the one the student chose
        following = [spec.name for spec in self.CONTROLS if isinstance(spec, IntControl) and spec.follows_choice]
        self._synced = {name: start[name] for name in following}
        self._chosen = dict(self._synced)
        self.controls: list[widgets.ValueWidget] = [getattr(self, spec.name) for spec in self.CONTROLS]
        self._open = True  # it has widgets to close
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.caption = widgets.HTML()
        for control in self.controls:
            control.observe(self._on_change, names="value")
        columns = [widgets.VBox(self.controls[i : i + 2]) for i in range(0, len(self.controls), 2)]
        box = widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([widgets.HTML(f"<b>{html.escape(self.title)}</b>"), box, self.caption, self.image])
        self.redraw()

    # ---- what a subclass defines -----------------------------------------------------
    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """Yield ``(name, Range)`` for every :class:`IntControl`, each range computed from ``values``.

        A range may read only the values of the controls yielded before it (and of the other kinds of
        control): the explorer checks, or brings into line, each value before it asks for the next range. So
        the order is the order of the rules, e.g. the window ``M``, then the shift (``< M``) and the sizes
        (multiples of ``M``), then a window picker (``< nW``). Names the explorer has no control for are skipped.
        """
        return iter(())

    def draw(self, figure: LabFigure | None) -> LabFigure:
        """Compute from the controls' values and return ``plot_*(..., figure=figure)``."""
        raise NotImplementedError(f"{type(self).__name__} must define draw(figure)")

    def describe(self) -> str:
        """One line of plain text for the caption (escaped by the base)."""
        return ""

    def describe_settings(self) -> str:
        """A short, stable text of the control values (used by the repr and by error captions)."""
        return ", ".join(f"{c.description}={c.value}" for c in self.controls)

    # ---- the rules ---------------------------------------------------------------------
    @classmethod
    def control_names(cls) -> tuple[str, ...]:
        """The names of the controls (their attributes), in layout order."""
        return tuple(spec.name for spec in cls.CONTROLS)

    @property
    def values(self) -> dict[str, Any]:
        """Every control's value, by name."""
        return {spec.name: getattr(self, spec.name).value for spec in self.CONTROLS}

    def check(self, values: Mapping[str, Any]) -> dict[str, Any]:
        """The controls' starting ``values``, checked: Python ints, bools, strs and floats, each in its range.

        An int control that is :attr:`~IntControl.none_is_last`, given ``None``, starts at the top of its range. Raises
        ``TypeError``/``ValueError`` naming the first bad value and its rule.
        """
        missing = [spec.name for spec in self.CONTROLS if spec.name not in values]
        if missing:
            raise TypeError(f"{type(self).__name__} needs a value for {', '.join(missing)}")
        checked = {spec.name: spec.check(values[spec.name]) for spec in self.CONTROLS if not isinstance(spec, IntControl)}
        ints = {spec.name: spec for spec in self.CONTROLS if isinstance(spec, IntControl)}
        for name, allowed in self.ranges(checked):
            if name in ints:
                last = values[name] is None and ints[name].none_is_last
                checked[name] = allowed.high if last else allowed.check(values[name], name)
        unranged = set(ints) - set(checked)
        if unranged:
            raise NotImplementedError(f"{type(self).__name__}.ranges gives no range for {', '.join(sorted(unranged))}")
        return checked

    def sync(self) -> None:
        """Bring every int control into its range, in the order of :meth:`ranges` (runs with redraws held)."""
        values = self.values
        specs = {spec.name: spec for spec in self.CONTROLS if isinstance(spec, IntControl)}
        for name, allowed in self.ranges(values):
            spec = specs.get(name)
            if spec is None:
                continue
            slider = getattr(self, name)
            wanted = slider.value
            if spec.follows_choice:
                if slider.value != self._synced[name]:  # the student moved it: that is the value to come back to
                    self._chosen[name] = slider.value
                wanted = self._chosen[name]
            _set_range(slider, allowed, allowed.nearest(wanted))
            values[name] = slider.value
            if spec.follows_choice:
                self._synced[name] = slider.value

    # ---- the machinery -------------------------------------------------------------------
    def close(self) -> None:
        """Close the explorer and every widget it made (the controls, the boxes, the image, the caption, and
        their ``layout`` and ``style`` widgets), and let its figure go.

        ipywidgets keeps every open widget alive, in the kernel, until it is closed: an explorer whose cell
        is run again stays in memory with its figure and that figure's kept layouts and chrome (up to
        :data:`~swin_viz.figures.CHROME_CACHE_BYTES`). ``explorer.close()`` frees them.
        """
        # ipywidgets also calls this from __del__, on an explorer whose construction may have failed half-way
        pending = getattr(self, "_pending", None)
        if pending is not None:
            pending.cancel()
            self._pending = None
        if getattr(self, "_open", False):  # else closed already, or it made no widget (it refused its arguments)
            self._open = False
            for control in self.controls:  # a control still referenced elsewhere no longer keeps the explorer alive
                control.unobserve(self._on_change, names="value")
            for widget in _made_by(self):
                widget.close()
        self.figure = None
        super().close()

    def __repr__(self) -> str:  # the text/plain shown beside the widget: stable, short
        return f"{type(self).__name__}({self.title!r}, {self.describe_settings()})"

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """IPython's rich display protocol: the live widget, its picture as ``image/png`` and its repr.

        JupyterLab and Voilà show the widget view; a page that cannot run widgets (a code host, nbviewer, a
        notebook not yet trusted) shows the picture the explorer drew first, and nbval compares the text.
        """
        bundle: dict[str, Any] = {
            "text/plain": repr(self),
            # the widget-view reference as ipywidgets 8 writes it (mime type version 2.0)
            "application/vnd.jupyter.widget-view+json": {"version_major": 2, "version_minor": 0, "model_id": self.model_id},
        }
        if self.image.value:
            bundle["image/png"] = base64.b64encode(stored_picture(self.image.value)).decode("ascii")
        return bundle

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        self._holding = True
        try:
            yield
        finally:
            self._holding = False

    def _on_change(self, change: dict) -> None:
        if self._holding:
            return
        with self._hold():
            self.sync()
        self._request_redraw()

    def _request_redraw(self) -> None:
        """Redraw now, or, in a kernel while the last redraw is recent, once at the end of :data:`REDRAW_INTERVAL`."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:  # no loop (a script, a test): draw before the assignment returns
            self.redraw()
            return
        if self._pending is not None:  # a redraw is coming: it will read the controls as they are then
            return
        wait = self._last_draw_end + REDRAW_INTERVAL - time.monotonic()
        if wait <= 0:
            self.redraw()
        else:
            self._pending = loop.call_later(wait, self._scheduled_redraw)

    def _scheduled_redraw(self) -> None:
        self._pending = None
        self.redraw()

    def redraw(self) -> None:
        """Draw the figure for the current controls into :attr:`figure`, :attr:`image` and :attr:`caption`, now."""
        if self._pending is not None:  # this draw serves the scheduled one too
            self._pending.cancel()
            self._pending = None
        try:
            with collector_paused():
                self._draw_and_show()
        finally:
            for listener in list(self.redraw_listeners):
                listener()

    def _draw_and_show(self) -> None:
        try:
            with one_thread():
                figure = self.draw(self.figure if self._reuse_figure else None)
                description = self.describe()
            png = figure.to_png(dpi=explorer_dpi(figure), compress_level=EXPLORER_PNG_COMPRESSION)
        except Exception as error:  # never a traceback in the page: say what went wrong instead
            self._reuse_figure = False  # the figure may be half-drawn: start the next one afresh
            self.caption.value = (
                f"<span style='color:#d62728'>Cannot draw {html.escape(self.describe_settings())}: "
                f"{html.escape(str(error))}</span>"
            )
            return
        finally:
            self._last_draw_end = time.monotonic()
        self.figure = figure
        self._reuse_figure = True
        self.draw_count += 1
        self.caption.value = html.escape(description)
        self.image.value = png  # last: the picture is what a redraw is for (the benchmark's stopwatch stops here)


def stored_picture(png: bytes) -> bytes:
    """``png`` with its colours reduced to a 256-colour palette: what a notebook stores beside the widget.

    The explorers' figures use a few flat colours and grey text, so the palette keeps them as drawn while the
    stored file shrinks to about a third (the live widget still gets the full picture).
    """
    out = io.BytesIO()
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(out, format="png", optimize=True)
    return out.getvalue()


def _set_range(slider: widgets.IntSlider, allowed: Range, value: int) -> None:
    """Move a slider to ``allowed`` and ``value`` (in it), never passing through min > max."""
    with slider.hold_sync():  # one message to the page: it never sees (and echoes back) a half-moved slider
        slider.max = max(allowed.high, slider.max)
        slider.min = min(allowed.low, slider.min)
        slider.step = allowed.step
        slider.value = value
        slider.min = allowed.low
        slider.max = allowed.high


def _made_by(explorer: Explorer) -> list[widgets.Widget]:
    """Every widget inside ``explorer`` (not itself): its children, theirs, and each one's ``layout`` and ``style``."""
    found: list[widgets.Widget] = []
    seen = {id(explorer)}
    stack: list[widgets.Widget] = [*explorer.children, explorer.layout]
    while stack:
        widget = stack.pop()
        if id(widget) in seen:
            continue
        seen.add(id(widget))
        found.append(widget)
        stack.extend(getattr(widget, "children", ()))
        for part in (getattr(widget, "layout", None), getattr(widget, "style", None)):
            if isinstance(part, widgets.Widget):
                stack.append(part)
    return found


# --------------------------------------------------------------------------- #
# Redrawing fast                                                              #
# --------------------------------------------------------------------------- #
@contextlib.contextmanager
def one_thread() -> Iterator[None]:
    """Run torch on one thread: an explorer's tensors are a few thousand numbers, for which waking torch's
    thread pool costs more than it saves (ten times more on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def explorer_dpi(figure: LabFigure) -> float:
    """The figure's resolution in an explorer: ``figures.DPI``, lowered so that it is at most :data:`EXPLORER_MAX_WIDTH` pixels wide."""
    return min(float(figures.DPI), EXPLORER_MAX_WIDTH / float(figure.get_size_inches()[0]))


@contextlib.contextmanager
def collector_paused() -> Iterator[None]:
    """Within: no automatic garbage collection (``gc.disable``). A collection that falls due during a redraw runs
    after it, between redraws, instead of adding its pause to the change being drawn. A collector someone else
    switched off stays off."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def freeze_imported_objects() -> int:
    """Collect once, then leave every object alive now out of the cyclic collector's scans (``gc.freeze``).

    Nothing calls this on import: it acts on the whole process, so a program that wants it calls it once, after
    its imports (the redraw benchmark does). A full ("generation 2") collection walks every object the collector
    tracks: with torch, matplotlib and ipywidgets imported and an explorer open that is about 240,000 objects and
    70-130 ms here (1 ms once they are frozen). Python runs one only when the objects made since the last one
    reach a quarter of those it already holds, so in a notebook it is rare (none in 300 slider changes of a
    56 x 56 pipeline explorer), but when it comes it lands between two redraws of a drag. Objects made later are
    collected as usual; an object frozen here that later becomes part of an unreachable cycle is not collected
    while frozen (``gc.unfreeze()`` undoes it). Returns how many objects are frozen.
    """
    gc.collect()
    gc.freeze()
    return gc.get_freeze_count()
