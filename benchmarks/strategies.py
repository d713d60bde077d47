#!/usr/bin/env python
r"""Compare exact-curvature strategies on one workload, to guide the engine's choices (not the engine).

Strategies, all computing :math:`h_k=v_k^\top Hv_k` for every layer on the same directions:

* ``paper``          the paper's protocol (reference; ``empirics.curvature.paper_protocol_curvatures``);
* ``engine``         ``exact_curvatures`` as committed (its own method choice and chunking);
* ``engine_fwd_fwd`` / ``engine_fwd_rev``  ``exact_curvatures(method=...)``, one chunk of all k directions;
* ``rev_rev``        per layer: forward, ``g = autograd.grad(L, W, create_graph=True)``, then all k
                     :math:`Hv_k` from ONE batched backward ``autograd.grad(g, W, grad_outputs=V,
                     is_grads_batched=True)`` (the paper's protocol with its direction loop vmapped);
* ``rev_rev_shared`` the same with one forward and one ``create_graph`` backward for all layers.

Each is timed interleaved (median of ``--repeats`` after a warm-up; wall and process CPU time) and checked
against ``paper`` (max relative difference of h_k). Scratch-grade: it prints, it does not assert.

    python benchmarks/strategies.py --model smallconv --batch 32 --k 8 --threads 1
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks import methods  # noqa: E402
from benchmarks.workloads import LAYER_SETS, build_workload, make_directions, select_layers  # noqa: E402


def rev_rev(work, dirs, shared: bool = False) -> dict[str, torch.Tensor]:
    """:math:`Hv_k` for a layer's k directions from one batched double backward (``is_grads_batched``)."""
    from empirics.layers import get_module

    names = list(dirs)
    ws = [get_module(work.model, n).weight for n in names]
    out = {}
    with torch.enable_grad():
        if shared:
            loss = work.loss_fn(work.model(work.inputs), work.targets).mean()
            gs = torch.autograd.grad(loss, ws, create_graph=True)
        for i, n in enumerate(names):
            if shared:
                g = gs[i]
            else:
                loss = work.loss_fn(work.model(work.inputs), work.targets).mean()
                (g,) = torch.autograd.grad(loss, ws[i], create_graph=True)
            V = dirs[n]
            keep = shared and i < len(names) - 1
            (hv,) = torch.autograd.grad(g, ws[i], grad_outputs=V, is_grads_batched=True, retain_graph=keep)
            out[n] = (hv * V).flatten(1).sum(1).detach()
    return out


def main(argv=None) -> int:
    """Command-line entry: time every strategy of the module docstring on one workload and print their costs per
    direction in gradient-equivalents and their largest disagreement with the paper's protocol."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smallconv")
    p.add_argument("--width", type=int, default=None)
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--context", type=int, default=None)
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--layers", choices=LAYER_SETS, default="all")
    p.add_argument("--threads", type=int, default=None)
    p.add_argument("--repeats", type=int, default=5)
    a = p.parse_args(argv)
    if a.threads:
        torch.set_num_threads(a.threads)
    w = build_workload(a.model, batch=a.batch, width=a.width, image_size=a.image_size, context=a.context)
    d, info = make_directions(w, select_layers(w.model, a.layers), a.k)
    K = max(v["k"] for v in info.values())
    fns = {
        "gradient": lambda: [methods.plain_gradient(w) for _ in range(10)],
        "paper": lambda: methods.paper_curvatures(w, d),
        "engine": lambda: methods.engine_curvatures(w, d),
        "engine_fwd_fwd": lambda: methods.engine_curvatures(w, d, method="fwd_fwd", chunk_size=K),
        "engine_fwd_rev": lambda: methods.engine_curvatures(w, d, method="fwd_rev", chunk_size=K),
        "rev_rev": lambda: rev_rev(w, d),
        "rev_rev_shared": lambda: rev_rev(w, d, shared=True),
    }
    res = {n: f() for n, f in fns.items()}  # warm-up
    wall: dict[str, list[float]] = {n: [] for n in fns}
    cpu: dict[str, list[float]] = {n: [] for n in fns}
    for _ in range(a.repeats):
        for n, f in fns.items():
            c0, t0 = time.process_time(), time.perf_counter()
            res[n] = f()
            wall[n].append(time.perf_counter() - t0)
            cpu[n].append(time.process_time() - c0)
    nd = sum(v["k"] for v in info.values())
    gw, gc = statistics.median(wall["gradient"]) / 10, statistics.median(cpu["gradient"]) / 10
    pw, pc = statistics.median(wall["paper"]), statistics.median(cpu["paper"])
    print(
        f"{a.model} B={a.batch} k={a.k} threads={torch.get_num_threads()} layers={len(d)} directions={nd}; "
        f"gradient {gw * 1e3:.2f} ms wall, {gc * 1e3:.2f} ms CPU"
    )
    print(
        f"  {'strategy':<16} {'wall ms':>10} {'x paper':>8} {'CPU ms':>10} {'x paper':>8} {'grad-eq/dir':>12} {'max rel':>9}"
    )
    for n in fns:
        if n == "gradient":
            continue
        mw, mc = statistics.median(wall[n]), statistics.median(cpu[n])
        rel = methods.max_relative_difference(res["paper"], res[n])["max_rel"]
        print(
            f"  {n:<16} {mw * 1e3:10.1f} {pw / mw:8.2f} {mc * 1e3:10.1f} {pc / mc:8.2f} {mc / nd / gc:12.2f} {rel:9.1e}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
