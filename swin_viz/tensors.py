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

Before them, the layout rules: :func:`validate_layout`, :func:`padded_size` and the libraries'
:data:`CLAMP_RULES` (:func:`clamp_layout`). The same tensors built without loops are in
:mod:`swin_viz.fast` (``fast_region_labels``, ``fast_window_labels``, ``fast_attention_mask``,
``allowed_mask``); the argument checks every function goes through are in :mod:`swin_viz._checks`.
Both are importable from here too, as are ``as_int``, ``as_pair``, ``IntPair`` and ``check_budget``.
"""

from __future__ import annotations

from typing import Tuple

import torch

from swin_viz._checks import (
    IntPair,
    as_int,
    as_pair,
    check_budget,
    check_fill,
    check_layout_budget,
    check_mask_values,
    check_tensor,
    padded_layout,
    positive,
)
from swin_viz.fast import Size, allowed_mask, fast_attention_mask, fast_region_labels, fast_window_labels
from swin_viz.layout import CLAMP_RULES, clamp_layout, padded_size, validate_layout
from swin_viz.ndim import (
    attention_mask_nd,
    is_size_tuple,
    nd_arguments,
    region_labels_nd,
    window_labels_nd,
    window_partition_nd,
    window_reverse_nd,
)

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
    "fast_region_labels",
    "fast_window_labels",
    "fast_attention_mask",
    "allowed_mask",
]

# --------------------------------------------------------------------------- #
# The memory budget: a layout too large for the machine is refused before     #
# anything is allocated, with the size, the budget and how to raise it,       #
# rather than swapping for a minute or dying in the allocator.                #
# --------------------------------------------------------------------------- #
#: The most memory one call of the package may allocate, in bytes (2 GiB). Every function whose
#: output size follows from integer arguments (a layout, a window, a number of keys) estimates its peak
#: allocation first and raises ``ValueError`` above this. Raise it for a session with
#: ``swin_viz.tensors.MEMORY_BUDGET_BYTES = 8 * 2**30``. :func:`check_budget` (in :mod:`swin_viz._checks`) reads it
#: from here at every call.
MEMORY_BUDGET_BYTES = 2 * 2**30


#: Bytes each function allocates at its peak, per position of the (padded) map and, for the masks, per
#: (query, key) pair, counted from the tensors each one holds at once (tests/test_hardening.py measures them).
_BYTES = {
    "region_labels": 8,  # img_mask, int64
    "window_grid": 8,  # window_reverse's contiguous copy of the (expanded, free) window ids, int64
    "window_labels": 16,  # img_mask and its partitioned copy, int64
    "token_origins": 48,  # (row, col) int64 stacked, rolled (a copy), partitioned (a copy)
    # per pair: the float32 label difference, its != 0 (bool), the first masked_fill (float32), its == 0
    # (bool) and the second masked_fill (float32), all alive at once at the end of the chain
    "attention_mask": 14,
}


# --------------------------------------------------------------------------- #
# Stage 1: cyclic shift                                                       #
# --------------------------------------------------------------------------- #
def _spatial_dims(x: torch.Tensor, name: str) -> Tuple[int, int]:
    check_tensor(x, name, (2, 4), "[H, W] or [B, H, W, C]")
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
    window = positive(window, "window")
    shift = as_int(shift, "shift")
    if not 0 <= shift < window:
        raise ValueError(f"shift={shift} is outside [0, window={window}): the shift must satisfy 0 <= shift < window")
    if shift == 0:
        return (slice(0, None),)
    return (slice(0, -window), slice(-window, -shift), slice(-shift, None))


def region_labels(
    height: Size, width: int | IntPair, window: IntPair, shift: IntPair | None = None, *, pad: bool = False, periodic: object = None
) -> torch.Tensor:
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

    Called as ``f(size, window, shift)`` with ``size`` a tuple of 1, 2 or 3 ints (``(L,)``, ``(H, W)``,
    ``(D, H, W)``), or with ``periodic`` (one flag per axis that wraps for real), it is the d-dimensional
    function of :mod:`swin_viz.ndim` (``3^d`` regions, ``N`` the product of the window).
    """
    if is_size_tuple(height) or periodic is not None:  # (size, window, shift): swin_viz.ndim
        size, window, shift, _ = nd_arguments(height, width, window, shift)
        return region_labels_nd(size, window, shift, pad=pad, periodic=periodic)
    height, width, (window_h, window_w), (shift_h, shift_w) = padded_layout(height, width, window, shift, pad)
    check_layout_budget("region_labels", height, width, (window_h, window_w), _BYTES["region_labels"])
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

    With a window of 1 or 3 ints, ``(M,)`` or ``(Md, Mh, Mw)``, ``x`` is ``[B, L, C]`` or ``[B, D, H, W, C]``
    and this is :func:`swin_viz.ndim.window_partition_nd`: ``[B * nW, *window, C]``.
    """
    if is_size_tuple(window) and len(window) in (1, 3):  # 1 or 3 spatial axes: swin_viz.ndim
        return window_partition_nd(x, window)
    check_tensor(x, "x", (4,), "[B, H, W, C]")
    B, H, W, C = x.shape
    (window_h, window_w), _ = validate_layout(H, W, window, 0)
    x = x.view(B, H // window_h, window_h, W // window_w, window_w, C)
    n_windows = (H // window_h) * (W // window_w)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(B * n_windows, window_h, window_w, C)


def window_reverse(windows: torch.Tensor, window: IntPair, height: Size, width: int | None = None) -> torch.Tensor:
    """Put windows back into feature maps: the inverse of :func:`window_partition`.

    Args:
        windows: ``[B * nW, Mh, Mw, C]``.
        window: ``M`` or ``(Mh, Mw)``; must match ``windows.shape[1:3]``.
        height, width: feature-map size ``H, W``.

    Returns:
        ``[B, H, W, C]``.

    Called as ``window_reverse(windows, window, size)`` with ``size`` a tuple of 1, 2 or 3 ints, it is
    :func:`swin_viz.ndim.window_reverse_nd`: ``[B*nW, *window, C] -> [B, *size, C]``.
    """
    if is_size_tuple(height):  # (windows, window, size): swin_viz.ndim
        return window_reverse_nd(windows, window, height)  # type: ignore[arg-type]
    check_tensor(windows, "windows", (4,), "[B*nW, Mh, Mw, C]")
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
    check_layout_budget("window_grid", height, width, (window_h, window_w), _BYTES["window_grid"])
    n_windows = (height // window_h) * (width // window_w)
    ids = torch.arange(n_windows).view(n_windows, 1, 1, 1).expand(n_windows, window_h, window_w, 1)
    return window_reverse(ids, (window_h, window_w), height, width)[0, :, :, 0]


def window_labels(
    height: Size, width: int | IntPair, window: IntPair, shift: IntPair | None = None, *, pad: bool = False, periodic: object = None
) -> torch.Tensor:
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

    Called as ``f(size, window, shift)`` with ``size`` a tuple of 1, 2 or 3 ints (``(L,)``, ``(H, W)``,
    ``(D, H, W)``), or with ``periodic`` (one flag per axis that wraps for real), it is the d-dimensional
    function of :mod:`swin_viz.ndim` (``3^d`` regions, ``N`` the product of the window).
    """
    if is_size_tuple(height) or periodic is not None:  # (size, window, shift): swin_viz.ndim
        size, window, shift, _ = nd_arguments(height, width, window, shift)
        return window_labels_nd(size, window, shift, pad=pad, periodic=periodic)
    height, width, (window_h, window_w), shift_hw = padded_layout(height, width, window, shift, pad)
    check_layout_budget("window_labels", height, width, (window_h, window_w), _BYTES["window_labels"])
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
    height, width, (window_h, window_w), shift_hw = padded_layout(height, width, window, shift, pad)
    check_layout_budget("token_origins", height, width, (window_h, window_w), _BYTES["token_origins"])
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
    check_tensor(mask_windows, "mask_windows", (2,), "[nW, N]")
    if mask_windows.dtype == torch.bool:
        # torch refuses ``-`` on bools; the labels are numbers, as window_labels returns them
        raise TypeError(
            "mask_windows must hold integer or floating labels, as window_labels(...) returns, got dtype torch.bool "
            "(convert it with mask_windows.long())"
        )
    return mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)


def attention_mask(
    height: Size,
    width: int | IntPair,
    window: IntPair,
    shift: IntPair | None = None,
    fill: float = -100.0,
    *,
    pad: bool = False,
    periodic: object = None,
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

    Called as ``f(size, window, shift)`` with ``size`` a tuple of 1, 2 or 3 ints (``(L,)``, ``(H, W)``,
    ``(D, H, W)``), or with ``periodic`` (one flag per axis that wraps for real), it is the d-dimensional
    function of :mod:`swin_viz.ndim` (``3^d`` regions, ``N`` the product of the window).
    """
    if is_size_tuple(height) or periodic is not None:  # (size, window, shift[, fill]): swin_viz.ndim
        size, window, shift, extra = nd_arguments(height, width, window, shift, extra="fill")
        return attention_mask_nd(size, window, shift, fill if extra is None else extra, pad=pad, periodic=periodic)
    fill = check_fill(fill)
    height_p, width_p, window_hw, _ = padded_layout(height, width, window, shift, pad)
    check_layout_budget("attention_mask", height_p, width_p, window_hw, _BYTES["window_labels"], _BYTES["attention_mask"])
    mask_windows = window_labels(height, width, window, shift, pad=pad).float()
    attn_mask = label_difference(mask_windows)
    return attn_mask.masked_fill(attn_mask != 0, float(fill)).masked_fill(attn_mask == 0, float(0.0))


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
    check_tensor(attn, "attn", (4,), "[B*nW, heads, N, N]")
    if not attn.is_floating_point():
        raise TypeError(f"attn must be a floating-point tensor of scores, got dtype {attn.dtype}")
    B_, heads, N, N2 = attn.shape
    if N != N2:
        raise ValueError(f"attn must be square in its last two dimensions [.., N, N], got {tuple(attn.shape)}")
    if mask is not None:
        check_tensor(mask, "mask", (3,), "[nW, N, N]")
        nW = mask.shape[0]
        if tuple(mask.shape[1:]) != (N, N):
            raise ValueError(f"mask has shape {tuple(mask.shape)} but attn has N={N}: mask must be [nW, {N}, {N}]")
        if nW == 0 or B_ % nW != 0:
            raise ValueError(f"attn.shape[0]={B_} must be a multiple of nW={nW} (mask.shape[0]): attn holds B*nW windows")
        check_mask_values(mask)
        if mask.dtype == torch.bool:
            mask = torch.zeros(mask.shape, dtype=attn.dtype, device=mask.device).masked_fill(~mask, -100.0)
        # every size spelled out: a -1 cannot be inferred when a dimension is 0 (no heads, no windows)
        attn = attn.view(B_ // nW, nW, heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(B_, heads, N, N)
    return torch.softmax(attn, dim=-1)
