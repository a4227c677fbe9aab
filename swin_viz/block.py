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

Conventions, as in transformers' ``SwinLayer`` and torchvision's
``shifted_window_attention``:

* **pad-then-roll.** A map the window does not divide is padded with zero
  tokens at the bottom and right *before* the roll (``pad=True``). Padding
  tokens take part in attention as keys like any other token (their features
  are zero, so their keys and values are the projection biases); only the
  wrap seams are masked. The rows that wrap are then the last ``s`` rows of
  the padded map, which is what the mask of the padded layout assumes.
* **roll-then-pad** (timm 1.x ``SwinTransformerBlock._attn``, ``order=
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

from swin_viz.tensors import (
    IntPair,
    _as_bool,
    _check_fill,
    _check_fill_survives,
    _check_seed,
    _check_tensor,
    _padded_layout,
    _positive,
    as_int,
    as_pair,
    attention_mask,
    check_budget,
    clamp_layout,
    cyclic_shift,
    masked_window_softmax,
    padded_size,
    region_labels,
    reverse_cyclic_shift,
    token_origins,
    window_partition,
    window_reverse,
)

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
    "PadOrderLayout",
    "pad_order_layout",
    "padding_queries",
    "BlockLayout",
    "block_layout",
    "example_block_run",
]

#: The two orders in which real code combines padding and the cyclic shift.
PAD_ORDERS = ("pad-then-roll", "roll-then-pad")


# --------------------------------------------------------------------------- #
# Weights and the relative position index                                     #
# --------------------------------------------------------------------------- #
def relative_position_index(window: IntPair) -> torch.Tensor:
    """Which row of the bias table each (query, key) pair of a window reads: the official ``relative_position_index``.

    For tokens ``i = (yi, xi)`` and ``j = (yj, xj)`` of an ``Mh x Mw`` window
    (row-major), the index is ``(yi - yj + Mh - 1) * (2 Mw - 1) + (xi - xj + Mw - 1)``,
    built as ``WindowAttention.__init__`` builds it::

        coords = torch.stack(torch.meshgrid([coords_h, coords_w]))       # 2, Wh, Ww
        relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]
        relative_coords[:, :, 0] += Mh - 1; relative_coords[:, :, 1] += Mw - 1
        relative_coords[:, :, 0] *= 2 * Mw - 1
        relative_position_index = relative_coords.sum(-1)

    Args:
        window: ``M`` or ``(Mh, Mw)``.

    Returns:
        ``LongTensor[N, N]`` with values in ``[0, (2Mh-1)(2Mw-1))``.
    """
    window_h, window_w = as_pair(window, "window")
    for dim, win in (("h", window_h), ("w", window_w)):
        if win <= 0:
            raise ValueError(f"window must be positive in each dimension, got window_{dim}={win}")
    # int64 [N, N, 2] pair offsets twice (the difference and its contiguous copy) and their sum
    n_pairs = (window_h * window_w) ** 2
    check_budget(n_pairs * 34, f"relative_position_index of a {window_h}x{window_w} window")
    coords = torch.stack(torch.meshgrid(torch.arange(window_h), torch.arange(window_w), indexing="ij"))  # 2, Mh, Mw
    coords_flatten = torch.flatten(coords, 1)  # 2, N
    relative_coords = (coords_flatten[:, :, None] - coords_flatten[:, None, :]).permute(1, 2, 0).contiguous()  # N, N, 2
    relative_coords[:, :, 0] += window_h - 1
    relative_coords[:, :, 1] += window_w - 1
    relative_coords[:, :, 0] *= 2 * window_w - 1
    return relative_coords.sum(-1)


@dataclass(frozen=True)
class WindowAttentionWeights:
    """The parameters of one ``WindowAttention``, named and shaped as in the official code.

    Attributes:
        qkv_weight: ``[3C, C]``, the ``qkv`` Linear: rows ``0:C`` make the
            queries, ``C:2C`` the keys, ``2C:3C`` the values; inside each, head
            ``h`` owns rows ``h*d:(h+1)*d`` (``d = C // heads``).
        qkv_bias: ``[3C]``.
        proj_weight: ``[C, C]``, the output ``proj`` Linear.
        proj_bias: ``[C]``.
        relative_position_bias_table: ``[(2Mh-1)(2Mw-1), heads]``.
        window: ``(Mh, Mw)``, the window the table was made for.

    All tensors share one floating dtype. Build random ones with :meth:`random`.
    """

    qkv_weight: torch.Tensor
    qkv_bias: torch.Tensor
    proj_weight: torch.Tensor
    proj_bias: torch.Tensor
    relative_position_bias_table: torch.Tensor
    window: Tuple[int, int]

    def __post_init__(self) -> None:
        window_hw = as_pair(self.window, "window")
        for dim, win in zip("hw", window_hw, strict=True):
            if win <= 0:
                raise ValueError(f"window must be positive in each dimension, got window_{dim}={win}")
        object.__setattr__(self, "window", window_hw)
        names = ("qkv_weight", "qkv_bias", "proj_weight", "proj_bias", "relative_position_bias_table")
        for name in names:
            tensor = getattr(self, name)
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
            if not tensor.is_floating_point():
                raise TypeError(f"{name} must be a floating-point tensor, got dtype {tensor.dtype}")
        dtypes = {getattr(self, name).dtype for name in names}
        if len(dtypes) != 1:
            raise TypeError(f"all weights must share one dtype, got {sorted(str(d) for d in dtypes)}")
        if self.qkv_weight.dim() != 2 or self.qkv_weight.shape[0] != 3 * self.qkv_weight.shape[1]:
            raise ValueError(f"qkv_weight must have shape [3C, C], got {tuple(self.qkv_weight.shape)}")
        if self.qkv_weight.shape[1] == 0:  # a head of 0 channels has no 1/sqrt(d) scale
            raise ValueError("qkv_weight must have shape [3C, C] with C >= 1 channels, got C = 0")
        dim = self.qkv_weight.shape[1]
        expected = {
            "qkv_bias": (3 * dim,),
            "proj_weight": (dim, dim),
            "proj_bias": (dim,),
        }
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape:
                raise ValueError(f"{name} must have shape {list(shape)} for C={dim}, got {tuple(getattr(self, name).shape)}")
        table = self.relative_position_bias_table
        rows = (2 * window_hw[0] - 1) * (2 * window_hw[1] - 1)
        if table.dim() != 2 or table.shape[0] != rows or table.shape[1] == 0:
            raise ValueError(
                f"relative_position_bias_table must have shape [(2Mh-1)(2Mw-1), heads] = [{rows}, heads] "
                f"for window={window_hw}, got {tuple(table.shape)}"
            )
        if dim % table.shape[1] != 0:
            raise ValueError(
                f"C={dim} is not divisible by heads={table.shape[1]} (relative_position_bias_table.shape[1]): "
                "every head gets C // heads channels"
            )

    @property
    def dim(self) -> int:
        """``C``, the channel count."""
        return self.qkv_weight.shape[1]

    @property
    def num_heads(self) -> int:
        """The number of heads (columns of the bias table)."""
        return self.relative_position_bias_table.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        """The floating dtype all the weights share."""
        return self.qkv_weight.dtype

    def relative_position_bias(self) -> torch.Tensor:
        """The bias added to every window's scores: ``table[relative_position_index]``, ``[heads, N, N]``."""
        n_tokens = self.window[0] * self.window[1]
        index = relative_position_index(self.window).view(-1)
        bias = self.relative_position_bias_table[index].view(n_tokens, n_tokens, -1)
        return bias.permute(2, 0, 1).contiguous()

    @classmethod
    def random(
        cls, dim: int, num_heads: int, window: IntPair, *, seed: int = 0, dtype: torch.dtype = torch.float64
    ) -> "WindowAttentionWeights":
        """Seeded random weights for a ``dim``-channel, ``num_heads``-head attention on ``window``.

        Linear weights are ``N(0, 1/C)`` (scores of order one), biases
        ``N(0, 0.1^2)``, the bias table ``N(0, 0.5^2)`` -- larger than the
        official ``trunc_normal_(std=.02)`` start so that its effect shows.

        Args:
            dim: ``C``, a positive multiple of ``num_heads``.
            num_heads: positive int.
            window: ``M`` or ``(Mh, Mw)``.
            seed: seeds a private ``torch.Generator``; the same seed gives the same weights.
            dtype: a floating dtype, ``torch.float64`` by default.
        """
        dim = _positive(dim, "dim")
        num_heads = _positive(num_heads, "num_heads")
        if dim % num_heads != 0:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}: every head gets dim // num_heads channels")
        window_hw = as_pair(window, "window")
        for dim_name, win in zip("hw", window_hw, strict=True):
            if win <= 0:
                raise ValueError(f"window must be positive in each dimension, got window_{dim_name}={win}")
        seed = _check_seed(seed)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, got {dtype!r}")
        rows = (2 * window_hw[0] - 1) * (2 * window_hw[1] - 1)
        # every tensor drawn in float64, scaled (a copy) and cast (at most a third)
        check_budget(
            (4 * dim * dim + 4 * dim + rows * num_heads) * 12,
            f"WindowAttentionWeights.random(dim={dim}, num_heads={num_heads}, window={window_hw})",
        )
        generator = torch.Generator().manual_seed(seed)

        def normal(*shape: int, std: float) -> torch.Tensor:
            return (torch.randn(*shape, generator=generator, dtype=torch.float64) * std).to(dtype)

        return cls(
            qkv_weight=normal(3 * dim, dim, std=dim**-0.5),
            qkv_bias=normal(3 * dim, std=0.1),
            proj_weight=normal(dim, dim, std=dim**-0.5),
            proj_bias=normal(dim, std=0.1),
            relative_position_bias_table=normal(rows, num_heads, std=0.5),
            window=window_hw,
        )


# --------------------------------------------------------------------------- #
# Argument checking shared by the block and the oracle                        #
# --------------------------------------------------------------------------- #
def _check_order(order: object) -> str:
    if not isinstance(order, str):
        raise TypeError(f"order must be one of {PAD_ORDERS}, got {type(order).__name__} {order!r}")
    if order not in PAD_ORDERS:
        raise ValueError(f"order must be one of {PAD_ORDERS} (pad before or after the cyclic shift), got {order!r}")
    return order


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
    _check_tensor(x, "x", (4,), "[B, H, W, C]")
    assert isinstance(x, torch.Tensor)
    if not x.is_floating_point():
        raise TypeError(f"x must be a floating-point tensor, got dtype {x.dtype}")
    if not isinstance(weights, WindowAttentionWeights):
        raise TypeError(f"weights must be a WindowAttentionWeights, got {type(weights).__name__}")
    _, height, width, channels = x.shape
    num_heads = _positive(num_heads, "num_heads")
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
    pad = _as_bool(pad, "pad")
    if clamp is None:
        effective = (window, shift)
    else:
        effective = clamp_layout(height, width, window, shift, clamp)  # checks the rule name
    height_p, width_p, window_hw, shift_hw = _padded_layout(height, width, effective[0], effective[1], pad)
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
    """(Shifted-)window multi-head self-attention on a feature map, as the real Swin block runs it.

    The attention half of ``SwinTransformerBlock.forward`` (no norm, no MLP,
    no residual): pad, roll, partition, attend in each window with the
    relative position bias and the SW-MSA mask, reverse, roll back, crop.

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
        clamp: ``None`` (use ``window`` and ``shift`` as given) or a rule of
            :data:`~swin_viz.tensors.CLAMP_RULES`, applied to ``H, W`` first
            (:func:`~swin_viz.tensors.clamp_layout`).
        fill: what the mask adds to forbidden scores; ``-100.0`` as the
            official code, or ``-inf``.
        order: ``"pad-then-roll"`` (transformers, torchvision; correct) or
            ``"roll-then-pad"`` (timm 1.x; misaligns the mask when padding is needed).
        return_stages: also return a :class:`BlockStages`.

    Returns:
        ``[B, H, W, C]``; with ``return_stages=True`` the pair ``(output, stages)``.
    """
    window_hw, shift_hw, height_p, width_p = _check_call(x, weights, num_heads, window, shift, pad, clamp)
    num_heads = as_int(num_heads, "num_heads")  # a Python int from here on (numpy ints are accepted)
    use_mask = _as_bool(use_mask, "use_mask")
    return_stages = _as_bool(return_stages, "return_stages")
    fill = _check_fill(fill)
    _check_fill_survives(fill, x.dtype)  # the mask is cast to x.dtype
    order = _check_order(order)
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


# --------------------------------------------------------------------------- #
# Neighbour relations, for the notebooks                                      #
# --------------------------------------------------------------------------- #
def seam_neighbours(height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False) -> torch.Tensor:
    """The oracle's rule as a tensor: which (query, key) pairs of each shifted window may attend.

    ``True`` where query ``i`` and key ``j`` of window ``k`` sat on the same
    side of both wrap seams before the roll (``row < sh`` alike and
    ``column < sw`` alike), computed from :func:`~swin_viz.tensors.token_origins`
    -- coordinates only, no region labels. For pad-then-roll it equals
    ``attention_mask(...) == 0``, which is the mask's correctness.

    Args:
        height, width, window, shift, pad: as :func:`~swin_viz.tensors.attention_mask`.

    Returns:
        ``BoolTensor[nW, N, N]``.
    """
    height_p, width_p, window_hw, shift_hw = _padded_layout(height, width, window, shift, pad)
    # token_origins' tensors, then [nW, N, N, 2] and [nW, N, N] bools
    check_budget(height_p * width_p * (48 + 3 * window_hw[0] * window_hw[1]), f"seam_neighbours of a {height_p}x{width_p} map")
    origins = token_origins(height, width, window, shift, pad=pad)  # [nW, N, 2], padded coordinates
    return _same_side(origins, shift_hw)


def _same_side(origins: torch.Tensor, roll_hw: Tuple[int, int]) -> torch.Tensor:
    """``BoolTensor[nW, N, N]``: whether tokens ``i`` and ``j`` of each window (``origins`` ``[nW, N, 2]``,
    their coordinates before the roll) sat on the same side of both seams of a roll by ``roll_hw``."""
    wrapped = origins < torch.tensor(roll_hw)  # [nW, N, 2]: carried across the top / left edge
    return (wrapped.unsqueeze(2) == wrapped.unsqueeze(1)).all(-1)


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


class PairRelation(NamedTuple):
    """Three relations on the real tokens of an ``H x W`` map, as ``BoolTensor[H*W, H*W]``.

    Token ``p = r * W + c`` is the one at row ``r``, column ``c`` of the
    unpadded map; entry ``[p, q]`` is about query ``p`` and key ``q``.

    Attributes:
        together: ``p`` and ``q`` land in the same window of this order's layout.
        allowed: together, and the mask leaves the pair at 0: attention flows.
        genuine: together, and on the same side of both wrap seams: the oracle's
            rule, attention *should* flow.
    """

    together: torch.Tensor
    allowed: torch.Tensor
    genuine: torch.Tensor


def _window_origins(
    height: int, width: int, window_hw: Tuple[int, int], shift_hw: Tuple[int, int], order: str
) -> Tuple[torch.Tensor, Tuple[int, int]]:
    """``[nW, N, 2]`` unpadded ``(row, col)`` of every window token (``-1`` for padding), and the roll used."""
    height_p, width_p = padded_size(height, width, window_hw)
    if order == "pad-then-roll":
        origins = token_origins(height, width, window_hw, shift_hw, pad=True)
        padding = (origins[..., 0] >= height) | (origins[..., 1] >= width)
        return origins.masked_fill(padding.unsqueeze(-1), -1), shift_hw
    roll_hw = (shift_hw[0] % height, shift_hw[1] % width)
    rows, cols = torch.meshgrid(torch.arange(height), torch.arange(width), indexing="ij")
    coordinates = cyclic_shift(torch.stack((rows, cols), dim=-1).unsqueeze(0), roll_hw)  # roll the unpadded map
    coordinates = F.pad(coordinates, (0, 0, 0, width_p - width, 0, height_p - height), value=-1)  # then pad
    return window_partition(coordinates, window_hw).view(-1, window_hw[0] * window_hw[1], 2), roll_hw


def pair_relation(
    height: int, width: int, window: IntPair, shift: IntPair, *, order: str = "pad-then-roll"
) -> PairRelation:
    """Which real token pairs share a window, which the mask allows, which should be allowed.

    ``order`` says how the layout is built when the window does not divide the map:

    * ``"pad-then-roll"`` (transformers, torchvision): pad the ``H x W`` map to
      ``Hp x Wp`` with zero tokens at the bottom/right, roll the padded map by
      ``(-sh, -sw)``, partition; mask ``attention_mask(H, W, M, s, pad=True)``.
    * ``"roll-then-pad"`` (timm 1.x): roll the unpadded ``H x W`` map by
      ``(-sh, -sw)`` (mod ``H, W``), pad the rolled map to ``Hp x Wp`` at the
      bottom/right, partition; the same padded-layout mask.

    In both, a token is on the far side of the row seam when the roll carried
    it across the top edge (``row < sh``, with ``sh`` taken mod ``H`` for
    roll-then-pad), and likewise for columns. The mask of the padded layout
    assumes those tokens are the last ``sh`` rows of the padded map, which is
    true for pad-then-roll only.

    Returns:
        :class:`PairRelation` over the ``H*W`` real tokens.
    """
    height, width = _positive(height, "height"), _positive(width, "width")  # Python ints: H*W*H*W cannot overflow
    height_p, width_p, window_hw, shift_hw = _padded_layout(height, width, window, shift, True)
    order = _check_order(order)
    n_real = height * width
    check_budget(
        3 * n_real * n_real + height_p * width_p * window_hw[0] * window_hw[1] * _PAIR_BYTES["pair_relation"],
        f"pair_relation of a {height}x{width} map ({n_real}x{n_real} pairs, three times; count_wrong_pairs needs no such matrix)",
    )
    index, both_real, mask_allows, same_side = _window_relations(height, width, window_hw, shift_hw, order)
    relations = []
    for relation in (both_real, both_real & mask_allows, both_real & same_side):
        k, i, j = relation.nonzero(as_tuple=True)
        # matrix[index[k, i], index[k, j]] = True, with flat indices: index_select and index_fill_ are
        # 100x faster on CPU than advanced indexing (index_put, take) with index tensors
        flat, n_tokens = index.reshape(-1), index.shape[1]
        queries, keys = flat.index_select(0, k * n_tokens + i), flat.index_select(0, k * n_tokens + j)
        matrix = torch.zeros(n_real * n_real, dtype=torch.bool)
        matrix.index_fill_(0, queries * n_real + keys, True)
        relations.append(matrix.view(n_real, n_real))
    return PairRelation(*relations)


#: Bytes per (query, key) pair of the windows, at the peak of pair_relation and count_wrong_pairs: the float mask
#: (attention_mask's 14 bytes), the bool relations and, for pair_relation, the int64 indices of one relation's pairs.
_PAIR_BYTES = {"pair_relation": 110, "count_wrong_pairs": 15}


def _window_relations(
    height: int, width: int, window_hw: Tuple[int, int], shift_hw: Tuple[int, int], order: str
) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """The relations of :func:`pair_relation`, window by window, before they are scattered into ``[H*W, H*W]``.

    Returns ``(index, both_real, mask_allows, same_side)``: ``index`` ``LongTensor[nW, N]``, the unpadded
    token number ``r * W + c`` of each window token (0 for padding); the others ``BoolTensor[nW, N, N]``.
    Every real token sits in exactly one window once, so a pair ``(k, i, j)`` of real tokens is one pair
    ``(p, q)`` of the map and counts over windows equal counts over the map.
    """
    origins, roll_hw = _window_origins(height, width, window_hw, shift_hw, order)
    real = origins[..., 0] >= 0  # [nW, N]
    index = torch.where(real, origins[..., 0] * width + origins[..., 1], 0)  # unpadded token number
    same_side = _same_side(origins, roll_hw)  # [nW, N, N]
    mask_allows = attention_mask(height, width, window_hw, shift_hw, pad=True) == 0
    both_real = real.unsqueeze(2) & real.unsqueeze(1)
    return index, both_real, mask_allows, same_side


class WrongPairs(NamedTuple):
    """Ordered (query, key) pairs of real tokens a layout gets wrong (see :func:`count_wrong_pairs`)."""

    leaked: int  #: allowed by the mask, but across a wrap seam
    blocked: int  #: masked, but same window and same side of every seam

    @property
    def total(self) -> int:
        """``leaked + blocked``."""
        return self.leaked + self.blocked


def count_wrong_pairs(
    height: int, width: int, window: IntPair, shift: IntPair, *, order: str = "pad-then-roll"
) -> WrongPairs:
    """Count the (query, key) pairs of real tokens whose attention the mask gets wrong in a layout.

    Within each window of the layout (:func:`pair_relation` defines both
    ``order`` values), a pair is *leaked* when the mask allows it although the
    two tokens are on opposite sides of a wrap seam, and *blocked* when the
    mask forbids it although they are on the same side. Pad-then-roll gets none
    wrong for any size; roll-then-pad gets none wrong when the window divides
    the map (then there is no padding and the two orders are the same).

    Counted window by window (the pairs :func:`pair_relation` scatters into
    ``[H*W, H*W]`` matrices), so the memory grows with ``H * W * N``, not ``(H * W)^2``.

    Returns:
        :class:`WrongPairs` ``(leaked, blocked)``.
    """
    height, width = _positive(height, "height"), _positive(width, "width")
    height_p, width_p, window_hw, shift_hw = _padded_layout(height, width, window, shift, True)
    order = _check_order(order)
    check_budget(
        height_p * width_p * window_hw[0] * window_hw[1] * _PAIR_BYTES["count_wrong_pairs"],
        f"count_wrong_pairs of a {height}x{width} map in {window_hw[0]}x{window_hw[1]} windows",
    )
    _, both_real, mask_allows, same_side = _window_relations(height, width, window_hw, shift_hw, order)
    leaked = int((both_real & mask_allows & ~same_side).sum())
    blocked = int((both_real & same_side & ~mask_allows).sum())
    return WrongPairs(leaked, blocked)



# --------------------------------------------------------------------------- #
# What the explorers of notebooks 06 and 07 draw                              #
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class PadOrderLayout:
    """One layout in one padding order, as notebook 07's explorer draws it (see :func:`pad_order_layout`).

    Attributes:
        token_ids: ``[Hp, Wp]`` the rolled, padded map this order partitions: ``row * W + col``, ``-1`` for padding.
        labels: ``[Hp, Wp]`` the mask's region labels, ``region_labels(H, W, window, shift, pad=True)``.
        leaked: ``[H, W]`` per query token, the keys the mask allows across a seam.
        blocked: ``[H, W]`` per query token, the same-side keys the mask forbids.
        padding_queries: how many real query tokens the mask lets attend to at least one padding token.
    """

    token_ids: torch.Tensor
    labels: torch.Tensor
    leaked: torch.Tensor
    blocked: torch.Tensor
    padding_queries: int


def pad_order_layout(height: int, width: int, window: IntPair, shift: IntPair, order: str) -> PadOrderLayout:
    """Compute :class:`PadOrderLayout` for an ``H x W`` map, padded in ``order`` (see :data:`PAD_ORDERS`).

    The windows are those :func:`pair_relation` uses for ``order``; ``leaked`` and ``blocked`` sum its
    relations per query, so their totals are :func:`count_wrong_pairs`.

    Args:
        height, width: the unpadded ``H, W`` (any positive size; it is padded).
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        order: ``"pad-then-roll"`` or ``"roll-then-pad"``.
    """
    height_p, width_p, window_hw, shift_hw = _padded_layout(height, width, window, shift, True)
    relation = pair_relation(height, width, window_hw, shift_hw, order=order)  # checks order
    origins, _ = _window_origins(height, width, window_hw, shift_hw, order)  # [nW, N, 2], -1 for padding
    ids = torch.where(origins[..., 0] >= 0, origins[..., 0] * width + origins[..., 1], -1)
    return PadOrderLayout(
        token_ids=window_reverse(ids.view(-1, *window_hw, 1), window_hw, height_p, width_p)[0, :, :, 0],
        labels=region_labels(height, width, window_hw, shift_hw, pad=True),
        leaked=(relation.allowed & ~relation.genuine).sum(1).view(height, width),
        blocked=(relation.genuine & ~relation.allowed).sum(1).view(height, width),
        padding_queries=padding_queries(height, width, window_hw, shift_hw, order),
    )


def padding_queries(height: int, width: int, window: IntPair, shift: IntPair, order: str) -> int:
    """How many real query tokens the mask lets attend to at least one padding token, in ``order``'s windows
    (:func:`pair_relation` defines both orders)."""
    _, _, window_hw, shift_hw = _padded_layout(height, width, window, shift, True)
    origins, _ = _window_origins(height, width, window_hw, shift_hw, _check_order(order))  # -1 for padding
    real = origins[..., 0] >= 0  # [nW, N]
    allowed = attention_mask(height, width, window_hw, shift_hw, pad=True) == 0  # [nW, N, N]
    return int(((allowed & ~real.unsqueeze(1)).any(-1) & real).sum())


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
