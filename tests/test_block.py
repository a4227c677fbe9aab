"""Tests for :mod:`swin_viz.block`, the runnable shifted-window attention block.

Independent sources of truth:

* the Swin layer of the ``transformers`` package (``SwinLayer``), loaded with
  the same weights (square windows; sizes that divide, padded sizes, clamped
  small maps), float32 to 1e-5;
* :func:`oracle_window_attention` (no roll, no windows, no mask), float64 to
  1e-12, over hypothesis-drawn sizes, windows, shifts, batches and heads;
* literal ports, written here, of the official ``WindowAttention`` code and of
  timm 1.x's ``SwinTransformerBlock._attn`` (roll-then-pad);
* brute-force pure-Python loops over token pairs for the neighbour relations.
"""

from __future__ import annotations

import math
import re

import pytest
import torch
import torch.nn.functional as F
from helpers import draw_window_and_shift
from hypothesis import given, settings
from hypothesis import strategies as st
from transformers import SwinConfig
from transformers.models.swin import modeling_swin

import swin_viz
from swin_viz import block, check, relative_position, tensors
from swin_viz.block import (
    PAD_ORDERS,
    BlockStages,
    WindowAttentionWeights,
    WrongPairs,
    count_wrong_pairs,
    leaked_attention,
    oracle_window_attention,
    pair_relation,
    relative_position_index,
    seam_neighbours,
    shifted_window_attention,
)
from swin_viz.tensors import as_pair, attention_mask, clamp_layout, cyclic_shift, padded_size, window_partition

PROPERTY = settings(max_examples=40, deadline=None, derandomize=True, database=None)


# --------------------------------------------------------------------------- #
# Literal ports of the real code (independent of the package)                 #
# --------------------------------------------------------------------------- #
def official_relative_position_index(window_size: tuple[int, int]) -> torch.Tensor:
    """``WindowAttention.__init__`` of microsoft/Swin-Transformer, verbatim."""
    coords_h = torch.arange(window_size[0])
    coords_w = torch.arange(window_size[1])
    coords = torch.stack(torch.meshgrid([coords_h, coords_w], indexing="ij"))  # 2, Wh, Ww
    coords_flatten = torch.flatten(coords, 1)  # 2, Wh*Ww
    relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]  # 2, Wh*Ww, Wh*Ww
    relative_coords = relative_coords.permute(1, 2, 0).contiguous()  # Wh*Ww, Wh*Ww, 2
    relative_coords[:, :, 0] += window_size[0] - 1  # shift to start from 0
    relative_coords[:, :, 1] += window_size[1] - 1
    relative_coords[:, :, 0] *= 2 * window_size[1] - 1
    return relative_coords.sum(-1)  # Wh*Ww, Wh*Ww


def official_window_attention(x, weights: WindowAttentionWeights, num_heads: int, mask=None) -> torch.Tensor:
    """``WindowAttention.forward`` of microsoft/Swin-Transformer, verbatim but for the weights' source."""
    window_size = weights.window
    B_, N, C = x.shape
    qkv = F.linear(x, weights.qkv_weight, weights.qkv_bias).reshape(B_, N, 3, num_heads, C // num_heads).permute(2, 0, 3, 1, 4)
    q, k, v = qkv[0], qkv[1], qkv[2]
    q = q * (C // num_heads) ** -0.5
    attn = q @ k.transpose(-2, -1)
    relative_position_bias = weights.relative_position_bias_table[official_relative_position_index(window_size).view(-1)].view(
        window_size[0] * window_size[1], window_size[0] * window_size[1], -1
    )
    relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous()
    attn = attn + relative_position_bias.unsqueeze(0)
    if mask is not None:
        nW = mask.shape[0]
        attn = attn.view(B_ // nW, nW, num_heads, N, N) + mask.unsqueeze(1).unsqueeze(0)
        attn = attn.view(-1, num_heads, N, N)
    attn = torch.softmax(attn, dim=-1)
    x = (attn @ v).transpose(1, 2).reshape(B_, N, C)
    return F.linear(x, weights.proj_weight, weights.proj_bias)


def timm_window_partition(x, window_size):
    B, H, W, C = x.shape
    x = x.view(B, H // window_size[0], window_size[0], W // window_size[1], window_size[1], C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size[0], window_size[1], C)


def timm_window_reverse(windows, window_size, H, W):
    C = windows.shape[-1]
    x = windows.view(-1, H // window_size[0], W // window_size[1], window_size[0], window_size[1], C)
    return x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, H, W, C)


def timm_get_attn_mask(H, W, window_size, shift_size, dtype):
    """timm 1.x ``SwinTransformerBlock.get_attn_mask``: the mask of the *padded* layout."""
    if not any(shift_size):
        return None
    H = math.ceil(H / window_size[0]) * window_size[0]
    W = math.ceil(W / window_size[1]) * window_size[1]
    img_mask = torch.zeros((1, H, W, 1), dtype=dtype)
    cnt = 0
    for h in ((0, -window_size[0]), (-window_size[0], -shift_size[0]), (-shift_size[0], None)):
        for w in ((0, -window_size[1]), (-window_size[1], -shift_size[1]), (-shift_size[1], None)):
            img_mask[:, h[0] : h[1], w[0] : w[1], :] = cnt
            cnt += 1
    mask_windows = timm_window_partition(img_mask, window_size).view(-1, window_size[0] * window_size[1])
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    return attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))


def timm_attn(x, weights: WindowAttentionWeights, num_heads, window_size, shift_size):
    """timm 1.x ``SwinTransformerBlock._attn``: roll the unpadded map, then pad, then partition."""
    B, H, W, C = x.shape
    has_shift = any(shift_size)
    shifted_x = torch.roll(x, shifts=(-shift_size[0], -shift_size[1]), dims=(1, 2)) if has_shift else x
    pad_h = (window_size[0] - H % window_size[0]) % window_size[0]
    pad_w = (window_size[1] - W % window_size[1]) % window_size[1]
    shifted_x = F.pad(shifted_x, (0, 0, 0, pad_w, 0, pad_h))
    Hp, Wp = H + pad_h, W + pad_w
    x_windows = timm_window_partition(shifted_x, window_size).view(-1, window_size[0] * window_size[1], C)
    attn_windows = official_window_attention(x_windows, weights, num_heads, timm_get_attn_mask(H, W, window_size, shift_size, x.dtype))
    attn_windows = attn_windows.view(-1, window_size[0], window_size[1], C)
    shifted_x = timm_window_reverse(attn_windows, window_size, Hp, Wp)[:, :H, :W, :].contiguous()
    return torch.roll(shifted_x, shifts=shift_size, dims=(1, 2)) if has_shift else shifted_x


def brute_force_pairs(H, W, window, shift, order):
    """``(together, allowed, genuine)`` as sets of (query, key) token numbers, by explicit loops.

    A real token ``(r, c)`` lands at rolled position ``((r - sh) mod Hr, (c - sw) mod Wr)`` of the
    ``Hp x Wp`` map, with ``Hr, Wr = Hp, Wp`` (pad-then-roll) or ``H, W`` (roll-then-pad, the rolled
    map is padded afterwards); its mask label is its band in the padded layout; it crossed the top
    edge when ``r < sh`` (``sh mod H`` for roll-then-pad).
    """
    (Mh, Mw), (sh, sw) = as_pair(window, "window"), as_pair(shift, "shift")
    Hp, Wp = math.ceil(H / Mh) * Mh, math.ceil(W / Mw) * Mw
    Hr, Wr = (Hp, Wp) if order == "pad-then-roll" else (H, W)
    seam_h, seam_w = (sh, sw) if order == "pad-then-roll" else (sh % H, sw % W)

    def band(position, size, win, s):
        return 0 if position < size - win else (1 if position < size - s else 2)

    place = {}
    for r in range(H):
        for c in range(W):
            rho, gamma = (r - sh) % Hr, (c - sw) % Wr
            window_id = (rho // Mh, gamma // Mw)
            label = (band(rho, Hp, Mh, sh), band(gamma, Wp, Mw, sw))
            side = (r < seam_h, c < seam_w)
            place[r * W + c] = (window_id, label, side)
    together, allowed, genuine = set(), set(), set()
    for p, (window_p, label_p, side_p) in place.items():
        for q, (window_q, label_q, side_q) in place.items():
            if window_p == window_q:
                together.add((p, q))
                if label_p == label_q:
                    allowed.add((p, q))
                if side_p == side_q:
                    genuine.add((p, q))
    return together, allowed, genuine


def as_pairs(matrix: torch.Tensor) -> set:
    return {tuple(pair) for pair in matrix.nonzero().tolist()}


def random_input(B, H, W, C, seed=0, dtype=torch.float64):
    return torch.randn(B, H, W, C, generator=torch.Generator().manual_seed(seed), dtype=torch.float64).to(dtype)


def run_both(B, H, W, heads, head_dim, window, shift, pad=False, clamp=None, seed=0):
    """Block and oracle outputs on the same seeded float64 input and weights."""
    C = heads * head_dim
    effective = clamp_layout(H, W, window, shift, clamp)[0] if clamp else as_pair(window, "window")
    weights = WindowAttentionWeights.random(C, heads, effective, seed=seed)
    x = random_input(B, H, W, C, seed=seed + 1)
    fast = shifted_window_attention(x, weights, heads, window, shift, pad=pad, clamp=clamp)
    slow = oracle_window_attention(x, weights, heads, window, shift, pad=pad, clamp=clamp)
    return fast, slow


# --------------------------------------------------------------------------- #
# Package surface                                                             #
# --------------------------------------------------------------------------- #
def test_every_reexport_is_the_object_its_module_defines():
    homes = (block, tensors, relative_position, check)  # block first: it re-exports what it builds on
    for name in swin_viz.__all__:
        home = next((module for module in homes if name in module.__all__), None)
        assert home is not None, f"{name} is exported by swin_viz but by none of {[m.__name__ for m in homes]}"
        assert getattr(swin_viz, name) is getattr(home, name)
    assert set(block.__all__) <= set(swin_viz.__all__)


# --------------------------------------------------------------------------- #
# Relative position index and weights                                         #
# --------------------------------------------------------------------------- #
class TestRelativePositionIndex:
    def test_2x2_literal(self):
        # (dy + 1) * 3 + (dx + 1) for dy = yi - yj, dx = xi - xj
        expected = torch.tensor([[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]])
        assert torch.equal(relative_position_index(2), expected)

    @pytest.mark.parametrize("window", [1, 3, 7, (2, 3), (4, 1)])
    def test_matches_the_official_code(self, window):
        index = relative_position_index(window)
        window_hw = as_pair(window, "window")
        assert torch.equal(index, official_relative_position_index(window_hw))
        assert index.shape == (window_hw[0] * window_hw[1],) * 2
        assert int(index.max()) == (2 * window_hw[0] - 1) * (2 * window_hw[1] - 1) - 1
        # the pair (i, j) and (j, i) sit symmetrically about the table's centre entry
        centre = (2 * window_hw[0] - 1) * (2 * window_hw[1] - 1) // 2
        assert torch.equal(index + index.T, torch.full_like(index, 2 * centre))

    @pytest.mark.parametrize(
        "window, exc, pattern",
        [
            (0, ValueError, r"^window must be positive in each dimension, got window_h=0$"),
            ((3, -1), ValueError, r"^window must be positive in each dimension, got window_w=-1$"),
            ("3", TypeError, r"^window must be an int, got str"),
        ],
    )
    def test_errors(self, window, exc, pattern):
        with pytest.raises(exc, match=pattern):
            relative_position_index(window)


class TestWindowAttentionWeights:
    def test_random_shapes_and_seed(self):
        weights = WindowAttentionWeights.random(6, 3, (2, 3), seed=4)
        assert tuple(weights.qkv_weight.shape) == (18, 6)
        assert tuple(weights.qkv_bias.shape) == (18,)
        assert tuple(weights.proj_weight.shape) == (6, 6)
        assert tuple(weights.proj_bias.shape) == (6,)
        assert tuple(weights.relative_position_bias_table.shape) == (3 * 5, 3)
        assert (weights.dim, weights.num_heads, weights.window, weights.dtype) == (6, 3, (2, 3), torch.float64)
        again = WindowAttentionWeights.random(6, 3, (2, 3), seed=4)
        other = WindowAttentionWeights.random(6, 3, (2, 3), seed=5)
        assert torch.equal(weights.qkv_weight, again.qkv_weight)
        assert not torch.equal(weights.qkv_weight, other.qkv_weight)
        single = WindowAttentionWeights.random(6, 3, (2, 3), seed=4, dtype=torch.float32)
        assert single.dtype == torch.float32
        assert torch.allclose(single.qkv_weight.double(), weights.qkv_weight, atol=1e-6)

    def test_relative_position_bias_reads_the_table(self):
        weights = WindowAttentionWeights.random(4, 2, (2, 3), seed=0)
        bias = weights.relative_position_bias()
        index = official_relative_position_index((2, 3))
        assert bias.shape == (2, 6, 6)
        for h in range(2):
            for i in range(6):
                for j in range(6):
                    assert bias[h, i, j] == weights.relative_position_bias_table[index[i, j], h]

    @pytest.mark.parametrize(
        "args, kwargs, exc, pattern",
        [
            ((5, 2, 3), {}, ValueError, r"^dim=5 is not divisible by num_heads=2: every head gets dim // num_heads channels$"),
            ((0, 2, 3), {}, ValueError, r"^dim must be a positive int, got 0$"),
            ((4, 0, 3), {}, ValueError, r"^num_heads must be a positive int, got 0$"),
            ((4, 2, 0), {}, ValueError, r"^window must be positive in each dimension, got window_h=0$"),
            ((4, 2, 3), {"dtype": torch.int64}, TypeError, r"^dtype must be a floating torch.dtype"),
            ((4, 2, 3), {"seed": 1.5}, TypeError, r"^seed must be an int, got float 1\.5$"),
        ],
    )
    def test_random_errors(self, args, kwargs, exc, pattern):
        with pytest.raises(exc, match=pattern):
            WindowAttentionWeights.random(*args, **kwargs)

    def _fields(self, **changes):
        good = WindowAttentionWeights.random(4, 2, 3, seed=0)
        fields = {name: getattr(good, name) for name in ("qkv_weight", "qkv_bias", "proj_weight", "proj_bias", "relative_position_bias_table", "window")}
        fields.update(changes)
        return fields

    @pytest.mark.parametrize(
        "changes, exc, pattern",
        [
            ({"qkv_weight": torch.zeros(12, 5, dtype=torch.float64)}, ValueError, r"^qkv_weight must have shape \[3C, C\], got \(12, 5\)$"),
            ({"qkv_bias": torch.zeros(11, dtype=torch.float64)}, ValueError, r"^qkv_bias must have shape \[12\] for C=4, got \(11,\)$"),
            ({"proj_weight": torch.zeros(4, 3, dtype=torch.float64)}, ValueError, r"^proj_weight must have shape \[4, 4\]"),
            ({"proj_bias": torch.zeros(5, dtype=torch.float64)}, ValueError, r"^proj_bias must have shape \[4\]"),
            ({"relative_position_bias_table": torch.zeros(24, 2, dtype=torch.float64)}, ValueError, re.escape("relative_position_bias_table must have shape [(2Mh-1)(2Mw-1), heads] = [25, heads] for window=(3, 3), got (24, 2)")),
            ({"relative_position_bias_table": torch.zeros(25, 3, dtype=torch.float64)}, ValueError, r"^C=4 is not divisible by heads=3"),
            ({"window": (3, 4)}, ValueError, r"= \[35, heads\] for window=\(3, 4\)"),
            ({"window": 0}, ValueError, r"^window must be positive"),
            ({"proj_bias": torch.zeros(4)}, TypeError, r"^all weights must share one dtype, got \['torch.float32', 'torch.float64'\]$"),
            ({"proj_bias": [0.0] * 4}, TypeError, r"^proj_bias must be a torch.Tensor, got list$"),
            ({"proj_bias": torch.zeros(4, dtype=torch.long)}, TypeError, r"^proj_bias must be a floating-point tensor"),
        ],
    )
    def test_constructor_errors(self, changes, exc, pattern):
        with pytest.raises(exc, match=pattern):
            WindowAttentionWeights(**self._fields(**changes))


# --------------------------------------------------------------------------- #
# The stages                                                                  #
# --------------------------------------------------------------------------- #
class TestStages:
    B, H, W, heads, C, window, shift = 2, 9, 10, 2, 4, (4, 3), (2, 1)

    def _run(self, **kwargs):
        weights = WindowAttentionWeights.random(self.C, self.heads, self.window, seed=3)
        x = random_input(self.B, self.H, self.W, self.C, seed=5)
        out, stages = shifted_window_attention(x, weights, self.heads, self.window, self.shift, pad=True, return_stages=True, **kwargs)
        return x, weights, out, stages

    def test_names_in_the_order_computed(self):
        *_, stages = self._run()
        assert stages.names() == ("padded", "shifted", "windows", "bias", "scores", "mask", "weights", "attended", "reversed", "unshifted", "cropped")
        *_, stages = self._run(order="roll-then-pad")
        assert stages.names() == ("shifted", "padded", "windows", "bias", "scores", "mask", "weights", "attended", "reversed", "cropped", "unshifted")

    def test_shapes_and_layout(self):
        x, weights, out, stages = self._run()
        assert isinstance(stages, BlockStages)
        assert (stages.window, stages.shift, stages.padded_size, stages.order) == ((4, 3), (2, 1), (12, 12), "pad-then-roll")
        nW, N = (12 // 4) * (12 // 3), 4 * 3  # the padded 12 x 12 map holds 12 windows of 12 tokens
        expected = {
            "padded": (2, 12, 12, 4),
            "shifted": (2, 12, 12, 4),
            "windows": (2 * nW, N, 4),
            "bias": (2, N, N),
            "scores": (2 * nW, 2, N, N),
            "mask": (nW, N, N),
            "weights": (2 * nW, 2, N, N),
            "attended": (2 * nW, N, 4),
            "reversed": (2, 12, 12, 4),
            "unshifted": (2, 12, 12, 4),
            "cropped": (2, 9, 10, 4),
        }
        assert {name: tuple(stages[name].shape) for name in stages.names()} == expected
        assert stages.output is stages["cropped"] and torch.equal(out, stages["cropped"])

    def test_each_stage_follows_from_the_last(self):
        x, weights, out, stages = self._run()
        padded = stages["padded"]
        assert torch.equal(padded[:, :9, :10], x)
        assert not padded[:, 9:].any() and not padded[:, :, 10:].any()  # zero tokens, bottom and right
        assert torch.equal(stages["shifted"], cyclic_shift(padded, (2, 1)))
        assert torch.equal(stages["windows"], window_partition(stages["shifted"], (4, 3)).view(-1, 12, 4))
        assert torch.equal(stages["bias"], weights.relative_position_bias())
        assert torch.equal(stages["mask"], attention_mask(9, 10, (4, 3), (2, 1), pad=True).double())
        weights_ = stages["weights"]
        assert torch.allclose(weights_.sum(-1), torch.ones(()).double())
        expected = torch.softmax(stages["scores"].view(2, 12, 2, 12, 12) + stages["mask"].unsqueeze(1), dim=-1).view(-1, 2, 12, 12)
        assert torch.allclose(weights_, expected, atol=1e-15)
        assert torch.allclose(stages["attended"], official_window_attention(stages["windows"], weights, 2, stages["mask"]), atol=1e-13)
        assert torch.equal(stages["unshifted"], torch.roll(stages["reversed"], (2, 1), dims=(1, 2)))

    def test_without_the_mask(self):
        *_, stages = self._run(use_mask=False)
        assert stages["mask"] is None
        assert torch.equal(stages["weights"], torch.softmax(stages["scores"], -1))

    def test_roll_then_pad_stages(self):
        x, weights, out, stages = self._run(order="roll-then-pad")
        assert torch.equal(stages["shifted"], torch.roll(x, (-2, -1), dims=(1, 2)))
        assert tuple(stages["padded"].shape) == (2, 12, 12, 4)
        assert torch.equal(stages["unshifted"], out)


# --------------------------------------------------------------------------- #
# Block against the oracle                                                    #
# --------------------------------------------------------------------------- #
class TestAgainstOracle:
    @pytest.mark.parametrize(
        "B, H, W, heads, head_dim, window, shift, pad, clamp",
        [
            (1, 9, 9, 1, 2, 3, 1, False, None),  # the walkthrough example
            (2, 8, 8, 2, 2, 4, 2, False, None),
            (2, 6, 9, 3, 1, (2, 3), (1, 2), False, None),  # rectangular window and shift
            (1, 9, 10, 2, 2, (4, 3), (2, 1), True, None),  # padded
            (2, 5, 5, 1, 3, 7, 3, True, None),  # window larger than the map, kept (pad up)
            (1, 5, 5, 2, 1, 7, 3, False, "official"),  # ... or clamped
            (1, 4, 12, 2, 2, 6, 3, True, "timm"),
            (1, 4, 12, 2, 2, 6, 3, True, "torchvision"),
            (1, 3, 10, 1, 2, (4, 5), (2, 2), True, "timm"),
            (2, 1, 1, 1, 1, 1, 0, False, None),
            (1, 6, 6, 2, 2, 3, 0, False, None),  # plain W-MSA
        ],
    )
    def test_cases(self, B, H, W, heads, head_dim, window, shift, pad, clamp):
        fast, slow = run_both(B, H, W, heads, head_dim, window, shift, pad, clamp)
        assert fast.shape == slow.shape == (B, H, W, heads * head_dim)
        assert torch.allclose(fast, slow, rtol=0, atol=1e-12)

    @PROPERTY
    @given(data=st.data())
    def test_property_block_equals_oracle(self, data):
        window, shift = draw_window_and_shift(data, 4)
        H, W = data.draw(st.integers(1, 9), "H"), data.draw(st.integers(1, 9), "W")
        clamp = data.draw(st.sampled_from([None, None, "timm", "torchvision"]), "clamp")
        divides = H % window[0] == 0 and W % window[1] == 0
        pad = True if clamp or not divides else data.draw(st.booleans(), "pad")
        B, heads, head_dim = data.draw(st.integers(1, 2), "B"), data.draw(st.integers(1, 3), "heads"), data.draw(st.integers(1, 2), "d")
        fast, slow = run_both(B, H, W, heads, head_dim, window, shift, pad, clamp, seed=data.draw(st.integers(0, 99), "seed"))
        assert torch.allclose(fast, slow, rtol=0, atol=1e-12)

    def test_the_oracle_notices_a_missing_mask(self):
        # the comparison can fail: without the mask the block differs exactly at the seam windows' tokens
        weights = WindowAttentionWeights.random(4, 2, 3, seed=0)
        x = random_input(1, 9, 9, 4, seed=1)
        unmasked = shifted_window_attention(x, weights, 2, 3, 1, use_mask=False)
        differs = (unmasked - oracle_window_attention(x, weights, 2, 3, 1)).abs().amax(-1)[0] > 1e-9
        # the last shifted window row holds original rows 7, 8 and (wrapped) 0; likewise columns
        seam = torch.zeros(9, 9, dtype=torch.bool)
        seam[[0, 7, 8], :] = True
        seam[:, [0, 7, 8]] = True
        assert torch.equal(differs, seam)


# --------------------------------------------------------------------------- #
# Block against transformers' SwinLayer                                       #
# --------------------------------------------------------------------------- #
def transformers_layer(C, heads, H, W, window, shift, weights, attention_window=None):
    """A ``SwinLayer`` whose forward is ``x + attention(x)``: no layernorm before, MLP output zeroed.

    ``attention_window`` rebuilds the attention for a clamped window, as the official
    ``SwinTransformerBlock.__init__`` builds ``WindowAttention`` after clamping
    (transformers keeps the configured window's bias table and fails instead).
    """
    config = SwinConfig(
        embed_dim=C, depths=[1], num_heads=[heads], window_size=window, qkv_bias=True,
        hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0, drop_path_rate=0.0,
    )
    config._attn_implementation = "eager"
    layer = modeling_swin.SwinLayer(config, dim=C, input_resolution=(H, W), num_heads=heads, shift_size=shift)
    if attention_window is not None:
        layer.attention = modeling_swin.SwinAttention(config, C, heads, attention_window)
    layer.layernorm_before = torch.nn.Identity()
    attention = layer.attention
    q, k, v = weights.qkv_weight.split(C)
    q_bias, k_bias, v_bias = weights.qkv_bias.split(C)
    if hasattr(attention, "q_proj"):  # transformers 5
        linears = (attention.q_proj, attention.k_proj, attention.v_proj, attention.o_proj)
        table = attention.relative_position_bias.relative_position_bias_table
    else:  # transformers 4
        linears = (attention.self.query, attention.self.key, attention.self.value, attention.output.dense)
        table = attention.self.relative_position_bias_table
    with torch.no_grad():
        for linear, weight, bias in zip(linears, (q, k, v, weights.proj_weight), (q_bias, k_bias, v_bias, weights.proj_bias), strict=True):
            linear.weight.copy_(weight)
            linear.bias.copy_(bias)
        table.copy_(weights.relative_position_bias_table)
        layer.mlp.fc2.weight.zero_()
        layer.mlp.fc2.bias.zero_()
    return layer.eval()


def transformers_attention(layer, x, always_partition=False):
    B, H, W, C = x.shape
    with torch.no_grad():
        out = layer(x.reshape(B, H * W, C), (H, W), always_partition=always_partition)[0]
    return (out - x.reshape(B, H * W, C)).view(B, H, W, C)


class TestAgainstTransformers:
    @pytest.mark.parametrize(
        "H, W, M, s, clamp, attention_window",
        [
            # sizes that divide
            (8, 8, 4, 2, None, None),
            (14, 14, 7, 3, None, None),
            (12, 8, 4, 2, None, None),
            (6, 6, 3, 0, None, None),
            # padded sizes
            (9, 9, 4, 2, None, None),
            (10, 13, 7, 3, None, None),
            (5, 9, 4, 1, None, None),
            # clamped: the map is the window's size, the shift is dropped
            (7, 7, 7, 3, "transformers", None),
            (7, 10, 7, 3, "transformers", None),
            # clamped: the window shrinks to the map (attention rebuilt for it)
            (5, 5, 7, 3, "transformers", 5),
            (4, 9, 7, 3, "transformers", 4),
            (3, 6, 4, 2, "transformers", 3),
        ],
    )
    def test_same_output(self, H, W, M, s, clamp, attention_window):
        C, heads = 6, 2
        window = attention_window or M
        weights = WindowAttentionWeights.random(C, heads, window, seed=H * 100 + W, dtype=torch.float32)
        x = random_input(2, H, W, C, seed=7, dtype=torch.float32)
        layer = transformers_layer(C, heads, H, W, M, s, weights, attention_window)
        theirs = transformers_attention(layer, x)
        ours = shifted_window_attention(x, weights, heads, M, s, pad=True, clamp=clamp)
        assert torch.allclose(ours, theirs, rtol=0, atol=1e-5), (ours - theirs).abs().max()
        if clamp is not None:
            assert (layer.window_size, layer.shift_size) == tuple(v[0] for v in clamp_layout(H, W, M, s, clamp))

    @pytest.mark.parametrize("H, W", [(5, 5), (7, 7), (6, 9)])
    def test_always_partition_is_no_clamp(self, H, W):
        # always_partition=True keeps window 7 and shift 3 and pads the small map up to the window
        C, heads = 4, 2
        weights = WindowAttentionWeights.random(C, heads, 7, seed=1, dtype=torch.float32)
        x = random_input(1, H, W, C, seed=2, dtype=torch.float32)
        theirs = transformers_attention(transformers_layer(C, heads, H, W, 7, 3, weights), x, always_partition=True)
        ours = shifted_window_attention(x, weights, heads, 7, 3, pad=True)
        assert torch.allclose(ours, theirs, rtol=0, atol=1e-5)

    @pytest.mark.parametrize("H, W, M, s", [(9, 9, 4, 2), (10, 13, 7, 3), (5, 9, 4, 1), (8, 8, 4, 2)])
    def test_same_mask(self, H, W, M, s):
        layer = modeling_swin.SwinLayer(SwinConfig(window_size=M, embed_dim=4, depths=[1], num_heads=[1]), dim=4, input_resolution=(H, W), num_heads=1, shift_size=s)
        Hp, Wp = padded_size(H, W, M)
        assert torch.equal(layer.get_attn_mask(Hp, Wp, torch.float32, torch.device("cpu")), attention_mask(H, W, M, s, pad=True))

    def test_same_relative_position_index(self):
        bias = modeling_swin.SwinAttention(SwinConfig(window_size=5, embed_dim=4, depths=[1], num_heads=[1]), 4, 1, 5)
        index = bias.relative_position_bias.relative_position_index if hasattr(bias, "relative_position_bias") else bias.self.relative_position_index
        assert torch.equal(index.view(25, 25), relative_position_index(5))

    def test_clamp_rule_is_set_shift_and_window_size(self):
        for M in (4, 7):
            config = SwinConfig(window_size=M, embed_dim=4, depths=[1], num_heads=[1])
            for H in range(1, 10):
                for W in range(1, 10):
                    layer = modeling_swin.SwinLayer(config, dim=4, input_resolution=(H, W), num_heads=1, shift_size=M // 2)
                    layer.set_shift_and_window_size((H, W))
                    (window, _), (shift, _) = clamp_layout(H, W, M, M // 2, "transformers")
                    assert (int(layer.window_size), int(layer.shift_size)) == (window, shift), (H, W, M)


# --------------------------------------------------------------------------- #
# Clamping: where the libraries' rules disagree                               #
# --------------------------------------------------------------------------- #
class TestClampInTheBlock:
    def test_size_equal_to_the_window_le_versus_lt(self):
        """At H = W = M the <= rules drop the shift; a block that never clamps (a < rule) keeps it."""
        weights = WindowAttentionWeights.random(4, 2, 4, seed=0)
        x = random_input(1, 4, 4, 4, seed=1)
        for rule in ("official", "transformers", "timm", "torchvision"):
            assert clamp_layout(4, 4, 4, 2, rule) == ((4, 4), (0, 0))
        dropped = shifted_window_attention(x, weights, 2, 4, 2, clamp="official")
        assert torch.allclose(dropped, shifted_window_attention(x, weights, 2, 4, 0), atol=0)
        kept = shifted_window_attention(x, weights, 2, 4, 2)  # clamp=None: the shift stays
        assert not torch.allclose(kept, dropped, atol=1e-3)
        # with the shift kept, the one window is cut by the seams: neighbours in the image are masked apart
        allowed = attention_mask(4, 4, 4, 2) == 0
        assert int(allowed.sum()) == 4 * 4 * 4  # 16 tokens in 4 regions of 4: each attends to 4, not 16
        assert torch.allclose(kept, oracle_window_attention(x, weights, 2, 4, 2), atol=1e-12)

    def test_min_of_both_versus_per_dimension(self):
        # 4 x 12 map, window 6, shift 3: official shrinks to 4 x 4 with no shift; timm keeps a column shift
        x = random_input(1, 4, 12, 4, seed=2)
        official = shifted_window_attention(x, WindowAttentionWeights.random(4, 1, 4, seed=3), 1, 6, 3, clamp="official")
        timm = shifted_window_attention(x, WindowAttentionWeights.random(4, 1, (4, 6), seed=3), 1, 6, 3, clamp="timm")
        torchvision = shifted_window_attention(x, WindowAttentionWeights.random(4, 1, 6, seed=3), 1, 6, 3, clamp="torchvision", pad=True)
        assert official.shape == timm.shape == torchvision.shape == (1, 4, 12, 4)
        assert not torch.allclose(official, timm, atol=1e-3) and not torch.allclose(timm, torchvision, atol=1e-3)

    def test_weights_must_match_the_clamped_window(self):
        x = random_input(1, 5, 5, 4)
        message = "weights are for a 7x7 window but the block uses 5x5 (clamp='official' turned window=(7, 7) into (5, 5) for a 5x5 map)"
        with pytest.raises(ValueError, match="^" + re.escape(message)):
            shifted_window_attention(x, WindowAttentionWeights.random(4, 2, 7), 2, 7, 3, clamp="official")


# --------------------------------------------------------------------------- #
# Pad orders: roll-then-pad (timm 1.x) against pad-then-roll                  #
# --------------------------------------------------------------------------- #
class TestPadOrders:
    def test_orders(self):
        assert PAD_ORDERS == ("pad-then-roll", "roll-then-pad")

    def test_a_leak_by_hand(self):
        # H = 4, W = 1, window (3, 1), shift (2, 0). roll-then-pad: rows [2, 3, 0, 1, pad, pad],
        # windows {2, 3, 0} and {1, pad, pad}; the padded layout's labels are 0 for rows 0-2 of the
        # rolled map, so row 0 (which wrapped) attends to rows 2 and 3 and they to it: 4 leaks.
        assert count_wrong_pairs(4, 1, (3, 1), (2, 0), order="roll-then-pad") == WrongPairs(leaked=4, blocked=0)
        assert count_wrong_pairs(4, 1, (3, 1), (2, 0), order="pad-then-roll") == WrongPairs(0, 0)
        relation = pair_relation(4, 1, (3, 1), (2, 0), order="roll-then-pad")
        group = {0, 2, 3}
        assert as_pairs(relation.together) == {(p, q) for p in group for q in group} | {(1, 1)}
        assert as_pairs(relation.allowed) == as_pairs(relation.together)
        assert as_pairs(relation.genuine) == {(p, q) for p in (2, 3) for q in (2, 3)} | {(0, 0), (1, 1)}

    def test_a_block_by_hand(self):
        # H = 3, W = 1, window (4, 1), shift (3, 0): the roll of 3 rows is a full turn, nothing wraps,
        # yet the padded layout puts rows 1, 2 (and the pad) in the last-3-rows band: row 0 is cut off.
        assert count_wrong_pairs(3, 1, (4, 1), (3, 0), order="roll-then-pad") == WrongPairs(leaked=0, blocked=4)
        assert count_wrong_pairs(3, 1, (4, 1), (3, 0)).total == 0

    @pytest.mark.parametrize("H, W, window, shift", [(9, 9, 4, 2), (5, 5, 7, 3), (10, 13, 7, 3), (7, 5, (3, 2), (1, 1)), (8, 8, 4, 2)])
    def test_counts_match_brute_force(self, H, W, window, shift):
        for order in PAD_ORDERS:
            together, allowed, genuine = brute_force_pairs(H, W, window, shift, order)
            relation = pair_relation(H, W, window, shift, order=order)
            assert (as_pairs(relation.together), as_pairs(relation.allowed), as_pairs(relation.genuine)) == (together, allowed, genuine)
            assert count_wrong_pairs(H, W, window, shift, order=order) == (len(allowed - genuine), len(genuine - allowed))

    def test_the_9x9_window_4_shift_2_counts(self):
        # by hand, one dimension: roll-then-pad rows [2 3 4 5 | 6 7 8 0 | 1 p p p]; the padded layout's labels
        # are 0 on the first 8 rows, so the groups are {2,3,4,5}, {6,7,8,0} (0 wrapped), {1}. Pairs sharing a
        # window: 4^2 + 4^2 + 1 = 33 per dimension, 33^2 = 1089 in 2-D, all allowed by the mask; on the same
        # side of the seam: 16 + (3^2 + 1^2) + 1 = 27, 27^2 = 729. Leaked: 1089 - 729 = 360.
        assert count_wrong_pairs(9, 9, 4, 2, order="roll-then-pad") == WrongPairs(leaked=360, blocked=0)
        assert count_wrong_pairs(9, 9, 4, 2, order="pad-then-roll") == WrongPairs(0, 0)

    @PROPERTY
    @given(data=st.data())
    def test_property_pad_then_roll_is_never_wrong(self, data):
        window = (data.draw(st.integers(1, 5)), data.draw(st.integers(1, 5)))
        shift = (data.draw(st.integers(0, window[0] - 1)), data.draw(st.integers(0, window[1] - 1)))
        H, W = data.draw(st.integers(1, 11)), data.draw(st.integers(1, 11))
        assert count_wrong_pairs(H, W, window, shift) == WrongPairs(0, 0)
        rolled_first = count_wrong_pairs(H, W, window, shift, order="roll-then-pad")
        if H % window[0] == 0 and W % window[1] == 0:
            assert rolled_first == WrongPairs(0, 0)
        together, allowed, genuine = brute_force_pairs(H, W, window, shift, "roll-then-pad")
        assert rolled_first == (len(allowed - genuine), len(genuine - allowed))
        assert torch.equal(seam_neighbours(H, W, window, shift, pad=True), attention_mask(H, W, window, shift, pad=True) == 0)

    @pytest.mark.parametrize(
        "H, W, window, shift",
        [
            (9, 9, 4, 2),
            (5, 5, 7, 3),
            (7, 5, (3, 2), (2, 1)),  # rows misalign (7 - 2 is not a multiple of 3), columns do not
            (8, 8, 4, 2),
            (6, 8, (3, 2), (2, 1)),
            (6, 7, (3, 2), (2, 1)),  # padded, yet harmless: 7 - 1 is a multiple of 2, the seam falls between windows
        ],
    )
    def test_roll_then_pad_block_is_timms_code(self, H, W, window, shift):
        weights = WindowAttentionWeights.random(4, 2, window, seed=0)
        x = random_input(2, H, W, 4, seed=1)
        ours = shifted_window_attention(x, weights, 2, window, shift, pad=True, order="roll-then-pad")
        assert torch.allclose(ours, timm_attn(x, weights, 2, as_pair(window, "window"), as_pair(shift, "shift")), atol=1e-13)
        correct = oracle_window_attention(x, weights, 2, window, shift, pad=True)
        window_hw = as_pair(window, "window")
        wrong = count_wrong_pairs(H, W, window, shift, order="roll-then-pad")
        # in these cases roll-then-pad goes wrong exactly when it lets a wrong pair attend (or blocks one)
        assert torch.allclose(ours, correct, atol=1e-12) == (wrong == (0, 0))
        if H % window_hw[0] == 0 and W % window_hw[1] == 0:  # no padding: the two orders are one
            assert wrong == (0, 0)


# --------------------------------------------------------------------------- #
# Leaked attention                                                            #
# --------------------------------------------------------------------------- #
class TestLeakedAttention:
    def _brute_force_leak(self, weights_stage, H, W, M, s):
        """Per query, by loops over rolled coordinates: weight on keys of its window across a seam."""
        leak = torch.zeros(weights_stage.shape[1], H, W, dtype=weights_stage.dtype)
        n_cols = W // M
        for r in range(H):
            for c in range(W):
                rho, gamma = (r - s) % H, (c - s) % W
                k, i = (rho // M) * n_cols + gamma // M, (rho % M) * M + gamma % M
                for j in range(M * M):
                    r2 = ((rho // M) * M + j // M + s) % H  # original row of key j
                    c2 = ((gamma // M) * M + j % M + s) % W
                    if (r < s) != (r2 < s) or (c < s) != (c2 < s):
                        leak[:, r, c] += weights_stage[k, :, i, j]
        return leak

    def test_without_mask_by_brute_force(self):
        weights = WindowAttentionWeights.random(4, 2, 3, seed=0)
        x = random_input(1, 9, 9, 4, seed=1)
        leak = leaked_attention(x, weights, 2, 3, 1)
        assert leak.shape == (1, 2, 9, 9)
        _, stages = shifted_window_attention(x, weights, 2, 3, 1, use_mask=False, return_stages=True)
        assert torch.allclose(leak[0], self._brute_force_leak(stages["weights"], 9, 9, 3, 1), atol=1e-15)
        # windows without a seam (original rows and columns 1..5) leak nothing; seam windows leak
        assert not leak[0, :, 1:6, 1:6].any()
        assert (leak[0, :, 0] > 0.01).all() and (leak[0, :, :, 8] > 0.01).all()

    def test_the_mask_stops_it(self):
        weights = WindowAttentionWeights.random(4, 2, 3, seed=0)
        x = random_input(1, 9, 9, 4, seed=1)
        with_100 = leaked_attention(x, weights, 2, 3, 1, use_mask=True)
        assert 0 < float(with_100[0, :, 0].min()) and float(with_100.max()) < 1e-40  # e^-100 per pair, not zero
        assert not leaked_attention(x, weights, 2, 3, 1, use_mask=True, fill=float("-inf")).any()
        assert not leaked_attention(x, weights, 2, 3, 0).any()  # no shift, no seam

    def test_padded(self):
        weights = WindowAttentionWeights.random(4, 1, 4, seed=0)
        x = random_input(1, 9, 9, 4, seed=1)
        leak = leaked_attention(x, weights, 1, 4, 2, pad=True)
        assert leak.shape == (1, 1, 9, 9) and float(leak.max()) > 0.01
        assert not leaked_attention(x, weights, 1, 4, 2, pad=True, use_mask=True, fill=float("-inf")).any()


# --------------------------------------------------------------------------- #
# Errors                                                                      #
# --------------------------------------------------------------------------- #
class TestErrors:
    weights = WindowAttentionWeights.random(4, 2, 3, seed=0)
    x = torch.zeros(1, 9, 9, 4, dtype=torch.float64)

    @pytest.mark.parametrize(
        "change, exc, pattern",
        [
            ({"x": [[0.0]]}, TypeError, r"^x must be a torch.Tensor of shape \[B, H, W, C\], got list$"),
            ({"x": torch.zeros(9, 9, 4)}, ValueError, r"^x must have shape \[B, H, W, C\], got 3 dimensions \(9, 9, 4\)$"),
            ({"x": torch.zeros(1, 9, 9, 4, dtype=torch.long)}, TypeError, r"^x must be a floating-point tensor, got dtype torch.int64$"),
            ({"x": torch.zeros(1, 9, 9, 4)}, TypeError, r"^weights have dtype torch.float64 but x has dtype torch.float32: use one dtype for both$"),
            ({"x": torch.zeros(1, 9, 9, 6, dtype=torch.float64)}, ValueError, r"^weights are for C=4 channels but x has C=6 \(x.shape\[-1\]\)$"),
            ({"x": torch.zeros(1, 9, 9, 5, dtype=torch.float64)}, ValueError, r"^C=5 \(x.shape\[-1\]\) is not divisible by num_heads=2"),
            ({"weights": {"qkv_weight": None}}, TypeError, r"^weights must be a WindowAttentionWeights, got dict$"),
            ({"num_heads": 0}, ValueError, r"^num_heads must be a positive int, got 0$"),
            ({"num_heads": "2"}, TypeError, r"^num_heads must be an int, got str"),
            ({"num_heads": 4}, ValueError, r"^weights have 2 heads \(relative_position_bias_table.shape\[1\]\) but num_heads=4$"),
            ({"window": 4}, ValueError, r"^window_h=4 does not divide height=9: .*or pass pad=True to pad it with zeros at the bottom/right to 12x12$"),
            ({"shift": 3}, ValueError, re.escape("shift_h=3 is outside [0, window_h=3)")),
            ({"window": 3.0}, TypeError, r"^window must be an int, got float 3\.0$"),
            ({"pad": "yes"}, TypeError, r"^pad must be True or False, got str 'yes'$"),
            ({"use_mask": 1}, TypeError, r"^use_mask must be True or False, got int 1$"),
            ({"return_stages": None}, TypeError, r"^return_stages must be True or False, got NoneType None$"),
            ({"clamp": "pytorch"}, ValueError, r"^rule must be one of \['official', 'timm', 'torchvision', 'transformers', 'transformers-swinv2'\] \(the libraries' clamping rules\), got 'pytorch'$"),
            ({"clamp": True}, TypeError, r"^rule must be one of .*got bool True$"),
            ({"fill": 0.0}, ValueError, r"^fill must be negative"),
            ({"fill": "-100"}, TypeError, r"^fill must be a real number"),
            ({"order": "roll-first"}, ValueError, r"^order must be one of \('pad-then-roll', 'roll-then-pad'\) \(pad before or after the cyclic shift\), got 'roll-first'$"),
            ({"order": 1}, TypeError, r"^order must be one of"),
            ({"weights": WindowAttentionWeights.random(4, 2, 4)}, ValueError, r"^weights are for a 4x4 window but the block uses 3x3: the relative position bias table must match"),
        ],
    )
    def test_block_errors(self, change, exc, pattern):
        arguments = {"x": self.x, "weights": self.weights, "num_heads": 2, "window": 3, "shift": 1}
        arguments.update(change)
        keywords = {name: arguments.pop(name) for name in ("pad", "use_mask", "return_stages", "clamp", "fill", "order") if name in arguments}
        with pytest.raises(exc, match=pattern):
            shifted_window_attention(*arguments.values(), **keywords)

    def test_the_oracle_checks_the_same_arguments(self):
        with pytest.raises(ValueError, match=r"^window_h=4 does not divide height=9"):
            oracle_window_attention(self.x, self.weights, 2, 4, 1)
        with pytest.raises(TypeError, match=r"^weights must be a WindowAttentionWeights"):
            oracle_window_attention(self.x, None, 2, 3, 1)

    @pytest.mark.parametrize(
        "call, exc, pattern",
        [
            (lambda: count_wrong_pairs(9, 9, 4, 2, order="pad-first"), ValueError, r"^order must be one of"),
            (lambda: pair_relation(9, 9, 4, 4), ValueError, re.escape("shift_h=4 is outside [0, window_h=4)")),
            (lambda: seam_neighbours(9, 9, 4, 2), ValueError, r"or pass pad=True"),
            (lambda: count_wrong_pairs(0, 9, 4, 2), ValueError, r"^height must be a positive int, got 0$"),
        ],
    )
    def test_relation_errors(self, call, exc, pattern):
        with pytest.raises(exc, match=pattern):
            call()
