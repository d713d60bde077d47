r"""The Spectral Newton direction :math:`\Delta W=\sum_kT(\sigma_k;\alpha)\,u_kw_k^\top` in torch, without an SVD.

docs/theory-reference.md §"Transfer function" and §3.12. For a gradient (or momentum) matrix :math:`G=\sum_k\sigma_ku_kw_k^\top`
(:math:`m\times n`, thin SVD, :math:`w_k` the right singular vectors) and

.. math:: T(\sigma;\alpha)=\frac{\sigma}{\sigma^\alpha+d},\qquad d>0,

the update is the matrix function (§3.12 (i))

.. math:: \Delta W=G\big((G^\top G)^{\alpha/2}+dI_n\big)^{-1}=\big((GG^\top)^{\alpha/2}+dI_m\big)^{-1}G .

Routes (all accept a batch ``(..., m, n)``; all work on the **smaller** Gram side, :math:`k=\min(m,n)`).
Dtypes: float64 is computed in float64, everything else (float32, bfloat16, float16) in float32
(:func:`compute_dtype`: torch has no 16-bit Cholesky/eigh on CPU, and a Gram matrix squares the condition
number, which bfloat16's 8 significant bits cannot carry); the result is returned in the input's dtype.

* :func:`sn_cholesky` — :math:`\alpha=2` only (§3.12 (ii)): :math:`(GG^\top+dI)^{-1}G` or :math:`G(G^\top G+dI)^{-1}`
  by one Cholesky factorisation, the inverse from the factor and one matrix product; about
  :math:`4k^2\max(m,n)+k^3` flops (Muon's five quintic Newton–Schulz steps: about :math:`20k^2\max(m,n)+10k^3`).
  If a factorisation fails (only possible when :math:`d\ll\epsilon\lVert G\rVert_2^2` in floating point), that
  batch falls back to :func:`sn_eigh`, which is always finite.
* :func:`sn_eigh` — any :math:`\alpha`: eigendecomposition of the smaller Gram matrix, e.g.
  :math:`G^\top G=V\Lambda V^\top`, then :math:`\Delta W=G\,V\,\mathrm{diag}\big(1/(\lambda^{\alpha/2}+d)\big)V^\top`.
  Round-off can make eigenvalues of a singular Gram matrix slightly negative; they are **clamped to 0**
  (exactly zero for an exact null direction, whose :math:`Gv=0` contributes nothing). Because the Gram matrix
  squares the spectrum, a singular value below about :math:`\sqrt{\epsilon}\,\sigma_1` is only known to
  absolute accuracy :math:`\epsilon\,\sigma_1^2/\sigma`; for :math:`\alpha<2` (where :math:`\lambda^{\alpha/2}` is
  steep at 0) such directions can carry an absolute error up to roughly :math:`\sqrt{\epsilon}\,\sigma_1/d`.
  Generic matrices (and exactly rank-deficient ones, whose null directions are annihilated by :math:`G`) are
  far from that regime; :func:`sn_svd` is the accurate reference.
* :func:`sn_svd` — the definition, through ``torch.linalg.svd`` (reference only).

Limits: :math:`G=0\Rightarrow\Delta W=0`; tiny :math:`\sigma` gives :math:`T\to\sigma/d` (finite);
:math:`d\le0` raises ``ValueError`` (at :math:`d=0` the map is undefined on rank-deficient :math:`G`; the
:math:`d\to0`, :math:`\alpha=1` limit is the polar factor :math:`UW^\top`, Muon's target, §3.12 (iv)).
"""

from __future__ import annotations

import math

import torch
from torch import Tensor

__all__ = ["METHODS", "compute_dtype", "transfer_function", "sn_direction", "sn_cholesky", "sn_eigh", "sn_svd"]

#: Routes accepted by :func:`sn_direction`; ``auto`` = ``cholesky`` for α = 2, else ``eigh``.
METHODS = ("auto", "cholesky", "eigh", "svd")


def compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """The dtype the transfer is computed in for inputs of ``dtype``: float64 for float64, else float32."""
    return torch.float64 if dtype == torch.float64 else torch.float32


def _check(G: Tensor, d: float, alpha: float | None = None) -> None:
    if G.dim() < 2:
        raise ValueError(f"G must be a matrix or a batch of matrices, got shape {tuple(G.shape)}")
    if not G.is_floating_point():
        raise ValueError(f"G must be floating point, got {G.dtype}")
    if not (isinstance(d, (int, float)) and math.isfinite(d) and d > 0):
        raise ValueError(f"damping d must be a finite number > 0, got {d!r}")
    if alpha is not None and not (math.isfinite(alpha) and alpha >= 0):
        raise ValueError(f"alpha must be a finite number >= 0, got {alpha!r}")


def transfer_function(sigma: Tensor, alpha: float, d: float = 0.1) -> Tensor:
    r""":math:`T(\sigma;\alpha)=\sigma/(\sigma^\alpha+d)`, elementwise (:math:`\sigma\ge0`)."""
    return sigma / (sigma.pow(alpha) + d)


def _shift_diag(A: Tensor, d: float) -> Tensor:
    A.diagonal(dim1=-2, dim2=-1).add_(d)
    return A


def sn_cholesky(G: Tensor, d: float = 0.1) -> Tensor:
    r""":math:`\alpha=2`: :math:`\Delta W=(GG^\top+dI_m)^{-1}G` if :math:`m\le n`, else :math:`G(G^\top G+dI_n)^{-1}`.

    One Cholesky factorisation of the smaller Gram matrix :math:`A` (``torch.linalg.cholesky_ex``),
    :math:`A^{-1}` from the factor (``torch.cholesky_inverse``) and one product with :math:`G`; where a
    factorisation fails, that input is recomputed by :func:`sn_eigh`.
    """
    _check(G, d)
    if G.dtype != compute_dtype(G.dtype):
        return sn_cholesky(G.to(compute_dtype(G.dtype)), d).to(G.dtype)
    m, n = G.shape[-2:]
    if G.numel() == 0:
        return torch.zeros_like(G)
    wide = m <= n
    A = _shift_diag(G @ G.mT if wide else G.mT @ G, d)
    L, info = torch.linalg.cholesky_ex(A)
    # A⁻¹ from the factor, then one matrix product: on CPU ~10× faster than cholesky_solve / two triangular
    # solves with max(m, n) right-hand sides (LAPACK potrs), at the same κ(A)·ε forward accuracy for SPD A
    Ainv = torch.cholesky_inverse(L)
    X = Ainv @ G if wide else G @ Ainv
    failed = info != 0
    if bool(failed.any()):
        if failed.dim() == 0:
            return sn_eigh(G, 2.0, d)
        X = X.clone()
        X[failed] = sn_eigh(G[failed], 2.0, d)
    return X


def sn_eigh(G: Tensor, alpha: float, d: float = 0.1) -> Tensor:
    r"""Any :math:`\alpha\ge0`: eigendecomposition of the smaller Gram matrix.

    :math:`m\ge n`: :math:`G^\top G=V\Lambda V^\top`, :math:`\Delta W=(GV)\,\mathrm{diag}(f(\lambda))\,V^\top`;
    :math:`m<n`: :math:`GG^\top=U\Lambda U^\top`, :math:`\Delta W=U\,\mathrm{diag}(f(\lambda))\,(U^\top G)`;
    with :math:`f(\lambda)=1/(\max(\lambda,0)^{\alpha/2}+d)` (negative round-off eigenvalues clamped to 0).
    """
    _check(G, d, alpha)
    if G.dtype != compute_dtype(G.dtype):
        return sn_eigh(G.to(compute_dtype(G.dtype)), alpha, d).to(G.dtype)
    m, n = G.shape[-2:]
    if G.numel() == 0:
        return torch.zeros_like(G)
    if m >= n:
        lam, V = torch.linalg.eigh(G.mT @ G)
        f = 1.0 / (lam.clamp_min(0).pow(alpha / 2) + d)
        return ((G @ V) * f.unsqueeze(-2)) @ V.mT
    lam, U = torch.linalg.eigh(G @ G.mT)
    f = 1.0 / (lam.clamp_min(0).pow(alpha / 2) + d)
    return U @ (f.unsqueeze(-1) * (U.mT @ G))


def sn_svd(G: Tensor, alpha: float, d: float = 0.1) -> Tensor:
    r"""The definition :math:`U\,\mathrm{diag}(T(\sigma_k;\alpha))\,W^\top` by a thin SVD (reference route)."""
    _check(G, d, alpha)
    if G.dtype != compute_dtype(G.dtype):
        return sn_svd(G.to(compute_dtype(G.dtype)), alpha, d).to(G.dtype)
    if G.numel() == 0:
        return torch.zeros_like(G)
    U, s, Vh = torch.linalg.svd(G, full_matrices=False)
    return (U * transfer_function(s, alpha, d).unsqueeze(-2)) @ Vh


def sn_direction(G: Tensor, alpha: float = 2.0, d: float = 0.1, method: str = "auto") -> Tensor:
    r""":math:`\Delta W=\sum_kT(\sigma_k;\alpha)u_kw_k^\top` by ``method`` (one of :data:`METHODS`).

    ``auto`` uses :func:`sn_cholesky` for :math:`\alpha=2` and :func:`sn_eigh` otherwise; ``cholesky`` with
    :math:`\alpha\ne2` is a ``ValueError``.

    >>> G = torch.tensor([[3.0, 0.0], [0.0, 1.0]], dtype=torch.float64)
    >>> [round(v, 12) for v in sn_direction(G, 2.0, 0.1).diagonal().tolist()]  # 3/(9+0.1), 1/(1+0.1)
    [0.32967032967, 0.909090909091]
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose from {', '.join(METHODS)}")
    if method == "cholesky" and alpha != 2:
        raise ValueError(f"method 'cholesky' needs alpha = 2, got {alpha}")
    if method == "cholesky" or (method == "auto" and alpha == 2):
        return sn_cholesky(G, d)
    if method == "svd":
        return sn_svd(G, alpha, d)
    return sn_eigh(G, alpha, d)
