"""The computation: pure tensor functions, one per stage of the SW-MSA mask.

Every function here does what the official Swin Transformer code does, with the
same names and the same layout, so that a reader can put this module beside
``SwinTransformerBlock.__init__`` and ``WindowAttention.forward`` and match them
line by line.  Nothing here draws; :mod:`swin_viz.figures` draws these tensors.

Shapes use the official code's letters:

* ``H, W``  feature-map height and width
* ``M``     window size (``Mh, Mw`` when the window is not square)
* ``s``     shift size (``sh, sw``)
* ``N``     tokens per window, ``N = Mh * Mw``
* ``nW``    windows per image, ``nW = (H // Mh) * (W // Mw)``
* ``B``     batch size; ``B_ = B * nW`` windows in a batch

The stages, in the order the mask is built:

1. :func:`cyclic_shift`            ``torch.roll(x, (-s, -s), dims=(1, 2))``
2. :func:`region_labels`           ``img_mask`` filled by the ``cnt`` loop, ``[H, W]``
3. :func:`window_partition`        ``[B, H, W, C] -> [B*nW, Mh, Mw, C]``
   :func:`window_labels`           ``mask_windows``, ``[nW, N]``
4. :func:`label_difference`        ``mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)``, ``[nW, N, N]``
5. :func:`attention_mask`          ``masked_fill(!= 0, -100).masked_fill(== 0, 0)``, ``[nW, N, N]``
   :func:`masked_window_softmax`   ``attn.view(B_//nW, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)``
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Sequence, Tuple, Union

import torch

__all__ = [
    "IntPair",
    "as_int",
    "MEMORY_BUDGET_BYTES",
    "check_budget",
    "as_pair",
    "validate_layout",
    "padded_size",
    "CLAMP_RULES",
    "clamp_layout",
    "cyclic_shift",
    "reverse_cyclic_shift",
    "region_slices",
    "region_labels",
    "window_partition",
    "window_reverse",
    "window_grid",
    "window_labels",
    "token_origins",
    "label_difference",
    "attention_mask",
    "masked_window_softmax",
]

#: A size given either as one int (square) or as an ``(h, w)`` pair.
IntPair = Union[int, Sequence[int]]


# --------------------------------------------------------------------------- #
# Argument checking: every public function goes through these, so a bad       #
# argument is reported by name and rule, never as an IndexError or a wrong   #
# mask.                                                                       #
# --------------------------------------------------------------------------- #
def as_int(value: object, name: str) -> int:
    """``value`` as a Python ``int``: the one check every integer argument of the package goes through.

    Anything ``operator.index`` accepts is an integer: Python ints, numpy
    integer scalars of every width and sign (``np.uint8(3)``, ``np.int64(9)``),
    a 0-dimensional integer tensor. The result is always a Python ``int``, so
    the arithmetic that follows (``height * width``, ``H * W * N``) can neither
    overflow nor promote types as numpy and torch integers would.

    ``True`` and ``False`` are refused although ``bool`` is a subclass of
    ``int``: a flag passed in an integer's place is a mistake, not a size.

    Raises:
        TypeError: naming ``name``, for bools, floats (even ``3.0``), strings,
            ``None`` and anything else ``operator.index`` refuses.
    """
    is_bool = isinstance(value, bool) or (isinstance(value, torch.Tensor) and value.dtype == torch.bool)
    try:
        if is_bool:
            raise TypeError
        return operator.index(value)  # type: ignore[arg-type]
    except TypeError:
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}") from None


def _check_seed(seed: object) -> int:
    """``seed`` as an int that ``torch.Generator.manual_seed`` takes: ``-2**63 <= seed < 2**64``."""
    seed = as_int(seed, "seed")
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"seed must be in [-2**63, 2**64) (what torch.Generator.manual_seed takes), got {seed}")
    return seed


def _check_device(device: object) -> torch.device | None:
    """``device`` as a ``torch.device`` this build of torch can allocate on (``None`` stays ``None``: torch's default)."""
    if device is None:
        return None
    if not isinstance(device, (str, torch.device)):
        raise TypeError(f"device must be None, a device name such as 'cpu', or a torch.device, got {type(device).__name__} {device!r}")
    try:
        checked = torch.device(device)
        # an empty tensor is the cheapest proof that the device exists in this build; torch reports a
        # bad name as RuntimeError and 'cuda' on a CPU build as AssertionError, so catch them all here
        torch.empty(0, device=checked)
    except Exception as error:  # noqa: BLE001 -- re-raised as the ValueError the rules ask for
        raise ValueError(f"device={str(device)!r} is not a device this torch build can use: {error}") from None
    return checked


# --------------------------------------------------------------------------- #
# The memory budget: a layout too large for the machine is refused before     #
# anything is allocated, with the size, the budget and how to raise it,       #
# rather than swapping for a minute or dying in the allocator.                #
# --------------------------------------------------------------------------- #
#: The most memory one call of the package may allocate, in bytes (2 GiB). Every function whose
#: output size follows from integer arguments (a layout, a window, a number of keys) estimates its peak
#: allocation first and raises ``ValueError`` above this. Raise it for a session with
#: ``swin_viz.tensors.MEMORY_BUDGET_BYTES = 8 * 2**30``.
MEMORY_BUDGET_BYTES = 2 * 2**30


def _format_bytes(nbytes: int) -> str:
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            value = nbytes / size
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    return f"{nbytes} bytes"


def check_budget(nbytes: int, what: str) -> None:
    """Refuse a call that would allocate more than :data:`MEMORY_BUDGET_BYTES`.

    Args:
        nbytes: the call's estimated peak allocation, in bytes.
        what: the call, for the message, e.g. ``"attention_mask(height=4096, ...)"``.

    Raises:
        ValueError: naming the estimated size, the budget and how to raise the budget.
    """
    budget = as_int(MEMORY_BUDGET_BYTES, "swin_viz.tensors.MEMORY_BUDGET_BYTES")
    nbytes = as_int(nbytes, "nbytes")
    if nbytes > budget:
        suggestion = math.ceil(nbytes / 2**30)
        raise ValueError(
            f"{what} would allocate about {_format_bytes(nbytes)}, over the memory budget of {_format_bytes(budget)} "
            f"(swin_viz.tensors.MEMORY_BUDGET_BYTES): use a smaller layout, or raise the budget with "
            f"swin_viz.tensors.MEMORY_BUDGET_BYTES = {suggestion} * 2**30 if the machine has the memory"
        )


def _check_layout_budget(
    function: str, height: int, width: int, window_hw: Tuple[int, int], per_position: int, per_pair: int = 0
) -> None:
    """:func:`check_budget` for a layout already validated (and padded): ``per_position`` bytes for each of the
    ``H*W`` positions plus ``per_pair`` for each of its ``nW*N*N = H*W*N`` (query, key) pairs."""
    positions = height * width
    pairs = positions * window_hw[0] * window_hw[1]
    check_budget(
        positions * per_position + pairs * per_pair,
        f"{function} of a {height}x{width} map in {window_hw[0]}x{window_hw[1]} windows",
    )


def as_pair(value: IntPair, name: str) -> Tuple[int, int]:
    """Return ``value`` as an ``(h, w)`` pair of ints.

    ``3`` becomes ``(3, 3)``; ``(3, 4)`` and ``[3, 4]`` stay ``(3, 4)``.
    Raises ``TypeError`` naming ``name`` for anything else (floats, bools,
    strings, pairs of the wrong length).
    """
    if isinstance(value, (tuple, list, torch.Size)):
        if len(value) != 2:
            raise TypeError(f"{name} must be an int or an (h, w) pair of ints, got {len(value)} values {tuple(value)!r}")
        return as_int(value[0], f"{name}[0]"), as_int(value[1], f"{name}[1]")
    return (as_int(value, name),) * 2


def _positive(value: object, name: str) -> int:
    number = as_int(value, name)
    if number <= 0:
        raise ValueError(f"{name} must be a positive int, got {number}")
    return number


def _as_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def _validate_layout(
    height: int, width: int, window: IntPair, shift: IntPair, pad: bool, offer_pad: bool
) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    # ``offer_pad``: the caller takes ``pad=True``, so a size the window does not divide suggests it
    height = _positive(height, "height")
    width = _positive(width, "width")
    window_hw = as_pair(window, "window")
    shift_hw = as_pair(shift, "shift")
    pad = _as_bool(pad, "pad")
    for dim, size, size_name, win, sh in (
        ("h", height, "height", window_hw[0], shift_hw[0]),
        ("w", width, "width", window_hw[1], shift_hw[1]),
    ):
        if win <= 0:
            raise ValueError(f"window must be positive in each dimension, got window_{dim}={win}")
        if size % win != 0 and not pad:
            hint = ""
            if offer_pad:
                padded_h, padded_w = (math.ceil(n / m) * m for n, m in zip((height, width), window_hw, strict=True))
                hint = f", or pass pad=True to pad it with zeros at the bottom/right to {padded_h}x{padded_w}"
            raise ValueError(
                f"window_{dim}={win} does not divide {size_name}={size}: "
                f"{size_name} must be a multiple of the window (pad the feature map to "
                f"{math.ceil(size / win) * win} first){hint}"
            )
        if not 0 <= sh < win:
            raise ValueError(f"shift_{dim}={sh} is outside [0, window_{dim}={win}): the shift must satisfy 0 <= shift < window")
    return window_hw, shift_hw


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
    return _validate_layout(height, width, window, shift, pad, offer_pad=False)


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
    return _round_up(int(height), int(width), window_hw)


def _round_up(height: int, width: int, window_hw: Tuple[int, int]) -> Tuple[int, int]:
    """``(Hp, Wp)`` of a layout already validated (no second check: the fast path calls this every time)."""
    return math.ceil(height / window_hw[0]) * window_hw[0], math.ceil(width / window_hw[1]) * window_hw[1]


def _padded_layout(
    height: int, width: int, window: IntPair, shift: IntPair, pad: bool
) -> Tuple[int, int, Tuple[int, int], Tuple[int, int]]:
    """Validate for a function with a ``pad`` option; return ``(Hp, Wp, window, shift)``."""
    window_hw, shift_hw = _validate_layout(height, width, window, shift, pad, offer_pad=True)
    return (*_round_up(height, width, window_hw), window_hw, shift_hw)


#: The window/shift clamping rules of the real libraries, by name: what each does
#: when the feature map is not larger than the window (see :func:`clamp_layout`).
CLAMP_RULES = {
    "official": (
        "microsoft/Swin-Transformer SwinTransformerBlock.__init__ (and timm < 0.9): "
        "if min(H, W) <= M: shift = 0; window = min(H, W) -- both dimensions, square window only"
    ),
    "transformers": (
        "transformers SwinLayer.set_shift_and_window_size (also DonutSwin, ClapAudio): the official rule, "
        "applied at every forward; it does not rebuild the (2M-1)^2 relative position bias table"
    ),
    "timm": (
        "timm >= 0.9 SwinTransformerBlock._calc_window_shift (also transformers Swinv2/Swin2SR): per dimension, "
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

    ==================  ===================  ===================================  ================================
    rule                when                 window becomes                       shift becomes
    ==================  ===================  ===================================  ================================
    ``"official"``      ``min(H, W) <= M``   ``min(H, W)`` in both dimensions     0 in both dimensions
    ``"transformers"``  ``min(H, W) <= M``   ``min(H, W)`` in both dimensions     0 in both dimensions
    ``"timm"``          ``size <= M``, per   that ``size``, in that dimension     0 in that dimension
                        dimension
    ``"torchvision"``   ``size <= M``, per   unchanged (the map is padded up to   0 in that dimension
                        dimension            the window)
    ==================  ===================  ===================================  ================================

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
    in both dimensions, timm and torchvision only in that one).

    Args:
        height, width: the unpadded feature-map size ``H, W``.
        window: ``M`` or ``(Mh, Mw)``, the configured window.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``, the configured shift.
        rule: one of :data:`CLAMP_RULES`. ``"official"`` and ``"transformers"``
            take a square window and shift (an int, or an equal pair), as
            those libraries do.

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
    if rule in ("official", "transformers"):
        if window_hw[0] != window_hw[1] or shift_hw[0] != shift_hw[1]:
            raise ValueError(
                f"rule={rule!r} takes a square window and shift (one int each, as that code does), got "
                f"window={window_hw}, shift={shift_hw}: use rule='timm' or 'torchvision' for per-dimension clamping"
            )
        if min(height, width) <= window_hw[0]:
            return (min(height, width),) * 2, (0, 0)
        return window_hw, shift_hw
    # timm and torchvision decide each dimension on its own
    (height_small, width_small) = (height <= window_hw[0], width <= window_hw[1])
    shift_out = (0 if height_small else shift_hw[0], 0 if width_small else shift_hw[1])
    if rule == "timm":
        return (height if height_small else window_hw[0], width if width_small else window_hw[1]), shift_out
    return window_hw, shift_out  # torchvision: the map is padded up to the window instead


#: Bytes each function allocates at its peak, per position of the (padded) map and, for the masks, per
#: (query, key) pair, counted from the tensors each one holds at once (tests/test_hardening.py measures them).
_BYTES = {
    "region_labels": 8,  # img_mask, int64
    "window_grid": 8,  # window_reverse's contiguous copy of the (expanded, free) window ids, int64
    "window_labels": 16,  # img_mask and its partitioned copy, int64
    "token_origins": 48,  # (row, col) int64 stacked, rolled (a copy), partitioned (a copy)
    "fast_labels": 8,  # the int64 labels (the bands are one row and one column)
    # per pair: the float32 label difference, its != 0 (bool), the first masked_fill (float32), its == 0
    # (bool) and the second masked_fill (float32), all alive at once at the end of the chain
    "attention_mask": 14,
}


def _check_tensor(x: object, name: str, ndims: Tuple[int, ...], shape_text: str) -> torch.Tensor:
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_text}, got {type(x).__name__}")
    if x.dim() not in ndims:
        raise ValueError(f"{name} must have shape {shape_text}, got {x.dim()} dimensions {tuple(x.shape)}")
    return x


# --------------------------------------------------------------------------- #
# Stage 1: cyclic shift                                                       #
# --------------------------------------------------------------------------- #
def _spatial_dims(x: torch.Tensor, name: str) -> Tuple[int, int]:
    _check_tensor(x, name, (2, 4), "[H, W] or [B, H, W, C]")
    return (0, 1) if x.dim() == 2 else (1, 2)


def _shift_for(x: torch.Tensor, shift: IntPair, dims: Tuple[int, int]) -> Tuple[int, int]:
    shift_hw = as_pair(shift, "shift")
    for dim, size, sh in zip("hw", (x.shape[dims[0]], x.shape[dims[1]]), shift_hw, strict=True):
        if not 0 <= sh < size:
            raise ValueError(
                f"shift_{dim}={sh} is outside [0, {size}): the shift must be non-negative and smaller than the feature map"
            )
    return shift_hw


def cyclic_shift(x: torch.Tensor, shift: IntPair) -> torch.Tensor:
    """Roll the feature map up and left by ``shift``: the official ``torch.roll(x, (-s, -s), dims=(1, 2))``.

    The top ``shift_h`` rows move to the bottom and the left ``shift_w``
    columns move to the right, so the windows of the rolled map are the
    shifted windows of the original.

    Args:
        x: ``[H, W]`` or ``[B, H, W, C]``.
        shift: ``s`` or ``(sh, sw)``, each in ``[0, size)``.

    Returns:
        A new tensor of the same shape as ``x``.
    """
    dims = _spatial_dims(x, "x")
    sh, sw = _shift_for(x, shift, dims)
    return torch.roll(x, shifts=(-sh, -sw), dims=dims)


def reverse_cyclic_shift(x: torch.Tensor, shift: IntPair) -> torch.Tensor:
    """Undo :func:`cyclic_shift`: ``torch.roll(x, (s, s), dims=(1, 2))``.

    Args:
        x: ``[H, W]`` or ``[B, H, W, C]``.
        shift: the same ``s`` or ``(sh, sw)`` given to :func:`cyclic_shift`.

    Returns:
        A new tensor of the same shape as ``x``.
    """
    dims = _spatial_dims(x, "x")
    sh, sw = _shift_for(x, shift, dims)
    return torch.roll(x, shifts=(sh, sw), dims=dims)


# --------------------------------------------------------------------------- #
# Stage 2: region labels                                                      #
# --------------------------------------------------------------------------- #
def region_slices(window: int, shift: int) -> Tuple[slice, ...]:
    """The bands of one dimension: ``(slice(0, -M), slice(-M, -s), slice(-s, None))``.

    These are the official ``h_slices`` / ``w_slices``. In the rolled map the
    last ``s`` rows (``slice(-s, None)``) are the ones that came over from the
    top edge; ``slice(-M, -s)`` is the rest of the last window row; and
    ``slice(0, -M)`` is everything above, which no window shares with the others.

    With ``shift == 0`` nothing wraps, so the dimension is one band,
    ``(slice(0, None),)``. (The official code only builds a mask when the shift
    is positive; written with ``s = 0`` its middle slice ``slice(-M, 0)`` would
    be empty and its last slice ``slice(0, None)`` would cover the whole map.)
    """
    window = _positive(window, "window")
    shift = as_int(shift, "shift")
    if not 0 <= shift < window:
        raise ValueError(f"shift={shift} is outside [0, window={window}): the shift must satisfy 0 <= shift < window")
    if shift == 0:
        return (slice(0, None),)
    return (slice(0, -window), slice(-window, -shift), slice(-shift, None))


def region_labels(height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False) -> torch.Tensor:
    """Label every position of the rolled map with its region: the official ``img_mask`` loop.

    ``cnt`` counts the ``(h, w)`` pairs of :func:`region_slices` in row-major
    order, so for ``shift > 0`` the labels are ``0..8``::

        img_mask = torch.zeros((1, H, W, 1))
        cnt = 0
        for h in h_slices:
            for w in w_slices:
                img_mask[:, h, w, :] = cnt
                cnt += 1

    Two positions carry the same label exactly when the roll moved both of
    them, or neither, across each image edge.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window
            unless ``pad=True``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: label the map padded to :func:`padded_size` ``(Hp, Wp)``, as the
            libraries do when they pad before the roll (pad-then-roll).

    Returns:
        ``LongTensor[H, W]`` (the official ``img_mask[0, :, :, 0]``);
        ``[Hp, Wp]`` with ``pad=True``.
    """
    height, width, (window_h, window_w), (shift_h, shift_w) = _padded_layout(height, width, window, shift, pad)
    _check_layout_budget("region_labels", height, width, (window_h, window_w), _BYTES["region_labels"])
    img_mask = torch.zeros((height, width), dtype=torch.long)
    cnt = 0
    for h in region_slices(window_h, shift_h):
        for w in region_slices(window_w, shift_w):
            img_mask[h, w] = cnt
            cnt += 1
    return img_mask


# --------------------------------------------------------------------------- #
# Stage 3: windows                                                            #
# --------------------------------------------------------------------------- #
def window_partition(x: torch.Tensor, window: IntPair) -> torch.Tensor:
    """Cut a feature map into non-overlapping windows, as the official ``window_partition``.

    Windows come out in row-major order over the window grid (window ``k`` is
    at window-row ``k // (W // Mw)``, window-column ``k % (W // Mw)``), and
    the tokens of each window in row-major order inside it.

    Args:
        x: ``[B, H, W, C]`` with ``H % Mh == 0`` and ``W % Mw == 0``.
        window: ``M`` or ``(Mh, Mw)``.

    Returns:
        ``[B * nW, Mh, Mw, C]``.
    """
    _check_tensor(x, "x", (4,), "[B, H, W, C]")
    B, H, W, C = x.shape
    (window_h, window_w), _ = validate_layout(H, W, window, 0)
    x = x.view(B, H // window_h, window_h, W // window_w, window_w, C)
    n_windows = (H // window_h) * (W // window_w)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B * n_windows, window_h, window_w, C)


def window_reverse(windows: torch.Tensor, window: IntPair, height: int, width: int) -> torch.Tensor:
    """Put windows back into feature maps: the inverse of :func:`window_partition`.

    Args:
        windows: ``[B * nW, Mh, Mw, C]``.
        window: ``M`` or ``(Mh, Mw)``; must match ``windows.shape[1:3]``.
        height, width: feature-map size ``H, W``.

    Returns:
        ``[B, H, W, C]``.
    """
    _check_tensor(windows, "windows", (4,), "[B*nW, Mh, Mw, C]")
    (window_h, window_w), _ = validate_layout(height, width, window, 0)
    height, width = int(height), int(width)  # Python ints (validated above): numpy ints would overflow in the views
    if tuple(windows.shape[1:3]) != (window_h, window_w):
        raise ValueError(
            f"windows have shape {tuple(windows.shape)} but window={(window_h, window_w)}: "
            "windows.shape[1:3] must equal the window"
        )
    n_windows = (height // window_h) * (width // window_w)
    if windows.shape[0] % n_windows != 0:
        raise ValueError(
            f"windows.shape[0]={windows.shape[0]} is not a multiple of nW={n_windows}, "
            f"the number of {window_h}x{window_w} windows in a {height}x{width} map"
        )
    B = windows.shape[0] // n_windows
    C = windows.shape[-1]
    x = windows.view(B, height // window_h, width // window_w, window_h, window_w, C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B, height, width, C)


def window_grid(height: int, width: int, window: IntPair) -> torch.Tensor:
    """Which window each position falls in, numbered in :func:`window_partition` order.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window.
        window: ``M`` or ``(Mh, Mw)``.

    Returns:
        ``LongTensor[H, W]`` with values ``0..nW-1``.
    """
    (window_h, window_w), _ = validate_layout(height, width, window, 0)
    height, width = int(height), int(width)  # Python ints (validated above): numpy ints would overflow
    _check_layout_budget("window_grid", height, width, (window_h, window_w), _BYTES["window_grid"])
    n_windows = (height // window_h) * (width // window_w)
    ids = torch.arange(n_windows).view(n_windows, 1, 1, 1).expand(n_windows, window_h, window_w, 1)
    return window_reverse(ids, (window_h, window_w), height, width)[0, :, :, 0]


def window_labels(height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False) -> torch.Tensor:
    """The region label of every token, one row per window: the official ``mask_windows``.

    ``window_partition(img_mask, M).view(-1, M * M)``. Row ``k`` lists the
    labels of window ``k``'s ``N`` tokens in token order.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window
            unless ``pad=True``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: the labels of the padded ``Hp x Wp`` map (pad-then-roll).

    Returns:
        ``LongTensor[nW, N]`` (``nW`` of the padded map with ``pad=True``).
    """
    height, width, (window_h, window_w), shift_hw = _padded_layout(height, width, window, shift, pad)
    _check_layout_budget("window_labels", height, width, (window_h, window_w), _BYTES["window_labels"])
    img_mask = region_labels(height, width, (window_h, window_w), shift_hw)
    mask_windows = window_partition(img_mask.view(1, height, width, 1), (window_h, window_w))
    return mask_windows.view(-1, window_h * window_w)


def token_origins(height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False) -> torch.Tensor:
    """Where each token of each shifted window sat in the original (un-rolled) feature map.

    Rolls a map of ``(row, column)`` coordinates with :func:`cyclic_shift` and
    cuts it with :func:`window_partition`, exactly as the block does to the
    features, so token ``n`` of window ``k`` came from ``origins[k, n]``.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window
            unless ``pad=True``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: roll the map padded to ``Hp x Wp`` (pad-then-roll); a row
            ``>= H`` or a column ``>= W`` is then a padding token.

    Returns:
        ``LongTensor[nW, N, 2]``: ``[..., 0]`` the original row, ``[..., 1]`` the original column.
    """
    height, width, (window_h, window_w), shift_hw = _padded_layout(height, width, window, shift, pad)
    _check_layout_budget("token_origins", height, width, (window_h, window_w), _BYTES["token_origins"])
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    coordinates = torch.stack((rows, cols), dim=-1).unsqueeze(0)  # [1, H, W, 2]
    windows = window_partition(cyclic_shift(coordinates, shift_hw), (window_h, window_w))
    return windows.view(-1, window_h * window_w, 2)


# --------------------------------------------------------------------------- #
# Stages 4 and 5: the mask and its use                                        #
# --------------------------------------------------------------------------- #
def label_difference(mask_windows: torch.Tensor) -> torch.Tensor:
    """Compare every pair of tokens in a window: ``mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)``.

    ``[nW, 1, N] - [nW, N, 1]`` broadcasts to ``[nW, N, N]``; entry
    ``[k, i, j]`` is ``label[j] - label[i]`` of window ``k``: zero exactly when
    query token ``i`` and key token ``j`` lie in the same region.

    Args:
        mask_windows: ``[nW, N]`` labels, as from :func:`window_labels`.

    Returns:
        ``[nW, N, N]``, same dtype as ``mask_windows``.
    """
    _check_tensor(mask_windows, "mask_windows", (2,), "[nW, N]")
    if mask_windows.dtype == torch.bool:
        # torch refuses ``-`` on bools; the labels are numbers, as window_labels returns them
        raise TypeError(
            "mask_windows must hold integer or floating labels, as window_labels(...) returns, got dtype torch.bool "
            "(convert it with mask_windows.long())"
        )
    return mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)


def _check_fill(fill: object, dtype: torch.dtype = torch.float32) -> float:
    """``fill`` as a float, checked: a negative real number (or ``-inf``) within the range of ``dtype``
    that does not round to zero in ``dtype`` (a fill of ``-0.0`` masks nothing)."""
    if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
        raise TypeError(f"dtype must be a floating-point torch.dtype such as torch.float32, got {dtype!r}")
    if isinstance(fill, bool) or not isinstance(fill, numbers.Real):
        raise TypeError(f"fill must be a real number such as -100.0, got {type(fill).__name__} {fill!r}")
    dtype_name = str(dtype).replace("torch.", "")
    lowest = torch.finfo(dtype).min
    try:
        value = float(fill)
    except OverflowError:  # an int beyond every float
        value = -math.inf if fill < 0 else math.inf
        if value < 0:
            raise ValueError(f"fill={fill} does not fit in {dtype_name}: use a value >= {lowest:.4g}, or -inf") from None
    if math.isnan(value) or value >= 0:
        raise ValueError(f"fill must be negative (it is added to the scores of forbidden pairs), got {fill}")
    if value < lowest and not math.isinf(value):
        raise ValueError(f"fill={fill} does not fit in {dtype_name}: use a value >= {lowest:.4g}, or -inf")
    _check_fill_survives(value, dtype)
    return value


def _check_fill_survives(fill: float, dtype: torch.dtype) -> None:
    """Refuse a fill so small that it rounds to ``-0.0`` in ``dtype``: the mask would then mask nothing."""
    if torch.tensor(fill, dtype=torch.float64).to(dtype).item() == 0.0:
        dtype_name = str(dtype).replace("torch.", "")
        smallest = torch.finfo(dtype).tiny * torch.finfo(dtype).eps  # the smallest subnormal of dtype
        raise ValueError(
            f"fill={fill} rounds to 0 in {dtype_name}, so the mask would mask nothing: use a fill such as "
            f"-100.0 (at most -{smallest:.3g} in {dtype_name}), or -inf"
        )


def attention_mask(
    height: int, width: int, window: IntPair, shift: IntPair, fill: float = -100.0, *, pad: bool = False
) -> torch.Tensor:
    """The SW-MSA attention mask: 0.0 where a query may attend to a key, ``fill`` elsewhere.

    The official construction::

        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))

    With ``shift == 0`` every label is the same and the mask is all zeros (the
    official code then passes ``mask=None``, which has the same effect).

    Args:
        height, width: feature-map size ``H, W``; multiples of the window
            unless ``pad=True``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        fill: the value added to forbidden scores; a negative number or ``-inf``.
        pad: the mask of the map padded to :func:`padded_size` ``(Hp, Wp)``,
            the pad-then-roll convention of transformers and torchvision: the
            zero tokens go at the bottom/right *before* the roll, so the rows
            that wrap are the last ``s`` rows of the padded map and the
            regions line up. Padding tokens are not masked as keys.

    Returns:
        ``FloatTensor[nW, N, N]`` (``nW`` of the padded map with ``pad=True``).
    """
    fill = _check_fill(fill)
    height_p, width_p, window_hw, _ = _padded_layout(height, width, window, shift, pad)
    _check_layout_budget("attention_mask", height_p, width_p, window_hw, _BYTES["window_labels"], _BYTES["attention_mask"])
    mask_windows = window_labels(height, width, window, shift, pad=pad).float()
    attn_mask = label_difference(mask_windows)
    return attn_mask.masked_fill(attn_mask != 0, float(fill)).masked_fill(attn_mask == 0, float(0.0))


def _check_mask_values(mask: torch.Tensor, name: str = "mask") -> None:
    """A mask is a bool mask (True = may attend) or an additive float mask: 0 where a query may attend,
    a negative fill (down to ``-inf``) where it may not. Anything else would change the scores of allowed
    pairs (a positive entry, a label difference) or poison the softmax (NaN)."""
    if mask.dtype == torch.bool:
        return
    if not mask.is_floating_point():
        raise TypeError(
            f"{name} must be a float mask (0 where a query may attend, a negative fill where not, as attention_mask "
            f"returns) or a bool mask (True where it may attend, as allowed_mask returns), got dtype {mask.dtype}"
        )
    if mask.device.type == "meta":  # shapes only, no values to check (attention_flops counts on meta tensors)
        return
    if not bool((mask <= 0).all()):  # also False for NaN
        bad = mask[~(mask <= 0)]
        raise ValueError(
            f"{name} must hold 0 (may attend) or a negative fill such as -100.0 or -inf (may not), as "
            f"attention_mask(...) returns, or be a bool mask; got {bad.numel()} entries that are positive or NaN "
            f"(e.g. {bad[0].item()})"
        )


def masked_window_softmax(attn: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Add the mask to the scores of every window and take the softmax, as ``WindowAttention.forward``.

    ::

        nW = mask.shape[0]
        attn = attn.view(B_ // nW, nW, num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, N, N)
        attn = softmax(attn, dim=-1)

    ``attn`` holds the windows of the batch image by image (``B_ = B * nW``,
    as :func:`window_partition` orders them), so the ``view`` lines window
    ``k`` of every image up with ``mask[k]``; ``unsqueeze(1)`` broadcasts the
    mask over heads and ``unsqueeze(0)`` over images.

    The mask is either the additive float mask of :func:`attention_mask` (0
    where a query may attend, a negative fill where not; anything positive or
    NaN is refused) or the bool mask of :func:`allowed_mask` (``True`` = may
    attend, as ``scaled_dot_product_attention`` reads it). A bool mask stands
    for the official float mask: 0 where ``True``, ``-100.0`` where ``False``,
    so ``allowed_mask(...)`` gives exactly the weights of ``attention_mask(...)``.

    Args:
        attn: scores ``Q·Kᵀ``, ``[B_, heads, N, N]`` floating, with ``B_ = B * nW``.
        mask: ``[nW, N, N]`` float or bool, or ``None`` for W-MSA without a
            shift (plain softmax).

    Returns:
        Attention weights, ``[B_, heads, N, N]``; each row sums to 1.
    """
    _check_tensor(attn, "attn", (4,), "[B*nW, heads, N, N]")
    if not attn.is_floating_point():
        raise TypeError(f"attn must be a floating-point tensor of scores, got dtype {attn.dtype}")
    B_, heads, N, N2 = attn.shape
    if N != N2:
        raise ValueError(f"attn must be square in its last two dimensions [.., N, N], got {tuple(attn.shape)}")
    if mask is not None:
        _check_tensor(mask, "mask", (3,), "[nW, N, N]")
        nW = mask.shape[0]
        if tuple(mask.shape[1:]) != (N, N):
            raise ValueError(f"mask has shape {tuple(mask.shape)} but attn has N={N}: mask must be [nW, {N}, {N}]")
        if nW == 0 or B_ % nW != 0:
            raise ValueError(f"attn.shape[0]={B_} must be a multiple of nW={nW} (mask.shape[0]): attn holds B*nW windows")
        _check_mask_values(mask)
        if mask.dtype == torch.bool:
            mask = torch.zeros(mask.shape, dtype=attn.dtype, device=mask.device).masked_fill(~mask, -100.0)
        # every size spelled out: a -1 cannot be inferred when a dimension is 0 (no heads, no windows)
        attn = attn.view(B_ // nW, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(B_, heads, N, N)
    return torch.softmax(attn, dim=-1)


# --------------------------------------------------------------------------- #
# The fast path: the same tensors, built without Python loops                 #
# --------------------------------------------------------------------------- #
# The functions above follow the official code step by step and are the      #
# readable reference.  torchvision and transformers rebuild this mask on      #
# every forward pass when the input size varies, so its cost is real; the     #
# functions below build the very same tensors in closed form.                 #
#                                                                             #
# Region labels.  region_slices cuts each dimension of size S into bands:     #
# band 0 = [0, S - M), band 1 = [S - M, S - s), band 2 = [S - s, S).  So the  #
# band of index p is ``(p >= S - M) + (p >= S - s)`` (two comparisons on an   #
# arange), and with s = 0 there is one band, 0.  The cnt loop visits the      #
# (h, w) band pairs in row-major order, so the label it writes is             #
# ``band_h * n_bands_w + band_w`` (n_bands_w = 3, or 1 when s_w = 0): the     #
# same number at every position, empty bands included, because cnt counts    #
# them too.                                                                   #
#                                                                             #
# Window labels.  A label map that is a sum of a row term and a column term   #
# is cut into windows by a view: window (i, j), token (r, c) sits at row      #
# i*Mh + r and column j*Mw + c, so mask_windows is                            #
# ``band_h.view(nWh, 1, Mh, 1) * n_bands_w + band_w.view(1, nWw, 1, Mw)``.    #
#                                                                             #
# The mask.  Bands 1 and 2 lie in the last M rows (columns), i.e. in the last #
# row (column) of windows; every other window holds one region, so its mask   #
# is all zeros.  The windows of the last column all split the same way, at    #
# window column ``Mw - sw`` (query column < Mw - sw with key column >= it, or #
# the other way round): one [N, N] pattern, built once and copied.  A window  #
# of the last row splits at window row ``Mh - sh``; with tokens in row-major  #
# order that is token ``k = (Mh - sh) * Mw``, so its forbidden pairs are two  #
# rectangles, ``[:k, k:]`` and ``[k:, :k]``, filled in place.  The corner     #
# window gets both, and its forbidden set is the union, as its nine-label     #
# difference gives.  So the mask is a zero fill of all windows but the last   #
# column, one copy of a pattern into that column and two rectangle fills in   #
# the last row: every entry is written once, except the rectangles (at most  #
# half of each window of the last row), and most of the work is the fill.     #
# --------------------------------------------------------------------------- #
__all__ += ["fast_region_labels", "fast_window_labels", "fast_attention_mask", "allowed_mask"]

_Device = Union[torch.device, str, None]  # where to build a tensor (None: torch's default device)


def _bands(size: int, window: int, shift: int, device: _Device) -> Tuple[torch.Tensor, int]:
    """The band of every index of one dimension (``LongTensor[size]``) and the number of bands."""
    index = torch.arange(size, device=device)
    if shift == 0:
        return torch.zeros_like(index), 1
    return (index >= size - window).long() + (index >= size - shift).long(), 3


def fast_region_labels(
    height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False, device: _Device = None
) -> torch.Tensor:
    """:func:`region_labels` in closed form: ``band_h * n_bands_w + band_w``, no loop.

    Equal to :func:`region_labels` entry for entry (the same ``cnt`` numbers).

    Args:
        height, width: feature-map size ``H, W``; multiples of the window unless ``pad``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: label the map padded to ``Hp = ceil(H / Mh) * Mh`` by ``Wp = ceil(W / Mw) * Mw``
            (padded, then rolled, as transformers' ``SwinLayer`` does).
        device: where to build the tensor (default: torch's default device).

    Returns:
        ``LongTensor[H, W]`` (``[Hp, Wp]`` with ``pad``).
    """
    height, width, (window_h, window_w), (shift_h, shift_w) = _padded_layout(height, width, window, shift, pad)
    device = _check_device(device)
    _check_layout_budget("fast_region_labels", height, width, (window_h, window_w), _BYTES["fast_labels"])
    band_h, _ = _bands(height, window_h, shift_h, device)
    band_w, n_bands_w = _bands(width, window_w, shift_w, device)
    return band_h.unsqueeze(1) * n_bands_w + band_w.unsqueeze(0)


def fast_window_labels(
    height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False, device: _Device = None
) -> torch.Tensor:
    """:func:`window_labels` (``mask_windows``) in closed form, cut into windows by a view.

    Equal to :func:`window_labels` entry for entry.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window unless ``pad``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: label the windows of the map padded to ``Hp x Wp`` (see :func:`fast_region_labels`).
        device: where to build the tensor.

    Returns:
        ``LongTensor[nW, N]``.
    """
    height, width, (window_h, window_w), (shift_h, shift_w) = _padded_layout(height, width, window, shift, pad)
    device = _check_device(device)
    _check_layout_budget("fast_window_labels", height, width, (window_h, window_w), _BYTES["fast_labels"])
    n_rows, n_cols = height // window_h, width // window_w
    band_h, _ = _bands(height, window_h, shift_h, device)
    band_w, n_bands_w = _bands(width, window_w, shift_w, device)
    mask_windows = band_h.view(n_rows, 1, window_h, 1) * n_bands_w + band_w.view(1, n_cols, 1, window_w)
    return mask_windows.view(n_rows * n_cols, window_h * window_w)


def _mask_of(
    height: int,
    width: int,
    window: IntPair,
    shift: IntPair,
    pad: bool,
    dtype: torch.dtype,
    allowed: Union[float, bool],
    forbidden: Union[float, bool],
    device: _Device,
) -> torch.Tensor:
    """``[nW, N, N]`` of ``dtype``: ``forbidden`` on the cross-region pairs, ``allowed`` elsewhere."""
    height, width, (window_h, window_w), (shift_h, shift_w) = _padded_layout(height, width, window, shift, pad)
    device = _check_device(device)
    n_rows, n_cols = height // window_h, width // window_w
    N = window_h * window_w
    itemsize = torch.empty(0, dtype=dtype).element_size()
    # the mask, and the one window's column pattern copied into the last column of windows
    check_budget(
        (height * width * N + N * N) * itemsize,
        f"{'allowed_mask' if dtype == torch.bool else 'fast_attention_mask'} of a {height}x{width} map in "
        f"{window_h}x{window_w} windows ({str(dtype).replace('torch.', '')})",
    )
    mask = torch.empty((n_rows, n_cols, N, N), dtype=dtype, device=device)
    if shift_w:
        # Every window but the last column holds no column split: fill them. The last column of windows
        # splits at window column Mw - sw, the same way in each: build that one pattern on a
        # [query row, query column, key row, key column] view and copy it in.
        mask[:, :-1].fill_(allowed)
        split = window_w - shift_w
        column = torch.full((window_h, window_w, window_h, window_w), allowed, dtype=dtype, device=device)
        column[:, :split, :, split:].fill_(forbidden)
        column[:, split:, :, :split].fill_(forbidden)
        mask[:, -1].copy_(column.view(N, N))
    else:
        mask.fill_(allowed)
    if shift_h:
        # The last row of windows splits at token (Mh - sh) * Mw: two rectangles in each. The corner
        # window already holds the column pattern, so it ends with both splits.
        split = (window_h - shift_h) * window_w
        mask[-1, :, :split, split:].fill_(forbidden)
        mask[-1, :, split:, :split].fill_(forbidden)
    return mask.view(n_rows * n_cols, N, N)


def fast_attention_mask(
    height: int,
    width: int,
    window: IntPair,
    shift: IntPair,
    fill: float = -100.0,
    *,
    pad: bool = False,
    dtype: torch.dtype = torch.float32,
    device: _Device = None,
) -> torch.Tensor:
    """:func:`attention_mask` as a zero fill, a pattern copied into the last window column, two fills in the last row.

    Equal to :func:`attention_mask` entry for entry (``0.0`` and ``fill``,
    never ``-0.0``) and close to the cost of allocating and zeroing the
    output; see the section comment above for why the fills give the same mask.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window unless ``pad``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        fill: the value added to forbidden scores; negative or ``-inf``, and within ``dtype``'s range.
        pad: the mask of the map padded to ``Hp x Wp`` (see :func:`fast_region_labels`).
        dtype: a floating-point dtype (float32 as the official code; float16/bfloat16 to match the scores).
        device: where to build the tensor.

    Returns:
        ``[nW, N, N]`` of ``dtype``.
    """
    _check_fill(fill, dtype)
    return _mask_of(height, width, window, shift, pad, dtype, 0.0, float(fill), device)


def allowed_mask(
    height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False, device: _Device = None
) -> torch.Tensor:
    """Which query may attend to which key: ``True`` where :func:`attention_mask` is ``0``.

    The boolean form (one byte per entry, a quarter of the float mask) that
    ``torch.nn.functional.scaled_dot_product_attention`` takes as ``attn_mask``
    (``True`` = take part in attention), built like :func:`fast_attention_mask`.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window unless ``pad``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: the mask of the map padded to ``Hp x Wp`` (see :func:`fast_region_labels`).
        device: where to build the tensor.

    Returns:
        ``BoolTensor[nW, N, N]``.
    """
    return _mask_of(height, width, window, shift, pad, torch.bool, True, False, device)
