"""Law claims (CLAIMS.md §3.2): a predicate evaluated per network, on every file with layers of the
right type — the authors' files and the project's own ``sad-results/1`` files — listing violators.

The project's files enter as replicated networks (:mod:`claims.replicates`: the seeds × batches of one run,
judged on their hierarchical mean), each with the interval of its statistic (:mod:`claims.uncertainty`); the
authors' networks are single frozen measurements judged on their point value as before."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

from ..bundle import Bundle
from ..checks import Measure, MeasureFn
from ..context import Context
from ..model import Candidate
from ..perturb import Docs, flip, rec_from_ref, set_alpha
from ..records import ALPHA_FILES, Layer, Network, networks, ref
from ..replicates import Replicated, final_groups, group_of
from ..uncertainty.judge import Group, Region, Uncertainty, Unit
from ..uncertainty.units import RowStat, layer_units, measurement_notes, population_unit


def population(b: Bundle, keys: Iterable[str] | None = None) -> list[Network]:
    """The trained networks of these file keys (default: every α file and the project's files); the project's
    networks are replicated networks' point networks, of a training trajectory only the last checkpoint
    (:func:`claims.replicates.final_groups`)."""
    keys = (*ALPHA_FILES, "project") if keys is None else keys
    return [n for k in keys for n in ([g.point for g in final_groups(b)] if k == "project" else networks(b, k))]


def uncertainty_of(b: Bundle, root: Group, used: list[Replicated], layers_resampled: bool) -> Uncertainty | None:
    """The law's interval result when project networks are among its units (None: the authors' files only)."""
    if not used:
        return None
    return Uncertainty(root, measurement_notes(used, layers_resampled))


def per_network(
    types: tuple[str, ...],
    stat: Callable[[list[Layer]], float],
    ok: Callable[[float, Context], bool],
    what: str,
    keys: Iterable[str] | None = None,
    value: Callable[[Layer], float] = lambda x: x.alpha,
    *,
    region: Callable[[Context], Region],
    rows: RowStat | None = None,
    each: Callable[[Context], Region] | None = None,
) -> MeasureFn:
    """Holds iff ``ok(stat(layers of these types), ctx)`` for every network that has such layers.

    On a project network the statistic gets an interval: ``rows`` computes it row-wise from the bootstrap's
    (draws × layers) matrix (a population statistic: layers resampled) and it is judged against ``region``;
    with ``each`` instead, every layer's value is judged against that region (a statement about each layer)
    and the network holds iff every layer does."""

    def measure(b: Bundle, ctx: Context) -> Measure:
        per, refs, used = [], [], []
        units: list[Unit | Group] = []
        for n in population(b, keys):
            layers = [x for x in n.of_type(*types) if math.isfinite(value(x))]
            if not layers:
                continue
            v = stat(layers)
            per.append((n, layers, v, ok(v, ctx)))
            refs += [ref(n, x) for x in layers]
            g = group_of(b, n)
            names = [x.name for x in layers]
            if g is None:
                units.append(Unit.frozen(n.label, v, ok(v, ctx), region(ctx), n.label))
            elif each is not None:
                lu = layer_units(b, ctx, g, names, value, each(ctx))
                units.append(Group(n.label, "every", list(lu)))
                used.append(g)
            else:
                assert rows is not None, "per_network needs rows= or each= for project networks"
                units.append(population_unit(b, ctx, g, names, value, rows, v, region(ctx), f"{n.label}: {what}"))
                used.append(g)
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
            uncertainty=uncertainty_of(b, Group("networks", "every", units), used, each is None),
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


def row_units(
    b: Bundle,
    ctx: Context,
    rows: list[tuple[Network, Layer]],
    value: Callable[[Layer], float],
    ok: Callable[[Layer], bool],
    region: Region,
) -> tuple[list[Unit], list[Replicated]]:
    """One judged unit per (network, layer) row: an authors' row is frozen (its verdict is ``ok``), the rows
    of a project network get the interval of their value over its seeds × batches (:func:`layer_units`); a
    project row without a finite value (an unfitted α) is not judged. Returns the units and the project
    networks they came from."""
    units: list[Unit] = []
    names: dict[str, tuple[Replicated, list[str]]] = {}
    for n, x in rows:
        g = group_of(b, n)
        if g is None:
            units.append(Unit.frozen(ref(n, x), value(x), ok(x), region, n.label))
        elif math.isfinite(value(x)):
            names.setdefault(g.label, (g, []))[1].append(x.name)
    for g, nms in names.values():
        units += layer_units(b, ctx, g, nms, value, region)
    return units, [g for g, _ in names.values()]
