"""Floating-point facts about the mask: what ``-100`` leaves behind, in each dtype, and what ``-inf`` risks.

The official block adds ``-100.0`` to the scores of forbidden (query, key)
pairs instead of ``-inf``. These functions measure what that choice does, on
real tensors, so that notebook ``08_numerics`` can print every claim:

* :func:`leaked_weight`        the softmax weight left on forbidden keys, in a chosen dtype;
* :func:`score_gap`            the exact condition for suppression: ``leaked = sigmoid(gap + fill)``;
* :func:`suppression_curve`    the worst leaked weight as the logits grow, one curve per dtype;
* :func:`effective_fill`       what ``score + fill`` really subtracts once rounded to a dtype;
* :func:`fully_masked_row`     a query whose every key is masked: NaN with ``-inf``, uniform with ``-100``;
* :func:`fewest_allowed_keys`  why Swin never has such a row (and how masking padding keys would make one);
* :func:`sdpa_window_attention` the same window attention through ``torch.nn.functional.scaled_dot_product_attention``.

Shapes follow :mod:`swin_viz.tensors`: scores ``[B_, heads, N, N]`` with
``B_ = B * nW``, masks ``[nW, N, N]`` (0 where attention is allowed, ``fill``
where it is not).
"""

from __future__ import annotations

import numbers
from typing import Dict, NamedTuple, Sequence, Union

import torch
import torch.nn.functional as F

from swin_viz._checks import (
    IntPair,
    as_bool,
    check_budget,
    check_fill,
    check_mask_values,
    check_seed,
    check_tensor,
    positive,
)
from swin_viz.block import shifted_window_attention
from swin_viz.tensors import attention_mask, token_origins
from swin_viz.weights import WindowAttentionWeights

__all__ = [
    "DTYPES",
    "as_dtype",
    "Leak",
    "leaked_weight",
    "score_gap",
    "suppression_curve",
    "effective_fill",
    "MaskedRow",
    "fully_masked_row",
    "fewest_allowed_keys",
    "sdpa_window_attention",
    "EXAMPLE_BLOCK",
    "example_scores",
    "example_mask",
]

#: The floating dtypes the notebook compares, by name (float64 is the reference).
DTYPES: Dict[str, torch.dtype] = {
    "float64": torch.float64,
    "float32": torch.float32,
    "float16": torch.float16,
    "bfloat16": torch.bfloat16,
}

DtypeLike = Union[str, torch.dtype]


def as_dtype(dtype: DtypeLike, name: str = "dtype") -> torch.dtype:
    """Return ``dtype`` as one of the :data:`DTYPES`; a name such as ``"bfloat16"`` or a ``torch.dtype``."""
    if isinstance(dtype, str):
        if dtype not in DTYPES:
            raise ValueError(f"{name} must be one of {list(DTYPES)}, got {dtype!r}")
        return DTYPES[dtype]
    if not isinstance(dtype, torch.dtype):
        raise TypeError(f"{name} must be a dtype name such as 'float32' or a torch.dtype, got {type(dtype).__name__} {dtype!r}")
    if dtype not in DTYPES.values():
        raise ValueError(f"{name} must be one of {list(DTYPES)}, got {dtype}")
    return dtype


def _dtype_name(dtype: torch.dtype) -> str:
    return next(name for name, value in DTYPES.items() if value == dtype)


def _check_scores_and_mask(scores: object, mask: object) -> tuple[torch.Tensor, torch.Tensor]:
    """Validate ``scores [B_, heads, N, N]`` and a float ``mask [nW, N, N]`` that tile each other."""
    scores = check_tensor(scores, "scores", (4,), "[B*nW, heads, N, N]")
    mask = check_tensor(mask, "mask", (3,), "[nW, N, N]")
    if not scores.is_floating_point():
        raise TypeError(f"scores must be a floating-point tensor, got dtype {scores.dtype}")
    if not mask.is_floating_point():
        raise TypeError(f"mask must be a float mask (0 allowed, fill forbidden) such as attention_mask(...), got dtype {mask.dtype}")
    n_windows, n_tokens = mask.shape[0], scores.shape[-1]
    if scores.shape[-2] != n_tokens or tuple(mask.shape[1:]) != (n_tokens, n_tokens):
        raise ValueError(f"scores {tuple(scores.shape)} and mask {tuple(mask.shape)} must both end in [N, N] with the same N")
    if n_windows == 0 or scores.shape[0] % n_windows != 0:
        raise ValueError(f"scores.shape[0]={scores.shape[0]} must be a multiple of nW={n_windows} (mask.shape[0]): scores hold B*nW windows")
    if bool((mask > 0).any()) or bool(mask.isnan().any()):
        raise ValueError("mask must hold 0 (allowed) or a negative fill (forbidden), as attention_mask(...) returns")
    return scores, mask


def _per_window(tensor: torch.Tensor, n_windows: int) -> torch.Tensor:
    """``[B_, heads, ...]`` -> ``[B, nW, heads, ...]`` so that a ``[nW, 1, ...]`` mask lines up with it."""
    return tensor.view(tensor.shape[0] // n_windows, n_windows, *tensor.shape[1:])


class Leak(NamedTuple):
    """The softmax of ``scores + mask`` in one dtype, and the weight it leaves on forbidden keys.

    Attributes:
        weights: ``[B_, heads, N, N]`` in the chosen dtype, ``softmax(scores + mask)``.
        leaked: ``[B_, heads, N]`` float64: for every query row, the summed
            weight on the keys the mask forbids (NaN where the row is NaN).
        largest_pair: the largest weight on one forbidden (query, key) pair
            (0.0 if nothing is forbidden, NaN if any row is NaN).
    """

    weights: torch.Tensor
    leaked: torch.Tensor
    largest_pair: float

    @property
    def worst(self) -> float:
        """The largest leaked weight of any row (NaN if any row is NaN)."""
        if self.leaked.numel() == 0:  # no query row leaks anything
            return 0.0
        return float("nan") if bool(self.leaked.isnan().any()) else float(self.leaked.max())


def leaked_weight(scores: torch.Tensor, mask: torch.Tensor, dtype: DtypeLike = torch.float32) -> Leak:
    """Add the mask and take the softmax *in* ``dtype``, as a block running in that dtype does.

    ``scores.to(dtype) + mask.to(dtype)`` (the block's ``attention_mask(...).to(x.dtype)``),
    then ``torch.softmax`` in that dtype, broadcast over images and heads as
    :func:`~swin_viz.tensors.masked_window_softmax`. The cast is where the
    dtype bites: a fill such as ``torch.finfo(torch.float32).min`` becomes
    ``-inf`` in float16, and large scores round.

    Args:
        scores: ``[B_, heads, N, N]`` floating (``B_ = B * nW``), usually float64.
        mask: ``[nW, N, N]`` floating, 0 (allowed) or a negative fill (forbidden),
            e.g. :func:`~swin_viz.tensors.attention_mask`.
        dtype: one of :data:`DTYPES` (a name or a ``torch.dtype``).

    Returns:
        :class:`Leak` with the weights and the per-row leaked weight.
    """
    scores, mask = _check_scores_and_mask(scores, mask)
    dtype = as_dtype(dtype)
    n_windows = mask.shape[0]
    summed = _per_window(scores.to(dtype), n_windows) + mask.to(dtype).unsqueeze(1).unsqueeze(0)
    weights = torch.softmax(summed, dim=-1).view(scores.shape)
    forbidden = (mask != 0).unsqueeze(1).unsqueeze(0).expand_as(summed)  # [B, nW, heads, N, N]
    on_forbidden = _per_window(weights.double(), n_windows).masked_fill(~forbidden, 0.0)
    leaked = on_forbidden.sum(-1).view(scores.shape[:-1])
    nan_rows = weights.isnan().any(-1)
    leaked = leaked.masked_fill(nan_rows, float("nan"))
    pairs = on_forbidden[forbidden]
    largest = float("nan") if bool(nan_rows.any()) else (float(pairs.max()) if pairs.numel() else 0.0)
    return Leak(weights, leaked, largest)


def score_gap(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Per query row, ``logsumexp(forbidden scores) - logsumexp(allowed scores)``, in float64.

    This is the whole story of suppression. With a constant ``fill`` on the
    forbidden pairs, the exact weight they keep is

        ``leaked = F e^fill / (A + F e^fill) = sigmoid(gap + fill)``,

    where ``A`` and ``F`` are the sums of ``e^score`` over allowed and forbidden
    keys and ``gap = log F - log A``. So ``-100`` suppresses a row as long as
    its gap is well below 100; the gap grows with the spread of the logits, not
    with their size.

    Args:
        scores: ``[B_, heads, N, N]`` floating (computed in float64).
        mask: ``[nW, N, N]`` floating, 0 (allowed) or a negative fill; only
            ``mask != 0`` is used.

    Returns:
        ``[B_, heads, N]`` float64; ``-inf`` for rows with no forbidden key,
        ``+inf`` for rows with no allowed key.
    """
    scores, mask = _check_scores_and_mask(scores, mask)
    n_windows = mask.shape[0]
    grid = _per_window(scores.double(), n_windows)
    forbidden = (mask != 0).unsqueeze(1).unsqueeze(0)
    on_forbidden = grid.masked_fill(~forbidden, float("-inf")).logsumexp(-1)
    on_allowed = grid.masked_fill(forbidden, float("-inf")).logsumexp(-1)
    return (on_forbidden - on_allowed).view(scores.shape[:-1])


def _check_scales(logit_scales: object) -> torch.Tensor:
    if isinstance(logit_scales, torch.Tensor):
        scales = logit_scales.double().flatten()
    elif isinstance(logit_scales, Sequence) and not isinstance(logit_scales, str):
        for value in logit_scales:
            if isinstance(value, bool) or not isinstance(value, numbers.Real):
                raise TypeError(f"logit_scales must hold real numbers, got {type(value).__name__} {value!r}")
        scales = torch.tensor([float(v) for v in logit_scales], dtype=torch.float64)
    else:
        raise TypeError(f"logit_scales must be a sequence or 1-D tensor of positive numbers, got {type(logit_scales).__name__}")
    if scales.numel() == 0:
        raise ValueError("logit_scales must not be empty")
    if not bool(torch.isfinite(scales).all()) or bool((scales <= 0).any()):
        raise ValueError(f"logit_scales must be finite and positive, got {scales.tolist()}")
    return scales


def suppression_curve(
    scores: torch.Tensor,
    mask: torch.Tensor,
    logit_scales: Sequence[float] | torch.Tensor,
    dtypes: Sequence[DtypeLike] = tuple(DTYPES),
) -> Dict[str, torch.Tensor]:
    """The worst row's leaked weight when the logits are ``scale * scores``, for every scale and dtype.

    For each scale the scores are multiplied in float64 (logits that came out
    that large), then :func:`leaked_weight` runs in each dtype. Large scales
    stand for large activations without the ``1/sqrt(d)`` scaling, or a long
    training that sharpened the logits.

    Args:
        scores: ``[B_, heads, N, N]`` floating.
        mask: ``[nW, N, N]`` float mask with its fill (``attention_mask(..., fill)``).
        logit_scales: ``S`` positive numbers.
        dtypes: names or dtypes of :data:`DTYPES`.

    Returns:
        ``{dtype name: FloatTensor[S]}`` (float64): the largest per-row leaked
        weight at each scale; NaN where the softmax produced NaN (e.g. float16
        scores that overflowed to ``inf``).
    """
    scores, mask = _check_scores_and_mask(scores, mask)
    if scores.numel() == 0:  # no row, no worst row
        raise ValueError(f"scores must hold at least one query row to take the worst of, got shape {tuple(scores.shape)}")
    scales = _check_scales(logit_scales)
    if isinstance(dtypes, (str, torch.dtype)) or not isinstance(dtypes, Sequence) or len(dtypes) == 0:
        raise TypeError(f"dtypes must be a non-empty sequence of dtype names or torch.dtypes, got {dtypes!r}")
    resolved = [as_dtype(d, "dtypes[]") for d in dtypes]
    # every scale at once: S copies of the B*nW windows are S*B images of nW windows, which the mask tiles
    scaled = (scales.view(-1, 1, 1, 1, 1) * scores.double()).reshape(scales.numel() * scores.shape[0], *scores.shape[1:])  # [S*B_, heads, N, N]
    curves: Dict[str, torch.Tensor] = {}
    for dtype in resolved:
        leaked = leaked_weight(scaled, mask, dtype).leaked.view(scales.numel(), -1)  # [S, B_*heads*N]
        worst = leaked.max(-1).values
        curves[_dtype_name(dtype)] = worst.masked_fill(leaked.isnan().any(-1), float("nan"))
    return curves


def effective_fill(scores: torch.Tensor, fill: float, dtype: DtypeLike) -> torch.Tensor:
    """What adding ``fill`` really changes once everything is rounded to ``dtype``.

    Elementwise ``fl(fl(s) + fl(fill)) - fl(s)``, where ``fl`` rounds to ``dtype``,
    evaluated in float64. ``-100.0`` exactly when the sum is representable;
    less (or 0) when the spacing of ``dtype`` near ``s`` is coarse; ``-inf``
    when the sum overflows (or the fill is ``-inf``).

    Args:
        scores: any shape, floating (the scores as they would be before rounding).
        fill: a negative number or ``-inf`` (within float32, as :func:`~swin_viz.tensors.attention_mask` takes).
        dtype: one of :data:`DTYPES`.

    Returns:
        float64 tensor of the shape of ``scores``; NaN where ``fl(s)`` itself is infinite.
    """
    if not isinstance(scores, torch.Tensor) or not scores.is_floating_point():
        raise TypeError(f"scores must be a floating-point torch.Tensor, got {type(scores).__name__}")
    fill = check_fill(fill)
    dtype = as_dtype(dtype)
    rounded = scores.to(dtype)
    summed = rounded + torch.tensor(fill, dtype=torch.float32).to(dtype)
    return summed.double() - rounded.double()


class MaskedRow(NamedTuple):
    """One query row whose every key is masked.

    Attributes:
        weights: ``[keys]`` in the chosen dtype, ``softmax(scores + fill)``.
        output: ``[dim]`` in the chosen dtype, ``weights @ v``: what the token receives.
    """

    weights: torch.Tensor
    output: torch.Tensor


def fully_masked_row(fill: float, dtype: DtypeLike = torch.float32, *, keys: int = 9, dim: int = 4, seed: int = 0) -> MaskedRow:
    """Softmax of a row in which *every* key gets ``fill``, and the value it produces.

    With ``fill = -inf`` every entry is ``-inf``; the softmax subtracts the
    row maximum (``-inf``) and computes ``-inf - (-inf) = NaN``. With a finite
    fill every score is shifted by the same amount, which a softmax ignores:
    the weights are those of the unmasked scores (a silently wrong answer).

    Args:
        fill: a negative number or ``-inf``.
        dtype: one of :data:`DTYPES`.
        keys: number of keys, positive.
        dim: channels of the values, positive.
        seed: seeds the scores ``[keys]`` and values ``[keys, dim]`` (standard normal).

    Returns:
        :class:`MaskedRow` ``(weights [keys], output [dim])``.
    """
    fill = check_fill(fill)
    dtype = as_dtype(dtype)
    keys, dim = positive(keys, "keys"), positive(dim, "dim")
    check_budget(keys * (dim + 1) * 12, f"fully_masked_row(keys={keys}, dim={dim})")  # float64 draws, casts, products
    generator = torch.Generator().manual_seed(check_seed(seed))
    scores = torch.randn(keys, generator=generator, dtype=torch.float64).to(dtype)
    values = torch.randn(keys, dim, generator=generator, dtype=torch.float64).to(dtype)
    weights = torch.softmax(scores + torch.tensor(fill, dtype=torch.float32).to(dtype), dim=-1)
    return MaskedRow(weights, weights @ values)


def fewest_allowed_keys(
    height: int, width: int, window: IntPair, shift: IntPair, *, pad: bool = False, mask_padding_keys: bool = False
) -> int:
    """The smallest number of keys any query of any window may attend to.

    With the Swin mask (:func:`~swin_viz.tensors.attention_mask` ``== 0``) this is
    at least 1 for every layout, because a token is always in its own region
    (the diagonal is allowed), so no row is ever fully masked and ``-inf`` would
    be safe. ``mask_padding_keys=True`` (with ``pad=True``) also forbids the zero
    padding tokens as keys, as a key-padding mask would; a padding query whose
    region holds only padding then has no key left (0).

    Args:
        height, width, window, shift, pad: as :func:`~swin_viz.tensors.attention_mask`.
        mask_padding_keys: also forbid keys that are padding tokens.

    Returns:
        ``min`` over windows and query rows of the number of allowed keys.
    """
    height, width = positive(height, "height"), positive(width, "width")
    mask_padding_keys = as_bool(mask_padding_keys, "mask_padding_keys")
    allowed = attention_mask(height, width, window, shift, pad=pad) == 0  # [nW, N, N]
    if mask_padding_keys:
        origins = token_origins(height, width, window, shift, pad=pad)  # [nW, N, 2]
        real = (origins[..., 0] < height) & (origins[..., 1] < width)  # [nW, N]
        allowed = allowed & real.unsqueeze(1)
    return int(allowed.sum(-1).min())


def sdpa_window_attention(q: torch.Tensor, k: torch.Tensor, v: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Window attention through ``torch.nn.functional.scaled_dot_product_attention``, with the Swin mask.

    ``softmax(q kᵀ / sqrt(d) + mask) v`` with the mask lined up as
    :func:`~swin_viz.tensors.masked_window_softmax` lines it up: window ``w`` of
    every image gets ``mask[w]``, every head the same. A float mask is added
    to the scores (cast to ``q.dtype``); a boolean mask means *True = may
    attend* (SDPA's convention, i.e. ``attention_mask(...) == 0``).

    Args:
        q, k, v: ``[B_, heads, N, d]``, one floating dtype, ``B_ = B * nW``.
        mask: ``[nW, N, N]`` float or bool, or ``None`` (no mask).

    Returns:
        ``[B_, heads, N, d]``.
    """
    for name, tensor in (("q", q), ("k", k), ("v", v)):
        check_tensor(tensor, name, (4,), "[B*nW, heads, N, d]")
        if tensor.shape != q.shape or tensor.dtype != q.dtype:
            raise ValueError(f"q, k and v must share shape and dtype, got q {tuple(q.shape)} {q.dtype}, {name} {tuple(tensor.shape)} {tensor.dtype}")
    if not q.is_floating_point():
        raise TypeError(f"q, k, v must be floating-point, got dtype {q.dtype}")
    if mask is None:
        return F.scaled_dot_product_attention(q, k, v)
    check_tensor(mask, "mask", (3,), "[nW, N, N]")
    n_windows, n_tokens = mask.shape[0], q.shape[-2]
    if tuple(mask.shape[1:]) != (n_tokens, n_tokens):
        raise ValueError(f"mask has shape {tuple(mask.shape)} but q has N={n_tokens}: mask must be [nW, {n_tokens}, {n_tokens}]")
    if n_windows == 0 or q.shape[0] % n_windows != 0:
        raise ValueError(f"q.shape[0]={q.shape[0]} must be a multiple of nW={n_windows} (mask.shape[0]): q holds B*nW windows")
    check_mask_values(mask)  # 0 / negative fill, or bool
    if mask.dtype != torch.bool:
        mask = mask.to(q.dtype)
    out = F.scaled_dot_product_attention(
        _per_window(q, n_windows), _per_window(k, n_windows), _per_window(v, n_windows), attn_mask=mask.unsqueeze(1)
    )
    return out.reshape(q.shape)


# --------------------------------------------------------------------------- #
# Notebook 08's example, as its explorer draws it                             #
# --------------------------------------------------------------------------- #
#: Notebook 08's example block: a seeded block on the 9x9 map, window 3, shift 1, 8 channels, 2 heads.
EXAMPLE_BLOCK: Dict[str, int] = {"height": 9, "width": 9, "window": 3, "shift": 1, "channels": 8, "heads": 2, "seed": 0}


def example_scores() -> torch.Tensor:
    """Notebook 08's scores ``q·kᵀ/√d + bias`` (before the mask) of :data:`EXAMPLE_BLOCK`: ``[nW, heads, N, N]``
    float64, from a ``torch.randn`` input and :meth:`~swin_viz.block.WindowAttentionWeights.random` weights,
    both seeded with its ``seed``."""
    h, w, m, s, channels, heads, seed = (EXAMPLE_BLOCK[k] for k in ("height", "width", "window", "shift", "channels", "heads", "seed"))
    x = torch.randn(1, h, w, channels, generator=torch.Generator().manual_seed(seed), dtype=torch.float64)
    weights = WindowAttentionWeights.random(channels, heads, m, seed=seed)
    with torch.no_grad():
        _, stages = shifted_window_attention(x, weights, heads, m, s, return_stages=True)
    return stages["scores"]


def example_mask(fill: float = -100.0) -> torch.Tensor:
    """The ``[nW, N, N]`` mask of :data:`EXAMPLE_BLOCK`'s layout, ``fill`` on forbidden pairs."""
    return attention_mask(*(EXAMPLE_BLOCK[k] for k in ("height", "width", "window", "shift")), fill=fill)
