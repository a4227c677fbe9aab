"""Check a shifted-window attention mask against the geometric oracle: :func:`check_mask` and its :class:`MaskCheck`.

A mask copied by hand into a 1D, 2D or 3D model is easy to get wrong, and a correct one can look wrong. The
oracle (:func:`swin_viz.ndim.seam_neighbours_nd`) knows, from coordinates alone, which pairs of real tokens of
each shifted window were neighbours before the roll. :func:`check_mask` compares a mask with it and reports,
in a sentence a student can read, what differs:

* a **shape problem**: the mask is not ``[nW, N, N]`` (``"expected [nW, N, N] = [9, 9, 9], got [1, 9, 9, 9]"``);
* **leaked** pairs: allowed by the mask, but across a seam (two tokens the roll put side by side, that were not);
* **over-blocked** pairs: forbidden by the mask, but true neighbours.

Pairs that involve a padding token are not judged (the libraries differ on them; notebook 07 counts them).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Union

import torch

from swin_viz.ndim import Dims, NdLayout, nd_layout, pad_order, seam_neighbours_nd, token_origins_nd

if TYPE_CHECKING:  # the figure layer imports this module; the picture is drawn on demand
    from swin_viz.figures import LabFigure

__all__ = ["MaskCheck", "check_mask"]

#: A mask to check: an additive float mask (0 = may attend), a bool mask (True = may attend), or a callable
#: taking no argument that returns one.
MaskLike = Union[torch.Tensor, Callable[[], torch.Tensor]]


def _dims(values: Sequence[int]) -> str:
    return "[" + ", ".join(str(v) for v in values) + "]"


@dataclass(frozen=True, repr=False)
class MaskCheck:
    """What :func:`check_mask` found. ``repr`` is the verdict; :meth:`plot` shows where.

    Attributes:
        layout: the layout checked against (:class:`~swin_viz.ndim.NdLayout`).
        order: ``None`` (no padding), ``"pad-then-roll"`` or ``"roll-then-pad"``.
        got_shape: the shape of the mask given.
        shape_problem: a sentence if the mask is not ``[nW, N, N]``, else ``None`` (then nothing else is judged).
        value_problem: a sentence if a float mask holds positive or NaN entries, else ``None``.
        allowed: ``BoolTensor[nW, N, N]``, the pairs the mask lets attend (``None`` on a shape problem).
        genuine: ``BoolTensor[nW, N, N]``, the oracle: pairs of real tokens that are neighbours.
        real: ``BoolTensor[nW, N]``, real (not padding) tokens.
        origins: ``LongTensor[nW, N, d]``, each token's coordinates before the roll (``-1``: padding).
        leaked_pairs: ``LongTensor[n, 3]``, ``(window, query, key)`` of each leaked pair.
        over_blocked_pairs: ``LongTensor[n, 3]``, ``(window, query, key)`` of each over-blocked pair.
    """

    layout: NdLayout
    order: str | None
    got_shape: tuple[int, ...]
    shape_problem: str | None
    value_problem: str | None
    allowed: torch.Tensor | None
    genuine: torch.Tensor
    real: torch.Tensor
    origins: torch.Tensor
    leaked_pairs: torch.Tensor
    over_blocked_pairs: torch.Tensor

    @property
    def expected_shape(self) -> tuple[int, int, int]:
        """``(nW, N, N)``."""
        return (self.layout.n_windows, self.layout.tokens, self.layout.tokens)

    @property
    def leaked(self) -> int:
        """How many (query, key) pairs of real tokens the mask allows across a seam."""
        return int(self.leaked_pairs.shape[0])

    @property
    def over_blocked(self) -> int:
        """How many (query, key) pairs of real neighbours the mask forbids."""
        return int(self.over_blocked_pairs.shape[0])

    @property
    def ok(self) -> bool:
        """The mask has the right shape and values and agrees with the oracle on every pair of real tokens."""
        return self.shape_problem is None and self.value_problem is None and self.leaked == 0 and self.over_blocked == 0

    @property
    def windows(self) -> tuple[int, ...]:
        """The windows holding at least one leaked or over-blocked pair, in order."""
        pairs = torch.cat([self.leaked_pairs[:, 0], self.over_blocked_pairs[:, 0]])
        return tuple(int(k) for k in torch.unique(pairs).tolist())

    def wrong_per_window(self) -> tuple[torch.Tensor, torch.Tensor]:
        """``(leaked, over_blocked)``: ``LongTensor[nW]`` counts of wrong pairs per window."""
        n = self.layout.n_windows
        return (
            torch.bincount(self.leaked_pairs[:, 0], minlength=n),
            torch.bincount(self.over_blocked_pairs[:, 0], minlength=n),
        )

    def describe_pair(self, pair: Sequence[int]) -> str:
        """``(window, query, key)`` as a sentence with the two tokens' coordinates before the roll."""
        k, i, j = (int(v) for v in pair)
        where = [tuple(int(c) for c in self.origins[k, n].tolist()) for n in (i, j)]
        return f"window {k}: query {i} (from {where[0]}) and key {j} (from {where[1]})"

    def _setting(self) -> str:
        layout = self.layout
        text = f"size {layout.size}, window {layout.window}, shift {layout.shift}"
        if any(layout.periodic):
            text += f", periodic {layout.periodic}"
        if self.order is not None and layout.padded != layout.size:
            text += f", {self.order} to {layout.padded}"
        return text

    @property
    def verdict(self) -> str:
        """The short verdict :func:`repr` shows."""
        if self.shape_problem is not None:
            return f"check_mask: wrong shape: {self.shape_problem} ({self._setting()})"
        head = "correct" if self.ok else "WRONG"
        text = (
            f"check_mask: {head}: {self.leaked} leaked pairs (allowed across a seam), {self.over_blocked} over-blocked "
            f"pairs (neighbours forbidden) in {len(self.windows)} of {self.layout.n_windows} windows of N={self.layout.tokens} "
            f"tokens ({self._setting()})"
        )
        if self.value_problem is not None:
            text += f"; {self.value_problem}"
        if self.leaked:
            text += f"\n  e.g. leaked: {self.describe_pair(self.leaked_pairs[0].tolist())}"
        if self.over_blocked:
            text += f"\n  e.g. over-blocked: {self.describe_pair(self.over_blocked_pairs[0].tolist())}"
        return text

    def __repr__(self) -> str:
        return self.verdict

    def plot(self, window: int | None = None, *, figure: LabFigure | None = None) -> LabFigure:
        """Where the wrong pairs are: wrong pairs per window, and one window's ``[N, N]`` pairs
        (:func:`swin_viz.figures.plot_mask_check`); ``window`` defaults to the one with the most wrong pairs."""
        from swin_viz.figures.masks_in_the_wild import plot_mask_check

        return plot_mask_check(self, window, figure=figure)


def _allowed(mask: torch.Tensor) -> tuple[torch.Tensor, str | None]:
    """The pairs a mask allows, and a sentence about values a mask should not hold."""
    if mask.dtype == torch.bool:
        return mask, None
    if not mask.is_floating_point():
        raise TypeError(
            f"mask must be a float mask (0 where a query may attend, negative where not) or a bool mask (True where it "
            f"may attend), got dtype {mask.dtype}"
        )
    bad = int((~(mask <= 0)).sum())  # positive or NaN
    problem = None
    if bad:
        problem = (
            f"{bad} entries are positive or NaN (an additive mask holds 0 where a query may attend and a negative fill where not)"
        )
    return mask == 0, problem


def check_mask(
    mask: MaskLike, size: Sequence[int], window: Dims, shift: Dims, *, pad: object = False, periodic: object = None
) -> MaskCheck:
    """Compare a shifted-window attention mask with the geometric oracle, pair by pair.

    Args:
        mask: the mask of every window, ``[nW, N, N]``: an additive float mask (0 = may attend, a negative fill
            = may not, as the official ``attn_mask``), a bool mask (``True`` = may attend), or a callable with no
            arguments that returns one (e.g. ``lambda: block.calculate_mask((H, W))``).
        size: the feature map's size, ``(L,)``, ``(H, W)`` or ``(D, H, W)`` (unpadded).
        window, shift: an int for every axis, or one per axis; ``0 <= shift < window``.
        pad: ``False`` (the window divides the map), ``True`` / ``"pad-then-roll"`` (pad, then roll: transformers,
            torchvision, Video Swin) or ``"roll-then-pad"`` (roll the unpadded map, then pad: timm 1.x).
        periodic: ``None``, a bool, or one bool per axis: an axis that wraps for real (longitude) needs no seam.

    Returns:
        :class:`MaskCheck`; its ``repr`` is the verdict, ``.plot()`` draws it.
    """
    order = pad_order(pad)
    layout = nd_layout(size, window, shift, pad=order is not None, periodic=periodic)
    if callable(mask) and not isinstance(mask, torch.Tensor):
        mask = mask()
    if not isinstance(mask, torch.Tensor):
        raise TypeError(f"mask must be a torch.Tensor [nW, N, N] or a callable returning one, got {type(mask).__name__}")
    real, genuine = seam_neighbours_nd(size, window, shift, pad=pad, periodic=periodic)
    origins, _ = token_origins_nd(layout, order or "pad-then-roll")
    empty = torch.zeros((0, 3), dtype=torch.long)
    expected = (layout.n_windows, layout.tokens, layout.tokens)
    got = tuple(int(n) for n in mask.shape)
    if got != expected:
        problem = f"expected [nW, N, N] = {_dims(expected)}, got {_dims(got)}"
        return MaskCheck(layout, order, got, problem, None, None, genuine, real, origins, empty, empty)
    allowed, value_problem = _allowed(mask.detach().cpu())
    both_real = real.unsqueeze(2) & real.unsqueeze(1)
    leaked = (allowed & both_real & ~genuine).nonzero()
    over_blocked = (genuine & ~allowed).nonzero()
    return MaskCheck(layout, order, got, None, value_problem, allowed, genuine, real, origins, leaked, over_blocked)
