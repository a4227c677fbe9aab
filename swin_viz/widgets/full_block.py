"""Notebook 06 · the full block: the leak with the mask on and off, and where one query's attention goes."""

from __future__ import annotations

import functools
from typing import Any, Mapping

import torch

from swin_viz import figures
from swin_viz.block import BlockLayout, BlockStages, block_layout, example_block_run
from swin_viz.figures import LabFigure
from swin_viz.tensors import as_pair
from swin_viz.widgets._base import ChoiceControl, Explorer, IntControl, Range, Ranges
from swin_viz.widgets._stage import LAYOUT_CONTROLS, layout_ranges

__all__ = ["BLOCK_CHANNELS", "BLOCK_HEADS", "BLOCK_SEED", "BlockLeakExplorer", "block_leak_explorer"]

#: Channels ``C``, heads and seed of the block the explorer runs: notebook 06's running example.
BLOCK_CHANNELS = 4
BLOCK_HEADS = 2
BLOCK_SEED = 0


@functools.lru_cache(maxsize=16)
def _cached_layout(height: int, width: int, window: int, shift: int) -> BlockLayout:
    """:func:`~swin_viz.block.block_layout`, once per layout (moving the query keeps it)."""
    return block_layout(height, width, window, shift)


@functools.lru_cache(maxsize=16)
def _run(height: int, width: int, window: int, shift: int, use_mask: bool) -> tuple[BlockStages, torch.Tensor]:
    """Notebook 06's block on this layout (:func:`~swin_viz.block.example_block_run`): its stages and its
    ``[heads, H, W]`` leak. Cached per layout and mask state, so moving the head or the query, or toggling
    back, recomputes nothing. Shared: read the tensors, never modify them in place."""
    return example_block_run(
        height, width, window, shift, use_mask=use_mask, channels=BLOCK_CHANNELS, heads=BLOCK_HEADS, seed=BLOCK_SEED
    )


class BlockLeakExplorer(Explorer):
    """The block's leak on the original map, with the mask on or off, and where one query's attention goes.

    Runs :func:`~swin_viz.block.shifted_window_attention` with notebook 06's seeded weights and input
    (``C`` = :data:`BLOCK_CHANNELS`, :data:`BLOCK_HEADS` heads, float64) and draws
    :func:`~swin_viz.figures.plot_block_leak`.

    Attributes (besides those of :class:`~swin_viz.widgets.Explorer`):
        height, width, window, shift: the layout sliders (as the stage explorers': sizes step by ``M``, ``0 <= s < M``).
        use_mask: ``ToggleButtons``, ``True`` (mask on) or ``False`` (off).
        head: ``ToggleButtons``, the head drawn.
        query_row, query_col: the query's place on the original map.
    """

    title = "6. The full block: what crosses a seam, mask on and off"
    CONTROLS = LAYOUT_CONTROLS + (
        ChoiceControl("use_mask", "mask", (("mask on", True), ("mask off", False)), button_width="80px"),
        ChoiceControl("head", "head", tuple((f"head {h}", h) for h in range(BLOCK_HEADS)), button_width="80px"),
        IntControl("query_row", "query row"),
        IntControl("query_col", "query col"),
    )

    def __init__(
        self,
        height: int = 9,
        width: int = 9,
        window: int = 3,
        shift: int = 1,
        use_mask: bool = True,
        head: int = 0,
        query: tuple[int, int] = (0, 0),
    ) -> None:
        row, col = as_pair(query, "query")
        values = dict(height=height, width=width, window=window, shift=shift, use_mask=use_mask, head=head)
        super().__init__({**values, "query_row": row, "query_col": col})

    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """The stage explorers' layout rules, then the query on the map."""
        yield from layout_ranges(values)
        yield "query_row", Range(0, values["height"] - 1)
        yield "query_col", Range(0, values["width"] - 1)

    def _picked(self) -> tuple[BlockLayout, BlockStages, torch.Tensor, int, int]:
        """The layout, the run's stages and ``[heads, H, W]`` leak, and the query's window ``k`` and slot ``i``."""
        layout = (self.height.value, self.width.value, self.window.value, self.shift.value)
        where = _cached_layout(*layout)
        stages, leak = _run(*layout, self.use_mask.value)
        k, i = where.place[self.query_row.value, self.query_col.value].tolist()
        return where, stages, leak, k, i

    def draw(self, figure: LabFigure | None) -> LabFigure:
        where, stages, leak, k, i = self._picked()
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
        _, _, leaks, k, i = self._picked()
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
    return BlockLeakExplorer(height, width, window, shift, use_mask, head, query)
