r"""Small sympy helpers shared by the statement modules: symbolic OLS slope, means, zero tests, and the paper's
notation as genuine sympy objects.

:math:`\mathrm{slope}_x(y)=\sum_k(x_k-\bar x)(y_k-\bar y)/\sum_k(x_k-\bar x)^2` on :math:`K` symbolic points.

Printed forms are built only from symbols whose names are notation (``rho_k^delta`` prints as
:math:`\rho^{\delta}_{k}`), matrix symbols (:math:`u_k^\top C_\delta u_k`), named functions
(:math:`\operatorname{Var}`, :math:`\operatorname{rank}`) and three relations sympy lacks, written as sympy
``BooleanFunction`` subclasses with their own printers: :class:`Approx` (≈), :class:`MuchLess` (≪) and
:class:`Propto` (∝); :class:`LogSlope` prints :math:`\frac{d\ln y}{d\ln x}`.

>>> from sympy import latex
>>> latex(Approx(LogSlope(sym["rho_a"], sym["sigma"]), 0))
'\\frac{d \\ln \\rho^{A}_{k}}{d \\ln \\sigma_{k}} \\approx 0'
>>> latex(quad(vec_u, C_delta))
'u_{k}^{T} C_{\\delta} u_{k}'
"""

from __future__ import annotations

from typing import Any

import sympy as sp
from sympy.logic.boolalg import BooleanFunction
from sympy.printing.pretty.stringpict import prettyForm

__all__ = [
    "points",
    "mean",
    "slope",
    "is_zero",
    "sym",
    "Approx",
    "MuchLess",
    "Propto",
    "Perp",
    "LogSlope",
    "Var",
    "Cov",
    "rank",
    "PR",
    "kappa",
    "eq",
    "quad",
    "dims",
    "vec_u",
    "vec_w",
    "vec_p",
    "vec_q",
    "vec_v",
    "C_delta",
    "C_A",
]


class _Infix(BooleanFunction):
    """A binary relation sympy lacks, printed infix (``a ≈ b``); a genuine sympy Boolean expression."""

    nargs = 2
    _tex = "?"
    _txt = "?"

    @classmethod
    def eval(cls, *args: Any) -> None:  # never evaluates: it records a claim
        return None

    def _latex(self, printer: Any) -> str:
        a, b = (printer._print(x) for x in self.args)
        return f"{a} {self._tex} {b}"

    def _sympystr(self, printer: Any) -> str:
        a, b = (printer._print(x) for x in self.args)
        return f"{a} {self._txt} {b}"

    def _pretty(self, printer: Any) -> prettyForm:
        a, b = (printer._print(x) for x in self.args)
        return prettyForm(*a.right(f" {self._txt} ", b))


class Approx(_Infix):
    """:math:`a\\approx b`."""

    _tex, _txt = r"\approx", "≈"


class MuchLess(_Infix):
    """:math:`a\\ll b`."""

    _tex, _txt = r"\ll", "≪"


class Propto(_Infix):
    """:math:`a\\propto b`."""

    _tex, _txt = r"\propto", "∝"


class Perp(_Infix):
    r""":math:`a\perp b` (independent)."""

    _tex, _txt = r"\perp", "⊥"


class LogSlope(sp.Function):
    """:math:`\\frac{d\\ln y}{d\\ln x}` — in this project the OLS slope of :math:`\\ln y` on :math:`\\ln x` over one window."""

    nargs = 2

    def _latex(self, printer: Any) -> str:
        y, x = (printer._print(a) for a in self.args)
        return rf"\frac{{d \ln {y}}}{{d \ln {x}}}"

    def _sympystr(self, printer: Any) -> str:
        y, x = (printer._print(a) for a in self.args)
        return f"dln({y})/dln({x})"

    def _pretty(self, printer: Any) -> prettyForm:
        y, x = (printer._print(a) for a in self.args)
        return prettyForm(*y.left("d ln ")) / prettyForm(*x.left("d ln "))


Var = sp.Function("Var", real=True, nonnegative=True)
Cov = sp.Function("Cov", real=True)
rank = sp.Function("rank", integer=True, nonnegative=True)
PR = sp.Function("PR", real=True, positive=True)
kappa = sp.Function("kappa", real=True, positive=True)

# dimensions and the vectors / matrices of THEORY.md §1.1 (right singular vectors are w_k)
dims = dict(zip(("m", "n", "B"), sp.symbols("m n B", positive=True, integer=True), strict=True))
vec_u = sp.MatrixSymbol("u_k", dims["m"], 1)
vec_w = sp.MatrixSymbol("w_k", dims["n"], 1)
vec_p = sp.MatrixSymbol("p_k", dims["B"], 1)
vec_q = sp.MatrixSymbol("q_k", dims["B"], 1)
vec_v = sp.MatrixSymbol("v_k", dims["m"] * dims["n"], 1)
C_delta = sp.MatrixSymbol("C_delta", dims["m"], dims["m"])
C_A = sp.MatrixSymbol("C_A", dims["n"], dims["n"])


def quad(x: sp.MatrixSymbol, M: sp.MatrixExpr) -> sp.MatrixExpr:
    r""":math:`x^\top Mx` (a 1×1 matrix expression; use :func:`eq` to equate it with a scalar)."""
    return x.T * M * x


def eq(lhs: Any, rhs: Any) -> sp.Eq:
    """``Eq`` that is never evaluated (sympy would decide a scalar = 1×1 matrix-expression equation is False)."""
    return sp.Eq(lhs, rhs, evaluate=False)


# The paper's symbols, for printed statements; every name is notation (latex() gives the paper's typesetting).
sym = {
    name: sp.Symbol(tex)
    for name, tex in dict(
        alpha="alpha",
        alpha_kron="alpha_Kron",
        alpha_exact="alpha_exact",
        alpha_w="alpha_W",
        beta="beta",
        phi="phi",
        psi_omega="psi_omega",
        psi_chi="psi_chi",
        gamma="gamma",
        s="s",
        s_idx="s_idx",
        sigma="sigma_k",
        h="h_k",
        h_kron="h_k^Kron",
        h_exact="h_k^exact",
        h_sop="h_k^SoP",
        omega="omega_k",
        chi="chi_k",
        rho_d="rho_k^delta",
        rho_a="rho_k^A",
        lam_d="lambda_k^delta",
        lam_a="lambda_k^A",
        Phi="Phi_k",
        Lambda="Lambda_k",
        k="k",
        d="d",
        c="c",
        C="C",
        p="p",
        K="K",
        L="L",
        PR="PR_h",
        y="y",
        R="R_k",
        e="e",
        r="r",
        ell="ell",
        B="B",
        n="n",
        N="N",
        z="z",
        b="b",
    ).items()
}


def points(prefix: str, K: int) -> list[sp.Symbol]:
    """``K`` real symbols ``prefix1..prefixK``."""
    return list(sp.symbols(f"{prefix}1:{K + 1}", real=True))


def mean(v: Any) -> sp.Expr:
    return sp.Add(*v) / len(v)


def slope(x: Any, y: Any) -> sp.Expr:
    """Symbolic OLS slope of ``y`` on ``x`` (with intercept)."""
    xb, yb = mean(x), mean(y)
    return sp.Add(*[(a - xb) * (b - yb) for a, b in zip(x, y, strict=True)]) / sp.Add(*[(a - xb) ** 2 for a in x])


def is_zero(expr: sp.Expr) -> bool:
    """True iff ``expr`` simplifies to exactly 0 (numerator of the combined fraction expands to 0)."""
    num, _ = sp.fraction(sp.together(sp.expand(expr)))
    return bool(sp.expand(num) == 0)
