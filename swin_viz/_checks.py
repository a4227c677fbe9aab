"""Shared machinery of the computation layer: the argument checks and the memory budget.

Private to the package (the module name starts with ``_``), but every name in it is public, so that
:mod:`swin_viz.tensors`, :mod:`swin_viz.fast`, :mod:`swin_viz.ndim`, :mod:`swin_viz.block`, :mod:`swin_viz.pairs`,
:mod:`swin_viz.weights`, :mod:`swin_viz.relative_position`, :mod:`swin_viz.numerics`, :mod:`swin_viz.cost` and
:mod:`swin_viz.attentions` (and a figure that takes a window) all check an argument the same way, in one place. A bad argument is reported by name and rule, never as
an ``IndexError`` or a wrong mask. ``as_int``, ``as_pair``, ``check_budget`` and ``IntPair`` are also
importable from :mod:`swin_viz.tensors`, where the README documents them; the budget itself,
``MEMORY_BUDGET_BYTES``, lives there and is read from there at every call.
"""

from __future__ import annotations

import math
import numbers
import operator
from typing import Mapping, Sequence, Tuple, Union

import torch

#: A size given either as one int (square) or as an ``(h, w)`` pair.
IntPair = Union[int, Sequence[int]]


# --------------------------------------------------------------------------- #
# Integers, flags, pairs, seeds, tensors, choices                             #
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


def check_seed(seed: object) -> int:
    """``seed`` as an int that ``torch.Generator.manual_seed`` takes: ``-2**63 <= seed < 2**64``."""
    seed = as_int(seed, "seed")
    if not -(2**63) <= seed < 2**64:
        raise ValueError(f"seed must be in [-2**63, 2**64) (what torch.Generator.manual_seed takes), got {seed}")
    return seed


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


def positive(value: object, name: str) -> int:
    """``value`` as a Python ``int`` (see :func:`as_int`) that is at least 1; ``ValueError`` naming ``name`` otherwise."""
    number = as_int(value, name)
    if number <= 0:
        raise ValueError(f"{name} must be a positive int, got {number}")
    return number


def as_window(window: IntPair) -> Tuple[int, int]:
    """``window`` as an ``(h, w)`` pair (:func:`as_pair`) of positive ints; ``ValueError`` naming the dimension otherwise."""
    window_hw = as_pair(window, "window")
    for dim, win in zip("hw", window_hw, strict=True):
        if win <= 0:
            raise ValueError(f"window must be positive in each dimension, got window_{dim}={win}")
    return window_hw


def as_bool(value: object, name: str) -> bool:
    """``value`` itself if it is ``True`` or ``False``; ``TypeError`` naming ``name`` for anything else (``0``, ``1``,
    ``None``, a numpy bool): a flag is a ``bool``, not something truthy."""
    if not isinstance(value, bool):
        raise TypeError(f"{name} must be True or False, got {type(value).__name__} {value!r}")
    return value


def check_device(device: object) -> torch.device | None:
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


def check_tensor(x: object, name: str, ndims: Tuple[int, ...], shape_text: str) -> torch.Tensor:
    """``x`` itself if it is a ``torch.Tensor`` with one of the numbers of dimensions ``ndims``.

    ``TypeError`` for anything but a tensor, ``ValueError`` for a wrong number of dimensions; both name
    ``name`` and the expected shape ``shape_text`` (e.g. ``"[B, H, W, C]"``).
    """
    if not isinstance(x, torch.Tensor):
        raise TypeError(f"{name} must be a torch.Tensor of shape {shape_text}, got {type(x).__name__}")
    if x.dim() not in ndims:
        raise ValueError(f"{name} must have shape {shape_text}, got {x.dim()} dimensions {tuple(x.shape)}")
    return x


def check_choice(value: object, choices: Mapping[str, object] | Sequence[str], name: str, meaning: str = "") -> str:
    """``value`` itself if it is one of the names ``choices`` (a tuple of names, or a dict keyed by them).

    ``TypeError`` for a non-string, ``ValueError`` for an unknown name; both name ``name`` and list the
    choices (``meaning``, if given, says in brackets what they choose between).
    """
    listed = tuple(choices)
    if not isinstance(value, str):
        raise TypeError(f"{name} must be one of {listed}, got {type(value).__name__} {value!r}")
    if value not in listed:
        raise ValueError(f"{name} must be one of {listed}{f' ({meaning})' if meaning else ''}, got {value!r}")
    return value


# --------------------------------------------------------------------------- #
# Layouts: a feature-map size, a window and a shift                           #
# --------------------------------------------------------------------------- #
def check_layout(
    height: int, width: int, window: IntPair, shift: IntPair, pad: bool, offer_pad: bool
) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """Check a layout (the rules of :func:`swin_viz.tensors.validate_layout`); return ``(window, shift)`` as pairs.

    ``height`` and ``width`` are positive ints, ``pad`` a bool; ``window`` a positive int or ``(h, w)``
    pair that divides the map unless ``pad``; ``shift`` an int or pair with ``0 <= shift < window`` in
    each dimension. ``offer_pad``: the caller takes ``pad=True``, so a size the window does not divide
    suggests it in the message.
    """
    height = positive(height, "height")
    width = positive(width, "width")
    window_hw = as_pair(window, "window")
    shift_hw = as_pair(shift, "shift")
    pad = as_bool(pad, "pad")
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


def round_up(height: int, width: int, window_hw: Tuple[int, int]) -> Tuple[int, int]:
    """``(Hp, Wp)`` of a layout already validated (no second check: the fast path calls this every time)."""
    return math.ceil(height / window_hw[0]) * window_hw[0], math.ceil(width / window_hw[1]) * window_hw[1]


def padded_layout(
    height: int, width: int, window: IntPair, shift: IntPair, pad: bool
) -> Tuple[int, int, Tuple[int, int], Tuple[int, int]]:
    """Validate for a function with a ``pad`` option; return ``(Hp, Wp, window, shift)``."""
    window_hw, shift_hw = check_layout(height, width, window, shift, pad, offer_pad=True)
    return (*round_up(height, width, window_hw), window_hw, shift_hw)


def window_and_shift(height: int, width: int, window: IntPair, shift: IntPair = 0) -> Tuple[Tuple[int, int], Tuple[int, int]]:
    """Validate sizes for a function that pads as needed: any ``H, W``, ``0 <= shift < window``."""
    _, _, window_hw, shift_hw = padded_layout(height, width, window, shift, True)
    return window_hw, shift_hw


# --------------------------------------------------------------------------- #
# Fills and masks                                                             #
# --------------------------------------------------------------------------- #
def check_fill(fill: object, dtype: torch.dtype = torch.float32) -> float:
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
    check_fill_survives(value, dtype)
    return value


def check_fill_survives(fill: float, dtype: torch.dtype) -> None:
    """Refuse a fill so small that it rounds to ``-0.0`` in ``dtype``: the mask would then mask nothing."""
    if torch.tensor(fill, dtype=torch.float64).to(dtype).item() == 0.0:
        dtype_name = str(dtype).replace("torch.", "")
        smallest = torch.finfo(dtype).tiny * torch.finfo(dtype).eps  # the smallest subnormal of dtype
        raise ValueError(
            f"fill={fill} rounds to 0 in {dtype_name}, so the mask would mask nothing: use a fill such as "
            f"-100.0 (at most -{smallest:.3g} in {dtype_name}), or -inf"
        )


def check_mask_values(mask: torch.Tensor, name: str = "mask") -> None:
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


# --------------------------------------------------------------------------- #
# The memory budget: a layout too large for the machine is refused before     #
# anything is allocated, with the size, the budget and how to raise it,       #
# rather than swapping for a minute or dying in the allocator.                #
# --------------------------------------------------------------------------- #
# The budget is swin_viz.tensors.MEMORY_BUDGET_BYTES (documented there, in the README, and set there by users).


def _format_bytes(nbytes: int) -> str:
    """``nbytes`` for a message: ``"16 GiB"``, ``"1.5 MiB"``, ``"12 bytes"``."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if nbytes >= size:
            value = nbytes / size
            return f"{value:.3g} {unit}" if value < 1000 else f"{value:,.0f} {unit}"
    return f"{nbytes} bytes"


def check_budget(nbytes: int, what: str) -> None:
    """Refuse a call that would allocate more than :data:`swin_viz.tensors.MEMORY_BUDGET_BYTES`.

    The budget is read from :mod:`swin_viz.tensors` at every call: that is where users raise it
    (``swin_viz.tensors.MEMORY_BUDGET_BYTES = 8 * 2**30``), so a change there takes effect at once.

    Args:
        nbytes: the call's estimated peak allocation, in bytes.
        what: the call, for the message, e.g. ``"attention_mask(height=4096, ...)"``.

    Raises:
        ValueError: naming the estimated size, the budget and how to raise the budget.
    """
    from swin_viz import tensors  # at call time: tensors imports this module

    budget = as_int(tensors.MEMORY_BUDGET_BYTES, "swin_viz.tensors.MEMORY_BUDGET_BYTES")
    nbytes = as_int(nbytes, "nbytes")
    if nbytes > budget:
        suggestion = math.ceil(nbytes / 2**30)
        raise ValueError(
            f"{what} would allocate about {_format_bytes(nbytes)}, over the memory budget of {_format_bytes(budget)} "
            f"(swin_viz.tensors.MEMORY_BUDGET_BYTES): use a smaller layout, or raise the budget with "
            f"swin_viz.tensors.MEMORY_BUDGET_BYTES = {suggestion} * 2**30 if the machine has the memory"
        )


def check_layout_budget(
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
