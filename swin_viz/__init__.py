"""Swin mask lab: the shifted-window attention mask of the Swin Transformer, stage by stage.

Three layers, each stage in one place:

* the computation (pure tensor functions, the same as real Swin code):
  :mod:`swin_viz.tensors` (the mask, stage by stage, the slice-loop reference), :mod:`swin_viz.fast`
  (the same tensors, vectorised), :mod:`swin_viz.layout` (padding, the libraries' clamp rules, the pad
  orders), :mod:`swin_viz.block` (the whole shifted-window attention block and an independent oracle),
  :mod:`swin_viz.weights` (its parameters), :mod:`swin_viz.relative_position` (the relative position index and
  bias, stage by stage), :mod:`swin_viz.pairs` (which pairs may attend, and what a
  pad order gets wrong), :mod:`swin_viz.numerics` (what -100 leaves behind, in each dtype),
  :mod:`swin_viz.cost` (FLOPs, times and window counts of the paper's cost argument) and
  :mod:`swin_viz.attentions` (the attentions it measures); their shared argument checks are in
  ``swin_viz._checks``. ``tensors`` re-exports ``fast`` and ``layout``, ``block`` re-exports ``weights``
  and ``pairs``, ``cost`` re-exports ``attentions``: every name is importable from where it always was;
* :mod:`swin_viz.figures`: matplotlib figures of those tensors, redrawn in place by the explorers;
* :mod:`swin_viz.widgets`: ipywidgets sliders wired to the figures.
"""

from swin_viz.block import (
    PAD_ORDERS,
    BlockLayout,
    BlockStages,
    ChangedPairs,
    PadOrderLayout,
    PairRelation,
    WindowAttentionWeights,
    WrongPairs,
    block_layout,
    count_changed_pairs,
    count_wrong_pairs,
    example_block_run,
    leaked_attention,
    oracle_window_attention,
    pad_order_layout,
    padding_queries,
    pair_relation,
    relative_position_index,
    seam_neighbours,
    shifted_window_attention,
)
from swin_viz.check import MaskCheck, check_mask
from swin_viz.relative_position import (
    flatten_coords,
    flatten_relative_coords,
    offset_rows,
    relative_coords,
    relative_coords_table,
    relative_position_bias,
    shared_table_rows,
    shift_relative_coords,
    window_coords,
)
from swin_viz.tensors import (
    CLAMP_RULES,
    allowed_mask,
    as_pair,
    attention_mask,
    clamp_layout,
    cyclic_shift,
    fast_attention_mask,
    fast_region_labels,
    fast_window_labels,
    label_difference,
    masked_window_softmax,
    padded_size,
    region_labels,
    region_slices,
    reverse_cyclic_shift,
    token_origins,
    validate_layout,
    window_grid,
    window_labels,
    window_partition,
    window_reverse,
)

__all__ = [
    # swin_viz.tensors
    "allowed_mask",
    "as_pair",
    "attention_mask",
    "CLAMP_RULES",
    "clamp_layout",
    "cyclic_shift",
    "fast_attention_mask",
    "fast_region_labels",
    "fast_window_labels",
    "label_difference",
    "masked_window_softmax",
    "padded_size",
    "region_labels",
    "region_slices",
    "reverse_cyclic_shift",
    "validate_layout",
    "token_origins",
    "window_grid",
    "window_labels",
    "window_partition",
    "window_reverse",
    # swin_viz.block
    "PAD_ORDERS",
    "BlockStages",
    "PairRelation",
    "WindowAttentionWeights",
    "WrongPairs",
    "count_wrong_pairs",
    "ChangedPairs",
    "count_changed_pairs",
    "leaked_attention",
    "oracle_window_attention",
    "pair_relation",
    "relative_position_index",
    "seam_neighbours",
    "shifted_window_attention",
    "PadOrderLayout",
    "pad_order_layout",
    "padding_queries",
    "BlockLayout",
    "block_layout",
    "example_block_run",
    # swin_viz.check
    "MaskCheck",
    "check_mask",
    # swin_viz.relative_position (its relative_position_index is the one above)
    "window_coords",
    "flatten_coords",
    "relative_coords",
    "shift_relative_coords",
    "flatten_relative_coords",
    "relative_position_bias",
    "relative_coords_table",
    "offset_rows",
    "shared_table_rows",
]
__version__ = "0.1.0"
