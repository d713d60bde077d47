"""REPL objects: `from theory import ...`, multi-line reprs, Jupyter reprs, sympy printing, group evidence,
compact reprs for recipe instances and decompositions, live evidence."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import sympy as sp

import theory
from theory.registry import STATEMENTS, get, verdict_counts
from theory.statement import Group, GroupEvidence, Statement, Verdict


def test_repl_imports_and_aliases():
    from theory import corollary4, proposition3, proposition7, proposition9, theorem1, theorem3, theorem7, theorem9

    assert theorem9 is proposition9 and theorem3 is proposition3 and theorem7 is proposition7
    assert [p.name for p in theorem1] == [
        "Theorem 1 part 1",
        "Theorem 1 part 2",
        "Theorem 1 part 2 (beta = 2 under alignment)",
        "Theorem 1 part 3",
    ]
    assert isinstance(corollary4, Group) and [p.name for p in corollary4] == [
        "Corollary 4",
        "Corollary 4 (second sentence)",
    ]
    with pytest.raises(AttributeError):
        theory.theorem42  # noqa: B018


def test_statements_are_frozen_dataclasses_with_a_multi_line_repr():
    from theory import proposition9, theorem1_part3

    assert dataclasses.is_dataclass(theorem1_part3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        theorem1_part3.verdict = Verdict.HOLDS  # type: ignore[misc]
    r = repr(proposition9)
    lines = r.splitlines()
    assert lines[0] == "Proposition 9 — refuted as printed"
    assert len(lines) > 8 and "ζ" in r  # the pretty-printed statement, not a one-liner
    for part in ("as printed:", "hypotheses:", "[stated] power law", "[added] exact power law", "why:", "corrected"):
        assert part in r
    assert lines[-1].strip().startswith("evidence: proposition9.evidence()")
    assert str(proposition9) == proposition9.describe(run=False)


def test_jupyter_reprs():
    from theory import corollary4, proposition9

    latex = proposition9._repr_latex_()
    assert latex.startswith("$\\displaystyle ") and latex.endswith("$") and "\\zeta" in latex
    md = proposition9._repr_markdown_()
    assert (
        md.startswith("**Proposition 9** — *refuted as printed*") and "$$" in md and "`proposition9.evidence()`" in md
    )
    assert "holds under added hypotheses: flat A side" in corollary4._repr_markdown_()


def test_printed_forms_are_sympy_and_pretty_print():
    from theory import proposition7, proposition9, theorem1_part2, theorem1_part3
    from theory.symbolic import LogSlope

    s = lambda name: sp.Symbol(name)  # noqa: E731
    assert isinstance(theorem1_part3.printed, sp.Implies)
    eq3 = theorem1_part3.printed.args[1].args[1]  # alpha = 2 + dlnPhi/dlnsigma - dlnchi/dlnsigma
    assert eq3 == sp.Eq(s("alpha"), 2 + LogSlope(s("Phi_k"), s("sigma_k")) - LogSlope(s("chi_k"), s("sigma_k")))
    assert theorem1_part2.printed.rhs == LogSlope(s("Lambda_k"), s("sigma_k")) + LogSlope(s("Phi_k"), s("sigma_k"))
    assert sp.Eq(s("s"), s("alpha") * s("gamma")) in proposition7.printed.args[1].args
    assert "ζ" in proposition9.pretty()
    assert theorem1_part3.corrected.rhs == 2 - s("psi_omega") + s("psi_chi")
    assert theorem1_part2.latex() == sp.latex(theorem1_part2.printed)


def test_every_paper_statement_is_encoded_with_a_verdict():
    names = {s.name for s in STATEMENTS}
    for required in (
        "Definition 1",
        "Theorem 1 part 1",
        "Theorem 1 part 2",
        "Theorem 1 part 3",
        "Remark 1",
        "Theorem 2",
        "Proposition 3",
        "Corollary 4",
        "Corollary 4 (second sentence)",
        "Proposition 5",
        "Proposition 6",
        "Proposition 7",
        "Remark 2",
        "Corollary 8",
        "Proposition 9",
        "Conv gap (§6.4)",
        "T(sigma;alpha) / Spectral Newton",
        "Scalar preconditioner (App. M)",
        "BIC rank models (App. G)",
    ):
        assert required in names
    assert all(isinstance(s, Statement) and isinstance(s.verdict, Verdict) for s in STATEMENTS)
    assert len({s.key for s in STATEMENTS}) == len(STATEMENTS)
    counts = verdict_counts()
    assert all(counts[v] > 0 for v in Verdict)


def test_evidence_is_computed_and_can_be_refreshed():
    st = get("Theorem 1 part 3")
    ev = st.evidence(refresh=True)
    assert ev.confirms and ev.statement == "Theorem 1 part 3"
    assert ev.values["eq3_prediction"] == pytest.approx(3.5, abs=1e-10)
    assert ev.values["alpha_exact"] == pytest.approx(0.5, abs=1e-10)
    assert st.evidence() is ev
    r = repr(ev)
    assert r.startswith("Evidence for Theorem 1 part 3: confirms the verdict") and "perfect alignment ✓" in r


def test_group_evidence():
    from theory import theorem1

    ev = theorem1.evidence()
    assert isinstance(ev, GroupEvidence) and len(ev) == 4 and ev.confirms
    assert ev[3] is get("Theorem 1 part 3").evidence()
    assert ev["Theorem 1 part 2 (beta = 2 under alignment)"].values["beta"] == pytest.approx(1.5172, abs=1e-4)
    r = repr(ev)
    assert r.startswith("Evidence for Theorem 1 (4 parts): every part confirms its verdict")
    assert r.count("\n  [") == 4
    with pytest.raises(KeyError):
        ev["Theorem 1 part 9"]
    assert repr(theorem1).startswith("Theorem 1 — 4 parts\n  [0] Theorem 1 part 1 — identity (proved symbolically)")


def test_instance_and_decomposition_reprs_are_compact():
    from theory.recipes import recipe_e

    inst = recipe_e(seed=0)
    r = repr(inst)
    assert r.startswith("Instance(recipe E: B=64, m=8, n=8,") and "\n" not in r and "array(" not in r
    assert "with exact Hessian" in r and ".params also holds" in r
    dec = inst.decompose()
    d = repr(dec)
    assert d.startswith("Decomposition(K = 8,") and "alpha_kron = 2.0000" in d and "alpha_exact = 0.5000" in d
    assert "array(" not in d and len(d.splitlines()) <= 6
    assert np.allclose(dec.align_delta, 1) and np.allclose(dec.align_A, 1)  # recipe E aligned


def test_hypotheses_carry_their_kind_and_refuted_statements_a_reason():
    for s in STATEMENTS:
        if s.verdict in (Verdict.REFUTED, Verdict.NOT_FORMALIZABLE, Verdict.HOLDS_ADDED):
            assert s.why, s.name
        assert all(h.name and h.text for h in s.hypotheses)
    assert get("Corollary 4 (second sentence)").added == ("flat A side",)
    assert get("Proposition 9").stated == ("power law", "alpha gamma > 1")


def test_lookup_is_name_insensitive_and_rejects_unknown():
    assert get("theorem 1 part 3") is get("Eq. (3)") is get("thm1part3")
    assert get("Corollary 4") is get("corollary4_part1")
    with pytest.raises(KeyError, match="unknown statement"):
        get("Lemma 1")
