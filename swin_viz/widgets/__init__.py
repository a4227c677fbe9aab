"""The explorers: ipywidgets sliders wired to the figures of :mod:`swin_viz.figures`, one module per notebook.

==================================  ===============================================================
module                              explorers
==================================  ===============================================================
:mod:`.overview` (00, the app)      :func:`pipeline_explorer`
:mod:`.cyclic_shift` (01)           :func:`cyclic_shift_explorer`
:mod:`.region_labels` (02)          :func:`region_labels_explorer`
:mod:`.window_partition` (03)       :func:`window_partition_explorer`, :func:`window_rows_explorer`
:mod:`.broadcast_subtraction` (04)  :func:`broadcast_explorer`, :func:`label_difference_explorer`,
                                    :func:`window_masks_explorer`
:mod:`.masked_softmax` (05)         :func:`leak_explorer`, :func:`qk_alignment_explorer`,
                                    :func:`attention_weights_explorer`
:mod:`.full_block` (06)             :func:`block_leak_explorer`
:mod:`.real_world_shapes` (07)      :func:`pad_order_explorer`
:mod:`.numerics` (08)               :func:`numerics_explorer`
:mod:`.cost` (09)                   :func:`cost_explorer`
==================================  ===============================================================

Each ``*_explorer`` function returns an instance of the class defined beside it in its notebook's module.
Every class is an :class:`Explorer` (``_base``: controls declared once, their ranges, the checks of the
constructor's arguments, the redraw loop); the stage explorers of notebooks 00-05 share the layout sliders
``H``, ``W``, ``M``, ``s`` and the pickers ``k``, ``i`` of :class:`StageExplorer` (``_stage``).
:data:`STAGES` lists the stage explorers by name, for tests, the benchmark and pages of explorers.

Importing this package changes nothing in the process; :func:`freeze_imported_objects` is there for a
program that wants the garbage collector to leave its imported modules alone.
"""

from __future__ import annotations

from swin_viz.block import PadOrderLayout, pad_order_layout
from swin_viz.widgets._base import (
    EXPLORER_MAX_WIDTH,
    EXPLORER_PNG_COMPRESSION,
    REDRAW_INTERVAL,
    ChoiceControl,
    Explorer,
    IntControl,
    LogControl,
    Range,
    freeze_imported_objects,
)
from swin_viz.widgets._stage import (
    MAX_WINDOWS,
    SCORE_SEED,
    WINDOW_RANGE,
    Settings,
    StageExplorer,
)
from swin_viz.widgets.broadcast_subtraction import (
    BroadcastExplorer,
    LabelDifferenceExplorer,
    WindowMasksExplorer,
    broadcast_explorer,
    label_difference_explorer,
    window_masks_explorer,
)
from swin_viz.widgets.cost import (
    COST_DIM_RANGE,
    COST_SIZES,
    COST_WINDOW_RANGE,
    CostExplorer,
    cost_explorer,
)
from swin_viz.widgets.cyclic_shift import CyclicShiftExplorer, cyclic_shift_explorer
from swin_viz.widgets.full_block import (
    BLOCK_CHANNELS,
    BLOCK_HEADS,
    BLOCK_SEED,
    BlockLeakExplorer,
    block_leak_explorer,
)
from swin_viz.widgets.masked_softmax import (
    AttentionWeightsExplorer,
    LeakExplorer,
    QkAlignmentExplorer,
    attention_weights_explorer,
    leak_explorer,
    qk_alignment_explorer,
)
from swin_viz.widgets.numerics import (
    NUMERICS_DTYPES,
    NUMERICS_FILLS,
    NUMERICS_SCALE_RANGE,
    NUMERICS_SCALE_STEP,
    NumericsExplorer,
    numerics_explorer,
)
from swin_viz.widgets.overview import PipelineExplorer, pipeline_explorer
from swin_viz.widgets.real_world_shapes import (
    PAD_ORDER_MAX_SIZE,
    PAD_ORDER_MAX_WINDOW,
    PadOrderExplorer,
    pad_order_explorer,
)
from swin_viz.widgets.region_labels import RegionLabelsExplorer, region_labels_explorer
from swin_viz.widgets.window_partition import (
    WindowPartitionExplorer,
    WindowRowsExplorer,
    window_partition_explorer,
    window_rows_explorer,
)

#: A stage: the class of its explorer (a :class:`StageExplorer`), as :data:`STAGES` lists them.
Stage = type[StageExplorer]

#: Every stage explorer, by name, in reading order.
STAGES: dict[str, Stage] = {
    "cyclic_shift": CyclicShiftExplorer,
    "region_labels": RegionLabelsExplorer,
    "window_partition": WindowPartitionExplorer,
    "window_rows": WindowRowsExplorer,
    "broadcast": BroadcastExplorer,
    "label_difference": LabelDifferenceExplorer,
    "window_masks": WindowMasksExplorer,
    "leak": LeakExplorer,
    "qk_alignment": QkAlignmentExplorer,
    "attention_weights": AttentionWeightsExplorer,
    "pipeline": PipelineExplorer,
}


def explorer(stage: str, **settings: int | None) -> StageExplorer:
    """The explorer of the stage named ``stage`` (a key of :data:`STAGES`), starting at ``settings``
    (as :class:`StageExplorer` takes them).

    Raises ``ValueError`` naming the stages if ``stage`` is unknown.
    """
    if stage not in STAGES:
        raise ValueError(f"stage must be one of {', '.join(STAGES)}; got {stage!r}")
    return STAGES[stage](**settings)


__all__ = [
    # the design
    "Explorer",
    "IntControl",
    "ChoiceControl",
    "LogControl",
    "Range",
    "freeze_imported_objects",
    "EXPLORER_MAX_WIDTH",
    "EXPLORER_PNG_COMPRESSION",
    "REDRAW_INTERVAL",
    # the stage explorers (notebooks 00-05)
    "Settings",
    "Stage",
    "StageExplorer",
    "STAGES",
    "WINDOW_RANGE",
    "MAX_WINDOWS",
    "SCORE_SEED",
    "explorer",
    "PipelineExplorer",
    "pipeline_explorer",
    "CyclicShiftExplorer",
    "cyclic_shift_explorer",
    "RegionLabelsExplorer",
    "region_labels_explorer",
    "WindowPartitionExplorer",
    "window_partition_explorer",
    "WindowRowsExplorer",
    "window_rows_explorer",
    "BroadcastExplorer",
    "broadcast_explorer",
    "LabelDifferenceExplorer",
    "label_difference_explorer",
    "WindowMasksExplorer",
    "window_masks_explorer",
    "LeakExplorer",
    "leak_explorer",
    "QkAlignmentExplorer",
    "qk_alignment_explorer",
    "AttentionWeightsExplorer",
    "attention_weights_explorer",
    # notebook 06
    "BLOCK_CHANNELS",
    "BLOCK_HEADS",
    "BLOCK_SEED",
    "BlockLeakExplorer",
    "block_leak_explorer",
    # notebook 07
    "PAD_ORDER_MAX_SIZE",
    "PAD_ORDER_MAX_WINDOW",
    "PadOrderLayout",
    "pad_order_layout",
    "PadOrderExplorer",
    "pad_order_explorer",
    # notebook 08
    "NUMERICS_FILLS",
    "NUMERICS_DTYPES",
    "NUMERICS_SCALE_RANGE",
    "NUMERICS_SCALE_STEP",
    "NumericsExplorer",
    "numerics_explorer",
    # notebook 09
    "COST_SIZES",
    "COST_WINDOW_RANGE",
    "COST_DIM_RANGE",
    "CostExplorer",
    "cost_explorer",
]
