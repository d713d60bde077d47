"""Rendering outcomes: the verify table (plain text or markdown), JSON rows, and one claim's details."""

from __future__ import annotations

import math
from typing import Any

from .context import DEFAULT
from .model import FAILS, HOLDS, INCONCLUSIVE, INTEGRITY, LAW, NO_DATA, NUMBER, Claim, Outcome, printed_display
from .tolerance import fmt
from .uncertainty.judge import Unit


def printed_text(c: Claim, o: Outcome | None = None) -> str:
    """The printed value as the paper prints it, a band named in it filled in from the outcome's evaluation."""
    return (o.context if o is not None else DEFAULT).render(printed_display(c.printed, c.decimals))


def tolerance_text(c: Claim, o: Outcome | None = None) -> str:
    """The tolerance rule, with the bands of the evaluation that judged the outcome."""
    return (o.context if o is not None else DEFAULT).render(c.tolerance)


def measured_text(c: Claim, o: Outcome) -> str:
    if o.measured is None:
        return "—"
    d = c.decimals if isinstance(c.decimals, int) else None
    return fmt(o.measured, d)


def jsonable(x: Any) -> Any:
    if isinstance(x, float):
        return x if math.isfinite(x) else None
    if isinstance(x, (list, tuple)):
        return [jsonable(v) for v in x]
    if isinstance(x, dict):
        return {str(k): jsonable(v) for k, v in x.items()}
    if hasattr(x, "item"):  # numpy scalar
        return jsonable(x.item())
    return x


def row(c: Claim, o: Outcome) -> dict:
    printed = list(c.printed) if isinstance(c.printed, tuple) else c.printed
    return {
        "id": c.id,
        "kind": c.kind,
        "location": c.location,
        "statement": c.statement,
        "printed": jsonable(o.context.render(printed) if isinstance(printed, str) else printed),
        "decimals": c.decimals,
        "measured": jsonable(o.measured),
        "tolerance": tolerance_text(c, o),
        "verdict": o.verdict,
        "proxy": o.proxy,
        "data": c.data,
        "source": o.source,
        "records": list(o.records),
        "n": len(o.records),
        "selection": c.selection,
        "candidates": [{"rule": k.rule, "value": jsonable(k.value), "n": k.n, "holds": k.holds} for k in o.candidates],
        "violators": list(o.violators),
        "notes": list(o.notes),
        "partial_inputs": list(o.partial_inputs),
        "module": c.module,
        **interval_fields(c, o),
    }


def ci_text(c: Claim, o: Outcome) -> str:
    """A law's 95 % interval on project data ("—" where none)."""
    u = o.uncertainty
    if u is None:
        return "—"
    lo, hi = u.ci
    return f"[{fmt(lo, 2) if u.ci_value is not None or isinstance(u.root, Unit) else int(lo)}, " + (
        f"{fmt(hi, 2)}]" if u.ci_value is not None or isinstance(u.root, Unit) else f"{int(hi)}]"
    )


def replication_text(c: Claim, o: Outcome) -> str:
    """The replication column: the verdict on the project's re-measurement ("—" for a claim that names no
    experiment, and for laws)."""
    return o.replication.label if o.replication is not None else "—"


def interval_fields(c: Claim, o: Outcome) -> dict:
    """A law's interval on data with project measurements (``ci``, ``ci_of``, n's, units, the point verdict),
    and the bands it was judged with when ``--band`` overrode the registry's."""
    out: dict = {}
    if c.kind == LAW and o.uncertainty is not None:
        out.update(jsonable(o.uncertainty.row()))
        out["point_verdict"] = o.point_verdict
    if c.kind == LAW and o.context.bands.overrides():
        out["band_override"] = o.context.bands.override_text()
    if c.kind == NUMBER:
        out["experiment"] = c.experiment or None
        out["experiment_note"] = c.experiment_note
        out["replication"] = jsonable(o.replication.row()) if o.replication is not None else None
    return out


def summary(claims: list[Claim], outs: list[Outcome]) -> str:
    """One line of counts over the paper's claims (integrity checks are counted by :func:`integrity_summary`)."""
    pairs = [(c, o) for c, o in zip(claims, outs, strict=True) if c.kind != INTEGRITY]
    claims, outs = [c for c, _ in pairs], [o for _, o in pairs]
    n = len(claims)
    h = sum(o.verdict == HOLDS for o in outs)
    f = sum(o.verdict == FAILS for o in outs)
    inc = sum(o.verdict == INCONCLUSIVE for o in outs)
    nd = sum(o.verdict == NO_DATA for o in outs)
    px = sum(o.proxy for o in outs)
    registered_nd = sum(c.check is None for c in claims)
    missing = nd - registered_nd
    ev = n - nd
    return (
        f"{n} claims coded; {ev} evaluated against data: {h} hold, {f} fail, {inc} inconclusive ({px} of them proxy); "
        f"{nd} no data ({registered_nd} in the NO DATA register, {missing} with a backing file missing or no applicable layers); "
        f"0 skipped"
    )


def replication_summary(claims: list[Claim], outs: list[Outcome]) -> str:
    """One line over the number claims' replication verdicts (proxy runs shown, never counted)."""
    reps = [o.replication for o in outs if o.replication is not None]
    if not reps:
        return ""
    counted = [r for r in reps if not r.proxy]
    by = {v: sum(r.verdict == v for r in counted) for v in ("replicates", "does not replicate", INCONCLUSIVE)}
    proxy = sum(r.proxy and r.verdict != NO_DATA for r in reps)
    nd = sum(r.verdict == NO_DATA for r in reps)
    return (
        f"replication (number claims with an experiment, {len(reps)}): {by['replicates']} replicate, "
        f"{by['does not replicate']} do not, {by[INCONCLUSIVE]} inconclusive; {proxy} judged on proxy runs only "
        f"(shown, not counted); {nd} no data (no re-measurement of their experiment, or not computable)"
    )


def integrity_summary(claims: list[Claim], outs: list[Outcome]) -> str:
    """One line: how many files were cross-checked, how many stored fields, and which files disagree."""
    rows = [(c, o) for c, o in zip(claims, outs, strict=True) if c.kind == INTEGRITY]
    if not rows:
        return "integrity: no results file to cross-check"
    fields = sum(o.measured[1] for _, o in rows if isinstance(o.measured, (list, tuple)))
    bad = [c.id for c, o in rows if o.verdict == FAILS]
    return (
        f"integrity: {len(rows)} files cross-checked ({fields} stored fields recomputed, see docs/integrity.md): "
        + (f"{len(bad)} disagree: {', '.join(bad)}" if bad else "all agree")
    )


def integrity_details(claims: list[Claim], outs: list[Outcome], per_file: int = 10) -> list[str]:
    """The disagreements of every failing integrity check (at most ``per_file`` lines per file)."""
    lines = []
    for c, o in zip(claims, outs, strict=True):
        if c.kind == INTEGRITY and o.verdict == FAILS:
            lines.append(f"{c.id}: {len(o.violators)} stored field(s) disagree with their recomputation:")
            lines += [f"  {v}" for v in o.violators[:per_file]]
            if len(o.violators) > per_file:
                lines.append(f"  … and {len(o.violators) - per_file} more (python -m claims show {c.id})")
    return lines


def partial_summary(outs: list[Outcome]) -> str:
    """One line naming the incomplete files the verdicts used ("" when none)."""
    files = sorted({f for o in outs for f in o.partial_inputs})
    if not files:
        return ""
    n = sum(bool(o.partial_inputs) for o in outs)
    return (
        f"partial inputs: {', '.join(files)} (complete: false): {n} verdicts use them and are marked (partial); "
        "they may change when the runs finish"
    )


def _short(s: str, n: int) -> str:
    return s if len(s) <= n else s[: n - 1] + "…"


def table(claims: list[Claim], outs: list[Outcome]) -> str:
    hdr = ("id", "location", "printed", "measured", "95% ci", "tolerance", "verdict", "replication", "source")
    rows = [
        (
            c.id,
            c.location,
            _short(printed_text(c, o), 22),
            _short(measured_text(c, o), 28),
            ci_text(c, o),
            _short(tolerance_text(c, o), 34),
            o.label,
            replication_text(c, o),
            _short(o.source + (f" ({len(o.records)} records)" if o.records else ""), 70),
        )
        for c, o in zip(claims, outs, strict=True)
    ]
    w = [max(len(r[i]) for r in [hdr, *rows]) for i in range(len(hdr))]
    lines = ["  ".join(x.ljust(w[i]) for i, x in enumerate(r)).rstrip() for r in [hdr, *rows]]
    lines.insert(1, "  ".join("-" * x for x in w))
    return "\n".join(lines)


def markdown(claims: list[Claim], outs: list[Outcome]) -> str:
    lines = [
        "| id | where | printed | measured | 95% ci | tolerance | verdict | replication | source |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for c, o in zip(claims, outs, strict=True):
        cells = [
            f"`{c.id}`",
            c.location,
            printed_text(c, o),
            measured_text(c, o),
            ci_text(c, o),
            tolerance_text(c, o),
            f"**{o.label}**" if o.verdict == FAILS else o.label,
            replication_text(c, o),
            o.source + (f" (n={len(o.records)})" if o.records else ""),
        ]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)


def show(c: Claim, o: Outcome) -> str:
    out = [
        f"{c.id}  [{c.kind}]  {c.location}  (defined in {c.module})",
        f"  statement : {c.statement}",
        f"  printed   : {printed_text(c, o)}" + (f"  ({c.decimals} dp)" if c.decimals is not None else ""),
        f"  rule      : {c.selection}",
        f"  tolerance : {tolerance_text(c, o)}",
        f"  data      : {c.data}" + (f"; backing files: {', '.join(c.files)}" if c.files else ""),
        f"  measured  : {measured_text(c, o)}",
        f"  verdict   : {o.label}",
        f"  source    : {o.source}",
    ]
    if o.records:
        out.append(f"  records (n={len(o.records)}): " + ", ".join(o.records))
    if o.candidates:
        out.append("  candidate rules:")
        for k in o.candidates:
            hv = "" if k.holds is None else ("  → would hold" if k.holds else "  → would fail")
            out.append(f"    - {k.rule}: {fmt(k.value, c.decimals)}" + (f" (n={k.n})" if k.n is not None else "") + hv)
    if o.violators:
        out.append(f"  violators ({len(o.violators)}):")
        out += [f"    - {v}" for v in o.violators]
    for n in o.notes:
        out.append(f"  note: {n}")
    out += interval_lines(c, o) + replication_lines(c, o)
    if c.nearest and o.verdict == NO_DATA:
        out.append(f"  nearest data (diagnostic only, never a pass): {c.nearest}")
    return "\n".join(out)


def interval_lines(c: Claim, o: Outcome) -> list[str]:
    """``show``: how the interval verdict on project data was reached, unit by unit."""
    u = o.uncertainty
    if u is None:
        return []
    n = u.counts()
    out = [
        f"  interval  : {ci_text(c, o)} = {u.ci_of}; verdict {o.verdict} (the point value alone: {o.point_verdict})",
        f"  n's       : seeds {n['n_seeds']}, batches {n['n_batches']} (fewest per seed), layers {n['n_layers']}, "
        f"project networks {n['n_networks']}, units {n['n_units']}",
        "  rule      : each unit holds if its 95 % interval lies inside its band, fails if outside, else inconclusive "
        "(docs/claims-reference.md §3.5)",
    ]
    if o.context.bands.overrides():
        out.append(f"  bands     : {o.context.bands.override_text()}")
    for x in u.leaves():
        ci = f"[{fmt(x.ci[0])}, {fmt(x.ci[1])}]" if x.ci is not None else "frozen (authors' file)"
        ns = f"; {x.n_seeds} seed(s) × {x.n_batches} batch(es)" if x.n_seeds is not None else ""
        ns += f", {x.n_layers} layer(s)" if x.n_layers is not None and x.ci is not None else ""
        out.append(f"    - {x.label}: {fmt(x.point)} {ci} vs {x.region.text()} → {x.verdict}{ns}")
    return out


def replication_lines(c: Claim, o: Outcome) -> list[str]:
    """``show``: the experiment of a number claim and its replication verdict."""
    if c.kind != NUMBER:
        return []
    if not c.experiment:
        return [f"  experiment: none ({c.experiment_note})"]
    r = o.replication
    out = [f"  experiment: {c.experiment}"]
    if r is None:
        return out
    out.append(f"  replication: {r.label} — {r.source}")
    if r.measured is not None:
        out.append(
            f"    measured {fmt(r.measured, c.decimals)}, 95 % ci {fmt(r.ci, c.decimals)}, band {fmt(r.band, c.decimals)}"
        )
        out.append(f"    band from: {r.band_from}")
        out.append(f"    runs: {r.n_runs} ({r.n_seeds} seed(s), ≥ {r.n_batches} batch(es) per seed)")
    out += [f"    note: {n}" for n in r.notes]
    out.append(
        "    rule: replicates if the measured interval lies inside the band around the printed value, does not "
        "replicate if outside, else inconclusive; proxy runs are shown, never counted (docs/claims-reference.md §3.4)"
    )
    return out


def law_table(claims: list[Claim], outs: list[Outcome]) -> str:
    """The README's law table (``verify --laws``): every law judged on data, its measured value, 95 % interval,
    the n's behind it and its verdict (the point value's verdict beside an interval verdict)."""
    lines = [
        "| claim | where | printed | measured | 95% ci | seeds × batches | layers / networks | verdict |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for c, o in zip(claims, outs, strict=True):
        if c.kind != LAW or o.verdict == NO_DATA:
            continue
        u = o.uncertainty
        n = u.counts() if u is not None else {}
        sb = (
            f"{n['n_seeds']} × {n['n_batches']}"
            if n.get("n_batches")
            else (f"{n['n_seeds']} seeds" if n.get("n_seeds") else "—")
        )
        ln = f"{n['n_layers'] or '—'} / {n['n_networks'] or '—'}" if u is not None else "—"
        verdict = o.label + (f" (point: {o.point_verdict})" if u is not None and o.point_verdict != o.verdict else "")
        cells = [f"`{c.id}`", c.location, printed_text(c, o), measured_text(c, o), ci_text(c, o), sb, ln, verdict]
        lines.append("| " + " | ".join(x.replace("|", "\\|") for x in cells) + " |")
    return "\n".join(lines)
