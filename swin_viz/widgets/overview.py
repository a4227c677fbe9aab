"""Notebook 00 · the overview (and the app): every stage in one figure, for one window ``k``."""

from __future__ import annotations

import torch

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import cyclic_shift, masked_window_softmax, region_labels
from swin_viz.widgets._stage import (
    SCORE_SEED,
    WINDOW_PICKER,
    Settings,
    StageExplorer,
    example_scores,
    layout_mask,
    layout_windows,
)

__all__ = ["PipelineExplorer", "pipeline_explorer"]


class PipelineExplorer(StageExplorer):
    """All stages: the shift, the labels, the windows, window ``k``'s mask and its softmax weights."""

    title = "All stages"
    CONTROLS = StageExplorer.CONTROLS + (WINDOW_PICKER,)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        k = settings.window_index
        x = torch.arange(settings.height * settings.width).view(settings.height, settings.width)
        mask = layout_mask(settings)
        weights = masked_window_softmax(example_scores(settings), mask)[k, 0]
        return figures.plot_pipeline(
            cyclic_shift(x, settings.shift),
            region_labels(settings.height, settings.width, settings.window, settings.shift),
            layout_windows(settings),
            mask[k],
            weights,
            settings.window,
            settings.shift,
            k,
            seed=SCORE_SEED,
            figure=figure,
        )


def pipeline_explorer(**settings: int) -> PipelineExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_pipeline` (all stages)."""
    return PipelineExplorer(**settings)
