"""The parameters of one ``WindowAttention``, and the relative position index its bias table is read by.

:class:`WindowAttentionWeights` holds the ``qkv`` and ``proj`` Linears and the ``(2Mh-1)(2Mw-1) x heads``
relative position bias table, named and shaped as in the official code;
:func:`relative_position_index` says which row of the table each (query, key) pair of a window reads (built
stage by stage in :mod:`swin_viz.relative_position`, whose :func:`~swin_viz.relative_position.relative_position_bias`
reads the table).
:func:`swin_viz.block.shifted_window_attention` runs them. Both names are also importable from
:mod:`swin_viz.block` and from :mod:`swin_viz`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Tuple

import torch

from swin_viz._checks import IntPair, as_window, check_budget, check_seed, positive
from swin_viz.relative_position import relative_position_bias, relative_position_index

__all__ = ["relative_position_index", "WindowAttentionWeights"]


@dataclass(frozen=True)
class WindowAttentionWeights:
    """The parameters of one ``WindowAttention``, named and shaped as in the official code.

    Attributes:
        qkv_weight: ``[3C, C]``, the ``qkv`` Linear: rows ``0:C`` make the
            queries, ``C:2C`` the keys, ``2C:3C`` the values; inside each, head
            ``h`` owns rows ``h*d:(h+1)*d`` (``d = C // heads``).
        qkv_bias: ``[3C]``.
        proj_weight: ``[C, C]``, the output ``proj`` Linear.
        proj_bias: ``[C]``.
        relative_position_bias_table: ``[(2Mh-1)(2Mw-1), heads]``.
        window: ``(Mh, Mw)``, the window the table was made for.

    All tensors share one floating dtype. Build random ones with :meth:`random`.
    """

    qkv_weight: torch.Tensor
    qkv_bias: torch.Tensor
    proj_weight: torch.Tensor
    proj_bias: torch.Tensor
    relative_position_bias_table: torch.Tensor
    window: Tuple[int, int]

    def __post_init__(self) -> None:
        window_hw = as_window(self.window)
        object.__setattr__(self, "window", window_hw)
        names = ("qkv_weight", "qkv_bias", "proj_weight", "proj_bias", "relative_position_bias_table")
        for name in names:
            tensor = getattr(self, name)
            if not isinstance(tensor, torch.Tensor):
                raise TypeError(f"{name} must be a torch.Tensor, got {type(tensor).__name__}")
            if not tensor.is_floating_point():
                raise TypeError(f"{name} must be a floating-point tensor, got dtype {tensor.dtype}")
        dtypes = {getattr(self, name).dtype for name in names}
        if len(dtypes) != 1:
            raise TypeError(f"all weights must share one dtype, got {sorted(str(d) for d in dtypes)}")
        if self.qkv_weight.dim() != 2 or self.qkv_weight.shape[0] != 3 * self.qkv_weight.shape[1]:
            raise ValueError(f"qkv_weight must have shape [3C, C], got {tuple(self.qkv_weight.shape)}")
        if self.qkv_weight.shape[1] == 0:  # a head of 0 channels has no 1/sqrt(d) scale
            raise ValueError("qkv_weight must have shape [3C, C] with C >= 1 channels, got C = 0")
        dim = self.qkv_weight.shape[1]
        expected = {
            "qkv_bias": (3 * dim,),
            "proj_weight": (dim, dim),
            "proj_bias": (dim,),
        }
        for name, shape in expected.items():
            if tuple(getattr(self, name).shape) != shape:
                raise ValueError(f"{name} must have shape {list(shape)} for C={dim}, got {tuple(getattr(self, name).shape)}")
        table = self.relative_position_bias_table
        rows = (2 * window_hw[0] - 1) * (2 * window_hw[1] - 1)
        if table.dim() != 2 or table.shape[0] != rows or table.shape[1] == 0:
            raise ValueError(
                f"relative_position_bias_table must have shape [(2Mh-1)(2Mw-1), heads] = [{rows}, heads] "
                f"for window={window_hw}, got {tuple(table.shape)}"
            )
        if dim % table.shape[1] != 0:
            raise ValueError(
                f"C={dim} is not divisible by heads={table.shape[1]} (relative_position_bias_table.shape[1]): "
                "every head gets C // heads channels"
            )

    @property
    def dim(self) -> int:
        """``C``, the channel count."""
        return self.qkv_weight.shape[1]

    @property
    def num_heads(self) -> int:
        """The number of heads (columns of the bias table)."""
        return self.relative_position_bias_table.shape[1]

    @property
    def dtype(self) -> torch.dtype:
        """The floating dtype all the weights share."""
        return self.qkv_weight.dtype

    def relative_position_bias(self) -> torch.Tensor:
        """The bias added to every window's scores: ``table[relative_position_index]``, ``[heads, N, N]``."""
        return relative_position_bias(self.relative_position_bias_table, relative_position_index(self.window))

    @classmethod
    def random(
        cls, dim: int, num_heads: int, window: IntPair, *, seed: int = 0, dtype: torch.dtype = torch.float64
    ) -> "WindowAttentionWeights":
        """Seeded random weights for a ``dim``-channel, ``num_heads``-head attention on ``window``.

        Linear weights are ``N(0, 1/C)`` (scores of order one), biases
        ``N(0, 0.1^2)``, the bias table ``N(0, 0.5^2)`` -- larger than the
        official ``trunc_normal_(std=.02)`` start so that its effect shows.

        Args:
            dim: ``C``, a positive multiple of ``num_heads``.
            num_heads: positive int.
            window: ``M`` or ``(Mh, Mw)``.
            seed: seeds a private ``torch.Generator``; the same seed gives the same weights.
            dtype: a floating dtype, ``torch.float64`` by default.
        """
        dim = positive(dim, "dim")
        num_heads = positive(num_heads, "num_heads")
        if dim % num_heads != 0:
            raise ValueError(f"dim={dim} is not divisible by num_heads={num_heads}: every head gets dim // num_heads channels")
        window_hw = as_window(window)
        seed = check_seed(seed)
        if not isinstance(dtype, torch.dtype) or not dtype.is_floating_point:
            raise TypeError(f"dtype must be a floating torch.dtype such as torch.float64, got {dtype!r}")
        rows = (2 * window_hw[0] - 1) * (2 * window_hw[1] - 1)
        # every tensor drawn in float64, scaled (a copy) and cast (at most a third)
        check_budget(
            (4 * dim * dim + 4 * dim + rows * num_heads) * 12,
            f"WindowAttentionWeights.random(dim={dim}, num_heads={num_heads}, window={window_hw})",
        )
        generator = torch.Generator().manual_seed(seed)

        def normal(*shape: int, std: float) -> torch.Tensor:
            return (torch.randn(*shape, generator=generator, dtype=torch.float64) * std).to(dtype)

        return cls(
            qkv_weight=normal(3 * dim, dim, std=dim**-0.5),
            qkv_bias=normal(3 * dim, std=0.1),
            proj_weight=normal(dim, dim, std=dim**-0.5),
            proj_bias=normal(dim, std=0.1),
            relative_position_bias_table=normal(rows, num_heads, std=0.5),
            window=window_hw,
        )
