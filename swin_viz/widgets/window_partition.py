"""Notebook 03 · window partition: the labelled map cut into windows, and the windows as rows."""

from __future__ import annotations

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import region_labels, window_partition
from swin_viz.widgets._stage import WINDOW_PICKER, Settings, StageExplorer, layout_windows

__all__ = ["WindowPartitionExplorer", "WindowRowsExplorer", "window_partition_explorer", "window_rows_explorer"]


class WindowPartitionExplorer(StageExplorer):
    """Stage 3: the label map cut into its ``nW`` windows of ``M x M`` tokens."""

    title = "3. Window partition"

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        img_mask = region_labels(settings.height, settings.width, settings.window, settings.shift)
        windows = window_partition(img_mask.view(1, settings.height, settings.width, 1), settings.window)
        return figures.plot_window_partition(windows, settings.height, settings.width, figure=figure)


class WindowRowsExplorer(StageExplorer):
    """Stage 3: each window's labels flattened to one row of ``N`` tokens, window ``k`` highlighted."""

    title = "3. Windows as rows"
    CONTROLS = StageExplorer.CONTROLS + (WINDOW_PICKER,)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        return figures.plot_window_rows(layout_windows(settings), highlight=settings.window_index, figure=figure)


def window_partition_explorer(**settings: int) -> WindowPartitionExplorer:
    """Sliders over :func:`~swin_viz.figures.plot_window_partition` (stage 3); ``settings`` as
    :class:`~swin_viz.widgets.StageExplorer` takes them."""
    return WindowPartitionExplorer(**settings)


def window_rows_explorer(**settings: int) -> WindowRowsExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_window_rows` (stage 3)."""
    return WindowRowsExplorer(**settings)
