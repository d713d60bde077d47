"""Replication of number claims on the project's re-measurements (docs/claims-reference.md §3.4): each verdict
— replicates, does not replicate, inconclusive, no data — arises from constructed project files, proxy runs are
shown and never counted, and every number claim names its experiment (or says why it has none)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from claims.bundle import Bundle
from claims.evaluate import evaluate
from claims.model import NO_DATA, NUMBER
from claims.registry import REGISTRY
from claims.replication.spec import Spec
from empirics.experiments import EXPERIMENTS, is_proxy, project_layer_name
from empirics.schema import SchemaError, validate
from tests.claims.cases import layer, project_file, replicated, verify, write

TINY = {"id": "tiny_imagenet_resnet50", "proxy": False, "proxy_reason": None, "scale": "full"}
FC = REGISTRY["t1.tiny.fc.alpha"]  # printed 0.90 (2 dp)


def tiny_run(fc_alpha, seed_shift=0.0, batch_sd=0.0, convs=4):
    """layers_of(seed, batch): a few conv layers and an fc head whose α is fc_alpha + seed effect + batch noise."""
    eff = {0: -seed_shift, 1: 0.0, 2: seed_shift, 3: seed_shift / 2}

    def layers_of(s, b):
        rng = np.random.default_rng([7, s, b])
        a = fc_alpha + eff[s] + batch_sd * rng.standard_normal()
        return [layer(f"layer1.{i}.conv1", "conv", 2.0, seed=i) for i in range(convs)] + [
            dict(layer("fc", "head", float(a), seed=99), shape=[200, 2048])
        ]

    return layers_of


def rep(tmp_path, docs, claim=FC):
    return evaluate(claim, Bundle(write(tmp_path, docs))).replication


def test_replicates_when_the_measured_interval_lies_inside_the_band(tmp_path):
    r = rep(tmp_path, replicated("rn50_tiny", tiny_run(0.91, 0.03, 0.01), experiment=TINY))
    assert r.verdict == "replicates" and r.counts and not r.proxy
    assert (r.n_runs, r.n_seeds, r.n_batches) == (15, 3, 5)
    assert r.band[0] < r.ci[0] < r.measured < r.ci[1] < r.band[1] and r.band[0] < 0.90 < r.band[1]
    assert "spread of 15 runs" in r.band_from


def test_does_not_replicate_when_the_interval_lies_outside_the_band(tmp_path):
    r = rep(tmp_path, replicated("rn50_tiny", tiny_run(1.5, 0.03, 0.01), experiment=TINY))
    assert r.verdict == "does not replicate" and r.ci[0] > r.band[1]


def test_inconclusive_when_the_interval_straddles_the_band(tmp_path):
    r = rep(tmp_path, replicated("rn50_tiny", tiny_run(1.15, 0.05, 0.01), experiment=TINY))
    assert r.verdict == "inconclusive" and r.ci[0] < r.band[1] < r.ci[1]


def test_one_run_uses_the_documented_band_and_says_so(tmp_path):
    close = rep(tmp_path / "a", replicated("rn50_tiny", tiny_run(0.93), 1, 1, experiment=TINY))
    far = rep(tmp_path / "b", replicated("rn50_tiny", tiny_run(1.0), 1, 1, experiment=TINY))
    assert close.verdict == "replicates" and far.verdict == "does not replicate"
    assert close.band == pytest.approx([0.85, 0.95]) and "documented band" in close.band_from
    assert close.ci == [close.measured, close.measured] and close.n_runs == 1


def test_no_data_without_a_run_of_the_experiment_or_without_its_layers(tmp_path):
    other = dict(TINY, id="imagenet1k_resnet50_pretrained")
    r = rep(tmp_path / "a", replicated("rn50_in1k", tiny_run(0.9), 1, 1, experiment=other))
    assert r.verdict == NO_DATA and "no project file of experiment tiny_imagenet_resnet50" in r.source
    r = rep(tmp_path / "b", {})
    assert r.verdict == NO_DATA
    # ImageNet-1K names 15 layers: a run without them gives another statistic (a single named layer still counts)
    in1k = replicated("rn50_in1k", tiny_run(2.8), 1, 1, experiment=other)
    r = rep(tmp_path / "c", in1k, REGISTRY["t1.in1k.conv.n"])
    assert r.verdict == NO_DATA and "lacks layer(s)" in r.source and "conv1" in r.source
    assert rep(tmp_path / "d", in1k, REGISTRY["t1.in1k.fc.alpha"]).verdict == "replicates"  # 2.8 vs 2.83 ± 0.05


def test_proxy_runs_are_shown_never_counted_and_real_runs_win(tmp_path):
    proxy = dict(TINY, proxy=True, proxy_reason="digits stand in for Tiny-ImageNet", scale="full")
    r = rep(tmp_path / "a", replicated("rn50_tiny_digits", tiny_run(0.91, 0.03, 0.01), experiment=proxy))
    assert r.verdict == "replicates" and r.proxy and not r.counts and r.label == "replicates (proxy)"
    assert any("digits stand in" in n for n in r.notes)
    smoke = dict(TINY, scale="smoke")
    assert is_proxy(smoke) and not is_proxy(TINY)
    docs = replicated("smoke", tiny_run(0.91), 1, 1, experiment=smoke) | replicated(
        "real", tiny_run(1.5), experiment=TINY
    )
    both = rep(tmp_path / "b", docs)
    assert not both.proxy and both.verdict == "does not replicate" and both.source.startswith("real")
    rc, out, _ = verify("verify", "--results", str(tmp_path / "a"))
    assert "0 replicate" in out and "judged on proxy runs only (shown, not counted)" in out


def test_a_count_is_exact_and_the_experiments_layer_rule_selects(tmp_path):
    names = [
        project_layer_name("imagenet1k_resnet50_pretrained", n)
        for n in EXPERIMENTS["imagenet1k_resnet50_pretrained"].layer_names
    ]
    kinds = {"fc": "head", "layer4.0.downsample.0": "downsample"}
    extra = [layer("layer1.1.conv1", "conv", 2.0)]  # measured, but not one of the authors' 15: not counted

    def layers_of(s, b):
        return [dict(layer(n, kinds.get(n, "conv"), 2.1, seed=i), shape=[64, 64]) for i, n in enumerate(names)] + extra

    exp = dict(TINY, id="imagenet1k_resnet50_pretrained")
    out = evaluate(
        REGISTRY["t1.in1k.conv.n"], Bundle(write(tmp_path, replicated("in1k", layers_of, 2, 2, experiment=exp)))
    )
    r = out.replication
    assert r.measured == 14 and r.verdict == "replicates" and r.band == [14, 14]


def test_a_range_replicates_endpoint_by_endpoint(tmp_path):
    gpt6 = dict(TINY, id="synthetic_lm_gpt2_6block")

    def layers_of(s, b):
        return [
            layer(f"blocks.{i}.attn.qkv", "attn_qkv", float(a), seed=i)
            for i, a in enumerate(np.linspace(1.21, 1.63, 6))
        ]

    r = rep(tmp_path, replicated("g6", layers_of, 1, 1, arch="gpt2", experiment=gpt6), REGISTRY["t2.attn_qkv.range"])
    assert r.verdict == "replicates" and len(r.ci) == 2 and r.measured == pytest.approx([1.21, 1.63], abs=0.02)
    n = rep(tmp_path / "n", replicated("g6", layers_of, 1, 1, arch="gpt2", experiment=gpt6), REGISTRY["t2.attn_qkv.n"])
    assert n.verdict == "replicates" and n.measured == 6


def test_a_checkpoint_epoch_selects_the_run(tmp_path):
    dyn = dict(TINY, id="cifar10_resnet18_training_dynamics")

    def at(alpha):
        return lambda s, b: (
            [layer(n, "conv", 1.8) for n in ("conv1", "layer2.0.conv2", "layer4.0.conv2")]
            + [layer("fc", "head", alpha)]
        )

    docs = replicated("rn18", at(1.99), 1, 1, epoch=0, experiment=dyn) | replicated(
        "rn18", at(1.05), 1, 1, epoch=1, experiment=dyn
    )
    b = Bundle(write(tmp_path, docs))
    assert evaluate(REGISTRY["appE.fc.e1"], b).replication.verdict == "replicates"
    assert evaluate(REGISTRY["appE.fc.e0"], b).replication.verdict == "replicates"
    assert evaluate(REGISTRY["appE.fc.e5"], b).replication.verdict == NO_DATA


def test_verify_carries_the_replication_beside_the_authors_verdict(tmp_path):
    folder = write(tmp_path, replicated("rn50_tiny", tiny_run(0.91, 0.03, 0.01), experiment=TINY))
    rc, out, _ = verify("verify", "--results", str(folder), "--json")
    row = next(r for r in json.loads(out) if r["id"] == "t1.tiny.fc.alpha")
    assert row["verdict"] == NO_DATA  # the authors' file is not in this folder
    assert row["experiment"] == "tiny_imagenet_resnet50"
    rp = row["replication"]
    assert {"verdict", "measured", "ci", "band", "n_runs", "proxy", "source"} <= set(rp) and rp[
        "verdict"
    ] == "replicates"
    _, text, _ = verify("verify", "--results", str(folder))
    line = next(x for x in text.splitlines() if x.startswith("t1.tiny.fc.alpha "))
    assert "replicates" in line and "replication" in text.splitlines()[0]
    _, shown, _ = verify("show", "t1.tiny.fc.alpha", "--results", str(folder))
    assert (
        "experiment: tiny_imagenet_resnet50" in shown and "replication: replicates" in shown and "band from:" in shown
    )


# -- the experiment of every number claim ------------------------------------------------------------------
def test_every_number_claim_names_its_experiment_or_why_it_has_none():
    for c in REGISTRY.values():
        if c.kind != NUMBER:
            assert not c.experiment
            continue
        assert c.experiment in EXPERIMENTS or (not c.experiment and c.experiment_note), c.id
        if c.experiment and c.replicate is None:
            assert c.experiment_note, c.id
        if c.replicate is not None:
            assert isinstance(c.replicate, Spec) and c.replicate.experiment == c.experiment, c.id


def test_experiments_table_is_consistent_and_torch_free():
    import subprocess
    import sys

    assert all(k == e.id for k, e in EXPERIMENTS.items())
    assert all(e.reason for e in EXPERIMENTS.values() if not e.remeasurable)
    assert project_layer_name("synthetic_lm_gpt2_triangle", "block2.mlp.0") == "blocks.2.mlp.up"
    assert project_layer_name("synthetic_lm_gpt2_triangle", "output_head") == "head"
    assert project_layer_name("tiny_imagenet_resnet50", "layer1.0.conv1.weight") == "layer1.0.conv1"
    r = subprocess.run(
        [sys.executable, "-c", "import empirics.experiments, sys; assert 'torch' not in sys.modules"],
        capture_output=True,
    )
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize(
    "field, value, path",
    [
        ("batch_index", -1, "$.run.batch_index"),
        ("batch_index", "0", "$.run.batch_index"),
        ("experiment", {"id": "x", "proxy": False, "proxy_reason": None}, "$.run.experiment.scale"),
        (
            "experiment",
            {"id": "x", "proxy": True, "proxy_reason": None, "scale": "full"},
            "$.run.experiment.proxy_reason",
        ),
        ("experiment", {"id": "", "proxy": False, "proxy_reason": None, "scale": "full"}, "$.run.experiment.id"),
        ("experiment", {"id": "x", "proxy": 1, "proxy_reason": None, "scale": "full"}, "$.run.experiment.proxy"),
        ("experiment", dict(TINY, extra=1), "$.run.experiment.extra"),
    ],
)
def test_the_optional_run_fields_are_validated(field, value, path, tmp_path):
    doc = project_file([layer("c0", "conv", 2.0)])
    doc["run"][field] = value
    with pytest.raises(SchemaError) as e:
        validate(doc)
    assert e.value.path == path
    rc, _, err = verify("verify", "--results", str(write(tmp_path, {"bad.json": doc})))
    assert rc == 2 and "bad.json" in err and path in err


def test_files_without_the_optional_fields_stay_valid():
    doc = project_file([layer("c0", "conv", 2.0)])
    validate(doc)
    doc["run"].update(batch_index=3, experiment=TINY, run_name="r", epoch=2)
    validate(doc)


def test_covered_experiments_are_remeasurable_and_each_claim_is_listed_once():
    from claims.replication.catalog import covered

    cov = covered()
    assert set(cov) <= set(EXPERIMENTS) and all(EXPERIMENTS[e].remeasurable for e in cov)
    ids = [c for cs in cov.values() for c in cs]
    assert len(ids) == len(set(ids)) and all(REGISTRY[c].replicate is not None for c in ids)
    assert {"tiny_imagenet_resnet50", "imagenet1k_resnet50_pretrained", "synthetic_lm_gpt2_6block"} <= set(cov)
