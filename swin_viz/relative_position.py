"""The relative position index and bias of ``WindowAttention``, stage by stage: the mask's trick, used a second time.

``WindowAttention.__init__`` of the official code builds, a few lines above the mask, the index that says which row
of the ``relative_position_bias_table`` every (query, key) pair of a window reads::

    coords = torch.stack(torch.meshgrid([coords_h, coords_w]))                  # 2, Wh, Ww
    coords_flatten = torch.flatten(coords, 1)                                    # 2, Wh*Ww
    relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]    # 2, Wh*Ww, Wh*Ww
    relative_coords = relative_coords.permute(1, 2, 0).contiguous()              # Wh*Ww, Wh*Ww, 2
    relative_coords[:, :, 0] += self.window_size[0] - 1  # shift to start from 0
    relative_coords[:, :, 1] += self.window_size[1] - 1
    relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
    relative_position_index = relative_coords.sum(-1)                            # Wh*Ww, Wh*Ww

and ``forward`` reads the table with it::

    relative_position_bias = self.relative_position_bias_table[self.relative_position_index.view(-1)].view(N, N, -1)
    relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()  # nH, Wh*Ww, Wh*Ww

One function per step, for windows ``Mh x Mw`` (square or not), tokens numbered row-major (``t = y * Mw + x``):

1. :func:`window_coords`            ``coords``, ``[2, Mh, Mw]``: the (row, column) of every token
2. :func:`flatten_coords`           ``coords_flatten``, ``[2, N]``
3. :func:`relative_coords`          the broadcast difference ``[2, N, N]``: entry ``[:, i, j]`` is
                                    ``(yi - yj, xi - xj)``, query ``i`` minus key ``j`` (rows are queries, columns
                                    keys, as in the mask of :func:`swin_viz.tensors.label_difference`)
4. :func:`shift_relative_coords`    ``+ (Mh - 1, Mw - 1)``: both offsets start at 0, ``[2, N, N]``
5. :func:`flatten_relative_coords`  the mixed-radix number ``dh * (2 Mw - 1) + dw``, ``[N, N]``
6. :func:`relative_position_bias`   ``table[index]``, ``[heads, N, N]``: added to ``q @ k.transpose(-2, -1)``

:func:`relative_position_index` (``window`` to ``[N, N]``) runs steps 1-5; it is the one
:mod:`swin_viz.weights` re-exports (and :mod:`swin_viz.block`, :mod:`swin_viz`). :func:`relative_coords_table` says
which offset ``(dh, dw)`` each row of the table stands for, and :func:`shared_table_rows` which different offsets a
row stride other than ``2 Mw - 1`` sends to one row.
"""

from __future__ import annotations

import torch

from swin_viz._checks import IntPair, as_int, as_window, check_budget, check_tensor

__all__ = [
    "window_coords",
    "flatten_coords",
    "relative_coords",
    "shift_relative_coords",
    "flatten_relative_coords",
    "relative_position_index",
    "relative_position_bias",
    "relative_coords_table",
    "offset_rows",
    "shared_table_rows",
]


def _row_stride(row_stride: object) -> int:
    """``row_stride`` as an int ``>= 0`` (0 is what ``2 Mw - 2`` gives for ``Mw = 1``)."""
    number = as_int(row_stride, "row_stride")
    if number < 0:
        raise ValueError(f"row_stride must be a non-negative int (the weight of the row offset dh), got {number}")
    return number


def _check_offsets(offsets: object, name: str, shape_text: str, ndims: int) -> torch.Tensor:
    """``offsets`` if it is an integer tensor with ``ndims`` dimensions, the first of size 2 (``(dh, dw)``)."""
    tensor = check_tensor(offsets, name, (ndims,), shape_text)
    if tensor.shape[0] != 2:
        raise ValueError(f"{name} must have shape {shape_text} (row offsets, then column offsets), got {tuple(tensor.shape)}")
    if tensor.is_floating_point() or tensor.is_complex() or tensor.dtype == torch.bool:
        raise TypeError(f"{name} must hold integers (token coordinates), got dtype {tensor.dtype}")
    return tensor


def window_coords(window: IntPair) -> torch.Tensor:
    """``coords``: the (row, column) of every token of an ``Mh x Mw`` window, ``[2, Mh, Mw]``.

    ``torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))``: ``coords[0, y, x] = y`` and
    ``coords[1, y, x] = x``.

    Args:
        window: ``M`` or ``(Mh, Mw)``, positive.

    Returns:
        ``LongTensor[2, Mh, Mw]``.
    """
    window_h, window_w = as_window(window)
    check_budget(2 * window_h * window_w * 8, f"window_coords of a {window_h}x{window_w} window")
    coords_h = torch.arange(window_h)
    coords_w = torch.arange(window_w)
    return torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))  # 2, Wh, Ww


def flatten_coords(coords: torch.Tensor) -> torch.Tensor:
    """``coords_flatten = torch.flatten(coords, 1)``: ``[2, Mh, Mw]`` to ``[2, N]``, tokens row-major.

    Token ``t = y * Mw + x`` is column ``t``: the order in which :func:`swin_viz.tensors.window_partition` and
    ``.view(-1, Mh * Mw, C)`` lay out a window's tokens, so the same ``t`` is query ``i`` or key ``j`` in
    ``q @ k.transpose(-2, -1)`` and in the mask.

    Args:
        coords: ``[2, Mh, Mw]`` integer, as :func:`window_coords` returns.

    Returns:
        ``[2, N]``, ``N = Mh * Mw``.
    """
    coords = _check_offsets(coords, "coords", "[2, Mh, Mw]", 3)
    return torch.flatten(coords, 1)  # 2, Wh*Ww


def relative_coords(coords_flatten: torch.Tensor) -> torch.Tensor:
    """The broadcast difference ``coords_flatten[:, :, None] - coords_flatten[:, None, :]``, ``[2, N, N]``.

    ``[2, N, 1] - [2, 1, N]`` broadcasts to ``[2, N, N]``: entry ``[:, i, j]`` is ``(yi - yj, xi - xj)``, the
    query ``i``'s position minus the key ``j``'s. The mask's difference (``mask_windows.unsqueeze(1) -
    mask_windows.unsqueeze(2)``) has the same rows (queries) and columns (keys) but subtracts the other way round
    (``label[j] - label[i]``): the mask only asks ``!= 0``, the bias reads the sign.

    Args:
        coords_flatten: ``[2, N]`` integer, as :func:`flatten_coords` returns.

    Returns:
        ``[2, N, N]`` with values in ``[-(Mh - 1), Mh - 1]`` (row) and ``[-(Mw - 1), Mw - 1]`` (column).
    """
    coords_flatten = _check_offsets(coords_flatten, "coords_flatten", "[2, N]", 2)
    n_tokens = coords_flatten.shape[1]
    check_budget(2 * n_tokens * n_tokens * 8, f"relative_coords of {n_tokens} tokens")
    return coords_flatten[:, :, None] - coords_flatten[:, None, :]  # 2, Wh*Ww, Wh*Ww


def shift_relative_coords(relative: torch.Tensor, window: IntPair) -> torch.Tensor:
    """Shift the offsets to start from 0: ``relative[0] + Mh - 1`` and ``relative[1] + Mw - 1``, ``[2, N, N]``.

    The official ``relative_coords[:, :, 0] += window_size[0] - 1`` and ``[:, :, 1] += window_size[1] - 1`` (on the
    ``[N, N, 2]`` permuted copy; here the result is a new tensor and ``relative`` is left as it was).

    Args:
        relative: ``[2, N, N]`` integer offsets of an ``Mh x Mw`` window, as :func:`relative_coords` returns.
        window: ``M`` or ``(Mh, Mw)``: the window they come from (``N = Mh * Mw``).

    Returns:
        ``[2, N, N]``: ``dh`` in ``[0, 2 Mh - 2]``, ``dw`` in ``[0, 2 Mw - 2]``.
    """
    relative = _check_offsets(relative, "relative", "[2, N, N]", 3)
    window_h, window_w = as_window(window)
    n_tokens = window_h * window_w
    if relative.shape[1:] != (n_tokens, n_tokens):
        raise ValueError(
            f"relative must have shape [2, N, N] with N = Mh * Mw = {n_tokens} for window=({window_h}, {window_w}), "
            f"got {tuple(relative.shape)}"
        )
    start = torch.tensor([window_h - 1, window_w - 1], dtype=relative.dtype, device=relative.device)
    return relative + start.view(2, 1, 1)


def flatten_relative_coords(shifted: torch.Tensor, row_stride: int) -> torch.Tensor:
    """One number per offset: ``dh * row_stride + dw``, ``[N, N]`` (the official code's stride is ``2 Mw - 1``).

    ``relative_coords[:, :, 0] *= 2 * window_size[1] - 1`` then ``relative_coords.sum(-1)``: a mixed-radix number
    whose low digit ``dw`` takes the ``2 Mw - 1`` values ``0 .. 2 Mw - 2``, so the row digit ``dh`` must step by at
    least ``2 Mw - 1``; with exactly that, the ``(2 Mh - 1)(2 Mw - 1)`` offsets fill the table's rows
    ``0 .. (2 Mh - 1)(2 Mw - 1) - 1`` in row-major order of ``(dh, dw)``, each once. Another ``row_stride`` is
    accepted, to see what it does (:func:`shared_table_rows`).

    Args:
        shifted: ``[2, N, N]`` non-negative integer offsets, as :func:`shift_relative_coords` returns.
        row_stride: an int ``>= 0``, the weight of ``dh``.

    Returns:
        ``[N, N]``, the same dtype as ``shifted``.
    """
    shifted = _check_offsets(shifted, "shifted", "[2, N, N]", 3)
    row_stride = _row_stride(row_stride)
    if shifted.numel() and int(shifted.min()) < 0:
        raise ValueError(
            f"shifted must hold offsets shifted to start from 0 (shift_relative_coords), got a minimum of {int(shifted.min())}"
        )
    return shifted[0] * row_stride + shifted[1]


def relative_position_index(window: IntPair) -> torch.Tensor:
    """Which row of the bias table each (query, key) pair of a window reads: the official ``relative_position_index``.

    For tokens ``i = (yi, xi)`` and ``j = (yj, xj)`` of an ``Mh x Mw`` window (row-major), the index is
    ``(yi - yj + Mh - 1) * (2 Mw - 1) + (xi - xj + Mw - 1)``: :func:`window_coords`, :func:`flatten_coords`,
    :func:`relative_coords`, :func:`shift_relative_coords` and :func:`flatten_relative_coords` with the row stride
    ``2 Mw - 1``, as ``WindowAttention.__init__`` builds it.

    Args:
        window: ``M`` or ``(Mh, Mw)``.

    Returns:
        ``LongTensor[N, N]`` with values in ``[0, (2Mh-1)(2Mw-1))``.
    """
    window_h, window_w = as_window(window)
    # int64 at the peak: the [2, N, N] difference and its shifted copy (32 bytes a pair); then the shifted copy, the
    # [N, N] product dh * stride and the [N, N] index (32 again)
    check_budget((window_h * window_w) ** 2 * 32, f"relative_position_index of a {window_h}x{window_w} window")
    coords = window_coords((window_h, window_w))  # 2, Mh, Mw
    shifted = shift_relative_coords(relative_coords(flatten_coords(coords)), (window_h, window_w))  # 2, N, N
    return flatten_relative_coords(shifted, 2 * window_w - 1)  # N, N


def relative_position_bias(relative_position_bias_table: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """The bias added to every window's ``q @ k.transpose(-2, -1)``: ``table[index]`` with heads first, ``[heads, N, N]``.

    ``relative_position_bias_table[relative_position_index.view(-1)].view(N, N, -1).permute(2, 0, 1)``: entry
    ``[h, i, j]`` is ``table[index[i, j], h]``, indexed by (query ``i``, key ``j``) like the mask's entry
    ``[i, j]``, so both are added to the same score.

    Args:
        relative_position_bias_table: ``[(2Mh-1)(2Mw-1), heads]`` floating (or any table ``[R, heads]``).
        index: ``[N, N]`` integer rows of the table, as :func:`relative_position_index` returns.

    Returns:
        ``[heads, N, N]``, the dtype of the table.
    """
    table = check_tensor(relative_position_bias_table, "relative_position_bias_table", (2,), "[(2Mh-1)(2Mw-1), heads]")
    index = check_tensor(index, "index", (2,), "[N, N]")
    if index.shape[0] != index.shape[1]:
        raise ValueError(f"index must have shape [N, N], got {tuple(index.shape)}")
    if index.is_floating_point() or index.is_complex() or index.dtype == torch.bool:
        raise TypeError(f"index must hold integer rows of the table, got dtype {index.dtype}")
    if index.numel() and not 0 <= int(index.min()) <= int(index.max()) < table.shape[0]:
        raise ValueError(
            f"index must hold rows of the table, 0 .. {table.shape[0] - 1} (relative_position_bias_table has "
            f"{table.shape[0]} rows), got values in [{int(index.min())}, {int(index.max())}]"
        )
    n_tokens = index.shape[0]
    check_budget(n_tokens * n_tokens * table.shape[1] * table.element_size() * 2, f"relative_position_bias of {n_tokens} tokens")
    bias = table[index.reshape(-1)].view(n_tokens, n_tokens, -1)  # N, N, heads
    return bias.permute(2, 0, 1).contiguous()  # heads, N, N


def relative_coords_table(window: IntPair) -> torch.Tensor:
    """The offset each row of the bias table stands for: row ``r`` holds ``(yi - yj, xi - xj)``, ``[(2Mh-1)(2Mw-1), 2]``.

    Rows run row-major over ``(dh, dw)`` = ``(yi - yj + Mh - 1, xi - xj + Mw - 1)``: row ``r`` is
    ``dh = r // (2 Mw - 1)``, ``dw = r % (2 Mw - 1)``. It is Swin V2's ``relative_coords_table`` before its
    normalisation and log scaling (``torch.meshgrid([relative_coords_h, relative_coords_w])``), flattened.

    Args:
        window: ``M`` or ``(Mh, Mw)``.

    Returns:
        ``LongTensor[(2Mh-1)(2Mw-1), 2]``.
    """
    window_h, window_w = as_window(window)
    rows = (2 * window_h - 1) * (2 * window_w - 1)
    check_budget(rows * 2 * 8 * 2, f"relative_coords_table of a {window_h}x{window_w} window")
    relative_coords_h = torch.arange(-(window_h - 1), window_h)
    relative_coords_w = torch.arange(-(window_w - 1), window_w)
    table = torch.stack(torch.meshgrid([relative_coords_h, relative_coords_w], indexing="ij"))  # 2, 2Mh-1, 2Mw-1
    return table.flatten(1).T.contiguous()


def offset_rows(window: IntPair, row_stride: int) -> torch.Tensor:
    """The table row ``dh * row_stride + dw`` of every offset, laid out as the offsets: ``[2Mh-1, 2Mw-1]``.

    Entry ``[a, b]`` is for the offset ``(yi - yj, xi - xj) = (a - (Mh - 1), b - (Mw - 1))``, i.e. the shifted
    offset ``(dh, dw) = (a, b)``. With the official ``row_stride = 2 Mw - 1`` it is ``arange((2Mh-1)(2Mw-1))``
    row-major: every offset its own row, in order.

    Args:
        window: ``M`` or ``(Mh, Mw)``.
        row_stride: an int ``>= 0``.

    Returns:
        ``LongTensor[2Mh-1, 2Mw-1]``.
    """
    window_h, window_w = as_window(window)
    row_stride = _row_stride(row_stride)
    offsets = relative_coords_table((window_h, window_w))  # R, 2, row-major
    rows = (offsets[:, 0] + window_h - 1) * row_stride + (offsets[:, 1] + window_w - 1)
    return rows.view(2 * window_h - 1, 2 * window_w - 1)


def shared_table_rows(window: IntPair, row_stride: int) -> torch.Tensor:
    """The pairs of different offsets that ``dh * row_stride + dw`` sends to one row of the table, ``[K, 2, 2]``.

    Entry ``[k]`` is ``((yi - yj, xi - xj), (yi' - yj', xi' - xj'))``: two offsets that occur in the window, differ,
    and read the same row, so every (query, key) pair with either offset gets the same bias. Pairs are listed
    once, the first offset before the second in the table's row-major order, sorted by row. With the official
    ``row_stride = 2 Mw - 1`` there are none (``K = 0``); with ``2 Mw - 2`` (microsoft/Swin-Transformer #367) there
    are ``2 Mh - 2`` for ``Mw >= 2``: ``(dh, 2 Mw - 2)`` and ``(dh + 1, 0)`` meet.

    Args:
        window: ``M`` or ``(Mh, Mw)``.
        row_stride: an int ``>= 0``.

    Returns:
        ``LongTensor[K, 2, 2]``.
    """
    window_h, window_w = as_window(window)
    offsets = relative_coords_table((window_h, window_w))  # R, 2, row-major
    rows = offset_rows((window_h, window_w), row_stride).reshape(-1)  # R
    n_offsets = offsets.shape[0]
    check_budget(n_offsets * n_offsets * 2, f"shared_table_rows of a {window_h}x{window_w} window")
    same = (rows[:, None] == rows[None, :]).triu(diagonal=1)  # R, R: a before b, same row
    first, second = same.nonzero(as_tuple=True)
    order = torch.argsort(rows[first] * n_offsets * n_offsets + first * n_offsets + second)
    return torch.stack([offsets[first[order]], offsets[second[order]]], dim=1)
