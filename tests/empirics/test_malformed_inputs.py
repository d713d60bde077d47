"""Malformed inputs to ``python -m empirics measure | run | train | compare``: every case is exit status 2, exactly
one line on stderr naming the argument, file or field, no traceback, and no output written.

The cases run the real command line in-process (``empirics.cli.main``, real zoo and data) — the same code as
``python -m empirics`` — and the ones that used to hang or read forever (a FIFO or ``/dev/full`` as ``--out``)
also as subprocesses with a time limit. Issue 16's list is covered: ``--image-size -1|0``, ``--width 0|-4``,
``--fd-eps nan``, a 0-byte checkpoint, checkpoint ``epoch: "three"``, all-NaN weights, ``gpt2`` on digits,
``--out`` a FIFO / ``/dev/full`` / unwritable, and more.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from empirics import cli
from empirics.arguments import first_line
from empirics.zoo import build_model
from tests import paths
from tests.empirics.lock_holder import holding

MEASURE = ["measure", "--model", "mlp", "--dataset", "digits", "--image-size", "8", "--width", "8", "--batch", "16"]
MEASURE += ["--k", "2", "--no-progress", "--no-kron"]
TRAIN = ["train", "--model", "mlp", "--dataset", "digits", "--image-size", "8", "--width", "8", "--epochs", "1"]
TRAIN += ["--n-samples", "32", "--no-progress"]
RUN = ["run", "--preset", "cpu", "--only", "mlp_digits", "--no-progress"]
COMPARE = ["compare", "--preset", "tiny", "--no-progress"]


def _set(argv: list[str], extra: list[str]) -> list[str]:
    """``argv`` with each ``--flag value`` of ``extra`` replacing an existing one or appended."""
    argv = list(argv)
    i = 0
    while i < len(extra):
        flag, value = extra[i], extra[i + 1] if i + 1 < len(extra) and not extra[i + 1].startswith("--") else None
        if flag in argv and value is not None:
            argv[argv.index(flag) + 1] = value
        else:
            argv += [flag] + ([value] if value is not None else [])
        i += 1 if value is None else 2
    return argv


def _one_line_exit_2(argv: list[str], capsys) -> str:
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse value errors exit from the parser
        code = exc.code
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


# -- checkpoints -------------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def ckpts(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("ckpt")
    model = build_model("mlp", num_classes=10, in_channels=3, image_size=8, width=8, seed=0)
    kw = model.sad_build_kwargs
    good = {"model": model.state_dict(), "epoch": 1, "model_name": "mlp", "build_kwargs": kw, "metrics": {}}
    torch.save(dict(good, epoch="three"), d / "three.pt")
    torch.save(dict(good, epoch=True), d / "bool_epoch.pt")
    torch.save(dict(good, model={k: torch.full_like(v, float("nan")) for k, v in good["model"].items()}), d / "nan.pt")
    torch.save(
        dict(good, model={k: v.clone() for k, v in good["model"].items()} | {"layers.0.bias": None}), d / "none.pt"
    )
    torch.save(dict(good, build_kwargs="nope"), d / "kw.pt")
    torch.save(dict(good, model_name=5), d / "name.pt")
    torch.save(dict(good, model_name="vgg11"), d / "other_name.pt")
    torch.save([1, 2, 3], d / "list.pt")
    other = build_model("mlp", num_classes=10, in_channels=3, image_size=8, width=16, seed=0)
    torch.save({"model": other.state_dict()}, d / "mismatch.pt")
    (d / "empty.pt").write_bytes(b"")
    (d / "garbage.pt").write_bytes(b"not a torch file at all")
    (d / "folder.pt").mkdir()
    return d


MEASURE_CASES = [
    (["--image-size", "-1"], "argument --image-size: must be an integer >= 1"),
    (["--image-size", "0"], "argument --image-size: must be an integer >= 1"),
    (["--width", "0"], "argument --width: must be an integer >= 1"),
    (["--width", "-4"], "argument --width: must be an integer >= 1"),
    (["--fd", "--fd-eps", "nan"], "argument --fd-eps: must be a finite number"),
    (["--fd-eps", "inf"], "argument --fd-eps: must be a finite number"),
    (["--fd-eps", "0"], "argument --fd-eps: must be a finite number > 0"),
    (["--batch", "0"], "argument --batch"),
    (["--batch", "1.5"], "argument --batch"),
    (["--k", "0"], "argument --k"),
    (["--seed", "-1"], "argument --seed"),
    (["--chunk-size", "0"], "argument --chunk-size"),
    (["--n-classes", "0"], "argument --n-classes"),
    (["--n-classes", "1"], "--dataset: n_classes must be an integer >= 2, got 1"),
    (["--n-classes", "11"], "n_classes must be in 2..10, got 11"),
    (["--dtype", "float16"], "--dtype: unknown dtype 'float16'"),
    (["--fd-dtype", "int8"], "--fd-dtype: unknown dtype 'int8'"),
    (["--device", "tpu"], "--device: unknown device 'tpu'"),
    (["--method", "newton"], "--method: unknown 'newton'"),
    (["--model", "resnet999"], "--model: unknown model 'resnet999'"),
    (["--model", "gpt2"], "--model gpt2 on --dataset digits: the model does not accept these inputs"),
    (["--dataset", "mnist"], "unknown dataset 'mnist'"),
    (["--model-arg", "depth"], "--model-arg 'depth': expected KEY=VALUE"),
    (["--model-arg", "nonsense=3"], "--model mlp: cannot build it"),
    (["--layers", "head", "bogus"], "--layers"),
    (["--batch", "5000"], "has only 1437 samples"),
    (["--k", "50"], "exceeds layer"),
]


@pytest.mark.parametrize(("extra", "needle"), MEASURE_CASES, ids=[" ".join(c[0]) for c in MEASURE_CASES])
def test_measure_bad_arguments(extra, needle, capsys, tmp_path):
    out = tmp_path / "r.json"
    line = _one_line_exit_2(_set(MEASURE + ["--out", str(out)], extra), capsys)
    assert needle in line, line
    assert list(tmp_path.iterdir()) == []  # nothing written, no lock or temp file left


CKPT_CASES = [
    ("missing.pt", "no such file"),
    ("folder.pt", "not a regular file"),
    ("empty.pt", "unreadable (EOFError)"),
    ("garbage.pt", "unreadable (UnpicklingError"),
    ("list.pt", "not a model checkpoint"),
    ("three.pt", "field 'epoch' must be an integer, got 'three'"),
    ("bool_epoch.pt", "field 'epoch' must be an integer, got True"),
    ("nan.pt", "non-finite weight value(s) (first in 'layers.0.weight')"),
    ("none.pt", "field 'model' must map parameter names to tensors"),
    ("kw.pt", "field 'build_kwargs' must be a dict"),
    ("name.pt", "field 'model_name' must be a string"),
    ("other_name.pt", "was trained for model 'vgg11'"),
    ("mismatch.pt", "does not fit model 'mlp'"),
]


@pytest.mark.parametrize(("name", "needle"), CKPT_CASES, ids=[c[0] for c in CKPT_CASES])
def test_measure_bad_checkpoints(name, needle, ckpts, capsys, tmp_path):
    out = tmp_path / "r.json"
    line = _one_line_exit_2(MEASURE + ["--checkpoint", str(ckpts / name), "--out", str(out)], capsys)
    assert line.startswith(f"error: --checkpoint {ckpts / name}: ") and needle in line, line
    assert list(tmp_path.iterdir()) == []


def _fifo(t: Path) -> str:
    os.mkfifo(t / "pipe.json")
    return str(t / "pipe.json")


def _dangling(t: Path) -> str:
    (t / "link.json").symlink_to(t / "gone" / "r.json")
    return str(t / "link.json")


def _existing(text: str):
    def make(t: Path) -> str:
        (t / "old.json").write_text(text)
        return str(t / "old.json")

    return make


OUT_CASES = [
    ("dev-full", lambda t: "/dev/full", "is a character device"),
    ("dev-null", lambda t: "/dev/null", "is a character device"),
    ("fifo", _fifo, "is a FIFO"),
    ("folder", lambda t: str(t), "is a folder"),
    ("trailing-slash", lambda t: str(t / "new") + "/", "names a folder"),
    ("empty", lambda t: "", "--out: empty path"),
    ("dangling-symlink", _dangling, "dangling symbolic link"),
    (
        "parent-is-a-file",
        lambda t: (t / "f").write_text("x") and str(t / "f" / "r.json"),
        "a folder on its path is a file",
    ),
    ("unwritable", lambda t: "/proc/sad-verify/r.json", "--out /proc/sad-verify/r.json"),
    ("invalid-json", _existing("{not json"), "invalid JSON"),
    ("duplicate-key", _existing('{"schema": "sad-results/1", "schema": "x"}'), "duplicate key 'schema'"),
    ("nan-literal", _existing('{"a": NaN}'), "non-finite number NaN"),
    ("deep-nesting", _existing("[" * 50_000 + "]" * 50_000), "nested too deeply"),
    ("schema-v2", _existing('{"schema": "sad-results/2"}'), "not a valid results file ($.schema"),
    ("not-utf8", lambda t: (t / "b.json").write_bytes(b"\xff\xfe{") and str(t / "b.json"), "not UTF-8"),
]


@pytest.mark.parametrize(("make", "needle"), [c[1:] for c in OUT_CASES], ids=[c[0] for c in OUT_CASES])
def test_measure_unusable_out(make, needle, capsys, tmp_path):
    before = sorted(p.name for p in tmp_path.iterdir())
    out = make(tmp_path)
    made = sorted(p.name for p in tmp_path.iterdir())
    line = _one_line_exit_2(MEASURE + ["--out", out], capsys)
    assert needle in line, line
    assert sorted(p.name for p in tmp_path.iterdir()) == made and before is not None  # nothing added


@pytest.fixture(scope="module")
def finished(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("done") / "r.json"
    assert cli.main(MEASURE + ["--out", str(out)]) == 0
    return out


def test_measure_out_made_with_other_settings(finished, capsys, tmp_path):
    out = tmp_path / "r.json"
    out.write_bytes(finished.read_bytes())
    line = _one_line_exit_2(_set(MEASURE + ["--out", str(out)], ["--k", "3"]), capsys)
    assert "exists with different settings (k: 2 vs 3)" in line, line
    assert out.read_bytes() == finished.read_bytes()


def test_measure_out_locked_by_another_run(capsys, tmp_path):
    out = tmp_path / "r.json"
    with holding(out) as holder:
        line = _one_line_exit_2(MEASURE + ["--out", str(out)], capsys)
    assert f"another run is writing it (pid {holder.pid} on " in line, line
    assert not out.exists()


@pytest.mark.parametrize("target", ["fifo", "/dev/full"])
def test_measure_out_fifo_or_endless_device_does_not_hang_subprocess(target, tmp_path):
    out = _fifo(tmp_path) if target == "fifo" else target
    argv = [sys.executable, "-m", "empirics", *MEASURE, "--out", out]
    env = dict(os.environ, PYTHONPATH=str(paths.ROOT))
    r = subprocess.run(argv, capture_output=True, text=True, timeout=300, cwd=paths.ROOT, env=env)
    lines = [line for line in r.stderr.splitlines() if line.strip()]
    assert r.returncode == 2 and len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    assert "FIFO" in lines[0] or "character device" in lines[0]


def test_error_line_is_safe_on_empty_messages():
    assert first_line(EOFError(), with_type=True) == "EOFError"
    assert first_line(ValueError("\n\n")) == "ValueError"
    assert first_line(ValueError("\none\ntwo"), with_type=True) == "ValueError: one"
    assert first_line(OSError("x" * 500)) == "x" * 200


# -- train -------------------------------------------------------------------------------------------------
TRAIN_CASES = [
    (["--epochs", "-1"], "argument --epochs"),
    (["--batch-size", "0"], "argument --batch-size"),
    (["--lr", "nan"], "argument --lr: must be a finite number"),
    (["--lr", "0"], "argument --lr: must be a finite number > 0"),
    (["--weight-decay", "-1"], "argument --weight-decay"),
    (["--target-accuracy", "2"], "argument --target-accuracy: must be a number in [0, 1]"),
    (["--image-size", "0"], "argument --image-size"),
    (["--width", "0"], "argument --width"),
    (["--n-samples", "0"], "argument --n-samples"),
    (["--seed", "-3"], "argument --seed"),
    (["--optimizer", "lion"], "argument --optimizer: invalid choice"),
    (["--model", "nope"], "--model: unknown model 'nope'"),
    (["--model", "gpt2"], "--model gpt2 on --dataset digits: the model does not accept these inputs"),
    (["--model-arg", "x"], "--model-arg 'x': expected KEY=VALUE"),
    (["--checkpoint-epochs", "0", "5"], "--checkpoint-epochs 5: after the last epoch (--epochs 1)"),
    (["--dataset", "text", "--context", "1"], "context must be an integer >= 2"),
]


@pytest.mark.parametrize(("extra", "needle"), TRAIN_CASES, ids=[" ".join(c[0]) for c in TRAIN_CASES])
def test_train_bad_arguments(extra, needle, capsys, tmp_path):
    ck = tmp_path / "ck"
    line = _one_line_exit_2(_set(TRAIN + ["--checkpoint-dir", str(ck)], extra), capsys)
    assert needle in line, line
    assert not list(ck.glob("*.pt")) if ck.exists() else True


@pytest.mark.parametrize("target", ["file", "/dev/null"])
def test_train_checkpoint_dir_not_a_folder(target, capsys, tmp_path):
    ck = tmp_path / "file" if target == "file" else Path(target)
    if target == "file":
        ck.write_text("x")
    line = _one_line_exit_2(TRAIN + ["--checkpoint-dir", str(ck)], capsys)
    assert f"--checkpoint-dir {ck}: exists and is not a folder" in line, line


def test_train_checkpoint_dir_locked(capsys, tmp_path):
    ck = tmp_path / "ck"
    ck.mkdir()
    with holding(ck) as holder:
        line = _one_line_exit_2(TRAIN + ["--checkpoint-dir", str(ck)], capsys)
    assert f"pid {holder.pid}" in line and list(ck.iterdir()) == []


# -- run (presets) -----------------------------------------------------------------------------------------
RUN_CASES = [
    (lambda t: ["--preset", "nope"], "argument --preset: invalid choice"),
    (lambda t: ["--only", "nope"], "unknown run(s) nope"),
    (lambda t: ["--device", "tpu"], "--device: unknown device 'tpu'"),
    (lambda t: ["--out", (t / "f").write_text("x") and str(t / "f")], "a folder on its path is a file"),
    (lambda t: ["--out", "/dev/null"], "a folder on its path is a file"),
    (
        lambda t: ["--out", (t / "o").mkdir() or (t / "o" / "mlp_digits.json").write_text("{") and str(t / "o")],
        "invalid JSON",
    ),
]


@pytest.mark.parametrize(("extra", "needle"), RUN_CASES, ids=["preset", "only", "device", "file", "dev-null", "json"])
def test_run_bad_arguments(extra, needle, capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SAD_CACHE", str(tmp_path / "cache"))
    line = _one_line_exit_2(_set(RUN + ["--out", str(tmp_path / "out")], extra(tmp_path)), capsys)
    assert needle in line, line
    assert not (tmp_path / "cache").exists()  # failed before any training


def test_run_out_file_locked(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("SAD_CACHE", str(tmp_path / "cache"))
    out = tmp_path / "out"
    out.mkdir()
    with holding(out / "mlp_digits.json") as holder:
        line = _one_line_exit_2(RUN + ["--out", str(out)], capsys)
    assert f"mlp_digits.json: another run is writing it (pid {holder.pid}" in line, line
    assert not (tmp_path / "cache").exists()


# -- compare -----------------------------------------------------------------------------------------------
COMPARE_CASES = [
    (lambda t: ["--seeds", "0"], "argument --seeds"),
    (lambda t: ["--epochs", "-2"], "argument --epochs"),
    (lambda t: ["--optimizers", "adamw", "lion"], "--optimizers: unknown optimizer 'lion'"),
    (lambda t: ["--device", "tpu"], "--device: unknown device 'tpu'"),
    (lambda t: ["--model", "nope"], "--model: unknown model 'nope'"),
    (lambda t: ["--dataset", "mnist"], "--dataset: unknown dataset 'mnist'"),
    (lambda t: ["--out", "/dev/full"], "a folder on its path is a file"),
    (lambda t: ["--out", _fifo(t)], "is a FIFO"),
    (lambda t: ["--out", _existing('{"schema": "sad-optim/1", "complete": 1}')(t)], "not a valid results file"),
]


@pytest.mark.parametrize(
    ("extra", "needle"),
    COMPARE_CASES,
    ids=["seeds", "epochs", "optimizer", "device", "model", "dataset", "dev-full", "fifo", "schema"],
)
def test_compare_bad_arguments(extra, needle, capsys, tmp_path):
    line = _one_line_exit_2(_set(COMPARE + ["--out", str(tmp_path / "out")], extra(tmp_path)), capsys)
    assert needle in line, line
    assert not (tmp_path / "out").exists()


def test_compare_out_locked(capsys, tmp_path):
    out = tmp_path / "c.json"
    with holding(out) as holder:
        line = _one_line_exit_2(COMPARE + ["--out", str(out)], capsys)
    assert f"pid {holder.pid}" in line and not out.exists()


def test_a_valid_resume_file_is_accepted(finished, capsys):
    """Control: the checks above do not refuse a good file (the finished run resumes as complete, exit 0)."""
    assert cli.main(MEASURE + ["--out", str(finished)]) == 0
    assert "already complete" in capsys.readouterr().err
    assert json.loads(finished.read_text())["complete"] is True
