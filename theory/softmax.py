r"""Proposition 6 (softmax head, THEORY.md §3.8).

Exact [DERIVED]: :math:`\mathbf 1^\top\delta_i=0`, so :math:`C_\delta\mathbf 1=0`, :math:`\mathrm{rank}\,C_\delta\le\min(c-1,B)`,
:math:`\mathbf 1^\top G=0` and :math:`\mathrm{rank}\,G\le c-1`. For the output layer (:math:`m=c`) every direction has
:math:`k\le c`, :math:`\sigma_c=0` and :math:`\lambda^\delta_c=0`: the ":math:`k>c`" regime the proposition relies on is empty.
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import numeric as N
from theory import recipes as R
from theory.statement import Evidence, Hypothesis, Statement, Verdict
from theory.symbolic import sym

__all__ = ["softmax_rank_facts", "proposition6", "STATEMENTS"]


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


def check_proposition6() -> Evidence:
    inst = R.recipe_g(c=10, n=16, B=256, scale=3.0, seed=0)
    facts = softmax_rank_facts(inst)
    dec = inst.decompose(K=9)
    ok = (
        facts["rank_C_delta"] == 9
        and facts["rank_G"] == 9
        and facts["sigma_c_rel"] < 1e-12
        and dec.alpha_exact < 2
        and dec.phi < 0
    )
    return Evidence(
        f"recipe G (c = 10): rank C_delta = {facts['rank_C_delta']} = c - 1, sigma_c/sigma_1 = {facts['sigma_c_rel']:.0e}; "
        f"no k > c exists; on k ≤ c-1: phi = {dec.phi:.3f} (not > 0), alpha_Kron = {dec.alpha_kron:.3f}, alpha_exact = {dec.alpha_exact:.3f} (not > 2)",
        {**facts, "phi": dec.phi, "alpha_kron": dec.alpha_kron, "alpha_exact": dec.alpha_exact},
        ok,
    )


proposition6 = Statement(
    key="proposition6",
    name="Proposition 6",
    printed=sp.Implies(
        sp.Symbol("rank C_delta <= c, rho^(delta)_k << 1 for k > c"), sp.StrictGreaterThan(sym["alpha"], 2)
    ),
    printed_text="output layer with c classes: rank C_delta ≤ c; rho^(delta) ≈ 1 for k ≤ c and ≪ 1 beyond ⇒ phi > 0, alpha > 2",
    hypotheses=(
        Hypothesis("softmax head", "delta_i = softmax(W a_i) - e_{y_i}, m = c"),
        Hypothesis("concentrated predictions", "top singular vectors align with top eigenvectors of C_delta (App. J)"),
    ),
    rests_on=("1^T delta_i = 0",),
    verdict=Verdict.REFUTED,
    check=check_proposition6,
    aliases=("Prop. 6",),
    corrected=sp.Symbol("rank C_delta <= c - 1, sigma_c = 0"),
    why="rank ≤ c is vacuous (tight bound c - 1); for the output layer k ≤ c and sigma_c = 0, so the k > c regime is empty",
)

STATEMENTS = (proposition6,)
