"""The printed report of ``curvature_speed.py`` (one result dict in, lines of text out)."""

from __future__ import annotations

__all__ = ["report", "mib", "parse_bytes"]


def mib(b) -> str:
    """``b`` bytes in MiB, as text."""
    return f"{b / 2**20:,.1f} MiB"


def parse_bytes(text: str) -> int:
    """``"512M"``, ``"2G"``, ``"1048576"`` -> bytes (:func:`empirics.arguments.byte_size`; ``ValueError`` naming
    the text)."""
    import argparse

    from empirics.arguments import byte_size

    try:
        return byte_size(text)
    except argparse.ArgumentTypeError as exc:
        raise ValueError(f"--max-memory {text!r}: {exc}") from None


def _timings(r: dict) -> list[str]:
    t, a = r["timings"], r["args"]
    lines = [f"timings (median of {a['repeats']}, [min, max]; wall clock):"]
    for s, v in t.items():
        note = f"  (each sample: mean of {r['gradient_inner_repeats']} gradients)" if s == "gradient" else ""
        cpu = r["cpu_timings"][s]["median_s"]
        lines.append(
            f"  {s:<14} {v['median_s'] * 1e3:10.2f} ms  [{v['min_s'] * 1e3:.2f}, {v['max_s'] * 1e3:.2f}]"
            f"  CPU {cpu * 1e3:10.2f} ms{note}"
        )
    return lines


def _ratios(r: dict) -> list[str]:
    q, lines = r["ratios"], []
    if "speedup_curvature" in q:
        sp = q["speedup_per_repeat"]
        lines.append(
            f"engine speed-up over the paper's protocol (curvature stage, wall): {q['speedup_curvature']:.2f}x "
            f"(per-repeat range {min(sp):.2f}-{max(sp):.2f}x)"
        )
    if "speedup_whole" in q:
        lines.append(f"engine speed-up, whole measurement (G + SVDs in both, wall): {q['speedup_whole']:.2f}x")
    lines.append(f"engine cost per direction: {q['engine_grad_eq_per_direction']:.3f} gradient-equivalents (wall)")
    if "paper_grad_eq_per_direction" in q:
        lines.append(f"paper protocol cost per direction: {q['paper_grad_eq_per_direction']:.3f} gradient-equivalents")
    qc = q.get("cpu_time", {})
    if r["args"]["device"] == "cpu" and "speedup_curvature" in qc:
        sp = qc["speedup_per_repeat"]
        lines.append(
            f"CPU time (the load-robust figure with --threads 1): speed-up {qc['speedup_curvature']:.2f}x "
            f"(per-repeat {min(sp):.2f}-{max(sp):.2f}x)"
            + (f", whole {qc['speedup_whole']:.2f}x" if "speedup_whole" in qc else "")
            + f"; engine {qc['engine_grad_eq_per_direction']:.3f}, paper {qc['paper_grad_eq_per_direction']:.3f}"
            " gradient-equivalents per direction"
        )
    return lines


def _memory(r: dict) -> list[str]:
    mem = r["memory"]
    if not mem:
        return []
    lines = [f"peak memory ({mem['method']}):"]
    for s in ("gradient", "paper", "engine"):
        if s in mem:
            e = mem[s]
            cold = f"  (cold: {mib(e['cold_peak_extra_bytes'])})" if "cold_peak_extra_bytes" in e else ""
            lines.append(
                f"  {s:<14} "
                + (mib(e["peak_extra_bytes"]) if "peak_extra_bytes" in e else f"error: {e['error']}")
                + cold
            )
    if "engine_over_paper" in mem:
        cold = f" (cold: {mem['engine_over_paper_cold']:.2f}x)" if "engine_over_paper_cold" in mem else ""
        lines.append(f"  engine / paper: {mem['engine_over_paper']:.2f}x{cold}")
    if any("tensor_peak_bytes" in mem.get(s, {}) for s in ("gradient", "paper", "engine")):
        lines.append(f"peak tensor memory ({mem.get('tensor_method', 'one call after a warm-up call on one sample')}):")
        for s in ("gradient", "paper", "engine"):
            v = mem.get(s, {}).get("tensor_peak_bytes")
            if v is not None:
                lines.append(f"  {s:<14} {mib(v)}")
        if "engine_over_paper_tensor" in mem:
            lines.append(f"  engine / paper: {mem['engine_over_paper_tensor']:.2f}x")
    if r["args"].get("max_memory"):
        lines.append(f"  engine budget (--max-memory): {mib(r['args']['max_memory'])}")
    return lines


def _agreement(r: dict) -> list[str]:
    g = r["agreement"]
    if g is None:
        return ["agreement: NOT CHECKED (--skip-paper)"]
    lines = [
        f"agreement: max |h_engine - h_paper| / max_k |h_paper| per layer = {g['max_rel_to_layer_scale']:.3e} "
        f"(worst layer {g['worst_layer_scaled']}; tolerance {g['tolerance']:.0e}) -> {'PASS' if g['pass'] else 'FAIL'}",
        f"  pointwise max |dh|/|h| = {g['max_rel']:.3e} (worst {g['worst']}; large where some h_k ~ 0 by cancellation)",
    ]
    if g["n_excluded"]:
        ex = ", ".join(f"{n}: k={v['k'][0] + 1}..{v['k'][-1] + 1}" for n, v in g["excluded"].items())
        lines.append(f"  {g['n_excluded']} direction(s) beyond the gradient's numerical rank not compared ({ex})")
    if g["n_nonpositive_ref"] or g["n_nonfinite"]:
        lines.append(f"  note: {g['n_nonpositive_ref']} non-positive and {g['n_nonfinite']} non-finite h_k (paper)")
    return lines


def _targets(r: dict) -> list[str]:
    out = []
    for t in r.get("targets", []):
        have = "n/a" if t["value"] is None else f"{t['value']:.2f}"
        out.append(f"target: {t['what']} {t['op']} {t['goal']:.2f}: {have} -> {t['verdict']}")
    return out


def report(r: dict) -> str:
    """The lines printed for one run."""
    m, a = r["machine"], r["args"]
    lines = [
        f"machine: {m['device_name']} | cores {m['cpu_cores']} | torch {m['torch']} | threads {m['torch_threads']}"
        + (
            f" | load {m['load_avg_1_5_15'][0]:.2f} (start) {r.get('load_end', [0])[0]:.2f} (end)"
            if "load_avg_1_5_15" in m
            else ""
        )
    ]
    cv = r["code"]
    lines.append(
        f"code: commit {cv['commit']}, engine files last changed in {cv['engine_commit']}"
        + (" (with uncommitted changes)" if cv["engine_uncommitted_changes"] else "")
    )
    lines.append(
        f"workload: {a['model']} {r['workload']['input_shape']} {a['dtype']} on {a['device']}, "
        f"{r['n_layers']} layers ({a['only'] or a['layers']}), k={a['k']} -> {r['n_directions']} directions"
    )
    lines += _timings(r) + _ratios(r)
    ch = {n: str(c.get("method", "?")).split(" ")[0] for n, c in r["engine_choices"].items()}
    counts = {c: list(ch.values()).count(c) for c in sorted(set(ch.values()))}
    lines.append(f"engine method: {', '.join(f'{c} on {n} layer(s)' for c, n in counts.items())} (per layer in --json)")
    return "\n".join(lines + _memory(r) + _agreement(r) + _targets(r))
