"""Notebook 10 · masks in the wild: the mask in 1, 2 or 3 axes, with periodic axes."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from swin_viz import figures
from swin_viz.figures import LabFigure
from swin_viz.ndim import allowed_mask_nd, region_labels_nd
from swin_viz.tensors import as_int
from swin_viz.widgets._base import ChoiceControl, Explorer, IntControl, Range, Ranges

__all__ = ["WILD_MAX_SIZE", "WILD_MAX_WINDOW", "MasksInTheWildExplorer", "masks_in_the_wild_explorer"]

#: Largest size of each axis in :func:`masks_in_the_wild_explorer`.
WILD_MAX_SIZE = 16
#: Largest window of each axis in :func:`masks_in_the_wild_explorer`.
WILD_MAX_WINDOW = 6
#: Which axes wrap for real: by name, as the explorer's toggle offers them.
PERIODIC_CHOICES = (("none", "none"), ("last axis", "last"), ("all axes", "all"))
_AXES = ("0", "1", "2")


def _ints(value: object, name: str) -> tuple[int, ...]:
    """A size, window or shift argument: an int, or a tuple of 1 to 3 ints, each named ``name[i]`` in errors."""
    if isinstance(value, (tuple, list)):
        if not 1 <= len(value) <= 3:
            raise ValueError(f"{name} must have 1, 2 or 3 values (one per axis), got {len(value)}")
        return tuple(as_int(v, f"{name}[{i}]") for i, v in enumerate(value))
    return (as_int(value, name),)


class MasksInTheWildExplorer(Explorer):
    """Sliders for the number of axes, each axis' size, window and shift, the periodic axes and a window.

    The figure is :func:`~swin_viz.figures.plot_window_mask_nd`: the region labels of the map (a volume as depth
    slices), the chosen window outlined, and its ``[N, N]`` mask. Each size is a multiple of its window (the
    padding of notebook 07 is left out here), each shift below its window.

    Attributes (besides those of :class:`~swin_viz.widgets.Explorer`):
        axes: toggle, 1, 2 or 3 axes.
        size_0, size_1, size_2, window_0, window_1, window_2, shift_0, shift_1, shift_2: the sliders (the first
            ``axes`` of each are used).
        periodic: toggle, ``"none"``, ``"last"`` (the last axis wraps: longitude) or ``"all"``.
        window_index: the window shown.
        labels, allowed: the region labels ``[*size]`` and the mask ``BoolTensor[nW, N, N]`` of the last drawing.
    """

    title = "The mask in 1, 2 or 3 axes"
    CONTROLS = (
        ChoiceControl("axes", "axes d", (("1", 1), ("2", 2), ("3", 3))),
        ChoiceControl("periodic", "periodic", PERIODIC_CHOICES),
        *(IntControl(f"window_{a}", f"window M{a}", live=False) for a in _AXES),
        *(IntControl(f"size_{a}", f"size {a}", follows_choice=True) for a in _AXES),
        *(IntControl(f"shift_{a}", f"shift s{a}") for a in _AXES),
        IntControl("window_index", "window k", none_is_last=True),
    )

    def __init__(
        self,
        size: int | Sequence[int] = (4, 8, 8),
        window: int | Sequence[int] = (2, 4, 4),
        shift: int | Sequence[int] = (1, 2, 2),
        periodic: str = "none",
        window_index: int | None = None,
    ) -> None:
        sizes, windows, shifts = _ints(size, "size"), _ints(window, "window"), _ints(shift, "shift")
        d = len(sizes)
        if len(windows) == 1:
            windows = windows * d
        if len(shifts) == 1:
            shifts = shifts * d
        if not len(windows) == len(shifts) == d:
            raise ValueError(f"size, window and shift must have the same number of axes, got {sizes}, {windows}, {shifts}")
        values: dict[str, Any] = {"axes": d, "periodic": periodic, "window_index": window_index}
        for i, a in enumerate(_AXES):
            values[f"size_{a}"] = sizes[i] if i < d else 4
            values[f"window_{a}"] = windows[i] if i < d else 2
            values[f"shift_{a}"] = shifts[i] if i < d else 1
        self.labels = None
        self.allowed = None
        super().__init__(values)

    def ranges(self, values: Mapping[str, Any]) -> Ranges:
        """Windows in ``1..WILD_MAX_WINDOW``; sizes multiples of the window up to ``WILD_MAX_SIZE``; shifts below the
        window; the window picker over the windows of the map."""
        for a in _AXES:
            yield f"window_{a}", Range(1, WILD_MAX_WINDOW)
        for a in _AXES:
            m = values[f"window_{a}"]
            yield f"size_{a}", Range(m, (WILD_MAX_SIZE // m) * m, m)
        for a in _AXES:
            yield f"shift_{a}", Range(0, values[f"window_{a}"] - 1)
        n_windows = math.prod(values[f"size_{a}"] // values[f"window_{a}"] for a in _AXES[: values["axes"]])
        yield "window_index", Range(0, n_windows - 1)

    def chosen(self) -> tuple[tuple[int, ...], tuple[int, ...], tuple[int, ...], tuple[bool, ...]]:
        """``(size, window, shift, periodic)`` of the first ``axes`` axes, as the controls show them."""
        d = self.axes.value
        pick = [a for a in _AXES[:d]]
        periodic = {"none": (False,) * d, "last": (False,) * (d - 1) + (True,), "all": (True,) * d}[self.periodic.value]
        return (
            tuple(getattr(self, f"size_{a}").value for a in pick),
            tuple(getattr(self, f"window_{a}").value for a in pick),
            tuple(getattr(self, f"shift_{a}").value for a in pick),
            periodic,
        )

    def draw(self, figure: LabFigure | None) -> LabFigure:
        """Compute the labels and the mask (:mod:`swin_viz.ndim`) and draw the chosen window's."""
        size, window, shift, periodic = self.chosen()
        self.labels = labels = region_labels_nd(size, window, shift, periodic=periodic)
        self.allowed = allowed = allowed_mask_nd(size, window, shift, periodic=periodic)
        k = self.window_index.value
        return figures.plot_window_mask_nd(labels, window, k, allowed[k], figure=figure)

    def describe(self) -> str:
        """The layout, the number of regions and of masked pairs in the chosen window (of the last drawing)."""
        size, window, shift, periodic = self.chosen()
        if self.allowed is None or self.labels is None:
            return self.describe_settings()
        allowed = self.allowed
        k = self.window_index.value
        regions = int(self.labels.unique().numel())
        wraps = ", ".join(str(i) for i, p in enumerate(periodic) if p) or "none"
        return (
            f"{len(size)} axes, size {size}, window {window}, shift {shift}, periodic axes: {wraps}: {regions} regions; "
            f"{allowed.shape[0]} windows of N={allowed.shape[1]}; window {k} masks {int((~allowed[k]).sum())} of "
            f"{allowed.shape[1] ** 2} pairs"
        )

    def describe_settings(self) -> str:
        """``size=.., window=.., shift=.., periodic=.., k=..``."""
        size, window, shift, _ = self.chosen()
        return f"size={size}, window={window}, shift={shift}, periodic={self.periodic.value}, k={self.window_index.value}"


def masks_in_the_wild_explorer(
    size: int | Sequence[int] = (4, 8, 8),
    window: int | Sequence[int] = (2, 4, 4),
    shift: int | Sequence[int] = (1, 2, 2),
    periodic: str = "none",
    window_index: int | None = None,
) -> MasksInTheWildExplorer:
    """Explore the mask in 1, 2 or 3 axes (notebook 10): see :class:`MasksInTheWildExplorer`.

    Raises ``TypeError``/``ValueError`` naming the argument for a start the sliders cannot show.
    """
    return MasksInTheWildExplorer(size, window, shift, periodic, window_index)
