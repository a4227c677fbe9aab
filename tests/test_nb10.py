"""Tests for notebook 10 (masks in the wild): :mod:`swin_viz.ndim`, :mod:`swin_viz.check`, its figure and explorer.

Independent sources of truth:

* verbatim ports of published mask code, each naming its repository, file and commit (below): Video Swin's
  ``compute_mask`` (3D), a 1D Swin's ``compute_mask``, SwinIR's ``calculate_mask`` (the official 2D code, copied)
  and ResShift's ``calculate_mask`` (the bug of ResShift issue #81);
* the geometric oracle (:func:`swin_viz.ndim.seam_neighbours_nd`: coordinates only, no labels) against the
  label construction, with hypothesis over 1D, 2D and 3D layouts, padded and periodic ones included;
* the 2D oracle of :mod:`swin_viz.pairs` (``count_wrong_pairs``) against :func:`check_mask`'s counts.
"""

from __future__ import annotations

from functools import lru_cache, reduce
from operator import mul

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import swin_viz
from swin_viz import allowed_mask, attention_mask, check_mask, fast_attention_mask, region_labels, window_labels
from swin_viz.block import count_wrong_pairs
from swin_viz.ndim import (
    allowed_mask_nd,
    attention_mask_nd,
    fast_region_labels_nd,
    fast_window_labels_nd,
    nd_layout,
    region_labels_nd,
    seam_neighbours_nd,
    window_labels_nd,
    window_partition_nd,
    window_reverse_nd,
)
from swin_viz.tensors import window_partition, window_reverse

PROPERTY = settings(max_examples=25, deadline=None, derandomize=True, database=None)


# --------------------------------------------------------------------------- #
# Port 1: Video Swin Transformer, 3D                                          #
# SwinTransformer/Video-Swin-Transformer, mmaction/models/backbones/          #
# swin_transformer.py at commit db018fb8896251711791386bbd2127562fd8d6a6      #
# (window_partition, lines 38-50; compute_mask, lines 315-329), verbatim.     #
# --------------------------------------------------------------------------- #
def video_swin_window_partition(x, window_size):
    """
    Args:
        x: (B, D, H, W, C)
        window_size (tuple[int]): window size

    Returns:
        windows: (B*num_windows, window_size*window_size, C)
    """
    B, D, H, W, C = x.shape
    x = x.view(B, D // window_size[0], window_size[0], H // window_size[1], window_size[1], W // window_size[2], window_size[2], C)
    windows = x.permute(0, 1, 3, 5, 2, 4, 6, 7).contiguous().view(-1, reduce(mul, window_size), C)
    return windows


# cache each stage results
@lru_cache()
def video_swin_compute_mask(D, H, W, window_size, shift_size, device):
    img_mask = torch.zeros((1, D, H, W, 1), device=device)  # 1 Dp Hp Wp 1
    cnt = 0
    for d in slice(-window_size[0]), slice(-window_size[0], -shift_size[0]), slice(-shift_size[0],None):
        for h in slice(-window_size[1]), slice(-window_size[1], -shift_size[1]), slice(-shift_size[1],None):
            for w in slice(-window_size[2]), slice(-window_size[2], -shift_size[2]), slice(-shift_size[2],None):
                img_mask[:, d, h, w, :] = cnt
                cnt += 1
    mask_windows = video_swin_window_partition(img_mask, window_size)  # nW, ws[0]*ws[1]*ws[2], 1
    mask_windows = mask_windows.squeeze(-1)  # nW, ws[0]*ws[1]*ws[2]
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))
    return attn_mask


# --------------------------------------------------------------------------- #
# Port 2: a 1D Swin Transformer                                               #
# meraks/Swin-Transformer-1D, SwinTransformer.py at commit                    #
# bbf22efaa58ebedf5a99e3d8371a689a0e452f40 (window_partition and              #
# compute_mask), verbatim. Its block pads, then rolls (forward_part1).        #
# --------------------------------------------------------------------------- #
def swin1d_window_partition(x, window_size):
    """
    Args:
        x: (B, L, C)
        window_size (int): window size
    Returns:
        windows: (num_windows*B, window_size, C)
    """
    B, L, C = x.shape
    x = x.view(B, L // window_size, window_size, C)
    windows = x.permute(0, 1, 2, 3).contiguous().view(-1, window_size, C)
    return windows


def swin1d_compute_mask(L, window_size, shift_size, device):
    Lp = int(np.ceil(L / window_size)) * window_size
    img_mask = torch.zeros((1, Lp, 1), device=device)  # 1 Lp 1
    pad_size = int(Lp - L)
    if (pad_size == 0) or (pad_size + shift_size == window_size):
        segs = (slice(-window_size), slice(-window_size, -
                shift_size), slice(-shift_size, None))
    elif pad_size + shift_size > window_size:
        seg1 = int(window_size * 2 - L + shift_size)
        segs = (slice(-seg1), slice(-seg1, -window_size),
                slice(-window_size, -shift_size), slice(-shift_size, None))
    elif pad_size + shift_size < window_size:
        seg1 = int(window_size * 2 - L + shift_size)
        segs = (slice(-window_size), slice(-window_size, -seg1),
                slice(-seg1, -shift_size), slice(-shift_size, None))
    cnt = 0
    for d in segs:
        img_mask[:, d, :] = cnt
        cnt += 1
    mask_windows = swin1d_window_partition(img_mask, window_size)  # nW, ws, 1
    mask_windows = mask_windows.squeeze(-1)  # nW, ws
    attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    attn_mask = attn_mask.masked_fill(
        attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))
    return attn_mask


# --------------------------------------------------------------------------- #
# Port 3: SwinIR (the official microsoft/Swin-Transformer mask, copied)       #
# JingyunLiang/SwinIR, models/network_swinir.py at commit                     #
# 6545850fbf8df298df73d81f3e8cba638787c8bd (window_partition;                 #
# SwinTransformerBlock.calculate_mask), verbatim as methods of a holder.      #
# --------------------------------------------------------------------------- #
def swinir_window_partition(x, window_size):
    """
    Args:
        x: (B, H, W, C)
        window_size (int): window size

    Returns:
        windows: (num_windows*B, window_size, window_size, C)
    """
    B, H, W, C = x.shape
    x = x.view(B, H // window_size, window_size, W // window_size, window_size, C)
    windows = x.permute(0, 1, 3, 2, 4, 5).contiguous().view(-1, window_size, window_size, C)
    return windows


class SwinIRBlock:
    def __init__(self, window_size, shift_size):
        self.window_size, self.shift_size = window_size, shift_size

    def calculate_mask(self, x_size):
        # calculate attention mask for SW-MSA
        H, W = x_size
        img_mask = torch.zeros((1, H, W, 1))  # 1 H W 1
        h_slices = (slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None))
        w_slices = (slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None))
        cnt = 0
        for h in h_slices:
            for w in w_slices:
                img_mask[:, h, w, :] = cnt
                cnt += 1

        mask_windows = swinir_window_partition(img_mask, self.window_size)  # nW, window_size, window_size, 1
        mask_windows = mask_windows.view(-1, self.window_size * self.window_size)
        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))

        return attn_mask


# --------------------------------------------------------------------------- #
# Port 4: ResShift, channels-first (the bug of zsyOAOA/ResShift issue #81)    #
# zsyOAOA/ResShift, models/swin_transformer.py at commit                      #
# 3ce1d81e8402fd50083809ae288a3977f6921bdd (window_partition;                 #
# SwinTransformerBlock.calculate_mask), verbatim as methods of a holder.      #
# --------------------------------------------------------------------------- #
def resshift_window_partition(x, window_size):
    """
    Args:
        x: (B, C, H, W)
        window_size (int): window size

    Returns:
        windows: (num_windows*B, window_size, window_size, C)
    """
    B, C, H, W = x.shape
    x = x.view(B, C, H // window_size, window_size, W // window_size, window_size)
    windows = x.permute(0, 2, 4, 3, 5, 1).contiguous().view(-1, window_size, window_size, C)
    return windows


class ResShiftBlock:
    def __init__(self, window_size, shift_size):
        self.window_size, self.shift_size = window_size, shift_size

    def calculate_mask(self, x_size):
        # calculate attention mask for SW-MSA
        H, W = x_size
        img_mask = torch.zeros((1, 1, H, W))  # 1 H W 1
        h_slices = (slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None))
        w_slices = (slice(0, -self.window_size),
                    slice(-self.window_size, -self.shift_size),
                    slice(-self.shift_size, None))
        cnt = 0
        for h in h_slices:
            for w in w_slices:
                img_mask[:, h, w, :] = cnt
                cnt += 1

        mask_windows = resshift_window_partition(img_mask, self.window_size).permute(0,2,3,1).contiguous()  # nW, window_size, window_size, 1
        mask_windows = mask_windows.view(-1, self.window_size * self.window_size) # nW, window_size*window_size

        attn_mask = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
        attn_mask = attn_mask.masked_fill(attn_mask != 0, float(-100.0)).masked_fill(attn_mask == 0, float(0.0))

        return attn_mask


# --------------------------------------------------------------------------- #
# The d-dimensional computation against the ports                             #
# --------------------------------------------------------------------------- #
def test_video_swin_compute_mask_equals_the_3d_mask():
    expected = video_swin_compute_mask(8, 56, 56, (2, 7, 7), (1, 3, 3), None)
    assert expected.shape == (256, 98, 98)
    got = attention_mask((8, 56, 56), (2, 7, 7), (1, 3, 3))
    assert torch.equal(got, expected)
    assert torch.equal(fast_attention_mask((8, 56, 56), (2, 7, 7), (1, 3, 3)), expected)
    assert torch.equal(allowed_mask((8, 56, 56), (2, 7, 7), (1, 3, 3)), expected == 0)
    assert region_labels((8, 56, 56), (2, 7, 7), (1, 3, 3)).unique().numel() == 27  # 3^3 regions


@pytest.mark.parametrize("size, window, shift", [((4, 6, 6), (2, 3, 3), (1, 1, 2)), ((2, 9, 6), (2, 3, 3), (0, 1, 1)),
                                                 ((6, 6, 12), (3, 3, 4), (1, 2, 0))])
def test_video_swin_compute_mask_equals_the_3d_mask_with_zero_shifts(size, window, shift):
    expected = video_swin_compute_mask(*size, window, shift, None)
    assert torch.equal(attention_mask_nd(size, window, shift), expected)
    assert torch.equal(allowed_mask(size, window, shift), expected == 0)


@pytest.mark.parametrize("length, window, shift", [(16, 4, 2), (12, 4, 1), (10, 4, 2), (9, 4, 2), (7, 4, 1)])
def test_swin1d_compute_mask_equals_the_1d_mask_where_it_is_right(length, window, shift):
    """Where the window divides L, or padding plus shift fill one window, the 1D code takes the 2D recipe's
    three segments, and its mask is the package's; on the other branches see the next test."""
    expected = swin1d_compute_mask(length, window, shift, None)
    got = attention_mask((length,), (window,), (shift,), pad=True)
    assert check_mask(expected, (length,), window, shift, pad=True).ok
    if (-length) % window in (0, window - shift):
        assert torch.equal(got, expected)


def test_swin1d_compute_mask_over_blocks_when_l_is_long_and_padded():
    """Its padded branches place a boundary at ``2M - L + s``, which for long sequences falls inside a window:
    L = 17, M = 4, s = 2 over-blocks pairs of neighbours; the package's pad-then-roll mask does not."""
    mask = swin1d_compute_mask(17, 4, 2, None)
    report = check_mask(mask, (17,), 4, 2, pad=True)
    assert report.leaked == 0 and report.over_blocked > 0 and not report.ok
    # window 1 holds rolled positions 4..7 = original tokens 6..9, all real and contiguous
    assert 1 in report.windows
    assert check_mask(attention_mask((17,), 4, 2, pad=True), (17,), 4, 2, pad=True).ok


def test_swin1d_three_regions_or_two_give_the_same_mask():
    """meraks/Swin-Transformer-1D #7: L = 16, M = 4, s = 2 labels three regions; two (wrapped or not) give the same
    mask, because regions 0 and 1 never share a window."""
    three = swin1d_compute_mask(16, 4, 2, None)
    labels = torch.zeros(16)
    labels[-2:] = 1  # two regions: the tokens that came across the wrap, and the rest
    windows = labels.view(-1, 4)
    two = (windows.unsqueeze(1) - windows.unsqueeze(2)) != 0
    assert torch.equal(three != 0, two)
    assert check_mask(three, (16,), 4, 2).ok and check_mask(~two, (16,), 4, 2).ok


# --------------------------------------------------------------------------- #
# check_mask verdicts                                                          #
# --------------------------------------------------------------------------- #
def test_the_official_mask_passes():
    report = check_mask(SwinIRBlock(7, 3).calculate_mask((56, 56)), (56, 56), 7, 3)
    assert report.ok and report.leaked == 0 and report.over_blocked == 0
    assert repr(report).startswith("check_mask: correct: 0 leaked pairs")


def test_the_video_swin_mask_passes_with_a_callable():
    report = check_mask(lambda: video_swin_compute_mask(8, 56, 56, (2, 7, 7), (1, 3, 3), None), (8, 56, 56), (2, 7, 7), (1, 3, 3))
    assert report.ok


def test_the_resshift_mask_is_caught_with_counts_worked_out_by_hand():
    """Two slips. The slices index ``[1, 1, H, W]`` as ``[:, h, w, :]``: ``h`` hits the size-1 axis (only
    ``slice(-s, None)`` is non-empty there), ``w`` the rows, so the labels split rows only. Then
    ``permute(0, 2, 3, 1)`` of the ``[nW, M, M, 1]`` windows reads each window column-major while the features
    are row-major, so the row split acts on columns. At 64 x 64, M = 8, s = 4, per window (tokens in 4 x 4 blocks):

    * last column, not the corner (7 windows): no split where the column seam is: 2 * 32 * 32 = 2048 leaked;
    * last row, not the corner (7): a column split where the row seam is: 1024 leaked and 1024 over-blocked;
    * the corner: the column split only: 1024 leaked.
    """
    mask = ResShiftBlock(8, 4).calculate_mask((64, 64))
    report = check_mask(mask, (64, 64), 8, 4)
    leaked, over_blocked = report.wrong_per_window()
    last_column, last_row = list(range(7, 63, 8)), list(range(56, 63))
    assert set(report.windows) == set(last_column) | set(last_row) | {63}
    assert leaked[last_column].tolist() == [2048] * 7 and over_blocked[last_column].tolist() == [0] * 7
    assert leaked[last_row].tolist() == [1024] * 7 and over_blocked[last_row].tolist() == [1024] * 7
    assert (leaked[63].item(), over_blocked[63].item()) == (1024, 0)
    assert (report.leaked, report.over_blocked) == (7 * 2048 + 7 * 1024 + 1024, 7 * 1024)
    assert "WRONG" in repr(report)


def test_fixing_only_the_slices_leaves_resshift_mask_transposed():
    """With ``img_mask[:, :, h, w] = cnt`` the labels are right, but the permute still reads each window
    column-major: the mask is the official one with every window's tokens transposed, and still wrong."""
    block = ResShiftBlock(8, 4)
    img_mask = torch.zeros((1, 1, 64, 64))
    cnt = 0
    for h in (slice(0, -8), slice(-8, -4), slice(-4, None)):
        for w in (slice(0, -8), slice(-8, -4), slice(-4, None)):
            img_mask[:, :, h, w] = cnt
            cnt += 1
    mask_windows = resshift_window_partition(img_mask, block.window_size).permute(0, 2, 3, 1).contiguous().view(-1, 64)
    fixed = mask_windows.unsqueeze(1) - mask_windows.unsqueeze(2)
    fixed = fixed.masked_fill(fixed != 0, float(-100.0)).masked_fill(fixed == 0, float(0.0))
    transpose = torch.arange(64).view(8, 8).t().reshape(-1)  # token n of the mask is token transpose[n] of the window
    official = SwinIRBlock(8, 4).calculate_mask((64, 64))
    assert torch.equal(fixed, official[:, transpose][:, :, transpose])
    report = check_mask(fixed, (64, 64), 8, 4)
    assert report.leaked > 0 and report.over_blocked > 0


def test_roll_then_pad_is_caught_and_agrees_with_the_2d_counts():
    """timm #2438's layout (roll, then pad) with the padded mask: 72 leaked, 72 over-blocked at 10 x 7, M = 4, s = 2,
    as notebook 07's independent count; the same mask in the pad-then-roll layout is right."""
    mask = attention_mask(10, 7, 4, 2, pad=True)
    report = check_mask(mask, (10, 7), 4, 2, pad="roll-then-pad")
    wrong = count_wrong_pairs(10, 7, 4, 2, order="roll-then-pad")
    assert (report.leaked, report.over_blocked) == (wrong.leaked, wrong.blocked) == (72, 72)
    assert check_mask(mask, (10, 7), 4, 2, pad=True).ok


def test_swinir_shift_zero_mask_is_all_zeros_and_harmless():
    """SwinIR #153: a shift-0 block builds slices (0, -M), (-M, -0), (-0, None); -0 is 0, so the last slice covers
    the whole map and every token ends with the last label: the mask is all zeros, the same as no mask."""
    mask = SwinIRBlock(8, 0).calculate_mask((40, 48))
    assert torch.equal(mask, torch.zeros_like(mask))
    report = check_mask(mask, (40, 48), 8, 0)
    assert report.ok


def test_a_shape_problem_is_named_plainly():
    mask = attention_mask(9, 9, 3, 1).unsqueeze(0)
    report = check_mask(mask, (9, 9), 3, 1)
    assert report.shape_problem == "expected [nW, N, N] = [9, 9, 9], got [1, 9, 9, 9]"
    assert not report.ok and repr(report).startswith("check_mask: wrong shape: expected [nW, N, N] = [9, 9, 9]")


def test_positive_entries_are_a_value_problem():
    mask = attention_mask(6, 6, 3, 1).clone()
    mask[0, 0, 1] = 5.0
    report = check_mask(mask, (6, 6), 3, 1)
    assert report.value_problem is not None and not report.ok and report.over_blocked == 1


def test_a_periodic_axis_needs_no_seam():
    """Longitude wraps: the 2D mask that separates it over-blocks; the periodic one passes."""
    plain = attention_mask((6, 12), (3, 4), (1, 2))
    periodic = attention_mask((6, 12), (3, 4), (1, 2), periodic=(False, True))
    assert check_mask(periodic, (6, 12), (3, 4), (1, 2), periodic=(False, True)).ok
    over = check_mask(plain, (6, 12), (3, 4), (1, 2), periodic=(False, True))
    assert over.leaked == 0 and over.over_blocked > 0
    leak = check_mask(periodic, (6, 12), (3, 4), (1, 2))
    assert leak.leaked == over.over_blocked and leak.over_blocked == 0
    assert region_labels((6, 12), (3, 4), (1, 2), periodic=(False, True)).unique().tolist() == [0, 1, 2]


@pytest.mark.parametrize(
    "call, error, message",
    [
        (lambda: check_mask("mask", (6, 6), 3, 1), TypeError, "mask must be a torch.Tensor"),
        (lambda: check_mask(torch.zeros(4, 9, 9, dtype=torch.long), (6, 6), 3, 1), TypeError, "mask must be a float mask"),
        (lambda: check_mask(torch.zeros(4, 9, 9), (6, 6, 6, 6), 3, 1), ValueError, "size must have 1, 2 or 3 axes"),
        (lambda: check_mask(torch.zeros(4, 9, 9), 6, 3, 1), TypeError, "size must be a tuple"),
        (lambda: check_mask(torch.zeros(4, 9, 9), (6, 6), (3, 3, 3), 1), TypeError, "window must be an int or a tuple of 2"),
        (lambda: check_mask(torch.zeros(4, 9, 9), (7, 6), 3, 1), ValueError, r"window\[0\]=3 does not divide size\[0\]=7"),
        (lambda: check_mask(torch.zeros(4, 9, 9), (6, 6), 3, 3), ValueError, r"shift\[0\]=3 is outside \[0, window\[0\]=3\)"),
        (lambda: check_mask(torch.zeros(4, 9, 9), (6, 6), 3, 1, pad="yes"), ValueError, "pad must be one of"),
        (lambda: check_mask(torch.zeros(4, 9, 9), (6, 6), 3, 1, periodic=1), TypeError, "periodic must be True or False"),
        (lambda: check_mask(torch.zeros(4, 9, 9), (7, 6), 3, 1, pad=True, periodic=(True, False)), ValueError, "axis 0 is periodic"),
        (lambda: attention_mask((16,), (4,), (2,), (1,)), TypeError, "fill must be a real number"),
        (lambda: region_labels((16,), 4, 2, 1), TypeError, "the arguments are \\(size, window, shift\\)"),
    ],
)
def test_bad_arguments_are_named(call, error, message):
    with pytest.raises(error, match=message):
        call()


# --------------------------------------------------------------------------- #
# Hypothesis: labels against the oracle, fast against readable, 2D unchanged  #
# --------------------------------------------------------------------------- #
@st.composite
def layouts(draw):
    d = draw(st.integers(1, 3))
    window = tuple(draw(st.integers(1, 4)) for _ in range(d))
    shift = tuple(draw(st.integers(0, m - 1)) for m in window)
    periodic = tuple(draw(st.booleans()) for _ in range(d))
    pad = draw(st.booleans())
    size = []
    for m, p in zip(window, periodic):
        windows = draw(st.integers(1, 3 if d == 3 else 4))
        size.append(windows * m if (p or not pad) else draw(st.integers(1, windows * m)))
    return tuple(size), window, shift, pad, periodic


@PROPERTY
@given(layouts())
def test_the_label_mask_equals_the_oracle_on_real_pairs(layout):
    size, window, shift, pad, periodic = layout
    real, genuine = seam_neighbours_nd(size, window, shift, pad=pad, periodic=periodic)
    allowed = attention_mask_nd(size, window, shift, pad=pad, periodic=periodic) == 0
    both_real = real.unsqueeze(2) & real.unsqueeze(1)
    assert torch.equal(allowed & both_real, genuine)
    assert check_mask(allowed, size, window, shift, pad=pad, periodic=periodic).ok


@PROPERTY
@given(layouts())
def test_the_fast_path_equals_the_readable_path(layout):
    size, window, shift, pad, periodic = layout
    assert torch.equal(fast_region_labels_nd(size, window, shift, pad=pad, periodic=periodic),
                       region_labels_nd(size, window, shift, pad=pad, periodic=periodic))
    assert torch.equal(fast_window_labels_nd(size, window, shift, pad=pad, periodic=periodic),
                       window_labels_nd(size, window, shift, pad=pad, periodic=periodic))
    assert torch.equal(allowed_mask_nd(size, window, shift, pad=pad, periodic=periodic),
                       attention_mask_nd(size, window, shift, pad=pad, periodic=periodic) == 0)


@PROPERTY
@given(layouts())
def test_partition_and_reverse_are_inverse(layout):
    size, window, _, _, _ = layout
    padded = nd_layout(size, window, 0, pad=True).padded
    x = torch.arange(2 * int(np.prod(padded)) * 3).view(2, *padded, 3)
    windows = window_partition_nd(x, window)
    assert windows.shape == (2 * int(np.prod([p // m for p, m in zip(padded, window)])), *window, 3)
    assert torch.equal(window_reverse_nd(windows, window, padded), x)
    if len(window) != 2:
        assert torch.equal(window_partition(x, window), windows)
        assert torch.equal(window_reverse(windows, window, padded), x)


@PROPERTY
@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 4), st.integers(1, 4), st.data())
def test_the_2d_calls_and_their_tuple_forms_agree(height, width, window_h, window_w, data):
    shift = (data.draw(st.integers(0, window_h - 1)), data.draw(st.integers(0, window_w - 1)))
    window = (window_h, window_w)
    assert torch.equal(attention_mask(height, width, window, shift, pad=True), attention_mask((height, width), window, shift, pad=True))
    assert torch.equal(window_labels(height, width, window, shift, pad=True), window_labels((height, width), window, shift, pad=True))
    assert torch.equal(allowed_mask(height, width, window, shift, pad=True), allowed_mask((height, width), window, shift, pad=True))
    wrong = count_wrong_pairs(height, width, window, shift, order="roll-then-pad")
    report = check_mask(attention_mask(height, width, window, shift, pad=True), (height, width), window, shift, pad="roll-then-pad")
    assert (report.leaked, report.over_blocked) == (wrong.leaked, wrong.blocked)


def test_check_mask_is_exported():
    assert "check_mask" in swin_viz.__all__ and "MaskCheck" in swin_viz.__all__
