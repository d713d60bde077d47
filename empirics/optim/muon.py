r"""Muon baseline on every matrix parameter (conv weights included) + AdamW on the rest.

Muon (K. Jordan et al., 2024; ``torch.optim.Muon`` since torch 2.9) replaces the momentum matrix
:math:`U=\sum_k\sigma_ku_kw_k^\top` by an approximation of its polar factor :math:`UW^\top` — the
:math:`\alpha=1`, :math:`d\to0` member of :math:`T(\sigma;\alpha)` (docs/theory-reference.md §3.12 (iv)) — computed by
:func:`newton_schulz`, the quintic iteration

.. math:: X_0=U/\max(\lVert U\rVert_F,\varepsilon),\qquad A=X X^\top,\quad
          X\leftarrow aX+(bA+cA^2)X,\qquad (a,b,c)=(3.4445,-4.7750,2.0315),

5 steps on the wide orientation (transposed when :math:`m>n`), in **bfloat16** by default as in the original
and in ``torch.optim.Muon`` (``ns_dtype=None`` keeps the input dtype). Singular values end in roughly
:math:`[0.7,1.2]`, not exactly 1.

:class:`Muon` is an own implementation of ``torch.optim.Muon``'s step — the same operations in the same order:
:math:`M\leftarrow\mu M+(1-\mu)g` (``lerp``), Nesterov :math:`U=(1-\mu)g+\mu M`, :math:`O=\mathrm{NS}(U)`,
:math:`W\leftarrow(1-\eta\lambda)W-\eta'O` with :math:`\eta'=\eta\sqrt{\max(1,m/n)}` (``adjust_lr_fn="original"``)
or :math:`0.2\eta\sqrt{\max(m,n)}` (``"match_rms_adamw"``) — applied to the matrix view of
:func:`~empirics.optim.matrix_view.matrix_view` (conv weights row-major, a grouped conv block by block with
each block's :math:`(m,n)`, HF ``Conv1D`` transposed; torch's Muon accepts only 2-D parameters), so it also
runs on a torch without ``torch.optim.Muon``. Routing, dtypes (momentum in float32 for 16-bit weights by
default, where ``torch.optim.Muon`` keeps it in the weight's dtype) and the AdamW part (``adamw_lr``, default
1e-3) are :mod:`empirics.optim.hybrid`'s.
The tests check :func:`newton_schulz` against ``torch.optim._muon._zeropower_via_newtonschulz`` and a step
on 2-D parameters against ``torch.optim.Muon`` when they exist.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import torch
from torch import Tensor

from empirics.optim.hybrid import ADAMW_LR, HybridOptimizer
from empirics.optim.routing import NamedParams, split_parameters

__all__ = ["NS_COEFFICIENTS", "newton_schulz", "adjusted_lr", "Muon", "make_muon"]

#: Keller Jordan's quintic coefficients (a, b, c).
NS_COEFFICIENTS = (3.4445, -4.7750, 2.0315)
ADJUST_LR = (None, "original", "match_rms_adamw", "none")


def newton_schulz(
    G: Tensor,
    coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
    steps: int = 5,
    eps: float = 1e-7,
    dtype: torch.dtype | None = torch.bfloat16,
) -> Tensor:
    """Quintic Newton–Schulz approximation of the polar factor of a 2-D ``G``, in ``dtype`` (None: G's)."""
    if G.dim() != 2:
        raise ValueError(f"newton_schulz needs a 2-D matrix, got shape {tuple(G.shape)}")
    a, b, c = coefficients
    X = G.to(dtype) if dtype is not None else G.clone()
    tall = G.size(0) > G.size(1)
    if tall:
        X = X.T
    X.div_(X.norm().clamp(min=eps))
    for _ in range(steps):
        A = X @ X.T
        B = torch.addmm(A, A, A, beta=b, alpha=c)
        X = torch.addmm(X, B, X, beta=a)
    return X.T if tall else X


def adjusted_lr(lr: float, adjust_lr_fn: str | None, shape: tuple[int, int]) -> float:
    """Muon's shape-dependent learning rate: ``original`` √max(1, m/n), ``match_rms_adamw`` 0.2√max(m, n)."""
    m, n = shape
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        return lr * math.sqrt(max(1, m / n))
    if adjust_lr_fn == "match_rms_adamw":
        return lr * 0.2 * math.sqrt(max(m, n))
    return lr


class Muon(HybridOptimizer):
    """Muon on matrix parameters (conv weights via their row-major matrix view) + AdamW on the rest.

    Hyper-parameters and defaults are ``torch.optim.Muon``'s (lr 1e-3, weight_decay 0.1, momentum 0.95,
    nesterov, ns_steps 5, eps 1e-7, adjust_lr_fn None = "original"), plus ``ns_dtype`` (bfloat16).
    ``layer_types``, ``tied_embeddings``, ``routes``, ``momentum_dtype``, ``nonfinite``: as in
    :class:`~empirics.optim.spectral_newton.SpectralNewton`. The AdamW part: ``adamw_lr`` (default
    :data:`~empirics.optim.hybrid.ADAMW_LR` = 1e-3, independent of ``lr``), ``adamw_weight_decay`` (default
    ``weight_decay``).
    """

    kind = "muon"

    def __init__(
        self,
        params: NamedParams,
        lr: float = 1e-3,
        *,
        weight_decay: float = 0.1,
        momentum: float = 0.95,
        nesterov: bool = True,
        ns_coefficients: tuple[float, float, float] = NS_COEFFICIENTS,
        ns_steps: int = 5,
        eps: float = 1e-7,
        adjust_lr_fn: str | None = None,
        ns_dtype: torch.dtype | None = torch.bfloat16,
        layer_types: dict[str, str] | None = None,
        tied_embeddings: str = "adamw",
        routes: Mapping[str, str] | None = None,
        adamw_lr: float = ADAMW_LR,
        adamw_betas: tuple[float, float] = (0.9, 0.999),
        adamw_eps: float = 1e-8,
        adamw_weight_decay: float | None = None,
        momentum_dtype: torch.dtype | None = None,
        nonfinite: str = "raise",
    ) -> None:
        if not (lr >= 0 and 0 <= momentum < 1 and weight_decay >= 0):
            raise ValueError(
                f"need lr >= 0, 0 <= momentum < 1, weight_decay >= 0; got {lr}, {momentum}, {weight_decay}"
            )
        if adjust_lr_fn not in ADJUST_LR:
            raise ValueError(f"adjust_lr_fn must be one of {ADJUST_LR}, got {adjust_lr_fn!r}")
        split = split_parameters(params, layer_types, tied_embeddings=tied_embeddings, routes=routes)
        groups = [{"params": [mp.param], "name": mp.name, "layer_type": mp.layer_type} for mp in split.matrix]
        defaults = dict(
            lr=lr,
            weight_decay=weight_decay,
            momentum=momentum,
            nesterov=nesterov,
            ns_coefficients=ns_coefficients,
            ns_steps=ns_steps,
            eps=eps,
            adjust_lr_fn=adjust_lr_fn,
            ns_dtype=ns_dtype,
        )
        super().__init__(
            groups,
            defaults,
            split,
            adamw_lr=adamw_lr,
            adamw_betas=adamw_betas,
            adamw_eps=adamw_eps,
            adamw_weight_decay=weight_decay if adamw_weight_decay is None else adamw_weight_decay,
            momentum_dtype=momentum_dtype,
            nonfinite=nonfinite,
        )

    def _matrix_step(self, groups: list[dict[str, Any]]) -> None:
        for group in groups:
            p = group["params"][0]
            g = self._grad_matrix(p)
            U = self._momentum(p, g, group["momentum"], group["nesterov"])
            ns = (group["ns_coefficients"], group["ns_steps"], group["eps"], group["ns_dtype"])
            # a grouped conv's blocks (g, m, n) are orthogonalised one by one
            O = newton_schulz(U, *ns) if U.dim() == 2 else torch.stack([newton_schulz(b, *ns) for b in U])
            lr = group["lr"]
            shape = (g.shape[-2], g.shape[-1])
            self._write(p, O, adjusted_lr(lr, group["adjust_lr_fn"], shape), lr * group["weight_decay"])


def make_muon(params: NamedParams, lr: float = 1e-3, **kw: Any) -> Muon:
    """:class:`Muon` over a model's (or named) parameters; ``kw`` as in :class:`Muon`."""
    return Muon(params, lr, **kw)
