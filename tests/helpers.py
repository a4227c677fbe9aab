"""Reading numbers back out of the figures, so tests can check what a student sees; and the window layouts the
property tests draw."""

from __future__ import annotations

from hypothesis import strategies as st
from matplotlib.axes import Axes


def cell_texts(ax: Axes, rows: int, cols: int, origin: tuple[float, float] = (0.0, 0.0)) -> list[list[str]]:
    """The texts drawn in the cells of an ``rows x cols`` grid whose cell ``(r, c)`` is centred at ``origin + (c, r)``.

    Cells with no text read as ``""``; a text off the grid is ignored. The figure is drawn first (at its own
    resolution): a grid's numbers are what its last draw showed, and too small cells drop them.
    """
    ax.get_figure(root=True).canvas.draw()
    x0, y0 = origin
    grid = [["" for _ in range(cols)] for _ in range(rows)]
    drawn = [(*text.get_position(), text.get_text()) for text in ax.texts]
    for artist in ax.artists:  # a grid's cell numbers are one artist (figures._text.CellNumbers)
        if hasattr(artist, "cell_texts") and artist.get_visible():
            drawn += artist.cell_texts()
    for x, y, string in drawn:
        c, r = round(x - x0), round(y - y0)
        on_centre = abs(x - x0 - c) < 1e-6 and abs(y - y0 - r) < 1e-6
        if on_centre and 0 <= r < rows and 0 <= c < cols:
            grid[r][c] = string
    return grid


def tick_labels(ax: Axes, axis: str) -> list[tuple[float, str]]:
    """``(position, string)`` of the tick labels drawn on ``axis`` (``"x"`` or ``"y"``) of ``ax``: a grid panel's
    come from its one tick-label artist (``figures._text.TickLabels``), any other axes' from matplotlib's ticks."""
    for artist in ax.artists:
        if hasattr(artist, "tick_labels") and artist.get_visible():
            return artist.tick_labels(axis)
    getter = ax.xaxis if axis == "x" else ax.yaxis
    return [(float(loc), label.get_text()) for loc, label in zip(getter.get_majorticklocs(), getter.get_majorticklabels())]


def as_text(tensor) -> list[list[str]]:
    """A 2-D tensor's entries as the strings the figures print for ints."""
    return [[str(int(v)) for v in row] for row in tensor]


def draw_window_and_shift(data: st.DataObject, largest: int) -> tuple[tuple[int, int], tuple[int, int]]:
    """A hypothesis draw: a window ``(Mh, Mw)``, each side in ``1..largest``, and a shift ``(sh, sw)`` below it."""
    window = (data.draw(st.integers(1, largest), "Mh"), data.draw(st.integers(1, largest), "Mw"))
    shift = (data.draw(st.integers(0, window[0] - 1), "sh"), data.draw(st.integers(0, window[1] - 1), "sw"))
    return window, shift
