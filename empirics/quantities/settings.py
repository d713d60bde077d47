"""The one settings record of a measurement (what to measure, with which method, how big)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["MeasureSettings"]


@dataclass(frozen=True)
class MeasureSettings:
    """Settings shared by every measured quantity.

    ``k``: directions per layer (checked against min(m, n) and the gradient's numerical rank; ``clamp_k``
    measures min(k, rank) instead of failing). ``method``/``gn_form``/``chunk_size``: the exact-curvature
    method (:func:`empirics.curvature.exact_curvatures`); ``max_memory``: a memory budget in bytes for the
    exact stage's working memory (``fwd_adj`` sizes its groups of directions from it; ``None``: from free memory). ``gn``, ``kron``, ``fd``: the optional per-layer
    records (Gauss–Newton, Kronecker sub-record, finite differences with ``fd_eps``/``fd_dtype``);
    ``kron_kwargs`` go to :func:`empirics.kron.collect_layer_io`. ``extras``: names of further registered
    quantities to measure (:mod:`empirics.quantities`; e.g. ``("energy",)``)."""

    k: int = 20
    clamp_k: bool = False
    method: str = "auto"
    gn_form: str = "auto"
    chunk_size: int | None = None
    max_memory: int | None = None
    gn: bool = True
    kron: bool = True
    fd: bool = False
    fd_eps: float = 1e-3
    fd_dtype: torch.dtype | None = None
    kron_kwargs: dict[str, Any] = field(default_factory=dict)
    extras: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not isinstance(self.k, int) or isinstance(self.k, bool) or self.k < 1:
            raise ValueError(f"k must be a positive integer, got {self.k!r}")
        if self.chunk_size is not None and self.chunk_size < 1:
            raise ValueError(f"chunk_size must be >= 1, got {self.chunk_size}")
        if self.max_memory is not None and self.max_memory < 1:
            raise ValueError(f"max_memory must be a positive number of bytes, got {self.max_memory}")
        if self.fd_eps <= 0:
            raise ValueError(f"fd_eps must be > 0, got {self.fd_eps}")
