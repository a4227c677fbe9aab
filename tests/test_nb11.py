"""Notebook 11: the relative position index and bias, stage by stage (:mod:`swin_viz.relative_position`).

Independent sources of truth:

* the official ``WindowAttention.__init__`` (microsoft/Swin-Transformer), ported verbatim in ``test_block.py``;
* ``transformers``, run here: ``SwinRelativePositionBias`` (Swin: its ``relative_position_index`` buffer and the bias
  it reads) and ``Swinv2SelfAttention`` (its index, and its ``relative_coords_table`` of log-scaled offsets);
* torchvision's ``ShiftedWindowAttention.define_relative_position_index`` and
  ``ShiftedWindowAttentionV2.define_relative_position_bias_table``, ported verbatim below (torchvision does not
  import beside torch 2.13 here);
* mmdetection's ``WindowMSA`` construction with ``double_step_seq``, ported verbatim below;
* brute-force loops over token pairs (the offsets, the rows they read, the rows two offsets share).
"""

from __future__ import annotations

import math
import re

import pytest
import torch
from test_block import official_relative_position_index
from transformers import Swinv2Config
from transformers.models.swin import modeling_swin
from transformers.models.swinv2 import modeling_swinv2

import swin_viz
from swin_viz import figures, tensors, widgets
from swin_viz.relative_position import (
    flatten_coords,
    flatten_relative_coords,
    offset_rows,
    relative_coords,
    relative_coords_table,
    relative_position_bias,
    relative_position_index,
    shared_table_rows,
    shift_relative_coords,
    window_coords,
)
from swin_viz.weights import WindowAttentionWeights

WINDOWS = [1, 2, 3, 7, (2, 3), (3, 2), (4, 1), (1, 5), (2, 7)]


def _hw(window):
    return (window, window) if isinstance(window, int) else window


# --------------------------------------------------------------------------- #
# Verbatim ports                                                              #
# --------------------------------------------------------------------------- #
class TorchvisionShiftedWindowAttention:
    """pytorch/vision, torchvision/models/swin_transformer.py at commit b3054b4d1879858c7ab1225d253780bb911a6c95:
    ``ShiftedWindowAttention.define_relative_position_index``, ``_get_relative_position_bias`` and
    ``ShiftedWindowAttentionV2.define_relative_position_bias_table``, verbatim (``register_buffer`` stores an
    attribute here, and the module is not an ``nn.Module``)."""

    def __init__(self, window_size, num_heads=1):
        self.window_size = list(window_size)
        self.num_heads = num_heads

    def register_buffer(self, name, tensor):
        setattr(self, name, tensor)

    def define_relative_position_index(self):
        # get pair-wise relative position index for each token inside the window
        coords_h = torch.arange(self.window_size[0])
        coords_w = torch.arange(self.window_size[1])
        coords = torch.stack(torch.meshgrid(coords_h, coords_w, indexing="ij"))  # 2, Wh, Ww
        coords_flatten = torch.flatten(coords, 1)  # 2, Wh*Ww
        relative_coords = coords_flatten[:, :, None] - coords_flatten[:, None, :]  # 2, Wh*Ww, Wh*Ww
        relative_coords = relative_coords.permute(1, 2, 0).contiguous()  # Wh*Ww, Wh*Ww, 2
        relative_coords[:, :, 0] += self.window_size[0] - 1  # shift to start from 0
        relative_coords[:, :, 1] += self.window_size[1] - 1
        relative_coords[:, :, 0] *= 2 * self.window_size[1] - 1
        relative_position_index = relative_coords.sum(-1).flatten()  # Wh*Ww*Wh*Ww
        self.register_buffer("relative_position_index", relative_position_index)

    def define_relative_position_bias_table_v2(self):  # ShiftedWindowAttentionV2.define_relative_position_bias_table
        # get relative_coords_table
        relative_coords_h = torch.arange(-(self.window_size[0] - 1), self.window_size[0], dtype=torch.float32)
        relative_coords_w = torch.arange(-(self.window_size[1] - 1), self.window_size[1], dtype=torch.float32)
        relative_coords_table = torch.stack(torch.meshgrid([relative_coords_h, relative_coords_w], indexing="ij"))
        relative_coords_table = relative_coords_table.permute(1, 2, 0).contiguous().unsqueeze(0)  # 1, 2*Wh-1, 2*Ww-1, 2

        relative_coords_table[:, :, :, 0] /= self.window_size[0] - 1
        relative_coords_table[:, :, :, 1] /= self.window_size[1] - 1

        relative_coords_table *= 8  # normalize to -8, 8
        relative_coords_table = torch.sign(relative_coords_table) * torch.log2(torch.abs(relative_coords_table) + 1.0) / 3.0
        self.register_buffer("relative_coords_table", relative_coords_table)


def torchvision_get_relative_position_bias(relative_position_bias_table, relative_position_index, window_size):
    """``_get_relative_position_bias`` of the same file and commit, verbatim."""
    N = window_size[0] * window_size[1]
    relative_position_bias = relative_position_bias_table[relative_position_index]  # type: ignore[index]
    relative_position_bias = relative_position_bias.view(N, N, -1)
    relative_position_bias = relative_position_bias.permute(2, 0, 1).contiguous().unsqueeze(0)
    return relative_position_bias


def double_step_seq(step1, len1, step2, len2):
    """open-mmlab/mmdetection, mmdet/models/backbones/swin.py at commit 2a643e474c2f174cc40750e4c9ba1ed33dd13422:
    ``WindowMSA.double_step_seq``, verbatim."""
    seq1 = torch.arange(0, step1 * len1, step1)
    seq2 = torch.arange(0, step2 * len2, step2)
    return (seq1[:, None] + seq2[None, :]).reshape(1, -1)


def mmdet_relative_position_index(window_size):
    """The same file and commit, ``WindowMSA.__init__`` ("About 2x faster than original impl"), verbatim."""
    Wh, Ww = window_size
    rel_index_coords = double_step_seq(2 * Ww - 1, Wh, 1, Ww)
    rel_position_index = rel_index_coords + rel_index_coords.T
    rel_position_index = rel_position_index.flip(1).contiguous()
    return rel_position_index


def transformers_swin_index(window_hw):
    """The ``relative_position_index`` buffer of transformers' Swin attention for an ``Mh x Mw`` window, ``[N, N]``."""
    if hasattr(modeling_swin, "SwinRelativePositionBias"):  # transformers 5
        module = modeling_swin.SwinRelativePositionBias(2, window_hw)
    else:  # transformers 4
        config = modeling_swin.SwinConfig(embed_dim=4, depths=[1], num_heads=[2])
        module = modeling_swin.SwinSelfAttention(config, 4, 2, window_hw)
    n = window_hw[0] * window_hw[1]
    return module, module.relative_position_index.view(n, n)


# --------------------------------------------------------------------------- #
# The index agrees with every construction                                    #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize("window", WINDOWS, ids=str)
def test_the_index_is_the_same_in_every_library(window):
    window_hw = _hw(window)
    n = window_hw[0] * window_hw[1]
    ours = relative_position_index(window)
    assert torch.equal(ours, official_relative_position_index(window_hw))
    assert torch.equal(ours, transformers_swin_index(window_hw)[1])
    swinv2 = modeling_swinv2.Swinv2SelfAttention(Swinv2Config(), 4, 2, window_hw)
    assert torch.equal(ours, swinv2.relative_position_index.view(n, n))
    vision = TorchvisionShiftedWindowAttention(window_hw)
    vision.define_relative_position_index()
    assert torch.equal(ours, vision.relative_position_index.view(n, n))
    assert torch.equal(ours, mmdet_relative_position_index(window_hw))
    assert ours is not relative_position_index(window)  # a new tensor each call: a caller may write into it


def test_the_2x2_index_of_issue_281():
    assert relative_position_index(2).tolist() == [[4, 3, 1, 0], [5, 4, 2, 1], [7, 6, 4, 3], [8, 7, 5, 4]]


@pytest.mark.parametrize("window", WINDOWS, ids=str)
def test_each_entry_is_the_row_of_its_offset_by_brute_force(window):
    window_h, window_w = _hw(window)
    index = relative_position_index(window)
    table = relative_coords_table(window)
    for i in range(window_h * window_w):
        yi, xi = divmod(i, window_w)
        for j in range(window_h * window_w):
            yj, xj = divmod(j, window_w)
            row = int(index[i, j])
            assert table[row].tolist() == [yi - yj, xi - xj]
            assert row == (yi - yj + window_h - 1) * (2 * window_w - 1) + (xi - xj + window_w - 1)


def test_the_bias_is_what_transformers_and_torchvision_read():
    for window_hw in [(3, 3), (2, 5)]:
        module, index = transformers_swin_index(window_hw)
        rows = (2 * window_hw[0] - 1) * (2 * window_hw[1] - 1)
        table = torch.randn(rows, 2, generator=torch.Generator().manual_seed(3))
        ours = relative_position_bias(table, relative_position_index(window_hw))
        vision = torchvision_get_relative_position_bias(table, index.reshape(-1), list(window_hw))
        assert torch.equal(ours.unsqueeze(0), vision)
        if hasattr(modeling_swin, "SwinRelativePositionBias"):
            with torch.no_grad():
                module.relative_position_bias_table.copy_(table)
                assert torch.equal(ours.unsqueeze(0), module())
        weights = WindowAttentionWeights(
            qkv_weight=torch.zeros(6, 2),
            qkv_bias=torch.zeros(6),
            proj_weight=torch.zeros(2, 2),
            proj_bias=torch.zeros(2),
            relative_position_bias_table=table,
            window=window_hw,
        )
        assert torch.equal(weights.relative_position_bias(), ours)


# --------------------------------------------------------------------------- #
# Swin V2's table of offsets                                                  #
# --------------------------------------------------------------------------- #
def _undo_log_scaling(table: torch.Tensor, window_hw: tuple[int, int]) -> torch.Tensor:
    """Swin V2's ``sign(t) * log2(|t| + 1) / log2(8)`` of ``t = 8 * offset / (M - 1)``, undone: the offsets."""
    t = torch.sign(table) * (torch.exp2(table.abs().double() * 3.0) - 1.0)
    scale = torch.tensor([window_hw[0] - 1, window_hw[1] - 1], dtype=torch.float64) / 8.0
    return t * scale


@pytest.mark.parametrize("window_hw", [(2, 2), (3, 3), (7, 7), (2, 5), (4, 3)], ids=str)
def test_swinv2_coords_table_lists_the_offsets_in_the_index_order(window_hw):
    """Where V2's normalisation applies (Mh, Mw > 1): row r of ``relative_coords_table`` is the offset our row r
    stands for, in transformers and in torchvision's construction."""
    ours = relative_coords_table(window_hw).double()
    theirs = modeling_swinv2.Swinv2SelfAttention(Swinv2Config(), 4, 2, window_hw).relative_coords_table
    vision = TorchvisionShiftedWindowAttention(window_hw)
    vision.define_relative_position_bias_table_v2()
    for table in (theirs, vision.relative_coords_table):
        assert tuple(table.shape) == (1, 2 * window_hw[0] - 1, 2 * window_hw[1] - 1, 2)
        offsets = _undo_log_scaling(table.reshape(-1, 2), window_hw)
        assert torch.allclose(offsets, ours, atol=1e-4), (offsets - ours).abs().max()


def test_swinv2_coords_table_of_a_window_one_token_wide_holds_nan():
    """It does not apply at ``Mw = 1``: transformers guards only ``window_size[0] > 1`` and divides the column offsets
    by ``Mw - 1 = 0``, so ``0 / 0`` is NaN (torchvision divides both unguarded); the index itself is fine."""
    theirs = modeling_swinv2.Swinv2SelfAttention(Swinv2Config(), 4, 2, (2, 1))
    assert bool(theirs.relative_coords_table[..., 1].isnan().all()) and not bool(
        theirs.relative_coords_table[..., 0].isnan().any()
    )
    assert torch.equal(theirs.relative_position_index, relative_position_index((2, 1)))
    vision = TorchvisionShiftedWindowAttention((2, 1))
    vision.define_relative_position_bias_table_v2()
    assert bool(vision.relative_coords_table[..., 1].isnan().all())


# --------------------------------------------------------------------------- #
# The stages                                                                  #
# --------------------------------------------------------------------------- #
def test_the_stages_have_the_official_shapes_and_values():
    coords = window_coords((2, 3))
    assert coords.shape == (2, 2, 3) and coords.dtype == torch.int64
    assert coords[0].tolist() == [[0, 0, 0], [1, 1, 1]] and coords[1].tolist() == [[0, 1, 2], [0, 1, 2]]
    flat = flatten_coords(coords)
    assert flat.tolist() == [[0, 0, 0, 1, 1, 1], [0, 1, 2, 0, 1, 2]]
    relative = relative_coords(flat)
    assert relative.shape == (2, 6, 6)
    assert relative[:, 5, 0].tolist() == [1, 2] and relative[:, 0, 5].tolist() == [-1, -2]
    shifted = shift_relative_coords(relative, (2, 3))
    assert int(shifted[0].min()) == 0 and int(shifted[0].max()) == 2 and int(shifted[1].min()) == 0 and int(shifted[1].max()) == 4
    assert torch.equal(relative, relative_coords(flat))  # the shift made a new tensor
    assert torch.equal(flatten_relative_coords(shifted, 5), relative_position_index((2, 3)))


def test_the_difference_is_the_masks_unsqueeze_and_subtract_with_the_opposite_sign():
    """Same rows (queries) and columns (keys) as ``label_difference``; key minus query there, query minus key here."""
    flat = flatten_coords(window_coords((3, 2)))
    relative = relative_coords(flat)
    for c in range(2):
        assert torch.equal(relative[c], -tensors.label_difference(flat[c : c + 1])[0])


@pytest.mark.parametrize("window", [2, 3, (2, 3), (3, 2), (1, 4), (4, 1)], ids=str)
def test_2mw_minus_1_is_the_smallest_row_stride_that_keeps_offsets_apart(window):
    """#75: dw takes 2 Mw - 1 values, so every smaller stride sends two offsets to one row, and 2 Mw - 1 does not."""
    window_h, window_w = _hw(window)
    assert shared_table_rows(window, 2 * window_w - 1).shape == (0, 2, 2)
    assert torch.equal(offset_rows(window, 2 * window_w - 1).reshape(-1), torch.arange((2 * window_h - 1) * (2 * window_w - 1)))
    for stride in range(2 * window_w - 1):
        # with one row of tokens dh is always 0: any stride keeps the offsets apart
        assert (len(shared_table_rows(window, stride)) > 0) == (window_h > 1), stride


def _collisions_by_brute_force(window_h: int, window_w: int, stride: int) -> set[tuple[tuple[int, int], tuple[int, int]]]:
    """Pairs of different offsets ``(yi - yj, xi - xj)`` of the window's token pairs that read one row."""
    by_row: dict[int, set[tuple[int, int]]] = {}
    for yi in range(window_h):
        for xi in range(window_w):
            for yj in range(window_h):
                for xj in range(window_w):
                    row = (yi - yj + window_h - 1) * stride + (xi - xj + window_w - 1)
                    by_row.setdefault(row, set()).add((yi - yj, xi - xj))
    pairs = set()
    for offsets in by_row.values():
        ordered = sorted(offsets)
        pairs |= {(a, b) for k, a in enumerate(ordered) for b in ordered[k + 1 :]}
    return pairs


@pytest.mark.parametrize("window", [(2, 2), (3, 3), (7, 7), (2, 5), (4, 3), (3, 1), (1, 3)], ids=str)
def test_issue_367_stride_2mw_minus_2_collisions(window):
    window_h, window_w = window
    stride = 2 * window_w - 2
    shared = shared_table_rows(window, stride)
    as_set = {(tuple(a), tuple(b)) for a, b in shared.tolist()}
    assert len(as_set) == len(shared) and as_set == _collisions_by_brute_force(window_h, window_w, stride)
    if window_w >= 2:
        # (dh, 2Mw-2) and (dh+1, 0) meet, for dh = 0 .. 2Mh-3: 2Mh - 2 pairs, and 2Mh - 2 rows never read
        assert len(shared) == 2 * window_h - 2
        used = torch.unique(offset_rows(window, stride))
        assert (2 * window_h - 1) * (2 * window_w - 1) - len(used) == 2 * window_h - 2
    else:
        assert len(shared) == math.comb(2 * window_h - 1, 2)  # stride 0: every offset on row 0
    rows = offset_rows(window, stride)
    for (a_h, a_w), (b_h, b_w) in as_set:
        assert rows[a_h + window_h - 1, a_w + window_w - 1] == rows[b_h + window_h - 1, b_w + window_w - 1]


def test_a_shared_row_gives_two_offsets_one_bias():
    window = (3, 3)
    table = torch.arange(25.0).view(25, 1)
    shifted = shift_relative_coords(relative_coords(flatten_coords(window_coords(window))), window)
    wrong = relative_position_bias(table, flatten_relative_coords(shifted, 4))[0]
    right = relative_position_bias(table, flatten_relative_coords(shifted, 5))[0]
    # query 5 at (1, 2), key 6 at (2, 0): offset (-1, +2), shifted (1, 4): row 1*4 + 4 = 8 (official: 1*5 + 4 = 9);
    # query 0 at (0, 0), key 2 at (0, 2): offset (0, -2), shifted (2, 0): row 2*4 + 0 = 8 too (official: 10)
    assert (wrong[5, 6], right[5, 6], wrong[0, 2], right[0, 2]) == (8.0, 9.0, 8.0, 10.0)
    offsets_of = relative_coords(flatten_coords(window_coords(window)))
    for a, b in shared_table_rows(window, 4).tolist():
        pair_a = (offsets_of[0] == a[0]) & (offsets_of[1] == a[1])
        pair_b = (offsets_of[0] == b[0]) & (offsets_of[1] == b[1])
        assert len(set(wrong[pair_a].tolist()) | set(wrong[pair_b].tolist())) == 1  # one value for both offsets
        assert set(right[pair_a].tolist()).isdisjoint(right[pair_b].tolist())  # two with the official stride


# --------------------------------------------------------------------------- #
# Errors                                                                      #
# --------------------------------------------------------------------------- #
@pytest.mark.parametrize(
    "call, exc, pattern",
    [
        (lambda: window_coords(0), ValueError, r"^window must be positive in each dimension, got window_h=0$"),
        (lambda: window_coords((2, "3")), TypeError, r"^window\[1\] must be an int, got str"),
        (lambda: flatten_coords(torch.zeros(2, 3)), ValueError, r"^coords must have shape \[2, Mh, Mw\], got 2 dimensions"),
        (
            lambda: flatten_coords(torch.zeros(3, 2, 2, dtype=torch.long)),
            ValueError,
            r"^coords must have shape \[2, Mh, Mw\] \(row offsets",
        ),
        (lambda: flatten_coords(torch.zeros(2, 2, 2)), TypeError, r"^coords must hold integers"),
        (lambda: relative_coords([[0, 1], [0, 1]]), TypeError, r"^coords_flatten must be a torch.Tensor of shape \[2, N\]"),
        (
            lambda: shift_relative_coords(torch.zeros(2, 4, 4, dtype=torch.long), (2, 3)),
            ValueError,
            r"^relative must have shape \[2, N, N\] with N = Mh \* Mw = 6 for window=\(2, 3\), got \(2, 4, 4\)$",
        ),
        (
            lambda: flatten_relative_coords(torch.zeros(2, 4, 4, dtype=torch.long), -1),
            ValueError,
            r"^row_stride must be a non-negative int",
        ),
        (
            lambda: flatten_relative_coords(torch.zeros(2, 4, 4, dtype=torch.long), 2.0),
            TypeError,
            r"^row_stride must be an int, got float",
        ),
        (
            lambda: flatten_relative_coords(-torch.ones(2, 4, 4, dtype=torch.long), 3),
            ValueError,
            r"^shifted must hold offsets shifted to start from 0",
        ),
        (
            lambda: relative_position_bias(torch.zeros(9, 2), torch.zeros(4, 3, dtype=torch.long)),
            ValueError,
            r"^index must have shape \[N, N\], got \(4, 3\)$",
        ),
        (
            lambda: relative_position_bias(torch.zeros(9, 2), torch.full((4, 4), 9)),
            ValueError,
            re.escape(
                "index must hold rows of the table, 0 .. 8 (relative_position_bias_table has 9 rows), got values in [9, 9]"
            ),
        ),
        (
            lambda: relative_position_bias(torch.zeros(9), torch.zeros(4, 4, dtype=torch.long)),
            ValueError,
            r"^relative_position_bias_table must have shape \[\(2Mh-1\)\(2Mw-1\), heads\]",
        ),
        (lambda: relative_position_bias(torch.zeros(9, 2), torch.zeros(4, 4)), TypeError, r"^index must hold integer rows"),
        (lambda: shared_table_rows(3, -2), ValueError, r"^row_stride must be a non-negative int"),
        (lambda: offset_rows((1, 0), 1), ValueError, r"^window must be positive in each dimension, got window_w=0$"),
    ],
)
def test_bad_arguments_are_named(call, exc, pattern):
    with pytest.raises(exc, match=pattern):
        call()


def test_the_budget_refuses_a_huge_window():
    with pytest.raises(ValueError, match=r"^relative_position_index of a 300x300 window would allocate about"):
        relative_position_index(300)


def test_one_name_one_function():
    """``relative_position_index`` is the same function from weights, block and the package."""
    from swin_viz import block, weights

    for home in (swin_viz, block, weights):
        assert home.relative_position_index is relative_position_index
    assert set(swin_viz.relative_position.__all__) <= set(swin_viz.__all__)


# --------------------------------------------------------------------------- #
# Figures and explorer                                                        #
# --------------------------------------------------------------------------- #
def test_the_figures_draw_and_check_their_shapes():
    window = (2, 3)
    weights = WindowAttentionWeights.random(4, 2, window, seed=1)
    index = relative_position_index(window)
    bias = weights.relative_position_bias()
    fig = figures.plot_table_lookup(index, weights.relative_position_bias_table[:, 1], bias[1], window, 4, head=1)
    again = figures.plot_table_lookup(index, weights.relative_position_bias_table[:, 0], bias[0], window, 0, head=0, figure=fig)
    assert again is fig and again.to_png().startswith(b"\x89PNG")
    with pytest.raises(ValueError, match=r"^query must be an int in \[0, 6\), got 6$"):
        figures.plot_table_lookup(index, weights.relative_position_bias_table[:, 1], bias[1], window, 6)
    with pytest.raises(ValueError, match=r"^table must be \[\(2Mh-1\)\(2Mw-1\)\] = \[15\]"):
        figures.plot_table_lookup(index, torch.zeros(14), bias[1], window, 0)
    flat = flatten_coords(window_coords(window))
    with pytest.raises(ValueError, match=r"^relative must be a \[2, N, N\] tensor with N=6"):
        figures.plot_relative_coords(flat, torch.zeros(2, 5, 5))
    with pytest.raises(ValueError, match=r"^rows and row_strides must be as long as each other"):
        figures.plot_row_strides(3, [5, 4], [offset_rows(3, 5)])


def test_the_explorer_follows_its_sliders():
    view = widgets.relative_position_explorer(window=(3, 4), query=11, head=2)
    try:
        assert view.index is not None and view.index.shape == (12, 12)
        assert "query 11 at (y, x) = (2, 3) reads 12 of the table's 35 rows (rows 17..34)" in view.caption.value.replace(
            "&#x27;", "'"
        )
        view.window_w.value = 2  # 3x2: the query slider shrinks to 0..5
        assert (view.query.max, view.query.value) == (5, 5)
        assert view.index.shape == (6, 6) and view.draw_count == 2
        view.window_h.value = 1
        assert (view.query.max, view.query.value) == (1, 1)
        assert "reads 2 of the table's 3 rows" in view.caption.value.replace("&#x27;", "'")
    finally:
        view.close()


def test_the_explorer_redrawn_in_place_is_the_picture_drawn_afresh():
    """Through other windows, queries and heads and back: the retained figure shows what a new explorer shows."""
    view = widgets.relative_position_explorer(window=(3, 4), query=5, head=0)
    fresh = widgets.relative_position_explorer(window=(2, 5), query=7, head=2)
    try:
        for name, value in (("window_h", 7), ("window_w", 2), ("query", 9), ("head", 1), ("window_h", 2), ("window_w", 5)):
            getattr(view, name).value = value
        view.query.value, view.head.value = 7, 2
        assert view.values == fresh.values
        assert view.image.value == fresh.image.value
    finally:
        view.close()
        fresh.close()
