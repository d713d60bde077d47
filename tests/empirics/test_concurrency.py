"""Two runs on one output: never both exit 0 with one result silently lost.

A second ``measure`` started while a first one writes ``--out`` exits 2 naming the first (pid and host), the
first finishes normally, and the file is the first one's; after it, a run with other settings is refused
(``exists with different settings``); the same holds for ``compare`` and ``run``. Runs sharing one folder but
writing different files do not block each other.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from empirics import cli
from tests import paths

pytestmark = pytest.mark.slow

ARGS = ["measure", "--model", "mlp", "--dataset", "digits", "--image-size", "16", "--width", "64", "--batch", "256"]
ARGS += ["--clamp-k", "--method", "fwd_rev", "--model-arg", "depth=3", "--no-progress"]
ENV = dict(os.environ, PYTHONPATH=str(paths.ROOT), OMP_NUM_THREADS="1")


def _run(capsys, argv: list[str]) -> tuple[int, list[str]]:
    try:
        code = cli.main(argv)
    except SystemExit as exc:
        code = exc.code
    return code, [line for line in capsys.readouterr().err.splitlines() if line.strip()]


def _holds(lock: Path, pid: int) -> bool:
    """Whether ``pid`` holds ``lock``: its name is written after the lock is taken, so a lock file that merely
    exists (created, not yet locked or named) does not count — stopping the run there would be a race."""
    try:
        return json.loads(lock.read_text()).get("pid") == pid
    except (OSError, ValueError, AttributeError):
        return False


def test_second_measure_on_the_same_out_is_refused_naming_the_first(tmp_path, capsys):
    out = tmp_path / "r.json"
    first = subprocess.Popen(
        [sys.executable, "-m", "empirics", *ARGS, "--k", "8", "--out", str(out)],
        cwd=paths.ROOT,
        env=ENV,
        stderr=subprocess.PIPE,
        text=True,
    )
    lock = tmp_path / "r.json.lock"
    t0 = time.monotonic()
    while not _holds(lock, first.pid) and first.poll() is None and time.monotonic() - t0 < 300:
        time.sleep(0.02)
    first.send_signal(signal.SIGSTOP)  # hold the first run while it holds the lock (no race on timing)
    try:
        assert first.poll() is None, "the first run ended before it could be raced"
        code, lines = _run(capsys, ARGS + ["--k", "4", "--out", str(out)])
    finally:
        first.send_signal(signal.SIGCONT)
    assert code == 2 and len(lines) == 1, lines
    assert f"another run is writing it (pid {first.pid} on {socket.gethostname()}" in lines[0], lines
    _, err = first.communicate(timeout=600)
    assert first.returncode == 0, err
    doc = json.loads(out.read_text())
    assert doc["complete"] and doc["run"]["k"] == 8  # the first run's file, complete
    code, lines = _run(capsys, ARGS + ["--k", "4", "--out", str(out)])
    assert code == 2 and "exists with different settings (k: 8 vs 4)" in lines[0], lines
    assert json.loads(out.read_text()) == doc  # untouched
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # no lock or temp file left


def test_different_outputs_in_one_folder_do_not_block_each_other(tmp_path, capsys):
    from tests.empirics.lock_holder import holding

    with holding(tmp_path / "a.json"):
        code, lines = _run(capsys, ARGS[:11] + ["--k", "2", "--no-progress", "--out", str(tmp_path / "b.json")])
    assert code == 0, lines
    assert json.loads((tmp_path / "b.json").read_text())["complete"] is True
