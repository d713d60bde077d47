r"""Proposition 6 (softmax head, THEORY.md §3.8).

Exact [DERIVED]: :math:`\mathbf 1^\top\delta_i=0`, so :math:`C_\delta\mathbf 1=0`, :math:`\mathrm{rank}\,C_\delta\le\min(c-1,B)`,
:math:`\mathbf 1^\top G=0` and :math:`\mathrm{rank}\,G\le c-1`. For the output layer (:math:`m=c`) every direction has
:math:`k\le c`, :math:`\sigma_c=0` and :math:`\lambda^\delta_c=0`: the ":math:`k>c`" regime the proposition relies on is empty.
Under its own alignment hypothesis (:math:`Q_\delta=U`) :math:`\rho^{(\delta)}_k=1` on every direction that exists, so the
:math:`\delta` side contributes exactly 0 to :math:`\phi`. The counterexample (:func:`theory.recipes.recipe_g_aligned`) is a
softmax head with concentrated predictions and perfect alignment: :math:`\phi=0`, :math:`\alpha_{\rm Kron}=2` and
:math:`\alpha_{\rm exact}<2`.

>>> from theory import proposition6
>>> ev = proposition6.evidence()
>>> [h.name for h in ev.hypotheses_met]
['softmax head', 'concentrated predictions', 'alignment']
>>> round(ev.values["phi"], 12), round(ev.values["alpha_kron"], 12), ev.values["alpha_exact"] < 2
(0.0, 2.0, True)
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import numeric as N
from theory import recipes as R
from theory.statement import Evidence, Hypothesis, HypothesisCheck, Statement, Verdict, met
from theory.symbolic import Approx, MuchLess, dims, eq, rank, sym

__all__ = ["softmax_rank_facts", "proposition6_hypotheses", "proposition6_counterexample", "proposition6", "STATEMENTS"]

#: "concentrated predictions" read as a mean top-class probability of at least this much
CONCENTRATED = 0.8


def softmax_rank_facts(inst: R.Instance) -> dict[str, float]:
    r"""Rank facts of a softmax head: :math:`\|C_\delta\mathbf 1\|`, :math:`\lambda^\delta_c/\lambda^\delta_1`, :math:`\sigma_c/\sigma_1`, ranks."""
    C_d, _ = N.second_moments(inst.delta, inst.A)
    G = N.gradient(inst.delta, inst.A)
    lam, _ = N.sorted_eigh(C_d)
    sigma = np.linalg.svd(G, compute_uv=False)
    c = inst.m
    return {
        "c": c,
        "norm_C_delta_1": float(np.linalg.norm(C_d @ np.ones(c))),
        "lambda_c_rel": float(abs(lam[c - 1]) / lam[0]),
        "sigma_c_rel": float(sigma[c - 1] / sigma[0]) if sigma.size >= c else 0.0,
        # numerical rank at relative tolerance 1e-10 (numpy's default, ~max(m, n) eps, flips on round-off)
        "rank_C_delta": int(np.sum(lam > 1e-10 * lam[0])),
        "rank_G": int(np.sum(sigma > 1e-10 * sigma[0])),
    }


def proposition6_hypotheses(
    inst: R.Instance, dec: N.Decomposition, align_tol: float = 1e-8
) -> tuple[HypothesisCheck, ...]:
    """Proposition 6's stated hypotheses on a softmax-head instance: a softmax head with m = c (rows of delta sum to
    0, rank c - 1), concentrated predictions (App. J), top singular vectors aligned with C_delta's top eigenvectors."""
    facts = softmax_rank_facts(inst)
    rows = float(np.max(np.abs(inst.delta.sum(axis=1))))
    conf = float(np.mean(inst.params["probs"].max(axis=1)))
    cos = float(dec.align_delta.min())
    return (
        met(
            "softmax head",
            rows < 1e-12 and facts["rank_C_delta"] == inst.m - 1,
            f"m = c = {inst.m}, max |1^T delta_i| = {rows:.0e}, rank C_delta = {facts['rank_C_delta']}",
        ),
        met("concentrated predictions", conf >= CONCENTRATED, f"mean top-class probability {conf:.3f}"),
        met("alignment", cos > 1 - align_tol, f"min_k |<u_k, q^delta_k>| = {cos:.10f}, k ≤ c - 1"),
    )


def proposition6_counterexample(c: int = 10, n: int = 64, B: int = 40, scale: float = 10.0, seed: int = 0):
    """The aligned softmax head (recipe G aligned) and its decomposition on the c - 1 directions that exist."""
    inst = R.recipe_g_aligned(c=c, n=n, B=B, scale=scale, seed=seed)
    return inst, inst.decompose(K=c - 1)


def aligned_heads(draws: int = 40, seed: int = 0) -> dict:
    """Seeded aligned softmax heads meeting every stated hypothesis (c in 4..10, so the K = c - 1 slope points are at
    least 3; B in [2c, n]; scale in [4, 12]): whether all have phi = 0 and alpha_Kron = 2 (the structure says they
    must), and how many have alpha_exact < 2."""
    rng = np.random.default_rng(seed)
    n_ok = below = 0
    all_zero = True
    while n_ok < draws:
        c = int(rng.integers(4, 11))
        n = int(rng.integers(2 * c + 2, 65))
        B = int(rng.integers(2 * c, n + 1))
        inst, dec = proposition6_counterexample(c, n, B, float(rng.uniform(4, 12)), int(rng.integers(1 << 30)))
        if not all(h.holds for h in proposition6_hypotheses(inst, dec)):
            continue
        n_ok += 1
        all_zero &= abs(dec.phi) < 1e-6 and abs(dec.alpha_kron - 2) < 1e-6
        below += dec.alpha_exact < 2
    return {"n": n_ok, "all_phi_zero": bool(all_zero), "alpha_exact_below_2": int(below)}


def check_proposition6() -> Evidence:
    inst, dec = proposition6_counterexample()
    facts = softmax_rank_facts(inst)
    generic = R.recipe_g(c=10, n=16, B=256, scale=3.0, seed=0)
    gdec = generic.decompose(K=9)
    draws = aligned_heads()
    ok = (
        draws["all_phi_zero"]
        and facts["rank_G"] == inst.m - 1
        and facts["sigma_c_rel"] < 1e-12
        and abs(dec.phi) < 1e-10
        and abs(dec.alpha_kron - 2) < 1e-10
        and dec.alpha_exact < 2
    )
    return Evidence(
        f"aligned softmax head (c = 10, B = 40 orthogonal inputs, concentrated predictions): rank G = {facts['rank_G']} = c - 1, "
        f"sigma_c/sigma_1 = {facts['sigma_c_rel']:.0e}, no k > c exists; rho^(delta) ≡ 1 so phi = {dec.phi:.3f} (not > 0), "
        f"alpha_Kron = {dec.alpha_kron:.3f}, alpha_exact = {dec.alpha_exact:.3f} (not > 2)",
        {
            **facts,
            "phi": dec.phi,
            "alpha_kron": dec.alpha_kron,
            "alpha_exact": dec.alpha_exact,
            "aligned_draws": draws["n"],
            "aligned_draws_alpha_exact_below_2": draws["alpha_exact_below_2"],
        },
        ok,
        (
            f"{draws['n']} seeded aligned heads meeting every hypothesis (c = 4..10): phi = 0 and alpha_Kron = 2 in all; "
            f"alpha_exact < 2 in {draws['alpha_exact_below_2']} (the printed 'phi > 0 and alpha > 2' fails in all, by phi)",
            f"context, not evidence: a generic head (recipe G, B = 256 > n) violates the alignment hypothesis "
            f"(median |<u_k, q^delta_k>| = {float(np.median(gdec.align_delta)):.2f}, min {gdec.align_delta.min():.2f}); "
            f"there phi = {gdec.phi:.3f}, alpha_exact = {gdec.alpha_exact:.3f}",
        ),
        hypotheses_met=proposition6_hypotheses(inst, dec),
    )


_c = sp.Symbol("c", positive=True, integer=True)
_k = sym["k"]
_C_delta = sp.MatrixSymbol("C_delta", dims["m"], dims["m"])

proposition6 = Statement(
    key="proposition6",
    name="Proposition 6",
    printed=sp.Implies(
        sp.And(
            rank(_C_delta) <= _c,
            eq(sp.MatrixSymbol("Q_delta", dims["m"], dims["m"]), sp.MatrixSymbol("U", dims["m"], dims["m"])),
            sp.Implies(_k <= _c, Approx(sym["rho_d"], 1)),
            sp.Implies(_k > _c, MuchLess(sym["rho_d"], 1)),
        ),
        sp.And(sp.StrictGreaterThan(sym["phi"], 0), sp.StrictGreaterThan(sym["alpha"], 2)),
    ),
    printed_text="output layer with c classes: rank C_delta ≤ c; top singular vectors align with top eigenvectors of "
    "C_delta, so rho^(delta) ≈ 1 for k ≤ c and ≪ 1 beyond ⇒ phi > 0, alpha > 2",
    hypotheses=(
        Hypothesis("softmax head", "delta_i = softmax(W a_i) - e_{y_i}, output layer m = c"),
        Hypothesis(
            "concentrated predictions",
            f"App. J's condition for the alignment (read: mean top-class probability ≥ {CONCENTRATED})",
        ),
        Hypothesis("alignment", "top singular vectors of G align with the top eigenvectors of C_delta (App. J)"),
    ),
    rests_on=("1^T delta_i = 0",),
    verdict=Verdict.REFUTED,
    check=check_proposition6,
    aliases=("Prop. 6",),
    corrected=sp.And(rank(_C_delta) <= _c - 1, sp.Eq(sp.Symbol("sigma_c"), 0)),
    why="rank ≤ c is vacuous (tight bound c - 1); for the output layer k ≤ c - 1 and sigma_c = 0, so the k > c regime "
    "is empty, and under the stated alignment rho^(delta) ≡ 1: the delta side gives phi = 0, not > 0",
)

STATEMENTS = (proposition6,)
