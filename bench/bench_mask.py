"""Time every way of building the SW-MSA mask, side by side, and the masked window attention itself.

    make bench                        # or: .venv/bin/python bench/bench_mask.py [--quick] [--out DIR]

Table 1, the mask ``[nW, N, N]`` at the sizes real models use:

* ``slice loop``    the package's readable reference, :func:`swin_viz.attention_mask` (the official
                    ``img_mask`` / ``cnt`` loop, ``window_partition``, the label difference, two ``masked_fill``);
* ``transformers``  ``SwinLayer.get_attn_mask`` of the installed transformers, which every forward pass calls
                    (with the padded size ``SwinLayer.maybe_pad`` gives when the map is not a multiple of M);
* ``vectorised``    :func:`swin_viz.fast_attention_mask` (float32, fill -100);
* ``bool``          :func:`swin_viz.allowed_mask` (1 byte per entry, for ``scaled_dot_product_attention``);
* ``fill``          the floor for any materialised mask: the fastest of ``torch.zeros``,
                    ``torch.empty().zero_()`` and ``new_zeros`` of the same shape and dtype (float32 and bool).

Table 2, masked window attention ``softmax(q kᵀ · scale + mask) v``: the explicit form of
``WindowAttention.forward`` (:func:`swin_viz.masked_window_softmax`) against
``F.scaled_dot_product_attention`` with the float mask and with the boolean mask (and with no mask,
the W-MSA floor). There is no relative-position bias in this comparison: a boolean mask cannot carry
it, so a model with the bias passes ``bias + mask`` as one float mask.

Every construction is checked against the slice loop, and every attention against the explicit
form, before it is timed. Timing: after one warm-up call of every construction at every size, the
candidates of a row run in interleaved rounds (so a noisy neighbour slows them alike), in an order
shuffled every round (seeded, so a run repeats; no candidate always runs right after the same one,
such as the slice loop that leaves the heap and the caches full of its temporaries); each round
times a block of calls of at least ``--block`` seconds, and the table gives the median over rounds
of the time per call, at torch's default thread count. Every ratio is paired: the median over
rounds of the ratio of the two candidates' blocks in the same round (timed a fraction of a second
apart, so a change of load between rounds cancels out), printed with its quartiles for vec/fill and
bool/fill (the middle half of the rounds: a wide range means a noisy machine). A row whose float32
mask takes 16 MB or more (here 256×256/16/8: 64 MB, twice the L3 cache of the VM this was written
on) gets three times the rounds: a 50 ms block holds only about 25 of its calls, each of them
writing to main memory, which every other process shares, so its blocks vary most.
Writes ``mask.json`` and ``mask.png`` to ``--out`` (default ``bench/results``, the committed results; a
``--quick`` run writes to the git-ignored ``bench/results/quick`` instead, so a smoke run never overwrites them).

The allocator is pinned, because it decides what a "memory fill" costs: glibc's malloc serves a large
block either from its heap (memory the process already owns, reused) or from fresh ``mmap`` pages,
which the kernel must fault in and zero page by page (about 10x the cost of writing them, and the
same for every construction). Which one a given call gets depends on the sizes freed before it. By
default the bench keeps every block in the heap (``--allocator reuse``: the steady state of a model
that runs forward after forward, and the hard case for the ratio to the fill, which then only
writes the bytes); ``--allocator fresh`` maps every block over 128 kB afresh instead. Even so the
speed of a 64 MB fill differs from run to run (1.0 to 2.4 ms on the 2-core VM this was written on,
faster when no other process wants the second core), and so does the ratio to it: read the
quartiles, and run the bench more than once before reading much into ±10%.
"""

from __future__ import annotations

import argparse
import ctypes
import ctypes.util
import dataclasses
import datetime
import json
import math
import platform
import random
import statistics
import time
from pathlib import Path
from typing import Callable, Dict, List, Tuple

import torch
import torch.nn.functional as F

from swin_viz import allowed_mask, attention_mask, fast_attention_mask, masked_window_softmax

RESULTS = Path(__file__).resolve().parent / "results"
#: Where a --quick run writes by default: git-ignored, so its rough numbers never replace the committed ones.
QUICK_RESULTS = RESULTS / "quick"


@dataclasses.dataclass(frozen=True)
class Case:
    """One feature-map layout: ``H x W``, window ``M``, shift ``s``; ``pad`` if ``M`` does not divide."""

    height: int
    width: int
    window: int
    shift: int

    @property
    def padded(self) -> tuple[int, int]:
        return math.ceil(self.height / self.window) * self.window, math.ceil(self.width / self.window) * self.window

    @property
    def pad(self) -> bool:
        return self.padded != (self.height, self.width)

    @property
    def shape(self) -> tuple[int, int, int]:
        Hp, Wp = self.padded
        N = self.window * self.window
        return (Hp // self.window) * (Wp // self.window), N, N

    @property
    def rounds_factor(self) -> int:
        """How many times the rounds this row gets: :data:`MEMORY_BOUND_ROUNDS` for a large mask, else 1."""
        return MEMORY_BOUND_ROUNDS if math.prod(self.shape) * 4 >= MEMORY_BOUND_BYTES else 1

    @property
    def label(self) -> str:
        text = f"{self.height}×{self.width}/{self.window}/{self.shift}"
        return text + (f" (pad→{self.padded[0]}×{self.padded[1]})" if self.pad else "")


CASES = [Case(56, 56, 7, 3), Case(28, 28, 7, 3), Case(128, 128, 8, 4), Case(256, 256, 16, 8), Case(50, 50, 7, 3)]
#: A row whose float32 mask is this large is memory-bound: it is timed in MEMORY_BOUND_ROUNDS times the rounds.
MEMORY_BOUND_BYTES = 16 * 2**20
MEMORY_BOUND_ROUNDS = 3


# --------------------------------------------------------------------------- #
# Allocator and timing                                                        #
# --------------------------------------------------------------------------- #
# mallopt parameters from glibc's <malloc.h>
M_TRIM_THRESHOLD, M_MMAP_THRESHOLD, M_MMAP_MAX = -1, -3, -4


def pin_allocator(mode: str) -> str:
    """Make glibc serve large blocks the same way for every call (see the module docstring); returns what was set."""
    try:
        mallopt = ctypes.CDLL(ctypes.util.find_library("c")).mallopt
    except (OSError, AttributeError, TypeError):
        return "platform default (no glibc mallopt)"
    if mode == "reuse":
        settings = {M_MMAP_MAX: 0, M_TRIM_THRESHOLD: 2**31 - 1}  # never mmap, never give memory back
        text = "glibc heap only (M_MMAP_MAX=0, M_TRIM_THRESHOLD=2**31-1): large blocks are reused"
    else:
        settings = {M_MMAP_THRESHOLD: 128 * 1024}  # fixed: no dynamic raise of the threshold
        text = "glibc mmap for every block >= 128 kB (M_MMAP_THRESHOLD fixed): large blocks are fresh pages"
    if not all(mallopt(key, value) == 1 for key, value in settings.items()):
        return "platform default (mallopt refused)"
    return text


def _per_call(fn: Callable[[], object], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn()
    return (time.perf_counter() - start) / calls


def time_interleaved(
    candidates: Dict[str, Callable[[], object]], rounds: int, block: float, seed: int = 0
) -> Dict[str, List[float]]:
    """Seconds per call of each candidate, one sample per round, timed in interleaved rounds after a warm-up.

    The candidates run in a new order every round (shuffled by ``random.Random(seed)``), so that none
    of them always follows the same one; ``samples[name][r]`` is round ``r`` of every candidate.
    """
    calls = {}
    for name, fn in candidates.items():
        fn()  # warm-up: first-call allocations and dispatch caches
        once = _per_call(fn, 1)
        calls[name] = max(1, int(block / max(once, 1e-7)))
    samples: Dict[str, List[float]] = {name: [] for name in candidates}
    order = list(candidates)
    shuffle = random.Random(seed).shuffle
    for _ in range(rounds):
        shuffle(order)
        for name in order:
            samples[name].append(_per_call(candidates[name], calls[name]))
    return samples


def medians(samples: Dict[str, List[float]]) -> Dict[str, float]:
    return {name: statistics.median(values) for name, values in samples.items()}


def paired_ratio(samples: Dict[str, List[float]], numerator: str, denominator: str) -> Tuple[float, float, float]:
    """``numerator ÷ denominator`` round by round (the two blocks of a round run side by side): median, q1, q3."""
    ratios = [a / b for a, b in zip(samples[numerator], samples[denominator], strict=True)]
    if len(ratios) < 2:
        return ratios[0], ratios[0], ratios[0]
    q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
    return statistics.median(ratios), q1, q3


def spread(ratios: Dict[str, float], quartiles: Dict[str, List[float]], name: str) -> str:
    """``ratio (q1–q3)`` of one paired ratio, for the table."""
    q1, q3 = quartiles[name]
    return f"{ratios[name]:.2f} ({q1:.2f}–{q3:.2f})"


def fmt(seconds: float) -> str:
    if seconds < 1e-3:
        return f"{seconds * 1e6:.1f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.2f} ms"
    return f"{seconds:.2f} s"


def print_table(headers: List[str], rows: List[List[str]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(h.ljust(w) if i == 0 else h.rjust(w) for i, (h, w) in enumerate(zip(headers, widths, strict=True)))
    print(line)
    print("-" * len(line))
    for row in rows:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(row, widths, strict=True))))


# --------------------------------------------------------------------------- #
# Table 1: building the mask                                                  #
# --------------------------------------------------------------------------- #
def transformers_mask(case: Case) -> tuple[Callable[[], torch.Tensor], str]:
    """``SwinLayer.get_attn_mask`` for ``case``, as ``SwinLayer.forward`` calls it, and the version string."""
    import transformers
    from transformers import SwinConfig
    from transformers.models.swin.modeling_swin import SwinLayer

    config = SwinConfig(window_size=case.window)
    layer = SwinLayer(config, dim=8, input_resolution=(case.height, case.width), num_heads=1, shift_size=case.shift)
    # forward pads with maybe_pad, then builds the mask of the padded size
    _, pad_values = layer.maybe_pad(torch.zeros(1, case.height, case.width, 1), case.height, case.width)
    height_pad, width_pad = case.height + pad_values[5], case.width + pad_values[3]
    assert (height_pad, width_pad) == case.padded
    return (lambda: layer.get_attn_mask(height_pad, width_pad, dtype=torch.float32, device=torch.device("cpu"))), transformers.__version__


def fill_candidates(shape: tuple[int, ...], dtype: torch.dtype) -> Dict[str, Callable[[], torch.Tensor]]:
    """The ways to allocate and fill a tensor with the mask's 'allowed' value (0.0, or True for bool)."""
    like = torch.empty(1, dtype=dtype)
    if dtype == torch.bool:
        return {
            "torch.ones": lambda: torch.ones(shape, dtype=dtype),
            "empty().fill_": lambda: torch.empty(shape, dtype=dtype).fill_(True),
            "new_ones": lambda: like.new_ones(shape),
        }
    return {
        "torch.zeros": lambda: torch.zeros(shape, dtype=dtype),
        "empty().zero_": lambda: torch.empty(shape, dtype=dtype).zero_(),
        "new_zeros": lambda: like.new_zeros(shape),
    }


def construction_candidates(case: Case) -> tuple[Dict[str, Callable[[], torch.Tensor]], Dict[str, Callable[[], torch.Tensor]]]:
    """The constructions of ``case``'s mask, each checked against the slice loop, and the fills of its shape."""
    H, W, M, s, pad = case.height, case.width, case.window, case.shift, case.pad
    Hp, Wp = case.padded
    library, _ = transformers_mask(case)
    candidates = {
        "slice loop": lambda: attention_mask(Hp, Wp, M, s),
        "transformers": library,
        "vectorised": lambda: fast_attention_mask(H, W, M, s, pad=pad),
        "bool": lambda: allowed_mask(H, W, M, s, pad=pad),
    }
    # correct first: every construction equals the slice loop, bit for bit
    reference = attention_mask(Hp, Wp, M, s)
    for name in ("transformers", "vectorised"):
        built = candidates[name]()
        assert built.dtype == reference.dtype and torch.equal(built.view(torch.int32), reference.view(torch.int32)), name
    assert torch.equal(candidates["bool"](), reference == 0)
    fills = {f"f32 {k}": fn for k, fn in fill_candidates(case.shape, torch.float32).items()}
    fills |= {f"bool {k}": fn for k, fn in fill_candidates(case.shape, torch.bool).items()}
    return candidates, fills


def bench_construction(case: Case, rounds: int, block: float) -> dict:
    H, W, M, s = case.height, case.width, case.window, case.shift
    candidates, fills = construction_candidates(case)
    samples = time_interleaved(candidates | fills, rounds, block)
    times = medians(samples)
    # the floor: the fastest fill of each dtype by its median (the ratios pair its rounds with the construction's)
    fill_f32 = min((k for k in fills if k.startswith("f32 ")), key=times.__getitem__)
    fill_bool = min((k for k in fills if k.startswith("bool ")), key=times.__getitem__)
    other = min(("slice loop", "transformers"), key=times.__getitem__)
    pairs = {
        "slice_loop_over_vectorised": ("slice loop", "vectorised"),
        "fastest_library_over_vectorised": ("transformers", "vectorised"),
        "vectorised_over_fill": ("vectorised", fill_f32),
        "bool_over_bool_fill": ("bool", fill_bool),
        "vectorised_over_fastest_other": ("vectorised", other),
    }
    paired = {name: paired_ratio(samples, *pair) for name, pair in pairs.items()}
    return {
        "case": case.label,
        "height": H,
        "width": W,
        "window": M,
        "shift": s,
        "padded": list(case.padded),
        "shape": list(case.shape),
        "mask_bytes_float32": math.prod(case.shape) * 4,
        "rounds": rounds,
        "seconds": {k: times[k] for k in candidates},
        "fill_seconds": {k: times[k] for k in fills},
        "min_seconds": {k: min(v) for k, v in samples.items()},
        "floor_seconds": {"float32": times[fill_f32], "bool": times[fill_bool]},
        "floor_candidates": {"float32": fill_f32, "bool": fill_bool},
        # median over rounds of the ratio within a round, and its quartiles
        "ratios": {name: median for name, (median, _, _) in paired.items()},
        "ratio_quartiles": {name: [q1, q3] for name, (_, q1, q3) in paired.items()},
    }


# --------------------------------------------------------------------------- #
# Table 2: masked window attention                                            #
# --------------------------------------------------------------------------- #
@dataclasses.dataclass(frozen=True)
class AttentionCase:
    layout: Case
    channels: int
    heads: int
    batch: int = 1

    @property
    def label(self) -> str:
        nW, N, _ = self.layout.shape
        return f"{self.layout.label} C={self.channels} heads={self.heads} → [{self.batch * nW}, {self.heads}, {N}, {N}]"


ATTENTION_CASES = [AttentionCase(Case(56, 56, 7, 3), 96, 3), AttentionCase(Case(256, 256, 16, 8), 64, 2)]


def bench_attention(case: AttentionCase, rounds: int, block: float) -> dict:
    layout = case.layout
    nW, N, _ = layout.shape
    head_dim = case.channels // case.heads
    generator = torch.Generator().manual_seed(0)
    q, k, v = (torch.randn(case.batch * nW, case.heads, N, head_dim, generator=generator) for _ in range(3))
    scale = head_dim**-0.5
    float_mask = fast_attention_mask(layout.height, layout.width, layout.window, layout.shift)
    bool_mask = allowed_mask(layout.height, layout.width, layout.window, layout.shift)
    # [nW, N, N] -> [B*nW, 1, N, N]: broadcast over heads, repeated over images as window_partition orders them
    float_4d = float_mask.unsqueeze(1).repeat(case.batch, 1, 1, 1)
    bool_4d = bool_mask.unsqueeze(1).repeat(case.batch, 1, 1, 1)
    candidates = {
        "explicit softmax": lambda: masked_window_softmax((q * scale) @ k.transpose(-2, -1), float_mask) @ v,
        "sdpa float mask": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=float_4d),
        "sdpa bool mask": lambda: F.scaled_dot_product_attention(q, k, v, attn_mask=bool_4d),
        "sdpa no mask": lambda: F.scaled_dot_product_attention(q, k, v),
    }
    explicit = candidates["explicit softmax"]()
    for name in ("sdpa float mask", "sdpa bool mask"):
        torch.testing.assert_close(candidates[name](), explicit, rtol=1e-4, atol=1e-5, msg=name)
    assert not torch.allclose(candidates["sdpa no mask"](), explicit, atol=1e-3), "the mask changes the result"
    samples = time_interleaved(candidates, rounds, block)
    times = medians(samples)
    return {
        "case": case.label,
        "shape": [case.batch * nW, case.heads, N, head_dim],
        "seconds": times,
        "min_seconds": {k: min(v) for k, v in samples.items()},
        "ratios": {name: paired_ratio(samples, "explicit softmax", name)[0] for name in candidates},
    }


# --------------------------------------------------------------------------- #
# Output                                                                      #
# --------------------------------------------------------------------------- #
def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def machine() -> dict:
    import transformers

    return {
        "cpu": cpu_model(),
        "logical_cpus": torch.multiprocessing.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "python": platform.python_version(),
        "platform": platform.platform(),
        "date": datetime.date.today().isoformat(),
    }


def plot(results: dict, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    construction = results["construction"]
    names = ["slice loop", "transformers", "vectorised", "bool"]
    series = names + ["fill float32", "fill bool"]
    colours = {"slice loop": "#9e9e9e", "transformers": "#e08a2c", "vectorised": "#2c6fbb", "bool": "#5aa0e0",
               "fill float32": "#2e7d32", "fill bool": "#81c784"}
    figure = Figure(figsize=(13, 5.2), layout="constrained")
    left, right = figure.subplots(1, 2, width_ratios=(2.2, 1))
    width = 0.8 / len(series)
    for i, name in enumerate(series):
        values = [
            row["seconds"][name] if name in names else row["floor_seconds"]["float32" if name == "fill float32" else "bool"]
            for row in construction
        ]
        xs = [j + (i - (len(series) - 1) / 2) * width for j in range(len(construction))]
        left.bar(xs, [v * 1e6 for v in values], width, label=name, color=colours[name])
    left.set_yscale("log")
    left.set_xticks(range(len(construction)), [row["case"].replace(" (", "\n(") for row in construction])
    left.set_ylabel("median time per mask (µs, log scale)")
    left.set_xlabel("feature map H×W / window M / shift s")
    left.set_title("Building the SW-MSA mask [nW, N, N]")
    left.grid(axis="y", which="both", alpha=0.3)
    left.legend(ncols=3, fontsize="small")
    for j, row in enumerate(construction):
        ratios = row["ratios"]
        left.annotate(f"transformers ÷ vectorised {ratios['fastest_library_over_vectorised']:.1f}×\n"
                      f"vectorised ÷ fill {ratios['vectorised_over_fill']:.2f}×",
                      (j, max(row["seconds"].values()) * 1e6), textcoords="offset points", xytext=(0, 5),
                      ha="center", fontsize="x-small")
    bottom, top = left.get_ylim()
    left.set_ylim(bottom, top * 30)

    attention = results["attention"]
    kinds = list(attention[0]["seconds"])
    width = 0.8 / len(kinds)
    palette = ["#9e9e9e", "#2c6fbb", "#5aa0e0", "#2e7d32"]
    for i, kind in enumerate(kinds):
        xs = [j + (i - (len(kinds) - 1) / 2) * width for j in range(len(attention))]
        right.bar(xs, [row["seconds"][kind] * 1e3 for row in attention], width, label=kind, color=palette[i % len(palette)])
    right.set_yscale("log")
    right.set_xticks(range(len(attention)), [row["case"].split(" → ")[0].replace(" C=", "\nC=") for row in attention])
    right.set_ylabel("median time per call (ms, log scale)")
    right.set_title("Masked window attention")
    right.grid(axis="y", which="both", alpha=0.3)
    right.legend(fontsize="small")
    info = results["machine"]
    figure.suptitle(f"{info['cpu']}, {info['logical_cpus']} CPUs, {info['torch_threads']} torch threads; "
                    f"torch {info['torch']}, transformers {info['transformers']}; allocator: "
                    f"{results['settings']['allocator']} (large blocks {'reused from the heap' if results['settings']['allocator'] == 'reuse' else 'fresh mmap pages'})",
                    fontsize="small")
    figure.savefig(path, dpi=110)


def output_dir(out: Path | None, quick: bool) -> Path:
    """The directory a run writes to: ``out`` if given, else the committed results, or the quick ones for ``--quick``."""
    if out is not None:
        return out
    return QUICK_RESULTS if quick else RESULTS


def main(argv: List[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="few short rounds (a smoke run; numbers are rough)")
    parser.add_argument("--rounds", type=int, default=None,
                        help="interleaved rounds per row (default 15, quick 3; 3x for masks >= 16 MB)")
    parser.add_argument("--block", type=float, default=None, help="seconds per timed block (default 0.05, quick 0.005)")
    parser.add_argument("--out", type=Path, default=None,
                        help=f"directory for mask.json and mask.png (default {RESULTS}, or {QUICK_RESULTS} with --quick)")
    parser.add_argument("--allocator", choices=("reuse", "fresh"), default="reuse",
                        help="large blocks from the heap (reuse, default) or fresh mmap pages (fresh)")
    args = parser.parse_args(argv)
    args.out = output_dir(args.out, args.quick)
    allocator = pin_allocator(args.allocator)
    rounds = args.rounds or (3 if args.quick else 15)
    block = args.block or (0.005 if args.quick else 0.05)

    info = machine() | {"allocator": allocator}
    print(f"{info['cpu']} | {info['logical_cpus']} CPUs | torch {info['torch']} ({info['torch_threads']} threads) | "
          f"transformers {info['transformers']} | {rounds} rounds ({rounds * MEMORY_BOUND_ROUNDS} for masks >= "
          f"{MEMORY_BOUND_BYTES >> 20} MB) of >= {block * 1e3:g} ms blocks, shuffled; medians\n"
          f"allocator: {allocator}\n")

    # one call of everything at every size first, so that no row pays for first-call set-up
    for case in CASES:
        for fn in (fn for group in construction_candidates(case) for fn in group.values()):
            fn()
    construction = [bench_construction(case, rounds * case.rounds_factor, block) for case in CASES]
    headers = ["mask [nW, N, N]", "shape", "slice loop", "transformers", "vectorised", "bool", "fill f32", "fill bool",
               "loop/vec", "lib/vec", "vec/fill", "bool/fill"]
    rows = []
    for row in construction:
        sec, floor, ratio, quartiles = row["seconds"], row["floor_seconds"], row["ratios"], row["ratio_quartiles"]
        rows.append([row["case"], "×".join(map(str, row["shape"])), fmt(sec["slice loop"]), fmt(sec["transformers"]),
                     fmt(sec["vectorised"]), fmt(sec["bool"]), fmt(floor["float32"]), fmt(floor["bool"]),
                     f"{ratio['slice_loop_over_vectorised']:.1f}×", f"{ratio['fastest_library_over_vectorised']:.1f}×",
                     spread(ratio, quartiles, "vectorised_over_fill"), spread(ratio, quartiles, "bool_over_bool_fill")])
    print("Table 1: building the mask (median per call)")
    print_table(headers, rows)
    print("lib/vec: transformers (the fastest library measured) ÷ vectorised; vec/fill: vectorised ÷ the fastest\n"
          "float32 fill of the same shape (the floor for a materialised mask); bool/fill: the same for the bool mask.\n"
          "Every ratio is the median over rounds of the ratio within a round; (q1–q3): the middle half of the rounds.\n")

    fill_names = list(construction[0]["fill_seconds"])
    print("The memory-fill floor: each way of allocating and filling the output (median per call)")
    print_table(["mask [nW, N, N]", *fill_names],
                [[row["case"], *(fmt(row["fill_seconds"][name]) for name in fill_names)] for row in construction])
    print()

    attention = [bench_attention(case, rounds, block) for case in ATTENTION_CASES]
    kinds = list(attention[0]["seconds"])
    print("Table 2: masked window attention softmax(q kᵀ·scale + mask) v (median per call; ratio = explicit ÷ row)")
    print_table(["layout", *kinds],
                [[row["case"], *(f"{fmt(row['seconds'][k])} ({row['ratios'][k]:.2f}×)" for k in kinds)] for row in attention])
    print("(no relative-position bias: a bool mask cannot carry it; with the bias, pass bias + mask as the float mask)\n")

    results = {"machine": info,
               "settings": {"rounds": rounds, "rounds_memory_bound": rounds * MEMORY_BOUND_ROUNDS,
                            "memory_bound_bytes": MEMORY_BOUND_BYTES, "block_seconds": block, "quick": args.quick,
                            "allocator": args.allocator, "order": "shuffled every round (random.Random(0))"},
               "construction": construction, "attention": attention}
    args.out.mkdir(parents=True, exist_ok=True)
    (args.out / "mask.json").write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    plot(results, args.out / "mask.png")
    print(f"wrote {args.out / 'mask.json'} and {args.out / 'mask.png'}")
    return results


if __name__ == "__main__":
    main()
