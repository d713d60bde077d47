r"""Participation ratios (§7.2, Abstract): the ranges of :math:`\mathrm{PR}_h` and :math:`\mathrm{PR}_{\rm grad}`
over the intrinsic-dimension rows (sel. D), and the ζ bound :math:`\zeta(p)^2/\zeta(2p)` (Prop. 9)."""

from __future__ import annotations

import math
from collections.abc import Callable

from ..bundle import Bundle
from ..checks import Measure, MeasureFn
from ..context import Context
from ..model import Candidate, Perturb
from ..perturb import flip, rec_from_ref
from ..records import Layer
from ..selections import SEL_D, sel_d

#: B_2, B_4, …, B_12 (Bernoulli numbers) for the Euler–Maclaurin tail of ζ
_BERNOULLI = (1 / 6, -1 / 30, 1 / 42, -1 / 30, 5 / 66, -691 / 2730)


def zeta(s: float, n: int = 10) -> float:
    r"""Riemann :math:`\zeta(s)` for real :math:`s>1` by Euler–Maclaurin summation:
    :math:`\sum_{k<N}k^{-s}+\frac{N^{1-s}}{s-1}+\frac{N^{-s}}2+\sum_{j=1}^{6}\frac{B_{2j}}{(2j)!}\,
    s(s+1)\cdots(s+2j-2)\,N^{-s-2j+1}` with :math:`N=10` (relative error < 1e-13 for s > 1; checked against
    mpmath in the tests — mpmath costs ~1 ms a call, too slow for every seed × batch of every layer)."""
    if not s > 1:
        return math.inf
    total = sum(k**-s for k in range(1, n)) + n ** (1 - s) / (s - 1) + 0.5 * n**-s
    rising, fact = 1.0, 1.0
    for j, b2j in enumerate(_BERNOULLI, start=1):
        rising *= (s + 2 * j - 2) * (s + 2 * j - 3) if j > 1 else s
        fact *= (2 * j) * (2 * j - 1)
        total += b2j / fact * rising * n ** (-s - 2 * j + 1)
    return total


def exact_zeta_bound(p: float) -> float:
    r""":math:`\zeta(p)^2/\zeta(2p)` with mpmath (the analytic claim: ζ(2)²/ζ(4) = 5/2 exactly)."""
    import mpmath

    return float(mpmath.zeta(p) ** 2 / mpmath.zeta(2 * p))


def zeta_bound(p: float) -> float:
    r""":math:`\zeta(p)^2/\zeta(2p)` (defined for p > 1; +∞ at p ≤ 1)."""
    return zeta(p) ** 2 / zeta(2 * p)


FIELD: dict[str, Callable[[Layer], float]] = {"pr_h": lambda x: x.pr_h, "pr_grad": lambda x: x.extra["pr_grad"]}
STORED = {"pr_h": "eff_rank_curvature_pr", "pr_grad": "eff_rank_gradient_pr"}


def pr_range(field: str) -> MeasureFn:
    """(min, max) of PR_h or PR_grad over sel. D1; the other rules and the joint reading are reported."""

    def measure(b: Bundle, ctx: Context) -> Measure:
        f = FIELD[field]
        L = sel_d(b, 1)
        cands = [
            Candidate(
                f"sel. D{r}: {SEL_D[r]}",
                (min(map(f, sel_d(b, r))), max(map(f, sel_d(b, r)))),
                len(sel_d(b, r)),
                same=True,
            )
            for r in SEL_D
            if r != 1
        ]
        lo, hi = min(L, key=f), max(L, key=f)
        joint = []
        for r in SEL_D:
            h = sel_d(b, r)
            a1, b1 = min(x.pr_h for x in h), max(x.pr_h for x in h)
            a2, b2 = min(x.extra["pr_grad"] for x in h), max(x.extra["pr_grad"] for x in h)
            if round(a1, 1) == 1.0 and round(b1, 1) == 1.8 and round(a2, 1) == 1.8 and round(b2) == 58:
                joint.append(r)
        return Measure(
            (f(lo), f(hi)),
            f"intrinsic_dim → [resnet, gpt2].results[].{STORED[field]} (sel. D1)",
            [f"intrinsic_dim[{x.block}]/{x.name}" for x in L],
            cands,
            [
                f"min at {lo.block}/{lo.name}, max at {hi.block}/{hi.name}; PR cannot be recomputed (only top-5 σ, h stored)",
                f"joint check of PR_h ∈ [1.0, 1.8] and PR_grad ∈ [1.8, 58]: reproduced by sel. D rules {joint or 'none'}",
            ],
        )

    return measure


def pr_range_perturb(field: str, lo: float, hi: float) -> Perturb:
    """Away: one PR beyond the range; towards: every PR clipped into it and the endpoints set."""
    key = STORED[field]

    def away(docs, out):
        rec_from_ref(docs, out.records[0])[key] = hi + 5

    def toward(docs, out):
        recs = [rec_from_ref(docs, r) for r in out.records]
        for r in recs:
            r[key] = min(max(r[key], lo), hi)
        recs[0][key], recs[-1][key] = lo, hi

    return flip(away, toward)
