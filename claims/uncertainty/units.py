r"""Judged units of the law claims, built from the project's replicated networks (:mod:`claims.replicates`).

* :func:`population_unit` — a statistic of a set of a network's layers (median α of its conv layers, the
  median transfer error …): seeds, batches within seed **and layers** are resampled
  (:mod:`claims.uncertainty.resample`); the layers are a sample of the layer type the law speaks about.
* :func:`layer_units` — one unit per layer for statements about **each** layer ("every head has α < 2",
  "|slope| ≤ band for most conv layers"): seeds and batches are resampled, the layer is fixed.
* :func:`values_unit` — one unit from a value per cell computed by the caller (a trajectory's per-seed change).

Every unit records the n's behind it (seeds, the fewest batches of a seed, layers) and the network label.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..bundle import Bundle
from ..context import Context
from ..records import Layer
from ..replicates import Replicated
from .judge import Region, Unit
from .resample import interval, label_seed, layer_draws, point_weights, top_level, weighted_means

#: a per-layer value, and a row-wise statistic of a (draws × layers) matrix
Value = Callable[[Layer], float]
RowStat = Callable[[np.ndarray], np.ndarray]


def population_unit(
    b: Bundle,
    ctx: Context,
    g: Replicated,
    names: list[str],
    value: Value,
    stat: RowStat,
    point: float,
    region: Region,
    label: str,
) -> Unit:
    """A statistic of the network's layers ``names``: its point value, and the interval of the nested bootstrap
    over seeds, batches and layers."""
    return population_unit_of(b, ctx, g, [g.values(names, value)], lambda ms: stat(ms[0]), point, region, label, names)


def population_unit_of(
    b: Bundle,
    ctx: Context,
    g: Replicated,
    values: list[np.ndarray],
    stat: Callable[[list[np.ndarray]], np.ndarray],
    point: float,
    region: Region,
    label: str,
    names: list[str],
) -> Unit:
    """As :func:`population_unit` for a statistic of several per-layer quantities at once (each a
    ``(n_cells, n_layers)`` array of :meth:`Replicated.values`): every quantity is resampled with the same
    cells and the same layers in a draw, and ``stat`` maps the list of ``(draws, layers)`` matrices to draws."""
    bs = ctx.bootstrap
    w = g.weights(b, bs.draws, bs.seed)
    rng = np.random.default_rng([bs.seed, label_seed(g.label, "layers", *names)])
    idx = layer_draws(len(names), bs.draws, rng)
    draws = stat([np.take_along_axis(weighted_means(w, v), idx, axis=1) for v in values])
    ci = interval(draws, top_level(g.n_seeds, g.batches, len(names)), bs.level)
    return Unit(label, point, region, ci, g.n_seeds, min(g.batches), len(names), g.label)


def layer_units(
    b: Bundle,
    ctx: Context,
    g: Replicated,
    names: list[str],
    value: Value,
    region: Region | Callable[[int], Region],
    label: Callable[[str], str] | None = None,
) -> list[Unit]:
    """One unit per layer: the hierarchical mean of its value over the cells, with the interval of the
    seed → batch bootstrap (the layer itself is not resampled). ``region`` may depend on the layer's index;
    units are labelled ``<network>/<layer>`` unless ``label`` says otherwise."""
    bs = ctx.bootstrap
    v = g.values(names, value)
    point = weighted_means(_point_w(g), v)
    m = weighted_means(g.weights(b, bs.draws, bs.seed), v)
    n_top = top_level(g.n_seeds, g.batches, None)
    out = []
    for j, nm in enumerate(names):
        reg = region(j) if callable(region) else region
        ci = interval(m[:, j], n_top, bs.level)
        name = label(nm) if label is not None else f"{g.label}/{nm}"
        out.append(Unit(name, float(point[j]), reg, ci, g.n_seeds, min(g.batches), 1, g.label))
    return out


def values_unit(
    b: Bundle, ctx: Context, g: Replicated, per_cell: np.ndarray, region: Region, label: str, n_layers: int = 1
) -> Unit:
    """A unit from one value per cell of ``g`` (in cell order): hierarchical mean and seed → batch interval."""
    bs = ctx.bootstrap
    v = np.asarray(per_cell, float).reshape(-1, 1)
    point = float(weighted_means(_point_w(g), v)[0])
    draws = weighted_means(g.weights(b, bs.draws, bs.seed), v)[:, 0]
    ci = interval(draws, top_level(g.n_seeds, g.batches, None), bs.level)
    return Unit(label, point, region, ci, g.n_seeds, min(g.batches), n_layers, g.label)


def _point_w(g: Replicated) -> np.ndarray:
    return point_weights(g.seed_index)


def measurement_notes(groups: list[Replicated], layers_resampled: bool) -> list[str]:
    """What the intervals rest on: says so plainly when a network was measured once."""
    once = [g.label for g in groups if len(g.cells) == 1]
    notes = []
    if once:
        what = "only the resampled layers vary" if layers_resampled else "nothing varies: the interval is the point"
        notes.append(
            f"{len(once)} of {len(groups)} project network(s) measured once (1 seed × 1 batch: "
            f"{', '.join(once[:4])}{' …' if len(once) > 4 else ''}): {what}; no measurement noise is estimated"
        )
    one_seed = [g.label for g in groups if g.n_seeds == 1 and len(g.cells) > 1]
    if one_seed:
        notes.append(
            f"{len(one_seed)} project network(s) with one training seed ({', '.join(one_seed[:4])}): "
            "their intervals hold batch (and layer) variation only, not seed-to-seed variation"
        )
    return notes
