r"""Numeric counterparts of THEORY.md §1 on arrays (float64, pure numpy, no sympy).

Inputs are the per-sample errors :math:`\delta\in\mathbb R^{B\times m}` and the layer inputs
:math:`A\in\mathbb R^{B\times n}`; everything else is derived:

* :math:`G=\frac1B\delta^\top A`, :math:`C_\delta=\frac1B\delta^\top\delta`, :math:`C_A=\frac1B A^\top A` (uncentred);
* thin SVD :math:`G=\sum_k\sigma_k u_k w_k^\top` (right singular vectors are :math:`w_k`, THEORY.md §1.1);
* :math:`p_k=\delta u_k`, :math:`q_k=Aw_k`; :math:`h^{\rm Kron}_k=(u_k^\top C_\delta u_k)(w_k^\top C_Aw_k)=\tfrac{\|p_k\|^2}{B}\tfrac{\|q_k\|^2}{B}`;
* :math:`h^{\rm SoP}_k=\frac1B\sum_i p_{ik}^2q_{ik}^2`, :math:`\omega_k=(p_k^\top q_k)^2/(\|p_k\|^2\|q_k\|^2)`,
  :math:`R_k=h^{\rm SoP}_k/h^{\rm Kron}_k`, :math:`\chi_k=h^{\rm exact}_k/h^{\rm Kron}_k`;
* :math:`\rho^{(\delta)}_k=u_k^\top C_\delta u_k/\lambda^\delta_k`, :math:`\rho^{(A)}_k=w_k^\top C_Aw_k/\lambda^A_k`,
  :math:`\Phi_k=\rho^{(\delta)}_k\rho^{(A)}_k`, :math:`\Lambda_k=\lambda^\delta_k\lambda^A_k` (eigenvalues sorted decreasingly);
* slopes :math:`\beta,\phi,\psi_\omega,\psi_\chi` are OLS slopes against :math:`\ln\sigma_k` on one window, computed with
  :func:`theory.fits.log_slope` (the single implementation of every fit).

**Vec convention (stated once).** ``"row"``: :math:`\mathrm{vec}_r(X)=` ``X.ravel()`` (C order), so
:math:`\mathrm{vec}_r(uw^\top)=u\otimes w` and the Kronecker model is :math:`C_\delta\otimes C_A`.
``"col"``: :math:`\mathrm{vec}_c(X)=` ``X.ravel(order="F")``, :math:`\mathrm{vec}_c(uw^\top)=w\otimes u`, and the same
operator is :math:`C_A\otimes C_\delta` (K-FAC's form). Pairing a vec with the other factor order is wrong (G2).
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields

import numpy as np

from theory.fits import fit_alpha, log_slope

__all__ = [
    "CONVENTIONS",
    "vec",
    "unvec",
    "kron_model",
    "second_moments",
    "gradient",
    "gradient_svd",
    "sorted_eigh",
    "projections",
    "h_kron",
    "h_kron_from_projections",
    "h_sop",
    "omega",
    "alignment_ratio",
    "alignment_cosines",
    "concentration_ratio",
    "rayleigh",
    "empirical_fisher",
    "Decomposition",
    "decompose",
]

CONVENTIONS = ("row", "col")


def _check_convention(convention: str) -> None:
    if convention not in CONVENTIONS:
        raise ValueError(f"convention must be one of {CONVENTIONS}, got {convention!r}")


def vec(X: np.ndarray, convention: str = "row") -> np.ndarray:
    """``row``: ``X.ravel()`` (C order); ``col``: ``X.ravel(order="F")``."""
    _check_convention(convention)
    return np.asarray(X).ravel(order="C" if convention == "row" else "F")


def unvec(v: np.ndarray, shape: tuple[int, int], convention: str = "row") -> np.ndarray:
    """Inverse of :func:`vec`."""
    _check_convention(convention)
    return np.asarray(v).reshape(shape, order="C" if convention == "row" else "F")


def kron_model(C_delta: np.ndarray, C_A: np.ndarray, convention: str = "row") -> np.ndarray:
    r"""The Kronecker curvature model in the given vec convention: row → :math:`C_\delta\otimes C_A`, col → :math:`C_A\otimes C_\delta`."""
    _check_convention(convention)
    return np.kron(C_delta, C_A) if convention == "row" else np.kron(C_A, C_delta)


def second_moments(delta: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r""":math:`(C_\delta, C_A)=(\frac1B\delta^\top\delta,\ \frac1B A^\top A)` — uncentred second moments."""
    delta, A = _check_batch(delta, A)
    B = delta.shape[0]
    return delta.T @ delta / B, A.T @ A / B


def gradient(delta: np.ndarray, A: np.ndarray) -> np.ndarray:
    r""":math:`G=\frac1B\delta^\top A\in\mathbb R^{m\times n}`."""
    delta, A = _check_batch(delta, A)
    return delta.T @ A / delta.shape[0]


def _check_batch(delta: np.ndarray, A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    delta = np.asarray(delta, dtype=float)
    A = np.asarray(A, dtype=float)
    if delta.ndim != 2 or A.ndim != 2 or delta.shape[0] != A.shape[0]:
        raise ValueError(f"delta (B×m) and A (B×n) must share B; got {delta.shape} and {A.shape}")
    return delta, A


def gradient_svd(G: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    r"""Thin SVD :math:`G=U\,\mathrm{diag}(\sigma)W^\top`; returns ``(sigma, U, W)`` with ``U`` m×r, ``W`` n×r, r = min(m, n).

    Signs are fixed so that :math:`u_k^\top G w_k=\sigma_k\ge0` (numpy's convention already gives that).
    """
    U, s, Vt = np.linalg.svd(np.asarray(G, dtype=float), full_matrices=False)
    return s, U, Vt.T


def sorted_eigh(C: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Eigenvalues (decreasing) and eigenvectors (columns) of a symmetric matrix."""
    lam, Q = np.linalg.eigh(np.asarray(C, dtype=float))
    order = np.argsort(lam)[::-1]
    return lam[order], Q[:, order]


def projections(delta: np.ndarray, A: np.ndarray, U: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    r"""Per-sample projections :math:`p=\delta U` (B×r) and :math:`q=AW` (B×r)."""
    return np.asarray(delta) @ U, np.asarray(A) @ W


def h_kron(C_delta: np.ndarray, C_A: np.ndarray, U: np.ndarray, W: np.ndarray) -> np.ndarray:
    r""":math:`h^{\rm Kron}_k=(u_k^\top C_\delta u_k)(w_k^\top C_A w_k)` (factorised form)."""
    return np.einsum("ik,ij,jk->k", U, C_delta, U) * np.einsum("ik,ij,jk->k", W, C_A, W)


def h_kron_from_projections(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r""":math:`h^{\rm PoS}_k=\frac{\|p_k\|^2}{B}\cdot\frac{\|q_k\|^2}{B}` (product of sums)."""
    B = p.shape[0]
    return (p * p).sum(0) / B * ((q * q).sum(0) / B)


def h_sop(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r""":math:`h^{\rm SoP}_k=\frac1B\sum_i p_{ik}^2q_{ik}^2=v_k^\top F_{\rm EF}v_k` (sum of products)."""
    return np.mean(p * p * q * q, axis=0)


def omega(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r"""Sample-space coherence :math:`\omega_k=(p_k^\top q_k)^2/(\|p_k\|^2\|q_k\|^2)\in[0,1]`."""
    pq = (p * q).sum(0)
    return pq * pq / ((p * p).sum(0) * (q * q).sum(0))


def alignment_ratio(C: np.ndarray, vectors: np.ndarray, lam: np.ndarray) -> np.ndarray:
    r""":math:`\rho_k=x_k^\top C x_k/\lambda_k` for the columns :math:`x_k` (Definition 1). NaN where :math:`\lambda_k\le0`."""
    num = np.einsum("ik,ij,jk->k", vectors, C, vectors)
    lam = np.asarray(lam, dtype=float)[: num.size]
    out = np.full(num.shape, np.nan)
    pos = lam > 0
    out[pos] = num[pos] / lam[pos]
    return out


def alignment_cosines(Q: np.ndarray, vectors: np.ndarray) -> np.ndarray:
    r""":math:`|\langle x_k,q_k\rangle|` between the columns :math:`x_k` and the eigenvectors :math:`q_k` (columns of
    ``Q``, sorted by decreasing eigenvalue): 1 for every :math:`k` under perfect alignment (:math:`Q=U` up to signs)."""
    r = vectors.shape[1]
    return np.abs(np.einsum("ik,ik->k", np.asarray(vectors), np.asarray(Q)[:, :r]))


def concentration_ratio(p: np.ndarray, q: np.ndarray) -> np.ndarray:
    r""":math:`R_k=h^{\rm SoP}_k/h^{\rm PoS}_k` (per direction)."""
    return h_sop(p, q) / h_kron_from_projections(p, q)


def rayleigh(H: np.ndarray, u: np.ndarray, w: np.ndarray, convention: str = "row") -> float:
    r""":math:`v^\top Hv` with :math:`v=\mathrm{vec}(uw^\top)` in the given convention (explicit, O((mn)^2))."""
    v = vec(np.outer(u, w), convention)
    return float(v @ H @ v)


def empirical_fisher(delta: np.ndarray, A: np.ndarray, convention: str = "row") -> np.ndarray:
    r""":math:`F_{\rm EF}=\frac1B\sum_i g_ig_i^\top`, :math:`g_i=\mathrm{vec}(\delta_ia_i^\top)` (explicit; small sizes only)."""
    delta, A = _check_batch(delta, A)
    g = np.stack([vec(np.outer(d, a), convention) for d, a in zip(delta, A, strict=True)])
    return g.T @ g / delta.shape[0]


@dataclass(frozen=True)
class Decomposition:
    r"""Every per-direction quantity of THEORY.md §1.4 on the window :math:`k=1..K`, plus the slopes.

    ``alpha_exact``, ``chi`` and ``psi_chi`` are NaN unless an exact curvature was supplied. ``align_delta`` and
    ``align_A`` are :math:`|\langle u_k,q^\delta_k\rangle|` and :math:`|\langle w_k,q^A_k\rangle|` (eigenvectors of
    :math:`C_\delta`, :math:`C_A` in decreasing order): all 1 under perfect alignment.
    """

    sigma: np.ndarray
    U: np.ndarray
    W: np.ndarray
    p: np.ndarray
    q: np.ndarray
    lam_delta: np.ndarray
    lam_A: np.ndarray
    uCu: np.ndarray
    wCw: np.ndarray
    h_kron: np.ndarray
    h_sop: np.ndarray
    omega: np.ndarray
    rho_delta: np.ndarray
    rho_A: np.ndarray
    Phi: np.ndarray
    Lambda: np.ndarray
    R: np.ndarray
    h_exact: np.ndarray | None
    chi: np.ndarray | None
    alpha_kron: float
    alpha_exact: float
    beta: float
    phi: float
    psi_omega: float
    psi_chi: float
    K: int
    align_delta: np.ndarray
    align_A: np.ndarray
    notes: tuple[str, ...] = field(default=())

    def summary(self) -> dict[str, float]:
        keys = ("alpha_kron", "alpha_exact", "beta", "phi", "psi_omega", "psi_chi")
        return {k: float(getattr(self, k)) for k in keys}

    def __repr__(self) -> str:
        s = self.summary()
        nums = ", ".join(f"{k} = {v:.4f}" for k, v in s.items() if np.isfinite(v))
        arrays = ", ".join(
            f.name for f in fields(self) if isinstance(getattr(self, f.name), np.ndarray) and f.name != "U"
        )
        lines = [
            f"Decomposition(K = {self.K}, sigma_1 = {self.sigma[0]:.4g}, sigma_K = {self.sigma[-1]:.4g})",
            f"  slopes: {nums}",
            f"  min alignment |<u_k, q^delta_k>| = {self.align_delta.min():.3f}, |<w_k, q^A_k>| = {self.align_A.min():.3f}",
            f"  arrays (per direction k = 1..K): U, {arrays}",
        ]
        lines += [f"  note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(repr(self))


def decompose(
    delta: np.ndarray,
    A: np.ndarray,
    h_exact: np.ndarray | None = None,
    K: int | None = None,
) -> Decomposition:
    r"""All of §1.4 for one layer: SVD of :math:`G`, projections, curvatures, ratios and slopes on :math:`k\le K`.

    ``h_exact`` (length ≥ K, in singular-index order) is the exact directional curvature; it fixes
    :math:`\chi_k` and :math:`\alpha_{\rm exact}`. ``K`` defaults to the number of singular values with
    :math:`\sigma_k>10^{-12}\sigma_1` (directions with :math:`\sigma_k=0` have no logarithm). Slopes that
    need a logarithm of a non-positive value come back NaN, with a note; nothing is dropped silently.
    """
    delta, A = _check_batch(delta, A)
    C_delta, C_A = second_moments(delta, A)
    sigma, U, W = gradient_svd(gradient(delta, A))
    if K is None:
        K = int(np.sum(sigma > 1e-12 * sigma[0])) if sigma.size and sigma[0] > 0 else 0
    if not 1 <= K <= sigma.size:
        raise ValueError(f"window K={K} outside 1..{sigma.size}")
    sigma, U, W = sigma[:K], U[:, :K], W[:, :K]
    lam_d, Q_d = sorted_eigh(C_delta)
    lam_a, Q_a = sorted_eigh(C_A)
    p, q = projections(delta, A, U, W)
    uCu = np.einsum("ik,ij,jk->k", U, C_delta, U)
    wCw = np.einsum("ik,ij,jk->k", W, C_A, W)
    hk = uCu * wCw
    rho_d = alignment_ratio(C_delta, U, lam_d)
    rho_a = alignment_ratio(C_A, W, lam_a)
    Lam = lam_d[:K] * lam_a[:K]
    notes = []

    def slope(y: np.ndarray, name: str) -> float:
        y = np.asarray(y, dtype=float)
        if not np.all(np.isfinite(y) & (y > 0)):
            notes.append(f"{name}: non-positive or undefined values on the window, slope is NaN")
            return float("nan")
        return float(log_slope(sigma, y))

    chi = None
    alpha_exact = psi_chi = float("nan")
    if h_exact is not None:
        h_exact = np.asarray(h_exact, dtype=float)[:K]
        chi = h_exact / hk
        alpha_exact = fit_alpha(sigma, h_exact).alpha
        psi_chi = slope(chi, "psi_chi")
    return Decomposition(
        sigma=sigma,
        U=U,
        W=W,
        p=p,
        q=q,
        lam_delta=lam_d,
        lam_A=lam_a,
        uCu=uCu,
        wCw=wCw,
        h_kron=hk,
        h_sop=h_sop(p, q),
        omega=omega(p, q),
        rho_delta=rho_d,
        rho_A=rho_a,
        Phi=rho_d * rho_a,
        Lambda=Lam,
        R=concentration_ratio(p, q),
        h_exact=h_exact,
        chi=chi,
        alpha_kron=fit_alpha(sigma, hk).alpha,
        alpha_exact=float(alpha_exact),
        beta=slope(Lam, "beta"),
        phi=slope(rho_d * rho_a, "phi"),
        psi_omega=slope(omega(p, q), "psi_omega"),
        psi_chi=float(psi_chi),
        K=K,
        align_delta=alignment_cosines(Q_d, U),
        align_A=alignment_cosines(Q_a, W),
        notes=tuple(notes),
    )
