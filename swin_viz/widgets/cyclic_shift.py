"""Notebook 01 · the cyclic shift: sliders over :func:`~swin_viz.figures.plot_cyclic_shift`."""

from __future__ import annotations

import torch

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import cyclic_shift, region_labels
from swin_viz.widgets._stage import Settings, StageExplorer

__all__ = ["CyclicShiftExplorer", "cyclic_shift_explorer"]


class CyclicShiftExplorer(StageExplorer):
    """Stage 1: the map before and after ``torch.roll`` by ``-s``, coloured by region."""

    title = "1. Cyclic shift"

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        x = torch.arange(settings.height * settings.width).view(settings.height, settings.width)
        labels = region_labels(settings.height, settings.width, settings.window, settings.shift)
        return figures.plot_cyclic_shift(x, cyclic_shift(x, settings.shift), labels, settings.shift, settings.window, figure=figure)


def cyclic_shift_explorer(**settings: int) -> CyclicShiftExplorer:
    """Sliders for H, W, M, s over :func:`~swin_viz.figures.plot_cyclic_shift` (stage 1); ``settings`` as
    :class:`~swin_viz.widgets.StageExplorer` takes them (default: the 9x9 map, M = 3, s = 1)."""
    return CyclicShiftExplorer(**settings)
