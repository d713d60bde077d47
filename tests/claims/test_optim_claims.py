"""Table 3 / App. M / §7 SN claims on the project's optimizer-comparison files (sad-optim/1): number claims
only on a file of the same experiment (else no data naming the mismatch), law claims on any complete file,
both verdict directions of every law, and their perturbations flipping from either side."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from claims.bundle import Bundle
from claims.errors import InputError
from claims.evaluate import evaluate
from claims.model import FAILS, HOLDS, INCONCLUSIVE, NO_DATA
from claims.perturb import Docs
from claims.registry import REGISTRY
from empirics.compare_schema import CONFIG_NAMES
from tests import paths
from tests.optim_fixture import PAPER, accs, all_fixtures, app_m, optim_doc, sn_wins, table3, write

ROOT = paths.ROOT
LAWS = (
    "t3.law.sn_outperforms_adamw",
    "appM.law.scalar_within_seed_var",
    "appM.law.scalar_does_not_reproduce_sn_gain",
    "s7.sn.cost.project",
)
NUMBERS = tuple(f"t3.{r}.{c}" for r in ("rn18_c10", "rn18_c100", "rn50_c100") for c in ("adamw", "sn")) + (
    "s7.sn.gains.cifar10",
    "s7.sn.gains.cifar100",
)


def ev(cid, folder):
    return evaluate(REGISTRY[cid], Bundle(folder))


#: 20 seeds: enough for a seed-bootstrap interval to decide ±1 seed std (3 seeds are not: see below)
MANY = tuple(range(100, 120))


def accs_many(base: float, **shift: float) -> dict[str, list[float]]:
    """As ``accs`` with 20 seeds: every config at ``base`` + shift, seed offsets of sample std 0.3."""
    off = [(i - 9.5) for i in range(20)]
    sd = (sum(o * o for o in off) / 19) ** 0.5
    return {c: [base + shift.get(c, 0.0) + 0.3 * o / sd for o in off] for c in CONFIG_NAMES}


def many(**shift: float) -> dict:
    return optim_doc(accs_many(95.0, **shift), seeds=MANY, sec={"sn": 1.5e-3, "muon": 1e-3})


def sn_wins_many() -> dict:
    """sn_wins with 20 seeds: SN +2 pp, the scalar configs within ±0.05 pp of AdamW, SN step 1.5× Muon."""
    return many(sn=2.0, muon=1.0, spectral_beta05=0.05, spectral_beta10=-0.05, spectral_beta15=0.02)


def test_law_verdicts_on_a_file_where_sn_wins(tmp_path):
    f = write(tmp_path / "many", {"a.json": sn_wins_many()})
    outs = {c: ev(c, f) for c in LAWS}
    assert all(o.verdict == HOLDS for o in outs.values()), {c: (o.verdict, o.measured) for c, o in outs.items()}
    sn = ev("t3.law.sn_outperforms_adamw", write(tmp_path / "three", {"a.json": sn_wins()}))
    (delta, se, na, nb) = sn.candidates[0].value
    assert delta == pytest.approx(2.0) and se == pytest.approx(0.3 * (2 / 3) ** 0.5, rel=1e-3) and (na, nb) == (3, 3)
    assert sn.verdict == HOLDS and sn.uncertainty.ci[0] == 1.0  # one file, its Δ interval above 0
    (u,) = sn.uncertainty.leaves()
    assert u.n_seeds == 3 and u.ci[0] > 0 and u.ci[1] > u.ci[0]


def test_three_seeds_cannot_show_a_scalar_config_within_seed_noise(tmp_path):
    """Equivalence within ±1 seed std needs an interval narrower than that: with 3 seeds the widened interval
    of Δ is about ±3.5 std wide, so the law is inconclusive although every point lies within the band."""
    out = ev("appM.law.scalar_within_seed_var", write(tmp_path, {"a.json": sn_wins()}))
    assert out.verdict == INCONCLUSIVE and out.point_verdict == HOLDS
    assert all(u.verdict == INCONCLUSIVE and u.n_seeds == 3 for u in out.uncertainty.leaves())


def test_sn_law_is_inconclusive_when_the_gain_is_within_seed_noise_and_names_the_file(tmp_path):
    f = write(tmp_path, {"good.json": sn_wins(), "noise.json": optim_doc(accs(95.0, sn=0.3))})
    out = ev("t3.law.sn_outperforms_adamw", f)
    assert out.verdict == INCONCLUSIVE and out.point_verdict == FAILS and out.measured == (1, 2)
    assert out.uncertainty.ci == (1.0, 2.0)
    assert len(out.violators) == 1 and out.violators[0].startswith("noise.json") and "2·SE" in out.violators[0]


@pytest.mark.parametrize("doc", [lambda: optim_doc(accs(95.0, sn=-3.0)), lambda: many(sn=-1.0)])
def test_sn_law_fails_when_adamw_wins(tmp_path, doc):
    out = ev("t3.law.sn_outperforms_adamw", write(tmp_path, {"a.json": doc()}))
    assert out.verdict == FAILS and out.uncertainty.leaves()[0].ci[1] <= 0


def test_laws_need_two_seeds_and_complete_files(tmp_path):
    one = optim_doc({c: v[:1] for c, v in accs(95.0, sn=2.0).items()}, seeds=(42,))
    part = sn_wins()
    part["complete"] = False
    f = write(tmp_path, {"one.json": one, "part.json": part})
    for cid in LAWS[:3]:
        out = ev(cid, f)
        assert out.verdict == NO_DATA, cid
    notes = " ".join(ev("t3.law.sn_outperforms_adamw", f).notes)
    assert "one.json has < 2 seeds" in notes and "part.json is incomplete" in notes


@pytest.mark.parametrize("shift, verdict", [(0.05, HOLDS), (-1.0, FAILS), (1.0, FAILS), (0.3, INCONCLUSIVE)])
def test_scalar_within_seed_var_law(tmp_path, shift, verdict):
    out = ev("appM.law.scalar_within_seed_var", write(tmp_path, {"a.json": many(spectral_beta10=shift)}))
    assert out.verdict == verdict, (out.measured, out.violators)
    if verdict == FAILS:
        assert any("spectral_beta10" in v for v in out.violators)


def test_scalar_does_not_reproduce_law_both_ways_and_not_judged_without_an_sn_gain(tmp_path):
    cid = "appM.law.scalar_does_not_reproduce_sn_gain"
    assert ev(cid, write(tmp_path / "a", {"a.json": sn_wins()})).verdict == HOLDS
    repro = optim_doc(accs(95.0, sn=2.0, spectral_beta15=4.0))
    out = ev(cid, write(tmp_path / "b", {"b.json": repro}))
    assert out.verdict == FAILS and any("spectral_beta15" in v for v in out.violators)
    close = ev(cid, write(tmp_path / "d", {"d.json": optim_doc(accs(95.0, sn=2.0, spectral_beta15=1.8))}))
    assert close.verdict == INCONCLUSIVE and close.point_verdict == FAILS  # 0.2 pp below SN, 3 seeds
    out = ev(cid, write(tmp_path / "c", {"c.json": optim_doc(accs(95.0, sn=0.1, spectral_beta15=1.8))}))
    assert out.verdict == NO_DATA and any("SN does not beat AdamW" in n for n in out.notes)


@pytest.mark.parametrize("sn_sec, verdict", [(1.8e-3, HOLDS), (0.5e-3, HOLDS), (1.9e-3, FAILS)])
def test_cost_law(tmp_path, sn_sec, verdict):
    doc = optim_doc(accs(95.0), sec={"sn": sn_sec, "muon": 1e-3})
    assert ev("s7.sn.cost.project", write(tmp_path, {"a.json": doc})).verdict == verdict


def test_printed_cost_stays_no_data_with_a_reason(tmp_path):
    out = ev("s7.sn.cost", write(tmp_path, {"a.json": sn_wins()}))
    assert out.verdict == NO_DATA and "s7.sn.cost.project" in " ".join(out.notes)


# -- number claims: only on the same experiment ---------------------------------------------------------
def test_number_claims_are_no_data_on_a_digits_file_and_name_the_mismatch(tmp_path):
    f = write(tmp_path, {"optim_compare_cpu.json": sn_wins()})
    for cid in NUMBERS + ("appM.adam.mean", "appM.beta10.delta", "appM.within_seed_var", "appM.design"):
        out = ev(cid, f)
        assert out.verdict == NO_DATA, cid
        assert "optim_compare_cpu.json" in out.source and "architecture mlp" in out.source, (cid, out.source)


def test_synthetic_cifar_or_other_epochs_do_not_match_table3(tmp_path):
    syn = table3("resnet18", "synthetic-cifar", 92.7, 93.8)
    syn["dataset_kind"] = "synthetic"
    e10 = table3("resnet18", "cifar10", 92.7, 93.8)
    e10["n_epochs"] = 10
    out = ev("t3.rn18_c10.adamw", write(tmp_path, {"syn.json": syn, "e10.json": e10}))
    assert out.verdict == NO_DATA and "not real cifar10" in out.source and "10 epochs (not 30)" in out.source


def test_table3_cells_on_matching_files(tmp_path):
    f = write(tmp_path, {"c10.json": table3("resnet18", "cifar10", 92.7, 94.4)})
    assert ev("t3.rn18_c10.adamw", f).verdict == HOLDS
    out = ev("t3.rn18_c10.sn", f)
    assert out.verdict == FAILS and out.measured == pytest.approx(94.4)
    assert ev("s7.sn.gains.cifar10", f).verdict == FAILS  # 94.4 − 92.7 = 1.7, printed 1.1
    assert ev("t3.rn50_c100.sn", f).verdict == NO_DATA


def test_table3_needs_seed_42(tmp_path):
    doc = table3("resnet18", "cifar10", 92.7, 93.8)
    doc = optim_doc(
        {c: v["seeds"] for c, v in doc["summary"].items()},
        architecture="resnet18",
        model="resnet18_cifar",
        dataset="cifar10",
        epochs=30,
        seeds=(1, 2, 3),
    )
    out = ev("t3.rn18_c10.adamw", write(tmp_path, {"a.json": doc}))
    assert out.verdict == NO_DATA and "seed 42" in out.source


def test_cifar100_gains_range(tmp_path):
    f = write(
        tmp_path,
        {
            "r18.json": table3("resnet18", "cifar100", 71.5, 75.0),
            "r50.json": table3("resnet50", "cifar100", 72.6, 74.0),
        },
    )
    out = ev("s7.sn.gains.cifar100", f)
    assert out.verdict == FAILS and out.measured == pytest.approx([3.5, 1.4])


def test_app_m_claims_from_a_project_file_of_app_m_experiment(tmp_path):
    f = write(tmp_path, {"m.json": app_m()})
    authors = Bundle(PAPER) if PAPER.is_dir() else None
    for cid in (
        "appM.adam.mean",
        "appM.beta10.mean",
        "appM.beta15.mean",
        "appM.beta10.delta",
        "appM.beta15.delta",
        "appM.max_abs_delta",
        "appM.within_seed_var",
        "appM.design",
    ):
        out = ev(cid, f)
        assert out.verdict in (HOLDS, FAILS) and out.records[0].startswith("m.json/"), cid
        if authors is not None:  # the fixture carries the authors' per-seed numbers: same verdicts
            ref = evaluate(REGISTRY[cid], authors)
            assert (out.verdict, out.measured) == (ref.verdict, ref.measured), cid


@pytest.mark.skipif(not PAPER.is_dir(), reason="paper results not present")
def test_authors_app_m_file_wins_over_a_project_file(tmp_path):
    m = app_m()
    for cfg in m["summary"]:
        m["summary"][cfg]["seeds"] = [50.0, 50.0, 50.0]
        m["summary"][cfg]["mean_best"] = 50.0
        m["summary"][cfg]["std_best"] = 0.0
    f = write(tmp_path, {"m.json": m}, paper=True)
    out = ev("appM.adam.mean", f)
    assert out.verdict == HOLDS and out.source.startswith("precond")


# -- perturbations from both sides ------------------------------------------------------------------------
FAILING = {
    "t3.law.sn_outperforms_adamw": lambda: many(sn=-1.0),
    "appM.law.scalar_within_seed_var": lambda: many(spectral_beta05=2.0),
    "appM.law.scalar_does_not_reproduce_sn_gain": lambda: many(sn=2.0, random_perlayer=4.0),
    "s7.sn.cost.project": lambda: optim_doc(accs(95.0), sec={"sn": 5e-3, "muon": 1e-3}),
}


@pytest.mark.parametrize("cid", LAWS)
@pytest.mark.parametrize("start", [HOLDS, FAILS])
def test_law_perturbation_flips_from_either_side(cid, start, tmp_path):
    doc = sn_wins_many() if start == HOLDS else FAILING[cid]()
    folder = write(tmp_path / "r", {"a.json": doc, "b.json": sn_wins_many()})
    before = ev(cid, folder)
    assert before.verdict == start, (before.measured, before.violators)
    docs = Docs(folder)
    REGISTRY[cid].perturb(docs, before)
    after = evaluate(REGISTRY[cid], Bundle(docs.write(tmp_path / "p")))
    assert after.verdict == (FAILS if start == HOLDS else HOLDS), (after.measured, after.violators)


@pytest.mark.parametrize("cid", [c for c in REGISTRY if c.startswith("appM.") and ".law." not in c])
def test_app_m_perturbations_edit_a_project_file(cid, tmp_path):
    folder = write(tmp_path / "r", {"m.json": app_m()})
    before = ev(cid, folder)
    docs = Docs(folder)
    REGISTRY[cid].perturb(docs, before)
    after = evaluate(REGISTRY[cid], Bundle(docs.write(tmp_path / "p")))
    assert after.verdict == (FAILS if before.verdict == HOLDS else HOLDS), (cid, before.measured, after.measured)


# -- input errors -----------------------------------------------------------------------------------------
def test_malformed_comparison_file_is_an_input_error(tmp_path):
    doc = sn_wins()
    doc["summary"]["sn"]["seeds"][1] = 140.0
    f = write(tmp_path, {"bad.json": doc})
    with pytest.raises(InputError, match=r"bad.json: \$.summary.sn.seeds\[1\]"):
        Bundle(f).load_all()
    r = subprocess.run(
        [sys.executable, "-m", "claims", "verify", "--results", str(f)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert r.returncode == 2 and len(r.stderr.strip().splitlines()) == 1 and "bad.json" in r.stderr


def test_a_folder_with_only_a_comparison_file_is_usable(tmp_path):
    b = Bundle(write(tmp_path, {"a.json": sn_wins()}))
    b.check_usable()
    assert len(b.optim) == 1 and b.project == []


def test_every_fixture_claim_gets_data(tmp_path):
    f = write(tmp_path, all_fixtures())
    for cid in LAWS + NUMBERS:
        assert ev(cid, f).verdict in (HOLDS, FAILS, INCONCLUSIVE), cid
    json.dumps([ev(c, f).measured for c in LAWS])  # measured values are JSON-able
