"""The attentions notebook 09 measures besides the block: global MSA, and the naive alternative to the cyclic shift.

* :func:`multi_head_attention`     the body of the official ``WindowAttention.forward`` on any groups of tokens;
* :func:`global_attention`         MSA as in ViT: one group, the whole map;
* :func:`naive_shifted_partition`  the shifted windows cut from the map and padded to ``M x M``, no roll;
* :func:`naive_shifted_attention`  attention on those padded pieces: what the paper's cyclic shift avoids.

W-MSA and SW-MSA themselves are :func:`swin_viz.block.shifted_window_attention`; :mod:`swin_viz.cost`
counts and times all of them. Every name is also importable from :mod:`swin_viz.cost`.
"""

from __future__ import annotations

import math
from typing import Optional, Tuple

import torch
import torch.nn.functional as F

from swin_viz._checks import IntPair, check_budget, check_fill, check_fill_survives, check_tensor, positive, window_and_shift
from swin_viz.tensors import masked_window_softmax, window_partition, window_reverse
from swin_viz.weights import WindowAttentionWeights

__all__ = ["multi_head_attention", "global_attention", "naive_shifted_partition", "naive_shifted_attention"]


def multi_head_attention(
    tokens: torch.Tensor,
    weights: WindowAttentionWeights,
    num_heads: int,
    *,
    bias: Optional[torch.Tensor] = None,
    mask: Optional[torch.Tensor] = None,
) -> torch.Tensor:
    """Multi-head self-attention within each group of tokens: the body of the official ``WindowAttention.forward``.

    ``qkv`` Linear, split into heads, ``q * d^-1/2 @ k^T`` (+ ``bias``),
    :func:`~swin_viz.tensors.masked_window_softmax` (+ ``mask``), ``@ v``,
    heads joined, ``proj`` Linear. A group is a window for W-MSA, the whole
    map for global MSA.

    Args:
        tokens: ``[B_, N, C]``, floating, the dtype and device of ``weights``.
        weights: :class:`~swin_viz.block.WindowAttentionWeights` for ``C`` channels.
        num_heads: heads; divides ``C`` and matches ``weights``.
        bias: ``[heads, N, N]`` added to every group's scores (the relative
            position bias), or ``None``.
        mask: ``[nW, N, N]`` added per group as ``attn.view(B_ // nW, nW, ...)``, or ``None``.

    Returns:
        ``[B_, N, C]``.
    """
    check_tensor(tokens, "tokens", (3,), "[B_, N, C]")
    if not tokens.is_floating_point():
        raise TypeError(f"tokens must be a floating-point tensor, got dtype {tokens.dtype}")
    if not isinstance(weights, WindowAttentionWeights):
        raise TypeError(f"weights must be a WindowAttentionWeights, got {type(weights).__name__}")
    num_heads = positive(num_heads, "num_heads")
    groups, n_tokens, channels = tokens.shape
    if weights.dim != channels:
        raise ValueError(f"weights are for C={weights.dim} channels but tokens have C={channels} (tokens.shape[-1])")
    if weights.num_heads != num_heads:
        raise ValueError(
            f"weights have {weights.num_heads} heads (relative_position_bias_table.shape[1]) but num_heads={num_heads}"
        )
    if weights.dtype != tokens.dtype:
        raise TypeError(f"weights have dtype {weights.dtype} but tokens have dtype {tokens.dtype}: use one dtype for both")
    if bias is not None:
        check_tensor(bias, "bias", (3,), "[heads, N, N]")
        if tuple(bias.shape) != (num_heads, n_tokens, n_tokens):
            raise ValueError(f"bias must have shape [heads, N, N] = {[num_heads, n_tokens, n_tokens]}, got {tuple(bias.shape)}")
    if tokens.device.type != "meta":  # a meta tensor has shapes only (attention_flops counts on them)
        # the scores and the softmax, and scores + bias and + mask when given: [B_, heads, N, N] each
        check_budget(
            (2 + (bias is not None) + (mask is not None)) * groups * num_heads * n_tokens * n_tokens * tokens.element_size(),
            f"multi_head_attention over {groups} groups of {n_tokens} tokens with {num_heads} heads",
        )
    head_dim = channels // num_heads
    qkv = F.linear(tokens, weights.qkv_weight, weights.qkv_bias)
    qkv = qkv.reshape(groups, n_tokens, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # [B_, heads, N, d]
    scores = (q * head_dim**-0.5) @ k.transpose(-2, -1)
    if bias is not None:
        scores = scores + bias.unsqueeze(0)
    attn = masked_window_softmax(scores, mask)
    attended = (attn @ v).transpose(1, 2).reshape(groups, n_tokens, channels)
    return F.linear(attended, weights.proj_weight, weights.proj_bias)


def global_attention(x: torch.Tensor, weights: WindowAttentionWeights, num_heads: int) -> torch.Tensor:
    """Global multi-head self-attention (MSA, as in ViT): every token of the map attends to every other.

    :func:`multi_head_attention` with all ``H*W`` tokens of an image as one
    group, the same ``qkv`` and ``proj`` weights as the window block, and no
    relative position bias and no mask (``weights.relative_position_bias_table``
    is not used). It is W-MSA with one window the size of the map and a zero
    bias table.

    Args:
        x: ``[B, H, W, C]``, floating, the dtype and device of ``weights``.
        weights, num_heads: as :func:`multi_head_attention`.

    Returns:
        ``[B, H, W, C]``.
    """
    check_tensor(x, "x", (4,), "[B, H, W, C]")
    batch, height, width, channels = x.shape
    out = multi_head_attention(x.reshape(batch, height * width, channels), weights, num_heads)
    return out.view(batch, height, width, channels)


def _naive_grid(
    height: int, width: int, window_hw: Tuple[int, int], shift_hw: Tuple[int, int]
) -> Tuple[Tuple[int, int, int, int], torch.Tensor, torch.Tensor]:
    """The regular grid the naive pieces sit on once padded.

    Returns ``((top, bottom, left, right), real, kept)``: the zeros to add on
    each side so that the first piece (``sh`` rows) ends on a window border and
    the map ends on one; ``real`` ``BoolTensor[nW_all, N]``, which tokens of
    each grid window are the map's own; ``kept`` ``LongTensor[nW']``, the grid
    windows that hold any (the pieces).
    """
    # a bool map of the padded grid, padded (a copy) and partitioned (a copy): the batch does not matter
    check_budget(2 * (height + window_hw[0]) * (width + window_hw[1]), f"the naive partition of a {height}x{width} map")
    pads = []
    for size, win, sh in ((height, window_hw[0], shift_hw[0]), (width, window_hw[1], shift_hw[1])):
        before = (win - sh) % win
        pads += [before, math.ceil((before + size) / win) * win - before - size]
    top, bottom, left, right = pads
    ones = F.pad(torch.ones(1, height, width, 1, dtype=torch.bool), (0, 0, left, right, top, bottom))
    real = window_partition(ones, window_hw).view(-1, window_hw[0] * window_hw[1])
    return (top, bottom, left, right), real, real.any(dim=1).nonzero().squeeze(1)


def naive_shifted_partition(x: torch.Tensor, window: IntPair, shift: IntPair) -> Tuple[torch.Tensor, torch.Tensor]:
    """Cut ``x`` into the pieces of :func:`~swin_viz.cost.naive_shifted_windows` and pad each to ``M x M`` with zero tokens.

    Done in one go: pad the map with ``M - s`` zero rows on top (``0`` if
    ``s = 0``) and zeros at the bottom up to a multiple of ``M`` (likewise for
    columns), then :func:`~swin_viz.tensors.window_partition` and drop the
    windows that hold only padding. The top-left pieces are padded on their
    top/left, the bottom-right ones on their bottom/right, so every token keeps
    its place in its shifted window (and the same relative position bias as
    in the cyclic version).

    Args:
        x: ``[B, H, W, C]``, any ``H, W``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.

    Returns:
        ``(windows, real)``: ``windows`` is ``[B * nW', Mh, Mw, C]`` in the
        order of :func:`~swin_viz.cost.naive_shifted_windows` (image-major), ``real`` is
        ``BoolTensor[nW', N]``, ``True`` for the map's own tokens and
        ``False`` for padding.
    """
    check_tensor(x, "x", (4,), "[B, H, W, C]")
    batch, height, width, channels = x.shape
    window_hw, shift_hw = window_and_shift(height, width, window, shift)
    (top, bottom, left, right), real, kept = _naive_grid(height, width, window_hw, shift_hw)
    windows = window_partition(F.pad(x, (0, 0, left, right, top, bottom)), window_hw)  # [B * nW_all, Mh, Mw, C]
    # every size spelled out: a -1 cannot be inferred when the batch or the channels are 0
    windows = windows.view(batch, real.shape[0], *window_hw, channels).index_select(1, kept.to(x.device))
    return windows.reshape(batch * len(kept), *window_hw, channels), real[kept]


def naive_shifted_attention(
    x: torch.Tensor,
    weights: WindowAttentionWeights,
    num_heads: int,
    window: IntPair,
    shift: IntPair,
    *,
    fill: float = -100.0,
) -> torch.Tensor:
    """SW-MSA the naive way the Swin paper rejects: pad the shifted pieces to full windows, no roll.

    :func:`naive_shifted_partition` gives ``nW'`` padded windows; each runs
    :func:`multi_head_attention` with the relative position bias and a mask
    that adds ``fill`` to the scores of padding keys; the real tokens are put
    back in place. When ``M`` divides ``H`` and ``W`` this is the same function
    as :func:`~swin_viz.block.shifted_window_attention` with the same shift
    (each piece is one region of a rolled window), computed on more windows.

    Args:
        x: ``[B, H, W, C]``, floating, the dtype and device of ``weights``.
        weights: :class:`~swin_viz.block.WindowAttentionWeights` for ``window``.
        num_heads: heads; divides ``C`` and matches ``weights``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        fill: added to the scores of padding keys: ``-100.0`` as the official
            mask, or ``-inf``.

    Returns:
        ``[B, H, W, C]``.
    """
    check_tensor(x, "x", (4,), "[B, H, W, C]")
    if not isinstance(weights, WindowAttentionWeights):
        raise TypeError(f"weights must be a WindowAttentionWeights, got {type(weights).__name__}")
    batch, height, width, channels = x.shape
    window_hw, shift_hw = window_and_shift(height, width, window, shift)
    if weights.window != window_hw:
        raise ValueError(
            f"weights are for a {weights.window[0]}x{weights.window[1]} window but window={window_hw}: "
            "the relative position bias table must match the window"
        )
    fill = check_fill(fill)
    if x.is_floating_point():
        check_fill_survives(fill, x.dtype)  # the mask is made in x.dtype
    n_tokens = window_hw[0] * window_hw[1]
    windows, real = naive_shifted_partition(x, window_hw, shift_hw)
    zero = torch.zeros((), dtype=x.dtype, device=x.device)
    mask = torch.where(real.to(x.device).unsqueeze(1), zero, zero + fill).expand(-1, n_tokens, -1)  # [nW', N, N]
    attended = multi_head_attention(
        windows.view(-1, n_tokens, channels), weights, num_heads, bias=weights.relative_position_bias(), mask=mask
    )
    # back on the padded grid (the windows that held only padding stay zero), then cropped
    (top, bottom, left, right), real_all, kept = _naive_grid(height, width, window_hw, shift_hw)
    grid = torch.zeros(batch, real_all.shape[0], n_tokens, channels, dtype=x.dtype, device=x.device)
    grid = grid.index_copy(1, kept.to(x.device), attended.view(batch, len(kept), n_tokens, channels))
    height_g, width_g = height + top + bottom, width + left + right
    out = window_reverse(grid.view(-1, *window_hw, channels), window_hw, height_g, width_g)
    return out[:, top : top + height, left : left + width, :].contiguous()
