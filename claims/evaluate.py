"""Evaluate claims against a :class:`Bundle`: missing backing file → `no data`; NO DATA register → `no data`;
PROXY claims carry the proxy flag; unusable data inside a present file propagates as :class:`InputError`."""

from __future__ import annotations

from .bundle import FILE_KEYS, Bundle
from .model import NO_DATA, Claim, Outcome


def evaluate(claim: Claim, bundle: Bundle) -> Outcome:
    if claim.check is None:
        note = f"nearest data (diagnostic only): {claim.nearest}" if claim.nearest else ""
        return Outcome(NO_DATA, None, "no file holds this quantity", notes=[note] if note else [])
    missing = [FILE_KEYS[k] for k in claim.files if not bundle.has(k)]
    if missing:
        return Outcome(NO_DATA, None, "missing: " + ", ".join(missing))
    out = claim.check(bundle)
    out.notes += drift_for(bundle, out.records)
    if claim.data == "proxy":
        out.proxy = True
    if claim.data == "partial":
        out.notes.append("PARTIAL: only part of the claim has backing data (see the statement)")
    return out


def drift_for(bundle: Bundle, records: list[str]) -> list[str]:
    """Summary-drift notes (stored field ≠ recomputation) of the networks whose records a claim used."""
    from .records import all_networks

    labels = {r.rsplit("/", 1)[0] for r in records if "/" in r}
    if not labels:
        return []
    return [f"summary drift: {d}" for n in all_networks(bundle) if n.label in labels for d in n.drift]


def all_drift(bundle: Bundle) -> list[str]:
    from .records import all_networks

    return [d for n in all_networks(bundle) for d in n.drift]
