r"""Fused per-direction kernels of the forward-adjoint pass (:mod:`~empirics.curvature.forward_adjoint`),
compiled with ``torch.compile`` — an option (``exact_curvatures(..., compile_kernels=True)``), off by default.

For a unary elementwise op :math:`y=\varphi(x)` with the tangent :math:`\dot x` of ``rows`` directions, the
eager rule makes :math:`\dot y=\varphi'\dot x` and then, in separate passes over the rows,
:math:`\langle\lambda,\varphi''\dot x^2\rangle` per row. :func:`unary_step` does both in one pass over
:math:`\dot x` once compiled (inductor fuses the products and the per-row reduction); :math:`\varphi'` and
:math:`\lambda\varphi''` have no row dimension and stay eager. Same arithmetic, so the same values to
round-off (the pass's double-backward check still certifies every call).

Measured on CPU (``benchmarks/compile_trial.py``, ``benchmarks/README.md``). The compile costs seconds per
new tensor shape (cached per process), so it pays on large measurements, not on small ones.
"""

from __future__ import annotations

import torch

__all__ = ["unary_step", "FusedKernels"]


def unary_step(d1: torch.Tensor, lam_d2: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    r"""(:math:`\dot y=\varphi'\dot x`, per-row :math:`\sum_x\lambda\varphi''\dot x^2`) for ``v`` (rows, *shape)
    and ``d1``, ``lam_d2`` of ``shape``."""
    return d1 * v, (lam_d2 * v * v).flatten(1).sum(1)


class FusedKernels:
    """The compiled kernels of one engine call (``torch.compile`` keeps the compiled code per process).

    Called from inside a dispatch-mode handler whose rules run with the Python dispatch key excluded (for
    ``torch.func``); Dynamo must not run under that exclusion, so the handler's own key sets are stored in
    :attr:`keys` by the caller and restored around each compiled call."""

    def __init__(self) -> None:
        self.compiled_unary = torch.compile(unary_step, dynamic=None)
        self.keys: tuple | None = None

    def unary(self, d1: torch.Tensor, lam_d2: torch.Tensor, v: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """:func:`unary_step`, compiled, under the dispatch keys of :attr:`keys`."""
        if self.keys is None:
            return self.compiled_unary(d1, lam_d2, v)
        with torch._C._ForceDispatchKeyGuard(*self.keys):
            return self.compiled_unary(d1, lam_d2, v)
