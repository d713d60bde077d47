"""Law claims (CLAIMS.md §3.2): a predicate evaluated per network, on every file with layers of the
right type — the authors' files and the project's own ``sad-results/1`` files — listing violators."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from ..bundle import Bundle
from ..checks import Measure, MeasureFn
from ..context import Context
from ..model import Candidate
from ..perturb import Docs, flip, rec_from_ref, set_alpha
from ..records import ALPHA_FILES, Layer, Network, final_checkpoints, networks, ref


def population(b: Bundle, keys: Iterable[str] | None = None) -> list[Network]:
    """The trained networks of these file keys (default: every α file and the project's files); of a
    project training trajectory only its last checkpoint counts (``records.final_checkpoints``)."""
    keys = (*ALPHA_FILES, "project") if keys is None else keys
    return [n for k in keys for n in (final_checkpoints(networks(b, k)) if k == "project" else networks(b, k))]


def per_network(
    types: tuple[str, ...],
    stat: Callable[[list[Layer]], float],
    ok: Callable[[float, Context], bool],
    what: str,
    keys: Iterable[str] | None = None,
    value: Callable[[Layer], float] = lambda x: x.alpha,
) -> MeasureFn:
    """Holds iff ``ok(stat(layers of these types), ctx)`` for every network that has such layers."""

    def measure(b: Bundle, ctx: Context) -> Measure:
        per, refs = [], []
        for n in population(b, keys):
            layers = [x for x in n.of_type(*types) if math.isfinite(value(x))]
            if layers:
                v = stat(layers)
                per.append((n, layers, v, ok(v, ctx)))
                refs += [ref(n, x) for x in layers]
        if not per:
            return Measure(None, f"no layer of type {'/'.join(types)} in any file")
        good = sum(g for *_, g in per)
        viol = [f"{n.label}: {what} = {v:.3f} over {len(L)} layers" for n, L, v, g in per if not g]
        cands = [Candidate(f"{n.label}", v, len(L), g) for n, L, v, g in per]
        return Measure(
            (good, len(per)),
            f"{what} per network, layer types {'/'.join(types)}; value = (networks ok, networks)",
            refs,
            cands,
            violators=viol,
        )

    return measure


def first_network(records: list[str]) -> list[str]:
    """The record references of the first network among ``records`` (the network label before the last "/")."""
    first = records[0].rsplit("/", 1)[0]
    return [r for r in records if r.rsplit("/", 1)[0] == first]


def alpha_perturb(bad: float, good: float):
    """Away: set every layer of the first network's selection to α = bad. Towards: set every selected layer to α = good."""

    def away(docs: Docs, out) -> None:
        for r in first_network(out.records):
            set_alpha(rec_from_ref(docs, r), bad)

    def toward(docs: Docs, out) -> None:
        for r in out.records:
            set_alpha(rec_from_ref(docs, r), good)

    return flip(away, toward)
