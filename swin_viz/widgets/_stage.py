"""The stage explorers' common part (notebooks 00-05): the layout sliders ``H``, ``W``, ``M``, ``s``, the pickers
``k`` and ``i``, their rules, and the caption.

Each notebook's module defines its stage explorers as subclasses of :class:`StageExplorer` that set a title,
their controls (:data:`LAYOUT_CONTROLS`, plus :data:`WINDOW_PICKER` and :data:`QUERY_PICKER` where the stage
shows one window or one token) and :meth:`StageExplorer.picture`: the stage's figure for a :class:`Settings`.
The rules (:func:`layout_ranges`): ``M`` in :data:`WINDOW_RANGE`; ``0 <= s < M``; height and width multiples
of ``M``, at most :data:`MAX_WINDOWS` windows a side (they step by ``M``, and are re-rounded from the sizes
the student chose when ``M`` changes); ``0 <= k < nW``; ``0 <= i < N``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any, Mapping

import torch

from swin_viz.figures import LabFigure
from swin_viz.tensors import attention_mask, window_labels
from swin_viz.widgets._base import Explorer, IntControl, Range, Ranges

#: Window sizes the window slider offers.
WINDOW_RANGE = (2, 8)
#: Most windows along one side; the size sliders stop at ``M * MAX_WINDOWS``.
MAX_WINDOWS = 8
#: Seed of the example attention scores drawn by the weight figures.
SCORE_SEED = 0

#: The layout sliders, in layout order: (height, width) in the first column, (window, shift) in the second.
LAYOUT_CONTROLS = (
    IntControl("height", "height H", follows_choice=True),
    IntControl("width", "width W", follows_choice=True),
    # M re-rounds the sizes and re-ranges every other slider: it reports once, when the handle is released
    IntControl("window", "window M", live=False),
    IntControl("shift", "shift s"),
)

__all__ = ["MAX_WINDOWS", "SCORE_SEED", "WINDOW_RANGE", "Settings", "StageExplorer"]
#: The window picker ``k``; ``None`` starts it at the last window (the corner one, which holds the most regions).
WINDOW_PICKER = IntControl("window_index", "window k", none_is_last=True)
#: The query picker ``i``; ``None`` starts it at the last token.
QUERY_PICKER = IntControl("query", "query i", none_is_last=True)


def layout_ranges(values: Mapping[str, Any]) -> Ranges:
    """The layout sliders' ranges (see :meth:`~swin_viz.widgets.Explorer.ranges`): ``M``, then ``s < M``, then
    the sizes, multiples of ``M`` up to ``M * MAX_WINDOWS``."""
    yield "window", Range(*WINDOW_RANGE)
    m = values["window"]
    yield "shift", Range(0, m - 1)
    yield "height", Range(m, m * MAX_WINDOWS, m)
    yield "width", Range(m, m * MAX_WINDOWS, m)


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
# What several stages draw from                                               #
# --------------------------------------------------------------------------- #
def example_scores(settings: Settings) -> torch.Tensor:
    """Seeded example scores ``[nW, 1, N, N]`` (one image, one head; seed :data:`SCORE_SEED`)."""
    generator = torch.Generator().manual_seed(SCORE_SEED)
    return torch.randn(settings.n_windows, 1, settings.n_tokens, settings.n_tokens, generator=generator)


def layout_windows(settings: Settings) -> torch.Tensor:
    """The ``[nW, N]`` region labels of each window (:func:`~swin_viz.tensors.window_labels`)."""
    return window_labels(settings.height, settings.width, settings.window, settings.shift)


@functools.lru_cache(maxsize=16)
def _cached_mask(height: int, width: int, window: int, shift: int) -> torch.Tensor:
    return attention_mask(height, width, window, shift)


def layout_mask(settings: Settings) -> torch.Tensor:
    """The ``[nW, N, N]`` mask of the sliders' layout, built once per layout (the figure and the caption
    both read it, and moving a picker keeps it). Shared: read it, never modify it in place."""
    return _cached_mask(settings.height, settings.width, settings.window, settings.shift)


# --------------------------------------------------------------------------- #
# The stage explorer                                                          #
# --------------------------------------------------------------------------- #
class StageExplorer(Explorer):
    """Sliders ``H``, ``W``, ``M``, ``s`` (and, where the stage needs them, ``k`` and ``i``) over one stage's figure.

    A stage is a subclass that sets :attr:`title`, ``CONTROLS`` (:data:`LAYOUT_CONTROLS`, plus
    :data:`WINDOW_PICKER`/:data:`QUERY_PICKER`) and :meth:`picture`.

    Args (keyword only): the starting :class:`Settings`; ``window_index``/``query`` ``None`` (the default)
    start at the last window/token, and are refused by a stage without that picker.

    Attributes (besides those of :class:`~swin_viz.widgets.Explorer`):
        height, width, window, shift: the layout sliders.
        window_index, query: the pickers, or ``None`` if the stage has none.
    """

    CONTROLS = LAYOUT_CONTROLS

    def __init__(
        self,
        *,
        height: int = 9,
        width: int = 9,
        window: int = 3,
        shift: int = 1,
        window_index: int | None = None,
        query: int | None = None,
    ) -> None:
        given: dict[str, Any] = {"height": height, "width": width, "window": window, "shift": shift}
        names = self.control_names()
        for name, value in (("window_index", window_index), ("query", query)):
            if name in names:
                given[name] = value
            elif value is not None:
                raise TypeError(f"{type(self).__name__} has no {name} picker: leave {name} out")
            else:
                setattr(self, name, None)
        super().__init__(given)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        """The stage's figure for ``settings``; given ``figure`` (the one it returned last time), redrawn into it."""
        raise NotImplementedError("a stage explorer defines picture(settings, figure)")

    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """:func:`layout_ranges`, then ``0 <= k < nW`` and ``0 <= i < N``."""
        yield from layout_ranges(values)
        m = values["window"]
        yield "window_index", Range(0, (values["height"] // m) * (values["width"] // m) - 1)
        yield "query", Range(0, m * m - 1)

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

    def draw(self, figure: LabFigure | None) -> LabFigure:
        return self.picture(self.settings, figure)

    def describe(self) -> str:
        settings = self.settings
        mixed = (layout_mask(settings) != 0).flatten(1).any(dim=1).nonzero().flatten().tolist()
        masked = ", ".join(map(str, mixed)) if mixed else "none"
        return f"{settings}: nW={settings.n_windows} windows of N={settings.n_tokens} tokens; windows that need a mask: {masked}"

    def describe_settings(self) -> str:
        return str(self.settings)

    def __repr__(self) -> str:
        # every stage reads as a StageExplorer, as the notebooks' stored outputs (checked by nbval) show it
        return f"StageExplorer({self.title!r}, {self.describe_settings()})"
