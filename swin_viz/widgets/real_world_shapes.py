"""Notebook 07 · real-world shapes: pad-then-roll against roll-then-pad."""

from __future__ import annotations

from typing import Any, Mapping

from swin_viz import figures
from swin_viz.block import PAD_ORDERS, PadOrderLayout, pad_order_layout, padding_queries
from swin_viz.figures import LabFigure
from swin_viz.tensors import IntPair, as_pair
from swin_viz.widgets._base import ChoiceControl, Explorer, IntControl, Range, Ranges

__all__ = ["PAD_ORDER_MAX_SIZE", "PAD_ORDER_MAX_WINDOW", "PadOrderExplorer", "pad_order_explorer"]

#: Largest feature-map height and width of :func:`pad_order_explorer` (any size from 1: every size is padded).
PAD_ORDER_MAX_SIZE = 24
#: Largest window height and width of :func:`pad_order_explorer`.
PAD_ORDER_MAX_WINDOW = 8


class PadOrderExplorer(Explorer):
    """Sliders for the size, window and shift (each dimension on its own) and a toggle for the padding order.

    The figure is :func:`~swin_viz.figures.plot_pad_order`: the rolled, padded map the chosen order
    partitions, and the keys its mask gets wrong per query (:func:`~swin_viz.block.pad_order_layout`).
    Height and width run over ``1..PAD_ORDER_MAX_SIZE`` whatever the window (every size is padded); each
    shift stays below its window.

    Attributes (besides those of :class:`~swin_viz.widgets.Explorer`):
        height, width, window_h, window_w, shift_h, shift_w: the sliders.
        order: ``ToggleButtons`` over :data:`~swin_viz.block.PAD_ORDERS`.
        layout_data: the :class:`~swin_viz.block.PadOrderLayout` of the last drawing.
    """

    title = "Pad then roll, or roll then pad?"
    CONTROLS = (
        IntControl("height", "height H"),
        IntControl("width", "width W"),
        IntControl("window_h", "window Mh"),
        IntControl("window_w", "window Mw"),
        IntControl("shift_h", "shift sh"),
        IntControl("shift_w", "shift sw"),
        ChoiceControl("order", "order", tuple((order, order) for order in PAD_ORDERS)),
    )

    def __init__(
        self,
        height: int = 11,
        width: int = 8,
        window: IntPair = 3,
        shift: IntPair = 1,
        order: str = "roll-then-pad",
    ) -> None:
        window_h, window_w = as_pair(window, "window")
        shift_h, shift_w = as_pair(shift, "shift")
        self.layout_data: PadOrderLayout | None = None
        super().__init__(
            dict(height=height, width=width, window_h=window_h, window_w=window_w, shift_h=shift_h, shift_w=shift_w, order=order)
        )

    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """Sizes in ``1..PAD_ORDER_MAX_SIZE``, windows in ``1..PAD_ORDER_MAX_WINDOW``, each shift below its window."""
        yield "height", Range(1, PAD_ORDER_MAX_SIZE)
        yield "width", Range(1, PAD_ORDER_MAX_SIZE)
        yield "window_h", Range(1, PAD_ORDER_MAX_WINDOW)
        yield "window_w", Range(1, PAD_ORDER_MAX_WINDOW)
        yield "shift_h", Range(0, values["window_h"] - 1)
        yield "shift_w", Range(0, values["window_w"] - 1)

    @property
    def window(self) -> tuple[int, int]:
        """``(Mh, Mw)`` as the sliders show them."""
        return self.window_h.value, self.window_w.value

    @property
    def shift(self) -> tuple[int, int]:
        """``(sh, sw)`` as the sliders show them."""
        return self.shift_h.value, self.shift_w.value

    def draw(self, figure: LabFigure | None) -> LabFigure:
        """Compute :func:`~swin_viz.block.pad_order_layout` and draw it with :func:`~swin_viz.figures.plot_pad_order`."""
        self.layout_data = data = pad_order_layout(self.height.value, self.width.value, self.window, self.shift, self.order.value)
        return figures.plot_pad_order(
            data.token_ids, data.labels, data.leaked, data.blocked, self.window, order=self.order.value, figure=figure
        )

    def describe(self) -> str:
        """The padded size and the counts: leaked and blocked pairs, the pairs that attend unlike pad-then-roll
        (:func:`~swin_viz.block.count_changed_pairs`), and real queries that may attend to padding (in this
        order, and in the other one for comparison)."""
        data = self.layout_data
        if data is None:
            return self.describe_settings()
        height_p, width_p = data.labels.shape
        other = PAD_ORDERS[1 - PAD_ORDERS.index(self.order.value)]
        other_count = padding_queries(self.height.value, self.width.value, self.window, self.shift, other)
        return (
            f"{self.order.value}: {self.height.value}x{self.width.value} padded to {height_p}x{width_p}, "
            f"window {self.window[0]}x{self.window[1]}, shift {self.shift}: "
            f"{int(data.leaked.sum())} leaked and {int(data.blocked.sum())} blocked (query, key) pairs of real tokens "
            f"within its windows; {data.changed.total} pairs attend unlike pad-then-roll, whatever their windows "
            f"({data.changed.lost} lost, {data.changed.gained} gained); "
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
    """Explore pad-then-roll against roll-then-pad (notebook 07): see :class:`PadOrderExplorer`.

    Raises ``TypeError``/``ValueError`` naming the argument for a start the sliders cannot show.
    """
    return PadOrderExplorer(height, width, window, shift, order)
