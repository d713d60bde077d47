"""``python -m empirics measure``: one-line errors (exit 2), interruption (exit 3) and layer-by-layer resume.

The zoo/data seam ``empirics.measure_command._api`` is replaced here by a tiny in-test registry (one MLP, small
data sets) so the CLI logic is tested in seconds; one subprocess test runs the real entry point.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from empirics import cli, measure_command
from empirics import curvature as C
from empirics.curvature import engine as E
from empirics.schema import validate
from tests import paths
from tests.cases import TINY_API, tiny_build

API = TINY_API


@pytest.fixture(autouse=True)
def tiny_api(monkeypatch):
    monkeypatch.setattr(measure_command, "_api", lambda: API)


def _run(capsys, *extra, out=None, k="2"):
    argv = [
        "measure",
        "--model",
        "tiny_mlp",
        "--dataset",
        "tiny",
        "--batch",
        "8",
        "--k",
        k,
        "--no-progress",
        "--no-kron",
    ]
    argv += list(extra) + (["--out", str(out)] if out else ["--out", os.devnull + ".json"])
    code = cli.main(argv)
    err = capsys.readouterr().err
    return code, err


def _one_line_error(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert "Traceback" not in err
    return lines[0]


def test_success_writes_complete_valid_file(capsys, tmp_path):
    out = tmp_path / "r.json"
    code, err = _run(capsys, out=out)
    assert code == 0, err
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["complete"] and [r["name"] for r in doc["layers"]] == ["0", "2", "4"]
    assert doc["run"]["architecture"] == "mlp" and doc["provenance"]["settings"]["bn_mode"] == "eval"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--model", "resnet999"], "unknown model 'resnet999'"),
        (["--layers", "0", "bogus"], "unknown layer(s) bogus; valid: 0, 2, 4"),
        (["--batch", "0"], "argument --batch: must be an integer >= 1"),
        (["--dataset", "empty"], "empty dataset"),
        (["--dataset", "missing"], "put it under /nowhere"),
        (["--batch", "50"], "has only 12 samples"),
        (["--dtype", "float16"], "unknown dtype 'float16'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--k", "3"], "exceeds layer '4'"),
        (["--checkpoint", "/nonexistent/ckpt.pt"], "no such file"),
        (["--batch", "notanint"], "argument --batch: must be an integer >= 1"),
    ],
)
def test_bad_arguments_one_line_exit_2(capsys, tmp_path, extra, message):
    argv = ["measure", "--model", "tiny_mlp", "--dataset", "tiny", "--batch", "8", "--k", "2", "--no-progress"]
    argv += ["--no-kron", "--out", str(tmp_path / "r.json")]
    for i in range(0, len(extra), 2):  # override or append
        if extra[i] in argv:
            argv[argv.index(extra[i]) + 1] = extra[i + 1]
        else:
            argv += extra[i : i + 2]
    try:
        code = cli.main(argv)
    except SystemExit as exc:  # argparse type errors exit from the parser
        code = exc.code
    assert code == 2
    line = _one_line_error(capsys.readouterr().err)
    assert message in line, line
    assert not (tmp_path / "r.json").exists()


def test_k_above_rank_names_layer_and_rank_and_clamp(capsys, tmp_path):
    # the head's gradient (3 classes used of 5 outputs... softmax CE: rank <= classes present) limits k
    code, err = _run(capsys, k="5", out=tmp_path / "a.json")
    line = _one_line_error(err)
    assert code == 2 and "numerical rank" in line and "--clamp-k" in line
    code, err = _run(capsys, "--clamp-k", k="5", out=tmp_path / "b.json")
    assert code == 0, err
    doc = json.loads((tmp_path / "b.json").read_text())
    head = doc["layers"][-1]
    assert head["k"] == head["rank"] < 5 and any("clamped" in s for s in head["diagnostics"]["notes"])


def test_unreadable_checkpoint(capsys, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a torch file")
    code, err = _run(capsys, "--checkpoint", str(bad), out=tmp_path / "r.json")
    assert code == 2 and "unreadable" in _one_line_error(err)


def test_checkpoint_is_loaded(capsys, tmp_path):
    model = tiny_build("tiny_mlp", num_classes=3, seed=7)
    ck = tmp_path / "ck.pt"
    torch.save(
        {
            "model": model.state_dict(),
            "epoch": 4,
            "metrics": {"train_accuracy": 0.5},
            "model_name": "tiny_mlp",
            "build_kwargs": {"num_classes": 3, "seed": 7},
        },
        ck,
    )
    code, err = _run(capsys, "--checkpoint", str(ck), out=tmp_path / "r.json")
    assert code == 0, err
    doc = json.loads((tmp_path / "r.json").read_text())
    assert doc["run"]["epoch"] == 4 and doc["run"]["train_metrics"] == {"train_accuracy": 0.5}


def _counting(monkeypatch, fail_on=None, action=None):
    calls = []
    real = E.exact_curvatures

    def wrapped(model, loss_fn, inputs, targets, directions, **kw):
        calls.append(list(directions))
        if fail_on is not None and len(calls) == fail_on:
            action()
        return real(model, loss_fn, inputs, targets, directions, **kw)

    monkeypatch.setattr(E, "exact_curvatures", wrapped)
    return calls


def _interrupt():
    raise KeyboardInterrupt


def _sigterm():
    os.kill(os.getpid(), signal.SIGTERM)


@pytest.mark.parametrize("stop", [_interrupt, _sigterm], ids=["ctrl-c", "sigterm"])
def test_interrupt_then_resume_skips_finished_layers(capsys, tmp_path, monkeypatch, stop):
    out = tmp_path / "r.json"
    real = E.exact_curvatures
    _counting(monkeypatch, fail_on=2, action=stop)
    code, err = _run(capsys, "--method", "fwd_rev", out=out)  # one exact_curvatures call per layer
    assert code == 3 and "interrupted" in _one_line_error(err) and "resume" in err
    partial = json.loads(out.read_text())
    assert partial["complete"] is False and [r["name"] for r in partial["layers"]] == ["0"]
    first = partial["layers"][0]

    monkeypatch.setattr(E, "exact_curvatures", real)
    calls2 = _counting(monkeypatch)
    code, err = _run(capsys, "--method", "fwd_rev", out=out)
    assert code == 0, err
    assert calls2 == [["2"], ["4"]]  # layer "0" not recomputed
    doc = json.loads(out.read_text())
    assert doc["complete"] is True and [r["name"] for r in doc["layers"]] == ["0", "2", "4"]
    assert doc["layers"][0] == first  # the finished layer is carried over unchanged (same measured_at)
    assert doc["provenance"]["settings"]["resumed_layers"] == ["0"]


def test_auto_measures_all_layers_in_one_call(capsys, tmp_path, monkeypatch):
    """Under auto, every layer is measured in one exact_curvatures call (one shared backward, fwd_adj; the
    output adjoints would not pay for 3 outputs next to this k). The head is piecewise linear (tanh
    precedes the others): its residual part vanishes, h_gn = h_exact."""
    out = tmp_path / "r.json"
    calls = _counting(monkeypatch)
    code, err = _run(capsys, out=out)
    assert code == 0, err
    assert calls == [["0", "2", "4"]]
    doc = json.loads(out.read_text())
    methods = {r["name"]: r["curvature_method"] for r in doc["layers"]}
    assert methods == {"0": "fwd_adj", "2": "fwd_adj", "4": "fwd_adj"}
    head = doc["layers"][2]
    assert max(abs(g) for g in head["gn_gap"]) <= 1e-6 * max(abs(h) for h in head["h_exact"])
    assert any("piecewise linear" in s for s in head["diagnostics"]["notes"])
    assert C.GN_EXACT_LABEL not in methods.values()


def test_resume_with_different_settings_refused(capsys, tmp_path):
    out = tmp_path / "r.json"
    assert _run(capsys, out=out)[0] == 0
    code, err = _run(capsys, "--seed", "1", out=out)
    line = _one_line_error(err)
    assert code == 2 and "different settings" in line and "seed" in line


def test_real_entry_point_unknown_model_subprocess(tmp_path):
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "empirics",
            "measure",
            "--model",
            "nope",
            "--dataset",
            "digits",
            "--batch",
            "4",
            "--k",
            "2",
            "--out",
            str(tmp_path / "r.json"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=paths.ROOT,
    )
    assert r.returncode == 2
    line = _one_line_error(r.stderr)
    assert "unknown model 'nope'" in line


def test_a_file_with_the_old_monte_carlo_labels_is_not_resumed(capsys, tmp_path):
    """Files whose GN Kronecker factor drew its labels otherwise (before per-sample keyed generators) would mix
    two samplers in one result: such a partial file is refused, naming the setting."""
    out = tmp_path / "r.json"
    argv = ["measure", "--model", "tiny_mlp", "--dataset", "tiny", "--batch", "8", "--k", "2", "--no-progress"]
    assert cli.main(argv + ["--out", str(out)]) == 0
    doc = json.loads(out.read_text())
    assert doc["run"]["measure"]["kron_gn_labels"].startswith("per-sample generator keyed by")
    del doc["run"]["measure"]["kron_gn_labels"]
    out.write_text(json.dumps(dict(doc, complete=False, layers=doc["layers"][:1])))
    capsys.readouterr()
    assert cli.main(argv + ["--out", str(out)]) == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "different settings (measure.kron_gn_labels: missing vs 'per-sample generator keyed by" in line


def test_a_failing_layer_is_reported_and_the_others_kept(capsys, tmp_path, monkeypatch):
    """One layer raising (e.g. an op the exact methods cannot differentiate twice): exit 4, one line naming that
    layer and one summary line, no traceback; the other layers are measured and kept in a partial file; a rerun
    retries only the failed layer."""
    from empirics.measurement import runner

    real = runner.measure_one

    def broken(engine, plan, *a, **k):
        if plan.name == "2":
            raise RuntimeError("derivative for aten::weird_op is not implemented\nsecond line")
        return real(engine, plan, *a, **k)

    monkeypatch.setattr(runner, "measure_one", broken)
    out = tmp_path / "r.json"
    code, err = _run(capsys, out=out)
    lines = [line for line in err.splitlines() if line.strip()]
    assert code == 4 and "Traceback" not in err and len(lines) == 2, err
    assert lines[0] == "error: layer '2' failed: RuntimeError: derivative for aten::weird_op is not implemented"
    assert lines[1].startswith("1 of 3 layer(s) failed; 2 measured layer(s) kept")
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["complete"] is False and [r["name"] for r in doc["layers"]] == ["0", "4"]
    assert "weird_op" in doc["provenance"]["settings"]["failed_layers"]["2"]

    monkeypatch.setattr(runner, "measure_one", real)
    code, err = _run(capsys, out=out)
    assert code == 0, err
    done = json.loads(out.read_text())
    assert done["complete"] and [r["name"] for r in done["layers"]] == ["0", "2", "4"]
    assert done["layers"][0] == doc["layers"][0] and done["provenance"]["settings"]["resumed_layers"] == ["0", "4"]


def test_a_stop_that_an_op_wraps_in_its_own_error_is_an_interrupt_not_a_failed_layer(capsys, tmp_path, monkeypatch):
    """TorchScript ops turn a KeyboardInterrupt raised inside them into a RuntimeError: under Ctrl-C that error is
    the stop (exit 3, finished layers kept), not a failed layer (exit 4)."""
    from empirics.measurement import runner

    real = runner.measure_one

    def wrapped(engine, plan, *a, **k):
        if plan.name == "4":  # the last layer: no later layer would notice the stop
            try:
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(1.0)  # the handler raises here
            except KeyboardInterrupt:
                raise RuntimeError("The following operation failed in the TorchScript interpreter.") from None
        return real(engine, plan, *a, **k)

    monkeypatch.setattr(runner, "measure_one", wrapped)
    out = tmp_path / "r.json"
    code, err = _run(capsys, out=out)
    assert code == 3 and "interrupted" in _one_line_error(err), err
    doc = json.loads(out.read_text())
    assert doc["complete"] is False and [r["name"] for r in doc["layers"]] == ["0", "2"]


def test_a_stop_during_a_layer_write_counts_the_layer_that_reached_the_file(capsys, tmp_path, monkeypatch):
    """A Ctrl-C arriving while a layer's record is written is raised once the write ends: the file then holds
    that layer, and the one-line message counts it (it said one layer fewer when the count came after the write)."""
    from empirics.output import writer as W

    real = W.write_text_atomic
    writes = []

    def write_then_stop(path, text):
        real(path, text)
        writes.append(path)
        if len(writes) == 2:  # inside the writer's deferred block: the signal is raised when the block ends
            signal.raise_signal(signal.SIGINT)

    monkeypatch.setattr(W, "write_text_atomic", write_then_stop)
    out = tmp_path / "r.json"
    code, err = _run(capsys, "--method", "fwd_rev", out=out)
    line = _one_line_error(err)
    doc = json.loads(out.read_text())
    assert code == 3 and doc["complete"] is False and [r["name"] for r in doc["layers"]] == ["0", "2"]
    assert line.startswith("interrupted: 2 finished layer(s) kept"), line


def test_a_memory_budget_is_recorded_and_one_too_small_names_the_least(capsys, tmp_path):
    """``--max-memory``: parsed with units, recorded in the settings; a budget below what ``fwd_adj`` needs
    for the model fails its layers with that least (exit 4, one line per layer, nothing silently dropped)."""
    out = tmp_path / "r.json"
    code, err = _run(capsys, "--max-memory", "64M", out=out)
    assert code == 0, err
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["complete"] and doc["provenance"]["settings"]["max_memory"] == 64 * 2**20
    assert "fwd_adj" in {r["curvature_method"] for r in doc["layers"]}

    small = tmp_path / "small.json"
    code, err = _run(capsys, "--max-memory", "100", out=small)
    assert code == 4 and "Traceback" not in err, err
    assert "below what fwd_adj needs here" in err and "max_memory 100 B is below" in err
    doc = json.loads(small.read_text())
    assert doc["complete"] is False and doc["provenance"]["settings"]["failed_layers"]


def test_a_memory_budget_that_is_not_a_size_is_one_line_exit_2(capsys, tmp_path):
    with pytest.raises(SystemExit) as exc:
        _run(capsys, "--max-memory", "lots", out=tmp_path / "r.json")
    assert exc.value.code == 2
    line = _one_line_error(capsys.readouterr().err)
    assert "argument --max-memory: expected bytes, e.g. 512M or 2G, got 'lots'" in line
