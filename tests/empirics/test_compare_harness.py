"""``python -m empirics compare``: the tiny preset end to end (seconds), resume, bad arguments (one line,
exit 2), the sad-optim/1 schema, the s = αγ plumbing into the scalar configs, and equal budgets per config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from empirics.compare import run as R
from empirics.compare.cli import build_spec, register_cli
from empirics.compare.spec import LR_CENTRE, PRESETS
from empirics.compare_schema import CONFIG_NAMES, OPTIMIZER_OF, SchemaError, summarize_runs, validate
from empirics.output import ResumeError
from tests import paths

ROOT = paths.ROOT
TINY = PRESETS["tiny"]


class Recorder:
    """A stand-in for empirics.optim.build_optimizer: AdamW for every name, recording the calls."""

    def __init__(self):
        self.calls: list[dict] = []

    def __call__(self, name, model, *, lr, weight_decay=0.0, seed=0, s_by_layer=None, alpha=None, damping=0.1, **kw):
        self.calls.append({"name": name, "lr": lr, "seed": seed, "s_by_layer": s_by_layer, "damping": damping})
        return torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)


def _api(rec=None):
    return (rec or Recorder(), tuple(OPTIMIZER_OF.values()))


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    rec = Recorder()
    out = tmp_path_factory.mktemp("cmp")
    path = R.run_compare(TINY, out, progress=False, api=_api(rec))
    return path, json.loads(path.read_text()), rec


def test_tiny_preset_end_to_end_writes_a_valid_complete_file(tiny_run):
    path, doc, _ = tiny_run
    validate(doc)
    assert path.name == "optim_compare_tiny.json" and doc["complete"] is True
    assert set(doc["summary"]) == set(CONFIG_NAMES)
    for cfg, s in doc["summary"].items():
        assert s["seed_ids"] == list(TINY.seeds) and len(s["seeds"]) == len(TINY.seeds)
        assert all(0 <= v <= 100 for v in s["seeds"] + s["final"])
        assert s["mean_best"] == pytest.approx(sum(s["seeds"]) / len(s["seeds"]))
        assert s["lr"] == doc["lr_search"]["chosen"][cfg] and s["sec_per_step"] > 0 and s["sec_per_epoch"] > 0
    assert doc["std_ddof"] == 1 and doc["schedule"]["name"] == "cosine"
    assert doc["provenance"]["settings"]["compare"]["spec"]["name"] == "optim_compare_tiny"
    for run in doc["runs"]:
        assert len(run["test_accuracy"]) == TINY.epochs
        assert run["best"] == max(run["test_accuracy"]) and run["final"] == run["test_accuracy"][-1]


def test_equal_budget_per_config(tiny_run):
    _, doc, rec = tiny_run
    search = doc["lr_search"]
    n = {c: len(v) for c, v in search["val_accuracy"].items()}
    assert set(n.values()) == {len(TINY.lr_factors)} and search["trials_per_config"] == len(TINY.lr_factors)
    for cfg in CONFIG_NAMES:  # the grid is the same factors around each family's centre
        assert search["grid"][cfg] == pytest.approx([LR_CENTRE[cfg] * f for f in TINY.lr_factors])
        assert search["chosen"][cfg] in search["grid"][cfg]
    steps = {r["n_steps"] for r in doc["runs"]}
    assert len(steps) == 1  # same data, batch size and epochs for every cell
    per_name = {}
    for c in rec.calls:
        per_name[c["name"]] = per_name.get(c["name"], 0) + 1
    assert set(per_name.values()) == {len(TINY.lr_factors) + len(TINY.seeds)}


def test_s_measurement_is_stored_and_passed_to_the_scalar_configs_only(tiny_run):
    _, doc, rec = tiny_run
    s = doc["s_by_layer"]
    assert set(s) == {"layers.0", "layers.1", "head"}
    for v in s.values():
        assert v["s"] == pytest.approx(v["alpha"] * v["gamma"]) and v["s"] > 0
    assert doc["s_measurement"]["when"].startswith("initial model")
    for c in rec.calls:
        if c["name"].startswith(("scalar_", "inverse_", "random_")):
            assert c["s_by_layer"] == {k: v["s"] for k, v in s.items()}
        else:
            assert c["s_by_layer"] is None


def test_resume_skips_finished_cells(tmp_path):
    rec = Recorder()
    spec = TINY.with_overrides(configs=("adamw", "sn"))
    path = R.run_compare(spec, tmp_path, progress=False, api=_api(rec))
    doc = json.loads(path.read_text())
    first = doc["summary"]["adamw"]["seeds"]
    doc["runs"] = [r for r in doc["runs"] if not (r["config"] == "sn" and r["seed"] == spec.seeds[-1])]
    doc["summary"] = summarize_runs(doc["runs"])
    doc["complete"] = False
    path.write_text(json.dumps(doc))
    rec2 = Recorder()
    R.run_compare(spec, tmp_path, progress=False, api=_api(rec2))
    assert [(c["name"], c["seed"]) for c in rec2.calls] == [("sn", spec.seeds[-1])]
    again = json.loads(path.read_text())
    assert again["complete"] and again["summary"]["adamw"]["seeds"] == first and len(again["runs"]) == 4
    assert len(again["provenance"]["earlier_parts"]) == 1  # the first session's provenance is kept
    stamp = [(r["measured_with"]["created"], r["measured_with"]["pid"]) for r in again["runs"]]
    first, second = ((p["created"], p["pid"]) for p in (again["provenance"]["earlier_parts"][0], again["provenance"]))
    assert stamp == [first] * 3 + [second]  # each cell says which session ran it


def test_resume_refuses_a_file_made_with_other_settings(tmp_path):
    spec = TINY.with_overrides(configs=("adamw",), seeds=(0,))
    R.run_compare(spec, tmp_path, progress=False, api=_api())
    with pytest.raises(ResumeError, match="different settings .*epochs: 2 vs 3"):
        R.run_compare(spec.with_overrides(epochs=3), tmp_path, progress=False, api=_api())


def test_deterministic_cells():
    train, test = R.load_data(TINY, None)
    a = R.train_cell(
        TINY,
        "adamw",
        1e-3,
        0,
        train,
        test,
        epochs=1,
        device=torch.device("cpu"),
        s_values=None,
        build_optimizer=Recorder(),
    )
    b = R.train_cell(
        TINY,
        "adamw",
        1e-3,
        0,
        train,
        test,
        epochs=1,
        device=torch.device("cpu"),
        s_values=None,
        build_optimizer=Recorder(),
    )
    assert a["test_accuracy"] == b["test_accuracy"]


def test_a_divergent_learning_rate_is_recorded_not_fatal():
    train, test = R.load_data(TINY, None)
    r = R.train_cell(
        TINY,
        "adamw",
        1e6,
        0,
        train,
        test,
        epochs=2,
        device=torch.device("cpu"),
        s_values=None,
        build_optimizer=Recorder(),
    )
    assert len(r["test_accuracy"]) == 2 and 0 <= r["best"] <= 100


# -- the command line ----------------------------------------------------------------------------------
def _cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "empirics", "compare", *args], capture_output=True, text=True, cwd=cwd, timeout=300
    )


@pytest.mark.parametrize(
    "args, msg",
    [
        (["--optimizers", "adamw", "lion"], "unknown optimizer 'lion'"),
        (["--seeds", "0"], "argument --seeds: must be an integer >= 1"),
        (["--model", "resnet9000"], "unknown model 'resnet9000'"),
        (["--dataset", "mnist"], "unknown dataset 'mnist'"),
        (["--dataset", "cifar10", "--data-dir", "/nonexistent"], "cifar10"),
        (["--epochs", "0"], "argument --epochs: must be an integer >= 1"),
        (["--device", "tpu"], "unknown device"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(args, msg, tmp_path):
    r = _cli("--preset", "tiny", "--out", str(tmp_path), "--no-progress", *args)
    assert r.returncode == 2, r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "error:" in lines[0] and msg in lines[0] and "Traceback" not in r.stderr
    assert not list(tmp_path.glob("*.json"))


def test_cli_tiny_preset_runs_and_resumes(tmp_path):
    r = _cli("--preset", "tiny", "--optimizers", "adamw", "scalar_beta10", "--seeds", "2", "--out", str(tmp_path))
    assert r.returncode == 0, r.stderr
    doc = json.loads((tmp_path / "optim_compare_tiny.json").read_text())
    assert set(doc["summary"]) == {"adamw", "spectral_beta10"} and "[compare]" in r.stderr
    before = (tmp_path / "optim_compare_tiny.json").read_bytes()
    r = _cli("--preset", "tiny", "--optimizers", "adamw", "scalar_beta10", "--seeds", "2", "--out", str(tmp_path))
    assert r.returncode == 0 and "already complete" in r.stderr and "search" not in r.stderr, r.stderr
    assert (tmp_path / "optim_compare_tiny.json").read_bytes() == before  # a finished file is left as it is


def test_cli_spec_overrides():
    p = __import__("argparse").ArgumentParser()
    register_cli(p.add_subparsers())
    args = p.parse_args(
        ["compare", "--preset", "cpu", "--seeds", "5", "--epochs", "4", "--optimizers", "adam_baseline", "sn"]
    )
    spec = build_spec(args)
    assert spec.seeds == (42, 43, 44, 45, 46) and spec.epochs == 4 and spec.configs == ("adamw", "sn")
    gpu = build_spec(p.parse_args(["compare", "--preset", "gpu"]))
    assert gpu.dataset == "synthetic-cifar" and gpu.model == "resnet18_cifar" and gpu.epochs == 30 and 42 in gpu.seeds
    gpu = build_spec(p.parse_args(["compare", "--preset", "gpu", "--data-dir", "/data", "--dataset", "cifar100"]))
    assert gpu.dataset == "cifar100"


# -- the schema ------------------------------------------------------------------------------------------
def _doc(tiny_run):
    return json.loads(json.dumps(tiny_run[1]))


@pytest.mark.parametrize(
    "edit, path",
    [
        (lambda d: d.pop("summary"), "$.summary"),
        (lambda d: d.__setitem__("schema", "sad-optim/0"), "$.schema"),
        (lambda d: d["summary"]["adamw"]["seeds"].append(50.0), "$.summary.adamw.seed_ids"),
        (lambda d: d["summary"]["sn"].__setitem__("mean_best", 101.0), "$.summary.sn.mean_best"),
        (lambda d: d["summary"]["sn"]["seeds"].__setitem__(0, "high"), "$.summary.sn.seeds[0]"),
        (lambda d: d["summary"].__setitem__("lion", d["summary"]["sn"]), "$.summary.lion"),
        (lambda d: d["summary"].__setitem__("adam_baseline", d["summary"]["adamw"]), "$.summary.adam_baseline"),
        (lambda d: d.__setitem__("dataset_kind", "fake"), "$.dataset_kind"),
        (lambda d: d["schedule"].__setitem__("name", "step"), "$.schedule.name"),
        (lambda d: d["s_by_layer"]["head"].pop("s"), "$.s_by_layer.head.s"),
        (lambda d: d["summary"]["muon"].__setitem__("seeds", []), "$.summary.muon.seeds"),
    ],
)
def test_schema_errors_name_the_path(tiny_run, edit, path):
    d = _doc(tiny_run)
    edit(d)
    with pytest.raises(SchemaError) as e:
        validate(d)
    assert e.value.path == path


def test_schema_accepts_the_app_m_alias(tiny_run):
    d = _doc(tiny_run)
    d["summary"]["adam_baseline"] = d["summary"].pop("adamw")
    validate(d)


def test_compare_schema_is_torch_free():
    code = "import empirics.compare_schema, claims.optimdata, sys; assert 'torch' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True, cwd=ROOT)


def test_sigterm_exits_3_and_keeps_finished_cells(tmp_path):
    import os
    import signal
    import time

    cmd = [sys.executable, "-m", "empirics", "compare", "--preset", "cpu", "--optimizers", "adamw", "sn"]
    cmd += ["--out", str(tmp_path), "--no-progress"]
    p = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.PIPE, text=True, env=dict(os.environ, OMP_NUM_THREADS="1"))
    out = tmp_path / "optim_compare_cpu.json"
    t0 = time.time()
    while not out.exists() and p.poll() is None and time.time() - t0 < 120:
        time.sleep(0.1)
    p.send_signal(signal.SIGTERM)
    _, err = p.communicate(timeout=120)
    assert p.returncode == 3 and err.strip().splitlines()[-1].startswith("interrupted:"), err
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["complete"] is False


def test_gpu_preset_code_path_runs_on_cpu_at_toy_scale(tmp_path):
    """The gpu preset's model and data path (ResNet-18 on CIFAR-shaped synthetic data, every config, s from the
    engine on the conv layers) at toy size on CPU: a complete, valid file with accuracies in range."""
    from empirics.compare_schema import validate

    spec = PRESETS["gpu"].with_overrides(
        dataset="synthetic-cifar",
        epochs=1,
        seeds=(42,),
        model_kwargs={"width": 4},
        train_samples=96,
        test_samples=48,
        lr_factors=(1.0,),
        search_epochs=1,
        s_k=4,
        s_batch=32,
        batch_size=32,
    )
    path = R.run_compare(spec, tmp_path, progress=False)
    doc = json.loads(Path(path).read_text())
    validate(doc)
    assert doc["complete"] is True and doc["model"] == "resnet18_cifar"
    assert set(doc["summary"]) == set(spec.configs)
    assert all(0.0 <= v["mean_best"] <= 100.0 for v in doc["summary"].values())
    assert doc["s_by_layer"] and all(r["s"] > 0 for r in doc["s_by_layer"].values())
