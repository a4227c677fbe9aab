"""Property-based fuzzing of the computation layer's public functions (issue 13).

Every function is called with arguments drawn from a mix of valid and invalid values: Python and numpy
integers of every width, bools, floats, strings, ``None``, sizes that are zero or negative, windows that do
not divide the map, shifts outside the window, fills that are positive, NaN, too large or so small that
they round to zero, unknown names and devices, tensors of the wrong shape or dtype. The test decides on
its own, from the documented rules, whether the call is valid and which arguments break a rule. Then:

* a valid call returns, and its result agrees with a reference computed here independently (numpy
  index arithmetic for the layouts, the definitions for the tensors);
* an invalid call raises ``ValueError`` or ``TypeError`` whose message names one of the arguments that
  broke a rule;
* nothing else: no other exception type, no silent result.

Sizes stay small (maps up to 13x13), so no call comes near the memory budget. Deterministic
(``derandomize=True``); the whole file runs in about 20 s.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, Optional, Set

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from swin_viz import block, cost, numerics, tensors

FUZZ = settings(
    max_examples=60, deadline=None, derandomize=True, database=None, suppress_health_check=[HealthCheck.too_slow]
)

INT_TYPES = (int, np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64)
#: Values that are no integer, whatever the argument.
NOT_INTS = [True, False, 2.0, np.float64(3.0), "3", None, 1 + 0j, np.True_]


def _fits(kind: type, n: int) -> bool:
    if kind is int:
        return True
    info = np.iinfo(kind)
    return info.min <= n <= info.max


def _ints(low: int, high: int) -> st.SearchStrategy:
    """Integers in ``[low, high]`` as a Python int or any numpy integer type that holds them."""
    return st.integers(low, high).flatmap(lambda n: st.sampled_from([k for k in INT_TYPES if _fits(k, n)]).map(lambda k: k(n)))


def _int_arg(low: int, high: int) -> st.SearchStrategy:
    """Mostly integers (some out of the valid range), now and then something that is no integer."""
    return st.one_of(*[_ints(low, high)] * 7, st.sampled_from(NOT_INTS))


def _mostly(valid: list, invalid: list) -> st.SearchStrategy:
    """One of ``valid`` three times in four, else one of ``invalid``."""
    return st.one_of(*[st.sampled_from(valid)] * 3, st.sampled_from(invalid))


def _as_written(pair: tuple) -> st.SearchStrategy:
    """A valid (h, w) pair as a caller may write it: an int when square, a tuple or a list, numpy ints or not."""
    forms = [st.tuples(*(_ints(v, v) for v in pair)), st.tuples(*(_ints(v, v) for v in pair)).map(list)]
    if pair[0] == pair[1]:
        forms += [_ints(pair[0], pair[0])] * 2
    return st.one_of(*forms)


def _pair_arg(low: int, high: int) -> st.SearchStrategy:
    """An int, an (h, w) pair of ints (tuple or list), or a malformed pair."""
    pair = st.tuples(_int_arg(low, high), _int_arg(low, high))
    return st.one_of(
        _int_arg(low, high), _int_arg(low, high), pair, pair.map(list),
        st.sampled_from([(), (3,), (3, 3, 3), [1, 2, 3]]),
    )


def _is_int(value: object) -> bool:
    return isinstance(value, (int, np.integer)) and not isinstance(value, (bool, np.bool_))


def _as_pair(value: object) -> Optional[tuple]:
    """The (h, w) ints the rules read, or None if the value is no int and no pair of ints."""
    if isinstance(value, (tuple, list)):
        if len(value) != 2 or not all(_is_int(v) for v in value):
            return None
        return int(value[0]), int(value[1])
    return (int(value),) * 2 if _is_int(value) else None


# --------------------------------------------------------------------------- #
# The rules, stated independently of the package                              #
# --------------------------------------------------------------------------- #
@dataclass
class Call:
    """One drawn call: its arguments, which ones break a rule, and the layout they mean if none does."""

    kwargs: Dict[str, Any]
    bad: Set[str] = field(default_factory=set)
    clean: bool = False  # draw the remaining arguments from their valid values only
    layout: Optional[tuple] = None  # (H, W, Hp, Wp, (Mh, Mw), (sh, sw))


def _check_layout(call: Call, *, divide: Optional[bool], shift: bool = True, pairs: bool = True) -> None:
    """The layout rules: positive sizes; a positive window (int or pair); 0 <= shift < window; the window divides
    the map unless ``divide`` is False (``None``: it must divide unless the call's ``pad`` is True)."""
    kw = call.kwargs
    bad = call.bad
    sizes = {}
    for name in ("height", "width"):
        if name in kw:
            if not _is_int(kw[name]) or kw[name] <= 0:
                bad.add(name)
            else:
                sizes[name] = int(kw[name])
    window = _as_pair(kw["window"]) if pairs or _is_int(kw["window"]) else None
    if window is None or min(window) <= 0:
        bad.add("window")
        window = None
    shift_hw = (0, 0)
    if shift:
        shift_hw = _as_pair(kw["shift"]) if pairs or _is_int(kw["shift"]) else None
        if shift_hw is None:
            bad.add("shift")
        elif window is not None and not all(0 <= s < m for s, m in zip(shift_hw, window)):
            bad.add("shift")
    if "pad" in kw and not isinstance(kw["pad"], bool):
        bad.add("pad")
    if "height" not in kw or len(sizes) < 2 or window is None or "pad" in bad:
        return
    must_divide = divide if divide is not None else not kw.get("pad", False)
    H, W = sizes["height"], sizes["width"]
    if must_divide and (H % window[0] or W % window[1]):
        bad.update({"window", "height" if H % window[0] else "width"})
    if bad:
        return
    Hp, Wp = math.ceil(H / window[0]) * window[0], math.ceil(W / window[1]) * window[1]
    call.layout = (H, W, Hp, Wp, window, shift_hw)


def _fill_breaks_rules(fill: object, dtype: torch.dtype) -> bool:
    if isinstance(fill, (bool, np.bool_)) or not isinstance(fill, numbers.Real):
        return True
    try:
        value = float(fill)
    except OverflowError:
        return True
    if math.isnan(value) or value >= 0:
        return True
    if value < torch.finfo(dtype).min and not math.isinf(value):
        return True
    return torch.tensor(value, dtype=torch.float64).to(dtype).item() == 0.0


# valid for some dtypes and not for others: -1e-8 (float16), -1e-40 (float16), -3e38 (float16, bfloat16 is fine)
FILL_VALUES = (
    [-100.0, -1.0, -7, -math.inf, -1e4, np.float32(-2.0)],
    [-3e38, -1e-8, -1e-40, -1e-50, -1e39, -(10**400), 0, 0.0, 5, math.inf, math.nan, "x", True, None],
)
DTYPE_VALUES = ([torch.float32, torch.float64, torch.float16, torch.bfloat16], [torch.int32, torch.bool, "float32", None])
DEVICE_VALUES = ([None, "cpu", torch.device("cpu")], ["bogus", "cuda:99" if torch.cuda.is_available() else "cuda", 0, 1.5])
BOOL_VALUES = ([True, False], [0, 1, None, "yes", np.True_])
FILLS, DTYPES, DEVICES, BOOLS = (_mostly(*values) for values in (FILL_VALUES, DTYPE_VALUES, DEVICE_VALUES, BOOL_VALUES))


def _pick(data, call: Call, values: tuple, label: str):
    """A value from ``values = (valid, invalid)``: a valid one if the call is drawn clean, else either."""
    return data.draw(st.sampled_from(values[0]) if call.clean else _mostly(*values), label)


def _device_breaks_rules(device: object) -> bool:
    if device is None or device == "cpu" or device == torch.device("cpu"):
        return False
    return True


# --------------------------------------------------------------------------- #
# Reference computations (numpy index arithmetic, no package code)            #
# --------------------------------------------------------------------------- #
def _bands(size: int, window: int, shift: int) -> np.ndarray:
    """The official slices of one dimension: [0, S-M) -> 0, [S-M, S-s) -> 1, [S-s, S) -> 2; one band when s = 0."""
    index = np.arange(size)
    if shift == 0:
        return np.zeros(size, dtype=np.int64)
    return (index >= size - window).astype(np.int64) + (index >= size - shift)


def _reference(layout: tuple) -> dict:
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = layout
    labels = _bands(Hp, Mh, sh)[:, None] * (3 if sw else 1) + _bands(Wp, Mw, sw)[None, :]
    n_cols = Wp // Mw
    k = np.arange((Hp // Mh) * n_cols)[:, None]
    n = np.arange(Mh * Mw)[None, :]
    rows, cols = (k // n_cols) * Mh + n // Mw, (k % n_cols) * Mw + n % Mw  # window token -> rolled map position
    window_labels = labels[rows, cols]
    origins = np.stack(((rows + sh) % Hp, (cols + sw) % Wp), axis=-1)  # rolled row y held original row y + s
    allowed = window_labels[:, :, None] == window_labels[:, None, :]
    same_side = ((origins[..., 0] < sh)[:, :, None] == (origins[..., 0] < sh)[:, None, :]) & (
        (origins[..., 1] < sw)[:, :, None] == (origins[..., 1] < sw)[:, None, :]
    )
    grid = (np.arange(Hp)[:, None] // Mh) * n_cols + np.arange(Wp)[None, :] // Mw
    return {"labels": labels, "window_labels": window_labels, "origins": origins, "allowed": allowed,
            "same_side": same_side, "grid": grid}


def _pieces(size: int, window: int, shift: int) -> int:
    """Pieces of the naive shifted partition along one axis: distinct shifted-window indices of the positions."""
    return len({(p - shift) // window for p in range(size)})


def _mask_values(allowed: np.ndarray, fill: float, dtype: torch.dtype) -> torch.Tensor:
    fill_value = torch.tensor(float(fill), dtype=torch.float32 if dtype is None else torch.float64).to(dtype or torch.float32)
    return torch.where(torch.from_numpy(allowed), torch.zeros((), dtype=dtype or torch.float32), fill_value)


# --------------------------------------------------------------------------- #
# The functions: how to draw their arguments and check a valid result         #
# --------------------------------------------------------------------------- #
SIZE, WINDOW = (-1, 13), (-1, 6)


def _layout_args(data, *, shift: bool = True, pad: bool = False, divide: Optional[bool] = None, clean: Optional[bool] = None) -> Dict[str, Any]:
    """A layout that keeps every rule (sizes the window divides where it must) if ``clean`` (drawn if None), else free-form."""
    if clean is None:
        clean = data.draw(st.booleans(), "well-formed layout?")
    if clean:
        square = data.draw(st.booleans(), "square?")
        window_h = data.draw(st.integers(1, 5), "Mh")
        window_w = window_h if square else data.draw(st.integers(1, 5), "Mw")
        shift_h = data.draw(st.integers(0, window_h - 1), "sh")
        shift_w = shift_h if square and window_w == window_h else data.draw(st.integers(0, window_w - 1), "sw")
        pad_value = data.draw(st.booleans(), "pad") if pad else False
        must_divide = divide if divide is not None else not pad_value
        if must_divide:
            height, width = (data.draw(st.integers(1, 3), "rows of windows") * window_h,
                             data.draw(st.integers(1, 3), "columns of windows") * window_w)
        else:
            height, width = data.draw(st.integers(1, 13), "height"), data.draw(st.integers(1, 13), "width")
        kw = {"height": data.draw(_ints(height, height), "height"), "width": data.draw(_ints(width, width), "width"),
              "window": data.draw(_as_written((window_h, window_w)), "window")}
        if shift:
            kw["shift"] = data.draw(_as_written((shift_h, shift_w)), "shift")
        if pad:
            kw["pad"] = pad_value
        return kw
    kw = {
        "height": data.draw(_int_arg(*SIZE), "height"),
        "width": data.draw(_int_arg(*SIZE), "width"),
        "window": data.draw(_pair_arg(*WINDOW), "window"),
    }
    if shift:
        kw["shift"] = data.draw(_pair_arg(*WINDOW), "shift")
    if pad:
        kw["pad"] = data.draw(BOOLS, "pad")
    return kw


@dataclass(frozen=True)
class Spec:
    name: str
    call: Callable[..., Any]
    draw: Callable[[Any], Call]
    check: Callable[[Any, Call], None]

    def __repr__(self) -> str:
        return self.name


def _layout_spec(name, function, check, *, shift=True, pad=True, divide=None, extra=None):
    """A function of ``(height, width, window[, shift], *, pad[, ...])``; ``extra`` draws and judges more arguments."""

    def draw(data):
        clean = data.draw(st.booleans(), "clean?")
        kw = _layout_args(data, shift=shift, pad=pad, divide=divide if pad or divide is not None else True, clean=clean)
        call = Call(kw, clean=clean)
        if extra is not None:
            extra(data, call)
        _check_layout(call, divide=divide if pad or divide is not None else True, shift=shift)
        return call

    return Spec(name, lambda **kw: function(**kw), draw, check)


def _check_equal(result: torch.Tensor, expected: np.ndarray) -> None:
    assert isinstance(result, torch.Tensor) and result.dtype == torch.long
    assert np.array_equal(result.numpy(), expected)


def _with_fill(dtype_arg: bool):
    def extra(data, call):
        call.kwargs["fill"] = _pick(data, call, FILL_VALUES, "fill")
        dtype = torch.float32
        if dtype_arg:
            call.kwargs["dtype"] = _pick(data, call, DTYPE_VALUES, "dtype")
            if not (isinstance(call.kwargs["dtype"], torch.dtype) and call.kwargs["dtype"].is_floating_point):
                call.bad.add("dtype")
                return  # the fill cannot be judged without a dtype
            dtype = call.kwargs["dtype"]
        if _fill_breaks_rules(call.kwargs["fill"], dtype):
            call.bad.add("fill")
    return extra


def _with_device(data, call):
    call.kwargs["device"] = _pick(data, call, DEVICE_VALUES, "device")
    if _device_breaks_rules(call.kwargs["device"]):
        call.bad.add("device")


def _both(*extras):
    def extra(data, call):
        for one in extras:
            one(data, call)
    return extra


def _with_choice(name, choices):
    def extra(data, call):
        call.kwargs[name] = _pick(data, call, (list(choices), ["bogus", None, 3, choices[0].upper() + "!"]), name)
        if call.kwargs[name] not in choices or not isinstance(call.kwargs[name], str):
            call.bad.add(name)
    return extra


def _with_int(name, low, high):
    def extra(data, call):
        call.kwargs[name] = data.draw(_ints(1, high) if call.clean else _int_arg(low, high), name)
        if not _is_int(call.kwargs[name]) or call.kwargs[name] < 1:
            call.bad.add(name)
    return extra


def _with_bool(name):
    def extra(data, call):
        call.kwargs[name] = _pick(data, call, BOOL_VALUES, name)
        if not isinstance(call.kwargs[name], bool):
            call.bad.add(name)
    return extra


def _check_mask(result, call):
    ref = _reference(call.layout)
    dtype = call.kwargs.get("dtype")
    expected = _mask_values(ref["allowed"], call.kwargs["fill"], dtype)
    assert result.dtype == expected.dtype and torch.equal(result, expected)
    assert not torch.signbit(result[result == 0]).any()  # 0.0, never -0.0


def _check_validate(result, call):
    H, W, Hp, Wp, window, shift = call.layout
    assert result == (window, shift) and all(type(v) is int for pair in result for v in pair)


def _check_clamp(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    rule = call.kwargs["rule"]
    if rule in ("official", "transformers", "transformers-swinv2"):
        side = H if rule == "transformers-swinv2" else min(H, W)
        expected = (((side,) * 2, (0, 0)) if side <= Mh else ((Mh, Mw), (sh, sw)))
    else:
        small_h, small_w = H <= Mh, W <= Mw
        shift_out = (0 if small_h else sh, 0 if small_w else sw)
        window_out = (H if small_h else Mh, W if small_w else Mw) if rule == "timm" else (Mh, Mw)
        expected = (window_out, shift_out)
    assert result == expected and all(type(v) is int for pair in result for v in pair)


def _clamp_extra(data, call):
    _with_choice("rule", list(tensors.CLAMP_RULES))(data, call)
    window, shift = _as_pair(call.kwargs["window"]), _as_pair(call.kwargs["shift"])
    if call.kwargs["rule"] in ("official", "transformers", "transformers-swinv2") and window and shift and (window[0] != window[1] or shift[0] != shift[1]):
        call.bad.update({"rule", "window"})


def _check_pairs(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    order = call.kwargs["order"]
    together, allowed, genuine = result
    n = H * W
    assert together.shape == allowed.shape == genuine.shape == (n, n)
    assert bool((allowed <= together).all()) and bool((genuine <= together).all())
    assert torch.equal(together, together.T) and bool(together.diagonal().all())
    if order == "pad-then-roll" or (H % Mh == 0 and W % Mw == 0):
        assert torch.equal(allowed, genuine)


def _check_wrong_pairs(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    relation = block.pair_relation(H, W, (Mh, Mw), (sh, sw), order=call.kwargs["order"])
    expected = (int((relation.allowed & ~relation.genuine).sum()), int((relation.genuine & ~relation.allowed).sum()))
    assert result == expected and all(type(v) is int for v in result)


def _check_fewest(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    ref = _reference(call.layout)
    allowed = ref["allowed"]
    if call.kwargs["mask_padding_keys"]:
        real = (ref["origins"][..., 0] < H) & (ref["origins"][..., 1] < W)
        allowed = allowed & real[:, None, :]
    assert result == int(allowed.sum(-1).min()) and type(result) is int


def _check_window_count(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    if call.kwargs["method"] == "cyclic":
        assert result == (Hp // Mh) * (Wp // Mw)
    else:
        assert result == _pieces(H, Mh, sh) * _pieces(W, Mw, sw)


def _check_window_count_formula(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    rows, cols = Hp // Mh, Wp // Mw
    if call.kwargs["method"] == "padding":
        rows, cols = rows + (sh > 0), cols + (sw > 0)
    assert result == rows * cols


def _check_naive_windows(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    assert len(result) == _pieces(H, Mh, sh) * _pieces(W, Mw, sw)
    covered = np.zeros((H, W), dtype=int)
    for rows, cols in result:
        covered[rows, cols] += 1
        # a piece lies in one shifted window
        assert len({(r - sh) // Mh for r in range(H)[rows]}) == 1 and len({(c - sw) // Mw for c in range(W)[cols]}) == 1
    assert (covered == 1).all()


def _check_partitions(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    ref = _reference(call.layout)
    padding = (ref["origins"][..., 0] >= H) | (ref["origins"][..., 1] >= W)
    expected = np.where(padding, -1, ref["window_labels"]).reshape(-1, Mh, Mw)
    assert np.array_equal(result.cyclic.numpy(), expected) and result.cyclic_per_row == Wp // Mw
    assert result.naive.shape == (_pieces(H, Mh, sh) * _pieces(W, Mw, sw), Mh, Mw)


def _per_window(H, W, dim, Mh, Mw, shift_hw=None):
    n = Mh * Mw
    return 4 * n * dim**2 + 2 * n**2 * dim


def _check_int_result(expected_of):
    def check(result, call):
        assert type(result) is int and result == expected_of(call)
    return check


def _msa(call):
    t = int(call.kwargs["height"]) * int(call.kwargs["width"])
    dim = int(call.kwargs["dim"])
    return 4 * t * dim**2 + 2 * t**2 * dim


def _wmsa(call):
    H, W, Hp, Wp, (Mh, Mw), _ = call.layout
    dim = int(call.kwargs["dim"])
    return 4 * Hp * Wp * dim**2 + 2 * Mh * Mw * Hp * Wp * dim


def _naive(call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    dim = int(call.kwargs["dim"])
    return _pieces(H, Mh, sh) * _pieces(W, Mw, sw) * _per_window(H, W, dim, Mh, Mw)


def _region_slices_draw(data):
    if data.draw(st.booleans(), "well-formed?"):
        window = data.draw(st.integers(1, 5), "window")
        kw = {"window": data.draw(_ints(window, window)), "shift": data.draw(_ints(0, window - 1), "shift")}
    else:
        kw = {"window": data.draw(_pair_arg(*WINDOW), "window"), "shift": data.draw(_pair_arg(*WINDOW), "shift")}
    call = Call(kw)
    _check_layout(call, divide=False, pairs=False)
    if not call.bad:
        window, shift = _as_pair(kw["window"]), _as_pair(kw["shift"])
        call.layout = (None, None, None, None, window, shift)
    return call


def _check_region_slices(result, call):
    size = 13
    window, shift = call.layout[4][0], call.layout[5][0]
    if size < window:
        return
    labels = np.full(size, -1)
    for number, band in enumerate(result):
        labels[band] = number
    assert np.array_equal(labels, _bands(size, window, shift))


def _relative_index_draw(data):
    call = Call({"window": data.draw(_pair_arg(*WINDOW), "window")})
    window = _as_pair(call.kwargs["window"])
    if window is None or min(window) <= 0:
        call.bad.add("window")
    else:
        call.layout = (None, None, None, None, window, (0, 0))
    return call


def _check_relative_index(result, call):
    Mh, Mw = call.layout[4]
    n = np.arange(Mh * Mw)
    y, x = n // Mw, n % Mw
    expected = (y[:, None] - y[None, :] + Mh - 1) * (2 * Mw - 1) + (x[:, None] - x[None, :] + Mw - 1)
    _check_equal(result, expected)


def _msa_draw(data):
    call = Call({"height": data.draw(_int_arg(*SIZE), "height"), "width": data.draw(_int_arg(*SIZE), "width")})
    _with_int("dim", -1, 100)(data, call)
    for name in ("height", "width"):
        if not _is_int(call.kwargs[name]) or call.kwargs[name] <= 0:
            call.bad.add(name)
    return call


LAYOUT_SPECS = [
    _layout_spec("validate_layout", tensors.validate_layout, _check_validate),
    _layout_spec("padded_size", tensors.padded_size,
                 lambda r, c: r == c.layout[2:4] and all(type(v) is int for v in r) or pytest.fail(f"padded_size {r}"),
                 shift=False, pad=False, divide=False),
    _layout_spec("clamp_layout", tensors.clamp_layout, _check_clamp, pad=False, divide=False, extra=_clamp_extra),
    _layout_spec("region_labels", tensors.region_labels, lambda r, c: _check_equal(r, _reference(c.layout)["labels"])),
    _layout_spec("fast_region_labels", tensors.fast_region_labels,
                 lambda r, c: _check_equal(r, _reference(c.layout)["labels"]), extra=_with_device),
    _layout_spec("window_labels", tensors.window_labels, lambda r, c: _check_equal(r, _reference(c.layout)["window_labels"])),
    _layout_spec("fast_window_labels", tensors.fast_window_labels,
                 lambda r, c: _check_equal(r, _reference(c.layout)["window_labels"]), extra=_with_device),
    _layout_spec("token_origins", tensors.token_origins, lambda r, c: _check_equal(r, _reference(c.layout)["origins"])),
    _layout_spec("window_grid", tensors.window_grid, lambda r, c: _check_equal(r, _reference(c.layout)["grid"]),
                 shift=False, pad=False, divide=True),
    _layout_spec("attention_mask", tensors.attention_mask, _check_mask, extra=_with_fill(False)),
    _layout_spec("fast_attention_mask", tensors.fast_attention_mask, _check_mask, extra=_both(_with_fill(True), _with_device)),
    _layout_spec("allowed_mask", tensors.allowed_mask,
                 lambda r, c: r.dtype == torch.bool and np.array_equal(r.numpy(), _reference(c.layout)["allowed"]) or pytest.fail("allowed_mask"),
                 extra=_with_device),
    _layout_spec("seam_neighbours", block.seam_neighbours,
                 lambda r, c: np.array_equal(r.numpy(), _reference(c.layout)["same_side"]) or pytest.fail("seam_neighbours")),
    _layout_spec("pair_relation", block.pair_relation, _check_pairs, pad=False, divide=False,
                 extra=_with_choice("order", list(block.PAD_ORDERS))),
    _layout_spec("count_wrong_pairs", block.count_wrong_pairs, _check_wrong_pairs, pad=False, divide=False,
                 extra=_with_choice("order", list(block.PAD_ORDERS))),
    _layout_spec("fewest_allowed_keys", numerics.fewest_allowed_keys, _check_fewest, extra=_with_bool("mask_padding_keys")),
    _layout_spec("window_count", cost.window_count, _check_window_count, pad=False, divide=False,
                 extra=_with_choice("method", list(cost.WINDOW_METHODS))),
    _layout_spec("window_count_formula", cost.window_count_formula, _check_window_count_formula, pad=False, divide=False,
                 extra=_with_choice("method", list(cost.WINDOW_METHODS))),
    _layout_spec("naive_shifted_windows", cost.naive_shifted_windows, _check_naive_windows, pad=False, divide=False),
    _layout_spec("shifted_partitions", cost.shifted_partitions, _check_partitions, pad=False, divide=False),
    _layout_spec("wmsa_flops", cost.wmsa_flops, _check_int_result(_wmsa), shift=False, extra=_with_int("dim", -1, 100)),
    _layout_spec("naive_shift_flops", cost.naive_shift_flops, _check_int_result(_naive), pad=False, divide=False,
                 extra=_with_int("dim", -1, 100)),
    Spec("msa_flops", lambda **kw: cost.msa_flops(**kw), _msa_draw, _check_int_result(_msa)),
    Spec("region_slices", lambda **kw: tensors.region_slices(**kw), _region_slices_draw, _check_region_slices),
    Spec("relative_position_index", lambda **kw: block.relative_position_index(**kw), _relative_index_draw, _check_relative_index),
]


def _run(spec: Spec, call: Call) -> None:
    """Call, and hold the outcome to the rules: a valid call agrees with the reference, an invalid one raises
    ValueError or TypeError naming an argument that broke a rule, nothing else happens."""
    if call.bad:
        with pytest.raises((ValueError, TypeError)) as error:
            spec.call(**call.kwargs)
        message = str(error.value)
        assert any(name in message for name in call.bad), f"{spec.name}{call.kwargs}: {message!r} names none of {call.bad}"
    else:
        result = spec.call(**call.kwargs)
        spec.check(result, call)


@pytest.mark.parametrize("spec", LAYOUT_SPECS, ids=repr)
@FUZZ
@given(data=st.data())
def test_layout_functions(spec, data):
    _run(spec, spec.draw(data))


# --------------------------------------------------------------------------- #
# Functions of tensors                                                        #
# --------------------------------------------------------------------------- #
NOT_TENSORS = st.sampled_from([None, [[0, 1]], np.zeros((2, 2)), 3, "x"])


def _map_draw(data):
    """cyclic_shift / reverse_cyclic_shift: x [H, W] or [B, H, W, C], shift in [0, size)."""
    call = Call({})
    if data.draw(st.integers(0, 9), "x is a tensor?") == 0:
        call.kwargs["x"] = data.draw(NOT_TENSORS, "x")
        call.bad.add("x")
    else:
        ndim = data.draw(st.sampled_from([1, 2, 3, 4, 4, 5]), "ndim")
        shape = data.draw(st.lists(st.integers(1, 5), min_size=ndim, max_size=ndim), "shape")
        call.kwargs["x"] = torch.arange(math.prod(shape)).view(shape)
        if ndim not in (2, 4):
            call.bad.add("x")
    x = call.kwargs["x"]
    if not call.bad and data.draw(st.booleans(), "valid shift?"):
        dims = (0, 1) if x.dim() == 2 else (1, 2)
        call.kwargs["shift"] = data.draw(_as_written(tuple(data.draw(st.integers(0, x.shape[d] - 1)) for d in dims)), "shift")
    else:
        call.kwargs["shift"] = data.draw(_pair_arg(-1, 6), "shift")
    shift = _as_pair(call.kwargs["shift"])
    if shift is None:
        call.bad.add("shift")
    elif not call.bad:
        x = call.kwargs["x"]
        dims = (0, 1) if x.dim() == 2 else (1, 2)
        if not all(0 <= s < x.shape[d] for s, d in zip(shift, dims)):
            call.bad.add("shift")
    return call


def _check_roll(sign):
    def check(result, call):
        x, (sh, sw) = call.kwargs["x"], _as_pair(call.kwargs["shift"])
        dims = (0, 1) if x.dim() == 2 else (1, 2)
        H, W = x.shape[dims[0]], x.shape[dims[1]]
        # cyclic_shift: result[y] = x[(y + s) mod H]; its reverse: result[y] = x[(y - s) mod H]
        rows, cols = torch.from_numpy((np.arange(H) + sign * sh) % H), torch.from_numpy((np.arange(W) + sign * sw) % W)
        expected = x[rows][:, cols] if x.dim() == 2 else x[:, rows][:, :, cols]
        assert torch.equal(result, expected)
    return check


def _partition_draw(data):
    call = Call({"window": data.draw(_pair_arg(-1, 4), "window")})
    shape = data.draw(st.tuples(st.integers(0, 2), st.integers(1, 8), st.integers(1, 8), st.integers(0, 3)), "shape")
    if data.draw(st.integers(0, 9), "wrong x?") == 0:
        call.kwargs["x"] = data.draw(st.one_of(NOT_TENSORS, st.just(torch.zeros(3, 3))), "x")
        call.bad.add("x")
        return call
    call.kwargs["x"] = torch.arange(math.prod(shape)).view(shape)
    call.kwargs["height"], call.kwargs["width"] = shape[1], shape[2]
    _check_layout(call, divide=True, shift=False)
    del call.kwargs["height"], call.kwargs["width"]
    if call.bad & {"height", "width"}:
        call.bad |= {"window"}
    return call


def _check_partition(result, call):
    x = call.kwargs["x"]
    B, H, W, C = x.shape
    Mh, Mw = call.layout[4]
    assert result.shape == (B * (H // Mh) * (W // Mw), Mh, Mw, C)
    for b in range(B):
        ref = _reference((H, W, H, W, (Mh, Mw), (0, 0)))
        tokens = x[b][torch.from_numpy(ref["origins"][..., 0]), torch.from_numpy(ref["origins"][..., 1])]  # [nW, N, C]
        n_windows = tokens.shape[0]
        assert torch.equal(result[b * n_windows:(b + 1) * n_windows].reshape(n_windows, Mh * Mw, C), tokens)
    assert torch.equal(tensors.window_reverse(result, (Mh, Mw), H, W), x)


def _label_difference_draw(data):
    call = Call({})
    kind = data.draw(st.sampled_from(["long", "float", "bool", "1d", "3d", "not"]), "kind")
    shape = data.draw(st.tuples(st.integers(0, 3), st.integers(0, 5)), "shape")
    if kind == "not":
        call.kwargs["mask_windows"] = data.draw(NOT_TENSORS, "mask_windows")
    elif kind == "1d":
        call.kwargs["mask_windows"] = torch.zeros(shape[1])
    elif kind == "3d":
        call.kwargs["mask_windows"] = torch.zeros(*shape, 2)
    else:
        dtype = {"long": torch.long, "float": torch.float32, "bool": torch.bool}[kind]
        values = torch.randint(0, 9, shape, generator=torch.Generator().manual_seed(shape[0] * 10 + shape[1]))
        call.kwargs["mask_windows"] = values.to(dtype)
    if kind not in ("long", "float"):
        call.bad.add("mask_windows")
    return call


def _check_label_difference(result, call):
    labels = call.kwargs["mask_windows"]
    expected = torch.tensor([[[labels[k, j] - labels[k, i] for j in range(labels.shape[1])] for i in range(labels.shape[1])]
                             for k in range(labels.shape[0])], dtype=labels.dtype).view(labels.shape[0], labels.shape[1], labels.shape[1])
    assert result.dtype == labels.dtype and torch.equal(result, expected)


def _softmax_draw(data):
    """masked_window_softmax(attn [B_, heads, N, N], mask [nW, N, N] float / bool / None)."""
    call = Call({})
    n_windows, images, heads, n = (data.draw(st.integers(0 if name == "heads" else 1, 4), name)
                                   for name in ("nW", "images", "heads", "N"))
    attn_kind = data.draw(st.sampled_from(["float32", "float64", "float32", "long", "3d", "not square", "not"]), "attn")
    scores = torch.randn(images * n_windows, heads, n, n, generator=torch.Generator().manual_seed(n_windows * 100 + n), dtype=torch.float64)
    if attn_kind == "not":
        call.kwargs["attn"] = data.draw(NOT_TENSORS, "attn")
    elif attn_kind == "3d":
        call.kwargs["attn"] = scores[0]
    elif attn_kind == "not square":
        call.kwargs["attn"] = scores[..., :-1] if n > 1 else scores.expand(-1, -1, -1, 2)
    else:
        call.kwargs["attn"] = scores.to({"float32": torch.float32, "float64": torch.float64, "long": torch.long}[attn_kind])
    if attn_kind not in ("float32", "float64"):
        call.bad.add("attn")
    allowed = torch.rand(n_windows, n, n, generator=torch.Generator().manual_seed(n)) < 0.6
    allowed |= torch.eye(n, dtype=torch.bool)  # every row keeps a key
    mask_kind = data.draw(st.sampled_from(
        ["none", "bool", "fill", "-inf", "positive", "nan", "long", "label difference", "wrong N", "wrong nW", "not"]), "mask")
    masks = {
        "none": None, "bool": allowed,
        "fill": torch.where(allowed, 0.0, -100.0), "-inf": torch.where(allowed, 0.0, -math.inf),
        "positive": torch.where(allowed, 0.0, 100.0), "nan": torch.where(allowed, 0.0, math.nan),
        "long": allowed.long(), "label difference": torch.randn(n_windows, n, n).abs() + 0.5,
        "wrong N": torch.zeros(n_windows, n + 1, n + 1), "wrong nW": torch.zeros(images * n_windows + 1, n, n),
    }
    call.kwargs["mask"] = data.draw(NOT_TENSORS, "mask value") if mask_kind == "not" else masks[mask_kind]
    if mask_kind in ("positive", "nan", "long", "label difference", "wrong N", "wrong nW", "not"):
        if not (mask_kind in ("positive", "nan") and not bool((~allowed).any())):  # with nothing forbidden: all zeros, valid
            call.bad.add("mask")
    if mask_kind in ("wrong N", "wrong nW"):
        call.bad.add("attn")  # the message names both: they do not tile each other
    call.layout = (n_windows, mask_kind)
    return call


def _check_softmax(result, call):
    attn, mask = call.kwargs["attn"], call.kwargs["mask"]
    B_, heads, N, _ = attn.shape
    assert result.shape == attn.shape
    scores = attn.double()
    if mask is not None:
        add = torch.where(mask, 0.0, -100.0) if mask.dtype == torch.bool else mask.double()
        scores = scores + add.repeat(B_ // mask.shape[0], 1, 1).unsqueeze(1)
    expected = torch.softmax(scores, dim=-1)
    assert torch.allclose(result.double(), expected, rtol=1e-5, atol=1e-6)


TENSOR_SPECS = [
    Spec("cyclic_shift", lambda **kw: tensors.cyclic_shift(**kw), _map_draw, _check_roll(+1)),
    Spec("reverse_cyclic_shift", lambda **kw: tensors.reverse_cyclic_shift(**kw), _map_draw, _check_roll(-1)),
    Spec("window_partition", lambda **kw: tensors.window_partition(**kw), _partition_draw, _check_partition),
    Spec("label_difference", lambda **kw: tensors.label_difference(**kw), _label_difference_draw, _check_label_difference),
    Spec("masked_window_softmax", lambda **kw: tensors.masked_window_softmax(**kw), _softmax_draw, _check_softmax),
]


@pytest.mark.parametrize("spec", TENSOR_SPECS, ids=repr)
@FUZZ
@given(data=st.data())
def test_tensor_functions(spec, data):
    _run(spec, spec.draw(data))


# --------------------------------------------------------------------------- #
# The block, the weights and the numbers of heads, keys and seeds             #
# --------------------------------------------------------------------------- #
SEEDS = st.one_of(_ints(-3, 10**6), _ints(-3, 10**6), _int_arg(-3, 10**6),
                  st.sampled_from([2**64 - 1, 2**64, -(2**63), -(2**63) - 1, 2**70]))


def _seed_breaks_rules(seed) -> bool:
    return not _is_int(seed) or not -(2**63) <= int(seed) < 2**64


def _block_draw(data):
    """shifted_window_attention and the oracle on a small map with random weights."""
    call = Call({})
    call.clean = data.draw(st.booleans(), "clean?")
    heads = data.draw(st.sampled_from([1, 2, np.int64(4)]) if call.clean else _int_arg(0, 3), "num_heads")
    layout = _layout_args(data, pad=True, clean=call.clean)
    window = layout["window"]
    # the map's size is its shape: a size the rules refuse becomes a valid one
    shape = (data.draw(st.integers(0, 2), "B"), *(max(1, int(layout[n])) if _is_int(layout[n]) else 5 for n in ("height", "width")))
    call.kwargs.update(num_heads=heads, window=window, shift=layout["shift"], pad=layout["pad"],
                       fill=_pick(data, call, FILL_VALUES, "fill"))
    # the layout rules, on the map's own size
    probe = Call({"height": shape[1], "width": shape[2], "window": window, "shift": call.kwargs["shift"], "pad": call.kwargs["pad"]})
    _check_layout(probe, divide=None)
    call.bad |= probe.bad
    if not _is_int(heads) or heads < 1:
        call.bad.add("num_heads")
    if _fill_breaks_rules(call.kwargs["fill"], torch.float32):
        call.bad.add("fill")
    window_hw = _as_pair(window)
    weights_window = window_hw if window_hw and min(window_hw) > 0 else (2, 2)
    channels = 4
    weights_heads = int(heads) if "num_heads" not in call.bad and channels % int(heads) == 0 else 1
    call.kwargs["weights"] = block.WindowAttentionWeights.random(channels, weights_heads, weights_window)
    call.kwargs["x"] = torch.randn(*shape, channels, dtype=torch.float64, generator=torch.Generator().manual_seed(sum(shape)))
    if "num_heads" not in call.bad and channels % int(heads):
        call.bad.add("num_heads")
    return call


def _check_block_against_oracle(result, call):
    kw = dict(call.kwargs)
    fill = kw.pop("fill")
    expected = block.oracle_window_attention(**kw)
    assert result.shape == call.kwargs["x"].shape
    if fill == -100.0 or math.isinf(fill):  # the oracle leaves masked pairs out: -100 and -inf agree with it
        assert torch.allclose(result, expected, atol=1e-12)


def _weights_draw(data):
    if data.draw(st.booleans(), "clean?"):
        call = Call({"dim": data.draw(_ints(12, 12)), "num_heads": data.draw(st.sampled_from([1, 2, 3, 4, 6])),
                     "window": data.draw(st.one_of(_as_written((3, 3)), _as_written((2, 4)))),
                     "seed": data.draw(_ints(-3, 10**6)), "dtype": data.draw(st.sampled_from(DTYPE_VALUES[0]))})
    else:
        call = Call({"dim": data.draw(_int_arg(-1, 12), "dim"), "num_heads": data.draw(_int_arg(-1, 4), "num_heads"),
                     "window": data.draw(_pair_arg(-1, 4), "window"), "seed": data.draw(SEEDS, "seed"),
                     "dtype": data.draw(DTYPES, "dtype")})
    for name in ("dim", "num_heads"):
        if not _is_int(call.kwargs[name]) or call.kwargs[name] < 1:
            call.bad.add(name)
    if not call.bad and int(call.kwargs["dim"]) % int(call.kwargs["num_heads"]):
        call.bad.update({"dim", "num_heads"})
    window = _as_pair(call.kwargs["window"])
    if window is None or min(window) < 1:
        call.bad.add("window")
    if _seed_breaks_rules(call.kwargs["seed"]):
        call.bad.add("seed")
    if not (isinstance(call.kwargs["dtype"], torch.dtype) and call.kwargs["dtype"].is_floating_point):
        call.bad.add("dtype")
    return call


def _check_weights(result, call):
    dim, heads = int(call.kwargs["dim"]), int(call.kwargs["num_heads"])
    Mh, Mw = _as_pair(call.kwargs["window"])
    assert result.qkv_weight.shape == (3 * dim, dim) and result.relative_position_bias_table.shape == ((2 * Mh - 1) * (2 * Mw - 1), heads)
    assert result.dtype == call.kwargs["dtype"]
    seed = int(call.kwargs["seed"])
    generator = torch.Generator().manual_seed(seed)
    expected = (torch.randn(3 * dim, dim, generator=generator, dtype=torch.float64) * dim**-0.5).to(call.kwargs["dtype"])
    assert torch.equal(result.qkv_weight, expected)


def _masked_row_draw(data):
    call = Call({}, clean=data.draw(st.booleans(), "clean?"))
    call.kwargs["fill"] = _pick(data, call, FILL_VALUES, "fill")
    call.kwargs["dtype"] = _pick(data, call, ([*numerics.DTYPES, *numerics.DTYPES.values()], ["int8", torch.int32, None]), "dtype")
    call.kwargs["keys"] = data.draw(_ints(1, 12) if call.clean else _int_arg(-1, 12), "keys")
    call.kwargs["dim"] = data.draw(_ints(1, 6) if call.clean else _int_arg(-1, 6), "dim")
    call.kwargs["seed"] = data.draw(_ints(0, 10**6) if call.clean else SEEDS, "seed")
    if _fill_breaks_rules(call.kwargs["fill"], torch.float32):
        call.bad.add("fill")
    if call.kwargs["dtype"] not in numerics.DTYPES and call.kwargs["dtype"] not in numerics.DTYPES.values():
        call.bad.add("dtype")
    for name in ("keys", "dim"):
        if not _is_int(call.kwargs[name]) or call.kwargs[name] < 1:
            call.bad.add(name)
    if _seed_breaks_rules(call.kwargs["seed"]):
        call.bad.add("seed")
    return call


def _check_masked_row(result, call):
    keys, dim = int(call.kwargs["keys"]), int(call.kwargs["dim"])
    assert result.weights.shape == (keys,) and result.output.shape == (dim,)
    fill = float(call.kwargs["fill"])
    if math.isinf(fill):
        assert bool(result.weights.isnan().all())  # -inf - (-inf)
    else:
        assert torch.allclose(result.weights.double().sum(), torch.tensor(1.0, dtype=torch.float64), atol=1e-2)


def _time_call_draw(data):
    import os

    cores = os.cpu_count() or 1
    call = Call({"fn": data.draw(_mostly([lambda: None], [None, "f"]), "fn"),
                 "repeat": data.draw(st.one_of(_ints(1, 3), _ints(1, 3), _int_arg(-1, 3)), "repeat"),
                 "warmup": data.draw(st.one_of(_ints(0, 2), _ints(0, 2), _int_arg(-1, 2)), "warmup"),
                 "threads": data.draw(st.one_of(st.none(), _ints(1, cores), _int_arg(-1, cores + 1)), "threads")})
    if not callable(call.kwargs["fn"]):
        call.bad.add("fn")
    if not _is_int(call.kwargs["repeat"]) or call.kwargs["repeat"] < 1:
        call.bad.add("repeat")
    if not _is_int(call.kwargs["warmup"]) or call.kwargs["warmup"] < 0:
        call.bad.add("warmup")
    threads = call.kwargs["threads"]
    if threads is not None and (not _is_int(threads) or not 1 <= threads <= (os.cpu_count() or 1)):
        call.bad.add("threads")
    return call


def _attention_flops_draw(data):
    clean = data.draw(st.booleans(), "clean?")
    call = Call({**_layout_args(data, divide=False, clean=clean)}, clean=clean)
    call.kwargs["attention"] = _pick(data, call, (list(cost.ATTENTIONS), ["MSA", None]), "attention")
    call.kwargs["dim"] = _pick(data, call, ([4, 8], [6, 0, -4, 4.0]), "dim")
    call.kwargs["num_heads"] = _pick(data, call, ([1, 2, np.int8(2)], [0, -1, 3, 2.0]), "num_heads")
    call.kwargs["device"] = _pick(data, call, (["meta", "cpu", torch.device("meta")], ["bogus", None, 0]), "device")
    if call.kwargs["attention"] not in cost.ATTENTIONS:
        call.bad.add("attention")
    _check_layout(call, divide=False)
    dim, heads = call.kwargs["dim"], call.kwargs["num_heads"]
    if not _is_int(dim) or dim < 1:
        call.bad.add("dim")
    if not _is_int(heads) or heads < 1:
        call.bad.add("num_heads")
    if not call.bad & {"dim", "num_heads"} and dim % heads:
        call.bad.update({"dim", "num_heads"})
    if str(call.kwargs["device"]) not in ("meta", "cpu") or not isinstance(call.kwargs["device"], (str, torch.device)):
        call.bad.add("device")
    return call


def _check_attention_flops(result, call):
    H, W, Hp, Wp, (Mh, Mw), (sh, sw) = call.layout
    dim = int(call.kwargs["dim"])
    kind = call.kwargs["attention"]
    expected = {
        "msa": 4 * H * W * dim**2 + 2 * (H * W) ** 2 * dim,
        "w-msa": 4 * Hp * Wp * dim**2 + 2 * Mh * Mw * Hp * Wp * dim,
        "sw-msa": 4 * Hp * Wp * dim**2 + 2 * Mh * Mw * Hp * Wp * dim,
        "padding": _pieces(H, Mh, sh) * _pieces(W, Mw, sw) * _per_window(H, W, dim, Mh, Mw),
    }[kind]
    assert result.multiply_adds == expected


OTHER_SPECS = [
    Spec("shifted_window_attention", lambda **kw: block.shifted_window_attention(**kw), _block_draw, _check_block_against_oracle),
    Spec("WindowAttentionWeights.random", lambda **kw: block.WindowAttentionWeights.random(**kw), _weights_draw, _check_weights),
    Spec("fully_masked_row", lambda **kw: numerics.fully_masked_row(**kw), _masked_row_draw, _check_masked_row),
    Spec("time_call", lambda **kw: cost.time_call(kw.pop("fn"), **kw), _time_call_draw,
         lambda r, c: isinstance(r, float) and r >= 0 or pytest.fail("time_call")),
    Spec("attention_flops", lambda **kw: cost.attention_flops(**kw), _attention_flops_draw, _check_attention_flops),
]


@pytest.mark.parametrize("spec", OTHER_SPECS, ids=repr)
@settings(FUZZ, max_examples=30)
@given(data=st.data())
def test_other_functions(spec, data):
    _run(spec, spec.draw(data))
