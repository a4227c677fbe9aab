"""The fast path: the tensors of :mod:`swin_viz.tensors`, built in closed form, without Python loops.

:mod:`swin_viz.tensors` follows the official code step by step and is the readable reference; this module
builds the very same tensors (entry for entry, as ``tests/test_fast.py`` checks) at close to the cost of
allocating the output:

* :func:`fast_region_labels`   :func:`~swin_viz.tensors.region_labels` without the ``cnt`` loop
* :func:`fast_window_labels`   :func:`~swin_viz.tensors.window_labels` cut into windows by a view
* :func:`fast_attention_mask`  :func:`~swin_viz.tensors.attention_mask` as a few fills
* :func:`allowed_mask`         the same mask as bools, for ``scaled_dot_product_attention``

All four are also importable from :mod:`swin_viz.tensors` and from :mod:`swin_viz`.
"""

from __future__ import annotations

from typing import Sequence, Union

import torch

from swin_viz._checks import IntPair, check_budget, check_device, check_fill, check_layout_budget, padded_layout
from swin_viz.ndim import (
    allowed_mask_nd,
    axis_bands,
    fast_attention_mask_nd,
    fast_region_labels_nd,
    fast_window_labels_nd,
    is_size_tuple,
    nd_arguments,
)

__all__ = ["fast_region_labels", "fast_window_labels", "fast_attention_mask", "allowed_mask"]

# --------------------------------------------------------------------------- #
# The fast path: the same tensors, built without Python loops                 #
# --------------------------------------------------------------------------- #
# The functions of swin_viz.tensors follow the official code step by step    #
# and are the readable reference.  torchvision and transformers rebuild this  #
# mask on every forward pass when the input size varies, so its cost is real; #
# the functions below build the very same tensors in closed form.             #
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
#: A height, or a size tuple of 1, 2 or 3 ints (then the call is ``f(size, window, shift)``).
Size = Union[int, Sequence[int]]
_Device = Union[torch.device, str, None]  # where to build a tensor (None: torch's default device)

#: Bytes per position of the map at the peak of the fast labels: the int64 labels (the bands are one row and one
#: column; tests/test_hardening.py measures it).
_LABEL_BYTES = 8


def fast_region_labels(
    height: Size, width: int | IntPair, window: IntPair, shift: IntPair | None = None, *, pad: bool = False,
    device: _Device = None, periodic: object = None,
) -> torch.Tensor:
    """:func:`~swin_viz.tensors.region_labels` in closed form: ``band_h * n_bands_w + band_w``, no loop.

    Equal to :func:`~swin_viz.tensors.region_labels` entry for entry (the same ``cnt`` numbers).

    Args:
        height, width: feature-map size ``H, W``; multiples of the window unless ``pad``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: label the map padded to ``Hp = ceil(H / Mh) * Mh`` by ``Wp = ceil(W / Mw) * Mw``
            (padded, then rolled, as transformers' ``SwinLayer`` does).
        device: where to build the tensor (default: torch's default device).
        periodic: one flag per axis (or one for all) that wraps for real: no seam on it (see :mod:`swin_viz.ndim`).

    Called as ``f(size, window, shift)`` with ``size`` a tuple of 1, 2 or 3 ints (``(L,)``, ``(H, W)``,
    ``(D, H, W)``), or with ``periodic``, it is the d-dimensional function of :mod:`swin_viz.ndim`.

    Returns:
        ``LongTensor[H, W]`` (``[Hp, Wp]`` with ``pad``).
    """
    if is_size_tuple(height) or periodic is not None:  # (size, window, shift): swin_viz.ndim
        size, window, shift, _ = nd_arguments(height, width, window, shift)
        return fast_region_labels_nd(size, window, shift, pad=pad, periodic=periodic, device=device)
    height, width, (window_h, window_w), (shift_h, shift_w) = padded_layout(height, width, window, shift, pad)
    device = check_device(device)
    check_layout_budget("fast_region_labels", height, width, (window_h, window_w), _LABEL_BYTES)
    band_h, _ = axis_bands(height, window_h, shift_h, device)
    band_w, n_bands_w = axis_bands(width, window_w, shift_w, device)
    return band_h.unsqueeze(1) * n_bands_w + band_w.unsqueeze(0)


def fast_window_labels(
    height: Size, width: int | IntPair, window: IntPair, shift: IntPair | None = None, *, pad: bool = False,
    device: _Device = None, periodic: object = None,
) -> torch.Tensor:
    """:func:`~swin_viz.tensors.window_labels` (``mask_windows``) in closed form, cut into windows by a view.

    Equal to :func:`~swin_viz.tensors.window_labels` entry for entry.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window unless ``pad``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: label the windows of the map padded to ``Hp x Wp`` (see :func:`fast_region_labels`).
        device: where to build the tensor.
        periodic: one flag per axis (or one for all) that wraps for real: no seam on it (see :mod:`swin_viz.ndim`).

    Called as ``f(size, window, shift)`` with ``size`` a tuple of 1, 2 or 3 ints (``(L,)``, ``(H, W)``,
    ``(D, H, W)``), or with ``periodic``, it is the d-dimensional function of :mod:`swin_viz.ndim`.

    Returns:
        ``LongTensor[nW, N]``.
    """
    if is_size_tuple(height) or periodic is not None:  # (size, window, shift): swin_viz.ndim
        size, window, shift, _ = nd_arguments(height, width, window, shift)
        return fast_window_labels_nd(size, window, shift, pad=pad, periodic=periodic, device=device)
    height, width, (window_h, window_w), (shift_h, shift_w) = padded_layout(height, width, window, shift, pad)
    device = check_device(device)
    check_layout_budget("fast_window_labels", height, width, (window_h, window_w), _LABEL_BYTES)
    n_rows, n_cols = height // window_h, width // window_w
    band_h, _ = axis_bands(height, window_h, shift_h, device)
    band_w, n_bands_w = axis_bands(width, window_w, shift_w, device)
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
    height, width, (window_h, window_w), (shift_h, shift_w) = padded_layout(height, width, window, shift, pad)
    device = check_device(device)
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
    height: Size,
    width: int | IntPair,
    window: IntPair,
    shift: IntPair | None = None,
    fill: float = -100.0,
    *,
    pad: bool = False,
    dtype: torch.dtype = torch.float32,
    device: _Device = None,
    periodic: object = None,
) -> torch.Tensor:
    """:func:`~swin_viz.tensors.attention_mask` as a zero fill, a pattern copied into the last window column, two fills in the last row.

    Equal to :func:`~swin_viz.tensors.attention_mask` entry for entry (``0.0`` and ``fill``,
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
        periodic: one flag per axis (or one for all) that wraps for real: no seam on it (see :mod:`swin_viz.ndim`).

    Called as ``f(size, window, shift)`` with ``size`` a tuple of 1, 2 or 3 ints (``(L,)``, ``(H, W)``,
    ``(D, H, W)``), or with ``periodic``, it is the d-dimensional function of :mod:`swin_viz.ndim`.

    Returns:
        ``[nW, N, N]`` of ``dtype``.
    """
    if is_size_tuple(height) or periodic is not None:  # (size, window, shift[, fill]): swin_viz.ndim
        size, window, shift, extra = nd_arguments(height, width, window, shift, extra="fill")
        fill = fill if extra is None else extra
        return fast_attention_mask_nd(size, window, shift, fill, pad=pad, periodic=periodic, dtype=dtype, device=device)
    check_fill(fill, dtype)
    return _mask_of(height, width, window, shift, pad, dtype, 0.0, float(fill), device)


def allowed_mask(
    height: Size, width: int | IntPair, window: IntPair, shift: IntPair | None = None, *, pad: bool = False,
    device: _Device = None, periodic: object = None,
) -> torch.Tensor:
    """Which query may attend to which key: ``True`` where :func:`~swin_viz.tensors.attention_mask` is ``0``.

    The boolean form (one byte per entry, a quarter of the float mask) that
    ``torch.nn.functional.scaled_dot_product_attention`` takes as ``attn_mask``
    (``True`` = take part in attention), built like :func:`fast_attention_mask`.

    Args:
        height, width: feature-map size ``H, W``; multiples of the window unless ``pad``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        pad: the mask of the map padded to ``Hp x Wp`` (see :func:`fast_region_labels`).
        device: where to build the tensor.
        periodic: one flag per axis (or one for all) that wraps for real: no seam on it (see :mod:`swin_viz.ndim`).

    Called as ``f(size, window, shift)`` with ``size`` a tuple of 1, 2 or 3 ints (``(L,)``, ``(H, W)``,
    ``(D, H, W)``), or with ``periodic``, it is the d-dimensional function of :mod:`swin_viz.ndim`.

    Returns:
        ``BoolTensor[nW, N, N]``.
    """
    if is_size_tuple(height) or periodic is not None:  # (size, window, shift): swin_viz.ndim
        size, window, shift, _ = nd_arguments(height, width, window, shift)
        return allowed_mask_nd(size, window, shift, pad=pad, periodic=periodic, device=device)
    return _mask_of(height, width, window, shift, pad, torch.bool, True, False, device)
