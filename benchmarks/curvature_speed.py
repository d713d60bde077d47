#!/usr/bin/env python
r"""Benchmark: the engine's exact directional curvatures vs the paper's protocol, in one process and one run.

For one model, one fixed random batch of B samples and the top-k gradient singular directions of every
measured layer, it times (median of ``--repeats`` runs after one warm-up run, the methods interleaved in
each repeat so that load changes hit all of them alike):

* ``gradient``      one plain gradient (forward + backward of the batch loss, all parameters) — the unit;
* ``paper``         the paper's protocol on all layers (per layer: forward, ``autograd.grad(create_graph=True)``,
                    then one backward per direction in a Python loop) — SVDs excluded;
* ``engine``        ``empirics.curvature.exact_curvatures`` on the same directions — SVDs excluded;
* ``paper_whole`` / ``engine_whole``  the whole measurement: G of all layers (one backward) + top-k SVDs +
                    directions + that curvature stage — SVDs included in both, by the same code;
* ``measure_layers`` — ``empirics.measurement.runner.measure_layers`` with gn/kron off: the engine's
                    record pipeline with fits, for reference.

It prints the engine's speed-up over the paper's protocol, each method's cost per direction in
gradient-equivalents (seconds per direction / seconds per gradient), peak memory of each (CUDA:
``max_memory_allocated`` above the resident state; CPU: growth of ``ru_maxrss`` in a child process that
runs the method once), and the maximum relative difference between the two methods' h_k with PASS/FAIL
(≤ 1e-10 in float64, ≤ 1e-4 in float32). Exit status: 0 agreement PASS, 1 FAIL, 2 bad arguments.

Example (CPU figures of benchmarks/README.md)::

    python benchmarks/curvature_speed.py --model smallconv --batch 64 --k 8 --repeats 7
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks import methods, timing  # noqa: E402
from benchmarks.workloads import LAYER_SETS, build_workload, make_directions, select_layers  # noqa: E402

DTYPES = {"float64": torch.float64, "float32": torch.float32}
STAGES = ("gradient", "paper", "engine", "paper_whole", "engine_whole", "measure_layers")


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the benchmark's command line (``argv`` without the program name; ``None``: ``sys.argv``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="smallconv", help="smallconv | tiny | any empirics.zoo model name")
    p.add_argument("--width", type=int, default=None, help="zoo width knob (d_model for gpt2*)")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--context", type=int, default=None, help="gpt2*: tokens per sequence")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float64")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--layers", choices=LAYER_SETS, default="all")
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--chunk-size", type=int, default=None, help="engine chunk size (default: automatic)")
    p.add_argument(
        "--engine-method",
        default=None,
        help="an engine method, e.g. fwd_fwd | fwd_rev | rev_rev | auto (default: the engine's)",
    )
    p.add_argument("--allow-tf32", action="store_true")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--skip-whole", action="store_true", help="time only the curvature stages")
    p.add_argument("--skip-paper-whole", action="store_true", help="skip only the paper's whole measurement")
    p.add_argument(
        "--skip-paper",
        action="store_true",
        help="engine and gradient only (memory checks too big for the paper's protocol); agreement not checked",
    )
    p.add_argument("--no-memory", action="store_true", help="skip the peak-memory measurement")
    p.add_argument("--json", default=None, help="write all numbers to this JSON file")
    p.add_argument("--probe", default=None, help=argparse.SUPPRESS)  # internal: child process for CPU memory
    p.add_argument("--probe-file", default=None, help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.batch < 1 or a.k < 1 or a.repeats < 1:
        p.error("--batch, --k and --repeats must be ≥ 1")
    if a.device == "cuda" and not torch.cuda.is_available():
        p.error("--device cuda: no CUDA device available")
    return a


def _configure(a: argparse.Namespace) -> torch.device:
    if a.threads:
        torch.set_num_threads(a.threads)
    if a.device == "cuda":
        torch.backends.cuda.matmul.allow_tf32 = a.allow_tf32
        torch.backends.cudnn.allow_tf32 = a.allow_tf32
    return torch.device(a.device)


def _workload(a: argparse.Namespace):
    return build_workload(
        a.model,
        batch=a.batch,
        dtype=DTYPES[a.dtype],
        device=a.device,
        width=a.width,
        image_size=a.image_size,
        num_classes=a.num_classes,
        context=a.context,
        seed=a.seed,
    )


def _stage_fns(a, work, dirs, layer_types):
    from empirics.curvature import EngineCache

    names = list(dirs)
    # one engine cache for the workload, as one measurement keeps it: detection is paid once, not per repeat
    ekw = {"chunk_size": a.chunk_size, "method": a.engine_method, "cache": EngineCache()}
    fns = {
        "gradient": lambda: methods.plain_gradient(work),
        "paper": lambda: methods.paper_curvatures(work, dirs),
        "engine": lambda: methods.engine_results(work, dirs, **ekw),
    }
    if a.skip_paper:
        del fns["paper"]
    if not a.skip_whole:
        if not (a.skip_paper_whole or a.skip_paper):
            fns["paper_whole"] = lambda: methods.whole_measurement(work, names, a.k, "paper")
        fns["engine_whole"] = lambda: methods.whole_measurement(work, names, a.k, "engine", **ekw)
        fns["measure_layers"] = lambda: methods.measure_layers_stage(work, layer_types, a.k, a.chunk_size)
    return fns


# --------------------------------------------------------------------------------------------------
# CPU memory: one child process per method


def _probe_main(a: argparse.Namespace) -> int:
    """Child: load the parent's state, run one method once, print ru_maxrss before/after as JSON."""
    _configure(a)
    work = _workload(a)
    saved = torch.load(a.probe_file, weights_only=True)
    work.model.load_state_dict(saved["state"])
    dirs = saved["dirs"]
    layer_types = select_layers(work.model, a.layers)
    fn = _stage_fns(a, work, dirs, layer_types)[a.probe]
    before, how = timing.reset_rss_peak()
    fn()
    after = timing.rss_peak_bytes()
    print(json.dumps({"method": a.probe, "rss_before": before, "rss_after": after, "how": how}))
    return 0


def _cpu_memory(a, argv, work, dirs, stages) -> dict:
    out = {}
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "state.pt")
        torch.save({"state": work.model.state_dict(), "dirs": dirs}, path)
        for s in stages:
            cmd = [sys.executable, str(Path(__file__).resolve()), *argv, "--probe", s, "--probe-file", path]
            r = subprocess.run(cmd, capture_output=True, text=True)
            if r.returncode != 0:
                out[s] = {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
                continue
            rec = json.loads(r.stdout.strip().splitlines()[-1])
            out[s] = {"peak_extra_bytes": rec["rss_after"] - rec["rss_before"], "peak_total_bytes": rec["rss_after"]}
            out["method"] = f"child process per method, one call: {rec['how']}"
    return out


# --------------------------------------------------------------------------------------------------


def _mib(b) -> str:
    return f"{b / 2**20:,.1f} MiB"


def _choice(r) -> dict:
    """The engine's choice for a layer, from its :class:`empirics.curvature.CurvatureResult`."""
    out = {"method": r.method, "chunk_size": r.chunk_size}
    if r.decided:
        out["decided"] = r.decided
    if r.trial_seconds:
        out["trial_seconds"] = dict(r.trial_seconds)
    if r.gn_form:
        out["gn_form"] = r.gn_form
    return out


def run(a: argparse.Namespace, argv: list[str]) -> dict:
    """Run the timed comparison of the module docstring for the arguments ``a``.

    Returns one JSON-ready record: machine and code versions, the workload, each method's median wall time and
    peak memory, the ratios (engine speed-up over the paper's protocol; seconds per direction / seconds per
    gradient) and the agreement of the two methods' :math:`h_k` (``None`` when the paper's protocol was not run).
    Raises ``ValueError`` for an unusable workload (the caller turns it into exit status 2)."""
    device = _configure(a)
    work = _workload(a)
    layer_types = select_layers(work.model, a.layers)
    dt_dirs, _, (dirs, info) = timing.time_call(lambda: make_directions(work, layer_types, a.k), device)
    n_dirs = sum(v["k"] for v in info.values())
    fns = _stage_fns(a, work, dirs, layer_types)

    for fn in fns.values():  # warm-up, excluded
        fn()
    # a single gradient can be too short to time on a busy machine: each timed sample of the unit is the
    # mean of n_inner back-to-back gradients, n_inner chosen so that a sample lasts about 50 ms
    t1 = min(timing.time_call(fns["gradient"], device)[0] for _ in range(3))
    n_inner = int(min(50, max(1, round(0.05 / max(t1, 1e-6)))))
    unit = fns["gradient"]
    fns["gradient"] = lambda: timing.repeat_mean(unit, n_inner)
    times = {s: [] for s in fns}
    cpu = {s: [] for s in fns}
    last = {}
    for _ in range(a.repeats):
        for s, fn in fns.items():
            dt, dc, last[s] = timing.time_call(fn, device)
            if s == "gradient":
                dt, dc = dt / n_inner, dc / n_inner
            times[s].append(dt)
            cpu[s].append(dc)
    choices = {n: _choice(r) for n, r in last["engine"].items()}
    stats = {s: timing.summary(t) for s, t in times.items()}
    cpu_stats = {s: timing.summary(t) for s, t in cpu.items()}
    agree = None
    if "paper" in last:
        tol = methods.TOLERANCE[DTYPES[a.dtype]]
        agree = methods.max_relative_difference(last["paper"], methods.values_of(last["engine"]))
        agree["tolerance"] = tol
        agree["pass"] = bool(agree["max_rel"] <= tol)

    t = {s: v["median_s"] for s, v in stats.items()}
    c = {s: v["median_s"] for s, v in cpu_stats.items()}
    ratios: dict = {"engine_grad_eq_per_direction": t["engine"] / n_dirs / t["gradient"]}
    ratios["cpu_time"] = {"engine_grad_eq_per_direction": c["engine"] / n_dirs / c["gradient"]}
    if "paper" in t:
        ratios["speedup_curvature"] = t["paper"] / t["engine"]
        ratios["speedup_per_repeat"] = [p / e for p, e in zip(times["paper"], times["engine"], strict=True)]
        ratios["paper_grad_eq_per_direction"] = t["paper"] / n_dirs / t["gradient"]
        ratios["cpu_time"]["speedup_curvature"] = c["paper"] / c["engine"]
        ratios["cpu_time"]["paper_grad_eq_per_direction"] = c["paper"] / n_dirs / c["gradient"]
    if "paper_whole" in c:
        ratios["cpu_time"]["speedup_whole"] = c["paper_whole"] / c["engine_whole"]
    if "paper_whole" in t:
        ratios["speedup_whole"] = t["paper_whole"] / t["engine_whole"]
    if "engine_whole" in t:
        ratios["engine_whole_grad_eq_per_direction"] = t["engine_whole"] / n_dirs / t["gradient"]

    memory: dict = {}
    if not a.no_memory:
        mem_stages = [s for s in ("gradient", "paper", "engine") if s in fns]
        if device.type == "cuda":
            memory = {s: {"peak_extra_bytes": timing.cuda_peak_bytes(fns[s], device)} for s in mem_stages}
            memory["method"] = "torch.cuda.max_memory_allocated minus memory_allocated before the call"
        else:
            memory = _cpu_memory(a, argv, work, dirs, mem_stages)
            memory.setdefault("method", "child process per method (all probes failed)")

    return {
        "machine": timing.machine_info(device),
        "code": timing.code_version(),
        "args": {k: v for k, v in vars(a).items() if not k.startswith("probe")},
        "workload": work.settings,
        "layers": {n: {"type": layer_types[n], **info[n]} for n in dirs},
        "n_layers": len(dirs),
        "n_directions": n_dirs,
        "directions_seconds": dt_dirs,
        "gradient_inner_repeats": n_inner,
        "timings": stats,
        "cpu_timings": cpu_stats,
        "ratios": ratios,
        "engine_choices": choices,
        "memory": memory,
        "agreement": agree,
        "timing_note": "warm-up run excluded; median of repeats; stages interleaved within each repeat; "
        "paper/engine exclude the SVDs, *_whole include G + SVDs for both",
    }


def report(r: dict) -> str:
    """The human-readable summary of a :func:`run` record: machine, code, workload, timings, ratios, agreement."""
    m, t, q = r["machine"], r["timings"], r["ratios"]
    L = []
    L.append(
        f"machine: {m['device_name']} | cores {m['cpu_cores']} | torch {m['torch']} | threads {m['torch_threads']}"
        + (f" | load {m['load_avg_1_5_15'][0]:.2f}" if "load_avg_1_5_15" in m else "")
    )
    cv = r["code"]
    L.append(
        f"code: commit {cv['commit']}, engine files last changed in {cv['engine_commit']}"
        + (" (with uncommitted changes)" if cv["engine_uncommitted_changes"] else "")
    )
    a = r["args"]
    L.append(
        f"workload: {a['model']} {r['workload']['input_shape']} {a['dtype']} on {a['device']}, "
        f"{r['n_layers']} layers ({a['layers']}), k={a['k']} -> {r['n_directions']} directions"
    )
    L.append(f"timings (median of {a['repeats']}, [min, max]):")
    for s in STAGES:
        if s in t:
            v = t[s]
            note = f"  (each sample: mean of {r['gradient_inner_repeats']} gradients)" if s == "gradient" else ""
            L.append(
                f"  {s:<14} {v['median_s'] * 1e3:10.2f} ms  [{v['min_s'] * 1e3:.2f}, {v['max_s'] * 1e3:.2f}]{note}"
            )
    if "speedup_curvature" in q:
        sp = q["speedup_per_repeat"]
        L.append(
            f"engine speed-up over the paper's protocol (curvature stage): {q['speedup_curvature']:.2f}x "
            f"(per-repeat range {min(sp):.2f}-{max(sp):.2f}x)"
        )
    if "speedup_whole" in q:
        L.append(f"engine speed-up, whole measurement (G + SVDs included in both): {q['speedup_whole']:.2f}x")
    L.append(f"engine cost per direction: {q['engine_grad_eq_per_direction']:.3f} gradient-equivalents")
    if "paper_grad_eq_per_direction" in q:
        L.append(f"paper protocol cost per direction: {q['paper_grad_eq_per_direction']:.3f} gradient-equivalents")
    if r["args"]["device"] == "cpu" and "speedup_curvature" in q["cpu_time"]:
        qc = q["cpu_time"]
        L.append(
            f"same from process CPU time (load-robust with --threads 1): speed-up {qc['speedup_curvature']:.2f}x"
            + (f", whole {qc['speedup_whole']:.2f}x" if "speedup_whole" in qc else "")
            + f"; engine {qc['engine_grad_eq_per_direction']:.3f}, paper {qc['paper_grad_eq_per_direction']:.3f}"
            " gradient-equivalents per direction"
        )
    ch = {n: str(c.get("method", "?")).split(" ")[0] for n, c in r["engine_choices"].items()}
    if len(ch) <= 6:
        L.append(f"engine method per layer: {', '.join(f'{n}={c}' for n, c in ch.items())}")
    else:
        counts = {c: list(ch.values()).count(c) for c in sorted(set(ch.values()))}
        L.append(f"engine method: {', '.join(f'{c} on {n} layers' for c, n in counts.items())} (per layer in --json)")
    mem = r["memory"]
    if mem:
        L.append(f"peak memory ({mem['method']}):")
        for s in ("gradient", "paper", "engine"):
            if s in mem:
                e = mem[s]
                L.append(
                    f"  {s:<14} " + (_mib(e["peak_extra_bytes"]) if "peak_extra_bytes" in e else f"error: {e['error']}")
                )
    g = r["agreement"]
    if g is None:
        L.append("agreement: NOT CHECKED (--skip-paper)")
        return "\n".join(L)
    L.append(
        f"agreement: max relative difference of h_k = {g['max_rel']:.3e} (worst {g['worst']}; "
        f"tolerance {g['tolerance']:.0e}) -> {'PASS' if g['pass'] else 'FAIL'}; "
        f"relative to each layer's max |h_k|: {g['max_rel_to_layer_scale']:.3e}"
    )
    if g["n_nonpositive_ref"] or g["n_nonfinite"]:
        L.append(f"  note: {g['n_nonpositive_ref']} non-positive and {g['n_nonfinite']} non-finite h_k")
    return "\n".join(L)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry: 0 when the two methods' :math:`h_k` agree (or were not compared), 1 when not, 2 on bad
    arguments."""
    argv = list(sys.argv[1:] if argv is None else argv)
    a = parse_args(argv)
    if a.probe:
        return _probe_main(a)
    try:
        r = run(a, argv)
    except ValueError as exc:
        print(f"curvature_speed: {exc}", file=sys.stderr)
        return 2
    print(report(r))
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1, default=str))
    return 0 if r["agreement"] is None or r["agreement"]["pass"] else 1


if __name__ == "__main__":
    sys.exit(main())
