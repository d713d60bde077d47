r"""Proposition 3 (LayerNorm), its Bai–Yin step, and Corollary 4 (THEORY.md §3.5–3.6).

* (a) exact: :math:`\rho^{(A)}_k\in[\lambda^A_{\min}/\lambda^A_k,\lambda^A_1/\lambda^A_k]\subset[1/\kappa(C_A),\kappa(C_A)]`;
* (b) [STD] Bai–Yin: isotropic sub-Gaussian rows, :math:`n/B\to y<1`: :math:`\kappa\to((1+\sqrt y)/(1-\sqrt y))^2=1+4\sqrt y+O(y)`;
  for LayerNorm'd inputs on :math:`\mathbf 1^\perp` (dimension :math:`n-1`);
* (c, d) a band does not force zero slope, and isotropic :math:`C_A` leaves :math:`\alpha_{\rm Kron}=2-\psi_\omega`
  (recipe F without label noise: 2.000) — "α toward 1" does not follow.
* Corollary 4: :math:`C_A=cI\Rightarrow\alpha_{\rm Kron}=\mathrm{slope}(\ln\lambda^\delta_k)+\mathrm{slope}(\ln\rho^{(\delta)}_k)
  =\mathrm{slope}(\ln u_k^\top C_\delta u_k)`; its first sentence's "1 +" needs the unstated
  :math:`\mathrm{slope}(\ln\lambda^\delta_k)=1` (refuted: with :math:`C_A=I`, :math:`\chi\equiv\omega\equiv1`,
  :math:`\alpha=2` while the printed form gives 1); its second sentence holds once the A side is exactly flat.

>>> from theory import corollary4
>>> corollary4                                   # doctest: +ELLIPSIS
Corollary 4 — 2 parts
  [0] Corollary 4 — refuted as printed
  ...
  [1] Corollary 4 (second sentence) — holds under added hypotheses: flat A side
  ...
>>> corollary4[0].evidence().values["alpha"], corollary4[0].evidence().values["printed"]
(2.0, 1.0)
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import numeric as N
from theory import recipes as R
from theory.fits import log_slope
from theory.statement import Evidence, Group, Hypothesis, HypothesisCheck, Statement, Verdict, met
from theory.statement import HypothesisKind as HK
from theory.symbolic import Approx, LogSlope, Propto, dims, kappa, quad, sym, vec_u

__all__ = [
    "bai_yin_kappa",
    "ln_kappa",
    "isotropic_inputs",
    "flat_A_side",
    "corollary4_counterexample",
    "bai_yin",
    "proposition3",
    "corollary4",
    "corollary4_part1",
    "corollary4_part2",
    "STATEMENTS",
]


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


def isotropic_inputs(A: np.ndarray, rel_tol: float = 0.1) -> HypothesisCheck:
    r"""Proposition 3's random-feature hypothesis on LayerNorm'd inputs: :math:`\kappa(\hat C|_{\mathbf 1^\perp})` at
    most its isotropic Bai–Yin limit at :math:`y=(n-1)/B` (+ ``rel_tol``; finite samples sit below it), i.e.
    :math:`1+O(\sqrt{n/B})`, and :math:`\mathbf 1` the null vector."""
    B, n = A.shape
    lam, Q = N.sorted_eigh(A.T @ A / B)
    kap = float(lam[0] / lam[-2])
    by = bai_yin_kappa((n - 1) / B)
    null = float(abs(Q[:, -1] @ np.ones(n)) / np.sqrt(n))
    return met(
        "random-feature model",
        kap <= by * (1 + rel_tol) and null > 1 - 1e-9,
        f"LN'd isotropic inputs: kappa(C_A on 1-perp) = {kap:.3f} ≤ Bai–Yin {by:.3f}; null vector 1 (|cos| = {null:.6f})",
    )


def flat_A_side(dec: N.Decomposition, tol: float = 1e-10) -> HypothesisCheck:
    r"""Corollary 4's added hypothesis: the A side is exactly flat, :math:`C_A\propto I` on the span of the :math:`w_k`
    (:math:`w_k^\top C_Aw_k` constant and :math:`\rho^{(A)}\equiv1`)."""
    spread = float(np.ptp(np.log(dec.wCw)))
    rho = float(np.max(np.abs(dec.rho_A - 1)))
    return met(
        "flat A side", spread < tol and rho < tol, f"spread of ln w^T C_A w = {spread:.0e}, max |rho^A - 1| = {rho:.0e}"
    )


def check_bai_yin() -> Evidence:
    sizes = ((48, 256), (192, 1024), (384, 2048))  # fixed y = n/B = 3/16
    rows = {(n, B): ln_kappa(n, B) for n, B in sizes}
    gaps = [abs(rows[s]["kappa"] / rows[s]["bai_yin_n"] - 1) for s in sizes]
    big = rows[(384, 2048)]
    ok = gaps[-1] < gaps[0] and gaps[-1] < 0.03
    return Evidence(
        f"LN'd Gaussian, n/B = 384/2048: kappa on 1-perp = {big['kappa']:.3f} vs Bai–Yin {big['bai_yin_n']:.3f}; "
        f"gap at y = 3/16 shrinks {gaps[0]:.1%} → {gaps[1]:.1%} → {gaps[2]:.1%} (n = 48, 192, 384); null vector = 1",
        {f"kappa_{n}_{B}": v["kappa"] for (n, B), v in rows.items()}
        | {"bai_yin_y3/16": big["bai_yin_n"], "gaps": gaps},
        ok,
        hypotheses_met=(
            met(
                "isotropic rows",
                all(v["null_alignment_with_1"] > 1 - 1e-9 for v in rows.values()),
                "LayerNorm'd i.i.d. N(0, I) rows; isotropic on 1-perp",
            ),
            met("aspect ratio", all(n / B < 1 for n, B in sizes), "y = n/B = 3/16 < 1"),
        ),
    )


def proposition3_instance(m: int = 64, n: int = 64, B: int = 4096, tau: float = 0.0, seed: int = 0) -> R.Instance:
    """Recipe F: LayerNorm'd isotropic inputs, least-squares head, label noise tau."""
    return R.recipe_f(m=m, n=n, B=B, tau=tau, seed=seed)


def check_proposition3() -> Evidence:
    inst = proposition3_instance()
    dec = inst.decompose()
    flat = float(log_slope(dec.sigma, dec.wCw))
    rho_slope = float(log_slope(dec.sigma, dec.rho_A))
    noisy = proposition3_instance(tau=1.0).decompose()
    band = bool(
        np.all(dec.rho_A >= dec.lam_A[-2] / dec.lam_A[: dec.K] - 1e-12)
        and np.all(dec.rho_A <= dec.lam_A[0] / dec.lam_A[: dec.K] + 1e-12)
    )
    ok = abs(dec.alpha_kron - 2) < 0.02 and abs(dec.alpha_kron - (2 - dec.psi_omega)) < 1e-8
    return Evidence(
        f"recipe F (LN inputs, m = n = 64, B = 4096, tau = 0): rho^(A) in its band with slope {rho_slope:.3f} "
        f"(w^T C_A w slope {flat:.3f}), yet alpha_Kron = {dec.alpha_kron:.3f}: not moved toward 1 "
        f"(alpha_Kron = 2 - psi_omega whatever the A side does; with tau = 1 it is {noisy.alpha_kron:.3f} with the same flat A side)",
        {
            "slope_rho_A": rho_slope,
            "slope_wCw": flat,
            "alpha_kron_tau0": dec.alpha_kron,
            "alpha_exact_tau0": dec.alpha_exact,
            "alpha_kron_tau1": noisy.alpha_kron,
            "psi_omega_tau1": noisy.psi_omega,
            "rho_A_in_band": band,
        },
        ok,
        (
            f"context: alpha_exact = {dec.alpha_exact:.3f} here (a least-squares head has H = I ⊗ C_A, so h^exact = w^T C_A w); "
            "the value 1 is not derived under either reading of alpha",
        ),
        hypotheses_met=(
            isotropic_inputs(inst.A),
            met(
                "A side flattened (the premise)", band and abs(rho_slope) < 0.1, f"rho^A in band, slope {rho_slope:.3f}"
            ),
        ),
    )


def corollary4_counterexample(a_delta: float = 1.3, m: int = 6, B: int = 32, seed: int = 0) -> N.Decomposition:
    r"""Recipe A with :math:`C_A=I` (:math:`\lambda^A\equiv1`, :math:`n=r`) and the curvature equal to the Kronecker
    model (:math:`\chi\equiv1`): aligned, :math:`\omega\equiv1`, so :math:`\alpha=2` exactly."""
    inst = R.recipe_a(m=m, n=m, B=B, a_delta=a_delta, a_A=0.0, seed=seed)
    d0 = inst.decompose()
    return N.decompose(inst.delta, inst.A, h_exact=d0.h_kron)


def chi_constant(dec: N.Decomposition) -> HypothesisCheck:
    dev = float(np.ptp(np.log(dec.chi))) if dec.chi is not None else float("inf")
    return met("chi constant", dev < 1e-10, f"spread of ln chi_k = {dev:.0e} (curvature = Kronecker model)")


def check_corollary4_part1() -> Evidence:
    dec = corollary4_counterexample()
    printed = 1 + float(log_slope(dec.sigma, dec.rho_delta))
    lam_slope = float(log_slope(dec.sigma, dec.lam_delta[: dec.K]))
    other = R.recipe_b(m=6, n=6, B=64, a_delta=2.0, a_A=0.0, w=1.0, seed=0).decompose()
    other_printed = 1 + float(log_slope(other.sigma, other.rho_delta))
    ok = abs(dec.alpha_exact - printed) > 0.5 and abs(dec.alpha_exact - (lam_slope + printed - 1)) < 1e-8
    return Evidence(
        f"recipe A with C_A = I and h = h^Kron (chi ≡ 1): alpha = {dec.alpha_exact:.4f}, printed 1 + d ln rho^delta/d ln sigma "
        f"= {printed:.4f}; alpha = slope(ln lambda^delta) + slope(ln rho^delta) = {lam_slope:.4f} {printed - 1:+.4f}",
        {
            "alpha": round(dec.alpha_exact, 12),
            "printed": round(printed, 12),
            "slope_ln_lambda_delta": lam_slope,
            "alpha_lam2_omega1": other.alpha_kron,
            "printed_lam2_omega1": other_printed,
        },
        ok,
        (
            f"recipe B with C_A ∝ I, lambda^delta = k^-2, omega = k^-1: printed {other_printed:.3f}, alpha = {other.alpha_kron:.3f}",
        ),
        hypotheses_met=(
            chi_constant(dec),
            met(
                "LayerNorm setting",
                flat_A_side(dec).holds,
                f"C_A = I exactly (isotropic, the ideal of Prop. 3): {flat_A_side(dec).measured}",
            ),
        ),
    )


def check_corollary4_part2() -> Evidence:
    # C_A ∝ I, lambda^delta = k^-1, omega_k = k^-1: sigma_k = k^-1, u^T C_delta u = k^-1 ∝ sigma, alpha = 1
    inst = R.recipe_b(m=6, n=6, B=64, a_delta=1.0, a_A=0.0, w=1.0, seed=0)
    d0 = inst.decompose()
    dec = N.decompose(inst.delta, inst.A, h_exact=d0.h_kron)
    uCu_slope = float(log_slope(dec.sigma, dec.uCu))
    ln = proposition3_instance(m=20, n=384, B=2048).decompose()
    ln_slope = float(log_slope(ln.sigma, ln.wCw))
    ok = abs(dec.alpha_exact - 1) < 1e-8
    return Evidence(
        f"recipe B with C_A ∝ I, u^T C_delta u ∝ sigma (slope {uCu_slope:.4f}), chi ≡ 1: alpha = {dec.alpha_exact:.4f}; "
        f"without the added hypothesis alpha = 1 + slope(ln w^T C_A w), which is {ln_slope:.3f} on LayerNorm'd "
        f"isotropic inputs at n/B = 384/2048 (recipe F)",
        {"alpha": dec.alpha_exact, "slope_uCu": uCu_slope, "slope_wCw_recipe_F_384_2048": ln_slope},
        ok,
        hypotheses_met=(
            met("u^T C_delta u ∝ sigma", abs(uCu_slope - 1) < 1e-8, f"slope {uCu_slope:.10f}"),
            chi_constant(dec),
            met("LayerNorm setting", flat_A_side(dec).holds, "C_A ∝ I (isotropic, the ideal of Prop. 3)"),
            flat_A_side(dec),
        ),
    )


_n, _B = dims["n"], dims["B"]
_Chat = sp.MatrixSymbol("Chat", _n, _n)
_O = sp.Function("O")

bai_yin = Statement(
    key="bai_yin",
    name="Proposition 3 claim 2 (Bai–Yin)",
    printed=sp.Eq(kappa(_Chat), ((1 + sp.sqrt(sym["y"])) / (1 - sp.sqrt(sym["y"]))) ** 2),
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
        sp.Eq(kappa(_Chat), 1 + _O(sp.sqrt(_n / _B))),
        sp.And(Approx(LogSlope(sym["rho_a"], sym["sigma"]), 0), Approx(sym["alpha"], 1)),
    ),
    printed_text="LayerNorm: C_A = Gamma C_hat Gamma, kappa(C_hat) = 1 + O(sqrt(n/B)) ⇒ rho^(A) in a band, slope ≈ 0, alpha from 2 toward 1",
    hypotheses=(
        Hypothesis("random-feature model", "normalised activations isotropic sub-Gaussian"),
        Hypothesis("Kronecker model", "Theorem 1's framework: alpha = beta + phi, h = h^Kron", HK.READING),
        Hypothesis("Gamma", "Gamma = diag(LN gain); LN bias and epsilon ignored (here Gamma = I)", HK.READING),
    ),
    rests_on=("rho band (exact)", "Bai–Yin", "alpha_Kron = 2 - psi_omega"),
    verdict=Verdict.REFUTED,
    check=check_proposition3,
    aliases=("Theorem 3", "Prop. 3"),
    corrected=sp.Eq(sym["alpha_kron"], 2 - sym["psi_omega"]),
    why="a band does not force zero slope, and a flat A side leaves alpha_Kron = 2 - psi_omega (2.000 on isotropic "
    "LayerNorm'd inputs without label noise); 'toward 1' has no derivation",
)

corollary4_part1 = Statement(
    key="corollary4",
    name="Corollary 4",
    printed=sp.Implies(
        Approx(LogSlope(sym["chi"], sym["sigma"]), 0), Approx(sym["alpha"], 1 + LogSlope(sym["rho_d"], sym["sigma"]))
    ),
    printed_text="chi_k roughly constant ⇒ alpha ≈ 1 + d ln rho^(delta)_k/d ln sigma_k",
    hypotheses=(
        Hypothesis("chi constant", "chi_k roughly constant"),
        Hypothesis("LayerNorm setting", "Proposition 3's setting: isotropic normalised inputs (inherited)"),
        Hypothesis("Kronecker model", "alpha as in Theorem 1 (with chi constant alpha_exact = alpha_Kron)", HK.READING),
        Hypothesis("flat A side", "C_A ∝ I exactly (rho^A ≡ 1, lambda^A constant), for the corrected form", HK.ADDED),
    ),
    rests_on=("Theorem 1 part 2", "I2"),
    verdict=Verdict.REFUTED,
    check=check_corollary4_part1,
    aliases=("Cor. 4", "Corollary 4 part 1", "Corollary 4 (first sentence)"),
    corrected=sp.Eq(sym["alpha"], LogSlope(sym["lam_d"], sym["sigma"]) + LogSlope(sym["rho_d"], sym["sigma"])),
    why="the '1' is slope(ln lambda^delta_k), which nothing fixes at 1: with C_A = I and chi ≡ omega ≡ 1 the "
    "printed form gives 1 while alpha = 2; it holds only if slope(ln lambda^delta_k) = 1 is added as well",
)

corollary4_part2 = Statement(
    key="corollary4_part2",
    name="Corollary 4 (second sentence)",
    printed=sp.Implies(
        Propto(quad(vec_u, sp.MatrixSymbol("C_delta", dims["m"], dims["m"])), sym["sigma"]), Approx(sym["alpha"], 1)
    ),
    printed_text="u_k^T C_delta u_k ∝ sigma_k ⇒ alpha ≈ 1",
    hypotheses=(
        Hypothesis("u^T C_delta u ∝ sigma", "the premise"),
        Hypothesis("chi constant", "chi_k roughly constant (the corollary's first sentence)"),
        Hypothesis("LayerNorm setting", "Proposition 3's setting: isotropic normalised inputs (inherited)"),
        Hypothesis(
            "flat A side",
            "slope(ln w_k^T C_A w_k) = 0 exactly, e.g. C_A ∝ I; Prop. 3 gives only slope(ln rho^A) ≈ 0",
            HK.ADDED,
        ),
    ),
    rests_on=("alpha_Kron = slope(ln u^T C_delta u) + slope(ln w^T C_A w)",),
    verdict=Verdict.HOLDS_ADDED,
    check=check_corollary4_part2,
    aliases=("Corollary 4 part 2", "Cor. 4 part 2"),
    why="alpha_Kron = slope(ln u^T C_delta u) + slope(ln w^T C_A w) exactly, so alpha = 1 needs the A-side slope to "
    "vanish; isotropic inputs at finite n/B leave it at 0.3",
)

corollary4 = Group("Corollary 4", (corollary4_part1, corollary4_part2))

STATEMENTS = (proposition3, bai_yin, corollary4_part1, corollary4_part2)
