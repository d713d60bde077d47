"""The shipped default ``results/`` (from ``python -m empirics run --preset cpu``): every file follows the schema,
its stored fits agree with a refit from its arrays, and the README's main command gives the law claims real verdicts."""

from __future__ import annotations

import json
import math
import subprocess
import sys

import pytest

from empirics.schema import validate
from tests import paths
from theory.fits import summarize_layer

RESULTS = paths.RESULTS
ALL_FILES = sorted(RESULTS.glob("*.json"))
FILES = [p for p in ALL_FILES if json.loads(p.read_text()).get("schema") == "sad-results/1"]
OPTIM_FILES = [p for p in ALL_FILES if json.loads(p.read_text()).get("schema") == "sad-optim/1"]


def test_results_folder_is_shipped():
    assert len(FILES) >= 7, "results/ should hold the CPU preset's files"


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_file_is_valid_complete_and_refits(path):
    doc = json.loads(path.read_text())
    validate(doc)
    assert doc["complete"] is True
    assert doc["provenance"].get("git_commit") is not None or "versions" in doc["provenance"]
    for layer in doc["layers"]:
        fits = summarize_layer(layer["sigma"], layer["h_exact"]).as_dict()
        stored = layer.get("fits", {})
        for key in ("alpha", "gamma", "s"):
            a, b = fits[key], stored.get(key)
            if b is None or not math.isfinite(a):
                continue
            assert abs(a - b) <= 1e-9 * max(1.0, abs(a)), (path.name, layer["name"], key, a, b)


def test_main_command_gives_law_verdicts_on_shipped_results():
    out = subprocess.run(
        [sys.executable, "-m", "claims", "verify", "--results", str(RESULTS), "--json"],
        capture_output=True,
        text=True,
        cwd=RESULTS.parent,
    )
    assert out.returncode in (0, 1), out.stderr
    claims = json.loads(out.stdout)
    laws = [c for c in claims if c["kind"] == "law" and c["verdict"] in ("holds", "fails", "inconclusive")]
    ids = {c["id"] for c in laws}
    assert {"abs.alpha.conv_approx2", "add.softmax.few_class_lt2", "abs.pr_h.range.law"} <= ids
    assert all("ci" in c and c["n_seeds"] >= 1 for c in laws)  # judged on project data: with an interval
    assert out.returncode == (1 if any(c["verdict"] == "fails" for c in claims) else 0)


# -- the optimizer comparison (``python -m empirics compare --preset cpu --out results/``) --------------------
def test_comparison_file_is_shipped_valid_and_complete():
    from empirics.compare.spec import PRESETS
    from empirics.compare_schema import CONFIG_NAMES, summarize_runs
    from empirics.compare_schema import validate as validate_optim

    shipped = {"optim_compare_cpu.json": "cpu", "optim_compare_cpu_conv.json": "cpu-conv"}
    assert sorted(p.name for p in OPTIM_FILES) == sorted(shipped)
    for path in OPTIM_FILES:
        doc = json.loads(path.read_text())
        validate_optim(doc)
        spec = PRESETS[shipped[path.name]]
        assert doc["complete"] is True and set(doc["summary"]) == set(CONFIG_NAMES)
        assert doc["model"] == spec.model and doc["n_epochs"] == spec.epochs and doc["seed_list"] == list(spec.seeds)
        assert doc["dataset_kind"] == "real"
        assert doc["provenance"].get("git_commit") is not None
        assert json.loads(json.dumps(summarize_runs(doc["runs"]))) == doc["summary"]  # the summary is the runs'
        assert all(len(s["seeds"]) >= 3 for s in doc["summary"].values())


def test_comparison_claims_get_verdicts_from_the_shipped_file():
    out = subprocess.run(
        [sys.executable, "-m", "claims", "verify", "--results", str(RESULTS), "--json"],
        capture_output=True,
        text=True,
        cwd=RESULTS.parent,
    )
    assert out.returncode in (0, 1), out.stderr
    claims = {c["id"]: c for c in json.loads(out.stdout)}
    for cid in ("t3.law.sn_outperforms_adamw", "appM.law.scalar_within_seed_var", "s7.sn.cost.project"):
        assert claims[cid]["verdict"] in ("holds", "fails", "inconclusive"), cid
        assert claims[cid]["n_seeds"] >= 3 and len(claims[cid]["ci"]) == 2, cid
    # the printed numbers describe ResNet CIFAR experiments: never judged on the digits comparison
    for cid in ("t3.rn18_c10.adamw", "appM.adam.mean", "s7.sn.gains.cifar10"):
        assert claims[cid]["verdict"] == "no data" and "optim_compare_cpu.json" in claims[cid]["source"], cid
