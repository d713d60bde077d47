r"""One measurement's curvature engine: a model, a loss, a batch, and the caches that belong to them.

:class:`CurvatureEngine` binds the functional methods of this package (each of which returns frozen
:class:`~empirics.curvature.result.CurvatureResult` records) to one measurement; its
:class:`~empirics.curvature.result.EngineCache` (activation sizes, ``auto`` decisions, piecewise-linearity
verdicts, passed adjoint checks) lives as long as the engine and is never shared across measurements.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

from empirics.curvature.directions import Directions, gradient_matrices, layer_directions, top_k_directions
from empirics.curvature.exact import exact_curvatures
from empirics.curvature.functional import LossFn
from empirics.curvature.gauss_newton import gn_curvatures
from empirics.curvature.piecewise import PLVerdict, piecewise_linear_layers
from empirics.curvature.reference import fd_curvatures, paper_protocol_curvatures
from empirics.curvature.result import CurvatureResult, EngineCache

__all__ = ["CurvatureEngine"]


class CurvatureEngine:
    """Curvature methods on one (model, per-sample loss, inputs, targets); ``on_chunk(layer, done, total)``
    reports progress within a layer's directions; ``max_memory`` (bytes) bounds the exact stage's working
    memory (:func:`~empirics.curvature.exact.exact_curvatures`)."""

    def __init__(
        self,
        model: nn.Module,
        loss_fn: LossFn,
        inputs,
        targets,
        *,
        chunk_size: int | None = None,
        on_chunk: Callable[[str, int, int], None] | None = None,
        max_memory: int | None = None,
    ):
        self.model, self.loss_fn, self.inputs, self.targets = model, loss_fn, inputs, targets
        self.chunk_size = chunk_size
        self.max_memory = max_memory
        self.on_chunk = on_chunk
        self.cache = EngineCache()

    def gradients(self, names) -> dict[str, torch.Tensor]:
        """:func:`~empirics.curvature.directions.gradient_matrices` of the named layers."""
        return gradient_matrices(self.model, self.loss_fn, self.inputs, self.targets, names)

    def directions(self, G: torch.Tensor, k: int) -> Directions:
        """Top-``k`` singular directions of a gradient matrix."""
        return top_k_directions(G, k)

    def direction_tensors(self, name: str, d: Directions) -> torch.Tensor:
        """:math:`D_k` of layer ``name`` in its parameter's shape."""
        return layer_directions(self.model, name, d)

    def piecewise(self, names) -> dict[str, PLVerdict]:
        """Piecewise-linearity verdicts (cached for this engine)."""
        return piecewise_linear_layers(self.model, self.inputs, list(names), cache=self.cache.verdicts)

    def exact(
        self, directions: dict[str, torch.Tensor], *, method: str = "auto", gn_form: str = "auto"
    ) -> dict[str, CurvatureResult]:
        """Exact curvatures (:func:`~empirics.curvature.exact.exact_curvatures`) with this engine's cache."""
        return exact_curvatures(
            self.model,
            self.loss_fn,
            self.inputs,
            self.targets,
            directions,
            chunk_size=self.chunk_size,
            method=method,
            gn_form=gn_form,
            cache=self.cache,
            on_chunk=self.on_chunk,
            max_memory=self.max_memory,
        )

    def gauss_newton(self, directions: dict[str, torch.Tensor]) -> dict[str, CurvatureResult]:
        """Gauss–Newton curvatures (jvp form)."""
        return gn_curvatures(
            self.model,
            self.loss_fn,
            self.inputs,
            self.targets,
            directions,
            chunk_size=self.chunk_size,
            cache=self.cache,
            on_chunk=self.on_chunk,
        )

    def finite_differences(
        self, directions: dict[str, torch.Tensor], *, eps: float = 1e-3, dtype: torch.dtype | None = None
    ) -> dict[str, CurvatureResult]:
        """Central second differences."""
        return fd_curvatures(self.model, self.loss_fn, self.inputs, self.targets, directions, eps=eps, dtype=dtype)

    def paper_protocol(self, directions: dict[str, torch.Tensor]) -> dict[str, CurvatureResult]:
        """The paper's one-direction-at-a-time loop."""
        return paper_protocol_curvatures(self.model, self.loss_fn, self.inputs, self.targets, directions)
