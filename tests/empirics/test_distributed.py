"""Two gloo processes on 127.0.0.1 reproduce the single-process measurement in every field (float64).

Each process holds half of the batch; G, the curvature contributions, the finite-difference losses and the
Kronecker factor sums are all-reduced, rank 0's singular vectors are broadcast, and the Monte-Carlo labels of
the GN Kronecker factor are drawn per sample from a generator keyed by (seed, global sample index), so every
field of every record — σ, h_exact, h_gn, h_fd, the whole Kronecker sub-record including ``h_kron_gn`` and
``chi``, the fits, the notes — equals the single-process one up to summation order (only the timings, the
time stamp and the session stamp differ). The same workers run the CLI (``init_from_env`` as under torchrun):
rank 0 writes the file, which equals the single-process file; a file begun with two processes is resumed by
one with identical results. After the run no process-group thread is left alive (a live gloo thread makes the
process abort at exit at random), checked here and, repeatedly, by :func:`test_process_group_released_every_time`
(``python -m tests.empirics.stress_distributed`` runs this whole module many times).
"""

from __future__ import annotations

import json
import math
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from empirics import distributed as dist
from tests.cases import make_case, run_layers

TYPES = {"0": "conv", "3": "conv", "5": "head"}
KW = dict(layer_types=TYPES, k=3, gn=True, kron=True, fd=True, progress=False, method="fwd_rev", chunk_size=2)
CLI = ["measure", "--model", "tiny_mlp", "--dataset", "tiny", "--batch", "9", "--k", "2", "--no-progress"]
CLI += ["--method", "fwd_rev", "--chunk-size", "2"]
#: the only fields allowed to differ between two measurements of the same thing
VOLATILE = frozenset({"timing", "measured_at", "measured_with"})


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _env(rank: int, world: int, port: int) -> None:
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    _env(rank, world, port)
    torch.set_num_threads(1)
    assert dist.init_from_env("cpu") and dist.world_size() == world and dist.rank() == rank
    model, lf, x, y = make_case("conv_bn")
    sl = dist.shard(len(y))
    recs = run_layers(model, lf, x[sl], y[sl], **KW)
    torch.save(recs, os.path.join(out_dir, f"records_{rank}.pt"))

    from empirics import cli, measure_command
    from tests.cases import TINY_API as API

    measure_command._api = lambda: API
    code = cli.main(CLI + ["--out", os.path.join(out_dir, "cli.json")])  # shuts the process group down
    with open(os.path.join(out_dir, f"cli_rc_{rank}"), "w") as fh:
        json.dump({"code": code, "left": dist.backend_threads()}, fh)


def assert_same(a, b, where: str = "$", scale: float | None = None) -> None:
    """``a`` equals ``b`` in every field but :data:`VOLATILE`: same keys, lengths, strings, ints, bools and
    ``None``; floats within 1e-6 of the largest magnitude among their siblings (+1e-13), NaN where NaN."""
    if isinstance(a, dict):
        assert isinstance(b, dict) and set(a) == set(b), (where, sorted(set(a) ^ set(b)))
        for k in a:
            if k not in VOLATILE:
                assert_same(a[k], b[k], f"{where}.{k}")
    elif isinstance(a, (list, tuple)):
        assert isinstance(b, (list, tuple)) and len(a) == len(b), (where, a, b)
        nums = [abs(v) for v in list(a) + list(b) if isinstance(v, float) and math.isfinite(v)]
        for i, (u, v) in enumerate(zip(a, b, strict=True)):
            assert_same(u, v, f"{where}[{i}]", max(nums) if nums else None)
    elif isinstance(a, float) or isinstance(b, float):
        assert isinstance(a, (int, float)) and isinstance(b, (int, float)), (where, a, b)
        if not (math.isfinite(a) and math.isfinite(b)):
            assert str(a) == str(b), (where, a, b)  # the same NaN / ±inf on both sides
            return
        ref = max(abs(a), abs(b), scale or 0.0)
        assert abs(a - b) <= 1e-6 * ref + 1e-13, (where, a, b)
    else:
        assert a == b and type(a) is type(b), (where, a, b)


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return out


def _single(tmp_path, out_name: str, *extra: str) -> dict:
    from empirics import cli, measure_command
    from tests.cases import TINY_API as API

    old = measure_command._api
    measure_command._api = lambda: API
    try:
        code = cli.main(CLI + list(extra) + ["--out", str(tmp_path / out_name)])
    finally:
        measure_command._api = old
    assert code == 0
    return json.loads((tmp_path / out_name).read_text())


def test_two_processes_equal_single_process_in_every_field(two_process_run):
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, lf, x, y = make_case("conv_bn")
        single = run_layers(model, lf, x, y, **KW)
    finally:
        torch.set_num_threads(old)
    for rank in (0, 1):
        recs = torch.load(two_process_run / f"records_{rank}.pt", weights_only=False)
        assert [r["name"] for r in recs] == list(TYPES)
        for r, s in zip(recs, single, strict=True):
            assert r["k"] == s["k"] == 3 and "h_kron_gn" in r["kron"] and r["kron"]["gn"]["mode"] == "mc"
            assert_same(r, s, f"rank{rank}.{r['name']}")


def test_cli_under_two_processes_rank0_writes_the_single_process_file(two_process_run, tmp_path):
    for rank in (0, 1):
        status = json.loads((two_process_run / f"cli_rc_{rank}").read_text())
        assert status == {"code": 0, "left": []}, (rank, status)  # process group fully released
    doc = json.loads((two_process_run / "cli.json").read_text())
    assert doc["complete"] and doc["provenance"]["world_size"] == 2
    assert [p.name for p in two_process_run.iterdir() if p.name.startswith(".cli") or p.suffix == ".lock"] == []
    assert {r["measured_with"]["world_size"] for r in doc["layers"]} == {2}
    ref = _single(tmp_path, "single.json")
    assert_same(doc["run"], ref["run"], "run")
    assert_same(doc["layers"], ref["layers"], "layers")


def test_resume_across_process_counts_gives_identical_results(two_process_run, tmp_path):
    """A file begun by two processes (first layer) and finished by one equals a single-process file."""
    doc = json.loads((two_process_run / "cli.json").read_text())
    partial = dict(doc, complete=False, layers=doc["layers"][:1])
    (tmp_path / "resumed.json").write_text(json.dumps(partial))
    resumed = _single(tmp_path, "resumed.json")
    assert [r["measured_with"]["world_size"] for r in resumed["layers"]] == [2, 1, 1]
    assert resumed["layers"][0] == doc["layers"][0]
    assert len(resumed["provenance"]["earlier_parts"]) == 1
    ref = _single(tmp_path, "fresh.json")
    assert_same(resumed["layers"], ref["layers"], "layers")


def _lifecycle(rank: int, world: int, port: int, out_dir: str, rounds: int) -> None:
    """``rounds`` times on the same port: init → forward-over-reverse (the case that used to keep the gloo
    threads alive) → all-reduce → shutdown. Re-creating the group on the same port needs the previous one
    (and its store) fully released."""
    from torch.func import grad, jvp

    torch.set_num_threads(1)
    _env(rank, world, port)
    for r in range(rounds):
        dist.init_from_env("cpu")
        w = torch.full((3, 3), float(rank + 1), dtype=torch.float64)
        hv = jvp(grad(lambda t: (t**3).sum()), (w,), (torch.ones_like(w),))[1]  # 6 t
        assert torch.equal(dist.all_reduce_sum(hv), torch.full_like(w, 18.0))  # 6·1 + 6·2
        left = dist.shutdown()
        with open(os.path.join(out_dir, f"left_{rank}_{r}"), "w") as fh:
            json.dump(left, fh)


def test_process_group_released_every_time(tmp_path):
    rounds = 3
    mp.spawn(_lifecycle, args=(2, _free_port(), str(tmp_path), rounds), nprocs=2, join=True)
    for rank in (0, 1):
        for r in range(rounds):
            assert json.loads((tmp_path / f"left_{rank}_{r}").read_text()) == [], (rank, r)


DYING = """
import os, sys
import torch
import empirics.measurement.runner as measure
from empirics import cli, measure_command
from tests.cases import TINY_API as API

torch.set_num_threads(1)
measure_command._api = lambda: API
real = measure.measure_layers


def dying(*a, on_layer=None, **k):
    def hook(rec):
        on_layer(rec)
        if os.environ["RANK"] == "1":
            os._exit(7)  # rank 1 dies abruptly after the first layer

    return real(*a, on_layer=hook, **k)


measure.measure_layers = dying
sys.exit(cli.main(sys.argv[1:]))
"""


def test_a_worker_that_dies_stops_the_others_with_exit_3(tmp_path):
    """Rank 1 vanishes mid-run: rank 0's next collective fails; it keeps the finished layer and exits 3 with one
    line saying why (no traceback), so the run can be resumed."""
    import subprocess
    import sys

    from tests import paths

    out = tmp_path / "r.json"
    port = _free_port()
    procs = []
    for rank in (0, 1):
        env = dict(os.environ, PYTHONPATH=str(paths.ROOT), RANK=str(rank), LOCAL_RANK=str(rank), WORLD_SIZE="2")
        env.update(MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), OMP_NUM_THREADS="1")
        cmd = [sys.executable, "-c", DYING, *CLI, "--out", str(out)]
        procs.append(subprocess.Popen(cmd, cwd=paths.ROOT, env=env, stderr=subprocess.PIPE, text=True))
    (_, err0), (_, _) = (p.communicate(timeout=600) for p in procs)
    assert [p.returncode for p in procs] == [3, 7], err0
    lines = [line for line in err0.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("stopped: another process of this run stopped"), err0
    doc = json.loads(out.read_text())
    assert doc["complete"] is False and len(doc["layers"]) == 1
