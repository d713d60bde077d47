"""Stopping ``python -m empirics measure`` at any moment: Ctrl-C or SIGTERM — while the command line is read,
while torch is imported, while the data load, mid-measurement, twice in a row — is exit status 3 with one line,
no ``KeyboardInterrupt`` traceback, the finished layers kept in a valid file, and the same command resumes;
also with ``--nproc 2`` and under ``torchrun`` (where the workers exit 3 and torchrun reports it).

Signals are sent after fixed delays counted from the program's first line (its handlers installed; a signal
during the interpreter's own start-up is Python's default behaviour) or once a layer is on disk; no assertion
depends on timing (a run that finished before its signal must then be complete, exit 0).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from empirics.schema import validate
from tests import paths

pytestmark = pytest.mark.slow

ARGS = ["--model", "mlp", "--dataset", "digits", "--image-size", "16", "--width", "512", "--batch", "256"]
ARGS += ["--k", "12", "--clamp-k", "--method", "fwd_rev", "--model-arg", "depth=3", "--no-progress"]
LAYERS = ["layers.0", "layers.1", "layers.2", "head"]
ENV = dict(os.environ, PYTHONPATH=str(paths.ROOT), OMP_NUM_THREADS="1")


def _start(out: Path, *extra: str, launcher: list[str] | None = None) -> subprocess.Popen:
    cmd = (launcher or [sys.executable, "-m", "empirics"]) + ["measure", *ARGS, *extra, "--out", str(out)]
    return subprocess.Popen(  # its own process group: frozen and continued together (launcher and workers)
        cmd, cwd=paths.ROOT, env=ENV, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True
    )


def _wait_for_handlers(p: subprocess.Popen, limit_s: float = 120) -> None:
    """Until the child has installed its own SIGTERM handler (``SigCgt`` in ``/proc/PID/status``): the first line of
    ``python -m empirics``. Before it the interpreter is still starting (runpy, site), where a signal is Python's own
    default behaviour, not the program's; on a loaded machine that window can last longer than any fixed delay."""
    t0 = time.monotonic()
    bit = 1 << (signal.SIGTERM - 1)
    while p.poll() is None and time.monotonic() - t0 < limit_s:
        try:
            status = Path(f"/proc/{p.pid}/status").read_text()
        except OSError:
            return
        caught = next((line.split()[1] for line in status.splitlines() if line.startswith("SigCgt:")), "0")
        if int(caught, 16) & bit:
            return
        time.sleep(0.005)


def _wait_for_layer(p: subprocess.Popen, out: Path, limit_s: float = 300, poll_s: float = 0.05) -> None:
    t0 = time.monotonic()
    while p.poll() is None and time.monotonic() - t0 < limit_s:
        try:
            if json.loads(out.read_text())["layers"]:
                return
        except (OSError, ValueError, KeyError):
            pass
        time.sleep(poll_s)


def _stop_after_a_layer(p: subprocess.Popen, out: Path, sig: signal.Signals) -> None:
    """Send ``sig`` once a layer is on disk and the run is not complete: the child is frozen (``SIGSTOP``) as soon
    as the layer is seen, the file read while it cannot move on, the signal queued, and the child continued — so
    the stop lands mid-measurement whatever the machine's load (the later layers take ~0.8 s here, the freeze of
    the child's process group follows the first write within one 10 ms poll). Skips in the practically unreachable
    case that the run completed first."""
    _wait_for_layer(p, out, poll_s=0.01)
    if p.poll() is not None:  # already ended (done, or failed: the caller's assertions report how)
        complete = out.exists() and json.loads(out.read_text())["complete"]
    else:  # not reaped yet, so its group exists (a zombie leader included): no lookup error below
        os.killpg(p.pid, signal.SIGSTOP)
        try:
            complete = json.loads(out.read_text())["complete"]
            if not complete:
                p.send_signal(sig)  # to the command itself, as before: a launcher forwards it to its workers
        finally:
            os.killpg(p.pid, signal.SIGCONT)
    if complete:
        p.communicate(timeout=600)
        pytest.skip("the run completed before it could be stopped after its first layer")


def _finish(p: subprocess.Popen) -> tuple[int, str]:
    _, err = p.communicate(timeout=600)
    return p.returncode, err


def _assert_clean_stop(code: int, err: str, out: Path) -> dict | None:
    assert "Traceback" not in err and "KeyboardInterrupt" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    if code == 0:  # finished before the signal arrived
        doc = json.loads(out.read_text())
        assert doc["complete"] is True
        return doc
    assert code == 3, err
    assert len(lines) == 1 and lines[0].startswith("interrupted:"), err
    if "before any work started" in lines[0]:
        assert not out.exists()
        return None
    assert "rerun the same command to resume" in lines[0], err
    if not out.exists():
        assert "no layer finished" in lines[0]
        return None
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["complete"] is False and [r["name"] for r in doc["layers"]] == LAYERS[: len(doc["layers"])]
    assert f"{len(doc['layers'])} finished layer(s) kept" in lines[0] or not doc["layers"]
    return doc


def _no_leftovers(folder: Path) -> None:
    names = [p.name for p in folder.iterdir()]
    assert not [n for n in names if n.endswith((".tmp", ".lock"))], names


@pytest.mark.parametrize(
    ("delay", "sig"),
    [(0.3, signal.SIGINT), (1.2, signal.SIGTERM), (2.5, signal.SIGINT), (5.0, signal.SIGTERM)],
    ids=["ctrl-c-0.3s", "sigterm-1.2s", "ctrl-c-2.5s", "sigterm-5s"],
)
def test_a_stop_at_any_moment_is_exit_3_without_traceback(tmp_path, delay, sig):
    out = tmp_path / "r.json"
    p = _start(out)
    _wait_for_handlers(p)  # the delays count from the program's first line
    time.sleep(delay)
    p.send_signal(sig)
    code, err = _finish(p)
    _assert_clean_stop(code, err, out)
    _no_leftovers(tmp_path)


def test_mid_measurement_stop_keeps_layers_and_the_same_command_resumes(tmp_path):
    out = tmp_path / "r.json"
    p = _start(out)
    _stop_after_a_layer(p, out, signal.SIGINT)
    code, err = _finish(p)
    doc = _assert_clean_stop(code, err, out)
    assert code == 3 and doc is not None and doc["layers"] and not doc["complete"], err
    kept = doc["layers"]
    code, err = _finish(_start(out))
    assert code == 0, err
    done = json.loads(out.read_text())
    assert done["complete"] is True and [r["name"] for r in done["layers"]] == LAYERS
    assert done["layers"][: len(kept)] == kept  # the finished layers are carried over, not remeasured
    sessions = {(r["measured_with"]["created"], r["measured_with"]["pid"]) for r in done["layers"]}
    assert len(sessions) == (2 if len(kept) < len(LAYERS) else 1)
    assert len(done["provenance"]["earlier_parts"]) == 1  # the first session's provenance is kept
    _no_leftovers(tmp_path)


def test_a_second_ctrl_c_is_ignored(tmp_path):
    out = tmp_path / "r.json"
    p = _start(out)
    _wait_for_layer(p, out)
    p.send_signal(signal.SIGINT)
    time.sleep(0.02)
    p.send_signal(signal.SIGINT)
    p.send_signal(signal.SIGTERM)
    code, err = _finish(p)
    _assert_clean_stop(code, err, out)


def test_nproc_2_ctrl_c_exit_3_and_resume_with_one_process(tmp_path):
    out = tmp_path / "r.json"
    p = _start(out, "--nproc", "2")
    _stop_after_a_layer(p, out, signal.SIGINT)
    code, err = _finish(p)
    doc = _assert_clean_stop(code, err, out)
    assert code == 3 and doc is not None and doc["layers"], err
    assert all(r["measured_with"]["world_size"] == 2 for r in doc["layers"])
    code, err = _finish(_start(out))
    assert code == 0, err
    assert json.loads(out.read_text())["complete"] is True


@pytest.mark.skipif(shutil.which("torchrun") is None, reason="torchrun not on PATH")
def test_under_torchrun_workers_stop_with_exit_3_and_keep_layers(tmp_path):
    """torchrun forwards Ctrl-C to its workers (SIGINT; SIGTERM for its own SIGTERM); ours save, print one line (rank 0) and exit 3. torchrun
    itself then raises its own SignalException (its code, not ours): no traceback from empirics is printed."""
    out = tmp_path / "r.json"
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    launcher = ["torchrun", "--nproc_per_node=2", f"--master_port={port}", "-m", "empirics"]
    p = _start(out, launcher=launcher)
    _stop_after_a_layer(p, out, signal.SIGINT)
    code, err = _finish(p)
    assert code != 0
    ours = [line for line in err.splitlines() if "empirics" in line and line.lstrip().startswith("File ")]
    assert not ours and "KeyboardInterrupt" not in err, err
    assert sum(line.startswith("interrupted:") for line in err.splitlines()) == 1, err
    doc = json.loads(out.read_text())
    validate(doc)
    assert doc["complete"] is False and doc["layers"]
    _no_leftovers(tmp_path)


def test_launcher_status_from_worker_statuses():
    from empirics.launch import exit_status as _status

    assert _status([0, 0], False) == 0
    assert _status([2, 2], False) == 2
    assert _status([3, 3], True) == 3 and _status([3, -signal.SIGTERM], True) == 3
    assert _status([3, 1], False) == 1  # a worker's own failure outranks "stopped because a peer stopped"
    assert _status([0, -signal.SIGKILL], False) == 1
    assert _status([3, 0], False) == 3
