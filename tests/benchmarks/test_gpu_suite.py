"""``benchmarks/gpu_suite.sh`` end to end at toy size on the CPU (``--toy``): every step runs, agrees with the
paper's protocol, writes its JSON, and the summary table is printed. Timings are not checked."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import pytest

from tests import paths

STEPS = ("resnet18_b2048", "resnet50_224_memory", "resnet50_224_agree", "gpt2_paper_size")


@pytest.mark.skipif(shutil.which("bash") is None or shutil.which("timeout") is None, reason="needs bash and timeout")
def test_gpu_suite_runs_end_to_end_at_toy_size(tmp_path):
    env = {**os.environ, "PYTHON": sys.executable, "PYTHONPATH": str(paths.ROOT)}
    r = subprocess.run(
        ["bash", str(paths.ROOT / "benchmarks" / "gpu_suite.sh"), "--toy", "--out", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=900,
        env=env,
    )
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    assert "summary (" in r.stdout
    for step in STEPS:
        rec = json.loads((tmp_path / f"{step}.json").read_text())
        assert step in r.stdout
        if step == "resnet50_224_memory":
            assert rec["agreement"] is None  # the engine alone, all layers
        else:
            assert rec["agreement"]["pass"] is True, (step, rec["agreement"])
    assert json.loads((tmp_path / "resnet18_b2048.json").read_text())["targets"][0]["goal"] == 10


def test_gpu_suite_bad_argument_exit_2(tmp_path):
    r = subprocess.run(
        ["bash", str(paths.ROOT / "benchmarks" / "gpu_suite.sh"), "--fast"], capture_output=True, text=True, timeout=60
    )
    assert r.returncode == 2 and "unknown argument --fast" in r.stderr


def test_gpu_suite_a_failing_step_sets_exit_1(tmp_path):
    """Every step (and the summary) through an interpreter that fails: the script goes on, names each failed
    step with its exit status, and exits 1."""
    fake = tmp_path / "python"
    fake.write_text("#!/bin/sh\necho 'no such interpreter' >&2\nexit 3\n")
    fake.chmod(0o755)
    r = subprocess.run(
        ["bash", str(paths.ROOT / "benchmarks" / "gpu_suite.sh"), "--toy", "--out", str(tmp_path / "out")],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "PYTHON": str(fake)},
    )
    assert r.returncode == 1
    for step in STEPS:
        assert f"== {step}: exit status 3" in r.stderr
