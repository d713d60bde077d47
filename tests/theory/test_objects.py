"""REPL objects: `from theory import ...`, reprs, sympy printing, verdicts, evidence computed live."""

from __future__ import annotations

import dataclasses

import pytest
import sympy as sp

import theory
from theory.registry import STATEMENTS, get, verdict_counts
from theory.statement import Statement, Verdict


def test_repl_imports_and_aliases():
    from theory import proposition3, proposition7, proposition9, theorem1, theorem3, theorem7, theorem9

    assert theorem9 is proposition9 and theorem3 is proposition3 and theorem7 is proposition7
    assert [p.name for p in theorem1] == [
        "Theorem 1 part 1",
        "Theorem 1 part 2",
        "Theorem 1 part 2 (beta = 2 under alignment)",
        "Theorem 1 part 3",
    ]
    with pytest.raises(AttributeError):
        theory.theorem42  # noqa: B018


def test_statements_are_frozen_dataclasses_with_readable_repr():
    from theory import theorem1_part3

    assert dataclasses.is_dataclass(theorem1_part3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        theorem1_part3.verdict = Verdict.HOLDS  # type: ignore[misc]
    r = repr(theorem1_part3)
    assert r.startswith("<Theorem 1 part 3:") and "refuted as printed" in r


def test_printed_forms_are_sympy_and_pretty_print():
    from theory import proposition7, proposition9, theorem1_part3

    assert isinstance(theorem1_part3.printed, sp.Eq)
    assert theorem1_part3.printed.rhs == 2 + sp.Symbol("phi") - sp.Symbol("psi_chi")
    assert proposition7.printed == sp.Eq(sp.Symbol("s"), sp.Symbol("alpha") * sp.Symbol("gamma"))
    assert "ζ" in proposition9.pretty()
    assert theorem1_part3.corrected.rhs == 2 - sp.Symbol("psi_omega") + sp.Symbol("psi_chi")


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


def test_refuted_and_not_formalizable_carry_a_reason_and_hypotheses_are_data():
    for s in STATEMENTS:
        if s.verdict in (Verdict.REFUTED, Verdict.NOT_FORMALIZABLE):
            assert s.why, s.name
        assert all(h.name and h.text for h in s.hypotheses)
    assert any(not h.stated_in_tex for h in get("Corollary 4").hypotheses)


def test_evidence_is_computed_and_can_be_refreshed():
    st = get("Theorem 1 part 3")
    ev = st.evidence(refresh=True)
    assert ev.confirms
    assert ev.values["eq3_prediction"] == pytest.approx(3.5, abs=1e-10)
    assert ev.values["alpha_exact"] == pytest.approx(0.5, abs=1e-10)
    assert st.evidence() is ev


def test_lookup_is_name_insensitive_and_rejects_unknown():
    assert get("theorem 1 part 3") is get("Eq. (3)") is get("thm1part3")
    with pytest.raises(KeyError, match="unknown statement"):
        get("Lemma 1")
