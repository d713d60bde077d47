r"""Appendix L (Kronecker spectral identity; THEORY.md §3.15).

* (a) separable variance: for :math:`\delta\perp A` with zero means (recipe H),
  :math:`B\,\mathrm{Var}(\tilde G_{ij})=\lambda^\delta_i\lambda^A_j` — a model of gradient *noise* (:math:`\mathbb EG=0`);
* (b) Couillet–Hachem [STD]: :math:`Y=n^{-1/2}D^{1/2}XD'^{1/2}` (N×n), Stieltjes transform
  :math:`m(z)=\frac1N\sum_i\frac1{-z(1+\tilde\delta d_i)}`, :math:`\delta=\frac1n\sum_i\frac{d_i}{-z(1+\tilde\delta d_i)}`,
  :math:`\tilde\delta=\frac1n\sum_j\frac{d'_j}{-z(1+\delta d'_j)}`; the limit depends on :math:`N/n` too;
* (c) Horn/Fan rank truncation: :math:`\sigma_{i+j-1}(G)\le\sqrt{\lambda^\delta_i\lambda^A_j}`;
* (d) the :math:`r_{\rm eff}<10` rule: :math:`r_{\rm eff}` is undefined — not encoded as a theorem.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import numeric as N
from theory import recipes as R
from theory.statement import Evidence, Hypothesis, Statement, Verdict

__all__ = [
    "separable_variance",
    "couillet_hachem_stieltjes",
    "simulated_stieltjes",
    "horn_fan_violations",
    "effective_ranks",
    "separable_variance_statement",
    "couillet_hachem",
    "horn_fan",
    "r_eff_rule",
    "STATEMENTS",
]


def separable_variance(m: int = 3, n: int = 3, B: int = 64, reps: int = 4000, seed: int = 0) -> dict[str, np.ndarray]:
    r"""Monte Carlo of :math:`B\,\mathrm{Var}(G_{ij})` over ``reps`` recipe-H batches vs :math:`\lambda^\delta_i\lambda^A_j`."""
    rng = np.random.default_rng(seed)
    ld = np.array([4.0, 2.0, 1.0])[:m]
    la = np.array([3.0, 2.0, 1.0])[:n]
    d = rng.standard_normal((reps, B, m)) * np.sqrt(ld)
    a = rng.standard_normal((reps, B, n)) * np.sqrt(la)
    G = np.einsum("rbm,rbn->rmn", d, a) / B
    return {"measured": B * G.var(axis=0), "predicted": np.outer(ld, la)}


def couillet_hachem_stieltjes(z: float, d: np.ndarray, dp: np.ndarray, iters: int = 2000) -> float:
    """Fixed point of the Couillet–Hachem equations at real z < 0 (N = len(d), n = len(dp))."""
    if z >= 0:
        raise ValueError("use z < 0 (real), where the fixed-point iteration is a contraction")
    n = dp.size
    delta_t = 0.0
    for _ in range(iters):
        delta = np.sum(d / (-z * (1 + delta_t * d))) / n
        new = np.sum(dp / (-z * (1 + delta * dp))) / n
        if abs(new - delta_t) < 1e-15:
            delta_t = new
            break
        delta_t = new
    return float(np.mean(1 / (-z * (1 + delta_t * d))))


def simulated_stieltjes(z: float, d: np.ndarray, dp: np.ndarray, reps: int = 4, seed: int = 0) -> float:
    r""":math:`\frac1N\mathrm{tr}(YY^\top-z)^{-1}` averaged over ``reps`` draws of :math:`Y=n^{-1/2}D^{1/2}XD'^{1/2}`."""
    rng = np.random.default_rng(seed)
    N_, n = d.size, dp.size
    vals = []
    for _ in range(reps):
        Y = np.sqrt(d)[:, None] * rng.standard_normal((N_, n)) * np.sqrt(dp) / np.sqrt(n)
        lam = np.linalg.eigvalsh(Y @ Y.T)
        vals.append(np.mean(1 / (lam - z)))
    return float(np.mean(vals))


def horn_fan_violations(cases: int = 200, seed: int = 0) -> int:
    r"""Count violations of :math:`\sigma_{i+j-1}(G)\le\sqrt{\lambda^\delta_i\lambda^A_j}` over random recipe-C layers."""
    rng = np.random.default_rng(seed)
    bad = 0
    for _ in range(cases):
        m, n = rng.integers(2, 7, size=2)
        inst = R.recipe_c(m=int(m), n=int(n), B=int(rng.integers(3, 20)), seed=int(rng.integers(1 << 30)))
        C_d, C_A = N.second_moments(inst.delta, inst.A)
        ld, la = N.sorted_eigh(C_d)[0].clip(0), N.sorted_eigh(C_A)[0].clip(0)
        s = np.linalg.svd(N.gradient(inst.delta, inst.A), compute_uv=False)
        for i in range(ld.size):
            for j in range(la.size):
                if i + j < s.size and s[i + j] > np.sqrt(ld[i] * la[j]) * (1 + 1e-10) + 1e-14:
                    bad += 1
    return bad


def effective_ranks(C: np.ndarray) -> dict[str, float]:
    r"""Three candidate :math:`r_{\rm eff}`: :math:`(\mathrm{tr}C)^2/\mathrm{tr}C^2`, :math:`\mathrm{tr}C/\|C\|_2`, :math:`\exp(H(\lambda/\sum\lambda))`."""
    lam = np.clip(np.linalg.eigvalsh(C), 0, None)
    pr = lam.sum() ** 2 / (lam @ lam)
    p = lam[lam > 0] / lam.sum()
    return {
        "participation": float(pr),
        "stable_rank": float(lam.sum() / lam.max()),
        "entropy": float(np.exp(-(p * np.log(p)).sum())),
    }


def check_separable() -> Evidence:
    r = separable_variance()
    rel = float(np.max(np.abs(r["measured"] / r["predicted"] - 1)))
    ok = rel < 0.1
    return Evidence(
        f"recipe H Monte Carlo (4000 batches, B = 64): B Var(G_ij) vs lambda^delta_i lambda^A_j, max rel. dev. {rel:.3f} "
        f"(e.g. {r['measured'][0, 0]:.2f} vs {r['predicted'][0, 0]:.0f})",
        {"max_rel_dev": rel, "measured_00": float(r["measured"][0, 0]), "predicted_00": float(r["predicted"][0, 0])},
        ok,
    )


def check_couillet_hachem() -> Evidence:
    d = np.repeat([3.0, 1.0, 0.3], 40)  # N = 120
    dp = np.repeat([2.0, 0.5], 120)  # n = 240
    rows = {z: (couillet_hachem_stieltjes(z, d, dp), simulated_stieltjes(z, d, dp)) for z in (-0.05, -0.5, -2.0)}
    rel = max(abs(t / s - 1) for t, s in rows.values())
    ok = rel < 0.02
    return Evidence(
        "Stieltjes transform theory vs simulation (N = 120, n = 240): "
        + ", ".join(f"z = {z}: {t:.4f}/{s:.4f}" for z, (t, s) in rows.items()),
        {
            "max_rel_dev": rel,
            **{f"theory_z{z}": t for z, (t, _) in rows.items()},
            **{f"sim_z{z}": s for z, (_, s) in rows.items()},
        },
        ok,
    )


def check_horn_fan() -> Evidence:
    bad = horn_fan_violations()
    return Evidence(
        f"sigma_(i+j-1)(G) ≤ sqrt(lambda^delta_i lambda^A_j): {bad} violations in 200 random layers",
        {"violations": bad},
        bad == 0,
    )


def check_r_eff() -> Evidence:
    C = np.diag([5.0, 1.0, 0.5, 0.2, 0.1, 0.05])
    r = effective_ranks(C)
    spread = max(r.values()) / min(r.values())
    return Evidence(
        "r_eff undefined in the tex; the three usual candidates disagree on one spectrum: "
        + ", ".join(f"{k} {v:.2f}" for k, v in r.items()),
        {**r, "max_over_min": spread},
        spread > 1.2,
    )


separable_variance_statement = Statement(
    key="appendix_l_separable",
    name="App. L separable variance",
    printed=sp.Symbol("Var(G~_ij) ∝ lambda^delta_i lambda^A_j"),
    printed_text="rotated gradient G~ = Q_delta^T G Q_A has Var(G~_ij) ∝ lambda^delta_i lambda^A_j",
    hypotheses=(Hypothesis("noise model", "delta ⊥ A, zero means (so E G = 0)", False),),
    rests_on=("independence",),
    verdict=Verdict.HOLDS,
    check=check_separable,
    aliases=("separable variance",),
)

couillet_hachem = Statement(
    key="appendix_l_couillet_hachem",
    name="App. L Couillet–Hachem limit",
    printed=sp.Symbol("m(z) = (1/N) sum_i 1/(-z(1 + delta~ d_i))"),
    printed_text="the limiting singular spectrum of a separable-variance matrix is given by Couillet–Hachem and 'depends only on' the two eigenvalue distributions",
    hypotheses=(
        Hypothesis("separable variance", "Y = n^-1/2 D^1/2 X D'^1/2, X i.i.d."),
        Hypothesis("aspect ratio", "the limit also depends on N/n", False),
    ),
    rests_on=("Couillet–Hachem [STD]",),
    verdict=Verdict.HOLDS,
    check=check_couillet_hachem,
    aliases=("Couillet-Hachem", "Couillet–Hachem"),
)

horn_fan = Statement(
    key="appendix_l_horn_fan",
    name="App. L rank truncation (Horn/Fan)",
    printed=sp.LessThan(sp.Symbol("sigma_{i+j-1}(G)"), sp.sqrt(sp.Symbol("lambda^delta_i") * sp.Symbol("lambda^A_j"))),
    printed_text="'Weyl rank-truncation bound' (unstated); read as sigma_{i+j-1}(G) ≤ sqrt(lambda^delta_i lambda^A_j)",
    hypotheses=(Hypothesis("reading", "the bound is the Horn/Fan product inequality", False),),
    rests_on=("G = (delta/sqrt B)^T (A/sqrt B)",),
    verdict=Verdict.HOLDS,
    check=check_horn_fan,
    aliases=("Horn/Fan", "Weyl bound"),
)

r_eff_rule = Statement(
    key="appendix_l_r_eff",
    name="App. L r_eff < 10 rule",
    printed=sp.Implies(sp.Symbol("min r_eff < 10"), sp.Symbol("gradient spectrum exponential")),
    printed_text="one factor with r_eff < 10 ⇒ exponential gradient spectrum; both > 10 ⇒ log-normal",
    hypotheses=(Hypothesis("r_eff", "undefined in the tex", False),),
    rests_on=(),
    verdict=Verdict.NOT_FORMALIZABLE,
    check=check_r_eff,
    aliases=("r_eff rule",),
    why="r_eff, K_eff and 'quantile curvature' are undefined; the rule is an empirical heuristic",
)

STATEMENTS = (separable_variance_statement, couillet_hachem, horn_fan, r_eff_rule)
