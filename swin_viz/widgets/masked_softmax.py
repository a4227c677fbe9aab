"""Notebook 05 · masked softmax: the leak without the mask, Q·Kᵀ against the mask, and the softmax weights."""

from __future__ import annotations

import torch

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.tensors import label_difference, masked_window_softmax, token_origins
from swin_viz.widgets._stage import (
    QUERY_PICKER,
    SCORE_SEED,
    WINDOW_PICKER,
    Settings,
    StageExplorer,
    example_scores,
    layout_mask,
    layout_windows,
)

__all__ = ["AttentionWeightsExplorer", "LeakExplorer", "QkAlignmentExplorer", "attention_weights_explorer", "leak_explorer", "qk_alignment_explorer"]


class LeakExplorer(StageExplorer):
    """Stage 5: where query ``i`` of window ``k`` puts its attention (equal scores), without and with the mask."""

    title = "5. Why it matters: the leak"
    CONTROLS = StageExplorer.CONTROLS + (WINDOW_PICKER, QUERY_PICKER)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        k, i = settings.window_index, settings.query
        equal_scores = torch.zeros(settings.n_windows, 1, settings.n_tokens, settings.n_tokens)
        unmasked = masked_window_softmax(equal_scores, None)[k, 0, i]
        masked = masked_window_softmax(equal_scores, layout_mask(settings))[k, 0, i]
        origins = token_origins(settings.height, settings.width, settings.window, settings.shift)[k]
        return figures.plot_leak(
            origins, layout_windows(settings)[k], unmasked, masked, i, settings.height, settings.width, figure=figure
        )


class QkAlignmentExplorer(StageExplorer):
    """Stage 5: window ``k``'s ``Q·Kᵀ`` positions beside its label difference (walkthrough figure 9)."""

    title = "5. Q·Kᵀ lines up with the mask"
    CONTROLS = StageExplorer.CONTROLS + (WINDOW_PICKER,)

    def __init__(self, **settings: int) -> None:
        # every q_i·k_j label the sliders can show, outlined before the first draw: growing the window to 4 would
        # otherwise wait for 175 new outlines (about 0.1 s), once
        figures.prepare_qk_labels()
        super().__init__(**settings)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        k = settings.window_index
        windows = layout_windows(settings)
        return figures.plot_qk_alignment(windows[k], label_difference(windows[k : k + 1])[0], figure=figure)


class AttentionWeightsExplorer(StageExplorer):
    """Stage 5: window ``k``'s softmax weights of seeded scores, with the mask and without."""

    title = "5. Softmax weights"
    CONTROLS = StageExplorer.CONTROLS + (WINDOW_PICKER,)

    @staticmethod
    def picture(settings: Settings, figure: LabFigure | None = None) -> LabFigure:
        k = settings.window_index
        scores = example_scores(settings)
        weights = masked_window_softmax(scores, layout_mask(settings))[k, 0]
        unmasked = masked_window_softmax(scores, None)[k, 0]
        return figures.plot_attention_weights(
            weights, layout_windows(settings)[k], unmasked=unmasked, seed=SCORE_SEED, figure=figure
        )


def leak_explorer(**settings: int) -> LeakExplorer:
    """Sliders, a window and a query picker over :func:`~swin_viz.figures.plot_leak` (stage 5)."""
    return LeakExplorer(**settings)


def qk_alignment_explorer(**settings: int) -> QkAlignmentExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_qk_alignment` (stage 5)."""
    return QkAlignmentExplorer(**settings)


def attention_weights_explorer(**settings: int) -> AttentionWeightsExplorer:
    """Sliders and a window picker over :func:`~swin_viz.figures.plot_attention_weights` (stage 5)."""
    return AttentionWeightsExplorer(**settings)
