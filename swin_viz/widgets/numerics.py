"""Notebook 08 · numerics: what the fill leaves on forbidden keys, in each dtype, as the logits grow."""

from __future__ import annotations

import functools
import math
from typing import Any, Mapping

import torch

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.numerics import EXAMPLE_BLOCK, Leak, example_mask, example_scores, leaked_weight, suppression_curve
from swin_viz.tensors import window_labels
from swin_viz.widgets._base import ChoiceControl, Explorer, IntControl, LogControl, Range, Ranges

__all__ = ["NUMERICS_DTYPES", "NUMERICS_FILLS", "NUMERICS_SCALE_RANGE", "NUMERICS_SCALE_STEP", "NumericsExplorer", "numerics_explorer"]

#: The fills :func:`numerics_explorer` offers, by the label its buttons show.
NUMERICS_FILLS: dict[str, float] = {"-100": -100.0, "-1e4": -1e4, "-inf": float("-inf")}
#: The dtypes it offers (float32 first: the official code's).
NUMERICS_DTYPES: tuple[str, ...] = ("float32", "float16", "bfloat16", "float64")
#: ``log10`` of the logit-scale slider's ends, and its step: the slider's positions are the curves' grid.
NUMERICS_SCALE_RANGE: tuple[float, float] = (-1.0, 4.0)
NUMERICS_SCALE_STEP = 0.05


# The example's tensors, computed once (per fill) and shared: read them, never modify them in place.
@functools.lru_cache(maxsize=1)
def numerics_scores() -> torch.Tensor:
    """Notebook 08's scores (:func:`~swin_viz.numerics.example_scores`): ``[nW, heads, N, N]`` float64."""
    return example_scores()


@functools.lru_cache(maxsize=len(NUMERICS_FILLS))
def numerics_mask(fill: float) -> torch.Tensor:
    """The example's mask with ``fill`` (:func:`~swin_viz.numerics.example_mask`)."""
    return example_mask(fill)


@functools.lru_cache(maxsize=1)
def numerics_labels() -> torch.Tensor:
    """The example's ``[nW, N]`` window labels."""
    return window_labels(*(EXAMPLE_BLOCK[k] for k in ("height", "width", "window", "shift")))


def numerics_scales() -> torch.Tensor:
    """The logit scales of the curves: every position of the slider, ``[S]`` float64."""
    low, high = NUMERICS_SCALE_RANGE
    return torch.logspace(low, high, round((high - low) / NUMERICS_SCALE_STEP) + 1, dtype=torch.float64)


@functools.lru_cache(maxsize=len(NUMERICS_FILLS))
def numerics_curves(fill: float) -> dict[str, torch.Tensor]:
    """:func:`~swin_viz.numerics.suppression_curve` of the example for one fill, every dtype (once per fill)."""
    return suppression_curve(numerics_scores(), numerics_mask(fill), numerics_scales())


class NumericsExplorer(Explorer):
    """A dtype, a fill and a logit scale over :func:`~swin_viz.figures.plot_numerics` (notebook 08).

    The scores are notebook 08's (:func:`~swin_viz.numerics.example_scores`: a seeded block on the 9x9 map,
    window 3, shift 1), multiplied by the logit scale; the softmax of ``scores + mask`` runs in the chosen
    dtype (:func:`~swin_viz.numerics.leaked_weight`). Every position is valid: a NaN (float16 scores that
    overflowed) is shown and reported, not raised.

    Attributes (besides those of :class:`~swin_viz.widgets.Explorer`):
        dtype: ``Dropdown`` of :data:`NUMERICS_DTYPES`.
        fill: ``ToggleButtons`` of :data:`NUMERICS_FILLS`.
        logit_scale: ``FloatLogSlider`` over ``10 ** NUMERICS_SCALE_RANGE``.
        window_index, head: sliders picking the window ``k`` and head drawn (the caption covers all).
        leak: the :class:`~swin_viz.numerics.Leak` of the last drawing.
    """

    title = "08 · What the fill leaves on forbidden keys, per dtype"
    # two per column: (dtype, window k), (logit scale, head), (fill)
    CONTROLS = (
        ChoiceControl("dtype", "dtype", tuple((dtype, dtype) for dtype in NUMERICS_DTYPES), dropdown=True),
        IntControl("window_index", "window k"),
        LogControl("logit_scale", "logit scale", *NUMERICS_SCALE_RANGE, NUMERICS_SCALE_STEP),
        IntControl("head", "head"),
        ChoiceControl("fill", "fill", tuple((fill, fill) for fill in NUMERICS_FILLS), button_width="70px"),
    )

    def __init__(
        self, dtype: str = "float32", fill: str = "-100", logit_scale: float = 1.0, window_index: int = 8, head: int = 0
    ) -> None:
        self.leak: Leak | None = None
        super().__init__(dict(dtype=dtype, fill=fill, logit_scale=logit_scale, window_index=window_index, head=head))

    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """The example's windows and heads."""
        n_windows, n_heads = numerics_scores().shape[:2]
        yield "window_index", Range(0, n_windows - 1)
        yield "head", Range(0, n_heads - 1)

    def draw(self, figure: LabFigure | None) -> LabFigure:
        fill = NUMERICS_FILLS[self.fill.value]
        mask = numerics_mask(fill)
        scale = float(self.logit_scale.value)
        self.leak = leaked_weight(numerics_scores() * scale, mask, self.dtype.value)
        k, head = self.window_index.value, self.head.value
        return figures.plot_numerics(
            self.leak.weights[k, head], mask[k] != 0, numerics_labels()[k], numerics_scales(), numerics_curves(fill),
            dtype=self.dtype.value, fill=fill, scale=scale, window_index=k, head=head, figure=figure,
        )

    def describe(self) -> str:
        worst = self.leak.worst if self.leak is not None else float("nan")
        if math.isnan(worst):
            rows = self.leak.leaked.isnan().nonzero().tolist() if self.leak is not None else []
            where = "; ".join(f"window {k}, head {h}, query {i}" for k, h, i in rows[:3]) + (" ..." if len(rows) > 3 else "")
            cause = ": float16 scores overflowed to ±inf, and inf - inf is NaN" if self.dtype.value == "float16" else ""
            verdict = f"NaN in {len(rows)} query row{'s' if len(rows) != 1 else ''} ({where}){cause}"
        elif worst == 0:
            verdict = "exactly 0"
        else:
            verdict = "visible (> 1e-3)" if worst > 1e-3 else "invisible (< 1e-3)"
        largest = float(numerics_scores().abs().max()) * float(self.logit_scale.value)
        return (
            f"{self.describe_settings()}: worst leaked weight of any query {worst:.3e}, {verdict}; "
            f"largest |score| {largest:.4g}"
        )

    def describe_settings(self) -> str:
        return (
            f"dtype={self.dtype.value}, fill={self.fill.value}, logit scale={self.logit_scale.value:.3g}, "
            f"k={self.window_index.value}, head={self.head.value}"
        )


def numerics_explorer(
    *, dtype: str = "float32", fill: str = "-100", logit_scale: float = 1.0, window_index: int = 8, head: int = 0
) -> NumericsExplorer:
    """A dtype dropdown, fill buttons, a logit-scale slider and window/head pickers over
    :func:`~swin_viz.figures.plot_numerics` (notebook 08).

    Args:
        dtype: one of :data:`NUMERICS_DTYPES`.
        fill: one of :data:`NUMERICS_FILLS` (``"-100"``, ``"-1e4"``, ``"-inf"``).
        logit_scale: in ``[0.1, 10000]``.
        window_index: the window ``k`` drawn, ``0..8`` (8, the corner window, holds four regions).
        head: the head drawn, ``0`` or ``1``.
    """
    return NumericsExplorer(dtype, fill, logit_scale, window_index, head)
