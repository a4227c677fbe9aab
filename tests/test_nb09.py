"""Tests for notebook 09 (the cost of window attention): :mod:`swin_viz.cost`, its figures and its explorer.

Independent sources of truth:

* ``FlopCounterMode`` on the real computation against the paper's formulas,
  and the formulas against a literal port of the official
  ``WindowAttention.flops`` / ``SwinTransformerBlock.flops``;
* brute-force window counts from token coordinates (which shifted window each
  token falls in), against counts from the built partitions and the paper's formulas;
* the naive padded attention against :func:`shifted_window_attention` (which
  tests/test_block.py checks against transformers and an oracle) and against a
  per-piece computation on the real tokens only, with no padding at all;
* global attention against ``F.scaled_dot_product_attention``.
"""

from __future__ import annotations

import math

import pytest
import torch
import torch.nn.functional as F

from swin_viz import cost
from swin_viz.block import WindowAttentionWeights, shifted_window_attention
from swin_viz.cost import (
    ATTENTIONS,
    WINDOW_METHODS,
    MeasuredFlops,
    attention_flops,
    fit_slope,
    global_attention,
    measured_flops,
    msa_flops,
    multi_head_attention,
    naive_shift_flops,
    naive_shifted_attention,
    naive_shifted_partition,
    naive_shifted_windows,
    shifted_partitions,
    time_call,
    window_count,
    window_count_formula,
    wmsa_flops,
)
from swin_viz.tensors import as_pair


def weights_for(dim: int, heads: int, window, seed: int = 0, dtype=torch.float64) -> WindowAttentionWeights:
    return WindowAttentionWeights.random(dim, heads, window, seed=seed, dtype=dtype)


def feature_map(batch: int, height: int, width: int, dim: int, seed: int = 0, dtype=torch.float64) -> torch.Tensor:
    return torch.randn(batch, height, width, dim, generator=torch.Generator().manual_seed(seed), dtype=dtype)


# --------------------------------------------------------------------------- #
# A literal port of the official cost code (microsoft/Swin-Transformer)        #
# --------------------------------------------------------------------------- #
def official_window_attention_flops(dim: int, num_heads: int, N: int) -> int:
    """``WindowAttention.flops(N)``, verbatim: multiply-adds for one window of ``N`` tokens."""
    flops = 0
    # qkv = self.qkv(x)
    flops += N * dim * 3 * dim
    # attn = (q @ k.transpose(-2, -1))
    flops += num_heads * N * (dim // num_heads) * N
    #  x = (attn @ v)
    flops += num_heads * N * N * (dim // num_heads)
    # x = self.proj(x)
    flops += N * dim * dim
    return flops


def official_block_attention_flops(H: int, W: int, dim: int, num_heads: int, window_size: int) -> float:
    """The W-MSA/SW-MSA line of ``SwinTransformerBlock.flops``."""
    nW = H * W / window_size / window_size
    return nW * official_window_attention_flops(dim, num_heads, window_size * window_size)


# --------------------------------------------------------------------------- #
# Formulas                                                                    #
# --------------------------------------------------------------------------- #
class TestFormulas:
    def test_swin_t_stage_1(self):
        # h = w = 56, C = 96, M = 7: the first stage of Swin-T
        assert msa_flops(56, 56, 96) == 4 * 3136 * 96**2 + 2 * 3136**2 * 96 == 2_003_828_736
        assert wmsa_flops(56, 56, 96, 7) == 4 * 3136 * 96**2 + 2 * 49 * 3136 * 96 == 145_108_992

    @pytest.mark.parametrize("H, W, C, heads, M", [(56, 56, 96, 3, 7), (28, 28, 192, 6, 7), (14, 14, 384, 12, 7), (8, 12, 16, 2, 4)])
    def test_wmsa_is_the_official_count(self, H, W, C, heads, M):
        assert wmsa_flops(H, W, C, M) == official_block_attention_flops(H, W, C, heads, M)

    def test_msa_is_the_official_count_with_one_window(self):
        # one window covering the whole map is global attention
        assert msa_flops(6, 6, 12) == official_window_attention_flops(12, 3, 36)

    def test_wmsa_with_the_window_the_size_of_the_map_is_msa(self):
        assert wmsa_flops(6, 8, 16, (6, 8)) == msa_flops(6, 8, 16)

    def test_rectangular_window(self):
        assert wmsa_flops(8, 12, 4, (2, 3)) == 4 * 96 * 16 + 2 * 6 * 96 * 4

    def test_padded(self):
        assert wmsa_flops(10, 11, 8, 3, pad=True) == wmsa_flops(12, 12, 8, 3)

    def test_naive_shift_flops(self):
        # 56 / 7 = 8 windows a side; padding gives 9 a side: 81 windows of 49 tokens
        assert naive_shift_flops(56, 56, 96, 7, 3) == 81 * official_window_attention_flops(96, 3, 49)
        assert naive_shift_flops(56, 56, 96, 7, 0) == wmsa_flops(56, 56, 96, 7)
        # the paper's 2 x 2 -> 3 x 3 example: 2.25 times the computation
        assert naive_shift_flops(14, 14, 96, 7, 3) / wmsa_flops(14, 14, 96, 7) == 2.25

    @pytest.mark.parametrize(
        "call, exc, pattern",
        [
            (lambda: msa_flops(0, 4, 8), ValueError, "height must be a positive int, got 0"),
            (lambda: msa_flops(4, 4.0, 8), TypeError, "width must be an int, got float"),
            (lambda: msa_flops(4, 4, -1), ValueError, "dim must be a positive int, got -1"),
            (lambda: wmsa_flops(10, 9, 8, 3), ValueError, "window_h=3 does not divide height=10.*pass pad=True"),
            (lambda: wmsa_flops(9, 9, 0, 3), ValueError, "dim must be a positive int"),
            (lambda: wmsa_flops(9, 9, 8, 0), ValueError, "window must be positive"),
            (lambda: wmsa_flops(9, 9, 8, 3, pad=1), TypeError, "pad must be True or False"),
            (lambda: naive_shift_flops(9, 9, 8, 3, 3), ValueError, r"shift_h=3 is outside \[0, window_h=3\)"),
            (lambda: naive_shift_flops(9, 9, 8, 3, -1), ValueError, "shift_h=-1 is outside"),
        ],
    )
    def test_errors(self, call, exc, pattern):
        with pytest.raises(exc, match=pattern):
            call()


# --------------------------------------------------------------------------- #
# Measured FLOPs                                                              #
# --------------------------------------------------------------------------- #
class TestMeasuredFlops:
    def test_a_matmul(self):
        a, b = torch.ones(3, 4), torch.ones(4, 5)
        measured = measured_flops(torch.matmul, a, b)
        assert measured == MeasuredFlops(2 * 3 * 4 * 5, {"aten.mm": 120})
        assert measured.multiply_adds == 60
        assert measured.op_multiply_adds("aten.mm") == 60
        assert measured.op_multiply_adds("aten.bmm") == 0

    def test_softmax_and_elementwise_are_not_counted(self):
        x = torch.ones(4, 4)
        assert measured_flops(lambda t: torch.softmax(t * 2 + 1, -1), x) == MeasuredFlops(0, {})

    def test_kwargs_pass_through(self):
        assert measured_flops(F.linear, torch.ones(2, 3), weight=torch.ones(5, 3)).total == 2 * 2 * 3 * 5

    def test_fn_must_be_callable(self):  # was a second test_errors in this class, shadowed by the one below
        with pytest.raises(TypeError, match="fn must be callable, got int"):
            measured_flops(3)

    @pytest.mark.parametrize("H, W, C, heads, M", [(6, 6, 8, 2, 3), (8, 12, 12, 3, 4), (7, 7, 16, 4, 7), (4, 6, 8, 2, (2, 3))])
    @pytest.mark.parametrize("device", ["cpu", "meta"])
    def test_msa_and_wmsa_equal_the_formulas_term_by_term(self, H, W, C, heads, M, device):
        msa = attention_flops("msa", H, W, C, heads, M, device=device)
        assert msa.multiply_adds == msa_flops(H, W, C)
        # Linears (qkv, proj) are addmm, q @ k^T and attn @ v are bmm
        assert msa.op_multiply_adds("aten.addmm") == 4 * H * W * C**2
        assert msa.op_multiply_adds("aten.bmm") == 2 * (H * W) ** 2 * C
        assert set(msa.by_op) == {"aten.addmm", "aten.bmm"}

        Mh, Mw = as_pair(M, "window")
        wmsa = attention_flops("w-msa", H, W, C, heads, M, device=device)
        assert wmsa.multiply_adds == wmsa_flops(H, W, C, M)
        assert wmsa.op_multiply_adds("aten.addmm") == 4 * H * W * C**2
        assert wmsa.op_multiply_adds("aten.bmm") == 2 * Mh * Mw * H * W * C
        assert wmsa.total == 2 * wmsa.multiply_adds

    @pytest.mark.parametrize("H, W, M, s", [(6, 6, 3, 1), (8, 8, 4, 2), (10, 11, 3, 1), (7, 5, 3, 2)])
    def test_shifts_cost_nothing_padding_costs_windows(self, H, W, M, s):
        C, heads = 8, 2
        wmsa = attention_flops("w-msa", H, W, C, heads, M, s, device="cpu")
        sw = attention_flops("sw-msa", H, W, C, heads, M, s, device="cpu")
        naive = attention_flops("padding", H, W, C, heads, M, s, device="cpu")
        assert sw == wmsa
        assert wmsa.multiply_adds == wmsa_flops(H, W, C, M, pad=True)
        assert naive.multiply_adds == naive_shift_flops(H, W, C, M, s)
        assert naive.multiply_adds * window_count(H, W, M, s) == wmsa.multiply_adds * window_count(H, W, M, s, method="padding")

    def test_meta_counts_equal_cpu_counts(self):
        for attention in ATTENTIONS:
            assert attention_flops(attention, 9, 9, 8, 2, 3, 1, device="meta") == attention_flops(
                attention, 9, 9, 8, 2, 3, 1, device="cpu"
            )

    @pytest.mark.parametrize(
        "args, kwargs, exc, pattern",
        [
            (("global", 6, 6, 8, 2, 3), {}, ValueError, r"attention must be one of \('msa', 'w-msa', 'sw-msa', 'padding'\), got 'global'"),
            ((1, 6, 6, 8, 2, 3), {}, TypeError, "attention must be one of .*got int 1"),
            (("msa", 6, 6, 8, 3, 3), {}, ValueError, "dim=8 is not divisible by num_heads=3"),
            (("msa", 6, 6, 8, 2, 3, 3), {}, ValueError, r"shift_h=3 is outside \[0, window_h=3\)"),
            (("msa", 6, 0, 8, 2, 3), {}, ValueError, "width must be a positive int"),
            (("msa", 6, 6, 8, 2, 3), {"device": "cuda"}, ValueError, "device must be 'meta' or 'cpu', got 'cuda'"),
        ],
    )
    def test_errors(self, args, kwargs, exc, pattern):
        with pytest.raises(exc, match=pattern):
            attention_flops(*args, **kwargs)


# --------------------------------------------------------------------------- #
# Window counts                                                               #
# --------------------------------------------------------------------------- #
def brute_force_naive_count(H: int, W: int, M: tuple[int, int], s: tuple[int, int]) -> int:
    """Shifted windows holding at least one token: window of (r, c) is ((r - sh) // Mh, (c - sw) // Mw)."""
    return len({((r - s[0]) // M[0], (c - s[1]) // M[1]) for r in range(H) for c in range(W)})


def brute_force_cyclic_count(H: int, W: int, M: tuple[int, int], s: tuple[int, int]) -> int:
    """Windows of the padded, rolled map: window of padded position (r, c) after the roll."""
    Hp, Wp = math.ceil(H / M[0]) * M[0], math.ceil(W / M[1]) * M[1]
    return len({(((r - s[0]) % Hp) // M[0], ((c - s[1]) % Wp) // M[1]) for r in range(Hp) for c in range(Wp)})


SIZES = [(H, W, M, s) for H in (3, 5, 6, 7, 9, 10, 11, 12) for W in (4, 9) for M in (2, 3, 4) for s in range(M)]


class TestWindowCounts:
    @pytest.mark.parametrize("H, W, M, s", SIZES)
    def test_counts_equal_brute_force(self, H, W, M, s):
        assert window_count(H, W, M, s, method="padding") == brute_force_naive_count(H, W, (M, M), (s, s))
        assert window_count(H, W, M, s, method="cyclic") == brute_force_cyclic_count(H, W, (M, M), (s, s))
        assert window_count(H, W, M, s) == math.ceil(H / M) * math.ceil(W / M)

    @pytest.mark.parametrize("H, W, M, s", [(h, w, m, s) for (h, w, m, s) in SIZES if h % m == 0 and w % m == 0])
    def test_formulas_exact_when_the_window_divides(self, H, W, M, s):
        for method in WINDOW_METHODS:
            assert window_count(H, W, M, s, method=method) == window_count_formula(H, W, M, s, method=method)

    @pytest.mark.parametrize("H, W, M, s", SIZES)
    def test_padding_formula_is_exact_unless_the_last_piece_is_empty(self, H, W, M, s):
        rows = math.ceil(H / M) + (s > 0) - (0 < H % M <= s)
        cols = math.ceil(W / M) + (s > 0) - (0 < W % M <= s)
        assert window_count(H, W, M, s, method="padding") == rows * cols
        assert window_count(H, W, M, s, method="padding") <= window_count_formula(H, W, M, s, method="padding")

    def test_the_papers_examples(self):
        assert (window_count(56, 56, 7, 3), window_count(56, 56, 7, 3, method="padding")) == (64, 81)
        assert (window_count(14, 14, 7, 3), window_count(14, 14, 7, 3, method="padding")) == (4, 9)
        assert window_count(11, 11, 3, 2, method="padding") == 16 < window_count_formula(11, 11, 3, 2, method="padding") == 25

    def test_rectangular(self):
        assert window_count(8, 12, (4, 3), (1, 2), method="padding") == brute_force_naive_count(8, 12, (4, 3), (1, 2)) == 15
        assert window_count_formula(8, 12, (4, 3), (0, 2), method="padding") == 2 * 5

    @pytest.mark.parametrize("fn", [window_count, window_count_formula])
    def test_errors(self, fn):
        with pytest.raises(ValueError, match=r"method must be one of \('cyclic', 'padding'\), got 'pad'"):
            fn(6, 6, 3, 1, method="pad")
        with pytest.raises(ValueError, match=r"shift_w=4 is outside \[0, window_w=3\)"):
            fn(6, 6, 3, (1, 4))
        with pytest.raises(TypeError, match="window must be an int or an"):
            fn(6, 6, (1, 2, 3), 1)


class TestNaivePartition:
    @pytest.mark.parametrize("H, W, M, s", SIZES[::5])
    def test_pieces_tile_the_map(self, H, W, M, s):
        pieces = naive_shifted_windows(H, W, M, s)
        cover = torch.zeros(H, W, dtype=torch.long)
        for rows, cols in pieces:
            assert 0 < rows.stop - rows.start <= M and 0 < cols.stop - cols.start <= M
            cover[rows, cols] += 1
        assert bool((cover == 1).all())

    def test_9x9_pieces(self):
        rows = sorted({(r.start, r.stop) for r, _ in naive_shifted_windows(9, 9, 3, 1)})
        assert rows == [(0, 1), (1, 4), (4, 7), (7, 9)]

    @pytest.mark.parametrize("H, W, M, s", [(9, 9, 3, 1), (10, 7, 3, 2), (8, 8, (4, 2), (2, 1)), (5, 5, 3, 0)])
    def test_partition_holds_the_pieces(self, H, W, M, s):
        B, C = 2, 3
        x = feature_map(B, H, W, C)
        windows, real = naive_shifted_partition(x, M, s)
        pieces = naive_shifted_windows(H, W, M, s)
        Mh, Mw = as_pair(M, "window")
        assert tuple(windows.shape) == (B * len(pieces), Mh, Mw, C)
        assert tuple(real.shape) == (len(pieces), Mh * Mw)
        for k, (rows, cols) in enumerate(pieces):
            assert int(real[k].sum()) == (rows.stop - rows.start) * (cols.stop - cols.start)
            for b in range(B):
                tokens = windows[b * len(pieces) + k].reshape(-1, C)
                assert torch.equal(tokens[real[k]], x[b, rows, cols].reshape(-1, C))
                assert bool((tokens[~real[k]] == 0).all())

    def test_9x9_partitions(self):
        parts = shifted_partitions(9, 9, 3, 1)
        assert (parts.naive_per_row, parts.cyclic_per_row) == (4, 3)
        assert parts.naive[0].tolist() == [[-1, -1, -1], [-1, -1, -1], [-1, -1, 8]]
        assert parts.naive[15].tolist() == [[4, 4, -1], [4, 4, -1], [-1, -1, -1]]
        assert parts.cyclic[8].tolist() == [[4, 4, 5], [4, 4, 5], [7, 7, 8]]
        assert int((parts.cyclic < 0).sum()) == 0

    @pytest.mark.parametrize("H, W, M, s", [(9, 9, 3, 1), (10, 10, 7, 3), (11, 7, 3, 2), (8, 12, (4, 3), (1, 2)), (5, 5, 3, 0)])
    def test_partitions_hold_the_same_tokens_both_ways(self, H, W, M, s):
        parts = shifted_partitions(H, W, M, s)
        Mh, Mw = as_pair(M, "window")
        assert tuple(parts.naive.shape) == (window_count(H, W, M, s, method="padding"), Mh, Mw)
        assert tuple(parts.cyclic.shape) == (window_count(H, W, M, s), Mh, Mw)
        assert parts.naive.shape[0] % parts.naive_per_row == 0 and parts.cyclic.shape[0] % parts.cyclic_per_row == 0
        # the same H*W real tokens with the same labels on both sides
        for side in (parts.naive, parts.cyclic):
            assert int((side >= 0).sum()) == H * W
        assert torch.equal(torch.bincount(parts.naive[parts.naive >= 0]), torch.bincount(parts.cyclic[parts.cyclic >= 0]))
        # a naive piece is one region; a rolled window is a union of pieces
        for window in parts.naive:
            assert len(set(window[window >= 0].tolist())) == 1

    def test_errors(self):
        with pytest.raises(ValueError, match="x must have shape"):
            naive_shifted_partition(torch.zeros(4, 4), 2, 1)
        with pytest.raises(ValueError, match="shift_w=3 is outside"):
            shifted_partitions(6, 6, 3, (0, 3))
        with pytest.raises(ValueError, match="shift_h=2 is outside"):
            naive_shifted_windows(4, 4, 2, 2)


# --------------------------------------------------------------------------- #
# The attentions                                                              #
# --------------------------------------------------------------------------- #
def per_piece_attention(x, weights, heads, M, s):
    """Attention within each naive piece over its real tokens only: no padding, no mask; bias by place in the window."""
    (Mh, Mw), (sh, sw) = as_pair(M, "window"), as_pair(s, "shift")
    B, H, W, C = x.shape
    table = weights.relative_position_bias_table
    out = torch.empty_like(x)
    for rows, cols in naive_shifted_windows(H, W, M, s):
        rr, cc = torch.meshgrid(torch.arange(rows.start, rows.stop), torch.arange(cols.start, cols.stop), indexing="ij")
        place_r, place_c = ((rr - sh) % Mh).flatten(), ((cc - sw) % Mw).flatten()
        index = (place_r[:, None] - place_r[None, :] + Mh - 1) * (2 * Mw - 1) + (place_c[:, None] - place_c[None, :] + Mw - 1)
        bias = table[index].permute(2, 0, 1)
        tokens = x[:, rows, cols].reshape(B, -1, C)
        out[:, rows, cols] = multi_head_attention(tokens, weights, heads, bias=bias).view(B, *rr.shape, C)
    return out


class TestAttentions:
    def test_multi_head_attention_is_the_blocks_window_step(self):
        x, weights = feature_map(2, 6, 6, 8), weights_for(8, 2, 3)
        _, stages = shifted_window_attention(x, weights, 2, 3, 1, return_stages=True)
        got = multi_head_attention(stages["windows"], weights, 2, bias=stages["bias"], mask=stages["mask"])
        assert torch.allclose(got, stages["attended"], atol=1e-12)

    def test_global_attention_is_sdpa(self):
        B, H, W, C, heads = 2, 4, 5, 12, 3
        x, weights = feature_map(B, H, W, C), weights_for(C, heads, 2)
        tokens = x.reshape(B, H * W, C)
        q, k, v = F.linear(tokens, weights.qkv_weight, weights.qkv_bias).split(C, dim=-1)
        split = lambda t: t.view(B, H * W, heads, C // heads).transpose(1, 2)  # noqa: E731
        attended = F.scaled_dot_product_attention(split(q), split(k), split(v)).transpose(1, 2).reshape(B, H * W, C)
        expected = F.linear(attended, weights.proj_weight, weights.proj_bias).view(B, H, W, C)
        assert torch.allclose(global_attention(x, weights, heads), expected, atol=1e-12)

    def test_global_attention_is_one_window_with_a_zero_bias_table(self):
        H, W, C, heads = 4, 6, 8, 2
        x, weights = feature_map(1, H, W, C), weights_for(C, heads, 2)
        one_window = WindowAttentionWeights(
            weights.qkv_weight,
            weights.qkv_bias,
            weights.proj_weight,
            weights.proj_bias,
            torch.zeros((2 * H - 1) * (2 * W - 1), heads, dtype=torch.float64),
            (H, W),
        )
        assert torch.allclose(global_attention(x, weights, heads), shifted_window_attention(x, one_window, heads, (H, W), 0), atol=1e-12)

    @pytest.mark.parametrize("H, W, M, s", [(9, 9, 3, 1), (8, 12, 4, 2), (6, 6, 3, 0), (8, 12, (4, 2), (1, 1)), (14, 14, 7, 3)])
    def test_naive_equals_the_cyclic_shift_when_the_window_divides(self, H, W, M, s):
        x, weights = feature_map(2, H, W, 8), weights_for(8, 2, M)
        naive = naive_shifted_attention(x, weights, 2, M, s)
        assert torch.allclose(naive, shifted_window_attention(x, weights, 2, M, s), atol=1e-12)
        assert torch.allclose(naive_shifted_attention(x, weights, 2, M, s, fill=float("-inf")), naive, atol=1e-12)

    @pytest.mark.parametrize("H, W, M, s", [(9, 9, 3, 1), (10, 7, 3, 2), (5, 8, (3, 4), (1, 3)), (4, 4, 3, 0)])
    def test_naive_equals_attention_within_each_piece(self, H, W, M, s):
        x, weights = feature_map(1, H, W, 8), weights_for(8, 2, M)
        expected = per_piece_attention(x, weights, 2, M, s)
        assert torch.allclose(naive_shifted_attention(x, weights, 2, M, s, fill=float("-inf")), expected, atol=1e-12)

    def test_padding_tokens_are_keys_in_the_cyclic_block_but_not_in_the_naive_one(self):
        # 11 x 11, M = 3, s = 1: the block pads to 12 x 12; the zero row 11 shares a region with row 10
        x, weights = feature_map(1, 11, 11, 8), weights_for(8, 2, 3)
        naive = naive_shifted_attention(x, weights, 2, 3, 1)
        block = shifted_window_attention(x, weights, 2, 3, 1, pad=True)
        differs = ~torch.isclose(naive, block, atol=1e-9).all(-1)[0]  # [H, W]
        expected = torch.zeros(11, 11, dtype=torch.bool)
        expected[10, :] = expected[:, 10] = True  # the last row and column: their pieces have padding as keys
        assert torch.equal(differs, expected)

    @pytest.mark.parametrize(
        "call, exc, pattern",
        [
            (lambda x, w: multi_head_attention(x[0, 0], w, 2), ValueError, r"tokens must have shape \[B_, N, C\]"),
            (lambda x, w: multi_head_attention(x.view(1, -1, 8).long(), w, 2), TypeError, "tokens must be a floating-point"),
            (lambda x, w: multi_head_attention(x.view(1, -1, 8), "w", 2), TypeError, "weights must be a WindowAttentionWeights"),
            (lambda x, w: multi_head_attention(x.view(1, -1, 8), w, 4), ValueError, "weights have 2 heads"),
            (lambda x, w: multi_head_attention(x.view(1, -1, 8).float(), w, 2), TypeError, "use one dtype for both"),
            (lambda x, w: multi_head_attention(x.view(1, -1, 8), w, 2, bias=torch.zeros(2, 3, 3)), ValueError, r"bias must have shape \[heads, N, N\] = \[2, 36, 36\]"),
            (lambda x, w: global_attention(x[..., :4], w, 2), ValueError, "weights are for C=8 channels but tokens have C=4"),
            (lambda x, w: global_attention(x[0], w, 2), ValueError, r"x must have shape \[B, H, W, C\]"),
            (lambda x, w: naive_shifted_attention(x, w, 2, 2, 1), ValueError, r"weights are for a 3x3 window but window=\(2, 2\)"),
            (lambda x, w: naive_shifted_attention(x, w, 2, 3, 1, fill=1.0), ValueError, "fill"),
            (lambda x, w: naive_shifted_attention(x, None, 2, 3, 1), TypeError, "weights must be a WindowAttentionWeights"),
        ],
    )
    def test_errors(self, call, exc, pattern):
        with pytest.raises(exc, match=pattern):
            call(feature_map(1, 6, 6, 8), weights_for(8, 2, 3))


# --------------------------------------------------------------------------- #
# Timing and slopes                                                           #
# --------------------------------------------------------------------------- #
class TestTiming:
    def test_time_call_runs_warmup_then_repeat(self):
        calls = []
        seconds = time_call(lambda a, b=0: calls.append((a, b)), 1, b=2, repeat=3, warmup=2)
        assert calls == [(1, 2)] * 5
        assert isinstance(seconds, float) and seconds >= 0

    def test_time_call_sets_and_restores_threads(self):
        before = torch.get_num_threads()
        seen = []
        time_call(lambda: seen.append(torch.get_num_threads()), repeat=2, warmup=0, threads=1)
        assert seen == [1, 1]
        assert torch.get_num_threads() == before
        with pytest.raises(RuntimeError):
            time_call(lambda: (_ for _ in ()).throw(RuntimeError("boom")), threads=1)
        assert torch.get_num_threads() == before

    def test_time_call_is_the_median(self, monkeypatch):
        ticks = iter([0.0, 1.0, 10.0, 10.5, 20.0, 29.0])  # durations 1.0, 0.5, 9.0
        monkeypatch.setattr(cost.time, "perf_counter", lambda: next(ticks))
        assert time_call(lambda: None, repeat=3, warmup=0) == 1.0

    @pytest.mark.parametrize(
        "args, kwargs, exc, pattern",
        [
            ((None,), {}, TypeError, "fn must be callable"),
            ((print,), {"repeat": 0}, ValueError, "repeat must be a positive int, got 0"),
            ((print,), {"warmup": -1}, ValueError, "warmup must be a non-negative int, got -1"),
            ((print,), {"warmup": 1.5}, TypeError, "warmup must be an int"),
            ((print,), {"threads": 0}, ValueError, "threads must be a positive int, got 0"),
        ],
    )
    def test_time_call_errors(self, args, kwargs, exc, pattern):
        with pytest.raises(exc, match=pattern):
            time_call(*args, **kwargs)

    def test_fit_slope_recovers_powers(self):
        sizes = [196, 784, 1764, 3136]
        assert fit_slope(sizes, [3 * n**2 for n in sizes]) == pytest.approx(2.0, abs=1e-12)
        assert fit_slope(sizes, [0.5 * n for n in sizes]) == pytest.approx(1.0, abs=1e-12)
        assert fit_slope([1, 2], [5, 5]) == pytest.approx(0.0, abs=1e-12)

    def test_flop_slopes(self):
        # the attention terms alone are exactly quadratic (MSA) and linear (W-MSA) in hw
        sizes = [h * h for h in (14, 28, 42, 56)]
        assert fit_slope(sizes, [2 * n**2 * 96 for n in sizes]) == pytest.approx(2.0, abs=1e-12)
        assert fit_slope(sizes, [wmsa_flops(h, h, 96, 7) for h in (14, 28, 42, 56)]) == pytest.approx(1.0, abs=1e-12)
        assert 1.0 < fit_slope(sizes, [msa_flops(h, h, 96) for h in (14, 28, 42, 56)]) < 2.0

    @pytest.mark.parametrize(
        "sizes, values, pattern",
        [
            ([1, 2], [1], "equally long"),
            ([1, 1], [1, 2], "at least two distinct"),
            ([0, 2], [1, 2], "sizes must hold positive finite numbers"),
            ([1, 2], [1, -2], "values must hold positive"),
            ([1, 2], [1, float("inf")], "values must hold positive"),
            ([1, 2], [1, "2"], "values must hold positive"),
        ],
    )
    def test_fit_slope_errors(self, sizes, values, pattern):
        with pytest.raises(ValueError, match=pattern):
            fit_slope(sizes, values)


def test_public_names_are_defined_and_documented():
    for name in cost.__all__:
        obj = getattr(cost, name)
        if callable(obj):
            assert obj.__doc__ and obj.__doc__.strip(), name


# --------------------------------------------------------------------------- #
# Figures                                                                     #
# --------------------------------------------------------------------------- #
import io  # noqa: E402

import numpy as np  # noqa: E402
from matplotlib.colors import to_rgba  # noqa: E402
from PIL import Image  # noqa: E402

from swin_viz import figures, widgets  # noqa: E402
from swin_viz.widgets.cost import cost_limits, explorer_cost_curves  # noqa: E402
from swin_viz.figures._pool import drawn_cells  # noqa: E402
from swin_viz.figures import (  # noqa: E402
    COST_COLOURS,
    PADDING_COLOUR,
    REGION_COLOURS,
    LabFigure,
    draw_padded_windows,
    plot_cost,
    plot_flops,
    plot_shift_vs_padding,
    plot_times,
    plot_window_counts,
)

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def pooled(ax, gid):
    """The artist a figure drew under ``gid`` (see the retained mode of swin_viz.figures)."""
    return ax.__dict__["_swin_viz_pool"][gid]


def pixels(png: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGBA")).astype(int)


def assert_same_picture(a: bytes, b: bytes) -> None:
    """Pixel for pixel, as the retained mode of swin_viz.figures promises."""
    pa, pb = pixels(a), pixels(b)
    assert pa.shape == pb.shape
    assert np.array_equal(pa, pb), f"{int(np.any(pa != pb, axis=-1).sum())} pixels differ"


class TestCostFigures:
    SIZES = [7, 14, 28, 56]

    def test_flops_draws_formulas_as_lines_and_counts_as_dots(self):
        tokens = [n * n for n in self.SIZES]
        formulas = {"msa": [msa_flops(n, n, 96) for n in self.SIZES], "w-msa": [wmsa_flops(n, n, 96, 7) for n in self.SIZES]}
        measured = {k: [attention_flops(k, n, n, 96, 3, 7).multiply_adds for n in self.SIZES] for k in formulas}
        fig = plot_flops(tokens, formulas, measured)
        assert isinstance(fig, LabFigure) and fig.to_png().startswith(PNG_MAGIC)
        ax = fig.axes[0]
        assert (ax.get_xscale(), ax.get_yscale()) == ("log", "log")
        for kind in formulas:
            line, dots = pooled(ax, f"line/{kind}"), pooled(ax, f"points/{kind}")
            assert list(line.get_xdata()) == tokens and list(line.get_ydata()) == formulas[kind]
            assert list(dots.get_ydata()) == measured[kind] == formulas[kind]
            assert line.get_color() == dots.get_color() == COST_COLOURS[kind]
            assert dots.get_linestyle() == "None" and dots.get_marker() == "o"
        # the guides have slopes 1 and 2 on the log-log axes
        for power in (1, 2):
            guide = pooled(ax, f"guide/{power}")
            assert fit_slope(guide.get_xdata(), guide.get_ydata()) == pytest.approx(power)
        assert [t.get_text() for t in ax.get_legend().get_texts()] == ["global MSA", "W-MSA", "slopes 1 and 2"]
        assert [t.get_text() for t in ax.get_xticklabels()] == ["50", "100", "200", "500", "1000", "2000"]  # < 3 decades
        assert [t.get_text() for t in ax.get_yticklabels()] == ["10⁶", "10⁷", "10⁸", "10⁹"]

    def test_times(self):
        fig = plot_times([196, 784, 3136], {"msa": [1e-3, 1e-2, 2e-1], "w-msa": [1e-3, 2e-3, 8e-3]})
        ax = fig.axes[0]
        assert list(pooled(ax, "line/msa").get_ydata()) == [1e-3, 1e-2, 2e-1]
        assert list(pooled(ax, "points/w-msa").get_ydata()) == [1e-3, 2e-3, 8e-3]
        assert ax.get_ylabel() == "seconds"

    def test_window_counts(self):
        sweep = list(range(1, 30))
        counts = {m: [window_count(n, n, 7, 3, method=m) for n in sweep] for m in WINDOW_METHODS}
        paper = [window_count_formula(n, n, 7, 3, method="padding") for n in sweep]
        fig = plot_window_counts(sweep, counts, paper, window=7, shift=3)
        ax = fig.axes[0]
        for method in WINDOW_METHODS:
            assert list(pooled(ax, f"count/{method}").get_ydata()) == counts[method]
        assert list(pooled(ax, "paper").get_ydata()) == paper
        assert [seg[0][0] for seg in pooled(ax, "multiples").get_segments()] == [7, 14, 21, 28]
        assert ax.get_title() == "windows of the shifted partition, M = 7, s = 3"

    def test_shift_vs_padding_redrawn_in_place_equals_a_fresh_figure(self):
        fig = plot_shift_vs_padding(*shifted_partitions(9, 9, 3, 1))
        fig.to_png()
        again = plot_shift_vs_padding(*shifted_partitions(12, 12, 4, 2), figure=fig)
        assert again is fig
        assert_same_picture(fig.to_png(), plot_shift_vs_padding(*shifted_partitions(12, 12, 4, 2)).to_png())

    def test_shift_vs_padding_draws_every_label_and_the_padding(self):
        parts = shifted_partitions(9, 9, 3, 1)
        fig = plot_shift_vs_padding(*parts)
        left, right = fig.axes
        assert (left.get_title(), right.get_title()) == ("padding: 16 windows", "cyclic shift: 9 windows")
        fig.to_png()
        for ax, windows in ((left, parts.naive), (right, parts.cyclic)):
            corners = [path.vertices[0] for path in pooled(ax, "frames").get_paths()]  # each window's top left
            unit = pooled(ax, "cells/numbers")._cell_step  # one cell, in data units
            drawn = {(round(x, 6), round(y, 6)): text for x, y, text in pooled(ax, "cells/numbers").cell_texts()}
            expected = {}
            for k, window in enumerate(windows):
                assert pooled(ax, f"title/{k}").get_text() == f"#{k}"
                for r in range(3):
                    for c in range(3):
                        if int(window[r, c]) >= 0:  # padding carries no number
                            x, y = corners[k][0] + (c + 0.5) * unit, corners[k][1] + (r + 0.5) * unit
                            expected[(round(x, 6), round(y, 6))] = str(int(window[r, c]))
            assert drawn == expected
            assert len(pooled(ax, "frames").get_paths()) == windows.shape[0]
        # one image per panel, one pixel per cell: padding grey, labels in their region colours
        image = drawn_cells(left, "windows/image")[0]
        assert image.shape[:2] == (4 * 4 - 1, 4 * 4 - 1)
        grey = np.round(np.array(to_rgba(PADDING_COLOUR)) * 255)
        assert np.array_equal(image[0, 0], grey)  # window 0, cell (0, 0): padding
        assert np.array_equal(image[2, 2], np.round(np.array(to_rgba(REGION_COLOURS[8])) * 255))  # its label 8
        # both panels at one cell size: the 3 x 3 windows are drawn as wide as the 4 x 4 ones' first three
        left_extent, right_extent = drawn_cells(left, "windows/image")[1], drawn_cells(right, "windows/image")[1]
        assert (right_extent[1] - right_extent[0]) / 11 == pytest.approx((left_extent[1] - left_extent[0]) / 15)

    def test_large_partitions_drop_numbers_and_titles(self):
        parts = shifted_partitions(56, 56, 7, 3)
        fig = plot_shift_vs_padding(*parts)
        for ax in fig.axes:
            gids = list(ax.__dict__["_swin_viz_pool"])
            assert not any(g.startswith(("cells/", "title/")) for g in gids)
            assert "windows/lines" not in gids

    @pytest.mark.parametrize(
        "call, pattern",
        [
            (lambda: draw_padded_windows(None, torch.zeros(4, 2), 2), r"windows must be a \[nW, Mh, Mw\] tensor"),
            (lambda: draw_padded_windows(None, torch.zeros(4, 2, 2, dtype=torch.long), 3), "windows_per_row=3 must be a positive int that divides nW=4"),
            (lambda: draw_padded_windows(None, torch.full((4, 2, 2), 9), 2), r"region labels 0..8 or -1"),
            (lambda: draw_padded_windows(None, torch.full((4, 2, 2), -2), 2), r"region labels 0..8 or -1"),
            (lambda: plot_shift_vs_padding(torch.zeros(4, 2, 2, dtype=torch.long), 2, torch.zeros(4, 3, 3, dtype=torch.long), 2), "same"),
            (lambda: plot_flops([1, 2], {"msa": [1.0]}), "must have 2 values"),
            (lambda: plot_flops([2, 1], {"msa": [1.0, 2.0]}), "positive and increasing"),
            (lambda: plot_flops([1, 2], {"msa": [0.0, 2.0]}), "positive to be drawn on log axes"),
            (lambda: plot_flops([1, 2], {"vit": [1.0, 2.0]}), "keys must be among"),
            (lambda: plot_window_counts([1, 2], {"cyclic": [1, 1]}, [1], window=2, shift=1), "paper must have 2 values"),
        ],
    )
    def test_bad_arguments_are_named(self, call, pattern):
        with pytest.raises(ValueError, match=pattern):
            call()

    def test_not_a_lab_figure(self):
        with pytest.raises(TypeError, match="figure must be a LabFigure"):
            plot_flops([1, 2], {"msa": [1.0, 2.0]}, figure="fig")


def cost_arguments(size, window, shift, dim):
    """What CostExplorer passes to plot_cost for these slider values."""
    tokens, flops, counts, paper = explorer_cost_curves(window, shift, dim)
    parts = shifted_partitions(size, size, window, shift)
    flop_limits, count_limits = cost_limits()
    kwargs = {"window": window, "shift": shift, "marker": size - 1, "flop_limits": flop_limits, "count_limits": count_limits}
    return (tokens, flops, widgets.COST_SIZES, counts, paper, parts), kwargs


class TestPlotCost:
    def test_panels_carry_the_numbers(self):
        args, kwargs = cost_arguments(56, 7, 3, 96)
        fig = plot_cost(*args, **kwargs)
        flop_ax, count_ax, naive_ax, cyclic_ax = fig.axes
        assert list(pooled(flop_ax, "marker/msa").get_ydata()) == [msa_flops(56, 56, 96)]
        assert list(pooled(flop_ax, "marker/w-msa").get_ydata()) == [wmsa_flops(56, 56, 96, 7)]
        assert list(pooled(count_ax, "marker/cyclic").get_ydata()) == [64]
        assert list(pooled(count_ax, "marker/padding").get_ydata()) == [81]
        assert naive_ax.get_title() == "56 × 56: padding: 81 windows"
        assert cyclic_ax.get_title() == "56 × 56: cyclic shift: 64 windows"

    def test_redrawn_in_place_equals_a_fresh_figure(self):
        args, kwargs = cost_arguments(56, 7, 3, 96)
        fig = plot_cost(*args, **kwargs)
        fig.to_png()
        axes = list(fig.axes)
        for setting in [(9, 3, 1, 96), (64, 2, 1, 768), (1, 16, 15, 16)]:
            args, kwargs = cost_arguments(*setting)
            again = plot_cost(*args, **kwargs, figure=fig)
            assert again is fig and list(fig.axes) == axes
            assert_same_picture(fig.to_png(), plot_cost(*args, **kwargs).to_png())


# --------------------------------------------------------------------------- #
# The explorer                                                                #
# --------------------------------------------------------------------------- #
class TestCostExplorer:
    def test_opens_on_swin_t_stage_1(self):
        view = widgets.cost_explorer()
        assert repr(view) == "CostExplorer('09 · the cost of window attention', h=w=56, M=7, s=3, C=96)"
        assert view.draw_count == 1 and bytes(view.image.value).startswith(PNG_MAGIC)
        caption = view.caption.value
        assert "multiply-adds global MSA 2.004e+09, W-MSA 1.451e+08 (ratio 13.8)" in caption
        assert "shifted windows cyclic shift 64, padding 81 (ratio 1.27;" in caption
        assert (view.size.min, view.size.max, view.window.min, view.window.max) == (1, 64, 2, 16)

    def test_shift_follows_the_window(self):
        view = widgets.cost_explorer(window=7, shift=6)
        view.window.value = 4
        assert (view.shift.value, view.shift.max) == (3, 3)
        assert view.draw_count == 2  # one redraw for the coordinated change
        view.window.value = 16
        assert view.shift.max == 15 and view.shift.value == 3

    def test_sliders_change_the_figure(self):
        view = widgets.cost_explorer(size=10, window=7, shift=1)
        assert "cyclic shift 4, padding 9 (ratio 2.25;" in view.caption.value
        view.shift.value = 3  # 10 mod 7 = 3 <= s: the padded partition loses its empty last row and column
        assert "cyclic shift 4, padding 4 (ratio 1; the paper&#x27;s (⌈h/M⌉+1)² = 9)" in view.caption.value
        assert view.figure.axes[2].get_title() == "10 × 10: padding: 4 windows"
        view.size.value = 14
        view.window.value = 14  # one window as large as the map: W-MSA is global attention
        assert "(ratio 1);" in view.caption.value
        view.dim.value = 768
        assert view.describe_settings() == "h=w=14, M=14, s=3, C=768"
        assert "Cannot draw" not in view.caption.value and view.draw_count == 5

    def test_no_change_moves_an_axis(self):
        """Fixed y ranges hold every reachable setting, so a change redraws data and never lays the figure out again."""
        view = widgets.cost_explorer()
        limits = [(ax.get_xlim(), ax.get_ylim()) for ax in view.figure.axes]
        for name, value in (("size", 1), ("window", 2), ("size", 64), ("dim", 768), ("shift", 0), ("dim", 16), ("window", 16)):
            getattr(view, name).value = value
            assert [(ax.get_xlim(), ax.get_ylim()) for ax in view.figure.axes] == limits
        flop_low, flop_high = view.figure.axes[0].get_ylim()
        # the extremes: global attention on a 1 x 1 map at C = 16 (a guide starts at a quarter of it), the 64 x 64 map at C = 768
        assert flop_low <= msa_flops(1, 1, 16) / 4
        assert flop_high >= msa_flops(64, 64, 768) >= wmsa_flops(64, 64, 768, 16, pad=True)
        assert view.figure.axes[1].get_ylim()[1] > window_count(64, 64, 2, 1, method="padding") == 33 * 33

    def test_every_reachable_setting_draws(self):
        """Every window with its extreme shifts, at the smallest, a non-multiple and the largest size, C at either end."""
        view = widgets.cost_explorer()
        figure = view.figure
        dims = (widgets.COST_DIM_RANGE[0], widgets.COST_DIM_RANGE[1])
        for window in range(widgets.COST_WINDOW_RANGE[0], widgets.COST_WINDOW_RANGE[1] + 1):
            for shift in (0, window - 1):
                for i, size in enumerate((1, window + 1, 64)):
                    args, kwargs = cost_arguments(size, window, shift, dims[(window + shift + i) % 2])
                    assert plot_cost(*args, **kwargs, figure=figure) is figure
        assert figure.to_png().startswith(PNG_MAGIC)

    def test_drawing_errors_are_shown_in_the_caption(self, monkeypatch):
        view = widgets.cost_explorer()

        def broken(*args, **kwargs):
            raise ValueError("boom")

        monkeypatch.setattr(figures, "plot_cost", broken)
        view.size.value = 20
        assert "Cannot draw h=w=20, M=7, s=3, C=96: boom" in view.caption.value
        assert view.draw_count == 1

    @pytest.mark.parametrize(
        "kwargs, error, pattern",
        [
            ({"height": 9}, TypeError, "unexpected keyword argument 'height'"),
            ({"size": 0}, ValueError, r"size=0 is outside the explorer's range \[1, 64\]"),
            ({"size": 65}, ValueError, r"size=65 is outside"),
            ({"window": 1}, ValueError, r"window=1 is outside the explorer's range \[2, 16\]"),
            ({"window": 5, "shift": 5}, ValueError, r"shift=5 is outside the explorer's range \[0, 4\]"),
            ({"dim": 800}, ValueError, r"dim=800 must be a multiple of 16 in \[16, 768\]"),
            ({"dim": 100}, ValueError, r"dim=100 must be a multiple of 16 in \[16, 768\]"),
            ({"size": True}, TypeError, "size must be an int"),
            ({"window": 7.0}, TypeError, "window must be an int"),
        ],
    )
    def test_bad_settings_are_named(self, kwargs, error, pattern):
        with pytest.raises(error, match=pattern):
            widgets.cost_explorer(**kwargs)
