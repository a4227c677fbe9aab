"""Notebook 09 · cost: multiply-adds and window counts against the map size."""

from __future__ import annotations

import functools
from typing import Any, Mapping

from swin_viz import figures
from swin_viz.cost import CostCurves, cost_curves, msa_flops, shifted_partitions, window_count, window_count_formula, wmsa_flops
from swin_viz.figures import LabFigure
from swin_viz.widgets._base import Explorer, IntControl, Range, Ranges

__all__ = ["COST_DIM_RANGE", "COST_SIZES", "COST_WINDOW_RANGE", "CostExplorer", "cost_explorer"]

#: The map sizes ``h = w`` the cost explorer's curves run over (and its size slider offers).
COST_SIZES = tuple(range(1, 65))
#: Windows ``M`` the cost explorer offers.
COST_WINDOW_RANGE = (2, 16)
#: Channels ``C`` the cost explorer offers: ``(low, high, step)``.
COST_DIM_RANGE = (16, 768, 16)


@functools.lru_cache(maxsize=32)
def explorer_cost_curves(window: int, shift: int, dim: int) -> CostCurves:
    """:func:`~swin_viz.cost.cost_curves` over :data:`COST_SIZES`, once per ``(M, s, C)`` (moving the size keeps them)."""
    return cost_curves(COST_SIZES, window, shift, dim)


@functools.lru_cache(maxsize=1)
def cost_limits() -> tuple[tuple[float, float], tuple[float, float]]:
    """Fixed y ranges of the cost explorer's two plots, holding every reachable setting, so that no change
    moves an axis (and the figure is never laid out again): ``(flop_limits, count_limits)``.

    The lowest multiply-adds are global attention's at ``h = w = 1`` and the smallest ``C``, and the slope-2
    guide of :func:`~swin_viz.figures.draw_cost_curves` starts at a quarter of that; the highest is that
    guide's end at the largest ``C``. The most windows: the padded count at the largest map and window 2.
    These are the plots' margins around the sliders' extremes, so they stay with the explorer.
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
    notebook checks the formulas against ``FlopCounterMode``), so a change redraws in milliseconds. ``C``
    steps by 16: a value typed off that step is brought to the nearest multiple.

    Attributes (besides those of :class:`~swin_viz.widgets.Explorer`):
        size, window, shift, dim: the sliders.
    """

    title = "09 · the cost of window attention"
    CONTROLS = (
        IntControl("size", "h = w"),
        IntControl("window", "window M"),
        IntControl("shift", "shift s"),
        IntControl("dim", "channels C"),
    )

    def __init__(self, size: int = 56, window: int = 7, shift: int = 3, dim: int = 96) -> None:
        super().__init__(dict(size=size, window=window, shift=shift, dim=dim))

    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """Sizes :data:`COST_SIZES`, ``M`` in :data:`COST_WINDOW_RANGE`, ``s < M``, ``C`` by :data:`COST_DIM_RANGE`."""
        yield "size", Range(COST_SIZES[0], COST_SIZES[-1])
        yield "window", Range(*COST_WINDOW_RANGE)
        yield "shift", Range(0, values["window"] - 1)
        yield "dim", Range(*COST_DIM_RANGE)

    def describe_settings(self) -> str:
        return f"h=w={self.size.value}, M={self.window.value}, s={self.shift.value}, C={self.dim.value}"

    def draw(self, figure: LabFigure | None) -> LabFigure:
        size, window, shift = self.size.value, self.window.value, self.shift.value
        tokens, flops, counts, paper = explorer_cost_curves(window, shift, self.dim.value)
        flop_limits, count_limits = cost_limits()
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


def cost_explorer(*, size: int = 56, window: int = 7, shift: int = 3, dim: int = 96) -> CostExplorer:
    """Sliders for ``size`` (h = w), ``window`` (M), ``shift`` (s) and ``dim`` (C) over
    :func:`~swin_viz.figures.plot_cost` (notebook 09). Defaults: Swin-T's first stage, 56 x 56, M = 7, s = 3, C = 96.

    Raises ``TypeError`` for an unknown or non-int setting, ``ValueError`` for one outside the sliders' ranges.
    """
    return CostExplorer(size, window, shift, dim)
