r"""Synthetic generators A–H of THEORY.md §3.0 (numpy, float64, seeded).

Each returns an :class:`Instance` carrying :math:`\delta` (B×m), :math:`A` (B×n), the population
spectra used, and — where the recipe has one — the exact Hessian as a Kronecker pair
:math:`H=L\otimes R` in the **row-major** vec (so :math:`h^{\rm exact}_k=(u_k^\top Lu_k)(w_k^\top Rw_k)`).

Common pieces: :math:`U_0,V_0,S` have orthonormal columns (QR of Gaussians); spectra are power laws
:math:`\lambda_k=k^{-a}`, so products are strictly decreasing.

>>> inst = recipe_e(seed=0)           # aligned linear least squares, lambda^A_k = e_k = k^-1
>>> inst
Instance(recipe E: B=64, m=8, n=8, noise=0.0, aligned=True, residual_scale=1.0, seed=0; with exact Hessian; .params also holds lam_A, e, U0, V0, W, W_star, targets)
>>> dec = inst.decompose()
>>> round(dec.alpha_kron, 6), round(dec.alpha_exact, 6)
(2.0, 0.5)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

__all__ = [
    "Instance",
    "power_law",
    "recipe_a",
    "recipe_b",
    "recipe_c",
    "recipe_d",
    "recipe_e",
    "recipe_f",
    "recipe_g",
    "recipe_g_aligned",
    "recipe_h",
    "RECIPES",
]


@dataclass(frozen=True)
class Instance:
    """One generated layer: errors ``delta`` (B×m), inputs ``A`` (B×n) and what the recipe fixed."""

    recipe: str
    delta: np.ndarray
    A: np.ndarray
    params: dict = field(default_factory=dict)
    hessian_kron: tuple[np.ndarray, np.ndarray] | None = None
    curvature: Callable[[np.ndarray, np.ndarray], np.ndarray] | None = field(default=None, repr=False)

    @property
    def B(self) -> int:
        return int(self.delta.shape[0])

    @property
    def m(self) -> int:
        return int(self.delta.shape[1])

    @property
    def n(self) -> int:
        return int(self.A.shape[1])

    def h_exact(self, U: np.ndarray, W: np.ndarray) -> np.ndarray | None:
        r""":math:`h^{\rm exact}_k=v_k^\top Hv_k` for the columns of ``U``, ``W`` (None if the recipe has no exact Hessian)."""
        if self.curvature is not None:
            return self.curvature(U, W)
        if self.hessian_kron is None:
            return None
        L, R = self.hessian_kron
        return np.einsum("ik,ij,jk->k", U, L, U) * np.einsum("ik,ij,jk->k", W, R, W)

    def decompose(self, K: int | None = None):
        """:func:`theory.numeric.decompose` of this instance, with its exact curvature where the recipe has one."""
        from theory.numeric import decompose, gradient, gradient_svd

        _, U, W = gradient_svd(gradient(self.delta, self.A))
        return decompose(self.delta, self.A, h_exact=self.h_exact(U, W), K=K)

    def __repr__(self) -> str:
        scalars = ", ".join(f"{k}={v!r}" for k, v in self.params.items() if _is_scalar(v))
        arrays = ", ".join(k for k, v in self.params.items() if not _is_scalar(v))
        exact = (
            "with exact Hessian" if self.hessian_kron is not None or self.curvature is not None else "no exact Hessian"
        )
        return (
            f"Instance(recipe {self.recipe}: B={self.B}, m={self.m}, n={self.n}, {scalars}; {exact}"
            + (f"; .params also holds {arrays}" if arrays else "")
            + ")"
        )

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(repr(self))

    def hessian(self, convention: str = "row") -> np.ndarray:
        """The exact Hessian as an explicit (mn × mn) matrix in the given vec convention (small sizes only)."""
        if self.hessian_kron is None:
            raise ValueError(f"recipe {self.recipe} has no exact Hessian")
        L, R = self.hessian_kron
        return np.kron(L, R) if convention == "row" else np.kron(R, L)


def _is_scalar(v) -> bool:
    return v is None or isinstance(v, bool | int | float | str | np.integer | np.floating)


def power_law(r: int, exponent: float) -> np.ndarray:
    r""":math:`\lambda_k=k^{-a}`, :math:`k=1..r`."""
    return np.arange(1, r + 1, dtype=float) ** (-float(exponent))


def _orth(rng: np.random.Generator, rows: int, cols: int) -> np.ndarray:
    Q, _ = np.linalg.qr(rng.standard_normal((rows, cols)))
    return Q


def recipe_a(m=6, n=5, B=32, r=None, a_delta=1.3, a_A=0.9, seed=0) -> Instance:
    r"""A: exact alignment, :math:`\omega\equiv1`. :math:`\delta=\sqrt B S\Lambda_\delta^{1/2}U_0^\top`, :math:`A=\sqrt B S\Lambda_A^{1/2}V_0^\top`.

    Then :math:`C_\delta=U_0\Lambda_\delta U_0^\top`, :math:`C_A=V_0\Lambda_AV_0^\top`, :math:`G=U_0(\Lambda_\delta\Lambda_A)^{1/2}V_0^\top`.
    """
    r = min(m, n, B) if r is None else r
    rng = np.random.default_rng(seed)
    U0, V0, S = _orth(rng, m, r), _orth(rng, n, r), _orth(rng, B, r)
    ld, la = power_law(r, a_delta), power_law(r, a_A)
    delta = np.sqrt(B) * S * np.sqrt(ld) @ U0.T
    A = np.sqrt(B) * S * np.sqrt(la) @ V0.T
    return Instance("A", delta, A, dict(lam_delta=ld, lam_A=la, U0=U0, V0=V0, r=r, seed=seed))


def recipe_b(m=6, n=5, B=32, r=None, a_delta=1.3, a_A=0.9, w=0.7, seed=0) -> Instance:
    r"""B: exact alignment with prescribed :math:`\omega_k=c_k^2=k^{-w}`.

    :math:`[S_p,T]` orthonormal (B×2r), :math:`S_q=S_p\mathrm{diag}(c)+T\mathrm{diag}(\sqrt{1-c^2})`,
    :math:`\delta=\sqrt BS_p\Lambda_\delta^{1/2}U_0^\top`, :math:`A=\sqrt BS_q\Lambda_A^{1/2}V_0^\top`; :math:`\rho\equiv1`.
    """
    r = min(m, n, B // 2) if r is None else r
    if 2 * r > B:
        raise ValueError(f"recipe B needs B >= 2r, got B={B}, r={r}")
    rng = np.random.default_rng(seed)
    U0, V0, ST = _orth(rng, m, r), _orth(rng, n, r), _orth(rng, B, 2 * r)
    Sp, T = ST[:, :r], ST[:, r:]
    c = power_law(r, w / 2.0)
    Sq = Sp * c + T * np.sqrt(1.0 - c * c)
    ld, la = power_law(r, a_delta), power_law(r, a_A)
    delta = np.sqrt(B) * Sp * np.sqrt(ld) @ U0.T
    A = np.sqrt(B) * Sq * np.sqrt(la) @ V0.T
    return Instance("B", delta, A, dict(lam_delta=ld, lam_A=la, c=c, omega=c * c, U0=U0, V0=V0, r=r, seed=seed))


def recipe_c(m=6, n=5, B=32, a_delta=1.3, a_A=0.9, coupling=1.0, seed=0) -> Instance:
    r"""C: generic. :math:`A=Z_2\,\mathrm{diag}(k^{-a_A/2})R`, :math:`\delta=AM^\top+Z_1\mathrm{diag}(k^{-a_\delta/2})` (rotated, correlated)."""
    rng = np.random.default_rng(seed)
    R = _orth(rng, n, n)
    A = rng.standard_normal((B, n)) * np.sqrt(power_law(n, a_A)) @ R.T
    M = coupling * rng.standard_normal((m, n)) / np.sqrt(n)
    delta = A @ M.T + rng.standard_normal((B, m)) * np.sqrt(power_law(m, a_delta)) @ _orth(rng, m, m).T
    return Instance("C", delta, A, dict(seed=seed, coupling=coupling))


def recipe_d(B=400_000, r=8, a_delta=1.3, a_A=0.9, f_exponent=0.5, seed=0) -> Instance:
    r"""D: aligned in population, independent squares; :math:`U=V=I`.

    :math:`p_{ik}=\sqrt{\lambda^\delta_k}z_{ik}`, :math:`q_{ik}=\sqrt{\lambda^A_k}\,\mathrm{sgn}(z_{ik})\varepsilon_{ik}|z'_{ik}|`
    with :math:`P(\varepsilon=+1)=f_k`, :math:`2f_k-1=k^{-f}`. Population: :math:`\omega_k\to(2/\pi)^2(2f_k-1)^2`.
    """
    rng = np.random.default_rng(seed)
    ld, la = power_law(r, a_delta), power_law(r, a_A)
    bias = power_law(r, f_exponent)  # 2 f_k - 1
    z = rng.standard_normal((B, r))
    zp = np.abs(rng.standard_normal((B, r)))
    eps = np.where(rng.random((B, r)) < (1 + bias) / 2, 1.0, -1.0)
    delta = np.sqrt(ld) * z
    A = np.sqrt(la) * np.sign(z) * eps * zp
    omega_pop = (2 / np.pi) ** 2 * bias**2
    return Instance(
        "D", delta, A, dict(lam_delta=ld, lam_A=la, two_f_minus_1=bias, omega_population=omega_pop, seed=seed)
    )


def recipe_e(m=8, n=8, B=64, a_A=1.0, e_exponent=1.0, aligned=True, noise=0.0, residual_scale=1.0, seed=0) -> Instance:
    r"""E: linear least squares :math:`\mathcal L=\frac1{2B}\sum_i\|Wa_i-t_i\|^2`, :math:`\delta_i=Wa_i-t_i`.

    Exact Hessian (row-major) :math:`H=I_m\otimes C_A`. *Aligned*: :math:`A` as in recipe A (r = m = n),
    :math:`t_i=W^*a_i`, :math:`W-W^*=U_0\mathrm{diag}(e)V_0^\top` with :math:`e_k=k^{-e}`; then :math:`\rho\equiv\omega\equiv1`,
    :math:`\sigma_k=e_k\lambda^A_k`, :math:`h^{\rm Kron}=\sigma^2`, :math:`h^{\rm exact}_k=\lambda^A_k`.
    *Generic* (``aligned=False``): Gaussian inputs with spectrum :math:`k^{-a_A}`, random :math:`W-W^*`, label noise ``noise``.
    ``residual_scale`` multiplies :math:`W-W^*` (so :math:`C_\delta` and :math:`1/\chi_k` by its square when noise = 0).
    """
    rng = np.random.default_rng(seed)
    if aligned:
        if m != n:
            raise ValueError("aligned recipe E needs m == n")
        r = n
        U0, V0, S = _orth(rng, m, r), _orth(rng, n, r), _orth(rng, B, r)
        la = power_law(r, a_A)
        e = power_law(r, e_exponent)
        A = np.sqrt(B) * S * np.sqrt(la) @ V0.T
        Dw = U0 * e @ V0.T
        params = dict(lam_A=la, e=e, U0=U0, V0=V0)
    else:
        A = rng.standard_normal((B, n)) * np.sqrt(power_law(n, a_A)) @ _orth(rng, n, n).T
        Dw = rng.standard_normal((m, n)) / np.sqrt(n)
        params = {}
    W_star = rng.standard_normal((m, n))
    W = W_star + residual_scale * Dw
    targets = A @ W_star.T + noise * rng.standard_normal((B, m))
    delta = A @ W.T - targets
    C_A = A.T @ A / B
    params.update(
        W=W, W_star=W_star, targets=targets, noise=noise, aligned=aligned, residual_scale=residual_scale, seed=seed
    )
    return Instance("E", delta, A, params, hessian_kron=(np.eye(m), C_A))


def layernorm(x: np.ndarray, gain: np.ndarray | None = None) -> np.ndarray:
    r""":math:`\hat x_i=(x_i-\bar x_i\mathbf 1)/\mathrm{sd}(x_i)` per row (population sd, no ε), times the gain if given."""
    xc = x - x.mean(axis=1, keepdims=True)
    out = xc / np.sqrt((xc * xc).mean(axis=1, keepdims=True))
    return out if gain is None else out * gain


def recipe_f(m=16, n=16, B=256, tau=0.0, gain=None, seed=0) -> Instance:
    r"""F: LayerNorm-like inputs :math:`a_i=\mathrm{LN}(x_i)`, :math:`x_i\sim N(0,I_n)`; least-squares head with a linear
    teacher :math:`W^*` and label noise :math:`\tau`. Exact Hessian :math:`I_m\otimes C_A` as in E."""
    rng = np.random.default_rng(seed)
    A = layernorm(rng.standard_normal((B, n)), gain)
    W_star = rng.standard_normal((m, n)) / np.sqrt(n)
    W = rng.standard_normal((m, n)) / np.sqrt(n)
    targets = A @ W_star.T + tau * rng.standard_normal((B, m))
    delta = A @ W.T - targets
    C_A = A.T @ A / B
    return Instance(
        "F", delta, A, dict(tau=tau, gain=gain, W=W, W_star=W_star, seed=seed), hessian_kron=(np.eye(m), C_A)
    )


def softmax(z: np.ndarray) -> np.ndarray:
    z = z - z.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)


def recipe_g(c=10, n=16, B=256, scale=1.0, seed=0) -> Instance:
    r"""G: softmax cross-entropy head, :math:`\delta_i=\mathrm{softmax}(Wa_i)-e_{y_i}` with labels from a noisy teacher.

    Exact Hessian (row-major) :math:`H=\frac1B\sum_i M_i\otimes a_ia_i^\top`, :math:`M_i=\mathrm{diag}(\pi_i)-\pi_i\pi_i^\top`.
    """
    rng = np.random.default_rng(seed)
    A = rng.standard_normal((B, n))
    W = scale * rng.standard_normal((c, n)) / np.sqrt(n)
    teacher = rng.standard_normal((c, n))
    y = np.argmax(A @ teacher.T + rng.gumbel(size=(B, c)), axis=1)
    probs = softmax(A @ W.T)
    delta = probs - np.eye(c)[y]

    def curvature(U: np.ndarray, Wv: np.ndarray) -> np.ndarray:
        # exact Hessian of the CE head (= its GN): (1/B) sum_i M_i ⊗ a_i a_i^T, M_i = diag(π_i) - π_i π_i^T
        uMu = probs @ (U * U) - (probs @ U) ** 2
        return np.mean(uMu * (A @ Wv) ** 2, axis=0)

    return Instance("G", delta, A, dict(c=c, labels=y, W=W, probs=probs, seed=seed), curvature=curvature)


def recipe_g_aligned(c=10, n=64, B=40, scale=10.0, seed=0) -> Instance:
    r"""G with orthogonal inputs: a softmax cross-entropy head whose top singular vectors are *exactly* the
    eigenvectors of :math:`C_\delta` (perfect alignment on a genuine softmax head; needs :math:`B\le n`).

    The :math:`B` inputs are orthogonal with :math:`\|a_i\|^2=n` (:math:`AA^\top=nI_B`), so
    :math:`GG^\top=B^{-2}\delta^\top AA^\top\delta=(n/B)C_\delta` (THEORY.md §3.7): :math:`u_k` is the :math:`k`-th
    eigenvector of :math:`C_\delta`, :math:`\sigma_k^2=(n/B)\lambda^\delta_k`, :math:`q_k=Aw_k\propto p_k` (so
    :math:`\omega\equiv1`) and :math:`w_k^\top C_Aw_k=\lambda^A_k=n/B`. Hence :math:`\rho^{(\delta)}\equiv\rho^{(A)}\equiv1`,
    :math:`\phi=0` and :math:`\alpha_{\rm Kron}=2` exactly. Labels come from a teacher :math:`W^*`; the weights are
    ``scale`` × (teacher + noise), so predictions are concentrated (confident) for large ``scale``.
    Exact Hessian of the head (= its Gauss–Newton): :math:`\frac1B\sum_iM_i\otimes a_ia_i^\top`.
    """
    if B > n:
        raise ValueError(f"recipe G aligned needs orthogonal inputs, B <= n; got B={B}, n={n}")
    rng = np.random.default_rng(seed)
    A = np.sqrt(n) * _orth(rng, n, B).T
    teacher = rng.standard_normal((c, n)) / np.sqrt(n)
    y = np.argmax(3.0 * A @ teacher.T + rng.gumbel(size=(B, c)), axis=1)
    W = scale * (teacher + 0.5 * rng.standard_normal((c, n)) / np.sqrt(n))
    probs = softmax(A @ W.T)
    delta = probs - np.eye(c)[y]

    def curvature(U: np.ndarray, Wv: np.ndarray) -> np.ndarray:
        uMu = probs @ (U * U) - (probs @ U) ** 2
        return np.mean(uMu * (A @ Wv) ** 2, axis=0)

    return Instance(
        "G-aligned", delta, A, dict(c=c, scale=scale, labels=y, W=W, probs=probs, seed=seed), curvature=curvature
    )


def recipe_h(m=4, n=3, B=64, a_delta=1.0, a_A=1.0, lam_delta=None, lam_A=None, seed=0) -> Instance:
    r"""H: separable-variance null; :math:`\delta\perp A`, zero mean, rows :math:`N(0,\Lambda_\delta)` and :math:`N(0,\Lambda_A)`."""
    rng = np.random.default_rng(seed)
    ld = power_law(m, a_delta) if lam_delta is None else np.asarray(lam_delta, dtype=float)
    la = power_law(n, a_A) if lam_A is None else np.asarray(lam_A, dtype=float)
    delta = rng.standard_normal((B, ld.size)) * np.sqrt(ld)
    A = rng.standard_normal((B, la.size)) * np.sqrt(la)
    return Instance("H", delta, A, dict(lam_delta=ld, lam_A=la, seed=seed))


RECIPES = {
    "A": recipe_a,
    "B": recipe_b,
    "C": recipe_c,
    "D": recipe_d,
    "E": recipe_e,
    "F": recipe_f,
    "G": recipe_g,
    "H": recipe_h,
}
