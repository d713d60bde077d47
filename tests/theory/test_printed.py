"""Every printed form is a genuine sympy expression: no prose inside symbol names, so ``latex()`` and ``pprint()``
read like the paper.

``latex(statement.printed)`` (and of ``corrected``) is scanned for multi-letter identifiers outside LaTeX commands;
each must be notation from a short list (superscripts such as Kron, exact, SoP; operator names such as Var, Cov,
rank). A garbled form such as ``u^{T C}_{k delta u k}`` (a sentence in a Symbol) fails on "delta" and on the spaces
inside a symbol name.
"""

from __future__ import annotations

import re

import pytest
import sympy as sp

from theory.registry import STATEMENTS

#: multi-letter identifiers that are notation, not prose
NOTATION = {
    # superscripts / subscripts of the paper and THEORY.md
    "Kron", "exact", "SoP", "GN", "idx", "eff", "pc", "out",
    # operator names and named quantities
    "Var", "Cov", "rank", "norm", "vec", "PR", "BIC", "RSS",
}  # fmt: skip
_COMMAND = re.compile(r"\\[A-Za-z]+")
_WORD = re.compile(r"[A-Za-z]{2,}")
_NAME_OK = re.compile(r"^[A-Za-z]+(_[A-Za-z0-9]+)?(\^[A-Za-z0-9]+)?$")


def prose_words(latex: str) -> list[str]:
    """Multi-letter identifiers in a LaTeX string that are neither LaTeX commands nor notation."""
    return [w for w in _WORD.findall(_COMMAND.sub(" ", latex)) if w not in NOTATION]


def _names(expr: sp.Basic) -> set[str]:
    names = {a.name for a in expr.atoms(sp.Symbol, sp.MatrixSymbol)}
    names |= {str(b.label) for b in expr.atoms(sp.Indexed) for b in [b.base]}
    names |= {f.func.__name__ for f in expr.atoms(sp.Function) if isinstance(f, sp.core.function.AppliedUndef)}
    return names


FORMS = [(s.key, "printed", s.printed) for s in STATEMENTS] + [
    (s.key, "corrected", s.corrected) for s in STATEMENTS if s.corrected is not None
]


@pytest.mark.parametrize(("key", "which", "expr"), FORMS, ids=[f"{k}-{w}" for k, w, _ in FORMS])
def test_printed_form_is_sympy_without_prose(key, which, expr):
    assert isinstance(expr, sp.Basic), f"{key}.{which} is not a sympy expression"
    bad_names = [n for n in _names(expr) if not _NAME_OK.match(n)]
    assert not bad_names, f"{key}.{which}: symbol names that are not notation: {bad_names}"
    latex = sp.latex(expr)
    assert "\\text" not in latex and "\\mathrm" not in latex
    assert not prose_words(latex), f"{key}.{which}: prose in latex: {prose_words(latex)} in {latex}"
    assert sp.pretty(expr, use_unicode=True)  # pretty-prints


def test_the_scanner_catches_prose_in_a_symbol():
    garbled = sp.Eq(sp.Symbol("rho_k^(delta)"), sp.Symbol("u_k^T C_delta u_k"))
    assert "delta" in prose_words(sp.latex(garbled)) or not all(_NAME_OK.match(n) for n in _names(garbled))
    assert prose_words(sp.latex(sp.Symbol("alpha_weight"))) == ["weight"]
    assert prose_words(sp.latex(sp.Symbol("gradient spectrum exponential"))) != []
    assert prose_words(sp.latex(sp.Eq(sp.Symbol("h_k^Kron"), sp.Symbol("sigma_k") ** 2))) == []
