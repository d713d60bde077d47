"""Presets: a tiny spec trained, measured and written as sad-results/1; resume; synthetic fallback; CLI."""

from __future__ import annotations

import argparse
import dataclasses
import json

import pytest

from empirics import presets
from empirics.data import DATASET_NAMES, DatasetNotFound
from empirics.output import ResumeError
from empirics.presets import PRESETS, RunSpec
from empirics.presets import run as preset_run
from empirics.presets.run import run_spec
from empirics.schema import validate
from empirics.zoo import MODEL_NAMES

TINY = RunSpec(
    "tiny_mlp",
    "mlp",
    "digits",
    {"width": 8, "depth": 1},
    {"image_size": 4},
    train_samples=64,
    epochs=1,
    train_batch_size=16,
    lr=0.1,
    measure_epochs=(0, 1),
    batch_size=24,
    k=4,
    gn=True,
    kron=False,
)


def test_preset_tables_are_well_formed():
    assert set(PRESETS) == {"cpu", "paper"}
    for specs in PRESETS.values():
        assert len({s.name for s in specs}) == len(specs)
        for s in specs:
            assert s.model in MODEL_NAMES and s.dataset in DATASET_NAMES and s.k >= 1
    for s in PRESETS["paper"]:  # the paper's batch sizes and k
        assert 2048 <= s.batch_size <= 4096 and s.k == 20
    assert any(len(s.epochs_to_measure()) > 2 for s in PRESETS["cpu"])  # α over training


def test_tiny_spec_writes_valid_results_and_resumes(tmp_path, monkeypatch):
    out, cache = tmp_path / "out", tmp_path / "cache"
    files = run_spec(TINY, out, cache_dir=cache, progress=False)
    assert [f.name for f in files] == ["tiny_mlp_e0.json", "tiny_mlp_e1.json"]
    docs = [json.loads(f.read_text()) for f in files]
    for doc, epoch in zip(docs, (0, 1), strict=True):
        validate(doc)
        run = doc["run"]
        assert (
            doc["complete"] and run["epoch"] == epoch and run["dataset_kind"] == "real" and run["architecture"] == "mlp"
        )
        assert run["batch_size"] == 24 and run["k"] == 4 and run["build_kwargs"]["width"] == 8
        assert [layer["name"] for layer in doc["layers"]] == ["layers.0", "head"]
        assert doc["provenance"]["settings"]["bn_mode"] == "eval"
        assert all(len(layer["h_exact"]) == layer["k"] <= 4 for layer in doc["layers"])
    assert docs[0]["layers"][0]["sigma"] != docs[1]["layers"][0]["sigma"]  # different checkpoints measured

    # a rerun skips complete files without training or measuring
    def boom(*a, **k):
        raise AssertionError("should not run")

    monkeypatch.setattr(preset_run, "train", boom)
    monkeypatch.setattr("empirics.measurement.runner.measure_layers", boom)
    assert run_spec(TINY, out, cache_dir=cache, progress=False) == files

    # a partial file resumes: the finished layer is skipped and kept
    partial = dict(docs[1], complete=False, layers=docs[1]["layers"][:1])
    files[1].write_text(json.dumps(partial))
    monkeypatch.undo()
    seen = {}
    import empirics.measurement.runner as runner

    real = runner.measure_layers

    def spy(*a, skip=frozenset(), **k):
        seen["skip"] = skip
        return real(*a, skip=skip, **k)

    monkeypatch.setattr(runner, "measure_layers", spy)
    run_spec(TINY, out, cache_dir=cache, progress=False)
    assert seen["skip"] == frozenset({"layers.0"})
    resumed = json.loads(files[1].read_text())
    assert resumed["complete"] and [layer["name"] for layer in resumed["layers"]] == ["layers.0", "head"]
    assert resumed["layers"][0] == docs[1]["layers"][0]
    first, second = (layer["measured_with"] for layer in resumed["layers"])
    assert first == docs[1]["layers"][0]["measured_with"]  # each layer says which session measured it
    assert resumed["provenance"]["earlier_parts"][0]["created"] == docs[1]["provenance"]["created"]
    assert second["created"] == resumed["provenance"]["created"] and "git_dirty" in resumed["provenance"]
    assert resumed["layers"][1]["h_exact"] == pytest.approx(docs[1]["layers"][1]["h_exact"], rel=1e-10)

    # a file made with other settings is refused, not silently kept
    changed = dataclasses.replace(TINY, batch_size=20)
    with pytest.raises(ResumeError, match="different settings \\(spec.batch_size: 24 vs 20\\)"):
        run_spec(changed, out, cache_dir=cache, progress=False)


def test_missing_dataset_and_synthetic_fallback(tmp_path):
    spec = RunSpec(
        "tiny_c10",
        "resnet18_cifar",
        "cifar10",
        {"width": 2},
        {"image_size": 8},
        train_samples=16,
        epochs=0,
        batch_size=8,
        k=2,
        gn=False,
        kron=False,
        layer_types=("head",),
    )
    with pytest.raises(DatasetNotFound, match="cifar-10-batches-py"):
        run_spec(spec, tmp_path / "out", cache_dir=tmp_path / "c", data_root_dir=str(tmp_path), progress=False)
    (f,) = run_spec(
        spec,
        tmp_path / "out",
        cache_dir=tmp_path / "c",
        data_root_dir=str(tmp_path),
        progress=False,
        synthetic_fallback=True,
    )
    doc = json.loads(f.read_text())
    validate(doc)
    assert doc["run"]["dataset_kind"] == "synthetic" and doc["run"]["dataset"] == "synthetic-cifar"
    assert doc["provenance"]["settings"]["dataset_meta"]["substitutes"] == "cifar10"
    assert [layer["name"] for layer in doc["layers"]] == ["fc"]


def _cli(argv):
    parser = argparse.ArgumentParser()
    presets.register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_list_and_missing_data(tmp_path, capsys):
    assert _cli(["run", "--preset", "cpu", "--list"]) == 0
    assert "resnet18_digits" in capsys.readouterr().out
    code = _cli(
        ["run", "--preset", "paper", "--out", str(tmp_path / "o"), "--data-root", str(tmp_path), "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1 and "--synthetic-fallback" in err
    assert _cli(["run", "--preset", "cpu", "--only", "nope", "--out", str(tmp_path / "o")]) == 2
    assert "unknown run(s) nope" in capsys.readouterr().err


def test_paper_specs_build_and_run_forward(tmp_path):
    """Every paper run builds at full size on its (stand-in) data shape and maps inputs to class/byte logits."""
    import torch

    from empirics.model_args import build_kwargs_for
    from empirics.presets.run import load_data
    from empirics.zoo import build_model, layer_table

    for spec in PRESETS["paper"]:
        ds = load_data(spec, "train", True, 2, str(tmp_path))
        model = build_model(spec.model, **build_kwargs_for(ds, seed=0, model_kwargs=spec.model_kwargs)).eval()
        with torch.no_grad():
            out = model(ds.inputs)
        want = 256 if ds.task == "lm" else ds.n_classes
        assert out.shape[0] == 2 and out.shape[-1] == want, spec.name
        assert layer_table(model), spec.name


def test_run_cli_interrupt_keeps_layers_and_resumes(tmp_path, capsys, monkeypatch):
    """Ctrl-C after the first measured layer: exit 3, one line, the layer kept; the same command finishes."""
    import empirics.measurement.runner as measure

    monkeypatch.setenv("SAD_CACHE", str(tmp_path / "cache"))
    monkeypatch.setitem(PRESETS, "tiny", [dataclasses.replace(TINY, measure_epochs=None)])
    real = measure.measure_layers

    def stop_after_first(*a, on_layer=None, **k):
        def hook(rec):
            on_layer(rec)
            raise KeyboardInterrupt

        return real(*a, on_layer=hook, **k)

    monkeypatch.setattr(measure, "measure_layers", stop_after_first)
    out = tmp_path / "out"
    assert _cli(["run", "--preset", "tiny", "--out", str(out), "--no-progress"]) == 3
    err = [line for line in capsys.readouterr().err.splitlines() if line.strip()]
    assert len(err) == 1 and err[0].startswith("interrupted:"), err
    partial = json.loads((out / "tiny_mlp.json").read_text())
    assert partial["complete"] is False and [r["name"] for r in partial["layers"]] == ["layers.0"]
    monkeypatch.setattr(measure, "measure_layers", real)
    assert _cli(["run", "--preset", "tiny", "--out", str(out), "--no-progress"]) == 0
    done = json.loads((out / "tiny_mlp.json").read_text())
    assert done["complete"] and done["layers"][0] == partial["layers"][0] and len(done["layers"]) == 2
    assert sorted(p.name for p in out.iterdir()) == ["tiny_mlp.json"]  # no lock or temp file left
