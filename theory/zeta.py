r"""Proposition 9 (ζ bound on the curvature participation ratio), the PR monotonicity lemma, and the window
counterexample (THEORY.md §3.11, §5.1).

* Lemma: for positive non-increasing :math:`h`, :math:`\mathrm{PR}(K)=(\sum_{k\le K}h_k)^2/\sum_{k\le K}h_k^2` is
  non-decreasing in :math:`K`: with :math:`x=h_{K+1}`, :math:`S=\sum h_k`, :math:`Q=\sum h_k^2`,
  :math:`\mathrm{PR}(K+1)-\mathrm{PR}(K)=x(2SQ+xQ-S^2x)/(Q(Q+x^2))` and :math:`x\le Q/S`.
* Power law :math:`h_k=k^{-p}`, :math:`p>1`: :math:`\mathrm{PR}(K)=H_K(p)^2/H_K(2p)\uparrow\zeta(p)^2/\zeta(2p)` (strict bound).
* Windows not starting at :math:`k=1` break it: :math:`h=k^{-2}` on :math:`[10,20]` has PR 9.14 > 5/2.
"""

from __future__ import annotations

from functools import cache

import mpmath
import numpy as np
import sympy as sp

from theory.fits import participation_ratio
from theory.statement import Evidence, Hypothesis, Statement, Verdict
from theory.symbolic import sym

__all__ = [
    "zeta_bound",
    "zeta_bound_exact",
    "pr_power_law",
    "pr_window",
    "prove_pr_monotone",
    "proposition9",
    "pr_monotonicity",
    "STATEMENTS",
]


def zeta_bound(p: float, dps: int = 30) -> mpmath.mpf:
    r""":math:`\zeta(p)^2/\zeta(2p)` with mpmath at ``dps`` decimal digits (:math:`p>1`)."""
    if not p > 1:
        raise ValueError(f"the zeta bound needs p = alpha*gamma > 1, got {p}")
    with mpmath.workdps(dps):
        return +(mpmath.zeta(p) ** 2 / mpmath.zeta(2 * p))


def zeta_bound_exact(p: int | sp.Rational) -> sp.Expr:
    r"""Exact :math:`\zeta(p)^2/\zeta(2p)` in sympy (e.g. 5/2 at :math:`p=2`)."""
    return sp.nsimplify(sp.simplify(sp.zeta(p) ** 2 / sp.zeta(2 * p)))


def pr_window(p: float, k1: int, k2: int) -> float:
    r""":math:`\mathrm{PR}` of :math:`h_k=k^{-p}` on the window :math:`k_1\le k\le k_2`."""
    k = np.arange(k1, k2 + 1, dtype=float)
    return participation_ratio(k**-p)


def pr_power_law(p: float, K: int) -> float:
    r""":math:`\mathrm{PR}(K)=H_K(p)^2/H_K(2p)` for :math:`h_k=k^{-p}`, :math:`k=1..K`."""
    return pr_window(p, 1, K)


@cache
def prove_pr_monotone() -> dict[str, bool]:
    """sympy: the numerator identity of the lemma, and its sign under x ≤ Q/S."""
    S, Q, x = sp.symbols("S Q x", positive=True)
    diff = (S + x) ** 2 / (Q + x**2) - S**2 / Q
    identity = sp.simplify(diff - x * (2 * S * Q + x * Q - S**2 * x) / (Q * (Q + x**2))) == 0
    # with x = t Q/S, 0 < t ≤ 1:  2SQ + xQ - S^2 x = SQ(2 - t) + t Q^2/S > 0
    t = sp.symbols("t", positive=True)
    bracket = sp.expand((2 * S * Q + x * Q - S**2 * x).subs(x, t * Q / S))
    sign = sp.simplify(bracket - (S * Q * (2 - t) + t * Q**2 / S)) == 0
    return {"difference_identity": identity, "bracket_form": sign}


def check_proposition9() -> Evidence:
    window = pr_window(2.0, 10, 20)
    bound = zeta_bound(2.0)
    exact = zeta_bound_exact(2)
    ok = window > float(bound) and exact == sp.Rational(5, 2)
    return Evidence(
        f"zeta(2)^2/zeta(4) = {exact} exactly; window [10, 20] of h = k^-2 has PR = {window:.2f} > {float(bound):.2f}",
        {"pr_window_10_20": window, "zeta_bound_p2": float(bound), "exact_p2": str(exact)},
        ok,
        ("holds (strictly) for windows starting at k = 1 and an exact power law: see 'PR monotonicity lemma'",),
    )


def check_monotone() -> Evidence:
    proofs = prove_pr_monotone()
    rows, ok = [], all(proofs.values())
    for p in (1.2, 1.5, 2.0, 2.5, 3.0, 4.0, 6.0):
        prs = np.array([pr_power_law(p, K) for K in range(1, 201)])
        b = float(zeta_bound(p))
        ok &= bool(np.all(np.diff(prs) > 0) and prs[-1] < b)
        rows.append((p, pr_power_law(p, 20), b))
    tab = ", ".join(f"p={p:g}: PR(20)={a:.3f} < {b:.3f}" for p, a, b in rows[2:5])
    return Evidence(
        f"sympy: {all(proofs.values())}; PR(K) strictly increasing for K ≤ 200 and below zeta(p)^2/zeta(2p) at 7 exponents; {tab}",
        {"sympy": proofs, **{f"pr20_p{p:g}": a for p, a, _ in rows}, **{f"bound_p{p:g}": b for p, _, b in rows}},
        ok,
    )


proposition9 = Statement(
    key="proposition9",
    name="Proposition 9",
    printed=sp.LessThan(
        sym["PR"], sp.zeta(sp.Symbol("alpha") * sym["gamma"]) ** 2 / sp.zeta(2 * sp.Symbol("alpha") * sym["gamma"])
    ),
    printed_text="h_k ~ k^-(alpha gamma) on the measured window, alpha gamma > 1 ⇒ PR_h ≤ zeta(alpha gamma)^2/zeta(2 alpha gamma); 2.5 at alpha gamma = 2",
    hypotheses=(
        Hypothesis("power law", "h_k ∝ k^-(alpha gamma) exactly on the window, alpha gamma > 1"),
        Hypothesis("window from k = 1", "the window starts at k = 1", False),
    ),
    rests_on=("PR monotonicity lemma", "H_K(p) -> zeta(p)"),
    verdict=Verdict.REFUTED,
    check=check_proposition9,
    aliases=("Theorem 9", "Prop. 9", "zeta bound"),
    why="true (strict) only for windows starting at k = 1; 'the measured window' [k1, k2] with k1 > 1 can exceed it",
)

pr_monotonicity = Statement(
    key="pr_monotonicity",
    name="PR monotonicity lemma",
    printed=sp.GreaterThan(sp.Symbol("PR(K+1)") - sp.Symbol("PR(K)"), 0),
    printed_text="positive non-increasing h ⇒ PR(K) non-decreasing; for h = k^-p, p > 1, PR(K) ↑ zeta(p)^2/zeta(2p)",
    hypotheses=(Hypothesis("monotone h", "h_1 ≥ h_2 ≥ ... > 0", False),),
    rests_on=("x = h_{K+1} ≤ Q/S",),
    verdict=Verdict.IDENTITY,
    check=check_monotone,
    aliases=("PR lemma", "Proposition 9 (windows from k = 1)"),
)

STATEMENTS = (proposition9, pr_monotonicity)
