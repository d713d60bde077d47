"""The comparison's explicit AdamW-part learning rate of sn/muon (spec field, CLI, the optimizer really gets it,
recorded) and its wall-clock accounting (per-epoch steps, wall time and losses per run, the summary curve,
validation that rejects bad ones); a tiny comparison with the real optimizers end to end."""

from __future__ import annotations

import copy
import json
import math

import pytest
import torch

from empirics.compare import run as R
from empirics.compare.spec import HYBRID_ADAMW_LR, PRESETS, CompareSpec
from empirics.compare_schema import CURVE_KEYS, HYBRID_CONFIGS, SchemaError, summarize_runs, validate

TINY = PRESETS["tiny"]
REAL = ("adamw", "sn", "muon", "spectral_beta10")


@pytest.fixture(scope="module")
def real_run(tmp_path_factory):
    """The tiny preset with the real optimizers (AdamW, SN, Muon, one scalar config) and a non-default adamw_lr."""
    spec = TINY.with_overrides(configs=REAL, adamw_lr=4e-4)
    path = R.run_compare(spec, tmp_path_factory.mktemp("real"), progress=False)
    return spec, json.loads(path.read_text())


# -- adamw_lr -------------------------------------------------------------------------------------------------
def test_adamw_lr_default_is_the_optimizers_default():
    from empirics.optim import ADAMW_LR

    assert HYBRID_ADAMW_LR == ADAMW_LR == TINY.adamw_lr
    assert all(p.adamw_lr == HYBRID_ADAMW_LR for p in PRESETS.values())


@pytest.mark.parametrize("bad", [0.0, -1e-3, math.nan, math.inf, True, "1e-3"])
def test_adamw_lr_must_be_a_positive_number(bad):
    with pytest.raises(ValueError, match="adamw_lr"):
        CompareSpec("x", "mlp", "digits", 1, 8, (0,), adamw_lr=bad)


class Capture:
    """The real build_optimizer, keeping every optimizer it built with the keywords it was given."""

    def __init__(self):
        from empirics.optim import build_optimizer

        self.build = build_optimizer
        self.built: list[tuple[str, dict, torch.optim.Optimizer]] = []

    def __call__(self, name, model, **kw):
        opt = self.build(name, model, **kw)
        self.built.append((name, kw, opt))
        return opt


@pytest.mark.parametrize("cfg", ["sn", "muon", "adamw", "spectral_beta10"])
def test_adamw_lr_reaches_the_internal_adamw_of_sn_and_muon_only(cfg):
    spec = TINY.with_overrides(adamw_lr=7e-4)
    train, test = R.load_data(spec, None)
    cap = Capture()
    s = None
    if cfg == "spectral_beta10":  # the scalar configs need an s per measured layer
        from empirics.compare.setup import build
        from empirics.zoo import layer_table

        s = {n: 1.0 + i for i, n in enumerate(layer_table(build(spec, train, 0, torch.device("cpu"))))}
    r = R.train_cell(
        spec, cfg, 0.02, 0, train, test, epochs=1, device=torch.device("cpu"), s_values=s, build_optimizer=cap
    )
    (name, kw, opt) = cap.built[0]
    if cfg in HYBRID_CONFIGS:
        assert kw["adamw_lr"] == 7e-4 and r["adamw_lr"] == 7e-4
        groups = [g for g in opt.param_groups if g.get("kind") == "adamw"]
        matrix = [g for g in opt.param_groups if g.get("kind") != "adamw"]
        assert groups and matrix  # biases go to the AdamW part, weights to the matrix step
        assert all(g["initial_lr"] == 7e-4 for g in groups) and all(g["initial_lr"] == 0.02 for g in matrix)
    else:
        assert "adamw_lr" not in kw and r["adamw_lr"] is None


def test_cli_adamw_lr_sets_the_spec():
    import argparse

    from empirics.compare.cli import build_spec, register_cli

    p = argparse.ArgumentParser()
    register_cli(p.add_subparsers())
    assert build_spec(p.parse_args(["compare", "--preset", "tiny", "--adamw-lr", "3e-4"])).adamw_lr == 3e-4
    assert build_spec(p.parse_args(["compare", "--preset", "tiny"])).adamw_lr == HYBRID_ADAMW_LR


# -- the tiny comparison end to end with the real optimizers -------------------------------------------------
def test_real_tiny_comparison_records_adamw_lr_and_curves(real_run):
    spec, doc = real_run
    validate(doc)
    assert doc["complete"] is True and set(doc["summary"]) == set(REAL)
    assert doc["optimizers"]["adamw_lr"] == 4e-4 and doc["optimizers"]["adamw_lr_applies_to"] == ["sn", "muon"]
    assert doc["provenance"]["settings"]["compare"]["spec"]["adamw_lr"] == 4e-4
    steps_per_epoch = math.ceil(doc["n_train"] / spec.batch_size)
    for run in doc["runs"]:
        assert run["adamw_lr"] == (4e-4 if run["config"] in HYBRID_CONFIGS else None)
        assert all(len(run[k]) == spec.epochs for k in CURVE_KEYS)
        assert run["steps"] == [steps_per_epoch * e for e in range(1, spec.epochs + 1)]
        assert run["steps"][-1] == run["n_steps"]
        w = run["wall_seconds"]
        assert w[0] > 0 and all(b > a for a, b in zip(w, w[1:], strict=False))
        assert all(x is not None and x > 0 for x in run["test_loss"] + run["train_loss"])
    for cfg, s in doc["summary"].items():
        c = s["curve"]
        assert c["epoch"] == list(range(1, spec.epochs + 1))
        rs = [r for r in doc["runs"] if r["config"] == cfg]
        assert c["test_accuracy"] == pytest.approx([sum(r["test_accuracy"][e] for r in rs) / len(rs) for e in (0, 1)])
        assert c["steps"] == [float(x) for x in rs[0]["steps"]]
    assert json.loads(json.dumps(summarize_runs(doc["runs"]))) == doc["summary"]


def test_a_diverged_run_keeps_its_last_values_and_validates():
    train, test = R.load_data(TINY, None)
    r = R.train_cell(
        TINY, "adamw", 1e6, 0, train, test, epochs=3, device=torch.device("cpu"), s_values=None,
        build_optimizer=lambda name, model, **kw: torch.optim.SGD(model.parameters(), lr=kw["lr"]),
    )  # fmt: skip
    assert r["diverged_at_epoch"] is not None
    assert all(len(r[k]) == 3 for k in CURVE_KEYS)
    e = r["diverged_at_epoch"]
    assert r["steps"][e - 1 :] == [r["steps"][e - 1]] * (4 - e) and r["train_loss"][e - 1 :] == [None] * (4 - e)
    summarize_runs([r])  # a summary can be built from it


# -- validation rejects bad wall-clock fields -------------------------------------------------------------
def _run0(d):
    return d["runs"][0]


@pytest.mark.parametrize(
    "edit, path, msg",
    [
        (lambda d: _run0(d).pop("wall_seconds"), "$.runs[0].wall_seconds", "missing"),
        (lambda d: _run0(d)["steps"].pop(), "$.runs[0].steps", "one per epoch"),
        (lambda d: _run0(d).__setitem__("steps", [5, 3]), "$.runs[0].steps[1]", "decreases"),
        (lambda d: _run0(d).__setitem__("steps", [1.5, 3]), "$.runs[0].steps[0]", "expected int"),
        (lambda d: _run0(d).__setitem__("wall_seconds", [-1.0, 2.0]), "$.runs[0].wall_seconds[0]", "outside"),
        (lambda d: _run0(d).__setitem__("wall_seconds", [2.0, 1.0]), "$.runs[0].wall_seconds[1]", "decreases"),
        (lambda d: _run0(d).__setitem__("wall_seconds", [1.0, math.nan]), "$.runs[0].wall_seconds[1]", "finite"),
        (lambda d: _run0(d).__setitem__("test_loss", [1.0, "x"]), "$.runs[0].test_loss[1]", "expected float"),
        (lambda d: _run0(d).__setitem__("train_loss", [-0.5, 1.0]), "$.runs[0].train_loss[0]", "outside"),
        (lambda d: _run0(d).__setitem__("adamw_lr", 0.0), "$.runs[0].adamw_lr", "> 0"),
        (lambda d: _run0(d).__setitem__("test_accuracy", [101.0, 3.0]), "$.runs[0].test_accuracy[0]", "outside"),
        (lambda d: d["summary"]["adamw"]["curve"].__setitem__("epoch", [0, 1]), "$.summary.adamw.curve.epoch", "1, 2"),
        (
            lambda d: d["summary"]["adamw"]["curve"]["wall_seconds"].pop(),
            "$.summary.adamw.curve.wall_seconds",
            "values",
        ),
        (
            lambda d: d["summary"]["sn"]["curve"].__setitem__("steps", [9.0, 1.0]),
            "$.summary.sn.curve.steps[1]",
            "decreases",
        ),
    ],
)
def test_validation_rejects_bad_wall_clock_fields(real_run, edit, path, msg):
    _, doc = real_run
    bad = copy.deepcopy(doc)
    edit(bad)
    with pytest.raises(SchemaError) as e:
        validate(bad)
    assert e.value.path == path and msg in str(e.value)


def test_files_without_the_curve_block_still_validate(real_run):
    _, doc = real_run
    old = copy.deepcopy(doc)
    for r in old["runs"]:
        for k in (*CURVE_KEYS, "adamw_lr"):
            r.pop(k)
    old["summary"] = summarize_runs(old["runs"])
    assert all("curve" not in s for s in old["summary"].values())
    validate(old)
