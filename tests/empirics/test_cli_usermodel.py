"""``python -m empirics measure --model file.py:factory --data batch.pt|.npz``: your own model from the CLI —
same exit codes (0 / 2 with one line naming the flag / 3) and the same resumable results file."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
import torch

from empirics import cli
from empirics.schema import validate
from tests import paths

NET = """
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self, width=6):
        super().__init__()
        self.attn = nn.MultiheadAttention(4, 2, batch_first=True)
        self.body = nn.Linear(4, width)
        self.head = nn.Linear(width, 3)

    def forward(self, x):
        a, _ = self.attn(x, x, x)
        return {"logits": self.head(torch.tanh(self.body(a.mean(1)))), "aux": a}


def make(width=6):
    torch.manual_seed(0)
    return Net(width)


def summed(o, t):
    return torch.nn.functional.cross_entropy(o, t, reduction="sum")
"""


@pytest.fixture
def files(tmp_path):
    (tmp_path / "net.py").write_text(NET)
    g = torch.Generator().manual_seed(1)
    x, y = torch.randn(10, 5, 4, generator=g), torch.randint(0, 3, (10,), generator=g)
    torch.save({"inputs": x, "targets": y}, tmp_path / "batch.pt")
    np.savez(tmp_path / "batch.npz", x=x.numpy(), y=y.numpy())
    return tmp_path


def _run(capsys, files, *extra, out="r.json"):
    argv = ["measure", "--model", f"{files}/net.py:make", "--k", "2", "--out", str(files / out), "--no-progress"]
    code = cli.main([*argv, *extra])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("data", ["batch.pt", "batch.npz"])
def test_user_model_measured_and_resumable(capsys, files, data):
    code, err = _run(capsys, files, "--data", str(files / data), "--batch", "8")
    assert code == 0, err
    doc = json.loads((files / "r.json").read_text())
    validate(doc)
    assert doc["complete"] and [r["name"] for r in doc["layers"]] == [
        "attn.in_proj_weight",
        "attn.out_proj",
        "body",
        "head",
    ]
    assert doc["run"]["batch_size"] == 8 and doc["run"]["dataset"] == data
    before = (files / "r.json").read_bytes()
    code, err = _run(capsys, files, "--data", str(files / data), "--batch", "8")  # complete: nothing to redo
    assert code == 0, err
    assert "already complete" in err and (files / "r.json").read_bytes() == before  # left untouched
    partial = dict(doc, complete=False, layers=doc["layers"][:2])  # an interrupted run resumes the rest
    (files / "r.json").write_text(json.dumps(partial))
    code, err = _run(capsys, files, "--data", str(files / data), "--batch", "8")
    assert code == 0, err
    again = json.loads((files / "r.json").read_text())
    assert again["complete"] and again["layers"][:2] == doc["layers"][:2]
    assert [r["name"] for r in again["layers"]] == [r["name"] for r in doc["layers"]]
    assert again["provenance"]["settings"]["resumed_layers"] == ["attn.in_proj_weight", "attn.out_proj"]


def test_checkpoint_and_model_args(capsys, files):
    sys.path.insert(0, str(files))
    try:
        import net  # the same file, to write a checkpoint of another width
    finally:
        sys.path.remove(str(files))
    torch.save(net.make(width=5).state_dict(), files / "ck.pt")
    code, err = _run(
        capsys, files, "--data", str(files / "batch.pt"), "--checkpoint", str(files / "ck.pt"), "--model-arg", "width=5"
    )
    assert code == 0, err
    assert json.loads((files / "r.json").read_text())["layers"][2]["shape"] == [5, 4]
    code, err = _run(
        capsys, files, "--data", str(files / "batch.pt"), "--checkpoint", str(files / "ck.pt"), out="s.json"
    )
    assert code == 2 and "--checkpoint" in err and "does not fit" in err


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--data", "nope.pt"], "--data nope.pt: no such file"),
        (["--data", "{f}/batch.pt", "--loss", "hinge"], "--loss: unknown 'hinge'"),
        (["--data", "{f}/batch.pt", "--loss", "{f}/net.py:summed"], "--loss: summed on this batch is not the mean"),
        (["--data", "{f}/batch.pt", "--batch", "99"], "--batch 99: --data"),
        (["--data", "{f}/batch.pt", "--layers", "nope"], "--layers:"),
        (["--data", "{f}/batch.pt", "--output", "nope"], "--output 'nope': not a key"),
        ([], "--data is required"),
    ],
)
def test_bad_user_input_is_one_line_exit_2(capsys, files, extra, message):
    extra = [e.replace("{f}", str(files)) for e in extra]
    code, err = _run(capsys, files, *extra)
    lines = [ln for ln in err.strip().splitlines() if ln]
    assert code == 2 and len(lines) == 1 and message in lines[0], err


def test_bad_factory_paths(capsys, files):
    for spec, message in ((f"{files}/missing.py:make", "no such file"), (f"{files}/net.py:nothing", "no callable")):
        code = cli.main(
            ["measure", "--model", spec, "--data", str(files / "batch.pt"), "--k", "2", "--out", str(files / "x.json")]
        )
        err = capsys.readouterr().err
        assert code == 2 and message in err and err.count("\n") == 1


def test_real_entry_point_subprocess(files):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "empirics",
            "measure",
            "--model",
            f"{files}/net.py:make",
            "--data",
            str(files / "batch.npz"),
            "--k",
            "2",
            "--no-kron",
            "--out",
            str(files / "sub.json"),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=paths.ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert "\r" not in r.stderr and "measure: layer 1/4" in r.stderr
    assert json.loads((files / "sub.json").read_text())["complete"]
