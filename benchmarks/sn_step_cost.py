#!/usr/bin/env python
r"""Benchmark: the cost of one optimizer step of Spectral Newton vs Muon vs AdamW, in one process and one run.

For one zoo model and one fixed random batch, the gradients of all parameters are computed once; each
optimizer gets its own copy of the model with those gradients, and only ``optimizer.step()`` is timed
(``torch.cuda.synchronize`` before and after on CUDA; median of ``--repeats`` after one warm-up step; the
optimizers interleaved within each repeat so that load changes hit all of them alike; a sample shorter than
about 50 ms is the mean of back-to-back steps). Optimizers (``--optimizers``, comma-separated):

* ``sn``        :class:`empirics.optim.SpectralNewton`, α per layer type (conv 2 → Cholesky; head 1.44 → eigh);
* ``sn_alpha2`` the same with α = 2 everywhere (the paper's "SN": every layer by Cholesky);
* ``sn_eigh``   α per layer type, every layer through the Gram eigendecomposition (``method="eigh"``);
* ``muon``      :class:`empirics.optim.Muon` = ``torch.optim.Muon``'s step (5 quintic Newton–Schulz steps in
  bfloat16, as torch and the original do) on every matrix incl. conv views;
* ``muon_fp32`` the same with Newton–Schulz in the parameters' dtype (``ns_dtype=None``);
* ``adamw``     ``torch.optim.AdamW`` (torch's default implementation) on every parameter.

SN and Muon both update their non-matrix parameters with the same internal AdamW and run the same
non-finite-gradient check. Printed: per-step time of each (median, range), SN/Muon and SN/AdamW ratios
(the issue's target: SN ≤ 1.2× Muon; the paper reports ≈ 1.8×), machine and load. Exit status 0.

Example (the CPU figures of benchmarks/README.md)::

    OMP_NUM_THREADS=1 python benchmarks/sn_step_cost.py --model resnet18_cifar --width 16 --repeats 9 --threads 1
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402
from torch import nn  # noqa: E402

from benchmarks import timing  # noqa: E402
from empirics.optim import Muon, SpectralNewton  # noqa: E402
from empirics.zoo import MODEL_NAMES, build_model  # noqa: E402

DTYPES = {"float32": torch.float32, "float64": torch.float64}
OPTIMIZERS = ("sn", "sn_alpha2", "sn_eigh", "muon", "muon_fp32", "adamw")


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the benchmark's command line (``--optimizers`` split into a list and checked against the known names)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="resnet18_cifar", choices=MODEL_NAMES)
    p.add_argument("--width", type=int, default=16, help="zoo width knob (d_model for gpt2*)")
    p.add_argument("--image-size", type=int, default=32)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float32")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--repeats", type=int, default=7)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--optimizers", default="sn,sn_alpha2,muon,muon_fp32,adamw")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--json", default=None, help="write all numbers to this JSON file")
    a = p.parse_args(argv)
    a.optimizers = [o.strip() for o in a.optimizers.split(",") if o.strip()]
    bad = [o for o in a.optimizers if o not in OPTIMIZERS]
    if bad:
        p.error(f"unknown optimizer(s) {', '.join(bad)}; choose from {', '.join(OPTIMIZERS)}")
    if a.repeats < 1:
        p.error("--repeats must be >= 1")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device available")
    return a


def _model(a: argparse.Namespace) -> nn.Module:
    size = {"d_model": a.width} if a.model.startswith("gpt2") else {"width": a.width}
    return build_model(
        a.model, num_classes=None if a.model.startswith("gpt2") else a.num_classes, image_size=a.image_size, **size
    )


def _gradients(a: argparse.Namespace, model: nn.Module, device: torch.device) -> None:
    g = torch.Generator().manual_seed(0)
    if a.model.startswith("gpt2"):
        ctx = model.sad_build_kwargs.get("context", 64) if hasattr(model, "sad_build_kwargs") else 64
        x = torch.randint(0, 256, (a.batch, min(ctx, 64)), generator=g).to(device)
        out = model(x)
        loss = nn.functional.cross_entropy(out.flatten(0, 1), torch.roll(x, -1, 1).flatten())
    else:
        x = torch.randn(a.batch, 3, a.image_size, a.image_size, generator=g).to(device, DTYPES[a.dtype])
        y = torch.randint(0, a.num_classes, (a.batch,), generator=g).to(device)
        loss = nn.functional.cross_entropy(model(x), y)
    loss.backward()


def _build(name: str, model: nn.Module, lr: float) -> torch.optim.Optimizer:
    if name == "sn":
        return SpectralNewton.for_model(model, lr=lr)
    if name == "sn_alpha2":
        return SpectralNewton(model, lr, alpha=2.0)
    if name == "sn_eigh":
        return SpectralNewton.for_model(model, lr=lr, method="eigh")
    if name == "muon":
        return Muon(model, lr)
    if name == "muon_fp32":
        return Muon(model, lr, ns_dtype=None)
    return torch.optim.AdamW(model.parameters(), lr=lr)


def _shapes(opt: torch.optim.Optimizer) -> dict[str, int]:
    if not isinstance(opt, (SpectralNewton, Muon)):
        return {}
    out: dict[str, int] = {}
    for g in opt.matrix_groups:
        p = g["params"][0]
        key = f"{p.shape[0]}x{p[0].numel()}"
        out[key] = out.get(key, 0) + 1
    return out


def run(a: argparse.Namespace) -> dict:
    """Time one ``optimizer.step()`` of each requested optimizer on copies of one model with the same gradients.

    Returns the JSON-ready record: settings, machine, code version, parameter count, the matrix shapes the
    matrix optimizers see, and per optimizer the wall-clock and CPU step times (median, min, max in seconds).
    Raises ``RuntimeError`` when a parameter was left without a gradient."""
    if a.threads:
        torch.set_num_threads(a.threads)
    device = torch.device(a.device)
    base = _model(a).to(device, DTYPES[a.dtype])
    _gradients(a, base, device)
    opts = {}
    for name in a.optimizers:
        model = copy.deepcopy(base)
        for p, q in zip(model.parameters(), base.parameters(), strict=True):
            p.grad = q.grad.clone()
        opts[name] = _build(name, model, a.lr)
    missing = [n for n, o in opts.items() for g in o.param_groups for p in g["params"] if p.grad is None]
    if missing:
        raise RuntimeError(f"parameters without gradients in {sorted(set(missing))}")
    steps = {name: opt.step for name, opt in opts.items()}
    n_inner = {}
    for name, fn in steps.items():  # warm-up (excluded), then the inner count for ≈ 50 ms samples
        fn()
        t1 = min(timing.time_call(fn, device)[0] for _ in range(2))
        n_inner[name] = int(min(50, max(1, round(0.05 / max(t1, 1e-6)))))
    wall: dict[str, list[float]] = {n: [] for n in steps}
    cpu: dict[str, list[float]] = {n: [] for n in steps}
    for _ in range(a.repeats):
        for name, fn in steps.items():
            k = n_inner[name]
            dt, dc, _ = timing.time_call(lambda fn=fn, k=k: timing.repeat_mean(fn, k), device)
            wall[name].append(dt / k)
            cpu[name].append(dc / k)
    n_matrix = {n: len(o.matrix_groups) for n, o in opts.items() if isinstance(o, (SpectralNewton, Muon))}
    return {
        "settings": {k: v for k, v in vars(a).items() if k != "json"},
        "machine": timing.machine_info(device),
        "code": timing.code_version(),
        "n_params": sum(p.numel() for p in base.parameters()),
        "n_matrix_params": n_matrix,
        "matrix_shapes": _shapes(
            next((o for o in opts.values() if isinstance(o, (SpectralNewton, Muon))), opts[a.optimizers[0]])
        ),
        "n_inner": n_inner,
        "wall": {n: timing.summary(v) for n, v in wall.items()},
        "cpu": {n: timing.summary(v) for n, v in cpu.items()},
    }


def _ms(s: float) -> str:
    return f"{1e3 * s:,.2f} ms"


def report(r: dict) -> None:
    """Print a :func:`run` record: the per-step times of each optimizer and the SN/Muon and SN/AdamW ratios."""
    m, s = r["machine"], r["settings"]
    print(
        f"model {s['model']} (width {s['width']}), {s['dtype']}, {s['device']}; {r['n_params']:,} parameters; "
        f"matrix shapes {r['matrix_shapes']}"
    )
    print(
        f"machine: {m['cpu']}, {m['cpu_cores']} cores, torch {m['torch']} ({m['torch_threads']} threads), "
        f"load {m.get('load_avg_1_5_15', ['?'])[0]}; commit {r['code']['commit']}"
    )
    print(f"{'optimizer':<11} {'step (median)':>15} {'range':>25} {'CPU time':>12}")
    for n, w in r["wall"].items():
        c = r["cpu"][n]["median_s"]
        print(f"{n:<11} {_ms(w['median_s']):>15} {_ms(w['min_s']) + ' – ' + _ms(w['max_s']):>25} {_ms(c):>12}")
    med = {n: w["median_s"] for n, w in r["wall"].items()}
    cmed = {n: c["median_s"] for n, c in r["cpu"].items()}
    for sn in [n for n in med if n.startswith("sn")]:
        for ref in [n for n in med if not n.startswith("sn")]:
            print(f"{sn}/{ref}: wall {med[sn] / med[ref]:.2f}×, CPU time {cmed[sn] / cmed[ref]:.2f}×")
    if "sn" in med and "muon" in med:
        ratio = med["sn"] / med["muon"]
        print(f"target SN ≤ 1.2× Muon (paper: ≈ 1.8×): {'MET' if ratio <= 1.2 else 'NOT MET'} ({ratio:.2f}×)")
    r["ratios_wall"] = {f"{a}/{b}": med[a] / med[b] for a in med for b in med if a != b}


def main(argv=None) -> int:
    """Command-line entry: run, print, optionally write ``--json``; exit status 0."""
    a = parse_args(argv)
    r = run(a)
    report(r)
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
