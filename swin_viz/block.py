"""The whole shifted-window attention block, runnable, and an independent oracle to check it against.

:mod:`swin_viz.tensors` builds the mask; this module uses it. The forward
pass is the one the real libraries run on a ``[B, H, W, C]`` feature map::

    pad (zeros, bottom/right) -> cyclic shift -> window partition
    -> multi-head attention in each window (+ relative position bias, + mask)
    -> window reverse -> reverse shift -> crop

:func:`shifted_window_attention` does exactly that with the package's stage
functions (:func:`~swin_viz.tensors.cyclic_shift`,
:func:`~swin_viz.tensors.window_partition`,
:func:`~swin_viz.tensors.attention_mask`,
:func:`~swin_viz.tensors.masked_window_softmax`, ...). With
``return_stages=True`` it also hands back every intermediate tensor.

:func:`oracle_window_attention` computes the same output without a roll,
without windows and without a mask: each query token attends to the tokens
that were its neighbours *before* the roll -- the same shifted window, and the
same side of every wrap seam. The tests check the two agree to float64
round-off.

The block's parts have modules of their own, whose names are all importable from here too:
:mod:`swin_viz.weights` (:class:`WindowAttentionWeights`, :func:`relative_position_index`) and
:mod:`swin_viz.pairs` (:func:`seam_neighbours`, the oracle's rule as a tensor, and the pair counts of
notebook 07: :func:`pair_relation`, :func:`count_wrong_pairs`, :func:`count_changed_pairs`, :func:`pad_order_layout`, ...).

Conventions, as in transformers' ``SwinLayer`` and torchvision's
``shifted_window_attention``:

* **pad-then-roll.** A map the window does not divide is padded with zero
  tokens at the bottom and right *before* the roll (``pad=True``). Padding
  tokens take part in attention as keys like any other token (their features
  are zero, so their keys and values are the projection biases); only the
  wrap seams are masked. The rows that wrap are then the last ``s`` rows of
  the padded map, which is what the mask of the padded layout assumes.
* **roll-then-pad** (timm ``SwinTransformerBlock._attn`` from v0.9.6, ``order=
  "roll-then-pad"``): roll the *unpadded* map, then pad the rolled map,
  partition, and add the mask of the padded layout. The rows that wrapped sit
  at rows ``H - s .. H - 1`` of the rolled map, not at the bottom of the padded
  one, so the mask's regions no longer line up with them:
  :func:`count_wrong_pairs` counts the pairs that go wrong.
* The mask adds ``fill = -100.0`` (not ``-inf``) to forbidden scores.
"""


from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Dict, NamedTuple, Optional, Tuple

import torch
import torch.nn.functional as F

from swin_viz._checks import (
    IntPair,
    as_bool,
    as_int,
    as_pair,
    check_fill,
    check_fill_survives,
    check_tensor,
    padded_layout,
    positive,
)
from swin_viz.layout import PAD_ORDERS, check_order, clamp_layout
from swin_viz.pairs import (
    ChangedPairs,
    PadOrderLayout,
    PairRelation,
    WrongPairs,
    count_changed_pairs,
    count_wrong_pairs,
    pad_order_layout,
    padding_queries,
    pair_relation,
    seam_neighbours,
)
from swin_viz.tensors import (
    attention_mask,
    cyclic_shift,
    masked_window_softmax,
    reverse_cyclic_shift,
    token_origins,
    window_partition,
    window_reverse,
)
from swin_viz.weights import WindowAttentionWeights, relative_position_index

__all__ = [
    "PAD_ORDERS",
    "WindowAttentionWeights",
    "relative_position_index",
    "BlockStages",
    "shifted_window_attention",
    "oracle_window_attention",
    "seam_neighbours",
    "leaked_attention",
    "PairRelation",
    "pair_relation",
    "WrongPairs",
    "count_wrong_pairs",
    "ChangedPairs",
    "count_changed_pairs",
    "PadOrderLayout",
    "pad_order_layout",
    "padding_queries",
    "BlockLayout",
    "block_layout",
    "example_block_run",
]


# --------------------------------------------------------------------------- #
# Argument checking shared by the block and the oracle                        #
# --------------------------------------------------------------------------- #
def _check_call(
    x: object,
    weights: object,
    num_heads: object,
    window: IntPair,
    shift: IntPair,
    pad: object,
    clamp: object,
) -> Tuple[Tuple[int, int], Tuple[int, int], int, int]:
    """Validate a block call; return the effective ``(window, shift)`` and ``(Hp, Wp)``."""
    check_tensor(x, "x", (4,), "[B, H, W, C]")
    assert isinstance(x, torch.Tensor)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if not isinstance(weights, WindowAttentionWeights):
        raise TypeError(f"weights must be a WindowAttentionWeights, got {type(weights).__name__}")
    _, height, width, channels = x.shape
    num_heads = positive(num_heads, "num_heads")
    if channels % num_heads != 0:
        raise ValueError(f"C={channels} (x.shape[-1]) is not divisible by num_heads={num_heads}: every head gets C // num_heads channels")
    if weights.num_heads != num_heads:
        raise ValueError(
            f"weights have {weights.num_heads} heads (relative_position_bias_table.shape[1]) but num_heads={num_heads}"
        )
    if weights.dim != channels:
        raise ValueError(f"weights are for C={weights.dim} channels but x has C={channels} (x.shape[-1])")
    if weights.dtype != x.dtype:
        raise TypeError(f"weights have dtype {weights.dtype} but x has dtype {x.dtype}: use one dtype for both")
    if weights.qkv_weight.device != x.device:
        raise ValueError(f"weights are on {weights.qkv_weight.device} but x is on {x.device}: put both on one device")
    pad = as_bool(pad, "pad")
    if clamp is None:
        effective = (window, shift)
    else:
        effective = clamp_layout(height, width, window, shift, clamp)  # checks the rule name
    height_p, width_p, window_hw, shift_hw = padded_layout(height, width, effective[0], effective[1], pad)
    if weights.window != window_hw:
        how = "" if clamp is None else f" (clamp={clamp!r} turned window={as_pair(window, 'window')} into {window_hw} for a {height}x{width} map)"
        raise ValueError(
            f"weights are for a {weights.window[0]}x{weights.window[1]} window but the block uses "
            f"{window_hw[0]}x{window_hw[1]}{how}: the relative position bias table must match the window "
            "the attention runs on (build the weights for that window, as the official block does after clamping)"
        )
    return window_hw, shift_hw, height_p, width_p


# --------------------------------------------------------------------------- #
# The block                                                                   #
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class BlockStages:
    """Every intermediate tensor of one :func:`shifted_window_attention` call, in the order computed.

    Attributes:
        window, shift: the effective ``(h, w)`` window and shift (after ``clamp``).
        padded_size: ``(Hp, Wp)``.
        order: ``"pad-then-roll"`` or ``"roll-then-pad"``.
        tensors: name -> tensor, in the order the block computed them.
            With ``order="pad-then-roll"``:

            * ``padded``     ``[B, Hp, Wp, C]`` zeros added at the bottom/right
            * ``shifted``    ``[B, Hp, Wp, C]`` after :func:`cyclic_shift`
            * ``windows``    ``[B*nW, N, C]`` after :func:`window_partition`
            * ``bias``       ``[heads, N, N]`` relative position bias
            * ``scores``     ``[B*nW, heads, N, N]`` ``q·kᵀ/√d + bias``, before the mask
            * ``mask``       ``[nW, N, N]`` from :func:`attention_mask`, or ``None`` (``use_mask=False``)
            * ``weights``    ``[B*nW, heads, N, N]`` after :func:`masked_window_softmax`
            * ``attended``   ``[B*nW, N, C]`` ``weights @ v``, heads joined, after ``proj``
            * ``reversed``   ``[B, Hp, Wp, C]`` after :func:`window_reverse`
            * ``unshifted``  ``[B, Hp, Wp, C]`` after :func:`reverse_cyclic_shift`
            * ``cropped``    ``[B, H, W, C]`` padding removed: the output

            With ``order="roll-then-pad"`` the first two and last two swap:
            ``shifted`` ``[B, H, W, C]`` comes before ``padded``, and
            ``cropped`` ``[B, H, W, C]`` before ``unshifted`` (the output).
    """

    window: Tuple[int, int]
    shift: Tuple[int, int]
    padded_size: Tuple[int, int]
    order: str
    tensors: Dict[str, Optional[torch.Tensor]]

    def __getitem__(self, name: str) -> Optional[torch.Tensor]:
        """The tensor of stage ``name`` (``None`` for ``"mask"`` when ``use_mask=False``)."""
        return self.tensors[name]

    def names(self) -> Tuple[str, ...]:
        """The stage names in the order computed."""
        return tuple(self.tensors)

    @property
    def output(self) -> torch.Tensor:
        """The block's output ``[B, H, W, C]`` (the last stage)."""
        last = self.tensors[self.names()[-1]]
        assert last is not None
        return last


def shifted_window_attention(
    x: torch.Tensor,
    weights: WindowAttentionWeights,
    num_heads: int,
    window: IntPair,
    shift: IntPair,
    *,
    pad: bool = False,
    use_mask: bool = True,
    clamp: Optional[str] = None,
    fill: float = -100.0,
    order: str = "pad-then-roll",
    return_stages: bool = False,
) -> torch.Tensor | Tuple[torch.Tensor, BlockStages]:
    """(Shifted-)window multi-head self-attention on a feature map, with the window and shift as given.

    The attention half of ``SwinTransformerBlock.forward`` (no norm, no MLP,
    no residual): pad, roll, partition, attend in each window with the
    relative position bias and the SW-MSA mask, reverse, roll back, crop.

    It runs the window and shift it is given. On a map larger than the window
    that is what the real Swin blocks run. On a map no larger than the window
    (``min(H, W) <= M``) the official block first drops the shift and shrinks
    the window to the map (its clamp); the default ``clamp=None`` does not, so
    it keeps the shift as the implementations that never clamp do (mmseg's
    and mmdet's backbones, transformers with ``always_partition=True``). Pass
    ``clamp="official"`` (or another rule of
    :data:`~swin_viz.tensors.CLAMP_RULES`) to run the block as that code does:
    at ``H = W = M = 7``, ``s = 3`` the two differ.

    Args:
        x: ``[B, H, W, C]``, floating, the same dtype as ``weights``.
        weights: :class:`WindowAttentionWeights` for the effective window.
        num_heads: heads; divides ``C`` and matches ``weights``.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``. ``0`` is plain W-MSA.
        pad: pad ``H, W`` with zero tokens up to multiples of the window
            (bottom/right). Without it a size the window does not divide is an error.
        use_mask: add the mask; ``False`` lets tokens attend across the wrap
            seams (see :func:`leaked_attention`).
        clamp: ``None`` (the default: use ``window`` and ``shift`` as given,
            never clamp) or a rule of :data:`~swin_viz.tensors.CLAMP_RULES`,
            applied to ``H, W`` first (:func:`~swin_viz.tensors.clamp_layout`);
            ``"official"`` for the official block on a small map.
        fill: what the mask adds to forbidden scores; ``-100.0`` as the
            official code, or ``-inf``.
        order: ``"pad-then-roll"`` (transformers, torchvision; correct) or
            ``"roll-then-pad"`` (timm from v0.9.6; misaligns the mask when padding is needed).
        return_stages: also return a :class:`BlockStages`.

    Returns:
        ``[B, H, W, C]``; with ``return_stages=True`` the pair ``(output, stages)``.
    """
    window_hw, shift_hw, height_p, width_p = _check_call(x, weights, num_heads, window, shift, pad, clamp)
    num_heads = as_int(num_heads, "num_heads")  # a Python int from here on (numpy ints are accepted)
    use_mask = as_bool(use_mask, "use_mask")
    return_stages = as_bool(return_stages, "return_stages")
    fill = check_fill(fill)
    check_fill_survives(fill, x.dtype)  # the mask is cast to x.dtype
    order = check_order(order)
    batch, height, width, channels = x.shape
    pad_rows, pad_cols = height_p - height, width_p - width
    n_tokens = window_hw[0] * window_hw[1]
    stages: Dict[str, Optional[torch.Tensor]] = {}

    if order == "pad-then-roll":
        stages["padded"] = F.pad(x, (0, 0, 0, pad_cols, 0, pad_rows))
        stages["shifted"] = cyclic_shift(stages["padded"], shift_hw)
        rolled = stages["shifted"]
    else:
        # torch.roll of the unpadded map: a shift larger than the map wraps around it (mod H, W)
        roll_hw = (shift_hw[0] % height, shift_hw[1] % width)
        stages["shifted"] = cyclic_shift(x, roll_hw)
        stages["padded"] = F.pad(stages["shifted"], (0, 0, 0, pad_cols, 0, pad_rows))
        rolled = stages["padded"]
    windows = window_partition(rolled, window_hw).view(-1, n_tokens, channels)
    stages["windows"] = windows

    head_dim = channels // num_heads
    qkv = F.linear(windows, weights.qkv_weight, weights.qkv_bias)
    qkv = qkv.reshape(windows.shape[0], n_tokens, 3, num_heads, head_dim).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]  # [B*nW, heads, N, d]
    bias = weights.relative_position_bias()
    stages["bias"] = bias
    scores = (q * head_dim**-0.5) @ k.transpose(-2, -1) + bias.unsqueeze(0)
    stages["scores"] = scores
    mask = attention_mask(height, width, window_hw, shift_hw, fill, pad=True).to(x.dtype) if use_mask else None
    stages["mask"] = mask
    attn = masked_window_softmax(scores, mask)
    stages["weights"] = attn
    attended = (attn @ v).transpose(1, 2).reshape(windows.shape[0], n_tokens, channels)
    attended = F.linear(attended, weights.proj_weight, weights.proj_bias)
    stages["attended"] = attended
    reversed_map = window_reverse(attended.view(-1, *window_hw, channels), window_hw, height_p, width_p)
    stages["reversed"] = reversed_map

    if order == "pad-then-roll":
        stages["unshifted"] = reverse_cyclic_shift(reversed_map, shift_hw)
        stages["cropped"] = stages["unshifted"][:, :height, :width, :].contiguous()
    else:
        stages["cropped"] = reversed_map[:, :height, :width, :].contiguous()
        stages["unshifted"] = reverse_cyclic_shift(stages["cropped"], roll_hw)
    record = BlockStages(window_hw, shift_hw, (height_p, width_p), order, stages)
    return (record.output, record) if return_stages else record.output


# --------------------------------------------------------------------------- #
# The oracle                                                                  #
# --------------------------------------------------------------------------- #
def oracle_window_attention(
    x: torch.Tensor,
    weights: WindowAttentionWeights,
    num_heads: int,
    window: IntPair,
    shift: IntPair,
    *,
    pad: bool = False,
    clamp: Optional[str] = None,
) -> torch.Tensor:
    """Shifted-window attention computed token by token, with no roll, no windows and no mask.

    Slow and obviously correct; the reference :func:`shifted_window_attention`
    must equal. Work in the (padded) ``Hp x Wp`` map, in the coordinates
    *before* the roll. For query ``(r, c)``:

    * its shifted window is ``((r - sh) mod Hp) // Mh, ((c - sw) mod Wp) // Mw``,
      and its place in that window ``((r - sh) mod Hp) % Mh, ((c - sw) mod Wp) % Mw``;
    * key ``(r', c')`` is a neighbour when it is in the same shifted window and
      on the same side of both wrap seams: ``(r < sh) == (r' < sh)`` and
      ``(c < sw) == (c' < sw)`` (rows above ``sh`` are the ones the roll carries
      across the top edge);
    * the score is ``q·k / √d`` plus the bias-table entry for the two places'
      difference, and the softmax runs over the neighbours only.

    Padding tokens (``pad=True``) are zero features and ordinary keys.

    Args:
        as :func:`shifted_window_attention` (always pad-then-roll, mask on).

    Returns:
        ``[B, H, W, C]``.
    """
    window_hw, shift_hw, height_p, width_p = _check_call(x, weights, num_heads, window, shift, pad, clamp)
    num_heads = as_int(num_heads, "num_heads")
    batch, height, width, channels = x.shape
    (window_h, window_w), (shift_h, shift_w) = window_hw, shift_hw
    head_dim = channels // num_heads
    if batch == 0:  # no image, no token to attend from: the empty output the block gives
        return x.new_zeros(0, height, width, channels)

    # the padded map, written out: zeros, then the real tokens at the top-left
    features = torch.zeros(batch, height_p, width_p, channels, dtype=x.dtype)
    features[:, :height, :width, :] = x
    features = features.reshape(batch, height_p * width_p, channels)  # token p = r * Wp + c
    q_all, k_all, v_all = F.linear(features, weights.qkv_weight, weights.qkv_bias).split(channels, dim=-1)

    rows = torch.arange(height_p).repeat_interleave(width_p)  # row of token p
    cols = torch.arange(width_p).repeat(height_p)  # column of token p
    rolled_rows, rolled_cols = (rows - shift_h) % height_p, (cols - shift_w) % width_p
    window_row, window_col = rolled_rows // window_h, rolled_cols // window_w
    place_row, place_col = rolled_rows % window_h, rolled_cols % window_w
    wrapped_row, wrapped_col = rows < shift_h, cols < shift_w
    table = weights.relative_position_bias_table

    output = torch.zeros(batch, height, width, channels, dtype=x.dtype)
    for r in range(height):
        for c in range(width):
            p = r * width_p + c
            neighbours = (
                (window_row == window_row[p])
                & (window_col == window_col[p])
                & (wrapped_row == wrapped_row[p])
                & (wrapped_col == wrapped_col[p])
            ).nonzero().squeeze(1)
            table_rows = (place_row[p] - place_row[neighbours] + window_h - 1) * (2 * window_w - 1) + (
                place_col[p] - place_col[neighbours] + window_w - 1
            )
            # every head at once: channel h*d + i is channel i of head h
            q = q_all[:, p].view(batch, num_heads, head_dim)  # [B, heads, d]
            k = k_all[:, neighbours].view(batch, len(neighbours), num_heads, head_dim)  # [B, n, heads, d]
            v = v_all[:, neighbours].view(batch, len(neighbours), num_heads, head_dim)
            scores = (k * q.unsqueeze(1)).sum(-1) / math.sqrt(head_dim) + table[table_rows]  # [B, n, heads]
            attention = torch.softmax(scores, dim=1)  # over the neighbours only
            output[:, r, c] = (attention.unsqueeze(-1) * v).sum(1).reshape(batch, channels)
    return F.linear(output, weights.proj_weight, weights.proj_bias)


def leaked_attention(
    x: torch.Tensor,
    weights: WindowAttentionWeights,
    num_heads: int,
    window: IntPair,
    shift: IntPair,
    *,
    pad: bool = False,
    use_mask: bool = False,
    clamp: Optional[str] = None,
    fill: float = -100.0,
) -> torch.Tensor:
    """How much attention each query token puts on keys across a wrap seam.

    Runs :func:`shifted_window_attention` (pad-then-roll) and sums, for every
    query, the softmax weights on keys that are *not* its
    :func:`seam_neighbours`: tokens from the far edge of the image that the
    roll brought into its window. Without the mask (the default here) that is
    the damage the mask prevents; with it, it is what ``fill=-100`` lets
    through (about ``e^-100`` per pair, exactly 0 with ``-inf``).

    Args:
        as :func:`shifted_window_attention`.

    Returns:
        ``[B, heads, H, W]``, each entry in ``[0, 1]``; 0 for queries whose
        window has no seam.
    """
    _, stages = shifted_window_attention(
        x, weights, num_heads, window, shift, pad=pad, use_mask=use_mask, clamp=clamp, fill=fill, return_stages=True
    )
    num_heads = as_int(num_heads, "num_heads")
    window_hw, shift_hw = stages.window, stages.shift
    height_p, width_p = stages.padded_size
    attn = stages["weights"]
    assert attn is not None
    allowed = seam_neighbours(x.shape[1], x.shape[2], window_hw, shift_hw, pad=True)  # [nW, N, N]
    n_windows = allowed.shape[0]
    leaked = (attn.view(-1, n_windows, num_heads, *allowed.shape[1:]) * ~allowed.unsqueeze(1)).sum(-1)  # [B, nW, heads, N]
    leaked = leaked.permute(0, 1, 3, 2).reshape(-1, *window_hw, num_heads)  # [B*nW, Mh, Mw, heads]
    leaked_map = reverse_cyclic_shift(window_reverse(leaked, window_hw, height_p, width_p), shift_hw)
    return leaked_map[:, : x.shape[1], : x.shape[2], :].permute(0, 3, 1, 2).contiguous()


# --------------------------------------------------------------------------- #
# What the explorer of notebook 06 draws                                      #
# --------------------------------------------------------------------------- #
class BlockLayout(NamedTuple):
    """Where the tokens of one layout go (see :func:`block_layout`)."""

    origins: torch.Tensor  #: ``[nW, N, 2]``: :func:`~swin_viz.tensors.token_origins`
    neighbours: torch.Tensor  #: ``[nW, N, N]``: :func:`seam_neighbours`
    place: torch.Tensor  #: ``[H, W, 2]``: window ``k`` and slot ``i`` of the token that starts at ``(row, col)``


def block_layout(height: int, width: int, window: IntPair, shift: IntPair) -> BlockLayout:
    """The layout's :func:`~swin_viz.tensors.token_origins`, :func:`seam_neighbours`, and their inverse: for
    every place of the ``H x W`` map, the window and slot its token lands in (the window divides the map)."""
    origins = token_origins(height, width, window, shift)
    n_windows, n_tokens = origins.shape[:2]
    place = torch.empty(height, width, 2, dtype=torch.long)
    slots = torch.stack(torch.meshgrid(torch.arange(n_windows), torch.arange(n_tokens), indexing="ij"), dim=-1)
    place[origins[..., 0], origins[..., 1]] = slots
    return BlockLayout(origins, seam_neighbours(height, width, window, shift), place)


def example_block_run(
    height: int, width: int, window: IntPair, shift: IntPair, *, use_mask: bool, channels: int, heads: int, seed: int
) -> Tuple[BlockStages, torch.Tensor]:
    """Notebook 06's block on an ``H x W`` layout: seeded weights (:meth:`WindowAttentionWeights.random`) and a
    seeded float64 input ``[1, H, W, channels]`` (``torch.randn`` with generator seed ``seed``).

    Returns its stages (:func:`shifted_window_attention` with ``return_stages=True``) and its
    ``[heads, H, W]`` :func:`leaked_attention`.
    """
    weights = WindowAttentionWeights.random(channels, heads, window, seed=seed)
    generator = torch.Generator().manual_seed(as_int(seed, "seed"))
    x = torch.randn(1, height, width, channels, generator=generator, dtype=torch.float64)
    with torch.no_grad():
        _, stages = shifted_window_attention(x, weights, heads, window, shift, use_mask=use_mask, return_stages=True)
        leak = leaked_attention(x, weights, heads, window, shift, use_mask=use_mask)[0]
    return stages, leak
