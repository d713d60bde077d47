r"""Proposition 5 (residual decorrelation, THEORY.md §3.7): no exact content; the identity it overlooks.

:math:`GG^\top=B^{-2}\delta^\top(AA^\top)\delta`, so the :math:`u_k` are eigenvectors of :math:`\delta^\top K_A\delta`,
:math:`K_A=AA^\top`. If :math:`K_A=cI_B` (possible only for :math:`B\le n`), :math:`U` diagonalises :math:`C_\delta`
and :math:`\sigma_k^2=(c/B)\lambda^\delta_k` — "unrelated eigenvectors" cannot hold in general.

>>> from theory import proposition5
>>> proposition5.verdict_label
'not formalizable'
>>> proposition5.evidence().values["gram_identity_max_rel_err"] < 1e-12
True
"""

from __future__ import annotations

import numpy as np
import sympy as sp

from theory import numeric as N
from theory import recipes as R
from theory.statement import Evidence, Hypothesis, Statement, Verdict
from theory.symbolic import Approx, LogSlope, MuchLess, sym

__all__ = ["gram_identity_error", "orthogonal_inputs_case", "proposition5", "STATEMENTS"]


def gram_identity_error(delta: np.ndarray, A: np.ndarray) -> float:
    r"""Relative error of :math:`GG^\top=B^{-2}\delta^\top AA^\top\delta`."""
    G = N.gradient(delta, A)
    B = delta.shape[0]
    lhs, rhs = G @ G.T, delta.T @ (A @ A.T) @ delta / B**2
    return float(np.max(np.abs(lhs - rhs)) / np.max(np.abs(lhs)))


def orthogonal_inputs_case(B: int = 6, n: int = 10, m: int = 5, c: float = 2.0, seed: int = 0) -> dict[str, float]:
    r""":math:`K_A=cI_B` (:math:`B\le n`): off-diagonal of :math:`U^\top C_\delta U` and :math:`\sigma_k^2-(c/B)\lambda^\delta_k`."""
    rng = np.random.default_rng(seed)
    Q, _ = np.linalg.qr(rng.standard_normal((n, B)))
    A = np.sqrt(c) * Q.T  # A A^T = c I_B
    delta = rng.standard_normal((B, m))
    sigma, U, _ = N.gradient_svd(N.gradient(delta, A))
    C_d, _ = N.second_moments(delta, A)
    M = U.T @ C_d @ U
    lam, _ = N.sorted_eigh(C_d)
    r = min(m, B)
    return {
        "max_offdiag_UtCU": float(np.max(np.abs(M - np.diag(np.diag(M))))),
        "max_err_sigma2": float(np.max(np.abs(sigma[:r] ** 2 - c / B * lam[:r]))),
    }


def check_proposition5() -> Evidence:
    errs = [gram_identity_error(R.recipe_c(seed=s).delta, R.recipe_c(seed=s).A) for s in range(3)]
    case = orthogonal_inputs_case()
    ok = max(errs) < 1e-12 and case["max_offdiag_UtCU"] < 1e-12 and case["max_err_sigma2"] < 1e-12
    return Evidence(
        f"not formalizable ('≈', 'unrelated'); exact: GG^T = B^-2 delta^T A A^T delta (rel. err {max(errs):.0e}); "
        f"with A A^T = cI, U diagonalises C_delta (off-diagonal {case['max_offdiag_UtCU']:.0e})",
        {"gram_identity_max_rel_err": max(errs), **case},
        ok,
    )


_d = sp.Symbol("d", positive=True, integer=True)

proposition5 = Statement(
    key="proposition5",
    name="Proposition 5",
    printed=sp.Implies(
        MuchLess(
            sp.Function("norm")(sp.MatrixSymbol("J_f", _d, _d).T * sp.MatrixSymbol("delta_out", _d, 1)),
            sp.Function("norm")(sp.MatrixSymbol("delta_out", _d, 1)),
        ),
        Approx(LogSlope(sym["rho_d"], sym["sigma"]), 0),
    ),
    printed_text="skip-dominated y = x + f(x): C_delta ≈ C_delta_out with eigenvectors unrelated to u_k ⇒ slope of ln rho^(delta) ≈ 0",
    hypotheses=(Hypothesis("skip-dominated", "||J_f^T delta_out|| << ||delta_out||"),),
    rests_on=("GG^T = B^-2 delta^T A A^T delta",),
    verdict=Verdict.NOT_FORMALIZABLE,
    check=check_proposition5,
    aliases=("Prop. 5",),
    why="'≈' and 'unrelated eigenvectors' have no quantitative content; which layer's C_delta is meant is unclear; "
    "the u_k are tied to delta by GG^T = B^-2 delta^T A A^T delta",
)

STATEMENTS = (proposition5,)
