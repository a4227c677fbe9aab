"""The explorers: ipywidgets sliders wired to the figures of :mod:`swin_viz.figures`.

Every explorer is a :class:`StageExplorer`: sliders for the feature-map height
and width, the window ``M`` and the shift ``s`` (plus a window picker ``k``
and a query picker ``i`` where a stage shows one window or one token), a caption
with the layout's numbers, and the stage's figure as a PNG.

The sliders follow each other so that no position is invalid: the shift stays
in ``[0, M)``, height and width stay multiples of ``M`` (they step by ``M``
and are rounded to a multiple when ``M`` changes), and the window and query
pickers stay below ``nW`` and ``N``. A stage is drawn once per change, after
all the sliders have been brought into line.

Redraws are cheap and live: the explorer keeps one figure and redraws into it
(see "Retained mode" in :mod:`swin_viz.figures`), renders it at most
:data:`EXPLORER_MAX_WIDTH` pixels wide with fast PNG compression, computes its
tensors on one torch thread (:func:`_one_thread`), and the sliders report while
they are dragged. In a kernel (an asyncio loop is running) a change is drawn at
once if the last redraw finished at least :data:`REDRAW_INTERVAL` seconds ago;
changes that come sooner are coalesced into one redraw of the latest position,
scheduled with ``loop.call_later`` for the end of that interval. So a click or
an arrow key redraws immediately, a drag redraws a few times a second, and the
position where the handle stops is always drawn. With no loop running (a script,
a test) every change is drawn before the assignment returns. No garbage collection
runs inside a redraw (:func:`_collector_paused`), and what is alive when this
module is imported (torch, matplotlib, ipywidgets ...) is left out of the
collector's scans (:func:`_freeze_imported_objects`), so a full collection, when
it falls due between redraws, is short.

Each ``*_explorer`` function returns a ready explorer; :data:`STAGES` lists
them by name, for tests and for building pages of explorers.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import html
import time
from dataclasses import dataclass
from typing import Callable, Iterator, Sequence

import ipywidgets as widgets
import torch

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import (
    attention_mask,
    cyclic_shift,
    label_difference,
    masked_window_softmax,
    region_labels,
    token_origins,
    validate_layout,
    window_labels,
    window_partition,
)

__all__ = [
    "Settings",
    "Stage",
    "Explorer",
    "StageExplorer",
    "STAGES",
    "explorer",
    "cyclic_shift_explorer",
    "region_labels_explorer",
    "window_partition_explorer",
    "window_rows_explorer",
    "broadcast_explorer",
    "label_difference_explorer",
    "window_masks_explorer",
    "leak_explorer",
    "qk_alignment_explorer",
    "attention_weights_explorer",
    "pipeline_explorer",
]

#: Window sizes the window slider offers.
WINDOW_RANGE = (2, 8)
#: Most windows along one side; the size sliders stop at ``M * MAX_WINDOWS``.
MAX_WINDOWS = 8
#: Seed of the example attention scores drawn by the weight figures.
SCORE_SEED = 0
#: Widest explorer picture in pixels: a wider figure is rendered at a lower resolution than the notebooks'
#: ``figures.DPI`` (a notebook column shows about this many pixels; more would only be scaled down).
EXPLORER_MAX_WIDTH = 1200
#: zlib level of the explorers' PNG: 1 encodes about twice as fast as the default 6, for a few % more bytes.
EXPLORER_PNG_COMPRESSION = 1
#: Seconds between the end of one redraw and the start of the next while a slider is dragged.
REDRAW_INTERVAL = 0.06


@dataclass(frozen=True)
class Settings:
    """One position of the sliders: a square window ``M`` and shift ``s`` on an ``H x W`` map.

    ``window_index`` is the window ``k`` a stage shows (``0 <= k < nW``) and
    ``query`` the query token ``i`` (``0 <= i < N``).
    """

    height: int = 9
    width: int = 9
    window: int = 3
    shift: int = 1
    window_index: int = 8
    query: int = 8

    @property
    def n_windows(self) -> int:
        """``nW = (H // M) * (W // M)``."""
        return (self.height // self.window) * (self.width // self.window)

    @property
    def n_tokens(self) -> int:
        """``N = M * M``."""
        return self.window * self.window

    def __str__(self) -> str:
        return f"H={self.height}, W={self.width}, M={self.window}, s={self.shift}"


# --------------------------------------------------------------------------- #
# What each stage draws: tensors from swin_viz.tensors, pictures from figures #
# --------------------------------------------------------------------------- #
def _example_scores(settings: Settings) -> torch.Tensor:
    """Seeded example scores ``[nW, 1, N, N]`` (one image, one head)."""
    generator = torch.Generator().manual_seed(SCORE_SEED)
    return torch.randn(settings.n_windows, 1, settings.n_tokens, settings.n_tokens, generator=generator)


def _draw_cyclic_shift(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    x = torch.arange(settings.height * settings.width).view(settings.height, settings.width)
    labels = region_labels(settings.height, settings.width, settings.window, settings.shift)
    return figures.plot_cyclic_shift(x, cyclic_shift(x, settings.shift), labels, settings.shift, settings.window, figure=figure)


def _draw_region_labels(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    labels = region_labels(settings.height, settings.width, settings.window, settings.shift)
    return figures.plot_region_labels(labels, settings.window, settings.shift, figure=figure)


def _draw_window_partition(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    img_mask = region_labels(settings.height, settings.width, settings.window, settings.shift)
    windows = window_partition(img_mask.view(1, settings.height, settings.width, 1), settings.window)
    return figures.plot_window_partition(windows, settings.height, settings.width, figure=figure)


def _windows_of(settings: Settings) -> torch.Tensor:
    return window_labels(settings.height, settings.width, settings.window, settings.shift)


def _draw_window_rows(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    return figures.plot_window_rows(_windows_of(settings), highlight=settings.window_index, figure=figure)


def _draw_broadcast(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    return figures.plot_broadcast_operands(_windows_of(settings)[settings.window_index], figure=figure)


@functools.lru_cache(maxsize=16)
def _layout_mask(height: int, width: int, window: int, shift: int) -> torch.Tensor:
    return attention_mask(height, width, window, shift)


def _mask_of(settings: Settings) -> torch.Tensor:
    """The ``[nW, N, N]`` mask of the sliders' layout, built once per layout (the figure and the caption
    both read it, and moving a picker keeps it). Shared: read it, never modify it in place."""
    return _layout_mask(settings.height, settings.width, settings.window, settings.shift)


def _draw_label_difference(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    mask_windows = _windows_of(settings)
    k = settings.window_index
    return figures.plot_label_difference(label_difference(mask_windows)[k], _mask_of(settings)[k], mask_windows[k], figure=figure)


def _draw_window_masks(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    return figures.plot_window_masks(_mask_of(settings), settings.width // settings.window, figure=figure)


def _draw_leak(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    k, i = settings.window_index, settings.query
    equal_scores = torch.zeros(settings.n_windows, 1, settings.n_tokens, settings.n_tokens)
    unmasked = masked_window_softmax(equal_scores, None)[k, 0, i]
    masked = masked_window_softmax(equal_scores, _mask_of(settings))[k, 0, i]
    origins = token_origins(settings.height, settings.width, settings.window, settings.shift)[k]
    return figures.plot_leak(origins, _windows_of(settings)[k], unmasked, masked, i, settings.height, settings.width, figure=figure)


def _draw_qk_alignment(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    k = settings.window_index
    return figures.plot_qk_alignment(_windows_of(settings)[k], _mask_of(settings)[k], figure=figure)


def _draw_attention_weights(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    k = settings.window_index
    scores = _example_scores(settings)
    weights = masked_window_softmax(scores, _mask_of(settings))[k, 0]
    unmasked = masked_window_softmax(scores, None)[k, 0]
    return figures.plot_attention_weights(weights, _windows_of(settings)[k], unmasked=unmasked, figure=figure)


def _draw_pipeline(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
    k = settings.window_index
    x = torch.arange(settings.height * settings.width).view(settings.height, settings.width)
    mask = _mask_of(settings)
    weights = masked_window_softmax(_example_scores(settings), mask)[k, 0]
    return figures.plot_pipeline(
        cyclic_shift(x, settings.shift),
        region_labels(settings.height, settings.width, settings.window, settings.shift),
        _windows_of(settings),
        mask[k],
        weights,
        settings.window,
        settings.shift,
        k,
        figure=figure,
    )


@dataclass(frozen=True)
class Stage:
    """A stage an explorer can show: its title, its drawing and which pickers it needs.

    ``draw(settings, figure=None)`` returns the stage's :class:`~swin_viz.figures.LabFigure`
    for ``settings``. Given ``figure`` (the one it returned last time), it redraws into it
    with the ``plot_*(..., figure=figure)`` of :mod:`swin_viz.figures` (the retained-mode
    pattern described there) and returns it, so that a slider change builds nothing new.
    """

    title: str
    draw: Callable[..., LabFigure]
    pick_window: bool = False
    pick_query: bool = False


#: Every stage, by name, in reading order.
STAGES: dict[str, Stage] = {
    "cyclic_shift": Stage("1. Cyclic shift", _draw_cyclic_shift),
    "region_labels": Stage("2. Region labels", _draw_region_labels),
    "window_partition": Stage("3. Window partition", _draw_window_partition),
    "window_rows": Stage("3. Windows as rows", _draw_window_rows, pick_window=True),
    "broadcast": Stage("4. Broadcast operands", _draw_broadcast, pick_window=True),
    "label_difference": Stage("4. Difference and mask", _draw_label_difference, pick_window=True),
    "window_masks": Stage("4. Every window's mask", _draw_window_masks),
    "leak": Stage("5. Why it matters: the leak", _draw_leak, pick_window=True, pick_query=True),
    "qk_alignment": Stage("5. Q·Kᵀ lines up with the mask", _draw_qk_alignment, pick_window=True),
    "attention_weights": Stage("5. Softmax weights", _draw_attention_weights, pick_window=True),
    "pipeline": Stage("All stages", _draw_pipeline, pick_window=True),
}


# --------------------------------------------------------------------------- #
# The explorer widget                                                         #
# --------------------------------------------------------------------------- #
def _slider(description: str, value: int, low: int, high: int, step: int = 1, *, live: bool = True) -> widgets.IntSlider:
    """An ``IntSlider`` of the explorers' look; ``live`` sliders report while dragged (the explorer coalesces the
    changes, :data:`REDRAW_INTERVAL`), the others when the handle is released."""
    return widgets.IntSlider(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=live,
        style={"description_width": "90px"},
        layout=widgets.Layout(width="340px"),
    )


def _set_range(slider: widgets.IntSlider, low: int, high: int, value: int, step: int = 1) -> None:
    """Move a slider to ``[low, high]`` by ``step`` and a value in it, never passing through min > max."""
    value = min(max(value, low), high)
    with slider.hold_sync():  # one message to the page: it never sees (and echoes back) a half-moved slider
        slider.max = max(high, slider.max)
        slider.min = min(low, slider.min)
        slider.step = step
        slider.value = value
        slider.min = low
        slider.max = high


class _SizesFollowWindow:
    """Height and width sliders kept at multiples of the window ``M`` (at most :data:`MAX_WINDOWS` windows a side).

    The sizes are re-rounded to each new window from the ones the student chose, not from the last rounding, so
    moving ``M`` through several values leaves them where a single step would. A change of the sizes that is not the
    last rounding (the student moved a size slider) becomes the new choice.
    """

    def __init__(self, height: widgets.IntSlider, width: widgets.IntSlider) -> None:
        self.sliders = (height, width)
        self.wanted = self.synced = (height.value, width.value)

    def sync(self, window: int) -> None:
        """Round both sizes to multiples of ``window``, from the sizes the student chose."""
        sizes = tuple(slider.value for slider in self.sliders)
        if sizes != self.synced:
            self.wanted = sizes
        for slider, wanted in zip(self.sliders, self.wanted):
            _set_range(slider, window, window * MAX_WINDOWS, window * max(1, round(wanted / window)), step=window)
        self.synced = tuple(slider.value for slider in self.sliders)


class Explorer(widgets.VBox):
    """Controls wired to one retained figure: the base of every explorer.

    A subclass creates its control widgets (as attributes), then calls
    ``super().__init__(title, controls)``, and overrides :meth:`draw` (and
    usually :meth:`sync`, :meth:`describe` and :meth:`describe_settings`). The
    base lays out the title, the controls (two per column), the caption and the
    image, observes every control's ``value``, and draws once, synchronously.

    On a change the controls are first brought into line (:meth:`sync`, with
    redraws held, so one change is one redraw), then the figure is redrawn into
    the same :class:`~swin_viz.figures.LabFigure` (the retained mode of
    :mod:`swin_viz.figures`). In a kernel a drag is coalesced: a change is drawn
    at once if the last redraw ended at least :data:`REDRAW_INTERVAL` seconds
    ago, otherwise once at the end of that interval with the latest values.
    With no event loop running (a script, a test) every change is drawn before
    the assignment returns. A drawing error goes into the caption, in red, and
    never becomes a traceback in the page.

    Attributes:
        title: the bold line above the controls.
        controls: the control widgets, in layout order.
        image: the ``Image`` widget showing the figure as PNG.
        caption: an ``HTML`` line: :meth:`describe`, or the error if drawing failed.
        figure: the :class:`~swin_viz.figures.LabFigure` drawn into (the same one across redraws).
        draw_count: how many times the figure has been drawn.
    """

    def __init__(self, title: str, controls: Sequence[widgets.Widget]) -> None:
        self.title = title
        self.controls = list(controls)
        self.figure: LabFigure | None = None
        self.draw_count = 0
        self._holding = False
        self._reuse_figure = False  # False until a draw succeeded (and after a failed one): draw a fresh figure
        self._pending: asyncio.TimerHandle | None = None  # a redraw scheduled by _request_redraw
        self._last_draw_end = float("-inf")  # time.monotonic() when the last redraw finished
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%", height="auto"))
        self.caption = widgets.HTML()
        for control in self.controls:
            control.observe(self._on_change, names="value")
        columns = [widgets.VBox(self.controls[i : i + 2]) for i in range(0, len(self.controls), 2)]
        box = widgets.HBox(columns, layout=widgets.Layout(flex_flow="row wrap"))
        super().__init__([widgets.HTML(f"<b>{html.escape(title)}</b>"), box, self.caption, self.image])
        self.redraw()

    # ---- what a subclass overrides ------------------------------------------------
    def sync(self) -> None:
        """Bring the controls into line with each other (ranges, steps); runs with redraws held."""

    def draw(self, figure: LabFigure | None) -> LabFigure:
        """Compute from the controls' values and return ``plot_*(..., figure=figure)``."""
        raise NotImplementedError(f"{type(self).__name__} must define draw(figure)")

    def describe(self) -> str:
        """One line of plain text for the caption (escaped by the base)."""
        return ""

    def describe_settings(self) -> str:
        """A short, stable text of the control values (used by the repr and by error captions)."""
        return ", ".join(f"{c.description}={c.value}" for c in self.controls if hasattr(c, "value"))

    # ---- the machinery -------------------------------------------------------------
    def close(self) -> None:
        """Close the explorer and every widget in it (its controls are all laid out in it), and let its figure go.

        ipywidgets keeps every open widget alive, in the kernel, until it is closed: an explorer whose cell
        is run again stays in memory with its figure and that figure's kept layouts and chrome (up to
        :data:`~swin_viz.figures.CHROME_CACHE_BYTES`). ``explorer.close()`` frees them.
        """
        # ipywidgets also calls this from __del__, on an explorer whose construction may have failed half-way
        pending = getattr(self, "_pending", None)
        if pending is not None:
            pending.cancel()
            self._pending = None
        stack: list[widgets.Widget] = list(self.children)
        while stack:
            widget = stack.pop()
            stack.extend(getattr(widget, "children", ()))
            widget.close()
        self.figure = None
        super().close()

    def __repr__(self) -> str:  # the text/plain shown beside the widget: stable, short
        return f"{type(self).__name__}({self.title!r}, {self.describe_settings()})"

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
        with _collector_paused():
            self._redraw()

    def _redraw(self) -> None:
        try:
            with _one_thread():
                figure = self.draw(self.figure if self._reuse_figure else None)
                description = self.describe()
            png = figure.to_png(dpi=_explorer_dpi(figure), compress_level=EXPLORER_PNG_COMPRESSION)
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


class StageExplorer(Explorer):
    """Sliders wired to one stage's figure: ``H``, ``W``, ``M``, ``s`` and, where the stage needs them, ``k`` and ``i``.

    Attributes (besides those of :class:`Explorer`):
        stage: the :class:`Stage` drawn.
        height, width, window, shift: the layout sliders.
        window_index, query: the pickers, or ``None`` if the stage has none.
    """

    def __init__(self, stage: Stage, settings: Settings | None = None) -> None:
        settings = settings or Settings()
        window, shift = validate_layout(settings.height, settings.width, settings.window, settings.shift)
        if window[0] != window[1] or shift[0] != shift[1]:
            raise ValueError("the explorers use a square window and shift: give window and shift as single ints")
        low, high = WINDOW_RANGE
        if not low <= settings.window <= high:
            raise ValueError(f"window={settings.window} is outside the explorer's range [{low}, {high}]")
        if max(settings.height, settings.width) > settings.window * MAX_WINDOWS:
            raise ValueError(f"height and width must be at most {MAX_WINDOWS} windows (M * {MAX_WINDOWS}) in the explorer")
        self.stage = stage
        m = settings.window
        self.height = _slider("height H", settings.height, m, m * MAX_WINDOWS, step=m)
        self.width = _slider("width W", settings.width, m, m * MAX_WINDOWS, step=m)
        # M re-rounds the sizes and re-ranges every other slider: it reports once, when the handle is released
        self.window = _slider("window M", m, low, high, live=False)
        self.shift = _slider("shift s", settings.shift, 0, m - 1)
        self.window_index = (
            _slider("window k", min(settings.window_index, settings.n_windows - 1), 0, settings.n_windows - 1)
            if stage.pick_window
            else None
        )
        self.query = (
            _slider("query i", min(settings.query, settings.n_tokens - 1), 0, settings.n_tokens - 1) if stage.pick_query else None
        )
        self._sizes = _SizesFollowWindow(self.height, self.width)
        sliders = [s for s in (self.height, self.width, self.window, self.shift, self.window_index, self.query) if s]
        super().__init__(stage.title, sliders)

    @property
    def settings(self) -> Settings:
        """The :class:`Settings` the sliders show now (``layout`` is taken: it is ipywidgets' CSS layout)."""
        return Settings(
            height=self.height.value,
            width=self.width.value,
            window=self.window.value,
            shift=self.shift.value,
            window_index=self.window_index.value if self.window_index else 0,
            query=self.query.value if self.query else 0,
        )

    def describe_settings(self) -> str:
        return str(self.settings)

    def sync(self) -> None:
        """Bring every slider into line with the window slider."""
        m = self.window.value
        self._sizes.sync(m)
        _set_range(self.shift, 0, m - 1, self.shift.value)
        values = self.settings
        if self.window_index is not None:
            _set_range(self.window_index, 0, values.n_windows - 1, self.window_index.value)
        if self.query is not None:
            _set_range(self.query, 0, values.n_tokens - 1, self.query.value)

    def draw(self, figure: LabFigure | None) -> LabFigure:
        return self.stage.draw(self.settings, figure=figure)

    def describe(self) -> str:
        return _describe(self.settings)


@contextlib.contextmanager
def _one_thread() -> Iterator[None]:
    """Run torch on one thread: an explorer's tensors are a few thousand numbers, for which waking torch's
    thread pool costs more than it saves (ten times more on a busy 2-core machine)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def _explorer_dpi(figure: LabFigure) -> float:
    """The figure's resolution in an explorer: ``figures.DPI``, lowered so that it is at most :data:`EXPLORER_MAX_WIDTH` pixels wide."""
    return min(float(figures.DPI), EXPLORER_MAX_WIDTH / float(figure.get_size_inches()[0]))


def _describe(settings: Settings) -> str:
    mask = _mask_of(settings)
    mixed = (mask != 0).flatten(1).any(dim=1).nonzero().flatten().tolist()
    masked = ", ".join(map(str, mixed)) if mixed else "none"
    return (
        f"{settings}: nW={settings.n_windows} windows of N={settings.n_tokens} tokens; windows that need a mask: {masked}"
    )


def explorer(stage: str, **settings: int) -> StageExplorer:
    """An explorer for the stage named ``stage`` (a key of :data:`STAGES`), starting at ``settings``.

    Raises ``ValueError`` naming the stages if ``stage`` is unknown.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}; got {stage!r}")
    unknown = set(settings) - set(Settings.__dataclass_fields__)
    if unknown:
        raise TypeError(f"unknown explorer argument(s) {', '.join(sorted(unknown))}: use {', '.join(Settings.__dataclass_fields__)}")
    for name, value in settings.items():
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int (the explorers use a square window and shift), got {value!r}")
    start = Settings(**{name: value for name, value in settings.items() if name not in ("window_index", "query")})
    validate_layout(start.height, start.width, start.window, start.shift)
    # by default show the last window (the corner one, which holds the most regions) and its last token
    picks = {"window_index": start.n_windows - 1, "query": start.n_tokens - 1}
    picks.update({name: settings[name] for name in ("window_index", "query") if name in settings})
    return StageExplorer(STAGES[stage], Settings(**{**start.__dict__, **picks}))


def cyclic_shift_explorer(**settings: int) -> StageExplorer:
    """Sliders for H, W, M, s over :func:`~swin_viz.figures.plot_cyclic_shift` (stage 1)."""
    return explorer("cyclic_shift", **settings)


def region_labels_explorer(**settings: int) -> StageExplorer:
    """Sliders over :func:`~swin_viz.figures.plot_region_labels` (stage 2)."""
    return explorer("region_labels", **settings)


def window_partition_explorer(**settings: int) -> StageExplorer:
    """Sliders over :func:`~swin_viz.figures.plot_window_partition` (stage 3)."""
    return explorer("window_partition", **settings)


def window_rows_explorer(**settings: int) -> StageExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_window_rows` (stage 3)."""
    return explorer("window_rows", **settings)


def broadcast_explorer(**settings: int) -> StageExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_broadcast_operands` (stage 4)."""
    return explorer("broadcast", **settings)


def label_difference_explorer(**settings: int) -> StageExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_label_difference` (stage 4)."""
    return explorer("label_difference", **settings)


def window_masks_explorer(**settings: int) -> StageExplorer:
    """Sliders over :func:`~swin_viz.figures.plot_window_masks` (stage 4)."""
    return explorer("window_masks", **settings)


def leak_explorer(**settings: int) -> StageExplorer:
    """Sliders, a window and a query picker over :func:`~swin_viz.figures.plot_leak` (stage 5)."""
    return explorer("leak", **settings)


def qk_alignment_explorer(**settings: int) -> StageExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_qk_alignment` (stage 5)."""
    return explorer("qk_alignment", **settings)


def attention_weights_explorer(**settings: int) -> StageExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_attention_weights` (stage 5)."""
    return explorer("attention_weights", **settings)


def pipeline_explorer(**settings: int) -> StageExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_pipeline` (all stages)."""
    return explorer("pipeline", **settings)


# --------------------------------------------------------------------------- #
# Notebook 06 · the full block: the leak with the mask on and off             #
# --------------------------------------------------------------------------- #
from typing import NamedTuple  # noqa: E402 -- this section's imports stay in it, so the sections merge cleanly

from swin_viz.block import (  # noqa: E402
    BlockStages,
    WindowAttentionWeights,
    leaked_attention,
    seam_neighbours,
    shifted_window_attention,
)
from swin_viz.tensors import as_pair  # noqa: E402

__all__ += ["BlockLeakExplorer", "block_leak_explorer"]  # this notebook's names, kept with its section

#: Channels ``C``, heads and seed of the block the explorer runs: notebook 06's running example.
BLOCK_CHANNELS = 4
BLOCK_HEADS = 2
BLOCK_SEED = 0


class _BlockLayout(NamedTuple):
    """Where the tokens of one layout go (see :func:`_block_layout`)."""

    origins: torch.Tensor  # [nW, N, 2] token_origins
    neighbours: torch.Tensor  # [nW, N, N] seam_neighbours
    place: torch.Tensor  # [H, W, 2]: window k and slot i of the token that starts at (row, col)


@functools.lru_cache(maxsize=16)
def _block_layout(height: int, width: int, window: int, shift: int) -> _BlockLayout:
    """The layout's :func:`~swin_viz.tensors.token_origins`, :func:`~swin_viz.block.seam_neighbours`, and their inverse."""
    origins = token_origins(height, width, window, shift)
    n_windows, n_tokens = origins.shape[:2]
    place = torch.empty(height, width, 2, dtype=torch.long)
    slots = torch.stack(torch.meshgrid(torch.arange(n_windows), torch.arange(n_tokens), indexing="ij"), dim=-1)
    place[origins[..., 0], origins[..., 1]] = slots
    return _BlockLayout(origins, seam_neighbours(height, width, window, shift), place)


@functools.lru_cache(maxsize=16)
def _block_run(height: int, width: int, window: int, shift: int, use_mask: bool) -> tuple[BlockStages, torch.Tensor]:
    """Notebook 06's block (seeded weights and input, float64) on an ``H x W`` layout: its stages and its
    ``[heads, H, W]`` :func:`~swin_viz.block.leaked_attention`.

    Cached per layout and mask state, so moving the head or the query, or toggling back, recomputes nothing.
    Shared: read the tensors, never modify them in place.
    """
    weights = WindowAttentionWeights.random(BLOCK_CHANNELS, BLOCK_HEADS, window, seed=BLOCK_SEED)
    generator = torch.Generator().manual_seed(BLOCK_SEED)
    x = torch.randn(1, height, width, BLOCK_CHANNELS, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        _, stages = shifted_window_attention(x, weights, BLOCK_HEADS, window, shift, use_mask=use_mask, return_stages=True)
        leak = leaked_attention(x, weights, BLOCK_HEADS, window, shift, use_mask=use_mask)[0]
    return stages, leak


def _toggle(options: list[tuple[str, object]], value: object, description: str) -> widgets.ToggleButtons:
    return widgets.ToggleButtons(
        options=options, value=value, description=description, style={"description_width": "90px", "button_width": "80px"}
    )


class BlockLeakExplorer(Explorer):
    """The block's leak on the original map, with the mask on or off, and where one query's attention goes.

    Runs :func:`~swin_viz.block.shifted_window_attention` with notebook 06's
    seeded weights and input (``C`` = :data:`BLOCK_CHANNELS`, :data:`BLOCK_HEADS`
    heads, float64) and draws :func:`~swin_viz.figures.plot_block_leak`.

    Attributes:
        height, width, window, shift: the layout sliders (sizes step by ``M``, ``0 <= s < M``).
        use_mask: ``ToggleButtons``, ``True`` (mask on) or ``False`` (off).
        head: ``ToggleButtons``, the head drawn.
        query_row, query_col: the query's place on the original map.
    """

    def __init__(self, height: int, width: int, window: int, shift: int, use_mask: bool, head: int, query: tuple[int, int]) -> None:
        low, high = WINDOW_RANGE
        self.height = _slider("height H", height, window, window * MAX_WINDOWS, step=window)
        self.width = _slider("width W", width, window, window * MAX_WINDOWS, step=window)
        self.window = _slider("window M", window, low, high, live=False)
        self.shift = _slider("shift s", shift, 0, window - 1)
        self.use_mask = _toggle([("mask on", True), ("mask off", False)], use_mask, "mask")
        self.head = _toggle([(f"head {h}", h) for h in range(BLOCK_HEADS)], head, "head")
        self.query_row = _slider("query row", query[0], 0, height - 1)
        self.query_col = _slider("query col", query[1], 0, width - 1)
        self._sizes = _SizesFollowWindow(self.height, self.width)
        controls = [self.height, self.width, self.window, self.shift, self.use_mask, self.head, self.query_row, self.query_col]
        super().__init__("6. The full block: what crosses a seam, mask on and off", controls)

    def sync(self) -> None:
        """Sizes to multiples of ``M`` (at most :data:`MAX_WINDOWS` windows), ``s < M``, the query inside the map."""
        m = self.window.value
        self._sizes.sync(m)
        _set_range(self.shift, 0, m - 1, self.shift.value)
        _set_range(self.query_row, 0, self.height.value - 1, self.query_row.value)
        _set_range(self.query_col, 0, self.width.value - 1, self.query_col.value)

    def _selection(self) -> tuple[_BlockLayout, BlockStages, torch.Tensor, int, int]:
        """The layout, the run's stages and ``[heads, H, W]`` leak, and the query's window ``k`` and slot ``i``."""
        layout = (self.height.value, self.width.value, self.window.value, self.shift.value)
        where = _block_layout(*layout)
        stages, leak = _block_run(*layout, self.use_mask.value)
        k, i = where.place[self.query_row.value, self.query_col.value].tolist()
        return where, stages, leak, k, i

    def draw(self, figure: LabFigure | None) -> LabFigure:
        where, stages, leak, k, i = self._selection()
        use_mask, head = self.use_mask.value, self.head.value
        return figures.plot_block_leak(
            leak[head],
            where.origins[k],
            stages["weights"][k, head, i],
            ~where.neighbours[k, i],
            i,
            self.window.value,
            self.shift.value,
            use_mask=use_mask,
            head=head,
            figure=figure,
        )

    def describe(self) -> str:
        _, _, leaks, k, i = self._selection()
        leak = leaks[self.head.value]
        leaking = int((leak > 0).sum())
        query_leak = float(leak[self.query_row.value, self.query_col.value])
        mean = float(leak[leak > 0].mean()) if leaking else 0.0
        return (
            f"{self.describe_settings()}: {leaking} of {leak.numel()} queries put weight across a seam "
            f"(mean {mean:.3g}, largest {float(leak.max()):.3g}); the query is token {i} of window {k} "
            f"and puts {query_leak:.3g} of its attention across a seam"
        )

    def describe_settings(self) -> str:
        return (
            f"H={self.height.value}, W={self.width.value}, M={self.window.value}, s={self.shift.value}, "
            f"mask {'on' if self.use_mask.value else 'off'}, head {self.head.value}, "
            f"query ({self.query_row.value}, {self.query_col.value})"
        )


def block_leak_explorer(
    *,
    height: int = 9,
    width: int = 9,
    window: int = 3,
    shift: int = 1,
    use_mask: bool = True,
    head: int = 0,
    query: tuple[int, int] = (0, 0),
) -> BlockLeakExplorer:
    """Sliders for H, W, M, s, a mask on/off toggle, a head and a query over :func:`~swin_viz.figures.plot_block_leak`.

    Args:
        height, width: multiples of ``window``, at most ``window * MAX_WINDOWS``.
        window: ``M`` in :data:`WINDOW_RANGE`; shift: ``0 <= s < M``.
        use_mask: start with the mask on (``True``) or off.
        head: ``0 <= head < BLOCK_HEADS``.
        query: ``(row, col)`` on the ``H x W`` map.

    Raises ``TypeError``/``ValueError`` naming the argument for a start the sliders cannot show.
    """
    validate_layout(height, width, window, shift)
    low, high = WINDOW_RANGE
    if not low <= window <= high:
        raise ValueError(f"window={window} is outside the explorer's range [{low}, {high}]")
    if max(height, width) > window * MAX_WINDOWS:
        raise ValueError(f"height and width must be at most {MAX_WINDOWS} windows (M * {MAX_WINDOWS} = {window * MAX_WINDOWS}), "
                         f"got {height}x{width}")
    if not isinstance(use_mask, bool):
        raise TypeError(f"use_mask must be True or False, got {type(use_mask).__name__} {use_mask!r}")
    if isinstance(head, bool) or not isinstance(head, int) or not 0 <= head < BLOCK_HEADS:
        raise ValueError(f"head must be an int in [0, {BLOCK_HEADS}), got {head!r}")
    row, col = as_pair(query, "query")
    if not (0 <= row < height and 0 <= col < width):
        raise ValueError(f"query=({row}, {col}) must lie on the {height}x{width} map: 0 <= row < height, 0 <= col < width")
    return BlockLeakExplorer(height, width, window, shift, use_mask, head, (row, col))


# --------------------------------------------------------------------------- #
# Notebook 07 · real-world shapes: pad-then-roll against roll-then-pad        #
# --------------------------------------------------------------------------- #
from swin_viz.block import PAD_ORDERS, _window_origins, pair_relation  # noqa: E402  (kept in this section)
from swin_viz.tensors import IntPair, padded_size, window_reverse  # noqa: E402

__all__ += ["PAD_ORDER_MAX_SIZE", "PAD_ORDER_MAX_WINDOW", "PadOrderLayout", "pad_order_layout", "PadOrderExplorer", "pad_order_explorer"]

#: Largest feature-map height and width of :func:`pad_order_explorer` (any size from 1: every size is padded).
PAD_ORDER_MAX_SIZE = 24
#: Largest window height and width of :func:`pad_order_explorer`.
PAD_ORDER_MAX_WINDOW = 8


@dataclass(frozen=True)
class PadOrderLayout:
    """What :class:`PadOrderExplorer` draws for one layout and padding order (see :func:`pad_order_layout`).

    Attributes:
        token_ids: ``[Hp, Wp]`` the rolled, padded map this order partitions: ``row * W + col``, ``-1`` for padding.
        labels: ``[Hp, Wp]`` the mask's region labels, ``region_labels(H, W, window, shift, pad=True)``.
        leaked: ``[H, W]`` per query token, the keys the mask allows across a seam.
        blocked: ``[H, W]`` per query token, the same-side keys the mask forbids.
        padding_queries: how many real query tokens the mask lets attend to at least one padding token.
    """

    token_ids: torch.Tensor
    labels: torch.Tensor
    leaked: torch.Tensor
    blocked: torch.Tensor
    padding_queries: int


def pad_order_layout(height: int, width: int, window: IntPair, shift: IntPair, order: str) -> PadOrderLayout:
    """Compute :class:`PadOrderLayout` for an ``H x W`` map, padded in ``order`` (see :data:`~swin_viz.block.PAD_ORDERS`).

    The windows are those :func:`~swin_viz.block.pair_relation` uses for
    ``order``; ``leaked`` and ``blocked`` sum its relations per query, so
    their totals are :func:`~swin_viz.block.count_wrong_pairs`.

    Args:
        height, width: the unpadded ``H, W`` (any positive size; it is padded).
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        order: ``"pad-then-roll"`` or ``"roll-then-pad"``.
    """
    height_p, width_p = padded_size(height, width, window)
    window_hw, shift_hw = validate_layout(height, width, window, shift, pad=True)
    relation = pair_relation(height, width, window_hw, shift_hw, order=order)  # checks order
    origins, _ = _window_origins(height, width, window_hw, shift_hw, order)  # [nW, N, 2], -1 for padding
    ids = torch.where(origins[..., 0] >= 0, origins[..., 0] * width + origins[..., 1], -1)
    return PadOrderLayout(
        token_ids=window_reverse(ids.view(-1, *window_hw, 1), window_hw, height_p, width_p)[0, :, :, 0],
        labels=region_labels(height, width, window_hw, shift_hw, pad=True),
        leaked=(relation.allowed & ~relation.genuine).sum(1).view(height, width),
        blocked=(relation.genuine & ~relation.allowed).sum(1).view(height, width),
        padding_queries=_padding_queries(height, width, window_hw, shift_hw, order),
    )


def _padding_queries(height: int, width: int, window: tuple[int, int], shift: tuple[int, int], order: str) -> int:
    """How many real query tokens the mask lets attend to at least one padding token, in ``order``'s windows."""
    origins, _ = _window_origins(height, width, window, shift, order)  # [nW, N, 2], -1 for padding
    real = origins[..., 0] >= 0  # [nW, N]
    allowed = attention_mask(height, width, window, shift, pad=True) == 0  # [nW, N, N]
    return int(((allowed & ~real.unsqueeze(1)).any(-1) & real).sum())


class PadOrderExplorer(Explorer):
    """Sliders for the size, window and shift (each dimension on its own) and a toggle for the padding order.

    The figure is :func:`~swin_viz.figures.plot_pad_order`: the rolled, padded
    map the chosen order partitions, and the keys its mask gets wrong per query.
    Height and width run over ``1..PAD_ORDER_MAX_SIZE`` whatever the window
    (every size is padded); each shift stays below its window.

    Attributes:
        height, width, window_h, window_w, shift_h, shift_w: the sliders.
        order: ``ToggleButtons`` over :data:`~swin_viz.block.PAD_ORDERS`.
    """

    def __init__(
        self,
        height: int = 11,
        width: int = 8,
        window: IntPair = 3,
        shift: IntPair = 1,
        order: str = "roll-then-pad",
    ) -> None:
        window_hw, shift_hw = validate_layout(height, width, window, shift, pad=True)
        for name, value, high in (
            ("height", height, PAD_ORDER_MAX_SIZE),
            ("width", width, PAD_ORDER_MAX_SIZE),
            ("window_h", window_hw[0], PAD_ORDER_MAX_WINDOW),
            ("window_w", window_hw[1], PAD_ORDER_MAX_WINDOW),
        ):
            if value > high:
                raise ValueError(f"{name}={value} is outside the explorer's range [1, {high}]")
        if order not in PAD_ORDERS:
            raise ValueError(f"order must be one of {PAD_ORDERS}, got {order!r}")
        self.height = _slider("height H", height, 1, PAD_ORDER_MAX_SIZE)
        self.width = _slider("width W", width, 1, PAD_ORDER_MAX_SIZE)
        self.window_h = _slider("window Mh", window_hw[0], 1, PAD_ORDER_MAX_WINDOW)
        self.window_w = _slider("window Mw", window_hw[1], 1, PAD_ORDER_MAX_WINDOW)
        self.shift_h = _slider("shift sh", shift_hw[0], 0, window_hw[0] - 1)
        self.shift_w = _slider("shift sw", shift_hw[1], 0, window_hw[1] - 1)
        self.order = widgets.ToggleButtons(options=list(PAD_ORDERS), value=order, description="order")
        self.layout_data: PadOrderLayout | None = None
        controls = [self.height, self.width, self.window_h, self.window_w, self.shift_h, self.shift_w, self.order]
        super().__init__("Pad then roll, or roll then pad?", controls)

    @property
    def window(self) -> tuple[int, int]:
        """``(Mh, Mw)`` as the sliders show them."""
        return self.window_h.value, self.window_w.value

    @property
    def shift(self) -> tuple[int, int]:
        """``(sh, sw)`` as the sliders show them."""
        return self.shift_h.value, self.shift_w.value

    def sync(self) -> None:
        """Keep each shift below its window."""
        _set_range(self.shift_h, 0, self.window_h.value - 1, self.shift_h.value)
        _set_range(self.shift_w, 0, self.window_w.value - 1, self.shift_w.value)

    def draw(self, figure: LabFigure | None) -> LabFigure:
        """Compute :func:`pad_order_layout` and draw it with :func:`~swin_viz.figures.plot_pad_order`."""
        self.layout_data = data = pad_order_layout(self.height.value, self.width.value, self.window, self.shift, self.order.value)
        return figures.plot_pad_order(
            data.token_ids, data.labels, data.leaked, data.blocked, self.window, order=self.order.value, figure=figure
        )

    def describe(self) -> str:
        """The padded size and the counts: leaked and blocked pairs, and real queries that may attend to
        padding (in this order, and in the other one for comparison)."""
        data = self.layout_data
        if data is None:
            return self.describe_settings()
        height_p, width_p = data.labels.shape
        other = PAD_ORDERS[1 - PAD_ORDERS.index(self.order.value)]
        other_count = _padding_queries(self.height.value, self.width.value, self.window, self.shift, other)
        return (
            f"{self.order.value}: {self.height.value}x{self.width.value} padded to {height_p}x{width_p}, "
            f"window {self.window[0]}x{self.window[1]}, shift {self.shift}: "
            f"{int(data.leaked.sum())} leaked and {int(data.blocked.sum())} blocked (query, key) pairs of real tokens; "
            f"{data.padding_queries} real queries may attend to padding ({other}: {other_count})"
        )

    def describe_settings(self) -> str:
        """``H=.., W=.., window=(Mh, Mw), shift=(sh, sw), order=..``."""
        return (
            f"H={self.height.value}, W={self.width.value}, window={self.window}, shift={self.shift}, "
            f"order={self.order.value}"
        )


def pad_order_explorer(
    height: int = 11, width: int = 8, window: IntPair = 3, shift: IntPair = 1, order: str = "roll-then-pad"
) -> PadOrderExplorer:
    """Explore pad-then-roll against roll-then-pad (notebook 07): see :class:`PadOrderExplorer`."""
    return PadOrderExplorer(height, width, window, shift, order)


# --------------------------------------------------------------------------- #
# Notebook 08: numerics (what -100 leaves behind, in each dtype)              #
# --------------------------------------------------------------------------- #
import math  # noqa: E402 -- this section's imports stay in it, so the sections merge cleanly

from swin_viz.block import WindowAttentionWeights, shifted_window_attention  # noqa: E402
from swin_viz.numerics import Leak, leaked_weight, suppression_curve  # noqa: E402

__all__ += ["NUMERICS_FILLS", "NUMERICS_DTYPES", "NumericsExplorer", "numerics_explorer"]  # this notebook's names

#: The fills :func:`numerics_explorer` offers, by the label its buttons show.
NUMERICS_FILLS: dict[str, float] = {"-100": -100.0, "-1e4": -1e4, "-inf": float("-inf")}
#: The dtypes it offers (float32 first: the official code's).
NUMERICS_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16", "float64")
#: ``log10`` of the logit-scale slider's ends, and its step: the slider's positions are the curves' grid.
NUMERICS_SCALE_RANGE: tuple[float, float] = (-1.0, 4.0)
NUMERICS_SCALE_STEP = 0.05
#: Notebook 08's example: a seeded block on the 9x9 map, window 3, shift 1, 8 channels, 2 heads.
_NUMERICS_LAYOUT = dict(height=9, width=9, window=3, shift=1, channels=8, heads=2, seed=0)
#: Its map: ``(height, width, window, shift)``.
_NUMERICS_MAP = tuple(_NUMERICS_LAYOUT[k] for k in ("height", "width", "window", "shift"))


@functools.lru_cache(maxsize=1)
def _numerics_scores() -> torch.Tensor:
    """Notebook 08's scores ``q·kᵀ/√d + bias`` of the seeded block: ``[nW, heads, N, N]`` float64."""
    h, w, m, s = _NUMERICS_MAP
    channels, heads, seed = _NUMERICS_LAYOUT["channels"], _NUMERICS_LAYOUT["heads"], _NUMERICS_LAYOUT["seed"]
    x = torch.randn(1, h, w, channels, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    weights = WindowAttentionWeights.random(channels, heads, m, seed=seed)
    _, stages = shifted_window_attention(x, weights, heads, m, s, return_stages=True)
    return stages["scores"]


@functools.lru_cache(maxsize=len(NUMERICS_FILLS))
def _numerics_mask(fill: float) -> torch.Tensor:
    return attention_mask(*_NUMERICS_MAP, fill=fill)


def _numerics_scales() -> torch.Tensor:
    """The logit scales of the curves: every position of the slider, ``[S]`` float64."""
    low, high = NUMERICS_SCALE_RANGE
    return torch.logspace(low, high, round((high - low) / NUMERICS_SCALE_STEP) + 1, dtype=torch.float64)


@functools.lru_cache(maxsize=len(NUMERICS_FILLS))
def _numerics_curves(fill: float) -> dict[str, torch.Tensor]:
    """``suppression_curve`` of the example for one fill, every dtype (computed once per fill)."""
    return suppression_curve(_numerics_scores(), _numerics_mask(fill), _numerics_scales())


class NumericsExplorer(Explorer):
    """A dtype, a fill and a logit scale over :func:`~swin_viz.figures.plot_numerics` (notebook 08).

    The scores are notebook 08's (a seeded block on the 9x9 map, window 3,
    shift 1), multiplied by the logit scale; the softmax of ``scores + mask``
    runs in the chosen dtype (:func:`~swin_viz.numerics.leaked_weight`). Every
    position is valid: a NaN (float16 scores that overflowed) is shown and
    reported, not raised.

    Attributes (besides those of :class:`Explorer`):
        dtype: ``Dropdown`` of :data:`NUMERICS_DTYPES`.
        fill: ``ToggleButtons`` of :data:`NUMERICS_FILLS`.
        logit_scale: ``FloatLogSlider`` over ``10 ** NUMERICS_SCALE_RANGE``.
        window_index, head: sliders picking the window ``k`` and head drawn (the caption covers all).
        leak: the :class:`~swin_viz.numerics.Leak` of the last drawing.
    """

    def __init__(
        self, dtype: str = "float32", fill: str = "-100", logit_scale: float = 1.0, window_index: int = 8, head: int = 0
    ) -> None:
        if dtype not in NUMERICS_DTYPES:
            raise ValueError(f"dtype must be one of {list(NUMERICS_DTYPES)}, got {dtype!r}")
        if fill not in NUMERICS_FILLS:
            raise ValueError(f"fill must be one of {list(NUMERICS_FILLS)} (the buttons' labels), got {fill!r}")
        low, high = NUMERICS_SCALE_RANGE
        if isinstance(logit_scale, bool) or not isinstance(logit_scale, (int, float)) or not 10**low <= logit_scale <= 10**high:
            raise ValueError(f"logit_scale must be a number in [{10 ** low:g}, {10 ** high:g}], got {logit_scale!r}")
        n_windows, n_heads = _numerics_scores().shape[:2]
        for name, value, count in (("window_index", window_index, n_windows), ("head", head, n_heads)):
            if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < count:
                raise ValueError(f"{name} must be an int in [0, {count}), got {value!r}")
        style, layout = {"description_width": "90px"}, widgets.Layout(width="340px")
        self.dtype = widgets.Dropdown(options=list(NUMERICS_DTYPES), value=dtype, description="dtype", style=style, layout=layout)
        self.fill = widgets.ToggleButtons(
            options=list(NUMERICS_FILLS), value=fill, description="fill", style={**style, "button_width": "70px"}
        )
        self.logit_scale = widgets.FloatLogSlider(
            value=float(logit_scale), base=10, min=low, max=high, step=NUMERICS_SCALE_STEP, description="logit scale",
            readout_format=".3g", continuous_update=True, style=style, layout=layout,
        )
        self.window_index = _slider("window k", window_index, 0, n_windows - 1)
        self.head = _slider("head", head, 0, n_heads - 1)
        self.leak: Leak | None = None
        # two per column: (dtype, window k), (logit scale, head), (fill)
        controls = [self.dtype, self.window_index, self.logit_scale, self.head, self.fill]
        super().__init__("08 · What the fill leaves on forbidden keys, per dtype", controls)

    def draw(self, figure: LabFigure | None) -> LabFigure:
        fill = NUMERICS_FILLS[self.fill.value]
        mask = _numerics_mask(fill)
        scale = float(self.logit_scale.value)
        self.leak = leaked_weight(_numerics_scores() * scale, mask, self.dtype.value)
        k, head = self.window_index.value, self.head.value
        return figures.plot_numerics(
            self.leak.weights[k, head], mask[k] != 0, _numerics_labels()[k], _numerics_scales(), _numerics_curves(fill),
            dtype=self.dtype.value, fill=fill, scale=scale, window_index=k, head=head, figure=figure,
        )

    def describe(self) -> str:
        worst = self.leak.worst if self.leak is not None else float("nan")
        if math.isnan(worst):
            rows = self.leak.leaked.isnan().nonzero().tolist() if self.leak is not None else []
            where = "; ".join(f"window {k}, head {h}, query {i}" for k, h, i in rows[:3]) + (" ..." if len(rows) > 3 else "")
            cause = ": float16 scores overflowed to ±inf, and inf - inf is NaN" if self.dtype.value == "float16" else ""
            verdict = f"NaN in {len(rows)} query row{'s' if len(rows) != 1 else ''} ({where}){cause}"
        elif worst == 0:
            verdict = "exactly 0"
        else:
            verdict = "visible (> 1e-3)" if worst > 1e-3 else "invisible (< 1e-3)"
        largest = float(_numerics_scores().abs().max()) * float(self.logit_scale.value)
        return (
            f"{self.describe_settings()}: worst leaked weight of any query {worst:.3e}, {verdict}; "
            f"largest |score| {largest:.4g}"
        )

    def describe_settings(self) -> str:
        return (
            f"dtype={self.dtype.value}, fill={self.fill.value}, logit scale={self.logit_scale.value:.3g}, "
            f"k={self.window_index.value}, head={self.head.value}"
        )


@functools.lru_cache(maxsize=1)
def _numerics_labels() -> torch.Tensor:
    return window_labels(*_NUMERICS_MAP)


def numerics_explorer(
    *, dtype: str = "float32", fill: str = "-100", logit_scale: float = 1.0, window_index: int = 8, head: int = 0
) -> NumericsExplorer:
    """A dtype dropdown, fill buttons, a logit-scale slider and window/head pickers over
    :func:`~swin_viz.figures.plot_numerics` (notebook 08).

    Args:
        dtype: one of :data:`NUMERICS_DTYPES`.
        fill: one of :data:`NUMERICS_FILLS` (``"-100"``, ``"-1e4"``, ``"-inf"``).
        logit_scale: in ``[0.1, 10000]``.
        window_index: the window ``k`` drawn, ``0..8`` (8, the corner window, holds four regions).
        head: the head drawn, ``0`` or ``1``.
    """
    return NumericsExplorer(dtype, fill, logit_scale, window_index, head)


# --------------------------------------------------------------------------- #
# Notebook 09 · cost: multiply-adds and window counts against the map size    #
# --------------------------------------------------------------------------- #
from swin_viz.cost import (  # noqa: E402
    msa_flops,
    shifted_partitions,
    window_count,
    window_count_formula,
    wmsa_flops,
)

__all__ += ["CostExplorer", "cost_explorer", "COST_SIZES", "COST_WINDOW_RANGE", "COST_DIM_RANGE"]

#: The map sizes ``h = w`` the cost explorer's curves run over (and its size slider offers).
COST_SIZES = tuple(range(1, 65))
#: Windows ``M`` the cost explorer offers.
COST_WINDOW_RANGE = (2, 16)
#: Channels ``C`` the cost explorer offers: ``(low, high, step)``.
COST_DIM_RANGE = (16, 768, 16)


@functools.lru_cache(maxsize=32)
def _cost_curves(window: int, shift: int, dim: int) -> tuple:
    """Everything the cost explorer plots against the size, for one ``(M, s, C)``: computed once per setting.

    Returns ``(tokens, flops, counts, paper)``: ``hw`` per size; ``{"msa", "w-msa"}`` multiply-adds (W-MSA
    on the map padded to a multiple of ``M``, as the block runs it); ``{"cyclic", "padding"}`` window counts,
    built; and the paper's padded count.
    """
    tokens = [n * n for n in COST_SIZES]
    flops = {
        "msa": [msa_flops(n, n, dim) for n in COST_SIZES],
        "w-msa": [wmsa_flops(n, n, dim, window, pad=True) for n in COST_SIZES],
    }
    counts = {method: [window_count(n, n, window, shift, method=method) for n in COST_SIZES] for method in ("cyclic", "padding")}
    paper = [window_count_formula(n, n, window, shift, method="padding") for n in COST_SIZES]
    return tokens, flops, counts, paper


@functools.lru_cache(maxsize=1)
def _cost_limits() -> tuple[tuple[float, float], tuple[float, float]]:
    """Fixed y ranges of the cost explorer's two plots, holding every reachable setting, so that no change
    moves an axis (and the figure is never laid out again): ``(flop_limits, count_limits)``.

    The lowest multiply-adds are global attention's at ``h = w = 1`` and the smallest ``C``, and the slope-2
    guide of :func:`~swin_viz.figures.draw_cost_curves` starts at a quarter of that; the highest is that
    guide's end at the largest ``C``. The most windows: the padded count at the largest map and window 2.
    """
    dim_low, dim_high, _ = COST_DIM_RANGE
    growth = (COST_SIZES[-1] / COST_SIZES[0]) ** 4  # the guide's rise over hw, squared
    flops = (msa_flops(1, 1, dim_low) / 4 / 2, msa_flops(1, 1, dim_high) / 4 * growth * 2)
    most = window_count_formula(COST_SIZES[-1], COST_SIZES[-1], COST_WINDOW_RANGE[0], 1, method="padding")
    return flops, (0.7, most * 1.5)


class CostExplorer(Explorer):
    """Sliders for the map size ``h = w``, the window ``M``, the shift ``s`` and the channels ``C``, over
    :func:`~swin_viz.figures.plot_cost`: the paper's multiply-add formulas (global MSA and W-MSA), the window
    counts of the cyclic shift and of padding, and the chosen map's two shifted partitions.

    The curves are formulas and built partitions, never a timed or counted run of the attention (the
    notebook checks the formulas against ``FlopCounterMode``), so a change redraws in milliseconds.

    Attributes (besides those of :class:`Explorer`):
        size, window, shift, dim: the sliders.
    """

    def __init__(self, size: int = 56, window: int = 7, shift: int = 3, dim: int = 96) -> None:
        for name, value in (("size", size), ("window", window), ("shift", shift), ("dim", dim)):
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
        low, high = COST_WINDOW_RANGE
        if not low <= window <= high:
            raise ValueError(f"window={window} is outside the explorer's range [{low}, {high}]")
        if not COST_SIZES[0] <= size <= COST_SIZES[-1]:
            raise ValueError(f"size={size} is outside the explorer's range [{COST_SIZES[0]}, {COST_SIZES[-1]}]")
        if not 0 <= shift < window:
            raise ValueError(f"shift={shift} is outside [0, window={window}): the shift must satisfy 0 <= shift < window")
        dim_low, dim_high, dim_step = COST_DIM_RANGE
        if not dim_low <= dim <= dim_high or dim % dim_step:
            raise ValueError(f"dim={dim} must be a multiple of {dim_step} in [{dim_low}, {dim_high}]")
        self.size = _slider("h = w", size, COST_SIZES[0], COST_SIZES[-1])
        self.window = _slider("window M", window, low, high)
        self.shift = _slider("shift s", shift, 0, window - 1)
        self.dim = _slider("channels C", dim, dim_low, dim_high, step=dim_step)
        super().__init__("09 · the cost of window attention", [self.size, self.window, self.shift, self.dim])

    def describe_settings(self) -> str:
        return f"h=w={self.size.value}, M={self.window.value}, s={self.shift.value}, C={self.dim.value}"

    def sync(self) -> None:
        """Keep the shift below the window."""
        _set_range(self.shift, 0, self.window.value - 1, self.shift.value)

    def draw(self, figure: LabFigure | None) -> LabFigure:
        size, window, shift = self.size.value, self.window.value, self.shift.value
        tokens, flops, counts, paper = _cost_curves(window, shift, self.dim.value)
        flop_limits, count_limits = _cost_limits()
        return figures.plot_cost(
            tokens, flops, COST_SIZES, counts, paper, shifted_partitions(size, size, window, shift),
            window=window, shift=shift, marker=COST_SIZES.index(size), flop_limits=flop_limits,
            count_limits=count_limits, figure=figure,
        )

    def describe(self) -> str:
        size, window, shift, dim = self.size.value, self.window.value, self.shift.value, self.dim.value
        msa, wmsa = msa_flops(size, size, dim), wmsa_flops(size, size, dim, window, pad=True)
        cyclic, padding = window_count(size, size, window, shift), window_count(size, size, window, shift, method="padding")
        paper = window_count_formula(size, size, window, shift, method="padding")
        return (
            f"{self.describe_settings()}: multiply-adds global MSA {msa:.4g}, W-MSA {wmsa:.4g} (ratio {msa / wmsa:.3g}); "
            f"shifted windows cyclic shift {cyclic}, padding {padding} (ratio {padding / cyclic:.3g}; "
            f"the paper's (⌈h/M⌉+1)² = {paper})"
        )


def cost_explorer(**settings: int) -> CostExplorer:
    """Sliders for ``size`` (h = w), ``window`` (M), ``shift`` (s) and ``dim`` (C) over
    :func:`~swin_viz.figures.plot_cost` (notebook 09). Defaults: Swin-T's first stage, 56 x 56, M = 7, s = 3, C = 96.

    Raises ``TypeError`` for an unknown setting, ``ValueError`` for one outside the sliders' ranges.
    """
    unknown = set(settings) - {"size", "window", "shift", "dim"}
    if unknown:
        raise TypeError(f"unknown cost_explorer argument(s) {', '.join(sorted(unknown))}: use size, window, shift, dim")
    return CostExplorer(**settings)


# --------------------------------------------------------------------------- #
# Garbage collection: the imported modules leave the collector's scans        #
# --------------------------------------------------------------------------- #
import gc  # noqa: E402 -- this section's imports stay in it, so the sections merge cleanly


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Within: no automatic garbage collection (``gc.disable``). A collection that falls due during a redraw runs
    after it, between redraws, instead of adding its pause to the change being drawn (a full one walks every
    live object; see :func:`_freeze_imported_objects`)."""
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


def _freeze_imported_objects() -> None:
    """Collect once, then leave every object alive now out of the cyclic collector's future scans (``gc.freeze``).

    Called once, when this module is imported. A full ("generation 2") collection walks every object the
    collector tracks: once torch, matplotlib and ipywidgets are imported that is about 225,000 objects and
    90 ms here, and it runs every so often on its own, in the middle of whatever is running then. Every few
    dozen slider changes one paid it (up to 200 ms in the benchmark, as the heap grew). The modules' objects
    live as long as the process, so they are frozen: a full collection then walks only what was made since
    (the explorers, their figures and caches), a few milliseconds. Objects made later are collected as
    usual. (An object alive at import that later becomes part of unreachable cycles is not collected while
    frozen; ``gc.unfreeze()`` undoes it.)
    """
    gc.collect()
    gc.freeze()


_freeze_imported_objects()
