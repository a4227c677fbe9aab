"""The mask in 1, 2 or 3 spatial dimensions: sequences (``L``), images (``H, W``), videos and volumes (``D, H, W``).

:mod:`swin_viz.tensors` keeps the readable 2D functions, line for line beside the official Swin code. This module
is the same computation with a size *tuple* in place of ``height, width``, as 1D Swin and Video Swin write it:

* :func:`region_labels_nd`   the ``cnt`` loop over ``d`` nested slice tuples: ``3^d`` regions (Video Swin's
  ``compute_mask`` loops over ``d``, ``h`` and ``w`` slices: 27 regions);
* :func:`window_partition_nd`, :func:`window_reverse_nd`  ``[B, *size, C] <-> [B*nW, *window, C]``;
* :func:`window_labels_nd`, :func:`attention_mask_nd`      ``mask_windows`` ``[nW, N]`` and the mask ``[nW, N, N]``;
* :func:`fast_region_labels_nd`, :func:`fast_window_labels_nd`, :func:`fast_attention_mask_nd`,
  :func:`allowed_mask_nd`  the same tensors in closed form (bands per axis, no loop);
* :func:`token_origins_nd`, :func:`seam_neighbours_nd`  the geometric oracle: where each window token sat before the
  roll, and which pairs are true neighbours -- coordinates only, no labels.

Every function takes ``periodic=``, one flag per axis (or one for all): a periodic axis (the longitude of a
global weather grid) wraps for real, so the roll's wrap joins tokens that are neighbours, and that axis gets
one band, no seam and no mask entries. A periodic axis must be a multiple of its window (padding would put
zeros inside the wrap).

The 2D functions of :mod:`swin_viz.tensors` and :mod:`swin_viz.fast` accept a size tuple too and send it here,
e.g. ``attention_mask((8, 56, 56), (2, 7, 7), (1, 3, 3))`` or ``allowed_mask((16,), (4,), (2,))``.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Union

import torch

from swin_viz._checks import as_bool, as_int, check_budget, check_choice, check_device, check_fill, check_tensor, positive

__all__ = [
    "LAYOUT_ORDERS",
    "Dims",
    "NdLayout",
    "allowed_mask_nd",
    "attention_mask_nd",
    "fast_attention_mask_nd",
    "fast_region_labels_nd",
    "fast_window_labels_nd",
    "is_size_tuple",
    "nd_layout",
    "region_labels_nd",
    "seam_neighbours_nd",
    "token_origins_nd",
    "window_labels_nd",
    "window_partition_nd",
    "window_reverse_nd",
]

#: A window or shift: one int for every axis, or one int per axis.
Dims = Union[int, Sequence[int]]
#: How a layout the window does not divide is built (as :data:`swin_viz.layout.PAD_ORDERS`).
LAYOUT_ORDERS = ("pad-then-roll", "roll-then-pad")


def is_size_tuple(value: object) -> bool:
    """Whether ``value`` is a size tuple (``tuple``, ``list`` or ``torch.Size``), i.e. a call of the d-dimensional form."""
    return isinstance(value, (tuple, list, torch.Size))


def _per_axis(value: object, name: str, d: int) -> tuple[int, ...]:
    """``value`` as ``d`` Python ints: one int for every axis, or a tuple of ``d``."""
    if is_size_tuple(value):
        values = tuple(value)  # type: ignore[arg-type]
        if len(values) != d:
            raise TypeError(
                f"{name} must be an int or a tuple of {d} ints (one per axis of size), got {len(values)} values {values!r}"
            )
        return tuple(as_int(v, f"{name}[{i}]") for i, v in enumerate(values))
    return (as_int(value, name),) * d


def _periodic(value: object, d: int) -> tuple[bool, ...]:
    """``periodic`` as ``d`` bools: ``None`` (no axis), one bool for every axis, or a tuple of ``d`` bools."""
    if value is None:
        return (False,) * d
    if is_size_tuple(value):
        values = tuple(value)  # type: ignore[arg-type]
        if len(values) != d:
            raise TypeError(
                f"periodic must be None, a bool or a tuple of {d} bools (one per axis), got {len(values)} values {values!r}"
            )
        return tuple(as_bool(v, f"periodic[{i}]") for i, v in enumerate(values))
    return (as_bool(value, "periodic"),) * d


@dataclass(frozen=True)
class NdLayout:
    """A checked layout in ``d`` = 1, 2 or 3 axes (see :func:`nd_layout`).

    Attributes:
        size: the feature map's size, one int per axis (unpadded).
        padded: the size padded to a multiple of the window (``size`` when ``pad`` is off).
        window, shift: one int per axis, ``0 <= shift < window``.
        periodic: one bool per axis: that axis wraps for real and gets no seam.
    """

    size: tuple[int, ...]
    padded: tuple[int, ...]
    window: tuple[int, ...]
    shift: tuple[int, ...]
    periodic: tuple[bool, ...]

    @property
    def d(self) -> int:
        """Number of spatial axes."""
        return len(self.size)

    @property
    def grid(self) -> tuple[int, ...]:
        """Windows along each axis of the padded map."""
        return tuple(p // m for p, m in zip(self.padded, self.window, strict=True))

    @property
    def n_windows(self) -> int:
        """``nW``, the number of windows."""
        return math.prod(self.grid)

    @property
    def tokens(self) -> int:
        """``N``, tokens per window."""
        return math.prod(self.window)

    @property
    def seam_shift(self) -> tuple[int, ...]:
        """The shift the mask separates: ``shift`` on ordinary axes, 0 on periodic ones."""
        return tuple(0 if p else s for s, p in zip(self.shift, self.periodic, strict=True))


def nd_layout(size: Sequence[int], window: Dims, shift: Dims, *, pad: bool = False, periodic: object = None) -> NdLayout:
    """Check a layout of 1, 2 or 3 axes and return it as an :class:`NdLayout`.

    The rules (each reported by name): ``size`` a tuple of 1 to 3 positive ints; ``window`` positive and, unless
    ``pad``, dividing its axis; ``0 <= shift < window`` on every axis; ``periodic`` ``None``, a bool or one bool
    per axis, and a periodic axis a multiple of its window.
    """
    if not is_size_tuple(size):
        raise TypeError(f"size must be a tuple of 1, 2 or 3 ints, got {type(size).__name__} {size!r}")
    d = len(size)
    if not 1 <= d <= 3:
        raise ValueError(f"size must have 1, 2 or 3 axes (L; H, W; or D, H, W), got {d}: {tuple(size)!r}")
    sizes = tuple(positive(s, f"size[{i}]") for i, s in enumerate(size))
    windows = _per_axis(window, "window", d)
    shifts = _per_axis(shift, "shift", d)
    pad = as_bool(pad, "pad")
    flags = _periodic(periodic, d)
    for i, (n, m, s, p) in enumerate(zip(sizes, windows, shifts, flags, strict=True)):
        if m <= 0:
            raise ValueError(f"window must be positive on every axis, got window[{i}]={m}")
        if n % m and p:
            raise ValueError(
                f"axis {i} is periodic, so size[{i}]={n} must be a multiple of window[{i}]={m}: "
                "padding would put zero tokens inside the wrap"
            )
        if n % m and not pad:
            raise ValueError(
                f"window[{i}]={m} does not divide size[{i}]={n}: pad the map to {math.ceil(n / m) * m} first, or pass pad=True"
            )
        if not 0 <= s < m:
            raise ValueError(f"shift[{i}]={s} is outside [0, window[{i}]={m}): the shift must satisfy 0 <= shift < window")
    padded = tuple(math.ceil(n / m) * m for n, m in zip(sizes, windows, strict=True))
    return NdLayout(sizes, padded, windows, shifts, flags)


def _budget(layout: NdLayout, what: str, per_position: int, per_pair: int = 0) -> None:
    positions = math.prod(layout.padded)
    check_budget(
        positions * per_position + positions * layout.tokens * per_pair,
        f"{what} of a {layout.padded} map in {layout.window} windows",
    )


# --------------------------------------------------------------------------- #
# The readable path: the official loops, with d nested slice tuples           #
# --------------------------------------------------------------------------- #
def _slices(window: int, shift: int) -> tuple[slice, ...]:
    """One axis' slices, as ``region_slices``: ``(slice(0, -M), slice(-M, -s), slice(-s, None))``, one band if ``s == 0``."""
    if shift == 0:
        return (slice(0, None),)
    return (slice(0, -window), slice(-window, -shift), slice(-shift, None))


def region_labels_nd(
    size: Sequence[int], window: Dims, shift: Dims, *, pad: bool = False, periodic: object = None
) -> torch.Tensor:
    """``img_mask`` of a map of 1, 2 or 3 axes: the official ``cnt`` loop over one slice tuple per axis.

    As Video Swin's ``compute_mask`` (``for d in ...: for h in ...: for w in ...: img_mask[:, d, h, w, :] = cnt``)::

        for cnt, region in enumerate(itertools.product(*slices_per_axis)):
            img_mask[region] = cnt

    Each axis has three slices (one when its shift is 0 or it is periodic): ``3^d`` regions.

    Args:
        size: ``(L,)``, ``(H, W)`` or ``(D, H, W)``; multiples of the window unless ``pad``.
        window, shift: an int for every axis or one per axis, ``0 <= shift < window``.
        pad: label the map padded to a multiple of the window (pad-then-roll).
        periodic: axes that wrap for real (see the module docstring).

    Returns:
        ``LongTensor[*size]`` (the padded size with ``pad``).
    """
    layout = nd_layout(size, window, shift, pad=pad, periodic=periodic)
    _budget(layout, "region_labels", 8)
    img_mask = torch.zeros(layout.padded, dtype=torch.long)
    slices = [_slices(m, s) for m, s in zip(layout.window, layout.seam_shift, strict=True)]
    for cnt, region in enumerate(itertools.product(*slices)):
        img_mask[region] = cnt
    return img_mask


def window_partition_nd(x: torch.Tensor, window: Dims) -> torch.Tensor:
    """Cut ``[B, *size, C]`` into windows ``[B*nW, *window, C]``, windows and tokens in row-major order.

    As Video Swin's ``window_partition`` (``view`` into ``(grid_i, window_i)`` pairs, ``permute`` the grid axes
    first), for 1, 2 or 3 axes. Each size must be a multiple of its window.
    """
    check_tensor(x, "x", (3, 4, 5), "[B, *size, C] with 1, 2 or 3 spatial axes")
    B, *size, C = x.shape
    d = len(size)
    windows = _per_axis(window, "window", d)
    nd_layout(tuple(size), windows, 0)  # every window divides its axis
    view = [B]
    for n, m in zip(size, windows, strict=True):
        view += [n // m, m]
    order = [0, *range(1, 2 * d, 2), *range(2, 2 * d + 1, 2), 2 * d + 1]
    return x.view(*view, C).permute(order).contiguous().view(-1, *windows, C)


def window_reverse_nd(windows: torch.Tensor, window: Dims, size: Sequence[int]) -> torch.Tensor:
    """Put windows ``[B*nW, *window, C]`` back into maps ``[B, *size, C]``: the inverse of :func:`window_partition_nd`."""
    layout = nd_layout(size, window, 0)
    d = layout.d
    check_tensor(windows, "windows", (d + 2,), f"[B*nW, {', '.join(['M'] * d)}, C]")
    if tuple(windows.shape[1:-1]) != layout.window:
        raise ValueError(
            f"windows have shape {tuple(windows.shape)} but window={layout.window}: windows.shape[1:-1] must equal the window"
        )
    if windows.shape[0] % layout.n_windows:
        raise ValueError(
            f"windows.shape[0]={windows.shape[0]} is not a multiple of nW={layout.n_windows}, the windows of a {layout.size} map"
        )
    B, C = windows.shape[0] // layout.n_windows, windows.shape[-1]
    x = windows.view(B, *layout.grid, *layout.window, C)
    order = [0]
    for i in range(d):
        order += [1 + i, 1 + d + i]
    return x.permute(*order, 2 * d + 1).contiguous().view(B, *layout.size, C)


def window_labels_nd(
    size: Sequence[int], window: Dims, shift: Dims, *, pad: bool = False, periodic: object = None
) -> torch.Tensor:
    """``mask_windows``: the region label of every token, one row per window, ``LongTensor[nW, N]``.

    ``window_partition(img_mask, window).view(-1, N)``, ``N`` the product of the window.
    """
    layout = nd_layout(size, window, shift, pad=pad, periodic=periodic)
    img_mask = region_labels_nd(size, window, shift, pad=pad, periodic=periodic)
    return window_partition_nd(img_mask.view(1, *layout.padded, 1), layout.window).view(-1, layout.tokens)


def attention_mask_nd(
    size: Sequence[int], window: Dims, shift: Dims, fill: float = -100.0, *, pad: bool = False, periodic: object = None
) -> torch.Tensor:
    """The SW-MSA mask of a map of 1, 2 or 3 axes, by the official construction: ``FloatTensor[nW, N, N]``.

    ::

        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))

    Args:
        size, window, shift, pad, periodic: as :func:`region_labels_nd`.
        fill: the value of a forbidden pair, negative or ``-inf``.
    """
    fill = check_fill(fill)
    layout = nd_layout(size, window, shift, pad=pad, periodic=periodic)
    _budget(layout, "attention_mask", 16, 14)
    mask_windows = window_labels_nd(size, window, shift, pad=pad, periodic=periodic).float()
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, float(fill)).masked_fill(attn_mask == 0, 0.0)


# --------------------------------------------------------------------------- #
# The fast path: bands per axis in closed form (see swin_viz.fast)            #
# --------------------------------------------------------------------------- #
def axis_bands(size: int, window: int, shift: int, device: torch.device | str | None) -> tuple[torch.Tensor, int]:
    """The band of every index of one axis, ``(p >= S - M) + (p >= S - s)`` (``LongTensor[size]``), and the number
    of bands: 3, or 1 when ``shift`` is 0. One axis of the fast labels here and in :mod:`swin_viz.fast`."""
    index = torch.arange(size, device=device)
    if shift == 0:
        return torch.zeros_like(index), 1
    return (index >= size - window).long() + (index >= size - shift).long(), 3


def _band_terms(layout: NdLayout, device: torch.device | str | None) -> list[torch.Tensor]:
    """Each axis' bands times the number of bands of the axes after it: the labels are their broadcast sum."""
    bands = [axis_bands(p, m, s, device) for p, m, s in zip(layout.padded, layout.window, layout.seam_shift, strict=True)]
    terms, stride = [], 1
    for band, count in reversed(bands):
        terms.append(band * stride)
        stride *= count
    return terms[::-1]


def fast_region_labels_nd(
    size: Sequence[int], window: Dims, shift: Dims, *, pad: bool = False, periodic: object = None, device: object = None
) -> torch.Tensor:
    """:func:`region_labels_nd` without the loop: the broadcast sum of one band term per axis. ``LongTensor[*size]``."""
    layout = nd_layout(size, window, shift, pad=pad, periodic=periodic)
    device = check_device(device)
    _budget(layout, "fast_region_labels", 8)
    labels = torch.zeros((), dtype=torch.long, device=device)
    for i, term in enumerate(_band_terms(layout, device)):
        labels = labels.unsqueeze(-1) + term.view(*([1] * i), -1)
    return labels.expand(layout.padded).contiguous()


def fast_window_labels_nd(
    size: Sequence[int], window: Dims, shift: Dims, *, pad: bool = False, periodic: object = None, device: object = None
) -> torch.Tensor:
    """:func:`window_labels_nd` cut into windows by views: ``LongTensor[nW, N]``.

    Axis ``i``'s band term, viewed as ``[grid_i, window_i]``, is placed at axes ``i`` (grid) and ``d + i`` (window)
    of a ``[*grid, *window]`` broadcast.
    """
    layout = nd_layout(size, window, shift, pad=pad, periodic=periodic)
    device = check_device(device)
    _budget(layout, "fast_window_labels", 8)
    d = layout.d
    labels = torch.zeros([1] * (2 * d), dtype=torch.long, device=device)
    for i, term in enumerate(_band_terms(layout, device)):
        shape = [1] * (2 * d)
        shape[i], shape[d + i] = layout.grid[i], layout.window[i]
        labels = labels + term.view(layout.grid[i], layout.window[i]).view(shape)
    return labels.expand(*layout.grid, *layout.window).reshape(layout.n_windows, layout.tokens)


def allowed_mask_nd(
    size: Sequence[int], window: Dims, shift: Dims, *, pad: bool = False, periodic: object = None, device: object = None
) -> torch.Tensor:
    """Which query may attend to which key, ``BoolTensor[nW, N, N]``: ``True`` where :func:`attention_mask_nd` is 0."""
    layout = nd_layout(size, window, shift, pad=pad, periodic=periodic)
    check_budget(
        math.prod(layout.padded) * (16 + layout.tokens), f"allowed_mask of a {layout.padded} map in {layout.window} windows"
    )
    labels = fast_window_labels_nd(size, window, shift, pad=pad, periodic=periodic, device=device)
    return labels.unsqueeze(1) == labels.unsqueeze(2)


def fast_attention_mask_nd(
    size: Sequence[int],
    window: Dims,
    shift: Dims,
    fill: float = -100.0,
    *,
    pad: bool = False,
    periodic: object = None,
    dtype: torch.dtype = torch.float32,
    device: object = None,
) -> torch.Tensor:
    """:func:`attention_mask_nd` from :func:`allowed_mask_nd`: 0.0 where allowed, ``fill`` elsewhere, ``[nW, N, N]`` of ``dtype``."""
    fill = check_fill(fill, dtype)
    allowed = allowed_mask_nd(size, window, shift, pad=pad, periodic=periodic, device=device)
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(~allowed, fill)


# --------------------------------------------------------------------------- #
# The geometric oracle: coordinates only                                      #
# --------------------------------------------------------------------------- #
def token_origins_nd(layout: NdLayout, order: str = "pad-then-roll") -> tuple[torch.Tensor, tuple[int, ...]]:
    """Where token ``n`` of window ``k`` sat before the roll, computed from arithmetic alone (no roll, no partition).

    Window ``k`` is ``(g_0, .., g_{d-1})`` in row-major order over :attr:`NdLayout.grid`, token ``n`` is
    ``(p_0, ..)`` in row-major order over the window; its place in the rolled, padded map is ``r_i = g_i M_i + p_i``.

    * ``"pad-then-roll"``: the padded map was rolled by ``shift``: it came from ``(r_i + s_i) mod Lp_i``; a
      coordinate ``>= L_i`` is padding.
    * ``"roll-then-pad"``: the unpadded map was rolled by ``s_i mod L_i``, then padded: ``r_i >= L_i`` is padding,
      else it came from ``(r_i + s_i) mod L_i``.

    Returns:
        ``(origins, roll)``: ``LongTensor[nW, N, d]`` unpadded coordinates, ``-1`` on every axis of a padding
        token; and the roll per axis (the shift, or the shift mod the size for roll-then-pad).
    """
    order = check_choice(order, LAYOUT_ORDERS, "order", "pad before or after the cyclic shift")
    d = layout.d
    places = torch.cartesian_prod(*[torch.arange(n) for n in (*layout.grid, *layout.window)]).view(-1, 2 * d)
    rolled = places[:, :d] * torch.tensor(layout.window) + places[:, d:]  # [nW*N, d], row-major: windows, then tokens
    size, padded, shift = torch.tensor(layout.size), torch.tensor(layout.padded), torch.tensor(layout.shift)
    if order == "pad-then-roll":
        origins, roll = (rolled + shift) % padded, layout.shift
    else:
        roll = tuple(s % n for s, n in zip(layout.shift, layout.size, strict=True))
        origins = torch.where(rolled < size, (rolled + torch.tensor(roll)) % size, size)
    padding = (origins >= size).any(-1, keepdim=True)
    return origins.masked_fill(padding, -1).view(layout.n_windows, layout.tokens, d), roll


def seam_neighbours_nd(
    size: Sequence[int], window: Dims, shift: Dims, *, pad: object = False, periodic: object = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """The oracle: which pairs of real tokens of each window are true neighbours, from coordinates only.

    Two real tokens of a window are neighbours when, on every axis that is not periodic, both or neither came
    across the wrap (origin ``< roll``): the roll put them side by side only if no seam lies between them. On a
    periodic axis the wrap is real adjacency, so it imposes nothing.

    Args:
        size, window, shift, periodic: as :func:`region_labels_nd`.
        pad: ``False`` (the window divides the map), ``True`` or ``"pad-then-roll"``, or ``"roll-then-pad"``.

    Returns:
        ``(real, genuine)``: ``BoolTensor[nW, N]`` real (not padding) tokens; ``BoolTensor[nW, N, N]`` pairs of real
        tokens that are neighbours (what a correct mask allows among real tokens).
    """
    order = pad_order(pad)
    layout = nd_layout(size, window, shift, pad=order is not None, periodic=periodic)
    check_budget(math.prod(layout.padded) * (48 + 3 * layout.tokens), f"seam_neighbours of a {layout.padded} map")
    origins, roll = token_origins_nd(layout, order or "pad-then-roll")
    real = origins[..., 0] >= 0
    seams = [i for i in range(layout.d) if not layout.periodic[i]]
    wrapped = origins[..., seams] < torch.tensor([roll[i] for i in seams], dtype=torch.long)  # [nW, N, axes]
    same_side = (wrapped.unsqueeze(2) == wrapped.unsqueeze(1)).all(-1)
    both_real = real.unsqueeze(2) & real.unsqueeze(1)
    return real, both_real & same_side


def pad_order(pad: object) -> str | None:
    """``pad`` as a layout order: ``False`` → ``None`` (no padding), ``True`` → ``"pad-then-roll"``, or one of
    :data:`LAYOUT_ORDERS`; anything else is refused by name."""
    if isinstance(pad, bool):
        return "pad-then-roll" if pad else None
    if isinstance(pad, str):
        return check_choice(pad, LAYOUT_ORDERS, "pad", "True means pad-then-roll")
    raise TypeError(f"pad must be False, True, 'pad-then-roll' or 'roll-then-pad', got {type(pad).__name__} {pad!r}")


def nd_arguments(
    height: object, width: object, window: object, shift: object, *, extra: str | None = None
) -> tuple[tuple[object, ...], object, object, object]:
    """The arguments of a 2D function called in the d-dimensional form, as ``(size, window, shift, extra)``.

    ``f(size, window, shift[, extra])`` fills the 2D parameters ``height, width, window, shift`` with
    ``size, window, shift, extra``; ``f(height, width, window, shift, periodic=...)`` is the 2D layout
    ``(height, width)``. ``extra`` names the one further positional argument the function takes (``fill``).
    """
    if is_size_tuple(height):
        if shift is not None and extra is None:
            raise TypeError(f"called with a size tuple the arguments are (size, window, shift), got a fourth one {shift!r}")
        return tuple(height), width, window, shift  # type: ignore[arg-type]
    return (height, width), window, shift, None
