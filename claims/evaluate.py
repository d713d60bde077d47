"""Evaluate claims against a :class:`Bundle` with the settings of one run (:class:`~claims.context.Context`):
missing backing file → `no data`; NO DATA register → `no data`; PROXY claims carry the proxy flag; a verdict
built on an incomplete project file (``complete: false``) carries the ``partial`` mark; unusable data inside a
present file propagates as :class:`InputError`."""

from __future__ import annotations

from .bundle import FILE_KEYS, Bundle
from .context import DEFAULT, Context
from .integrity import tally_of
from .model import INTEGRITY, NO_DATA, Claim, Outcome
from .records import record_file
from .replicates import record_files
from .replication.judge import replicate


def evaluate(claim: Claim, bundle: Bundle, ctx: Context = DEFAULT) -> Outcome:
    """The outcome of one claim on one folder, judged with the settings ``ctx``; a number claim also gets its
    replication verdict on the project's re-measurements of its experiment (:mod:`claims.replication`)."""
    out = _judge(claim, bundle, ctx)
    out.replication = replicate(claim, bundle, ctx)
    return out


def _judge(claim: Claim, bundle: Bundle, ctx: Context) -> Outcome:
    if claim.check is None:
        note = f"nearest data (diagnostic only): {claim.nearest}" if claim.nearest else ""
        return Outcome(NO_DATA, None, "no file holds this quantity", notes=[note] if note else [], context=ctx)
    missing = [FILE_KEYS[k] for k in claim.files if not bundle.has(k)]
    if missing:
        return Outcome(NO_DATA, None, "missing: " + ", ".join(missing), context=ctx)
    out = claim.check(bundle, ctx)
    out.context = ctx
    if out.verdict != NO_DATA:
        out.partial_inputs = partial_inputs(bundle, out.records)
        out.notes += [
            f"partial input: {f} is incomplete (complete: false); the verdict may change when its run finishes"
            for f in out.partial_inputs
        ]
        if claim.kind != INTEGRITY:
            out.notes += integrity_notes(bundle, claim, out.records)
    if claim.data == "proxy":
        out.proxy = True
    if claim.data == "partial":
        out.notes.append("PARTIAL: only part of the claim has backing data (see the statement)")
    return out


def integrity_notes(bundle: Bundle, claim: Claim, records: list[str]) -> list[str]:
    """A note per file the verdict rests on whose stored fields disagree with their recomputation."""
    used = {FILE_KEYS[k] for k in claim.files} | {f for r in records for f in files_of(bundle, r)}
    notes = []
    for name in sorted(used):
        t = tally_of(bundle, name)
        if t is not None and t.bad:
            notes.append(
                f"integrity: {name} has {len(t.bad)} stored field(s) that disagree with their recomputation "
                f"(see integrity.{name})"
            )
    return notes


def partial_inputs(bundle: Bundle, records: list[str]) -> list[str]:
    """The incomplete project files (``complete: false``) among the files behind these record references."""
    used = {f for r in records for f in files_of(bundle, r)}
    return sorted(f for f in bundle.incomplete if f in used)


def files_of(bundle: Bundle, record: str) -> list[str]:
    """The files behind a record reference: its file, or every file of a replicated project network."""
    f = record_file(record)
    if f:
        return [f]
    return record_files(bundle, record.rsplit("/", 1)[0]) if "/" in record else []
