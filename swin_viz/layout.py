"""The layout rules: which sizes, windows and shifts a feature map may have, and what the libraries make of them.

Every function of :mod:`swin_viz.tensors` takes a layout -- a feature-map size ``H, W``, a window ``M``
(or ``(Mh, Mw)``) and a shift ``s`` -- and checks it by :func:`validate_layout`'s rules. Notebook 07
(real-world shapes) adds the two ways real code bends them:

* :func:`padded_size`   a map the window does not divide is padded to ``Hp x Wp`` (``pad=True``);
* :func:`clamp_layout`  a map no larger than the window gets a smaller window and no shift, by one of
  the libraries' :data:`CLAMP_RULES`;
* :data:`PAD_ORDERS`    padding before or after the cyclic shift (:mod:`swin_viz.pairs` counts what each
  gets wrong).

The first four names are also importable from :mod:`swin_viz.tensors`, :data:`PAD_ORDERS` from
:mod:`swin_viz.block`; all five from :mod:`swin_viz`.
"""

from __future__ import annotations

from typing import Tuple

from swin_viz._checks import IntPair, check_choice, check_layout, round_up

__all__ = ["validate_layout", "padded_size", "CLAMP_RULES", "clamp_layout", "PAD_ORDERS"]


def validate_layout(
    height: int, width: int, window: IntPair, shift: IntPair = 0, *, pad: bool = False
) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """Check a feature-map layout and return ``(window, shift)`` as pairs.

    The rules, each reported by name when broken:

    * ``height`` and ``width`` are positive ints;
    * ``window`` is a positive int or ``(h, w)`` pair that divides the feature
      map exactly (``height % window_h == 0`` and ``width % window_w == 0``);
      with ``pad=True`` any size is accepted, because the map will be padded
      up to :func:`padded_size` first;
    * ``shift`` is an int or ``(h, w)`` pair with ``0 <= shift < window`` in
      each dimension.
    """
    return check_layout(height, width, window, shift, pad, offer_pad=False)


def padded_size(height: int, width: int, window: IntPair) -> Tuple[int, int]:
    """The feature-map size after padding to a multiple of the window: ``(Hp, Wp)``.

    ``Hp = ceil(H / Mh) * Mh`` and ``Wp = ceil(W / Mw) * Mw``: the real
    libraries (transformers ``SwinLayer.maybe_pad``, torchvision
    ``shifted_window_attention``, timm) add ``Hp - H`` zero rows at the bottom
    and ``Wp - W`` zero columns at the right. Sizes the window divides stay as
    they are.

    Args:
        height, width: feature-map size ``H, W``, positive ints.
        window: ``M`` or ``(Mh, Mw)``, positive.

    Returns:
        ``(Hp, Wp)``.
    """
    window_hw, _ = validate_layout(height, width, window, 0, pad=True)
    return round_up(int(height), int(width), window_hw)


#: The window/shift clamping rules of the real libraries, by name: what each does
#: when the feature map is not larger than the window (see :func:`clamp_layout`).
CLAMP_RULES = {
    "official": (
        "microsoft/Swin-Transformer SwinTransformerBlock.__init__ (and timm v0.9.5 and earlier): "
        "if min(H, W) <= M: shift = 0; window = min(H, W) -- both dimensions, square window only"
    ),
    "transformers": (
        "transformers SwinLayer.set_shift_and_window_size (also DonutSwin, ClapAudio): the official rule, "
        "applied at every forward and kept by the layer for later, larger maps; it does not rebuild the (2M-1)^2 relative position bias table, so when the "
        "window shrinks (min(H, W) < M) the layer raises RuntimeError"
    ),
    "transformers-swinv2": (
        "transformers Swinv2Layer / Swin2SRLayer._compute_window_shift, in __init__: per dimension as timm, then "
        "window_size[0] and shift_size[0] serve both dimensions -- if H <= M: window = H, shift = 0 in both "
        "dimensions; W is not looked at"
    ),
    "timm": (
        "timm SwinTransformerBlock._calc_window_shift, from v0.9.6 (timm/models/swin_transformer.py): per dimension, "
        "if size <= M: window = size; shift = 0 in that dimension only"
    ),
    "torchvision": (
        "torchvision shifted_window_attention: the window is never clamped, the map is padded up to it; "
        "per dimension, if M >= padded size (i.e. size <= M): shift = 0"
    ),
}


def clamp_layout(
    height: int, width: int, window: IntPair, shift: IntPair, rule: str
) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """The effective ``(window, shift)`` a real library uses on a small feature map.

    A window at least as large as the feature map has nothing to shift, so the
    libraries drop the shift there, and some also shrink the window to the map.
    They disagree on the details (the rules are in :data:`CLAMP_RULES`):

    =========================  ===================  ===================================  ================================
    rule                       when                 window becomes                       shift becomes
    =========================  ===================  ===================================  ================================
    ``"official"``             ``min(H, W) <= M``   ``min(H, W)`` in both dimensions     0 in both dimensions
    ``"transformers"``         ``min(H, W) <= M``   ``min(H, W)`` in both dimensions     0 in both dimensions
    ``"transformers-swinv2"``  ``H <= M``           ``H`` in both dimensions             0 in both dimensions
    ``"timm"``                 ``size <= M``, per   that ``size``, in that dimension     0 in that dimension
                               dimension
    ``"torchvision"``          ``size <= M``, per   unchanged (the map is padded up to   0 in that dimension
                               dimension            the window)
    =========================  ===================  ===================================  ================================

    They all use ``<=``: a map exactly the size of the window loses its
    shift. Implementations that never clamp (mmseg's and mmdet's Swin
    backbones, transformers' ``MaskFormerSwinLayer``, mmpretrain with
    ``pad_small_map=True``, transformers ``SwinLayer`` with
    ``always_partition=True``) behave as a ``<`` rule would at that size: they
    keep the shift, and the mask then separates tokens that are neighbours in
    the image. Pass ``clamp=None`` to the block for that behaviour.

    Where the rules differ: ``size == M`` (all drop the shift, the
    never-clamping ones keep it); ``size < M`` (official, transformers and timm
    shrink the window, torchvision pads up to it); a map small in only one
    dimension (official and transformers shrink the window and drop the shift
    in both dimensions, timm and torchvision only in that one, transformers'
    Swinv2 and Swin2SR in both when it is the height and not at all when it is
    the width).

    Two of the rules describe code that does not run every layout they return:
    transformers' ``SwinLayer`` keeps the bias table of the configured window,
    so it raises ``RuntimeError`` whenever its rule shrinks the window
    (``min(H, W) < M``); the official classification code never pads, so it cannot run a
    clamped window that does not divide the map (``5 x 14``, window 5).

    Args:
        height, width: the unpadded feature-map size ``H, W``.
        window: ``M`` or ``(Mh, Mw)``, the configured window.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``, the configured shift.
        rule: one of :data:`CLAMP_RULES`. ``"official"``, ``"transformers"``
            and ``"transformers-swinv2"`` take a square window and shift (an
            int, or an equal pair), as those libraries do.

    Returns:
        ``(window, shift)`` as ``(h, w)`` pairs. The window need not divide the
        map; pad it (``pad=True``) as the libraries do.
    """
    if not isinstance(rule, str):
        raise TypeError(f"rule must be one of {sorted(CLAMP_RULES)}, got {type(rule).__name__} {rule!r}")
    if rule not in CLAMP_RULES:
        raise ValueError(f"rule must be one of {sorted(CLAMP_RULES)} (the libraries' clamping rules), got {rule!r}")
    window_hw, shift_hw = validate_layout(height, width, window, shift, pad=True)
    height, width = int(height), int(width)  # Python ints (validated above), so the pairs returned are ints
    if rule in ("official", "transformers", "transformers-swinv2"):
        if window_hw[0] != window_hw[1] or shift_hw[0] != shift_hw[1]:
            raise ValueError(
                f"rule={rule!r} takes a square window and shift (one int each, as that code does), got "
                f"window={window_hw}, shift={shift_hw}: use rule='timm' or 'torchvision' for per-dimension clamping"
            )
        # official and SwinLayer look at the smaller side; Swinv2Layer keeps the height's result for both
        side = height if rule == "transformers-swinv2" else min(height, width)
        if side <= window_hw[0]:
            return (side, side), (0, 0)
        return window_hw, shift_hw
    # timm and torchvision decide each dimension on its own
    (height_small, width_small) = (height <= window_hw[0], width <= window_hw[1])
    shift_out = (0 if height_small else shift_hw[0], 0 if width_small else shift_hw[1])
    if rule == "timm":
        return (height if height_small else window_hw[0], width if width_small else window_hw[1]), shift_out
    return window_hw, shift_out  # torchvision: the map is padded up to the window instead


#: The two orders in which real code combines padding and the cyclic shift.
PAD_ORDERS = ("pad-then-roll", "roll-then-pad")


def check_order(order: object) -> str:
    """``order`` itself if it is one of :data:`PAD_ORDERS`: the check every function with an ``order`` argument
    (the block, :mod:`swin_viz.pairs`) goes through. ``TypeError``/``ValueError`` naming ``order`` otherwise."""
    return check_choice(order, PAD_ORDERS, "order", "pad before or after the cyclic shift")
