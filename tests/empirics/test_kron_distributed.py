"""Kronecker factors under torch.distributed (2 gloo processes, each with half the batch) equal the
single-process ones: every sum over samples (factors, G, projection sums, counts) is all-reduced."""

from __future__ import annotations

import json

import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp
from torch import nn

from empirics.kron import collect_layer_io, kron_record
from tests.cases import ce

pytest.importorskip("empirics.distributed")


def _setup():
    torch.manual_seed(40)
    model = (
        nn.Sequential(nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
        .double()
        .eval()
    )
    x = torch.randn(13, 2, 8, 8, dtype=torch.float64)
    y = torch.randint(0, 5, (13,))
    return model, x, y


def _record(model, x, y, name):
    io = collect_layer_io(model, ce, x, y, name, gn_samples=1, gn_mode="exact", chunk_size=4)
    U, S, Vh = torch.linalg.svd(io.G, full_matrices=False)
    k = 3
    rec = kron_record(io, S[:k], U[:, :k], Vh[:k].T, torch.linspace(1.0, 0.5, k, dtype=torch.float64))
    return rec, io.n_samples


def _worker(rank: int, world: int, init_file: str, out: str) -> None:
    torch.set_num_threads(1)
    dist.init_process_group("gloo", init_method=f"file://{init_file}", rank=rank, world_size=world)
    try:
        from empirics.distributed import shard

        model, x, y = _setup()
        sl = shard(x.shape[0])
        recs = {name: _record(model, x[sl], y[sl], name) for name in ("0", "3")}
        if rank == 0:
            with open(out, "w") as fh:
                json.dump({n: {"rec": r, "B": b} for n, (r, b) in recs.items()}, fh)
    finally:
        dist.destroy_process_group()


def test_two_process_kron_equals_single_process(tmp_path):
    out = str(tmp_path / "rank0.json")
    mp.spawn(_worker, args=(2, str(tmp_path / "init"), out), nprocs=2, join=True)
    with open(out) as fh:
        got = json.load(fh)
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        model, x, y = _setup()
        for name in ("0", "3"):
            ref, B = _record(model, x, y, name)
            assert got[name]["B"] == B == 13
            g = got[name]["rec"]
            for key in ("h_kron_ef", "h_kron_gn", "h_sop", "h_ef", "omega", "chi", "rho_delta", "rho_A", "lambda_A"):
                assert g[key] == pytest.approx(ref[key], rel=1e-10), (name, key)
            for key in ("alpha_kron", "beta", "phi", "psi_omega"):
                assert g["exponents"][key] == pytest.approx(ref["exponents"][key], rel=1e-9, abs=1e-12)
            assert g["checks"]["G_hooks_vs_autograd"] < 1e-12
    finally:
        torch.set_num_threads(old)
