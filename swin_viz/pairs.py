"""Which (query, key) pairs of a shifted window may attend: the oracle's rule, the mask's, and where they differ.

Two tokens of a rolled window may attend to each other when they were neighbours before the roll: on the
same side of both wrap seams. :func:`seam_neighbours` is that rule as a tensor (notebook 06: the mask of
pad-then-roll equals it). Notebook 07 asks what happens when the map must be padded, in the two
:data:`~swin_viz.layout.PAD_ORDERS` real code uses:

* :func:`pair_relation`      which real token pairs share a window, which the mask allows, which it should;
* :func:`count_wrong_pairs`  how many pairs a layout's mask gets wrong inside its own windows (none for
  pad-then-roll);
* :func:`count_changed_pairs` how many pairs may attend in one order and not in the other, whichever windows
  they fall in;
* :func:`pad_order_layout`   what notebook 07's explorer draws, and :func:`padding_queries`.

Every name is also importable from :mod:`swin_viz.block` and from :mod:`swin_viz`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple, Tuple

import torch
import torch.nn.functional as F

from swin_viz._checks import IntPair, check_budget, padded_layout, positive
from swin_viz.layout import check_order, padded_size
from swin_viz.tensors import attention_mask, cyclic_shift, region_labels, token_origins, window_partition, window_reverse

__all__ = [
    "seam_neighbours",
    "PairRelation",
    "pair_relation",
    "WrongPairs",
    "count_wrong_pairs",
    "ChangedPairs",
    "count_changed_pairs",
    "PadOrderLayout",
    "pad_order_layout",
    "padding_queries",
]


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
    height_p, width_p, window_hw, shift_hw = padded_layout(height, width, window, shift, pad)
    # token_origins' tensors, then [nW, N, N, 2] and [nW, N, N] bools
    check_budget(height_p * width_p * (48 + 3 * window_hw[0] * window_hw[1]), f"seam_neighbours of a {height_p}x{width_p} map")
    origins = token_origins(height, width, window, shift, pad=pad)  # [nW, N, 2], padded coordinates
    return _same_side(origins, shift_hw)


def _same_side(origins: torch.Tensor, roll_hw: Tuple[int, int]) -> torch.Tensor:
    """``BoolTensor[nW, N, N]``: whether tokens ``i`` and ``j`` of each window (``origins`` ``[nW, N, 2]``,
    their coordinates before the roll) sat on the same side of both seams of a roll by ``roll_hw``."""
    wrapped = origins < torch.tensor(roll_hw)  # [nW, N, 2]: carried across the top / left edge
    return (wrapped.unsqueeze(2) == wrapped.unsqueeze(1)).all(-1)


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
    * ``"roll-then-pad"`` (timm from v0.9.6): roll the unpadded ``H x W`` map by
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
    height, width = positive(height, "height"), positive(width, "width")  # Python ints: H*W*H*W cannot overflow
    height_p, width_p, window_hw, shift_hw = padded_layout(height, width, window, shift, True)
    order = check_order(order)
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
_PAIR_BYTES = {"pair_relation": 110, "count_wrong_pairs": 15, "count_changed_pairs": 110}


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
    mask forbids it although they are on the same side. Pairs the layout puts
    into different windows are counted by neither, even when pad-then-roll
    would let them attend (:func:`count_changed_pairs` counts those). Pad-then-roll gets none
    wrong for any size; roll-then-pad gets none wrong when the window divides
    the map (then there is no padding and the two orders are the same).

    Counted window by window (the pairs :func:`pair_relation` scatters into
    ``[H*W, H*W]`` matrices), so the memory grows with ``H * W * N``, not ``(H * W)^2``.

    Returns:
        :class:`WrongPairs` ``(leaked, blocked)``.
    """
    height, width = positive(height, "height"), positive(width, "width")
    height_p, width_p, window_hw, shift_hw = padded_layout(height, width, window, shift, True)
    order = check_order(order)
    check_budget(
        height_p * width_p * window_hw[0] * window_hw[1] * _PAIR_BYTES["count_wrong_pairs"],
        f"count_wrong_pairs of a {height}x{width} map in {window_hw[0]}x{window_hw[1]} windows",
    )
    _, both_real, mask_allows, same_side = _window_relations(height, width, window_hw, shift_hw, order)
    leaked = int((both_real & mask_allows & ~same_side).sum())
    blocked = int((both_real & same_side & ~mask_allows).sum())
    return WrongPairs(leaked, blocked)


class ChangedPairs(NamedTuple):
    """Ordered (query, key) pairs of real tokens one order lets attend and pad-then-roll does not, or the
    reverse (see :func:`count_changed_pairs`)."""

    lost: int  #: pad-then-roll lets them attend; this order does not (other windows, or masked)
    gained: int  #: this order lets them attend; pad-then-roll does not

    @property
    def total(self) -> int:
        """``lost + gained``: the pairs whose attention differs from pad-then-roll's."""
        return self.lost + self.gained


def _allowed_pairs(height: int, width: int, window_hw: Tuple[int, int], shift_hw: Tuple[int, int], order: str) -> torch.Tensor:
    """``LongTensor[n]``: ``p * H*W + q`` for every ordered pair of real tokens ``(p, q)`` that share a window
    of ``order``'s layout and that the mask leaves at 0 (each pair once: every real token is in one window)."""
    index, both_real, mask_allows, _ = _window_relations(height, width, window_hw, shift_hw, order)
    k, i, j = (both_real & mask_allows).nonzero(as_tuple=True)
    flat, n_tokens = index.reshape(-1), index.shape[1]
    queries, keys = flat.index_select(0, k * n_tokens + i), flat.index_select(0, k * n_tokens + j)
    return queries * (height * width) + keys


def count_changed_pairs(
    height: int, width: int, window: IntPair, shift: IntPair, *, order: str = "pad-then-roll"
) -> ChangedPairs:
    """Count the (query, key) pairs of real tokens that may attend in ``order`` but not in pad-then-roll, or
    the reverse, whichever windows they fall in.

    A pair *may attend* in an order when the two tokens share a window of that order's layout
    (:func:`pair_relation` defines both) and the mask leaves the pair at 0. Pad-then-roll's pairs are the
    oracle's (:func:`seam_neighbours`: the same shifted window of the padded map, the same side of both
    seams), so this counts every pair whose attention differs from the oracle's. :func:`count_wrong_pairs`
    counts less: only pairs inside one window of ``order``'s own layout. A pair that pad-then-roll lets
    attend but roll-then-pad puts into two different windows is *lost* here and in neither of its counts
    (``16 x 16``, window 7, shift 3: query ``(0, 0)``, key ``(0, 1)``).

    Memory grows with ``H * W * N`` (the allowed pairs, listed), not ``(H * W)^2``.

    Returns:
        :class:`ChangedPairs` ``(lost, gained)``; ``(0, 0)`` for ``order="pad-then-roll"``, compared with itself.
    """
    height, width = positive(height, "height"), positive(width, "width")
    height_p, width_p, window_hw, shift_hw = padded_layout(height, width, window, shift, True)
    order = check_order(order)
    check_budget(
        height_p * width_p * window_hw[0] * window_hw[1] * _PAIR_BYTES["count_changed_pairs"],
        f"count_changed_pairs of a {height}x{width} map in {window_hw[0]}x{window_hw[1]} windows",
    )
    reference = _allowed_pairs(height, width, window_hw, shift_hw, "pad-then-roll")
    allowed = _allowed_pairs(height, width, window_hw, shift_hw, order)
    common = int(torch.isin(allowed, reference).sum())
    return ChangedPairs(lost=len(reference) - common, gained=len(allowed) - common)


# --------------------------------------------------------------------------- #
# What the explorer of notebook 07 draws                                      #
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
        changed: the pairs that may attend in this order and not in pad-then-roll, or the reverse, whichever
            windows they fall in (:func:`count_changed_pairs`).
    """

    token_ids: torch.Tensor
    labels: torch.Tensor
    leaked: torch.Tensor
    blocked: torch.Tensor
    padding_queries: int
    changed: ChangedPairs


def pad_order_layout(height: int, width: int, window: IntPair, shift: IntPair, order: str) -> PadOrderLayout:
    """Compute :class:`PadOrderLayout` for an ``H x W`` map, padded in ``order`` (see :data:`~swin_viz.layout.PAD_ORDERS`).

    The windows are those :func:`pair_relation` uses for ``order``; ``leaked`` and ``blocked`` sum its
    relations per query, so their totals are :func:`count_wrong_pairs`.

    Args:
        height, width: the unpadded ``H, W`` (any positive size; it is padded).
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        order: ``"pad-then-roll"`` or ``"roll-then-pad"``.
    """
    height_p, width_p, window_hw, shift_hw = padded_layout(height, width, window, shift, True)
    relation = pair_relation(height, width, window_hw, shift_hw, order=order)  # checks order
    origins, _ = _window_origins(height, width, window_hw, shift_hw, order)  # [nW, N, 2], -1 for padding
    ids = torch.where(origins[..., 0] >= 0, origins[..., 0] * width + origins[..., 1], -1)
    return PadOrderLayout(
        token_ids=window_reverse(ids.view(-1, *window_hw, 1), window_hw, height_p, width_p)[0, :, :, 0],
        labels=region_labels(height, width, window_hw, shift_hw, pad=True),
        leaked=(relation.allowed & ~relation.genuine).sum(1).view(height, width),
        blocked=(relation.genuine & ~relation.allowed).sum(1).view(height, width),
        padding_queries=padding_queries(height, width, window_hw, shift_hw, order),
        changed=count_changed_pairs(height, width, window_hw, shift_hw, order=order),
    )


def padding_queries(height: int, width: int, window: IntPair, shift: IntPair, order: str) -> int:
    """How many real query tokens the mask lets attend to at least one padding token, in ``order``'s windows
    (:func:`pair_relation` defines both orders)."""
    _, _, window_hw, shift_hw = padded_layout(height, width, window, shift, True)
    origins, _ = _window_origins(height, width, window_hw, shift_hw, check_order(order))  # -1 for padding
    real = origins[..., 0] >= 0  # [nW, N]
    allowed = attention_mask(height, width, window_hw, shift_hw, pad=True) == 0  # [nW, N, N]
    return int(((allowed & ~real.unsqueeze(1)).any(-1) & real).sum())
