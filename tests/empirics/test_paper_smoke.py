"""The paper preset end to end at smoke scale: datasets and weights written in their real on-disk formats
(tests/data_formats.py), ``python -m empirics run --preset paper --scale smoke``, then ``python -m claims verify``
on its output: every number claim a re-measurement covers (``claims.replication.catalog.covered()``) gets a
replication verdict other than ``no data``, shown as a proxy (smoke scale is never counted)."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys

import pytest

from claims.replication.catalog import covered
from empirics import presets
from empirics.experiments import EXPERIMENTS
from empirics.presets.scales import scaled
from empirics.presets.tables import NOT_REMEASURED, PAPER_PRESET, PROXY_ONLY
from empirics.schema import validate
from tests import data_formats
from tests.paths import ROOT


def _cli(argv: list[str]) -> int:
    parser = argparse.ArgumentParser()
    presets.register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_paper_preset_names_every_experiment_or_why_not():
    """Each covered experiment is re-measured by exactly one run of the paper preset; every other experiment is
    listed with its reason; the proxy-only experiments' runs say why they are proxies."""
    runs = {s.experiment: s for s in PAPER_PRESET if s.experiment}
    assert len(runs) == sum(1 for s in PAPER_PRESET if s.experiment)  # one run_name per experiment id
    assert set(covered()) <= set(runs)
    assert set(runs) | set(NOT_REMEASURED) == set(EXPERIMENTS) and not set(runs) & set(NOT_REMEASURED)
    for exp_id, spec in runs.items():
        exp = EXPERIMENTS[exp_id]
        assert spec.model == exp.model and spec.dataset in (exp.dataset, "text"), exp_id
        assert exp.k is None or spec.k == exp.k, exp_id
        assert exp.batch_size is None or spec.batch_size == exp.batch_size, exp_id
        assert exp.epoch is None or exp.epoch in spec.epochs_to_measure(), exp_id
        assert bool(spec.proxy_reason) == (exp_id in PROXY_ONLY), exp_id
    for spec in PAPER_PRESET:  # the smoke scale keeps identities, layer selections and the stated epochs
        small = scaled(spec, "smoke")
        assert (small.model, small.dataset, small.experiment, small.layer_names) == (
            spec.model,
            spec.dataset,
            spec.experiment,
            spec.layer_names,
        )
        stated = spec.experiment is not None and EXPERIMENTS[spec.experiment].epoch is not None
        if spec.measure_epochs is not None or stated:
            assert small.epochs_to_measure() == spec.epochs_to_measure(), spec.name
        assert small.scale == "smoke" and small.batch_size < spec.batch_size


def test_smoke_paper_preset_on_real_formats_gives_every_covered_claim_a_replication(tmp_path, monkeypatch):
    data, out = tmp_path / "data", tmp_path / "out"
    data_formats.write_all(data)
    monkeypatch.setenv("SAD_CACHE", str(tmp_path / "cache"))
    # the runs of the covered experiments (the law-only runs add time, not replications)
    runs = [s.name for s in PAPER_PRESET if s.experiment in covered()]
    argv = ["run", "--preset", "paper", "--scale", "smoke", "--data-root", str(data), "--out", str(out)]
    assert _cli([*argv, "--only", *runs, "--no-progress"]) == 0

    docs = [json.loads(p.read_text()) for p in sorted(out.glob("*.json"))]
    for doc in docs:
        validate(doc)
        run = doc["run"]
        assert doc["complete"] and run["dataset_kind"] == "real" and "seed" in run and "batch_index" in run
        if "experiment" in run:
            assert run["experiment"]["scale"] == "smoke" and run["experiment"]["proxy"] is True
    in1k = [d for d in docs if d["run"]["model"] == "resnet50_imagenet"]
    assert in1k and all(
        d["provenance"]["settings"]["training"]["init_weights"].endswith("resnet50-0676ba61.pth") for d in in1k
    )

    res = subprocess.run(
        [sys.executable, "-m", "claims", "verify", "--results", str(out), "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert res.returncode in (0, 1), res.stderr
    claims = {c["id"]: c for c in json.loads(res.stdout)}
    want = {cid for ids in covered().values() for cid in ids}
    missing = {
        cid: claims[cid]["replication"]["source"] for cid in want if claims[cid]["replication"]["verdict"] == "no data"
    }
    assert not missing, missing
    for cid in want:
        rep = claims[cid]["replication"]
        assert rep["proxy"] is True and rep["n_runs"] >= 2 and rep["ci"] is not None, cid

    # a rerun finds every file complete and measures nothing
    import empirics.measurement.runner as runner

    def boom(*a, **k):
        raise AssertionError("a complete file was measured again")

    monkeypatch.setattr(runner, "measure_layers", boom)
    assert _cli([*argv, "--only", *runs, "--no-progress"]) == 0


@pytest.mark.parametrize("problem", ["width", "not_a_state_dict"])
def test_weights_that_do_not_fit_are_one_line_exit_2(tmp_path, monkeypatch, capsys, problem):
    import torch

    data = tmp_path / "data"
    data_formats.write_imagenet(data)
    weights = data / "resnet50-0676ba61.pth"
    if problem == "width":
        data_formats.write_resnet50_weights(weights, num_classes=3, width=8)  # smoke width is 4
    else:
        torch.save([1, 2, 3], weights)
    monkeypatch.setenv("SAD_CACHE", str(tmp_path / "cache"))
    argv = ["run", "--preset", "paper", "--scale", "smoke", "--only", "resnet50_imagenet"]
    code = _cli([*argv, "--data-root", str(data), "--out", str(tmp_path / "o"), "--no-progress"])
    err = capsys.readouterr().err.strip()
    assert code == 2 and err.count("\n") == 0 and "resnet50-0676ba61.pth" in err, err
    assert ("the model's is" in err) if problem == "width" else ("not a state_dict" in err)
