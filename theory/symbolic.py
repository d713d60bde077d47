r"""Small sympy helpers shared by the statement modules: symbolic OLS slope, means, zero tests.

:math:`\mathrm{slope}_x(y)=\sum_k(x_k-\bar x)(y_k-\bar y)/\sum_k(x_k-\bar x)^2` on :math:`K` symbolic points.
"""

from __future__ import annotations

import sympy as sp

__all__ = ["points", "mean", "slope", "is_zero", "sym"]

# The paper's symbols, for printed statements.
sym = {
    name: sp.Symbol(tex)
    for name, tex in dict(
        alpha="alpha",
        alpha_kron="alpha_Kron",
        alpha_exact="alpha_exact",
        beta="beta",
        phi="phi",
        psi_omega="psi_omega",
        psi_chi="psi_chi",
        gamma="gamma",
        s="s",
        sigma="sigma_k",
        h="h_k",
        h_kron="h_k^Kron",
        h_exact="h_k^exact",
        h_sop="h_k^SoP",
        omega="omega_k",
        chi="chi_k",
        rho_d="rho_k^(delta)",
        rho_a="rho_k^(A)",
        lam_d="lambda_k^delta",
        lam_a="lambda_k^A",
        Phi="Phi_k",
        Lambda="Lambda_k",
        k="k",
        d="d",
        c="c",
        p="p",
        K="K",
        PR="PR_h",
        kappa="kappa",
        y="y",
        R="R_k",
    ).items()
}


def points(prefix: str, K: int) -> list[sp.Symbol]:
    """``K`` real symbols ``prefix1..prefixK``."""
    return list(sp.symbols(f"{prefix}1:{K + 1}", real=True))


def mean(v) -> sp.Expr:
    return sp.Add(*v) / len(v)


def slope(x, y) -> sp.Expr:
    """Symbolic OLS slope of ``y`` on ``x`` (with intercept)."""
    xb, yb = mean(x), mean(y)
    return sp.Add(*[(a - xb) * (b - yb) for a, b in zip(x, y, strict=True)]) / sp.Add(*[(a - xb) ** 2 for a in x])


def is_zero(expr: sp.Expr) -> bool:
    """True iff ``expr`` simplifies to exactly 0 (numerator of the combined fraction expands to 0)."""
    num, _ = sp.fraction(sp.together(sp.expand(expr)))
    return sp.expand(num) == 0
