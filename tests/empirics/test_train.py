"""Training: bit-identical under a seed, checkpoints, stopping criterion, CLI."""

from __future__ import annotations

import argparse
import json

import pytest
import torch

from empirics.data import load_dataset
from empirics.train import load_checkpoint, register_cli, train
from empirics.zoo import build_model


def _digits(n=96):
    return load_dataset("digits", image_size=8, n_samples=n)


def _run(seed, **kw):
    ds = _digits()
    model = build_model("resnet18_cifar", num_classes=10, image_size=8, width=2, seed=0)
    res = train(model, ds, epochs=2, batch_size=32, lr=0.05, seed=seed, progress=False, **kw)
    return model, res


def test_same_seed_bit_identical_weights():
    m1, r1 = _run(0)
    m2, r2 = _run(0)
    m3, _ = _run(1)  # a different shuffle seed gives different weights
    s1, s2, s3 = m1.state_dict(), m2.state_dict(), m3.state_dict()
    assert all(torch.equal(s1[k], s2[k]) for k in s1)
    assert not torch.equal(s1["conv1.weight"], s3["conv1.weight"])
    assert r1.history == r2.history and r1.epochs_run == 2 and r1.stopped_by == "epochs"
    assert not torch.are_deterministic_algorithms_enabled()  # restored after training


def test_checkpoints_and_reload(tmp_path):
    ds = _digits()
    test = load_dataset("digits", split="test", image_size=8, n_samples=40)
    model = build_model("mlp", num_classes=10, image_size=8, width=16, seed=0)
    init = {k: v.clone() for k, v in model.state_dict().items()}
    res = train(
        model,
        ds,
        epochs=3,
        batch_size=16,
        lr=0.1,
        seed=0,
        checkpoint_dir=tmp_path,
        checkpoint_epochs=(0, 2),
        test_dataset=test,
        progress=False,
    )
    assert sorted(res.checkpoints) == [0, 2] and not (tmp_path / "epoch_1.pt").exists()
    m0, ck0 = load_checkpoint(tmp_path / "epoch_0.pt")
    assert ck0["epoch"] == 0 and ck0["model_name"] == "mlp" and ck0["build_kwargs"]["width"] == 16
    assert all(torch.equal(m0.state_dict()[k], init[k]) for k in init)
    m2, ck2 = load_checkpoint(tmp_path / "epoch_2.pt")
    assert ck2["metrics"]["epoch"] == 2 and "test_accuracy" in ck2["metrics"]
    assert res.history[3]["train_loss"] < res.history[0]["train_loss"]  # it learns


def test_target_accuracy_stops_early():
    ds = _digits(200)
    model = build_model("mlp", num_classes=10, image_size=8, width=32)
    res = train(model, ds, epochs=50, batch_size=20, lr=0.1, seed=0, target_accuracy=0.6, progress=False)
    assert res.stopped_by == "target_accuracy" and res.epochs_run < 50 and res.final["train_accuracy"] >= 0.6


def test_bad_arguments():
    model = build_model("mlp", num_classes=10, image_size=8, width=4)
    with pytest.raises(ValueError, match="unknown optimizer"):
        train(model, _digits(), epochs=1, batch_size=8, lr=0.1, seed=0, optimizer="lbfgs")
    with pytest.raises(ValueError, match="test_dataset"):
        train(
            model, _digits(), epochs=1, batch_size=8, lr=0.1, seed=0, target_accuracy=0.5, target_metric="test_accuracy"
        )


def _cli(argv):
    parser = argparse.ArgumentParser()
    register_cli(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


def test_cli_train_gpt2_and_errors(tmp_path, capsys):
    out = tmp_path / "ck"
    argv = [
        "train",
        "--model",
        "gpt2",
        "--dataset",
        "text",
        "--context",
        "8",
        "--n-samples",
        "16",
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--optimizer",
        "adamw",
        "--lr",
        "1e-3",
        "--model-arg",
        "n_layer=1",
        "--width",
        "8",
        "--model-arg",
        "n_head=2",
        "--checkpoint-dir",
        str(out),
        "--no-progress",
    ]
    assert _cli(argv) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["epochs_run"] == 1 and (out / "epoch_1.pt").exists() and (out / "train_metrics.json").exists()
    model, _ = load_checkpoint(out / "epoch_1.pt")
    assert model.context == 8 and len(model.blocks) == 1
    assert _cli(["train", "--model", "nope", "--dataset", "digits", "--epochs", "1", "--checkpoint-dir", str(out)]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: --model: unknown model 'nope'") and err.count("\n") == 1
    assert (
        _cli(
            [
                "train",
                "--model",
                "mlp",
                "--dataset",
                "cifar10",
                "--data-root",
                str(tmp_path),
                "--epochs",
                "1",
                "--checkpoint-dir",
                str(out),
            ]
        )
        == 2
    )
    assert "cifar-10-batches-py" in capsys.readouterr().err


def test_checkpoints_are_written_atomically_and_orphans_swept(tmp_path, monkeypatch, capsys):
    """A kill during ``torch.save`` leaves no truncated ``epoch_N.pt``; a rerun removes the temp file left."""
    import os

    from empirics import train as T

    def killed(obj, fh):
        fh.write(b"half a checkpoint")
        raise KeyboardInterrupt

    monkeypatch.setattr(T.torch, "save", killed)
    model = build_model("mlp", num_classes=10, image_size=8, width=4, seed=0)
    with pytest.raises(KeyboardInterrupt):
        train(model, _digits(32), epochs=0, batch_size=16, lr=0.1, seed=0, checkpoint_dir=tmp_path,
              checkpoint_epochs=(0,), progress=False)  # fmt: skip
    assert list(tmp_path.iterdir()) == []  # neither a partial epoch_0.pt nor a temp file
    monkeypatch.undo()
    (tmp_path / ".epoch_0.pt.abcdefgh.tmp").write_bytes(b"left by a SIGKILL")
    argv = ["train", "--model", "mlp", "--dataset", "digits", "--image-size", "8", "--width", "4", "--epochs", "0"]
    argv += ["--n-samples", "32", "--checkpoint-dir", str(tmp_path), "--no-progress"]
    assert _cli(argv) == 0, capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["epoch_0.pt", "train_metrics.json"]
    assert os.stat(tmp_path / "epoch_0.pt").st_size > 100
