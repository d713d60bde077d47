"""Shared cases of the claims tests: where the authors' files are, folders built from them (linked in place,
never copied into the project) with one file replaced, small synthetic ``sad-results/1`` files, and a runner
for ``python -m claims`` in-process or as a subprocess."""

from __future__ import annotations

import contextlib
import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from claims.bundle import FILE_KEYS
from claims.cli import main
from empirics.schema import SCHEMA_VERSION
from tests import paths

ROOT = paths.ROOT
PAPER = paths.PAPER if paths.PAPER.is_dir() else Path("/work/shared/paper-results")
RESULTS = paths.RESULTS
needs_paper = pytest.mark.skipif(not PAPER.is_dir(), reason="../shared/paper-results not present")


def paper_doc(key: str) -> Any:
    """A fresh parsed copy of the authors' file ``key`` (to mutate)."""
    return json.loads((PAPER / FILE_KEYS[key]).read_text())


def link_paper(dest: Path, skip: tuple[str, ...] = (), only: tuple[str, ...] | None = None) -> Path:
    """A results folder whose authors' files are symbolic links to the frozen ones (``skip``: leave out;
    ``only``: just these keys)."""
    dest.mkdir(parents=True, exist_ok=True)
    for key, name in FILE_KEYS.items():
        if key not in skip and (only is None or key in only):
            os.symlink(PAPER / name, dest / name)
    return dest


def paper_with(dest: Path, key: str, doc: Any = None, text: str | None = None, **kw: Any) -> Path:
    """The authors' folder (linked) with file ``key`` replaced by ``doc`` (JSON) or by the raw ``text``."""
    link_paper(dest, skip=(key,), **kw)
    (dest / FILE_KEYS[key]).write_text(text if text is not None else json.dumps(doc))
    return dest


def layer(name: str, typ: str, alpha: float, k: int = 20, seed: int = 0, gamma: float = 1.0) -> dict:
    """A synthetic sad-results/1 layer record: σ_k = k^(−γ), h_k = σ_k^α with 2 % log-normal noise."""
    rng = np.random.default_rng(seed)
    sigma = [float(j**-gamma) for j in range(1, k + 1)]
    h = [float(s**alpha * math.exp(0.02 * rng.standard_normal())) for s in sigma]
    return {"name": name, "layer_type": typ, "shape": [64, 27], "k": k, "sigma": sigma, "h_exact": h}


def project_file(layers: list[dict], arch: str = "resnet18", complete: bool = True, k: int = 20) -> dict:
    return {
        "schema": SCHEMA_VERSION,
        "complete": complete,
        "run": {
            "model": f"{arch}_cifar",
            "architecture": arch,
            "dataset": "digits",
            "dataset_kind": "real",
            "n_classes": 10,
            "task": "classification",
            "batch_size": 512,
            "k": k,
            "dtype": "float64",
            "device": "cpu",
            "seed": 0,
        },
        "provenance": {"created": "2026-01-01T00:00:00Z"},
        "layers": layers,
    }


def write(folder: Path, docs: dict[str, Any]) -> Path:
    """Write ``{file name: document (or raw text)}`` into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, doc in docs.items():
        (folder / name).write_text(doc if isinstance(doc, str) else json.dumps(doc))
    return folder


def verify(*args: str) -> tuple[int, str, str]:
    """``python -m claims`` in this process: (exit status, stdout, stderr). Any exception other than the
    handled input errors propagates (a traceback is a test failure)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def run_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """``python -m claims`` as a subprocess of this checkout."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    return subprocess.run(
        [sys.executable, "-m", "claims", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=timeout
    )


def one_line_error(rc: int, err: str) -> str:
    """Assert the unusable-input contract (exit 2, exactly one line on stderr, no traceback); return the line."""
    lines = err.strip().splitlines()
    assert rc == 2, (rc, err)
    assert len(lines) == 1 and lines[0].startswith("error: "), err
    assert "Traceback" not in err
    return lines[0]


def replicated(
    run_name: str,
    layers_of: Any,
    seeds: int = 3,
    batches: int = 5,
    arch: str = "resnet18",
    epoch: int | None = None,
    experiment: dict | None = None,
) -> dict[str, dict]:
    """Files of one network measured on ``seeds`` × ``batches`` cells: ``layers_of(seed, batch)`` gives each
    cell's layer records; the files share ``run.run_name`` (and ``epoch``), differing in seed and batch_index."""
    out = {}
    for s in range(seeds):
        for bi in range(batches):
            doc = project_file(layers_of(s, bi), arch=arch)
            doc["run"].update(run_name=run_name, seed=s, batch_index=bi)
            if epoch is not None:
                doc["run"]["epoch"] = epoch
            if experiment is not None:
                doc["run"]["experiment"] = experiment
            out[f"{run_name}{'' if epoch is None else f'_e{epoch}'}_s{s}_b{bi}.json"] = doc
    return out
