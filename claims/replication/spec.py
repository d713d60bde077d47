r"""What a replication computes: a number claim's statistic on **one run** (one training seed, one measurement
batch) of the claim's experiment, written against the project's layer names and types.

The layer selection is the experiment's (:data:`empirics.experiments.EXPERIMENTS`): where the authors measured
named layers, a run must hold every one of them (a run without them measures another statistic: the replication
is ``no data``, naming the layer); layer types are the project's vocabulary (``conv``, ``downsample``, ``head`` …).
Values: ``alpha``, ``r2`` (of the α fit), ``gamma``, ``s`` (the sorted-curvature slope), ``alpha_gamma``
(:math:`\alpha\gamma`), ``err`` (:math:`|s-\alpha\gamma|`), ``rel`` (:math:`100\,|s-\alpha\gamma|/s`, percent) and
``pr_h`` — all recomputed from the run's arrays (:mod:`claims.records`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from empirics.experiments import EXPERIMENTS, project_layer_name
from theory.fits import fit_rank_models

from ..records import Layer, Network
from ..stats import mean, median, std


class ReplicationError(ValueError):
    """A run cannot give the claim's statistic (a layer of the selection is missing, nothing to fit)."""


@dataclass(frozen=True)
class Spec:
    """The statistic of one run, and how a replication of the printed value is judged.

    ``form``: ``point`` (a value, printed to the claim's decimals), ``count`` (exact), ``ge`` (a printed lower
    bound: the re-measurement must not fall below it by more than the band), ``tuple`` (several values printed
    together: a range's min and max, a BIC count per model; each judged, all must replicate).
    ``band``: the documented band of docs/claims-reference.md §3.4 used when only one run exists — ``alpha``
    (±0.05), ``rel`` (±0.5 percentage points), ``pr`` (±0.1), ``bic`` (±2 wins per model), ``count`` (exact),
    or ``""`` (none documented: the printed precision only)."""

    experiment: str
    stat: Callable[[Network], Any]
    what: str
    form: str = "point"
    band: str = ""
    epoch: int | None = None  # the checkpoint epoch to use (None: the run's last)


FIELDS: dict[str, Callable[[Layer], float]] = {
    "alpha": lambda x: x.alpha,
    "r2": lambda x: x.r2,
    "gamma": lambda x: x.gamma,
    "s": lambda x: x.s,
    "alpha_gamma": lambda x: x.alpha * x.gamma,
    "err": lambda x: abs(x.s - x.alpha * x.gamma),
    "rel": lambda x: 100 * x.relerr,
    "pr_h": lambda x: x.pr_h,
    "n_dirs": lambda x: float(min(x.shape)) if x.shape else math.nan,
}
REDUCE: dict[str, Callable[[list[float]], float]] = {
    "mean": mean,
    "median": median,
    "std": lambda v: std(v, 0),
    "min": lambda v: min(v) if v else math.nan,
    "max": lambda v: max(v) if v else math.nan,
    "n": lambda v: float(len(v)),
}


def selected(net: Network, experiment: str, types: tuple[str, ...] = ()) -> list[Layer]:
    """The run's layers under the experiment's selection (its named layers, all of them present), of ``types``."""
    exp = EXPERIMENTS[experiment]
    layers = net.layers
    if exp.layer_names:
        want = [project_layer_name(experiment, n) for n in exp.layer_names]
        have = {x.name for x in layers}
        missing = [w for w in want if w not in have]
        if missing:
            raise ReplicationError(f"{net.file} lacks layer(s) {', '.join(missing[:4])} of {experiment}'s selection")
        layers = [x for x in layers if x.name in want]
    return [x for x in layers if not types or x.type in types]


def named(net: Network, experiment: str, name: str) -> Layer:
    """The run's layer the authors call ``name`` (mapped to the project's name)."""
    want = project_layer_name(experiment, name)
    hits = [x for x in net.layers if x.name == want]
    if len(hits) != 1:
        raise ReplicationError(f"{net.file} has no layer {want!r} ({name!r} in the paper)")
    return hits[0]


def agg(experiment: str, field: str, how: str, types: tuple[str, ...], what: str, **kw: Any) -> Spec:
    """``how`` (mean, median, std ddof 0, min, max, n) of ``field`` over the selected layers of ``types``."""

    def stat(net: Network) -> float:
        vals = [FIELDS[field](x) for x in selected(net, experiment, types)]
        vals = [v for v in vals if math.isfinite(v)]
        if not vals:
            raise ReplicationError(f"{net.file}: no layer of type {'/'.join(types)} with a finite {field}")
        return REDUCE[how](vals)

    return Spec(experiment, stat, what, **kw)


def span(experiment: str, field: str, types: tuple[str, ...], what: str, **kw: Any) -> Spec:
    """(min, max) of ``field`` over the selected layers of ``types`` (a printed range)."""

    def stat(net: Network) -> tuple[float, float]:
        vals = [v for x in selected(net, experiment, types) if math.isfinite(v := FIELDS[field](x))]
        if not vals:
            raise ReplicationError(f"{net.file}: no layer of type {'/'.join(types)}")
        return min(vals), max(vals)

    return Spec(experiment, stat, what, form="tuple", **kw)


def one(experiment: str, name: str, field: str, what: str, **kw: Any) -> Spec:
    """``field`` of one named layer."""

    def stat(net: Network) -> float:
        return FIELDS[field](named(net, experiment, name))

    return Spec(experiment, stat, what, **kw)


def custom(experiment: str, stat: Callable[[Network], Any], what: str, **kw: Any) -> Spec:
    return Spec(experiment, stat, what, **kw)


def bic_counts(experiment: str) -> Callable[[Network], tuple[float, float, float]]:
    """(PL, EXP, LN) BIC winners of the σ profiles of every selected layer (refit, theory.fits)."""

    def stat(net: Network) -> tuple[float, float, float]:
        wins = [fit_rank_models(x.extra["sigma"]) for x in selected(net, experiment) if "sigma" in x.extra]
        labels = [w.winner for w in wins if w.ok]
        return tuple(float(sum(w == m for w in labels)) for m in ("power_law", "exponential", "lognormal"))  # type: ignore[return-value]

    return stat


def kron_of(x: Layer, key: str) -> np.ndarray:
    """A per-direction array of a project layer's ``kron`` block (finite values), or raise."""
    k = x.extra.get("kron")
    if k is None or not k.has(key):
        raise ReplicationError(f"layer {x.name} stores no kron.{key}")
    a = k[key].arr()
    return a[np.isfinite(a)]


def chi_exponent(experiment: str, name: str) -> Callable[[Network], float]:
    """round(log10 median χ) of a named layer (χ > 0 on directions with σ > 0), as App. D prints it."""

    def stat(net: Network) -> float:
        x = named(net, experiment, name)
        k = x.extra.get("kron")
        if k is None or not k.has("chi"):
            raise ReplicationError(f"layer {x.name} stores no kron.chi")
        chi = k["chi"].arr()
        ok = np.isfinite(chi) & (chi > 0) & (x.extra["sigma"] > 0)
        if not ok.any():
            raise ReplicationError(f"layer {x.name}: no positive χ")
        return float(round(math.log10(float(np.median(chi[ok])))))

    return stat


def conc_median(experiment: str, name: str) -> Callable[[Network], float]:
    """The median of a named layer's SoP/PoS concentration ratios (sel. E)."""

    def stat(net: Network) -> float:
        a = kron_of(named(net, experiment, name), "concentration_ratio")
        if not a.size:
            raise ReplicationError(f"{name}: no concentration ratio")
        return float(np.median(a))

    return stat
