"""CLI behaviour of ``python -m claims``: exit statuses, one-line errors without traceback, JSON output,
missing paper files → `no data`, NO DATA claims never hold, import hygiene."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from claims.bundle import FILE_KEYS, Bundle
from claims.cli import main
from claims.evaluate import evaluate
from claims.model import HOLDS, NO_DATA
from claims.registry import REGISTRY
from tests import paths

ROOT = paths.ROOT
PAPER = paths.PAPER
if not PAPER.is_dir():
    PAPER = Path("/work/shared/paper-results")
needs_paper = pytest.mark.skipif(not PAPER.is_dir(), reason="../shared/paper-results not present")


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "claims", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=60
    )


def link_paper(dest: Path, skip: tuple[str, ...] = ()) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    for key, name in FILE_KEYS.items():
        if key not in skip:
            os.symlink(PAPER / name, dest / name)
    return dest


# -- unusable input: exit 2, one line, no traceback ----------------------------------------------
def test_missing_folder_exits_2(tmp_path):
    r = run_cli("verify", "--results", str(tmp_path / "nope"))
    assert r.returncode == 2
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def test_empty_folder_exits_2_and_says_what_to_run(tmp_path):
    r = run_cli("verify", "--results", str(tmp_path))
    assert r.returncode == 2
    assert "holds no results file" in r.stderr and "python -m empirics run" in r.stderr
    assert "Traceback" not in r.stderr


@needs_paper
def test_malformed_json_names_the_file(tmp_path):
    d = link_paper(tmp_path / "r", skip=("hypothesis",))
    (d / FILE_KEYS["hypothesis"]).write_text('{"output_dim": [1, 2,')
    r = run_cli("verify", "--results", str(d))
    assert r.returncode == 2
    assert r.stderr.startswith("error: results_hypothesis.json: $: malformed JSON")
    assert "Traceback" not in r.stderr and len(r.stderr.strip().splitlines()) == 1


@needs_paper
def test_missing_field_names_the_json_path(tmp_path):
    d = link_paper(tmp_path / "r", skip=("in1k",))
    doc = json.loads((PAPER / FILE_KEYS["in1k"]).read_text())
    del doc["results"][3]["alpha"]
    (d / FILE_KEYS["in1k"]).write_text(json.dumps(doc))
    assert main(["verify", "--results", str(d)]) == 2
    r = run_cli("verify", "--results", str(d))
    assert r.returncode == 2
    assert "results_imagenet1k_pretrained.json: $.results[3].alpha: missing" in r.stderr
    assert "Traceback" not in r.stderr


@needs_paper
def test_wrong_type_names_the_json_path(tmp_path):
    d = link_paper(tmp_path / "r", skip=("tiny",))
    doc = json.loads((PAPER / FILE_KEYS["tiny"]).read_text())
    doc["results"][5]["alpha"] = "two"
    (d / FILE_KEYS["tiny"]).write_text(json.dumps(doc))
    r = run_cli("verify", "--results", str(d))
    assert r.returncode == 2
    assert "results_tiny_imagenet_alpha_map.json: $.results[5].alpha: expected a number, got str" in r.stderr


@needs_paper
def test_empty_selection_is_an_error_not_a_skip(tmp_path):
    d = link_paper(tmp_path / "r", skip=("vgg16",))
    doc = json.loads((PAPER / FILE_KEYS["vgg16"]).read_text())
    doc["trajectory"] = [t for t in doc["trajectory"] if t["epoch"] != 15]
    (d / FILE_KEYS["vgg16"]).write_text(json.dumps(doc))
    r = run_cli("verify", "--results", str(d))
    assert r.returncode == 2
    assert "results_vgg16_trajectory.json" in r.stderr and "epoch == 15" in r.stderr


def test_unknown_claim_id_exits_2():
    r = run_cli("show", "no.such.claim")
    assert r.returncode == 2 and "unknown claim id" in r.stderr and "Traceback" not in r.stderr


# -- a single missing paper file: its claims `no data`, the others evaluated -------------------------
@needs_paper
def test_missing_paper_file_makes_its_claims_no_data(tmp_path):
    d = link_paper(tmp_path / "r", skip=("kronecker",))
    b = Bundle(d)
    kron = [c for c in REGISTRY.values() if "kronecker" in c.files]
    assert kron
    assert all(evaluate(c, b).verdict == NO_DATA for c in kron)
    others = [c for c in REGISTRY.values() if c.files and "kronecker" not in c.files]
    assert all(evaluate(c, b).verdict != NO_DATA for c in others)


# -- the verify output on the authors' bundle ------------------------------------------------------
@needs_paper
def test_verify_json_rows_and_exit_status():
    r = run_cli("verify", "--results", str(PAPER), "--json")
    rows = json.loads(r.stdout)
    claims = [x for x in rows if x["kind"] != "integrity"]
    assert [x["id"] for x in claims] == list(REGISTRY) and len(claims) >= 27
    assert [x["id"] for x in rows if x["kind"] == "integrity"] == [f"integrity.{n}" for n in FILE_KEYS.values()]
    for row in rows:
        assert {"id", "kind", "location", "printed", "measured", "tolerance", "verdict", "proxy", "source"} <= set(row)
        assert {"module", "partial_inputs"} <= set(row) and row["module"].startswith("claims/")
        assert row["kind"] in ("number", "law", "integrity") and row["verdict"] in ("holds", "fails", "no data")
    fails = [x for x in rows if x["verdict"] == "fails"]
    assert r.returncode == (1 if fails else 0)
    proxied = [x for x in rows if x["proxy"]]
    assert proxied and all(x["id"] in ("s3.rn18.conv.median_r2", "s7.htsr.alpha_weight_lt_s") for x in proxied)


@needs_paper
def test_proxy_results_are_never_plain_holds():
    r = run_cli("verify", "--results", str(PAPER))
    line = next(ln for ln in r.stdout.splitlines() if ln.startswith("s7.htsr.alpha_weight_lt_s "))
    assert "holds (proxy)" in line


@needs_paper
def test_verify_table_summary_and_markdown():
    r = run_cli("verify", "--results", str(PAPER))
    assert "claims coded" in r.stdout and "no data" in r.stdout
    xr = run_cli("verify", "--results", str(PAPER), "--xrefs")
    assert "x-refs (printed vs printed" in xr.stdout and "[INCONSISTENT] abs.triangle.n_layers~intro" in xr.stdout
    only = json.loads(run_cli("verify", "--results", str(PAPER), "--json", "--only", "fails").stdout)
    assert only and all(x["verdict"] == "fails" for x in only)
    md = run_cli("verify", "--results", str(PAPER), "--markdown")
    assert md.stdout.startswith("| id | where |") and md.returncode == r.returncode


@needs_paper
def test_show_prints_rule_records_and_candidates():
    r = run_cli("show", "t1.in1k.conv.mean_alpha", "--results", str(PAPER))
    assert r.returncode == 0
    assert "records (n=14)" in r.stdout and "name contains" in r.stdout and "summary drift" not in r.stdout


def test_list_covers_registry():
    r = run_cli("list")
    assert r.returncode == 0 and len(r.stdout.strip().splitlines()) == len(REGISTRY)


# -- NO DATA never holds -----------------------------------------------------------------------------
NODATA = [c.id for c in REGISTRY.values() if c.data == "no data"]


def test_nodata_register_is_complete():
    prefixes = (
        "abs.sn.",
        "setup.fd_hessian",
        "t1.mlp.dense",
        "t1.cifar_fc",
        "t1.gpt2.attn",
        "t1.gpt2.mlp",
        "t2.",
        "s3.conv.alpha_init",
        "s3.alpha_stable",
        "s7.sn.",
        "appA.",
        "appE.",
        "appF.",
        "appL.synthetic",
    )
    for p in prefixes:
        assert any(i.startswith(p) for i in NODATA), p
    assert sum(i.startswith("appA.") for i in NODATA) == 15
    assert sum(i.startswith("appE.") and i.count(".e") for i in NODATA) == 24


@pytest.mark.parametrize("folder", ["paper", "empty-project", "other"])
def test_nodata_claims_never_hold(folder, tmp_path):
    if folder == "paper":
        if not PAPER.is_dir():
            pytest.skip("no paper results")
        b = Bundle(PAPER)
    else:
        b = Bundle(tmp_path)
    for cid in NODATA:
        out = evaluate(REGISTRY[cid], b)
        assert out.verdict == NO_DATA and out.verdict != HOLDS


def test_import_hygiene():
    code = (
        "import claims.cli, claims.registry, claims.bundle, claims.evaluate, sys; "
        "bad = [m for m in ('torch', 'sympy', 'scipy') if m in sys.modules]; assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr


@needs_paper
@pytest.mark.parametrize("missing", sorted(FILE_KEYS))
def test_any_single_missing_file_leaves_the_rest_evaluable(missing, tmp_path):
    """Removing one paper file never crashes the verifier: claims backed by it become `no data`."""
    b = Bundle(link_paper(tmp_path / "r", skip=(missing,)))
    outs = {c.id: evaluate(c, b) for c in REGISTRY.values()}
    for c in REGISTRY.values():
        if missing in c.files:
            assert outs[c.id].verdict == NO_DATA, c.id
    assert sum(o.verdict != NO_DATA for o in outs.values()) > 100


def test_labels_show_the_printed_value_they_check():
    """A statement never states a number different from the one its check uses (the authors' labels did)."""
    from claims.report import printed_text

    bad = [
        (c.id, c.statement, printed_text(c))
        for c in REGISTRY.values()
        if not isinstance(c.printed, str) and printed_text(c) not in c.statement
    ]
    assert not bad
