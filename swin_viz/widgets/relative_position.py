"""Notebook 11 · relative position: which rows of the bias table a query reads, for any window."""

from __future__ import annotations

import functools
from typing import Any, Mapping

import torch

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.relative_position import relative_position_index
from swin_viz.tensors import IntPair, as_pair
from swin_viz.weights import WindowAttentionWeights
from swin_viz.widgets._base import Explorer, IntControl, Range, Ranges

__all__ = ["RELATIVE_POSITION_MAX_WINDOW", "RELATIVE_POSITION_HEADS", "RelativePositionExplorer", "relative_position_explorer"]

#: Largest window height and width of :func:`relative_position_explorer`.
RELATIVE_POSITION_MAX_WINDOW = 7
#: The heads of its (seeded, random) bias table.
RELATIVE_POSITION_HEADS = 3


@functools.lru_cache(maxsize=RELATIVE_POSITION_MAX_WINDOW**2)
def relative_position_weights(window: tuple[int, int]) -> WindowAttentionWeights:
    """The explorer's weights for ``window``: :meth:`~swin_viz.weights.WindowAttentionWeights.random` with
    :data:`RELATIVE_POSITION_HEADS` heads, seed 0 (cached; read them, never modify them in place)."""
    return WindowAttentionWeights.random(RELATIVE_POSITION_HEADS, RELATIVE_POSITION_HEADS, window, seed=0)


class RelativePositionExplorer(Explorer):
    """Sliders for the window ``Mh``, ``Mw``, the query token ``i`` and the head over
    :func:`~swin_viz.figures.plot_table_lookup` (notebook 11).

    The table is a seeded random ``relative_position_bias_table`` (:func:`relative_position_weights`); the index is
    :func:`~swin_viz.relative_position.relative_position_index`. Windows run over ``1..RELATIVE_POSITION_MAX_WINDOW``
    in each dimension, the query over the window's ``Mh * Mw`` tokens.

    Attributes (besides those of :class:`~swin_viz.widgets.Explorer`):
        window_h, window_w, query, head: the sliders.
        index: the ``[N, N]`` index of the last drawing.
    """

    title = "11 · Which rows of relative_position_bias_table a query reads"
    CONTROLS = (
        IntControl("window_h", "window Mh", live=False),
        IntControl("window_w", "window Mw", live=False),
        IntControl("query", "query i"),
        IntControl("head", "head"),
    )

    def __init__(self, window: IntPair = (3, 4), query: int = 5, head: int = 0) -> None:
        window_h, window_w = as_pair(window, "window")
        self.index: torch.Tensor | None = None
        super().__init__(dict(window_h=window_h, window_w=window_w, query=query, head=head))

    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """Windows in ``1..RELATIVE_POSITION_MAX_WINDOW``, the query among the window's tokens, the table's heads."""
        yield "window_h", Range(1, RELATIVE_POSITION_MAX_WINDOW)
        yield "window_w", Range(1, RELATIVE_POSITION_MAX_WINDOW)
        yield "query", Range(0, values["window_h"] * values["window_w"] - 1)
        yield "head", Range(0, RELATIVE_POSITION_HEADS - 1)

    @property
    def window(self) -> tuple[int, int]:
        """``(Mh, Mw)`` as the sliders show them."""
        return self.window_h.value, self.window_w.value

    def draw(self, figure: LabFigure | None) -> LabFigure:
        """The index, the table's column of the head and the bias, drawn by :func:`~swin_viz.figures.plot_table_lookup`."""
        weights = relative_position_weights(self.window)
        head = self.head.value
        self.index = relative_position_index(self.window)
        bias = weights.relative_position_bias()[head]
        return figures.plot_table_lookup(
            self.index,
            weights.relative_position_bias_table[:, head],
            bias,
            self.window,
            self.query.value,
            head=head,
            figure=figure,
        )

    def describe(self) -> str:
        """The query's place, the rows it reads and the table's size."""
        window_h, window_w = self.window
        query = self.query.value
        y, x = divmod(query, window_w)
        rows = (2 * window_h - 1) * (2 * window_w - 1)
        read = self.index[query] if self.index is not None else torch.zeros(0, dtype=torch.long)
        span = f"rows {int(read.min())}..{int(read.max())}" if read.numel() else "no rows"
        return (
            f"{self.describe_settings()}: query {query} at (y, x) = ({y}, {x}) reads {read.numel()} of the table's "
            f"{rows} rows ({span}); row of key j = (y - yj + {window_h - 1}) * {2 * window_w - 1} + (x - xj + {window_w - 1})"
        )

    def describe_settings(self) -> str:
        """``window=(Mh, Mw), query=i, head=h``."""
        return f"window={self.window}, query={self.query.value}, head={self.head.value}"


def relative_position_explorer(window: IntPair = (3, 4), query: int = 5, head: int = 0) -> RelativePositionExplorer:
    """Explore which rows of the bias table each query reads (notebook 11): see :class:`RelativePositionExplorer`.

    Args:
        window: ``M`` or ``(Mh, Mw)``, each in ``1..RELATIVE_POSITION_MAX_WINDOW``.
        query: the query token ``i``, ``0 <= i < Mh * Mw``.
        head: ``0 <= head < RELATIVE_POSITION_HEADS``.

    Raises ``TypeError``/``ValueError`` naming the argument for a start the sliders cannot show.
    """
    return RelativePositionExplorer(window, query, head)
