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
:mod:`.masks_in_the_wild` (10)      :func:`masks_in_the_wild_explorer`
:mod:`.relative_position` (11)      :func:`relative_position_explorer`
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

from swin_viz.block import PadOrderLayout, pad_order_layout  # notebook 07's layout, where older code found it
from swin_viz.widgets._base import *  # noqa: F403
from swin_viz.widgets._base import __all__ as _base_names
from swin_viz.widgets._stage import *  # noqa: F403
from swin_viz.widgets._stage import StageExplorer
from swin_viz.widgets._stage import __all__ as _stage_names
from swin_viz.widgets.broadcast_subtraction import *  # noqa: F403
from swin_viz.widgets.broadcast_subtraction import BroadcastExplorer, LabelDifferenceExplorer, WindowMasksExplorer
from swin_viz.widgets.broadcast_subtraction import __all__ as _broadcast_subtraction_names
from swin_viz.widgets.cost import *  # noqa: F403
from swin_viz.widgets.cost import __all__ as _cost_names
from swin_viz.widgets.cyclic_shift import *  # noqa: F403
from swin_viz.widgets.cyclic_shift import CyclicShiftExplorer
from swin_viz.widgets.cyclic_shift import __all__ as _cyclic_shift_names
from swin_viz.widgets.full_block import *  # noqa: F403
from swin_viz.widgets.full_block import __all__ as _full_block_names
from swin_viz.widgets.masked_softmax import *  # noqa: F403
from swin_viz.widgets.masked_softmax import AttentionWeightsExplorer, LeakExplorer, QkAlignmentExplorer
from swin_viz.widgets.masked_softmax import __all__ as _masked_softmax_names
from swin_viz.widgets.masks_in_the_wild import *  # noqa: F403
from swin_viz.widgets.masks_in_the_wild import __all__ as _masks_in_the_wild_names
from swin_viz.widgets.numerics import *  # noqa: F403
from swin_viz.widgets.numerics import __all__ as _numerics_names
from swin_viz.widgets.overview import *  # noqa: F403
from swin_viz.widgets.overview import PipelineExplorer
from swin_viz.widgets.overview import __all__ as _overview_names
from swin_viz.widgets.real_world_shapes import *  # noqa: F403
from swin_viz.widgets.real_world_shapes import __all__ as _real_world_shapes_names
from swin_viz.widgets.region_labels import *  # noqa: F403
from swin_viz.widgets.region_labels import RegionLabelsExplorer
from swin_viz.widgets.region_labels import __all__ as _region_labels_names
from swin_viz.widgets.relative_position import *  # noqa: F403
from swin_viz.widgets.relative_position import __all__ as _relative_position_names
from swin_viz.widgets.window_partition import *  # noqa: F403
from swin_viz.widgets.window_partition import WindowPartitionExplorer, WindowRowsExplorer
from swin_viz.widgets.window_partition import __all__ as _window_partition_names

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
    "STAGES", "Stage", "explorer", "PadOrderLayout", "pad_order_layout",
    *_base_names, *_stage_names, *_overview_names, *_cyclic_shift_names, *_region_labels_names, *_window_partition_names,
    *_broadcast_subtraction_names, *_masked_softmax_names, *_full_block_names, *_real_world_shapes_names, *_numerics_names, *_cost_names,
    *_masks_in_the_wild_names,
    *_relative_position_names,
]
