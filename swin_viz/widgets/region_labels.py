"""Notebook 02 · region labels: sliders over :func:`~swin_viz.figures.plot_region_labels`."""

from __future__ import annotations

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import region_labels
from swin_viz.widgets._stage import Settings, StageExplorer

__all__ = ["RegionLabelsExplorer", "region_labels_explorer"]


class RegionLabelsExplorer(StageExplorer):
    """Stage 2: the label of every token of the shifted map (the regions the shift brought together)."""

    title = "2. Region labels"

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        labels = region_labels(settings.height, settings.width, settings.window, settings.shift)
        return figures.plot_region_labels(labels, settings.window, settings.shift, figure=figure)


def region_labels_explorer(**settings: int) -> RegionLabelsExplorer:
    """Sliders over :func:`~swin_viz.figures.plot_region_labels` (stage 2); ``settings`` as
    :class:`~swin_viz.widgets.StageExplorer` takes them."""
    return RegionLabelsExplorer(**settings)
