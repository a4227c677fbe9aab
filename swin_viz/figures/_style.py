"""Colours and limits shared by every figure: a region label, a seam or a mask entry looks the same everywhere."""

from __future__ import annotations

import numpy as np
import torch
from matplotlib.colors import to_rgba

from swin_viz.figures._text import MIN_TEXT_PX

__all__ = [
    "REGION_COLOURS", "ALLOWED_COLOUR", "FORBIDDEN_COLOUR", "ZERO_COLOUR", "SEAM_COLOUR", "GOOD_COLOUR", "NEUTRAL_COLOUR",
    "MAX_ANNOTATED", "MAX_LINED", "MESH_CELLS", "MAX_TICKS", "MAX_NOTES", "DPI", "LAYOUTS_KEPT", "CHROME_CACHE_BYTES",
    "MIN_TEXT_PX", "MIN_FONT_POINTS", "region_colours", "text_colour", "fontsize_for", "panel_side", "annotated", "tick_step",
]

#: One colour per region label 0..8 (ColorBrewer Set3), the same in every figure.
REGION_COLOURS: tuple[str, ...] = (
    "#8dd3c7",
    "#ffffb3",
    "#bebada",
    "#fb8072",
    "#80b1d3",
    "#fdb462",
    "#b3de69",
    "#fccde5",
    "#bc80bd",
)
#: Colours of an allowed (0.0) and a forbidden (fill) mask entry.
ALLOWED_COLOUR = "#e3f4e1"
FORBIDDEN_COLOUR = "#4d4d4d"
#: Colour of a zero label difference (same region).
ZERO_COLOUR = "#f0f0f0"
#: Red: seams (where the roll cut or joined the map), highlighted windows, what needs a mask or went wrong.
SEAM_COLOUR = "#d62728"
#: Green: what needs nothing (a window of one region).
GOOD_COLOUR = "#2ca02c"
#: Mid grey: a quantity that is neither right nor wrong (e.g. a bar of weight a query keeps in its own region).
NEUTRAL_COLOUR = "#9e9e9e"
#: Grids with more cells than this on a side are drawn without numbers (and ticked sparsely).
MAX_ANNOTATED = 24
#: Grids with more cells than this on a side are drawn without the white lines between cells.
MAX_LINED = 100
#: Colour grids of up to this many cells are drawn as a mesh of quads, larger ones as an image (``pooled_image``).
MESH_CELLS = 4096
#: Most ticks on a sparsely ticked axis.
MAX_TICKS = 12
#: Most per-window notes in a figure of every window (beyond this, only the windows with something to say get one).
MAX_NOTES = 16
#: Resolution of :meth:`~swin_viz.figures.LabFigure.to_png` (the notebooks' pictures).
DPI = 100
#: Smallest font size of a grid's numbers, in points: :data:`MIN_TEXT_PX` pixels at :data:`DPI`.
MIN_FONT_POINTS = MIN_TEXT_PX * 72.0 / DPI
#: Layouts a figure keeps, to put its axes back without laying out again.
LAYOUTS_KEPT = 64
#: Bytes of chrome pixels a figure keeps, the most recent layouts first.
CHROME_CACHE_BYTES = 32 * 2**20


def region_colours(labels: torch.Tensor) -> np.ndarray:
    """RGBA colours of region labels: ``[...]`` labels ``0..8`` → ``[..., 4]`` floats."""
    labels_np = np.asarray(labels.detach().cpu(), dtype=np.int64)
    if labels_np.size and (labels_np.min() < 0 or labels_np.max() >= len(REGION_COLOURS)):
        raise ValueError(f"labels must lie in 0..{len(REGION_COLOURS) - 1} to have a region colour")
    palette = np.array([to_rgba(c) for c in REGION_COLOURS])
    return palette[labels_np]


def text_colour(rgba: np.ndarray) -> str:
    """Black on a light cell, white on a dark one."""
    r, g, b = rgba[:3]
    return "black" if 0.299 * r + 0.587 * g + 0.114 * b > 0.5 else "white"


def fontsize_for(cells: int, base: float = 100.0) -> float:
    """The font size of a grid's numbers, in points: ``base / cells``, between :data:`MIN_FONT_POINTS` and 12."""
    return float(min(12.0, max(MIN_FONT_POINTS, base / max(cells, 1))))


def panel_side(cells: int) -> float:
    """The side, in inches, of a square panel of a grid ``cells`` cells across: 1.8 + 0.42 a cell, at most 5.5."""
    return min(5.5, 1.8 + 0.42 * cells)


def annotated(*sides: int) -> bool:
    """Whether a grid with these side lengths (cells) is small enough to carry its numbers."""
    return max(sides) <= MAX_ANNOTATED


def tick_step(cells: int, every: int | None = None, *, dense: int = MAX_ANNOTATED, most: int = MAX_TICKS) -> int:
    """A tick on every cell up to ``dense`` cells; beyond, every ``every`` cells (e.g. the window) if that gives at
    most ``most`` ticks, else the smallest of 2, 5, 10, 20 … that does."""
    if cells <= dense:
        return 1
    if every is not None and every > 1 and -(-cells // every) <= most:
        return every
    magnitude = 1
    while True:
        for base in (2, 5, 10):
            if -(-cells // (base * magnitude)) <= most:
                return base * magnitude
        magnitude *= 10
