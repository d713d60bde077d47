"""The verdict standard (theory/statement.py, docs/verdict-standard.md) holds for every statement, on live evidence.

* every *refuted* statement's evidence checks every stated hypothesis on its counterexample instance, and all hold;
* every *holds under added hypotheses* statement's evidence checks its added hypotheses (and its stated ones);
* *holds* / *identity* use no added hypothesis; the structural rules are enforced when a Statement is built;
* a failed hypothesis check makes the evidence not confirm;
* the standard is written once: the docs page and the README paragraph name every verdict.
"""

from __future__ import annotations

import pytest

from tests import paths
from theory.registry import STATEMENTS
from theory.statement import Evidence, Hypothesis, HypothesisKind, Statement, Verdict, met

REFUTED = [s for s in STATEMENTS if s.verdict is Verdict.REFUTED]
HOLDS_ADDED = [s for s in STATEMENTS if s.verdict is Verdict.HOLDS_ADDED]


@pytest.mark.parametrize("st", REFUTED, ids=lambda s: s.key)
def test_every_refuted_statement_checks_its_stated_hypotheses_on_the_counterexample(st):
    ev = st.evidence()
    checked = {h.name: h for h in ev.hypotheses_met}
    missing = [name for name in st.stated if name not in checked]
    assert not missing, f"{st.name}: the evidence does not check the stated hypotheses {missing}"
    failing = [str(h) for h in ev.hypotheses_met if not h.holds]
    assert not failing, f"{st.name}: the counterexample violates {failing}"
    assert ev.confirms
    assert all(checked[name].measured for name in st.stated), "each check says what it measured"


@pytest.mark.parametrize("st", HOLDS_ADDED, ids=lambda s: s.key)
def test_holds_under_added_hypotheses_checks_them_and_names_them(st):
    ev = st.evidence()
    checked = {h.name for h in ev.hypotheses_met if h.holds}
    assert set(st.added) <= checked and set(st.stated) <= checked
    assert st.verdict_label == f"holds under added hypotheses: {', '.join(st.added)}"
    assert ev.confirms


def test_refuted_list_is_what_the_standard_gives():
    assert {s.key for s in REFUTED} == {
        "theorem1_part2_beta",
        "theorem1_part3",
        "remark1",
        "theorem2",
        "proposition3",
        "corollary4",
        "proposition6",
        "conv_gap",
        "remark2",
        "proposition9",
        "appendix_l_separable",
    }
    assert {s.key for s in HOLDS_ADDED} == {"corollary4_part2"}


def test_holds_and_identity_use_no_added_hypothesis():
    for s in STATEMENTS:
        if s.verdict in (Verdict.HOLDS, Verdict.IDENTITY):
            assert not s.added, s.name


def _statement(verdict, hypotheses=(), why="because"):
    return Statement("k", "N", None, "t", tuple(hypotheses), (), verdict, lambda: Evidence("", {}, True), why=why)


def test_structural_rules_are_enforced_when_a_statement_is_built():
    added = Hypothesis("x", "an unstated condition", HypothesisKind.ADDED)
    with pytest.raises(ValueError, match="may not use added hypotheses"):
        _statement(Verdict.HOLDS, (added,))
    with pytest.raises(ValueError, match="may not use added hypotheses"):
        _statement(Verdict.IDENTITY, (added,))
    with pytest.raises(ValueError, match="must name at least one added hypothesis"):
        _statement(Verdict.HOLDS_ADDED, (Hypothesis("y", "stated"),))
    with pytest.raises(ValueError, match="needs a 'why'"):
        _statement(Verdict.REFUTED, why="")
    ok = _statement(Verdict.HOLDS_ADDED, (added,))
    assert ok.verdict_label == "holds under added hypotheses: x"


def test_a_failed_hypothesis_check_means_the_evidence_does_not_confirm():
    assert Evidence("s", {}, True, hypotheses_met=(met("a", True),)).confirms
    assert not Evidence("s", {}, True, hypotheses_met=(met("a", True), met("b", False))).confirms
    with pytest.raises(KeyError, match="does not check"):
        Evidence("s", {}, True).hypothesis("a")


def test_the_standard_is_written_once_and_cited():
    doc = (paths.ROOT / "docs" / "verdict-standard.md").read_text(encoding="utf-8")
    for v in Verdict:
        assert v.value in doc, v
    for kind in HypothesisKind:
        assert f"*{kind.value}*" in doc, kind
    readme = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## What holds and what does not", 1)[1].split("\n## ", 1)[0]
    assert "docs/verdict-standard.md" in section
    for v in Verdict:
        assert v.value in section, v
