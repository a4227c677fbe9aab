"""The cost of window attention, measured: FLOPs, window counts and wall time.

The Swin paper (Liu et al. 2021, section 3.2) argues for windows and for the
cyclic shift by cost. On an ``h x w`` map of ``C`` channels with ``M x M``
windows, counting multiply-adds and leaving out the softmax::

    Omega(MSA)   = 4hwC^2 + 2(hw)^2 C      global attention: quadratic in hw
    Omega(W-MSA) = 4hwC^2 + 2 M^2 hw C     window attention: linear in hw

(``4hwC^2`` is the ``qkv`` and ``proj`` Linears, ``3hwC^2 + hwC^2``; the
second term is ``q @ k^T`` plus ``attn @ v``.) And the shifted windows of
SW-MSA, if cut from the map and padded to ``M x M``, number
``(ceil(h/M) + 1) * (ceil(w/M) + 1)`` where the cyclic shift keeps
``ceil(h/M) * ceil(w/M)``.

This module computes both sides of those claims:

* the formulas: :func:`msa_flops`, :func:`wmsa_flops`, :func:`naive_shift_flops`,
  :func:`window_count_formula`;
* the measurements: :func:`measured_flops` runs any call under
  ``torch.utils.flop_counter.FlopCounterMode``; :func:`attention_flops` does it
  for one of the :data:`ATTENTIONS` on a fresh map; :func:`window_count` counts
  the windows a partition actually produces; :func:`time_call` times a call and
  :func:`fit_slope` reads the exponent of a power law off the results;
* the naive alternative to the cyclic shift: :func:`naive_shifted_windows`, the
  pieces the shifted windows cut from the map;
* the attentions being measured, in :mod:`swin_viz.attentions` (importable from here
  too): :func:`global_attention` (the MSA of ViT, with the block's weights),
  :func:`multi_head_attention` (the body of ``WindowAttention.forward`` on any token
  groups), :func:`naive_shifted_partition` / :func:`naive_shifted_attention`.
  W-MSA and SW-MSA themselves are :func:`swin_viz.block.shifted_window_attention`;
* for the figures, :func:`shifted_partitions`: both shifted partitions of a map
  as region labels, padding marked ``-1``.

Counting conventions. ``FlopCounterMode`` counts ``2 * m * n * k`` for an
``[m, k] @ [k, n]`` product (a multiply and an add per term) and nothing for
bias adds, scaling, masks or the softmax. The paper's ``Omega`` and the
official ``WindowAttention.flops`` count one per multiply-add. So the measured
count is exactly twice ``Omega``; :attr:`MeasuredFlops.multiply_adds` halves it.
"""


from __future__ import annotations

import math
import numbers
import os
import statistics
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Sequence, Tuple

import torch
from torch.utils.flop_counter import FlopCounterMode

from swin_viz._checks import IntPair, as_int, check_budget, check_choice, padded_layout, positive, window_and_shift
from swin_viz.attentions import global_attention, multi_head_attention, naive_shifted_attention, naive_shifted_partition
from swin_viz.block import shifted_window_attention
from swin_viz.layout import padded_size
from swin_viz.tensors import cyclic_shift, region_labels, reverse_cyclic_shift, token_origins, window_labels, window_partition
from swin_viz.weights import WindowAttentionWeights


__all__ = [
    "msa_flops",
    "wmsa_flops",
    "naive_shift_flops",
    "MeasuredFlops",
    "measured_flops",
    "ATTENTIONS",
    "attention_flops",
    "WINDOW_METHODS",
    "window_count",
    "window_count_formula",
    "multi_head_attention",
    "global_attention",
    "naive_shifted_windows",
    "naive_shifted_partition",
    "naive_shifted_attention",
    "ShiftedPartitions",
    "shifted_partitions",
    "time_call",
    "fit_slope",
    "CostCurves",
    "cost_curves",
]

#: The attentions :func:`attention_flops` can measure, by name.
ATTENTIONS: Dict[str, str] = {
    "msa": "global multi-head self-attention over all h*w tokens (global_attention)",
    "w-msa": "window attention on the regular windows (shifted_window_attention, shift 0)",
    "sw-msa": "shifted-window attention with the cyclic shift and the mask (shifted_window_attention)",
    "padding": "shifted windows cut from the map and padded to M x M, no roll (naive_shifted_attention)",
}

#: How the shifted windows are made, for :func:`window_count`.
WINDOW_METHODS: Dict[str, str] = {
    "cyclic": "roll the (padded) map by -s, cut regular M x M windows: ceil(h/M) * ceil(w/M)",
    "padding": "cut the map at s, s+M, s+2M, ...; pad every piece to M x M: up to (ceil(h/M)+1) * (ceil(w/M)+1)",
}


# --------------------------------------------------------------------------- #
# The paper's formulas                                                        #
# --------------------------------------------------------------------------- #
def msa_flops(height: int, width: int, dim: int) -> int:
    """The paper's ``Omega(MSA) = 4hwC^2 + 2(hw)^2 C``: multiply-adds of global attention on an ``h x w`` map.

    ``4hwC^2`` is the ``qkv`` Linear (``3hwC^2``) plus ``proj`` (``hwC^2``);
    ``2(hw)^2 C`` is ``q @ k^T`` plus ``attn @ v`` over all heads. Softmax,
    scaling and biases are not counted. Independent of the number of heads.

    Args:
        height, width: ``h, w``, positive ints.
        dim: ``C``, positive int.
    """
    height, width, dim = positive(height, "height"), positive(width, "width"), positive(dim, "dim")
    tokens = height * width
    return 4 * tokens * dim**2 + 2 * tokens**2 * dim


def wmsa_flops(height: int, width: int, dim: int, window: IntPair, *, pad: bool = False) -> int:
    """The paper's ``Omega(W-MSA) = 4hwC^2 + 2M^2 hwC``: multiply-adds of window attention.

    Each of the ``hw / M^2`` windows runs attention over ``N = M^2`` tokens,
    ``4NC^2 + 2N^2 C``; summed, the second term is linear in ``hw`` for a fixed
    ``M``. For an ``Mh x Mw`` window ``M^2`` is ``Mh * Mw``.

    Args:
        height, width: ``h, w``, multiples of the window unless ``pad=True``.
        dim: ``C``, positive int.
        window: ``M`` or ``(Mh, Mw)``.
        pad: count the map padded to :func:`~swin_viz.tensors.padded_size`
            (as the block runs it with ``pad=True``): ``h, w`` become ``Hp, Wp``.
    """
    height_p, width_p, (window_h, window_w), _ = padded_layout(height, width, window, 0, pad)
    dim = positive(dim, "dim")
    tokens = height_p * width_p
    return 4 * tokens * dim**2 + 2 * window_h * window_w * tokens * dim


def naive_shift_flops(height: int, width: int, dim: int, window: IntPair, shift: IntPair) -> int:
    """Multiply-adds of SW-MSA done the naive way: attention on every padded ``M x M`` piece.

    ``nW' * (4NC^2 + 2N^2 C)`` with ``N = Mh * Mw`` and ``nW'`` the number of
    pieces, ``window_count(h, w, M, s, method="padding")``: the padding tokens
    are computed like real ones. Equal to :func:`wmsa_flops` (``pad=True``)
    times ``nW' / nW``.

    Args:
        height, width: ``h, w``, positive ints (any size).
        dim: ``C``, positive int.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
    """
    height, width = positive(height, "height"), positive(width, "width")
    window_hw, shift_hw = window_and_shift(height, width, window, shift)
    dim = positive(dim, "dim")
    n_tokens = window_hw[0] * window_hw[1]
    # the pieces counted without building them (window_count builds them), so any size costs nothing
    pieces = _piece_count(height, window_hw[0], shift_hw[0]) * _piece_count(width, window_hw[1], shift_hw[1])
    return pieces * (4 * n_tokens * dim**2 + 2 * n_tokens**2 * dim)


# --------------------------------------------------------------------------- #
# Measuring                                                                   #
# --------------------------------------------------------------------------- #
@dataclass(frozen=True)
class MeasuredFlops:
    """What ``FlopCounterMode`` counted for one call.

    Attributes:
        total: FLOPs as ``FlopCounterMode`` counts them: ``2 * m * n * k`` per
            ``[m, k] @ [k, n]`` product (``mm``, ``addmm``, ``bmm`` ...).
        by_op: the same, split by aten operator name, e.g.
            ``{"aten.addmm": ..., "aten.bmm": ...}`` (Linears are ``addmm``,
            ``q @ k^T`` and ``attn @ v`` are ``bmm``).
    """

    total: int
    by_op: Dict[str, int]

    @property
    def multiply_adds(self) -> int:
        """``total // 2``: one per multiply-add, the unit of the paper's ``Omega``."""
        return self.total // 2

    def op_multiply_adds(self, op: str) -> int:
        """Multiply-adds of one operator (``"aten.addmm"``, ``"aten.bmm"``, ...); 0 if it did not run."""
        return self.by_op.get(op, 0) // 2


def measured_flops(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> MeasuredFlops:
    """Run ``fn(*args, **kwargs)`` under ``FlopCounterMode`` and return what it counted.

    The call runs for real (under ``torch.no_grad``), so the count is of the
    operations the code actually performs. ``FlopCounterMode`` reads only
    shapes, so tensors on the ``meta`` device (no data, no arithmetic) give the
    same count in a fraction of the time.

    Returns:
        :class:`MeasuredFlops`.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__} {fn!r}")
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter:
        fn(*args, **kwargs)
    by_op = {str(op): int(count) for op, count in counter.get_flop_counts().get("Global", {}).items()}
    return MeasuredFlops(int(counter.get_total_flops()), dict(sorted(by_op.items())))


def _weights_on(weights: WindowAttentionWeights, device: torch.device) -> WindowAttentionWeights:
    names = ("qkv_weight", "qkv_bias", "proj_weight", "proj_bias", "relative_position_bias_table")
    return WindowAttentionWeights(**{name: getattr(weights, name).to(device) for name in names}, window=weights.window)


def attention_flops(
    attention: str,
    height: int,
    width: int,
    dim: int,
    num_heads: int,
    window: IntPair,
    shift: IntPair = 0,
    *,
    device: str | torch.device = "meta",
) -> MeasuredFlops:
    """Measure one of the :data:`ATTENTIONS` on a ``[1, h, w, C]`` map with ``FlopCounterMode``.

    * ``"msa"``: :func:`global_attention`;
    * ``"w-msa"``: :func:`~swin_viz.block.shifted_window_attention` with shift 0;
    * ``"sw-msa"``: the same with ``shift`` (cyclic shift and mask);
    * ``"padding"``: :func:`naive_shifted_attention` with ``shift``.

    Maps the window does not divide are padded (``pad=True``). Weights are
    :meth:`WindowAttentionWeights.random` (seed 0), float32.

    Args:
        attention: a key of :data:`ATTENTIONS`.
        height, width: ``h, w``, positive ints.
        dim, num_heads: ``C`` and the heads; ``num_heads`` divides ``C``.
        window: ``M`` or ``(Mh, Mw)`` (ignored by ``"msa"`` except for validation).
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M`` (used by ``"sw-msa"`` and ``"padding"``).
        device: ``"meta"`` (default: shapes only, milliseconds) or ``"cpu"``
            (the real computation). On ``meta``, ``"sw-msa"`` runs without the
            mask, which is built on the CPU; adding it costs no multiply-adds.
    """
    attention = check_choice(attention, ATTENTIONS, "attention")
    height, width = positive(height, "height"), positive(width, "width")
    window_hw, shift_hw = window_and_shift(height, width, window, shift)
    weights = WindowAttentionWeights.random(dim, num_heads, window_hw, dtype=torch.float32)  # checks dim, num_heads
    dim, num_heads = weights.dim, weights.num_heads
    if not isinstance(device, (str, torch.device)) or str(device) not in ("meta", "cpu"):
        kind = "" if isinstance(device, (str, torch.device)) else f"{type(device).__name__} "
        raise (ValueError if kind == "" else TypeError)(f"device must be 'meta' or 'cpu', got {kind}{str(device)!r}")
    device = torch.device(device)
    weights = _weights_on(weights, device)
    if device.type == "meta":
        x = torch.empty(1, height, width, dim, device=device)  # shapes only: no data, no memory
    else:
        # the map and about a dozen copies of it through the stages (the attention itself checks its scores)
        tokens = (height + 2 * window_hw[0]) * (width + 2 * window_hw[1])
        check_budget(64 * tokens * dim, f"attention_flops({attention!r}) on a {height}x{width}x{dim} map on the cpu")
        x = torch.randn(1, height, width, dim, generator=torch.Generator().manual_seed(0))
    if attention == "msa":
        return measured_flops(global_attention, x, weights, num_heads)
    if attention == "padding":
        return measured_flops(naive_shifted_attention, x, weights, num_heads, window_hw, shift_hw)
    shift_used = (0, 0) if attention == "w-msa" else shift_hw
    use_mask = device.type != "meta" and shift_used != (0, 0)
    return measured_flops(shifted_window_attention, x, weights, num_heads, window_hw, shift_used, pad=True, use_mask=use_mask)


def time_call(
    fn: Callable[..., Any], *args: Any, repeat: int = 5, warmup: int = 1, threads: Optional[int] = None, **kwargs: Any
) -> float:
    """The median wall time of ``fn(*args, **kwargs)`` in seconds, under ``torch.no_grad``.

    Runs ``warmup`` untimed calls first (allocator, caches), then ``repeat``
    timed ones with ``time.perf_counter``. The median ignores the odd slow run
    (another process, a garbage collection). Timings vary from machine to
    machine and run to run: never compare them for equality.

    Args:
        fn: any callable.
        repeat: timed calls, a positive int.
        warmup: untimed calls first, a non-negative int.
        threads: run with ``torch.set_num_threads(threads)`` (restored
            afterwards); ``None`` keeps the current setting. One thread gives
            steadier timings on a busy machine.
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, got {type(fn).__name__} {fn!r}")
    repeat = positive(repeat, "repeat")
    warmup = as_int(warmup, "warmup")
    if warmup < 0:
        raise ValueError(f"warmup must be a non-negative int, got {warmup}")
    if threads is not None:
        threads = positive(threads, "threads")
        cores = os.cpu_count() or 1
        if threads > cores:  # torch starts as many threads as asked, and a huge number crashes the process
            raise ValueError(f"threads must be at most the {cores} logical CPUs of this machine, got {threads}")
    previous = torch.get_num_threads()
    times = []
    try:
        if threads is not None:
            torch.set_num_threads(threads)
        with torch.no_grad():
            for _ in range(warmup):
                fn(*args, **kwargs)
            for _ in range(repeat):
                start = time.perf_counter()
                fn(*args, **kwargs)
                times.append(time.perf_counter() - start)
    finally:
        torch.set_num_threads(previous)
    return statistics.median(times)


def fit_slope(sizes: Sequence[float], values: Sequence[float]) -> float:
    """The slope of the least-squares line through ``(log size, log value)``: the exponent ``p`` of ``value ~ size^p``.

    2 for a cost quadratic in the size, 1 for a linear one.

    Args:
        sizes, values: equally long sequences of positive numbers, at least two
            distinct sizes.
    """
    for name, seq in (("sizes", sizes), ("values", values)):
        if isinstance(seq, (str, bytes)) or not hasattr(seq, "__iter__"):
            raise TypeError(f"{name} must be a sequence of positive numbers, got {type(seq).__name__} {seq!r}")
    sizes, values = list(sizes), list(values)
    if len(sizes) != len(values):
        raise ValueError(f"sizes and values must be equally long, got {len(sizes)} and {len(values)}")
    for name, seq in (("sizes", sizes), ("values", values)):
        for v in seq:
            if isinstance(v, bool) or not isinstance(v, numbers.Real) or not v > 0 or math.isinf(v):
                raise ValueError(f"{name} must hold positive finite numbers (they are taken log of), got {v!r}")
    if len(set(sizes)) < 2:
        raise ValueError(f"sizes must hold at least two distinct values to fit a slope, got {sizes}")
    xs, ys = [math.log(s) for s in sizes], [math.log(v) for v in values]
    x_mean, y_mean = sum(xs) / len(xs), sum(ys) / len(ys)
    return sum((x - x_mean) * (y - y_mean) for x, y in zip(xs, ys, strict=True)) / sum((x - x_mean) ** 2 for x in xs)


# --------------------------------------------------------------------------- #
# Window counts                                                               #
# --------------------------------------------------------------------------- #
def _piece_count(size: int, window: int, shift: int) -> int:
    """``len(_cuts(size, window, shift)) - 1`` without building the cuts: the cuts ``s, s+M, ... < size``,
    plus 0 when ``s > 0`` (with ``s = 0`` the first of them is 0), plus ``size``; one piece fewer than cuts."""
    return len(range(shift, size, window)) + (shift > 0)


#: Bytes per piece of the naive partition held as Python objects: the (rows, cols) tuple, two slices, the
#: list slot and a share of the cut positions (measured in tests/test_hardening.py).
_PIECE_BYTES = 210


def _check_pieces_budget(function: str, height: int, width: int, window_hw: Tuple[int, int], shift_hw: Tuple[int, int]) -> None:
    pieces = _piece_count(height, window_hw[0], shift_hw[0]) * _piece_count(width, window_hw[1], shift_hw[1])
    check_budget(pieces * _PIECE_BYTES, f"{function} of a {height}x{width} map ({pieces} pieces as Python objects)")


def _cuts(size: int, window: int, shift: int) -> List[int]:
    """Borders of the naive shifted partition along one axis: ``0, s, s+M, s+2M, ..., size`` (no repeats)."""
    return sorted({0, size, *range(shift, size, window)})


def naive_shifted_windows(height: int, width: int, window: IntPair, shift: IntPair) -> List[Tuple[slice, slice]]:
    """The shifted windows cut straight from the map: the pieces the paper's naive solution pads to ``M x M``.

    The shifted partition has its window borders at rows ``sh, sh+Mh, ...``
    and columns ``sw, sw+Mw, ...``; cut there, the map falls into full windows
    in the middle and thinner pieces along the edges (``sh`` rows at the top,
    what is left at the bottom). No roll: every piece holds neighbouring tokens
    only, so it needs no region mask, only a padding mask.

    Args:
        height, width: ``H, W``, positive ints (any size: no padding is needed to cut).
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``. With 0 the pieces are the
            regular windows (the last row/column of them thinner when ``M`` does
            not divide the map).

    Returns:
        ``(rows, cols)`` slice pairs, one per non-empty piece, row-major: piece
        ``k`` is ``x[:, rows, cols, :]``.
    """
    height, width = positive(height, "height"), positive(width, "width")
    (window_h, window_w), (shift_h, shift_w) = window_and_shift(height, width, window, shift)
    _check_pieces_budget("naive_shifted_windows", height, width, (window_h, window_w), (shift_h, shift_w))
    row_cuts, col_cuts = _cuts(height, window_h, shift_h), _cuts(width, window_w, shift_w)
    return [
        (slice(top, bottom), slice(left, right))
        for top, bottom in zip(row_cuts, row_cuts[1:])
        for left, right in zip(col_cuts, col_cuts[1:])
    ]


def window_count(height: int, width: int, window: IntPair, shift: IntPair = 0, *, method: str = "cyclic") -> int:
    """How many windows SW-MSA attends over, counted by building the partition.

    * ``"cyclic"``: pad the map to ``Hp x Wp`` (bottom/right), roll it by
      ``-s``, :func:`~swin_viz.tensors.window_partition` it; the number of
      windows it returns. Independent of ``s``.
    * ``"padding"``: the number of pieces of :func:`naive_shifted_windows`,
      each of which the naive solution pads to a full window.

    Compare :func:`window_count_formula`, the paper's numbers.

    Args:
        height, width: ``H, W``, positive ints.
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.
        method: a key of :data:`WINDOW_METHODS`.
    """
    method = check_choice(method, WINDOW_METHODS, "method")
    height, width = positive(height, "height"), positive(width, "width")
    window_hw, shift_hw = window_and_shift(height, width, window, shift)
    if method == "padding":
        return len(naive_shifted_windows(height, width, window_hw, shift_hw))
    height_p, width_p = padded_size(height, width, window_hw)
    # float32 zeros, rolled (a copy), partitioned (a copy)
    check_budget(height_p * width_p * 12, f"window_count(method='cyclic') of a {height_p}x{width_p} map")
    rolled = cyclic_shift(torch.zeros(1, height_p, width_p, 1), shift_hw)
    return window_partition(rolled, window_hw).shape[0]


def window_count_formula(height: int, width: int, window: IntPair, shift: IntPair = 0, *, method: str = "cyclic") -> int:
    """The paper's window counts: ``ceil(h/M) * ceil(w/M)`` for the cyclic shift, ``(ceil(h/M)+1) * (ceil(w/M)+1)`` with padding.

    The ``+1`` applies in each dimension whose shift is positive (with no shift
    there is nothing to pad). The padding formula counts the pieces of the
    padded ``Hp x Wp`` map; on the ``h x w`` map itself the last piece is
    empty, and :func:`window_count` one less, when ``0 < h mod M <= s``.

    Args:
        as :func:`window_count`.
    """
    method = check_choice(method, WINDOW_METHODS, "method")
    (window_h, window_w), (shift_h, shift_w) = window_and_shift(height, width, window, shift)
    rows, cols = math.ceil(height / window_h), math.ceil(width / window_w)
    if method == "padding":
        rows, cols = rows + (shift_h > 0), cols + (shift_w > 0)
    return rows * cols


class ShiftedPartitions(NamedTuple):
    """The windows SW-MSA attends over, both ways, as region labels (``-1`` marks a padding token).

    Attributes:
        naive: ``LongTensor[nW', Mh, Mw]``, the pieces of
            :func:`naive_shifted_windows` padded to full windows
            (:func:`naive_shifted_partition`), in that order.
        naive_per_row: pieces per row of the naive partition.
        cyclic: ``LongTensor[nW, Mh, Mw]``, the windows of the padded, rolled
            map (``window_labels(..., pad=True)``), in ``window_partition`` order.
        cyclic_per_row: windows per row, ``Wp // Mw``.

    A real token has the same label on both sides: the region it falls in
    after the roll (:func:`~swin_viz.tensors.region_labels`), so each naive
    piece is one region of one rolled window.
    """

    naive: torch.Tensor
    naive_per_row: int
    cyclic: torch.Tensor
    cyclic_per_row: int


#: Bytes per token of the (padded) grid at the peak of shifted_partitions: token_origins' 48, the labels of both
#: partitions (int64, several copies) and the masks of padding (measured in tests/test_hardening.py).
_PARTITION_BYTES = 70


def shifted_partitions(height: int, width: int, window: IntPair, shift: IntPair) -> ShiftedPartitions:
    """Both shifted partitions of an ``H x W`` map, labelled by region, padding as ``-1``: what the figures draw.

    Args:
        height, width: ``H, W``, positive ints (any size).
        window: ``M`` or ``(Mh, Mw)``.
        shift: ``s`` or ``(sh, sw)``, ``0 <= s < M``.

    Returns:
        :class:`ShiftedPartitions`; ``naive.shape[0] == window_count(..., method="padding")``
        and ``cyclic.shape[0] == window_count(..., method="cyclic")``.
    """
    height, width = positive(height, "height"), positive(width, "width")
    window_hw, shift_hw = window_and_shift(height, width, window, shift)
    height_p, width_p = padded_size(height, width, window_hw)
    grid_tokens = (height_p + window_hw[0]) * (width_p + window_hw[1])  # the naive grid is at most one window larger
    check_budget(grid_tokens * _PARTITION_BYTES, f"shifted_partitions of a {height}x{width} map")
    origins = token_origins(height, width, window_hw, shift_hw, pad=True)  # [nW, N, 2], padded coordinates
    padding = (origins[..., 0] >= height) | (origins[..., 1] >= width)
    cyclic = window_labels(height, width, window_hw, shift_hw, pad=True).masked_fill(padding, -1)
    # each token's label, at the token's own place in the map (un-rolled, padding cropped)
    labels = reverse_cyclic_shift(region_labels(height, width, window_hw, shift_hw, pad=True), shift_hw)[:height, :width]
    windows, real = naive_shifted_partition(labels.reshape(1, height, width, 1), window_hw, shift_hw)
    naive = windows.view(-1, window_hw[0] * window_hw[1]).masked_fill(~real, -1)
    naive_per_row = len(_cuts(width, window_hw[1], shift_hw[1])) - 1
    return ShiftedPartitions(
        naive.view(-1, *window_hw),
        naive_per_row,
        cyclic.view(-1, *window_hw),
        padded_size(height, width, window_hw)[1] // window_hw[1],
    )


# --------------------------------------------------------------------------- #
# The curves of notebook 09's explorer                                        #
# --------------------------------------------------------------------------- #
class CostCurves(NamedTuple):
    """What notebook 09's explorer plots against the map size ``h = w`` (see :func:`cost_curves`)."""

    tokens: List[int]  #: ``hw`` per size
    flops: Dict[str, List[int]]  #: ``"msa"`` and ``"w-msa"`` multiply-adds per size
    counts: Dict[str, List[int]]  #: ``"cyclic"`` and ``"padding"`` window counts per size, built
    paper: List[int]  #: the paper's padded window count per size, ``(ceil(h/M)+1)**2``


def cost_curves(sizes: Sequence[int], window: int, shift: int, dim: int) -> CostCurves:
    """The cost of square maps ``h = w`` in ``sizes``, with window ``M``, shift ``s`` and ``C = dim`` channels.

    Multiply-adds are :func:`msa_flops` and :func:`wmsa_flops` (on the map padded to a multiple of ``M``, as
    the block runs it); the window counts are :func:`window_count` of both methods (the partitions built) and
    :func:`window_count_formula` of padding (the paper's).
    """
    return CostCurves(
        tokens=[n * n for n in sizes],
        flops={"msa": [msa_flops(n, n, dim) for n in sizes], "w-msa": [wmsa_flops(n, n, dim, window, pad=True) for n in sizes]},
        counts={method: [window_count(n, n, window, shift, method=method) for n in sizes] for method in ("cyclic", "padding")},
        paper=[window_count_formula(n, n, window, shift, method="padding") for n in sizes],
    )
