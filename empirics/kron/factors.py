r"""Kronecker-factor quantities along gradient singular directions (docs/theory-reference.md §1.4, §1.5).

With :math:`p_{it,k}=u_k^\top\delta_{i,t}` and :math:`q_{it,k}=w_k^\top a_{i,t}` (per sample :math:`i`,
position :math:`t=1..L`), everything here is built from five sums per direction:

.. math::
    S_{pp}=\sum_{i,t}p^2,\quad S_{qq}=\sum_{i,t}q^2,\quad S_{pq}=\sum_{i,t}pq,\quad
    S_{p^2q^2}=\sum_{i,t}p^2q^2,\quad S_{s^2}=\sum_i\Big(\sum_t p_{it}q_{it}\Big)^2 .

Then (I1) :math:`\sigma_k=S_{pq}/B`; :math:`\omega_k=S_{pq}^2/(S_{pp}S_{qq})`; the naive (im2col, the
:math:`BL` pairs as samples) PoS and SoP are :math:`S_{pp}S_{qq}/(BL)^2` and :math:`S_{p^2q^2}/(BL)`; the
KFC forms are :math:`L` times these; the per-sample EF curvature with cross-location terms is
:math:`h^{\rm EF}_k=S_{s^2}/B=v_k^\top F_{\rm EF}v_k`. For :math:`L=1` all forms coincide.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from empirics.distributed import all_reduce_sum
from empirics.kron.collect import LayerIO

__all__ = ["ProjectionSums", "projection_sums", "eig_desc", "quad_form", "zero_tolerance"]


@dataclass(frozen=True)
class ProjectionSums:
    """The five global sums of the module docstring, each of shape (k,)."""

    spp: torch.Tensor
    sqq: torch.Tensor
    spq: torch.Tensor
    sp2q2: torch.Tensor
    ss2: torch.Tensor


def projection_sums(io: LayerIO, U: torch.Tensor, W: torch.Tensor) -> ProjectionSums:
    r"""Accumulate :math:`p=\delta U`, :math:`q=AW` reductions chunk by chunk (conv patches rebuilt per chunk)."""
    k = U.shape[1]
    acc = {key: torch.zeros(k, dtype=U.dtype, device=U.device) for key in ("spp", "sqq", "spq", "sp2q2", "ss2")}
    for start, stop in io.chunks():
        a = io.patches(start, stop).to(device=U.device, dtype=U.dtype)
        d = io.errors[start:stop].to(device=U.device, dtype=U.dtype)
        P = d @ U
        Q = a @ W
        PQ = P * Q
        acc["spp"] += P.pow(2).sum(dim=(0, 1))
        acc["sqq"] += Q.pow(2).sum(dim=(0, 1))
        acc["spq"] += PQ.sum(dim=(0, 1))
        acc["sp2q2"] += PQ.pow(2).sum(dim=(0, 1))
        acc["ss2"] += PQ.sum(dim=1).pow(2).sum(dim=0)
    return ProjectionSums(**{key: all_reduce_sum(v) for key, v in acc.items()})


def eig_desc(C: torch.Tensor) -> torch.Tensor:
    """Eigenvalues of the symmetric matrix ``C``, sorted in decreasing order."""
    return torch.linalg.eigvalsh(0.5 * (C + C.T)).flip(0)


def quad_form(C: torch.Tensor, U: torch.Tensor) -> torch.Tensor:
    r""":math:`(u_k^\top C u_k)_k` for the columns of ``U``."""
    return torch.einsum("ik,ij,jk->k", U, C, U)


def zero_tolerance(evals: torch.Tensor) -> float:
    r"""Eigenvalues at or below :math:`\dim\cdot\varepsilon\cdot\lambda_1` count as zero (numerically)."""
    if evals.numel() == 0:
        return 0.0
    return float(evals.numel() * torch.finfo(evals.dtype).eps * max(float(evals[0]), 0.0))
