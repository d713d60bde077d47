r"""Corollary 8 (HT-SR): not formalizable (THEORY.md §2, G22).

:math:`\alpha_{\rm weight}` (Martin–Mahoney's tail exponent) is undefined in the tex and "constrained by
:math:`s\approx\alpha\gamma`" has no mathematical content: no inequality, formula or proof. For context [STD]: if the
singular values of :math:`W` decay like :math:`k^{-\gamma_W}`, the ESD of :math:`W^\top W` has density tail exponent
:math:`1+1/(2\gamma_W)` — checked here on a synthetic spectrum, as the only computable fact nearby.

>>> from theory import corollary8
>>> corollary8.latex()
'\\alpha_{W} < s'
>>> corollary8.verdict_label
'not formalizable'
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory.statement import Evidence, Hypothesis, Statement, Verdict
from theory.statement import HypothesisKind as HK
from theory.symbolic import sym

__all__ = ["esd_tail_exponent", "corollary8", "STATEMENTS"]


def esd_tail_exponent(gamma_w: float, K: int = 200_000) -> float:
    r"""Tail exponent of the density of :math:`\lambda_k=k^{-2\gamma_W}` (counting function :math:`N(>\lambda)\sim\lambda^{-1/(2\gamma_W)}`)."""
    lam = np.arange(1, K + 1, dtype=float) ** (-2 * gamma_w)
    # N(>lam_k) = k, so the density tail exponent is 1 + slope of ln k against -ln lam_k
    sel = slice(100, K // 10)
    slope = np.polyfit(-np.log(lam[sel]), np.log(np.arange(1, K + 1)[sel]), 1)[0]
    return float(1 + slope)


def check_corollary8() -> Evidence:
    g = 0.6
    est = esd_tail_exponent(g)
    ok = abs(est - (1 + 1 / (2 * g))) < 1e-6
    return Evidence(
        f"not formalizable: alpha_weight undefined, 'constrained by' has no content; context [STD]: gamma_W = {g} gives ESD tail {est:.4f} "
        f"= 1 + 1/(2 gamma_W)",
        {"tail_exponent": est},
        ok,
    )


corollary8 = Statement(
    key="corollary8",
    name="Corollary 8",
    printed=sp.StrictLessThan(sym["alpha_w"], sym["s"]),
    printed_text="Martin–Mahoney's alpha_weight is constrained by s ≈ alpha gamma (empirically alpha_weight < s)",
    hypotheses=(Hypothesis("alpha_W", "Martin–Mahoney's weight tail exponent, undefined in the tex", HK.READING),),
    rests_on=(),
    verdict=Verdict.NOT_FORMALIZABLE,
    check=check_corollary8,
    aliases=("HT-SR", "Cor. 8"),
    why="no inequality, formula or proof; alpha_W is never defined; the only content, alpha_W < s, is an empirical "
    "observation (printed form), not a consequence of s = alpha gamma",
)

STATEMENTS = (corollary8,)
