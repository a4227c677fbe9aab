"""Swin mask lab: the shifted-window attention mask of the Swin Transformer, stage by stage.

Three layers, each in its own module:

* :mod:`swin_viz.tensors`  pure tensor functions, the computation (same as the official Swin code);
* :mod:`swin_viz.figures`  matplotlib figures of those tensors;
* :mod:`swin_viz.widgets`  ipywidgets sliders wired to the figures.
"""

from swin_viz.tensors import (
    allowed_mask,
    as_pair,
    attention_mask,
    cyclic_shift,
    fast_attention_mask,
    fast_region_labels,
    fast_window_labels,
    label_difference,
    masked_window_softmax,
    region_labels,
    region_slices,
    reverse_cyclic_shift,
    validate_layout,
    token_origins,
    window_grid,
    window_labels,
    window_partition,
    window_reverse,
)

__all__ = [
    "allowed_mask",
    "as_pair",
    "attention_mask",
    "cyclic_shift",
    "fast_attention_mask",
    "fast_region_labels",
    "fast_window_labels",
    "label_difference",
    "masked_window_softmax",
    "region_labels",
    "region_slices",
    "reverse_cyclic_shift",
    "validate_layout",
    "token_origins",
    "window_grid",
    "window_labels",
    "window_partition",
    "window_reverse",
]
__version__ = "0.1.0"
