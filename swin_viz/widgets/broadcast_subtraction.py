"""Notebook 04 · broadcast subtraction: one window's operands, their difference and mask, every window's mask."""

from __future__ import annotations

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import label_difference
from swin_viz.widgets._stage import WINDOW_PICKER, Settings, StageExplorer, layout_mask, layout_windows

__all__ = ["BroadcastExplorer", "LabelDifferenceExplorer", "WindowMasksExplorer", "broadcast_explorer", "label_difference_explorer", "window_masks_explorer"]


class BroadcastExplorer(StageExplorer):
    """Stage 4: window ``k``'s labels as the column and the row that broadcasting subtracts."""

    title = "4. Broadcast operands"
    CONTROLS = StageExplorer.CONTROLS + (WINDOW_PICKER,)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        return figures.plot_broadcast_operands(layout_windows(settings)[settings.window_index], figure=figure)


class LabelDifferenceExplorer(StageExplorer):
    """Stage 4: window ``k``'s label difference and the mask made from it."""

    title = "4. Difference and mask"
    CONTROLS = StageExplorer.CONTROLS + (WINDOW_PICKER,)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        windows, k = layout_windows(settings), settings.window_index
        return figures.plot_label_difference(label_difference(windows)[k], layout_mask(settings)[k], windows[k], figure=figure)


class WindowMasksExplorer(StageExplorer):
    """Stage 4: the ``N x N`` mask of every window, laid out as the windows are."""

    title = "4. Every window's mask"

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        return figures.plot_window_masks(layout_mask(settings), settings.width // settings.window, figure=figure)


def broadcast_explorer(**settings: int) -> BroadcastExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_broadcast_operands` (stage 4)."""
    return BroadcastExplorer(**settings)


def label_difference_explorer(**settings: int) -> LabelDifferenceExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_label_difference` (stage 4)."""
    return LabelDifferenceExplorer(**settings)


def window_masks_explorer(**settings: int) -> WindowMasksExplorer:
    """Sliders over :func:`~swin_viz.figures.plot_window_masks` (stage 4)."""
    return WindowMasksExplorer(**settings)
