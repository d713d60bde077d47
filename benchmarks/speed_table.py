#!/usr/bin/env python
"""The markdown table of benchmarks/README.md and the README's "Performance" section, from the JSON files of
``curvature_speed.py --json`` (as written by ``cpu_targets.sh``): one row per run, CPU-time figures.

    python benchmarks/speed_table.py [--brief] DIR [NAME ...]   # NAME: DIR/NAME.json (default: every *.json)

``--brief``: the README's shorter table (speed-ups, gradient-equivalents, memory ratios, agreement, targets).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

HEADER = (
    "| run | workload (float64, CPU, 1 thread) | paper / engine, curvature stage (CPU ms) | speed-up, CPU time "
    "(per-repeat range) | whole measurement | grad-eq per direction: engine, paper | peak tensor memory: paper, "
    "engine (ratio) | peak extra RSS: paper, engine (ratio), warm; cold | agreement (rel. to layer scale) | "
    "targets | load (start, end) | commit |\n"
    "|---|---|---|---|---|---|---|---|---|---|---|---|"
)


def _f(v, fmt: str, dash: str = "—") -> str:
    return dash if v is None else format(v, fmt)


def _memory(mem: dict) -> str:
    p, e = (mem.get(s, {}).get("peak_extra_bytes") for s in ("paper", "engine"))
    if p is None or e is None:
        return "—"
    ratio = mem.get("engine_over_paper")
    out = f"{p / 2**20:.0f}, {e / 2**20:.0f} MiB ({_f(ratio, '.2f')}×)"
    if "warm-up" not in mem.get("method", ""):  # results of the earlier probe: the first call only
        return f"cold only: {out}"
    pc, ec = (mem.get(s, {}).get("cold_peak_extra_bytes") for s in ("paper", "engine"))
    if pc is not None and ec is not None:
        out += f"; cold {pc / 2**20:.0f}, {ec / 2**20:.0f} MiB ({_f(mem.get('engine_over_paper_cold'), '.2f')}×)"
    return out


def _tensor(mem: dict) -> str:
    p, e = (mem.get(s, {}).get("tensor_peak_bytes") for s in ("paper", "engine"))
    if p is None or e is None:
        return "—"
    return f"{p / 2**20:.1f}, {e / 2**20:.1f} MiB ({_f(mem.get('engine_over_paper_tensor'), '.2f')}×)"


def _agreement(g: dict | None) -> str:
    if g is None:
        return "not checked"
    out = f"{g['max_rel_to_layer_scale']:.1e} {'PASS' if g['pass'] else 'FAIL'}"
    if g.get("n_excluded"):
        out += f" ({g['n_excluded']} dir. beyond rank listed)"
    return out


def _targets(ts: list[dict]) -> str:
    parts = []
    for t in ts:
        what = {"speed-up, curvature stage": "stage", "speed-up, whole": "whole"}.get(t["what"], "memory")
        what = "peak/budget" if "budget" in t["what"] else what
        verdict = "PASS" if t["verdict"] == "MET" else t["verdict"]
        parts.append(f"{what} {t['op']} {t['goal']:g}: {_f(t['value'], '.2f')} {verdict}")
    return "; ".join(parts) or "—"


def row(name: str, r: dict) -> str:
    """One Markdown table row of a benchmark record ``r`` (CPU-time ratios, cost per direction, memory, verdicts)."""
    a, q = r["args"], r["ratios"].get("cpu_time", {})
    c = r["cpu_timings"]
    shape = "×".join(str(s) for s in r["workload"]["input_shape"])
    width = "" if a.get("width") is None else f" w{a['width']}"
    what = f"{a['model']}{width} [{shape}], k={a['k']}, "
    what += f"{'layer ' + a['only'] if a.get('only') else str(r['n_layers']) + ' layers'} ({r['n_directions']} dirs)"
    what += "".join(
        f", {o}" for o, on in (("--compile", a.get("compile")), ("--max-memory", a.get("max_memory"))) if on
    )
    sp = q.get("speedup_per_repeat") or []
    speed = f"**{q['speedup_curvature']:.2f}×** ({min(sp):.2f}–{max(sp):.2f})" if "speedup_curvature" in q else "—"
    paper = c.get("paper", {}).get("median_s")
    stage = f"{_f(paper and paper * 1e3, ',.1f')} / {c['engine']['median_s'] * 1e3:,.1f}"
    m = r["machine"]
    load = f"{m.get('load_avg_1_5_15', [None])[0]:.1f}, {(r.get('load_end') or [float('nan')])[0]:.1f}"
    return (
        f"| {name} | {what} | {stage} | {speed} | {_f(q.get('speedup_whole'), '.2f', '—')}{'×' if q.get('speedup_whole') else ''} | "
        f"{q['engine_grad_eq_per_direction']:.3f}, {_f(q.get('paper_grad_eq_per_direction'), '.3f')} | "
        f"{_tensor(r['memory'])} | {_memory(r['memory'])} | {_agreement(r['agreement'])} | {_targets(r.get('targets', []))} | {load} | "
        f"{r['code']['commit']} (engine {r['code']['engine_commit']}{'+' if r['code']['engine_uncommitted_changes'] else ''}) |"
    )


BRIEF_HEADER = (
    "| workload (float64, CPU, 1 thread) | engine speed-up, CPU time: curvature stage (whole) | "
    "gradient-equivalents per direction: engine / paper | peak memory engine / paper: tensors; resident set "
    "warm (cold) | agreement | targets | load |\n|---|---|---|---|---|---|---|"
)


def brief_row(r: dict) -> str:
    """One row of the README's "Performance" table."""
    q, mem = r["ratios"].get("cpu_time", {}), r["memory"]
    what = row("", r).split(" | ")[1]
    whole = f" ({q['speedup_whole']:.2f}×)" if "speedup_whole" in q else ""
    ratio = _f(mem.get("engine_over_paper"), ".2f")
    cold = mem.get("engine_over_paper_cold")
    memory = f"{ratio}×" + (f" ({cold:.2f}×)" if cold is not None else "")
    memory = memory if "warm-up" in mem.get("method", "") else f"— ({ratio}×)"
    tensor = mem.get("engine_over_paper_tensor")
    memory = (f"**{tensor:.2f}×**; " if tensor is not None else "—; ") + memory
    g = r["agreement"]
    agree = "not checked" if g is None else f"{g['max_rel_to_layer_scale']:.0e} {'PASS' if g['pass'] else 'FAIL'}"
    load = r["machine"].get("load_avg_1_5_15", [float("nan")])[0]
    return (
        f"| {what} | **{q.get('speedup_curvature', float('nan')):.2f}×**{whole} | "
        f"{q['engine_grad_eq_per_direction']:.3f} / {_f(q.get('paper_grad_eq_per_direction'), '.3f')} | {memory} | "
        f"{agree} | {_targets(r.get('targets', []))} | {load:.0f} |"
    )


def table(folder: Path, names: list[str], brief: bool = False) -> str:
    """The Markdown table of the benchmark records ``folder/<name>.json`` (all of them when ``names`` is empty)."""
    files = [folder / f"{n}.json" for n in names] if names else sorted(folder.glob("*.json"))
    records = [(p.stem, json.loads(p.read_text())) for p in files if p.exists()]
    if not records:
        raise ValueError(f"no result files in {folder}")
    m = records[0][1]["machine"]
    lines = [
        f"Machine: {m['cpu']}, {m['cpu_cores']} cores, torch {m['torch']}, Python {m['python']}. Commit column: "
        "the checkout, and where the engine files last changed (+: with uncommitted changes).",
        "",
        HEADER,
    ]
    if brief:
        return "\n".join([BRIEF_HEADER] + [brief_row(r) for _, r in records])
    lines += [row(n, r) for n, r in records]
    missing = [n for n in names if not (folder / f"{n}.json").exists()]
    if missing:
        lines.append(f"\n(no result for: {', '.join(missing)})")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command line: print the table of a results folder (``--brief``: the README's columns)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    brief = "--brief" in argv
    argv = [x for x in argv if x != "--brief"]
    if not argv:
        print("usage: speed_table.py [--brief] DIR [NAME ...]", file=sys.stderr)
        return 2
    try:
        print(table(Path(argv[0]), argv[1:], brief))
    except (ValueError, OSError, KeyError, json.JSONDecodeError) as exc:
        print(f"speed_table: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
