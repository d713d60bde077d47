"""Two gloo processes on 127.0.0.1 reproduce the single-process measurement (float64, <= 1e-6 relative).

Each process holds half of the batch; G, the curvature contributions, the finite-difference losses and
the Kronecker factor sums are all-reduced, rank 0's singular vectors are broadcast. The same workers also
run the CLI (``init_from_env`` as under torchrun): only rank 0 writes the results file.
"""

from __future__ import annotations

import json
import os
import socket

import pytest
import torch
import torch.multiprocessing as mp

from empirics import distributed as dist
from tests.cases import make_case, run_layers

TYPES = {"0": "conv", "3": "conv", "5": "head"}
KW = dict(layer_types=TYPES, k=3, gn=True, kron=True, fd=True, progress=False)
FIELDS = ("sigma", "h_exact", "h_gn", "h_fd")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _worker(rank: int, world: int, port: int, out_dir: str) -> None:
    os.environ.update(
        RANK=str(rank), WORLD_SIZE=str(world), LOCAL_RANK=str(rank), MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port)
    )
    torch.set_num_threads(1)
    assert dist.init_from_env("cpu") and dist.world_size() == world and dist.rank() == rank
    model, lf, x, y = make_case("conv_bn")
    sl = dist.shard(len(y))
    recs = run_layers(model, lf, x[sl], y[sl], **KW)
    torch.save(recs, os.path.join(out_dir, f"records_{rank}.pt"))

    from empirics import cli
    from tests.cases import TINY_API as API

    cli._api = lambda: API
    code = cli.main(
        ["measure", "--model", "tiny_mlp", "--dataset", "tiny", "--batch", "9", "--k", "2", "--no-progress",
         "--out", os.path.join(out_dir, "cli.json")]
    )  # fmt: skip
    with open(os.path.join(out_dir, f"cli_rc_{rank}"), "w") as fh:
        fh.write(str(code))


def _rel(a, b) -> float:
    a, b = torch.tensor(a, dtype=torch.float64), torch.tensor(b, dtype=torch.float64)
    return float(((a - b).abs() / b.abs().max()).max())


@pytest.fixture(scope="module")
def two_process_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("dist")
    mp.spawn(_worker, args=(2, _free_port(), str(out)), nprocs=2, join=True)
    return out


def test_two_processes_equal_single_process(two_process_run):
    model, lf, x, y = make_case("conv_bn")
    single = run_layers(model, lf, x, y, **KW)
    for rank in (0, 1):
        recs = torch.load(two_process_run / f"records_{rank}.pt", weights_only=False)
        assert [r["name"] for r in recs] == list(TYPES)
        for r, s in zip(recs, single, strict=True):
            assert r["k"] == s["k"] == 3 and r["rank"] == s["rank"]
            for f in FIELDS:
                assert _rel(r[f], s[f]) <= 1e-6, (rank, r["name"], f, r[f], s[f])
            assert _rel(r["h_exact"], s["h_exact"]) <= 1e-12  # in practice: summation order only
            for f in ("h_kron_ef", "omega", "rho_A"):
                assert _rel(r["kron"][f], s["kron"][f]) <= 1e-6, (r["name"], f)


def test_cli_under_two_processes_rank0_writes(two_process_run, capsys):
    assert [(two_process_run / f"cli_rc_{r}").read_text() for r in (0, 1)] == ["0", "0"]
    doc = json.loads((two_process_run / "cli.json").read_text())
    assert doc["complete"] and doc["provenance"]["settings"]["world_size"] == 2
    assert [p.name for p in two_process_run.iterdir() if p.name.startswith(".cli")] == []  # no stray temp files

    from empirics import cli
    from tests.cases import TINY_API as API

    single = two_process_run / "single.json"
    old = cli._api
    cli._api = lambda: API
    try:
        code = cli.main(
            ["measure", "--model", "tiny_mlp", "--dataset", "tiny", "--batch", "9", "--k", "2", "--no-progress",
             "--out", str(single)]
        )  # fmt: skip
    finally:
        cli._api = old
    assert code == 0
    ref = json.loads(single.read_text())
    for a, b in zip(doc["layers"], ref["layers"], strict=True):
        for f in FIELDS[:3]:
            assert _rel(a[f], b[f]) <= 1e-6, (a["name"], f)
