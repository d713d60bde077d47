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
``max_memory_allocated`` above the resident state; CPU: growth of the peak RSS in a child process that runs
the method once after a warm-up call on one sample, and once cold), the agreement of the two methods' h_k —
max |h_engine − h_paper| relative to each layer's largest |h_paper|, over the directions within the
gradient's numerical rank (the others listed, not compared), PASS/FAIL at 1e-10 in float64, 1e-4 in float32
— the machine (CPU model, load average at start and end) and the requested target lines (``--target-*``).
Exit status: 0 agreement PASS, 1 FAIL, 2 bad arguments.

Example (the CPU figures of benchmarks/README.md come from ``benchmarks/cpu_targets.sh``)::

    python benchmarks/curvature_speed.py --model smallconv --batch 64 --k 10 --repeats 7 --threads 1
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from dataclasses import replace
from pathlib import Path

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import torch  # noqa: E402

from benchmarks import methods, timing  # noqa: E402
from benchmarks.speed_report import parse_bytes, report  # noqa: E402
from benchmarks.workloads import LAYER_SETS, LM_MODELS, build_workload, make_directions, select_layers  # noqa: E402

DTYPES = {"float64": torch.float64, "float32": torch.float32}
STAGES = ("gradient", "paper", "engine", "paper_whole", "engine_whole", "measure_layers")


def parse_args(argv=None) -> argparse.Namespace:
    """Parse the benchmark's command line (``argv`` without the program name; ``None``: ``sys.argv``)."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--model", default="smallconv", help="smallconv | tiny | tanh_mlp | hf_gpt2 | any empirics.zoo model"
    )
    p.add_argument("--width", type=int, default=None, help="width knob (d_model for gpt2*, n_embd for hf_gpt2)")
    p.add_argument("--n-layer", type=int, default=None, help="gpt2*/hf_gpt2: number of blocks")
    p.add_argument("--image-size", type=int, default=None)
    p.add_argument("--num-classes", type=int, default=10)
    p.add_argument("--context", type=int, default=None, help="gpt2*: tokens per sequence")
    p.add_argument("--batch", type=int, required=True)
    p.add_argument("--k", type=int, required=True)
    p.add_argument("--dtype", choices=tuple(DTYPES), default="float64")
    p.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    p.add_argument("--layers", choices=LAYER_SETS, default="all")
    p.add_argument("--only", default=None, help="measure only these layers (comma-separated names)")
    p.add_argument(
        "--max-memory", default=None, help="engine working-memory budget, e.g. 512M (default: from free memory)"
    )
    p.add_argument("--repeats", type=int, default=5)
    p.add_argument("--threads", type=int, default=None, help="torch.set_num_threads (default: torch's)")
    p.add_argument("--chunk-size", type=int, default=None, help="engine chunk size (default: automatic)")
    p.add_argument(
        "--engine-method",
        default=None,
        help="an engine method, e.g. fwd_fwd | fwd_rev | rev_rev | auto (default: the engine's)",
    )
    p.add_argument(
        "--compile",
        action="store_true",
        help="engine: the torch.compile-d fused kernels of empirics.curvature.fused (compile time in the warm-up)",
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
    p.add_argument(
        "--target-speedup",
        type=float,
        default=None,
        help="report whether the CPU-time (CUDA: wall) "
        "speed-up of the curvature stage and of the whole measurement reach this (does not set the exit status)",
    )
    p.add_argument(
        "--target-memory-ratio",
        type=float,
        default=None,
        help="report whether engine peak memory / paper peak memory stays within this",
    )
    p.add_argument("--probe", default=None, help=argparse.SUPPRESS)  # internal: child process for CPU memory
    p.add_argument("--probe-file", default=None, help=argparse.SUPPRESS)
    p.add_argument("--probe-warm", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--probe-tensor", action="store_true", help=argparse.SUPPRESS)
    a = p.parse_args(argv)
    if a.batch < 1 or a.k < 1 or a.repeats < 1:
        p.error("--batch, --k and --repeats must be ≥ 1")
    if a.max_memory is not None and not isinstance(a.max_memory, int):
        try:
            a.max_memory = parse_bytes(a.max_memory)
        except ValueError as exc:
            p.error(str(exc))
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
    extra = {"n_layer": a.n_layer} if a.n_layer and a.model in LM_MODELS else {}
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
        **extra,
    )


def _stage_fns(a, work, dirs, layer_types, cache=None):
    from empirics.curvature import EngineCache

    names = list(dirs)
    # one engine cache for the workload, as one measurement keeps it: detection is paid once, not per repeat
    ekw = {
        "chunk_size": a.chunk_size,
        "method": a.engine_method,
        "cache": EngineCache() if cache is None else cache,
        "max_memory": a.max_memory,
        "compile_kernels": a.compile,
    }
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
        fns["measure_layers"] = lambda: methods.measure_layers_stage(work, layer_types, a.k, a.chunk_size, a.max_memory)
    return fns


# --------------------------------------------------------------------------------------------------
# CPU memory: one child process per method


def _probe_main(a: argparse.Namespace) -> int:
    """Child: load the parent's state, run one method once, print the peak RSS before/after as JSON.
    ``--probe-warm``: first the same method on one sample, so that one-time code initialisation (lazy imports,
    torch.func's first use) and the engine's one-time checks (kept in its cache, as one measurement keeps
    them: the timed repeats do the same) are not counted, and little memory stays cached; ``--probe-tensor``:
    the peak tensor bytes of the call instead of the resident set."""
    _configure(a)
    work = _workload(a)
    saved = torch.load(a.probe_file, weights_only=True)
    work.model.load_state_dict(saved["state"])
    dirs = saved["dirs"]
    layer_types = select_layers(work.model, a.layers, a.only)
    from empirics.curvature import EngineCache

    cache = EngineCache()  # warm: the warm-up call's one-time checks are kept, as one measurement keeps them
    if a.probe_warm:
        one = replace(work, inputs=work.inputs[:1], targets=work.targets[:1])
        _stage_fns(a, one, dirs, layer_types, cache)[a.probe]()
    fn = _stage_fns(a, work, dirs, layer_types, cache)[a.probe]
    if a.probe_tensor:
        print(json.dumps({"method": a.probe, "tensor_peak": timing.tensor_peak_bytes(fn)}))
        return 0
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
            got = {}
            for kind, extra in (("warm", ["--probe-warm"]), ("cold", [])):
                r = subprocess.run(cmd + extra, capture_output=True, text=True)
                if r.returncode != 0:
                    got[kind] = {"error": (r.stderr.strip().splitlines() or ["?"])[-1]}
                    continue
                rec = json.loads(r.stdout.strip().splitlines()[-1])
                got[kind] = {"extra": rec["rss_after"] - rec["rss_before"], "total": rec["rss_after"]}
                out["method"] = (
                    f"child process per method, one call after a warm-up call on one sample (cold: the process's "
                    f"first call, one-time code initialisation included): {rec['how']}"
                )
            w, c = got["warm"], got["cold"]
            out[s] = (
                {"error": w["error"]}
                if "error" in w
                else {"peak_extra_bytes": w["extra"], "peak_total_bytes": w["total"]}
            )
            out[s].update({"cold_error": c["error"]} if "error" in c else {"cold_peak_extra_bytes": c["extra"]})
            r = subprocess.run(cmd + ["--probe-warm", "--probe-tensor"], capture_output=True, text=True)
            if r.returncode == 0:
                out[s]["tensor_peak_bytes"] = json.loads(r.stdout.strip().splitlines()[-1])["tensor_peak"]
            else:
                out[s]["tensor_error"] = (r.stderr.strip().splitlines() or ["?"])[-1]
    cold = [out.get(s, {}).get("cold_peak_extra_bytes") for s in ("paper", "engine")]
    if cold[0] and cold[1] is not None:
        out["engine_over_paper_cold"] = cold[1] / cold[0]
    tensor = [out.get(s, {}).get("tensor_peak_bytes") for s in ("paper", "engine")]
    if tensor[0] and tensor[1] is not None:
        out["engine_over_paper_tensor"] = tensor[1] / tensor[0]
        out["tensor_method"] = (
            "peak tensor bytes of one call after a warm-up call on one sample (the CPU allocator's running total "
            "in torch.profiler's allocation events; what max_memory_allocated counts on CUDA)"
        )
    return out


# --------------------------------------------------------------------------------------------------


def _choice(r) -> dict:
    """The engine's choice for a layer, from its :class:`empirics.curvature.CurvatureResult`."""
    out = {"method": r.method, "chunk_size": r.chunk_size}
    if r.decided:
        out["decided"] = r.decided
    if r.trial_seconds:
        out["trial_seconds"] = dict(r.trial_seconds)
    if r.gn_form:
        out["gn_form"] = r.gn_form
    if r.failed:
        out["failed"] = dict(r.failed)
    return out


def _targets(a, ratios: dict, memory: dict) -> list[dict]:
    """The requested targets, each with its value and MET / NOT MET (CPU: process CPU time; CUDA: wall)."""
    q = ratios.get("cpu_time", {}) if a.device == "cpu" else ratios
    out = []
    if a.target_speedup is not None:
        for key, what in (("speedup_curvature", "speed-up, curvature stage"), ("speedup_whole", "speed-up, whole")):
            v = q.get(key)
            verdict = "n/a" if v is None else "MET" if v >= a.target_speedup else "NOT MET"
            out.append({"what": what, "op": ">=", "goal": a.target_speedup, "value": v, "verdict": verdict})
    tensor = "engine_over_paper_tensor" in memory  # CPU: the tensor peak decides; the resident set is printed
    if a.target_memory_ratio is not None:
        v = memory.get("engine_over_paper_tensor" if tensor else "engine_over_paper")
        verdict = "n/a" if v is None else "MET" if v <= a.target_memory_ratio else "NOT MET"
        out.append(
            {
                "what": "engine / paper peak memory" + (" (tensor bytes)" if tensor else ""),
                "op": "<=",
                "goal": a.target_memory_ratio,
                "value": v,
                "verdict": verdict,
            }
        )
    if a.max_memory is not None:
        v = memory.get("engine", {}).get("tensor_peak_bytes" if tensor else "peak_extra_bytes")
        verdict = "n/a" if v is None else "MET" if v <= a.max_memory else "NOT MET"
        out.append(
            {
                "what": "engine peak / --max-memory budget" + (" (tensor bytes)" if tensor else ""),
                "op": "<=",
                "goal": 1.0,
                "verdict": verdict,
                "value": None if v is None else v / a.max_memory,
            }
        )
    return out


def run(a: argparse.Namespace, argv: list[str]) -> dict:
    """Run the timed comparison of the module docstring for the arguments ``a``.

    Returns one JSON-ready record: machine and code versions, the workload, each method's median wall time and
    peak memory, the ratios (engine speed-up over the paper's protocol; seconds per direction / seconds per
    gradient) and the agreement of the two methods' :math:`h_k` (``None`` when the paper's protocol was not run).
    Raises ``ValueError`` for an unusable workload (the caller turns it into exit status 2)."""
    device = _configure(a)
    machine = timing.machine_info(device)
    work = _workload(a)
    layer_types = select_layers(work.model, a.layers, a.only)
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
        ranks = {n: v["rank"] for n, v in info.items()}
        agree = methods.max_relative_difference(last["paper"], methods.values_of(last["engine"]), ranks)
        agree["tolerance"] = tol
        agree["pass"] = bool(agree["max_rel_to_layer_scale"] <= tol)

    t = {s: v["median_s"] for s, v in stats.items()}
    c = {s: v["median_s"] for s, v in cpu_stats.items()}
    ratios: dict = {"engine_grad_eq_per_direction": t["engine"] / n_dirs / t["gradient"]}
    ratios["cpu_time"] = {"engine_grad_eq_per_direction": c["engine"] / n_dirs / c["gradient"]}
    if "paper" in t:
        ratios["speedup_curvature"] = t["paper"] / t["engine"]
        ratios["speedup_per_repeat"] = [p / e for p, e in zip(times["paper"], times["engine"], strict=True)]
        ratios["paper_grad_eq_per_direction"] = t["paper"] / n_dirs / t["gradient"]
        ratios["cpu_time"]["speedup_curvature"] = c["paper"] / c["engine"]
        ratios["cpu_time"]["speedup_per_repeat"] = [p / e for p, e in zip(cpu["paper"], cpu["engine"], strict=True)]
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
        pe = [memory.get(s, {}).get("peak_extra_bytes") for s in ("paper", "engine")]
        if pe[0] and pe[1] is not None:
            memory["engine_over_paper"] = pe[1] / pe[0]

    return {
        "machine": machine,
        "load_end": list(os.getloadavg()) if hasattr(os, "getloadavg") else None,
        "targets": _targets(a, ratios, memory),
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
