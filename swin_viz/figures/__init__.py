"""The pictures: matplotlib figures of the tensors that :mod:`swin_viz.tensors` computes.

One module per notebook, named as the notebook is: the figures of ``notebooks/03_window_partition.ipynb``
are in :mod:`swin_viz.figures.window_partition`, and so on (``overview`` is notebook 00). Each ``plot_*``
function takes tensors (and the few layout numbers it needs for annotation) and returns a
:class:`LabFigure`; each ``draw_*`` draws one panel on a given ``Axes``. Nothing here computes the mask:
a notebook computes each tensor in front of the reader, prints it, then draws it.

Conventions shared by every figure:

* a region label always has the same colour (:data:`REGION_COLOURS`), a seam is a dashed red line;
* cells carry their numbers while the grid is small enough (up to :data:`MAX_ANNOTATED` cells a side) and
  the numbers legible (at least ``MIN_TEXT_PX`` pixels and inside their cells: too small cells drop them,
  they are never shrunk below that), thin white lines between cells up to :data:`MAX_LINED` a side, and a
  tick on every cell up to :data:`MAX_ANNOTATED`, beyond that at most :data:`MAX_TICKS`;
* rows are drawn top to bottom, columns left to right, like the tensor prints; thick black lines are
  window borders.

Figures are built with :class:`matplotlib.figure.Figure`, not ``pyplot``, so they hold no global state and
show as a PNG (and nothing else) in Jupyter. Every ``plot_*`` takes ``figure=`` to redraw a figure it
returned before, in place (the explorers do it on every slider change): see :mod:`swin_viz.figures._pool`.

Shared machinery, private to this package: ``_style`` (colours, limits), ``_canvas`` (the figure, its kept
layouts and chrome), ``_pool`` (retained mode: artists pooled and updated in place), ``_grid`` (cells, tiles,
window borders, seams, ticks), ``_text`` (a grid's many short strings as one collection of outlines).
"""

from swin_viz.figures._canvas import LabFigure
from swin_viz.figures._style import (
    ALLOWED_COLOUR,
    DPI,
    FORBIDDEN_COLOUR,
    MAX_ANNOTATED,
    MAX_LINED,
    MAX_NOTES,
    MAX_TICKS,
    MIN_TEXT_PX,
    REGION_COLOURS,
    SEAM_COLOUR,
    ZERO_COLOUR,
    region_colours,
)
from swin_viz.figures.broadcast_subtraction import *  # noqa: F403
from swin_viz.figures.broadcast_subtraction import __all__ as _broadcast_subtraction
from swin_viz.figures.cost import *  # noqa: F403
from swin_viz.figures.cost import __all__ as _cost
from swin_viz.figures.cyclic_shift import *  # noqa: F403
from swin_viz.figures.cyclic_shift import __all__ as _cyclic_shift
from swin_viz.figures.full_block import *  # noqa: F403
from swin_viz.figures.full_block import __all__ as _full_block
from swin_viz.figures.masked_softmax import *  # noqa: F403
from swin_viz.figures.masked_softmax import __all__ as _masked_softmax
from swin_viz.figures.masks_in_the_wild import *  # noqa: F403
from swin_viz.figures.masks_in_the_wild import __all__ as _masks_in_the_wild
from swin_viz.figures.numerics import *  # noqa: F403
from swin_viz.figures.numerics import __all__ as _numerics
from swin_viz.figures.overview import *  # noqa: F403
from swin_viz.figures.overview import __all__ as _overview
from swin_viz.figures.real_world_shapes import *  # noqa: F403
from swin_viz.figures.real_world_shapes import __all__ as _real_world_shapes
from swin_viz.figures.region_labels import *  # noqa: F403
from swin_viz.figures.region_labels import __all__ as _region_labels
from swin_viz.figures.relative_position import *  # noqa: F403
from swin_viz.figures.relative_position import __all__ as _relative_position
from swin_viz.figures.window_partition import *  # noqa: F403
from swin_viz.figures.window_partition import __all__ as _window_partition

__all__ = [
    "LabFigure",
    "REGION_COLOURS",
    "ALLOWED_COLOUR",
    "FORBIDDEN_COLOUR",
    "ZERO_COLOUR",
    "SEAM_COLOUR",
    "MAX_ANNOTATED",
    "MAX_LINED",
    "MAX_TICKS",
    "MAX_NOTES",
    "MIN_TEXT_PX",
    "DPI",
    "region_colours",
    *_overview,
    *_cyclic_shift,
    *_region_labels,
    *_window_partition,
    *_broadcast_subtraction,
    *_masked_softmax,
    *_full_block,
    *_real_world_shapes,
    *_numerics,
    *_cost,
    *_masks_in_the_wild,
    *_relative_position,
]
