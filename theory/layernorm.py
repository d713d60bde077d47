r"""Proposition 3 (LayerNorm), its Bai–Yin step, and Corollary 4 (THEORY.md §3.5–3.6).

* (a) exact: :math:`\rho^{(A)}_k\in[\lambda^A_{\min}/\lambda^A_k,\lambda^A_1/\lambda^A_k]\subset[1/\kappa(C_A),\kappa(C_A)]`;
* (b) [STD] Bai–Yin: isotropic sub-Gaussian rows, :math:`n/B\to y<1`: :math:`\kappa\to((1+\sqrt y)/(1-\sqrt y))^2=1+4\sqrt y+O(y)`;
  for LayerNorm'd inputs on :math:`\mathbf 1^\perp` (dimension :math:`n-1`);
* (c, d) a band does not force zero slope, and isotropic :math:`C_A` leaves :math:`\alpha_{\rm Kron}=2-\psi_\omega`
  (recipe F without label noise: 2.000) — "α toward 1" does not follow.
* Corollary 4: :math:`C_A=cI\Rightarrow\alpha_{\rm Kron}=\mathrm{slope}(\ln\lambda^\delta_k)+\mathrm{slope}(\ln\rho^{(\delta)}_k)`;
  its "1 +" needs the unstated :math:`\mathrm{slope}(\ln\lambda^\delta_k)=1`.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import numeric as N
from theory import recipes as R
from theory.fits import log_slope
from theory.statement import Evidence, Hypothesis, Statement, Verdict
from theory.symbolic import sym

__all__ = ["bai_yin_kappa", "ln_kappa", "bai_yin", "proposition3", "corollary4", "STATEMENTS"]


def bai_yin_kappa(y: float) -> float:
    r"""Bai–Yin limit of the condition number, :math:`((1+\sqrt y)/(1-\sqrt y))^2`, for aspect ratio :math:`y=n/B<1`."""
    if not 0 <= y < 1:
        raise ValueError(f"aspect ratio y = n/B must lie in [0, 1), got {y}")
    r = np.sqrt(y)
    return float(((1 + r) / (1 - r)) ** 2)


def ln_kappa(n: int, B: int, seed: int = 0, gain: np.ndarray | None = None) -> dict[str, float]:
    r"""Empirical :math:`\kappa(\hat C|_{\mathbf 1^\perp})` of LayerNorm'd Gaussian inputs (n features, B samples)."""
    rng = np.random.default_rng(seed)
    A = R.layernorm(rng.standard_normal((B, n)), gain)
    lam, Q = N.sorted_eigh(A.T @ A / B)
    null = Q[:, -1]
    return {
        "kappa": float(lam[0] / lam[-2]),
        "lambda_min": float(lam[-1]),
        "null_alignment_with_1": float(abs(null @ np.ones(n)) / np.sqrt(n)),
        "bai_yin": bai_yin_kappa((n - 1) / B),
        "bai_yin_n": bai_yin_kappa(n / B),
    }


def check_bai_yin() -> Evidence:
    sizes = ((48, 256), (192, 1024), (384, 2048))  # fixed y = n/B = 3/16
    rows = {(n, B): ln_kappa(n, B) for n, B in sizes}
    gaps = [abs(rows[s]["kappa"] / rows[s]["bai_yin_n"] - 1) for s in sizes]
    big = rows[(384, 2048)]
    ok = gaps[-1] < gaps[0] and gaps[-1] < 0.03 and all(v["null_alignment_with_1"] > 1 - 1e-9 for v in rows.values())
    return Evidence(
        f"LN'd Gaussian, n/B = 384/2048: kappa on 1-perp = {big['kappa']:.3f} vs Bai–Yin {big['bai_yin_n']:.3f}; "
        f"gap at y = 3/16 shrinks {gaps[0]:.1%} → {gaps[1]:.1%} → {gaps[2]:.1%} (n = 48, 192, 384); null vector = 1",
        {f"kappa_{n}_{B}": v["kappa"] for (n, B), v in rows.items()}
        | {"bai_yin_y3/16": big["bai_yin_n"], "gaps": gaps},
        ok,
    )


def check_proposition3() -> Evidence:
    inst = R.recipe_f(m=64, n=64, B=4096, tau=0.0, seed=0)
    dec = inst.decompose()
    flat = float(log_slope(dec.sigma, dec.wCw))
    noisy = R.recipe_f(m=64, n=64, B=4096, tau=1.0, seed=0).decompose()
    band = bool(
        np.all(dec.rho_A >= dec.lam_A[-2] / dec.lam_A[: dec.K] - 1e-12)
        and np.all(dec.rho_A <= dec.lam_A[0] / dec.lam_A[: dec.K] + 1e-12)
    )
    ok = (
        band and abs(flat) < 0.1 and abs(dec.alpha_kron - 2) < 0.02 and abs(dec.alpha_kron - (2 - dec.psi_omega)) < 1e-8
    )
    return Evidence(
        f"recipe F (LN inputs, m = n = 64, B = 4096, tau = 0): w^T C_A w flat (slope {flat:.3f}), rho^(A) in its band, "
        f"yet alpha_Kron = {dec.alpha_kron:.3f} (not toward 1) and alpha_exact = {dec.alpha_exact:.3f}; "
        f"with tau = 1: alpha_Kron = {noisy.alpha_kron:.3f} = 2 - psi_omega",
        {
            "slope_wCw": flat,
            "alpha_kron_tau0": dec.alpha_kron,
            "alpha_exact_tau0": dec.alpha_exact,
            "alpha_kron_tau1": noisy.alpha_kron,
            "psi_omega_tau1": noisy.psi_omega,
            "rho_A_in_band": band,
        },
        ok,
    )


def check_corollary4() -> Evidence:
    # C_A ∝ I, lambda^delta = k^-1, omega_k = k^-1: sigma_k = k^-1 and alpha = 1 with omega ∝ sigma
    dec = R.recipe_b(m=6, n=6, B=64, a_delta=1.0, a_A=0.0, w=1.0, seed=0).decompose()
    omega_vs_sigma = float(log_slope(dec.sigma, dec.omega))
    lam_slope = float(log_slope(dec.sigma, dec.lam_delta[: dec.K]))
    rho_slope = float(log_slope(dec.sigma, dec.rho_delta))
    # the hidden assumption: with lambda^delta = k^-2 the "1 +" is wrong
    other = R.recipe_b(m=6, n=6, B=64, a_delta=2.0, a_A=0.0, w=1.0, seed=0).decompose()
    other_lam = float(log_slope(other.sigma, other.lam_delta[: other.K]))
    other_rho = float(log_slope(other.sigma, other.rho_delta))
    ok = (
        abs(dec.alpha_kron - 1) < 1e-8
        and abs(omega_vs_sigma - 1) < 1e-8
        and abs(dec.alpha_kron - (lam_slope + rho_slope)) < 1e-8
        and abs(other.alpha_kron - (1 + other_rho)) > 0.1
    )
    return Evidence(
        f"recipe B with C_A ∝ I, lambda^delta = k^-1, omega = k^-1: alpha_Kron = {dec.alpha_kron:.4f}, omega ∝ sigma^{omega_vs_sigma:.3f}; "
        f"with lambda^delta = k^-2 the printed 1 + slope(rho) = {1 + other_rho:.3f} but alpha_Kron = {other.alpha_kron:.3f} "
        f"= slope(ln lambda^delta) + slope(ln rho) = {other_lam + other_rho:.3f}",
        {
            "alpha_kron": dec.alpha_kron,
            "omega_sigma_slope": omega_vs_sigma,
            "alpha_kron_lam2": other.alpha_kron,
            "printed_lam2": 1 + other_rho,
        },
        ok,
    )


bai_yin = Statement(
    key="bai_yin",
    name="Proposition 3 claim 2 (Bai–Yin)",
    printed=sp.Eq(sym["kappa"], ((1 + sp.sqrt(sym["y"])) / (1 - sp.sqrt(sym["y"]))) ** 2),
    printed_text="kappa(C_hat on 1-perp) = 1 + O(sqrt(n/B)); limit ((1+sqrt y)/(1-sqrt y))^2 = 1 + 4 sqrt(y) + O(y)",
    hypotheses=(
        Hypothesis("isotropic rows", "normalised activations isotropic sub-Gaussian, weakly correlated"),
        Hypothesis("aspect ratio", "n/B -> y < 1"),
    ),
    rests_on=("Bai–Yin theorem [STD]",),
    verdict=Verdict.HOLDS,
    check=check_bai_yin,
    aliases=("Bai-Yin", "Bai–Yin", "Theorem 3 claim 2"),
)

proposition3 = Statement(
    key="proposition3",
    name="Proposition 3",
    printed=sp.Implies(
        sp.Symbol("kappa(C_hat) = 1 + O(sqrt(n/B))"), sp.Symbol("d ln rho^(A)_k / d ln sigma_k ≈ 0, alpha -> 1")
    ),
    printed_text="LayerNorm: C_A = Gamma C_hat Gamma, kappa(C_hat) = 1 + O(sqrt(n/B)) ⇒ rho^(A) in a band, slope ≈ 0, alpha from 2 toward 1",
    hypotheses=(
        Hypothesis("random-feature model", "normalised activations isotropic sub-Gaussian"),
        Hypothesis("Gamma", "Gamma = diag(LN gain); LN bias and epsilon ignored", False),
    ),
    rests_on=("rho band (exact)", "Bai–Yin", "alpha_Kron = 2 - psi_omega"),
    verdict=Verdict.REFUTED,
    check=check_proposition3,
    aliases=("Theorem 3", "Prop. 3"),
    corrected=sp.Eq(sym["alpha_kron"], 2 - sym["psi_omega"]),
    why="a band does not force zero slope, and isotropic C_A leaves alpha_Kron = 2 - psi_omega; 'toward 1' has no derivation",
)

corollary4 = Statement(
    key="corollary4",
    name="Corollary 4",
    printed=sp.Eq(sym["alpha"], 1 + sp.Symbol("d ln rho^(delta)_k / d ln sigma_k")),
    printed_text="chi_k roughly constant ⇒ alpha ≈ 1 + d ln rho^(delta)_k/d ln sigma_k; u_k^T C_delta u_k ∝ sigma_k ⇒ alpha ≈ 1",
    hypotheses=(
        Hypothesis("flat A side", "C_A ∝ I (rho^(A) ≡ 1, lambda^A constant)", False),
        Hypothesis("unit delta slope", "slope(ln lambda^delta_k, ln sigma_k) = 1", False),
        Hypothesis("chi constant", "chi_k roughly constant"),
    ),
    rests_on=("Theorem 1 part 2", "I2"),
    verdict=Verdict.HOLDS,
    check=check_corollary4,
    aliases=("Cor. 4",),
    why="holds once the two unstated hypotheses are added; without 'unit delta slope' the '1 +' is wrong",
)

STATEMENTS = (proposition3, bai_yin, corollary4)
