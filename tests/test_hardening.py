"""Issue 13 ("part 7: hardening"): a test for each failure the fuzzing found in the computation layer.

1. masks: a bool mask means what allowed_mask and SDPA mean by it; anything but a bool or a valid additive
   float mask is refused;
2. fills that round to zero in the dtype they are used in are refused;
3. numpy integers: one check (tensors.as_int) for every integer argument, Python ints from there on;
4. empty heads and batches work; devices and seeds are checked by name;
5. the memory budget: a call that would allocate more than tensors.MEMORY_BUDGET_BYTES is refused up front,
   and the estimates are measured against what the calls really allocate.

Items 7-9 (servers, bench results, make execute) are tested in tests/test_make.py.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from swin_viz import (
    WindowAttentionWeights,
    allowed_mask,
    attention_mask,
    count_wrong_pairs,
    fast_attention_mask,
    fast_region_labels,
    label_difference,
    masked_window_softmax,
    oracle_window_attention,
    pair_relation,
    shifted_window_attention,
    window_labels,
)
from swin_viz import cost, numerics, tensors
from swin_viz.tensors import as_int, check_budget

ROOT = Path(__file__).resolve().parent.parent


# --------------------------------------------------------------------------- #
# 1. masks                                                                    #
# --------------------------------------------------------------------------- #
class TestMaskKinds:
    @pytest.mark.parametrize("dtype", [torch.float32, torch.float64])
    @pytest.mark.parametrize("layout", [(9, 9, 3, 1), (8, 12, (4, 6), (2, 3)), (14, 14, 7, 3)])
    def test_bool_mask_gives_exactly_the_weights_of_the_float_mask(self, layout, dtype):
        mask = attention_mask(*layout)
        scores = torch.randn(2 * mask.shape[0], 3, *mask.shape[1:], generator=torch.Generator().manual_seed(1), dtype=dtype)
        from_bool = masked_window_softmax(scores, allowed_mask(*layout))
        from_float = masked_window_softmax(scores, mask)
        assert from_bool.dtype == dtype and torch.equal(from_bool, from_float)

    def test_the_issue_example_leaves_e_minus_100_on_forbidden_keys(self):
        weights = masked_window_softmax(torch.zeros(9, 1, 9, 9), allowed_mask(9, 9, 3, 1))
        forbidden = ~allowed_mask(9, 9, 3, 1).unsqueeze(1)
        # before the fix the bools were added as 0/1: up to 0.093 on a forbidden key
        assert float(weights[forbidden].max()) < 1e-43
        assert torch.allclose(weights.sum(-1), torch.ones(9, 1, 9))

    @pytest.mark.parametrize(
        "make_mask, error, pattern",
        [
            (lambda: label_difference(window_labels(9, 9, 3, 1)), TypeError, r"^mask must be a float mask .* got dtype torch\.int64"),
            (lambda: label_difference(window_labels(9, 9, 3, 1).float()), ValueError, r"^mask must hold 0 .*positive or NaN"),
            (lambda: attention_mask(9, 9, 3, 1).masked_fill(attention_mask(9, 9, 3, 1) == 0, 100.0), ValueError, r"^mask must hold 0"),
            (lambda: torch.full((9, 9, 9), float("nan")), ValueError, r"^mask must hold 0 .*\(e\.g\. nan\)"),
            (lambda: torch.full((9, 9, 9), float("inf")), ValueError, r"^mask must hold 0"),
            (lambda: torch.zeros(9, 9, 9, dtype=torch.uint8), TypeError, r"^mask must be a float mask"),
        ],
    )
    def test_other_masks_are_refused(self, make_mask, error, pattern):
        with pytest.raises(error, match=pattern):
            masked_window_softmax(torch.zeros(9, 1, 9, 9), make_mask())

    def test_negative_inf_is_a_valid_fill(self):
        weights = masked_window_softmax(torch.zeros(9, 1, 9, 9), attention_mask(9, 9, 3, 1, fill=-math.inf))
        assert float(weights[~allowed_mask(9, 9, 3, 1).unsqueeze(1)].max()) == 0.0

    def test_sdpa_refuses_the_same_masks(self):
        q = torch.zeros(9, 1, 9, 4)
        with pytest.raises(ValueError, match=r"^mask must hold 0"):
            numerics.sdpa_window_attention(q, q, q, -label_difference(window_labels(9, 9, 3, 1).float()))

    def test_attn_must_be_floating(self):
        with pytest.raises(TypeError, match=r"^attn must be a floating-point tensor"):
            masked_window_softmax(torch.zeros(9, 1, 9, 9, dtype=torch.long), None)


# --------------------------------------------------------------------------- #
# 2. fills that round to zero                                                 #
# --------------------------------------------------------------------------- #
class TestTinyFills:
    def test_attention_mask(self):
        with pytest.raises(ValueError, match=r"^fill=-1e-50 rounds to 0 in float32, so the mask would mask nothing"):
            attention_mask(9, 9, 3, 1, fill=-1e-50)

    def test_fast_attention_mask_in_float16(self):
        with pytest.raises(ValueError, match=r"^fill=-1e-08 rounds to 0 in float16"):
            fast_attention_mask(9, 9, 3, 1, fill=-1e-8, dtype=torch.float16)
        # the same fill survives float32
        assert int((fast_attention_mask(9, 9, 3, 1, fill=-1e-8) != 0).sum()) == 200

    @pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16, torch.float64])
    def test_the_smallest_subnormal_still_masks(self, dtype):
        info = torch.finfo(dtype)
        smallest = info.tiny * info.eps
        mask = fast_attention_mask(9, 9, 3, 1, fill=-smallest, dtype=dtype)
        assert int((mask != 0).sum()) == 200
        if dtype != torch.float64:  # a quarter of float64's smallest is -0.0 already in Python
            with pytest.raises(ValueError, match="rounds to 0"):
                fast_attention_mask(9, 9, 3, 1, fill=-smallest / 4, dtype=dtype)

    def test_block_checks_the_fill_in_the_dtype_of_x(self):
        weights = WindowAttentionWeights.random(4, 1, 3, dtype=torch.float16)
        x = torch.zeros(1, 9, 9, 4, dtype=torch.float16)
        with pytest.raises(ValueError, match=r"^fill=-1e-08 rounds to 0 in float16"):
            shifted_window_attention(x, weights, 1, 3, 1, fill=-1e-8)

    def test_an_integer_fill_beyond_every_float(self):
        with pytest.raises(ValueError, match=r"^fill=-1000.* does not fit in float32"):
            attention_mask(9, 9, 3, 1, fill=-(10**400))


# --------------------------------------------------------------------------- #
# 3. integers                                                                 #
# --------------------------------------------------------------------------- #
NUMPY_INTS = [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64]


class TestIntegers:
    @pytest.mark.parametrize("kind", NUMPY_INTS, ids=lambda k: k.__name__)
    def test_as_int_takes_numpy_integers_and_returns_python_ints(self, kind):
        value = as_int(kind(100), "height")
        assert value == 100 and type(value) is int

    def test_as_int_takes_what_operator_index_takes(self):
        assert as_int(torch.tensor(7), "window") == 7
        assert as_int(2**80, "seed") == 2**80

    @pytest.mark.parametrize(
        "value", [True, np.True_, torch.tensor(True), 3.0, np.float64(3.0), "3", None, torch.tensor([1, 2]), 1 + 0j]
    )
    def test_as_int_refuses_the_rest_by_name(self, value):
        with pytest.raises(TypeError, match=rf"^shift must be an int, got {re.escape(type(value).__name__)} "):
            as_int(value, "shift")

    @pytest.mark.parametrize("kind", NUMPY_INTS, ids=lambda k: k.__name__)
    def test_count_wrong_pairs_with_numpy_integers(self, kind):
        # int16 and uint8 used to overflow in H*W*H*W and index out of bounds (IndexError); uint64 to promote
        expected = count_wrong_pairs(20, 20, 3, 1, order="roll-then-pad")
        assert expected.total > 0
        assert count_wrong_pairs(kind(20), kind(20), kind(3), kind(1), order="roll-then-pad") == expected
        assert count_wrong_pairs(np.uint8(3), 9, 3, 1) == count_wrong_pairs(3, 9, 3, 1)

    @pytest.mark.parametrize("kind", [np.int16, np.uint8, np.uint64], ids=lambda k: k.__name__)
    def test_numpy_integers_give_the_same_tensors(self, kind):
        H, W, M, s = kind(15), kind(10), kind(5), kind(2)
        assert torch.equal(attention_mask(H, W, M, s), attention_mask(15, 10, 5, 2))
        assert torch.equal(fast_region_labels(H, W, (M, M), (s, s)), fast_region_labels(15, 10, 5, 2))
        assert torch.equal(pair_relation(H, W, M, s).allowed, pair_relation(15, 10, 5, 2).allowed)
        assert cost.window_count(H, W, M, s, method="padding") == cost.window_count(15, 10, 5, 2, method="padding")
        assert cost.msa_flops(kind(200), kind(200), kind(96)) == cost.msa_flops(200, 200, 96)  # no overflow
        assert numerics.fewest_allowed_keys(H, W, M, s) == numerics.fewest_allowed_keys(15, 10, 5, 2)

    def test_weights_and_block_take_numpy_integers(self):
        weights = WindowAttentionWeights.random(np.int64(8), np.uint8(2), np.int32(3), seed=np.uint64(5))
        assert torch.equal(weights.qkv_weight, WindowAttentionWeights.random(8, 2, 3, seed=5).qkv_weight)
        x = torch.randn(1, 6, 6, 8, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
        out = shifted_window_attention(x, weights, np.uint8(2), np.int16(3), np.int16(1))
        assert torch.equal(out, shifted_window_attention(x, weights, 2, 3, 1))

    def test_bool_is_not_an_int(self):
        with pytest.raises(TypeError, match=r"^height must be an int, got bool True$"):
            count_wrong_pairs(True, 9, 3, 1)


# --------------------------------------------------------------------------- #
# 4. empty sizes, devices, seeds                                              #
# --------------------------------------------------------------------------- #
class TestEdges:
    def test_label_difference_of_bools_is_refused_by_name(self):
        with pytest.raises(TypeError, match=r"^mask_windows must hold integer or floating labels.*torch\.bool"):
            label_difference(torch.ones(2, 3, dtype=torch.bool))

    def test_masked_window_softmax_with_no_heads_or_no_images(self):
        mask = attention_mask(9, 9, 3, 1)
        assert masked_window_softmax(torch.zeros(9, 0, 9, 9), mask).shape == (9, 0, 9, 9)
        assert masked_window_softmax(torch.zeros(0, 2, 9, 9), mask).shape == (0, 2, 9, 9)

    def test_oracle_with_an_empty_batch(self):
        weights = WindowAttentionWeights.random(4, 2, 3)
        x = torch.zeros(0, 9, 9, 4, dtype=torch.float64)
        expected = shifted_window_attention(x, weights, 2, 3, 1)
        out = oracle_window_attention(x, weights, 2, 3, 1)
        assert out.shape == expected.shape == (0, 9, 9, 4) and out.dtype == torch.float64

    def test_naive_attention_with_an_empty_batch(self):
        weights = WindowAttentionWeights.random(4, 2, 3)
        x = torch.zeros(0, 8, 7, 4, dtype=torch.float64)
        assert cost.naive_shifted_attention(x, weights, 2, 3, 1).shape == (0, 8, 7, 4)
        windows, real = cost.naive_shifted_partition(torch.zeros(2, 8, 7, 0), 3, 1)
        assert windows.shape == (2 * real.shape[0], 3, 3, 0)

    def test_weights_need_a_channel(self):
        with pytest.raises(ValueError, match=r"^qkv_weight must have shape \[3C, C\] with C >= 1"):
            WindowAttentionWeights(torch.zeros(0, 0), torch.zeros(0), torch.zeros(0, 0), torch.zeros(0), torch.zeros(25, 1), 3)

    @pytest.mark.parametrize("device", ["bogus", "cuda" if not torch.cuda.is_available() else "bogus:0"])
    @pytest.mark.parametrize("function", [fast_attention_mask, allowed_mask, fast_region_labels])
    def test_unusable_devices(self, function, device):
        with pytest.raises(ValueError, match=rf"^device='{device}' is not a device this torch build can use"):
            function(9, 9, 3, 1, device=device)

    def test_device_type(self):
        with pytest.raises(TypeError, match=r"^device must be None, a device name"):
            allowed_mask(9, 9, 3, 1, device=0)
        with pytest.raises(TypeError, match=r"^device must be 'meta' or 'cpu'"):
            cost.attention_flops("msa", 9, 9, 8, 2, 3, device=0)
        with pytest.raises(ValueError, match=r"^device must be 'meta' or 'cpu', got 'bogus'"):
            cost.attention_flops("msa", 9, 9, 8, 2, 3, device="bogus")
        assert allowed_mask(9, 9, 3, 1, device="meta").device.type == "meta"

    @pytest.mark.parametrize("seed", [2**70, 2**64, -(2**63) - 1])
    def test_seeds_out_of_range(self, seed):
        with pytest.raises(ValueError, match=r"^seed must be in \[-2\*\*63, 2\*\*64\)"):
            WindowAttentionWeights.random(4, 2, 3, seed=seed)
        with pytest.raises(ValueError, match=r"^seed must be in"):
            numerics.fully_masked_row(-100.0, seed=seed)

    def test_seeds_at_the_ends_of_the_range(self):
        for seed in (2**64 - 1, -(2**63)):
            WindowAttentionWeights.random(4, 2, 3, seed=seed)

    def test_threads_beyond_the_machine(self):
        import os

        with pytest.raises(ValueError, match=r"^threads must be at most the \d+ logical CPUs"):
            cost.time_call(lambda: None, threads=(os.cpu_count() or 1) + 1)


# --------------------------------------------------------------------------- #
# 5. the memory budget                                                        #
# --------------------------------------------------------------------------- #
class TestBudget:
    def test_the_17_gb_mask_is_refused_with_size_budget_and_remedy(self):
        with pytest.raises(ValueError) as error:
            fast_attention_mask(4096, 4096, 16, 8)
        message = str(error.value)
        assert message.startswith("fast_attention_mask of a 4096x4096 map in 16x16 windows (float32) would allocate about 16 GiB")
        assert "over the memory budget of 2 GiB (swin_viz.tensors.MEMORY_BUDGET_BYTES)" in message
        assert "swin_viz.tensors.MEMORY_BUDGET_BYTES = 17 * 2**30" in message

    def test_refusals_come_before_any_work(self):
        start = time.process_time()
        for call in (
            lambda: cost.window_count(10**6, 10**6, 7, 3, method="padding"),
            lambda: cost.window_count(10**6, 10**6, 7, 3),
            lambda: cost.naive_shifted_windows(10**6, 10**6, 7, 3),
            lambda: pair_relation(200, 200, 7, 3),
            lambda: attention_mask(4096, 4096, 16, 8),
            lambda: allowed_mask(10**5, 10**5, 16, 8),
            lambda: tensors.region_labels(7 * 10**4, 7 * 10**4, 7, 3),
            lambda: tensors.token_origins(10**5, 10**5, 7, 3, pad=True),
            lambda: WindowAttentionWeights.random(2**16, 1, 7),
            lambda: numerics.fully_masked_row(-100.0, keys=10**6, dim=10**4),
            lambda: cost.global_attention(torch.zeros(1, 200, 200, 1), WindowAttentionWeights.random(1, 1, 3, dtype=torch.float32), 1),
            lambda: cost.naive_shifted_partition(torch.zeros(0, 10**5, 10**5, 1), 7, 3),
            lambda: cost.attention_flops("msa", 10**4, 10**4, 96, 3, 7, device="cpu"),
        ):
            with pytest.raises(ValueError, match=r"would allocate about [\d.,]+ [GMK]iB, over the memory budget of 2 GiB"):
                call()
        assert time.process_time() - start < 5  # refused, not attempted (a loose bound: no timing is tested here)

    def test_count_wrong_pairs_needs_no_pair_matrix(self):
        # 150x150 needed about 3 GB through pair_relation's [H*W, H*W] matrices; window by window it is small
        assert count_wrong_pairs(150, 150, 7, 3) == (0, 0)
        assert count_wrong_pairs(150, 148, 7, 3, order="roll-then-pad") == (20760, 0)
        assert count_wrong_pairs(200, 200, 7, 3) == (0, 0)
        with pytest.raises(ValueError, match=r"^pair_relation of a 200x200 map \(40000x40000 pairs, three times"):
            pair_relation(200, 200, 7, 3)

    @pytest.mark.parametrize("layout", [(9, 9, 3, 1), (11, 8, 3, 1), (10, 7, (4, 3), (3, 1)), (5, 5, 7, 3), (20, 13, 6, 5)])
    @pytest.mark.parametrize("order", ["pad-then-roll", "roll-then-pad"])
    def test_count_wrong_pairs_equals_the_pair_matrices(self, layout, order):
        relation = pair_relation(*layout, order=order)
        leaked = int((relation.allowed & ~relation.genuine).sum())
        blocked = int((relation.genuine & ~relation.allowed).sum())
        assert count_wrong_pairs(*layout, order=order) == (leaked, blocked)

    def test_naive_shift_flops_counts_pieces_without_building_them(self):
        per_window = 4 * 49 * 96**2 + 2 * 49**2 * 96
        for size in (200, 201, 203, 204):
            assert cost.naive_shift_flops(size, 200, 96, 7, 3) == cost.window_count(size, 200, 7, 3, method="padding") * per_window
        # 10**6 mod 7 = 1 <= s: the last piece row is empty on the map itself (one fewer than the formula's)
        assert cost.naive_shift_flops(10**6, 10**6, 96, 7, 3) == 142858**2 * per_window  # ceil(10**6 / 7) + 1 = 142859 in the formula
        for size in range(1, 30):
            for window in range(1, 8):
                for shift in range(window):
                    assert cost._piece_count(size, window, shift) == len(cost._cuts(size, window, shift)) - 1

    def test_raising_the_budget(self, monkeypatch):
        monkeypatch.setattr(tensors, "MEMORY_BUDGET_BYTES", 2**20)
        with pytest.raises(ValueError, match=r"allowed_mask of a 128x128 map in 8x8 windows \(bool\) would allocate about 1 MiB"):
            allowed_mask(128, 128, 8, 4)  # 128*128*64 + 64*64 bytes
        monkeypatch.setattr(tensors, "MEMORY_BUDGET_BYTES", 2 * 2**20)
        assert allowed_mask(128, 128, 8, 4).shape == (256, 64, 64)

    def test_check_budget_itself(self, monkeypatch):
        check_budget(2 * 2**30, "a call of exactly the budget")
        with pytest.raises(ValueError, match=r"^thing would allocate about 2 GiB, over the memory budget of 2 GiB"):
            check_budget(2 * 2**30 + 1, "thing")
        monkeypatch.setattr(tensors, "MEMORY_BUDGET_BYTES", 1.5)
        with pytest.raises(TypeError, match=r"^swin_viz\.tensors\.MEMORY_BUDGET_BYTES must be an int"):
            check_budget(1, "thing")


#: Calls whose peak allocation is measured against their estimate: each is sized at a few hundred MiB, so the
#: allocation dwarfs the interpreter's own noise. (setup, call)
MEASURED = [
    ("", "tensors.region_labels(4000, 4000, 8, 4)"),
    ("", "tensors.window_labels(4000, 4000, 8, 4)"),
    ("", "tensors.token_origins(2000, 2000, 8, 4)"),
    ("", "tensors.window_grid(4000, 4000, 8)"),
    ("", "attention_mask(256, 256, 16, 8)"),
    ("", "fast_attention_mask(512, 512, 16, 8)"),
    ("", "fast_attention_mask(512, 512, 16, 8, dtype=torch.float16)"),
    ("", "allowed_mask(1024, 512, 16, 8)"),
    ("", "fast_region_labels(4000, 4000, 8, 4)"),
    ("", "seam_neighbours(256, 256, 16, 8)"),
    ("", "pair_relation(70, 70, 7, 3)"),
    ("", "count_wrong_pairs(300, 300, 12, 5, order='roll-then-pad')"),
    ("", "relative_position_index(32)"),
    ("", "WindowAttentionWeights.random(1024, 8, 7)"),
    ("", "numerics.fully_masked_row(-100.0, keys=2000, dim=2000)"),
    ("", "cost.window_count(3000, 3000, 7, 3, method='padding')"),
    ("", "cost.window_count(4000, 4000, 7, 3)"),
    ("", "cost.shifted_partitions(1000, 1000, 7, 3)"),
    ("x = torch.zeros(1, 50, 50, 8); w = WindowAttentionWeights.random(8, 4, 7, dtype=torch.float32)", "cost.global_attention(x, w, 4)"),
]

_MEASURE_SCRIPT = r"""
import json, re, sys
import torch
from swin_viz import *
from swin_viz import cost, numerics, tensors

torch.set_num_threads(1)
UNITS = {"bytes": 1, "KiB": 2**10, "MiB": 2**20, "GiB": 2**30}


def status(key):
    return int(re.search(key + r":\s+(\d+) kB", open("/proc/self/status").read()).group(1)) * 1024


results = []
for setup, call in json.loads(sys.argv[1]):
    exec(setup)
    tensors.MEMORY_BUDGET_BYTES = 0  # the estimate, read off the refusal
    try:
        eval(call)
        raise SystemExit(f"{call} was not refused")
    except ValueError as error:
        number, unit = re.search(r"allocate about ([\d.e+]+) (\w+)", str(error)).groups()
    tensors.MEMORY_BUDGET_BYTES = 2**40
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")  # resets the peak resident set size (VmHWM) to the current one
    before = status("VmRSS")
    result = eval(call)
    results.append([call, float(number) * UNITS[unit], status("VmHWM") - before])
    del result
print(json.dumps(results))
"""


def _can_reset_peak_memory() -> bool:
    try:
        with open("/proc/self/clear_refs", "w") as clear:
            clear.write("5")
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _can_reset_peak_memory(), reason="needs Linux's /proc/self/clear_refs to measure peak memory")
def test_estimates_match_what_the_calls_allocate():
    """Each call's peak resident memory (VmHWM, reset before it) is within 30% of its estimate.

    About 10 s: one subprocess, several hundred MiB per call."""
    # glibc: every block over 128 kB is fresh mmap pages, given back when freed, so no call reuses the pages of
    # the one before (its default raises the threshold after the first large free and keeps such blocks)
    environment = {**os.environ, "MALLOC_MMAP_THRESHOLD_": str(128 * 1024), "MALLOC_TRIM_THRESHOLD_": str(128 * 1024)}
    completed = subprocess.run(
        [sys.executable, "-c", _MEASURE_SCRIPT, json.dumps(MEASURED)], capture_output=True, text=True, cwd=ROOT, check=False,
        env=environment,
    )
    assert completed.returncode == 0, completed.stderr
    results = json.loads(completed.stdout)
    assert len(results) == len(MEASURED)
    report = [f"{call}: estimated {estimate / 2**20:.0f} MiB, allocated {actual / 2**20:.0f} MiB" for call, estimate, actual in results]
    for call, estimate, actual in results:
        assert estimate >= 30 * 2**20, f"{call}: too small to measure"
        assert 0.7 <= actual / estimate <= 1.3, "\n".join(report)
