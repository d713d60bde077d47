#!/usr/bin/env python
r"""torch.compile on the engine's per-direction kernels (issue 17, item 4): eager vs compiled, one process.

The engine's per-direction work is a handful of row-batched kernels (rows = directions of one group). This
script writes them as plain functions of tensors — the same arithmetic as the engine — and times each
eager and under ``torch.compile`` (inductor, ``dynamic=False``; the compile itself is excluded and reported
separately), interleaved, median of ``--repeats`` after a warm-up, process CPU time (``--threads 1``).
Each compiled result is checked against the eager one (max relative difference).

* ``fwd_adj_tanh_layer`` — the whole pass-2 work of ``fwd_adj`` for the middle layer of ``tanh_mlp``
  (Linear W×W between two tanh, then the head and cross-entropy): the tangent injected at the layer's output
  from the rank-one factors :math:`\dot z=(y_1w)\,u`, the tanh tangent and source
  :math:`\langle\lambda,\tanh''(z)\,\dot z^2\rangle`, the head's tangent and the cross-entropy source
  :math:`\dot f^\top(\mathrm{diag}\,p-pp^\top)\dot f/B` (:mod:`empirics.curvature.tangent_rules`,
  :mod:`empirics.curvature.injection`); the adjoint :math:`\lambda` is given (the shared backward);
* ``fwd_adj_tanh_source`` — only the elementwise part of it (tanh tangent + source), where fusion could pay;
* ``output_adjoint_linear`` — the output-adjoint form's per-direction step for a Linear layer
  (:mod:`empirics.curvature.adjoint`): :math:`D\star a` from the factors and the contraction with the
  output adjoints :math:`\delta_c` of every class.

The engine itself runs its per-direction kernels op by op under a ``TorchDispatchMode`` (which Dynamo does
not trace), so what is measured here is the best a compiled kernel could do, not a compiled engine.

    python benchmarks/compile_trial.py --threads 1 --repeats 9
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import torch
from torch.nn import functional as F

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from empirics.curvature.tangents import qsum  # noqa: E402

Kernel = Callable[..., torch.Tensor]


def fwd_adj_tanh_source(z2dot, y2, lam2):
    """ẏ = (1 − y²) ż and the per-row source ⟨λ, −2y(1 − y²) ż²⟩ (tanh), as the engine's rule forms them
    (:mod:`empirics.curvature.tangent_rules`: φ', φ'' without the row dimension, then
    :func:`~empirics.curvature.tangents.qsum`)."""
    d1 = 1 - y2 * y2
    d2 = -2 * y2 * d1
    return d1 * z2dot, qsum(lam2 * d2, z2dot, z2dot)


def fwd_adj_tanh_layer(y1, u, w, y2, lam2, W4, p, n_global):
    """Rows of h for directions D_r = u_r w_rᵀ of the middle tanh layer (tangent from the factors)."""
    s = y1 @ w.T  # (B, R)
    z2dot = s.T.unsqueeze(-1) * u.unsqueeze(1)  # (R, B, W)
    y2dot, h = fwd_adj_tanh_source(z2dot, y2, lam2)
    fdot = y2dot @ W4.T  # (R, B, C)
    pf = (p * fdot).sum(-1)
    gn = ((p * fdot * fdot).sum(-1) - pf * pf).sum(-1) / n_global
    return h + gn


def output_adjoint_linear(a, u, w, deltas):
    """Jv for every direction, sample and class: (D ⋆ a) from the factors contracted with δ_c (c, B, m)."""
    s = a @ w.T  # (B, R)
    T = s.T.unsqueeze(-1) * u.unsqueeze(1)  # (R, B, m)
    return torch.einsum("cbm,rbm->rbc", deltas, T)


def _case_inputs(name: str, a: argparse.Namespace, gen: torch.Generator, dt) -> tuple:
    B, W, R, C = a.batch, a.width, a.rows, a.classes

    def rnd(*shape):
        return torch.randn(*shape, generator=gen, dtype=torch.float64).to(dt)

    u = F.normalize(rnd(R, W), dim=1)
    w = F.normalize(rnd(R, W), dim=1)
    y2 = torch.tanh(rnd(B, W))
    if name == "fwd_adj_tanh_source":
        return (rnd(R, B, W), y2, rnd(B, W) / B)
    if name == "fwd_adj_tanh_layer":
        p = torch.softmax(rnd(B, C), -1)
        return (torch.tanh(rnd(B, W)), u, w, y2, rnd(B, W) / B, rnd(C, W) / W**0.5, p, float(B))
    return (rnd(B, W), u, w, rnd(C, B, W))


KERNELS: dict[str, Kernel] = {
    "fwd_adj_tanh_layer": fwd_adj_tanh_layer,
    "fwd_adj_tanh_source": fwd_adj_tanh_source,
    "output_adjoint_linear": output_adjoint_linear,
}


def _first(out):
    return out[0] if isinstance(out, tuple) else out


def _rel_diff(x: torch.Tensor, y: torch.Tensor) -> float:
    scale = float(y.abs().max()) or 1.0
    return float((x - y).abs().max()) / scale


def trial(name: str, a: argparse.Namespace) -> dict:
    """Time kernel ``name`` eager and ``torch.compile``-d on the same inputs; its record: times and max rel. diff."""
    dt = {"float64": torch.float64, "float32": torch.float32}[a.dtype]
    args = _case_inputs(name, a, torch.Generator().manual_seed(0), dt)
    eager = KERNELS[name]
    c0 = time.process_time()
    compiled = torch.compile(eager, dynamic=False)
    ref, got = eager(*args), compiled(*args)  # the first compiled call compiles
    compile_s = time.process_time() - c0
    diff = max(_rel_diff(_first(g), _first(r)) for g, r in [(got, ref)])
    fns = {"eager": lambda: eager(*args), "compiled": lambda: compiled(*args)}
    for fn in fns.values():
        fn()
    cpu: dict[str, list[float]] = {k: [] for k in fns}
    for _ in range(a.repeats):
        for k, fn in fns.items():
            t0 = time.process_time()
            for _ in range(a.inner):
                fn()
            cpu[k].append((time.process_time() - t0) / a.inner)
    med = {k: statistics.median(v) for k, v in cpu.items()}
    return {
        "kernel": name,
        "eager_ms": med["eager"] * 1e3,
        "compiled_ms": med["compiled"] * 1e3,
        "speedup": med["eager"] / med["compiled"],
        "per_repeat_speedup": [e / c for e, c in zip(cpu["eager"], cpu["compiled"], strict=True)],
        "compile_s": compile_s,
        "max_rel_diff": diff,
    }


def main(argv: list[str] | None = None) -> int:
    """Command line: run the trial of every kernel and print eager vs compiled times; returns the exit status."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batch", type=int, default=512)
    p.add_argument("--width", type=int, default=256)
    p.add_argument("--rows", type=int, default=20, help="directions per group (the engine's rows)")
    p.add_argument("--classes", type=int, default=10)
    p.add_argument("--dtype", choices=("float64", "float32"), default="float64")
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--repeats", type=int, default=9)
    p.add_argument("--inner", type=int, default=5, help="calls per timed sample")
    p.add_argument("--only", choices=tuple(KERNELS), default=None)
    p.add_argument("--json", default=None)
    a = p.parse_args(argv)
    if min(a.batch, a.width, a.rows, a.classes, a.threads, a.repeats, a.inner) < 1:
        p.error("sizes, --threads, --repeats and --inner must be ≥ 1")
    torch.set_num_threads(a.threads)
    load0 = os.getloadavg()
    rows = [trial(n, a) for n in ([a.only] if a.only else KERNELS)]
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo") if ln.startswith("model name")), "?")
    print(
        f"machine: {cpu} | torch {torch.__version__} | threads {a.threads} | load {load0[0]:.2f} (start) "
        f"{os.getloadavg()[0]:.2f} (end)"
    )
    print(
        f"sizes: B={a.batch} width={a.width} rows={a.rows} classes={a.classes} {a.dtype}; CPU time, median of {a.repeats}"
    )
    for r in rows:
        sp = r["per_repeat_speedup"]
        print(
            f"  {r['kernel']:<22} eager {r['eager_ms']:8.3f} ms  compiled {r['compiled_ms']:8.3f} ms  "
            f"speed-up {r['speedup']:.2f}x ({min(sp):.2f}-{max(sp):.2f})  compile {r['compile_s']:.1f} s  "
            f"max rel. diff {r['max_rel_diff']:.1e}"
        )
    if a.json:
        Path(a.json).write_text(
            json.dumps({"args": vars(a), "load_start": load0, "cpu": cpu, "kernels": rows}, indent=1)
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
