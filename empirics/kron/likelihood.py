r"""The model's predictive distribution behind a per-sample loss, for the Gauss–Newton factor (THEORY.md G1).

The GN factor of a layer is :math:`\frac1B\sum_i M_i` with
:math:`M_i=(J_i^{f\leftarrow y})^\top\nabla_f^2\ell_i\,J_i^{f\leftarrow y}` (THEORY.md §1.3). It is estimated
from *would-be* errors :math:`\tilde\delta_i=\partial\ell_i(f,\tilde y)/\partial y_i` with labels
:math:`\tilde y` drawn from the model's own predictive distribution.

Scale. Write the per-sample loss as :math:`\ell_i=c\cdot\mathrm{NLL}_i` with a constant :math:`c`
(``scale``):

* ``categorical``: :math:`\mathrm{NLL}_i=\sum_t-\log\mathrm{softmax}(f_{i,t})_{y_{i,t}}` over the token
  positions :math:`t` (the class dimension is last); :math:`c=1` for a per-sample sum, :math:`c=1/T` for a
  per-sample mean over :math:`T` tokens (the LM convention of ``empirics``);
* ``gaussian``: :math:`\mathrm{NLL}_i=\tfrac12\lVert f_i-t_i\rVert^2` (unit variance); :math:`c=1` for
  :math:`\tfrac12\lVert\cdot\rVert^2`, :math:`2` for the squared error summed, :math:`2/d` for its mean.

The Fisher of the NLL equals its Hessian for these two canonical links, so
:math:`\mathbb E_{\tilde y}[\tilde\delta_i\tilde\delta_i^\top]=c^2\,J_i^\top\nabla_f^2\mathrm{NLL}_i\,J_i=c\,M_i`:
the sampled second moment must be **divided by** :math:`c` to estimate the GN factor. (Without this,
an LM's factor would be :math:`T` times too small.) :math:`c` is identified from the loss itself on the
measured batch; a loss that is not :math:`c\cdot\mathrm{NLL}` with one constant :math:`c` (label
smoothing, ignored tokens, class weights, ...) is refused with a one-line error.

Exact expectation (``hessian_sqrt_cotangents``): per token position, with :math:`p=\mathrm{softmax}(f)`,
:math:`\nabla_f^2\mathrm{NLL}=\mathrm{diag}(p)-pp^\top=\sum_j s_js_j^\top` with
:math:`s_j=\sqrt{p_j}\,(e_j-p)`; backpropagating :math:`\sqrt c\,s_j` (one position at a time, since
positions of one sample share the Jacobian) gives vectors whose outer products sum to :math:`M_i`.
That costs (positions × classes) backward passes: a reference for tests and small heads.
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F

__all__ = [
    "Likelihood",
    "LIKELIHOODS",
    "identify_likelihood",
    "sample_targets",
    "sample_seed",
    "sample_targets_keyed",
    "KEYED_LABELS",
    "hessian_sqrt_cotangents",
]

LIKELIHOODS = ("categorical", "gaussian")
_RTOL = 1e-6


@dataclass(frozen=True)
class Likelihood:
    """``kind`` in :data:`LIKELIHOODS`; ``scale`` is :math:`c` in :math:`\\ell_i=c\\cdot\\mathrm{NLL}_i`."""

    kind: str
    scale: float


def _nll(kind: str, outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """Per-sample negative log-likelihood (shape (B,)) of the canonical model of ``kind``."""
    B = outputs.shape[0]
    if kind == "categorical":
        C = outputs.shape[-1]
        ce = F.cross_entropy(outputs.reshape(-1, C), targets.reshape(-1).long(), reduction="none")
        return ce.reshape(B, -1).sum(dim=1)
    return 0.5 * (outputs - targets).reshape(B, -1).pow(2).sum(dim=1)


def _guess_kind(outputs: torch.Tensor, targets: torch.Tensor) -> str | None:
    if not torch.is_floating_point(targets) and tuple(targets.shape) == tuple(outputs.shape[:-1]):
        return "categorical"
    if torch.is_floating_point(targets) and tuple(targets.shape) == tuple(outputs.shape):
        return "gaussian"
    return None


def identify_likelihood(
    outputs: torch.Tensor, targets: torch.Tensor, losses: torch.Tensor, kind: str | None = None
) -> Likelihood:
    """Identify :math:`(\\text{kind}, c)` with ``losses`` :math:`=c\\cdot\\mathrm{NLL}` on this batch.

    ``kind`` defaults to ``categorical`` for integer targets of shape ``outputs.shape[:-1]`` and
    ``gaussian`` for float targets shaped like ``outputs``. Raises ``ValueError`` (one line) otherwise,
    or when the ratio ``losses / NLL`` is not one constant.
    """
    if kind is None:
        kind = _guess_kind(outputs, targets)
        if kind is None:
            raise ValueError(
                f"GN factor: cannot infer the predictive distribution from outputs {tuple(outputs.shape)} and "
                f"targets {tuple(targets.shape)} ({targets.dtype}); pass likelihood='categorical'|'gaussian' or gn_samples=0"
            )
    if kind not in LIKELIHOODS:
        raise ValueError(f"likelihood: unknown {kind!r}; choose from {LIKELIHOODS}")
    with torch.no_grad():
        nll = _nll(kind, outputs.detach(), targets)
        lo = losses.detach().to(nll.dtype)
        denom = float(nll.sum())
        if not math.isfinite(denom) or denom <= 0:
            raise ValueError(f"GN factor: the {kind} NLL of this batch is {denom}; cannot identify the loss scale")
        c = float(lo.sum()) / denom
        resid = float((lo - c * nll).abs().max())
        tol = _RTOL * float(lo.abs().max()) + 1e-300
        if not (c > 0 and resid <= tol):
            raise ValueError(
                f"GN factor: loss_fn is not c * {kind} NLL with one constant c on this batch "
                f"(max residual {resid:.3g}); pass likelihood=... explicitly or gn_samples=0"
            )
    return Likelihood(kind, c)


def sample_targets(lik: Likelihood, outputs: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    r"""Draw :math:`\tilde y` from the model's predictive distribution at ``outputs`` (detached).

    Categorical: per position, ``softmax(f).multinomial(1, generator)`` on the (positions, classes)
    view (the same call as curvlinops' ``draw_label``); Gaussian: :math:`f+\varepsilon`,
    :math:`\varepsilon\sim N(0,I)`.
    """
    f = outputs.detach()
    if lik.kind == "categorical":
        C = f.shape[-1]
        probs = f.reshape(-1, C).softmax(dim=1)
        return probs.multinomial(num_samples=1, generator=generator).reshape(f.shape[:-1])
    return f + torch.randn(f.shape, generator=generator, dtype=f.dtype, device=f.device)


#: the Monte-Carlo label scheme of :func:`sample_targets_keyed` (recorded in results, compared on resume)
KEYED_LABELS = "per-sample generator keyed by (seed, global sample index)"


def sample_seed(seed: int, index: int) -> int:
    """Seed of the generator that draws the labels of the sample with global index ``index`` (a 63-bit hash
    of ``(seed, index)``, so neighbouring seeds and indices give unrelated streams)."""
    digest = hashlib.blake2b(f"{int(seed)}/{int(index)}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "little") >> 1


def sample_targets_keyed(
    lik: Likelihood, outputs: torch.Tensor, *, seed: int, first_index: int, draws: int
) -> torch.Tensor:
    r"""``draws`` draws of :math:`\tilde y` for every sample, shape ``(draws, *targets_shape)``.

    Sample ``i`` of ``outputs`` (global index ``first_index + i``) draws from its own generator, seeded with
    :func:`sample_seed` ``(seed, first_index + i)`` and consumed draw after draw by :func:`sample_targets` on
    that sample alone. The labels of a sample therefore do not depend on how the batch is split into chunks
    or across processes: a ``torchrun`` measurement draws exactly the labels of the single-process one.
    """
    f = outputs.detach()
    per_sample = []
    for i in range(f.shape[0]):
        g = torch.Generator(device=f.device).manual_seed(sample_seed(seed, first_index + i))
        per_sample.append(torch.stack([sample_targets(lik, f[i : i + 1], g) for _ in range(draws)]))
    return torch.cat(per_sample, dim=1)


def hessian_sqrt_cotangents(lik: Likelihood, outputs: torch.Tensor) -> Iterator[torch.Tensor]:
    r"""Cotangents :math:`\sqrt c\,s` on ``outputs`` whose per-sample outer products sum to :math:`\nabla_f^2\ell_i`.

    Yields (positions × classes) tensors shaped like ``outputs``, each non-zero at one position only.
    """
    f = outputs.detach()
    B, C = f.shape[0], f.shape[-1]
    flat = f.reshape(B, -1, C)
    T = flat.shape[1]
    root_c = math.sqrt(lik.scale)
    probs = flat.softmax(dim=-1) if lik.kind == "categorical" else None
    eye = torch.eye(C, dtype=f.dtype, device=f.device)
    for t in range(T):
        for j in range(C):
            cot = torch.zeros_like(flat)
            if probs is not None:
                p = probs[:, t, :]
                cot[:, t, :] = root_c * p[:, j : j + 1].sqrt() * (eye[j] - p)
            else:
                cot[:, t, j] = root_c
            yield cot.reshape(f.shape)
