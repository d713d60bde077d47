r"""The replication verdict of a number claim on the project's re-measurements of its experiment.

**Which runs.** The project networks (:mod:`claims.replicates`) whose ``run.experiment.id`` is the claim's
experiment, at the spec's checkpoint epoch (else each run's last). Runs that are not proxies are used when
there are any; otherwise the proxy runs are judged and shown — labelled ``(proxy)`` and never counted as a
replication (``run.experiment.proxy`` or a scale other than full size, :func:`empirics.experiments.is_proxy`).
Two different networks (``run_name``) of one experiment are ambiguous: ``no data``, naming them.

**Measured and its interval.** The claim's statistic on every run (cell) :math:`x_{sb}`; the measured value
is their balanced hierarchical mean (over batches, then seeds) and its 95 % interval the widened nested
bootstrap over seeds and batches (:mod:`claims.uncertainty.resample`; no layer resampling: the experiment
fixes its layers).

**Band.** How far a single run of the experiment may lie from the printed value: with :math:`n\ge2` runs,

.. math:: h = t_{m-1,\,0.975}\sqrt{1+1/m}\;\hat\sigma_{\rm run} + \tfrac12 10^{-d},\qquad
          \hat\sigma^2_{\rm run}=\hat\sigma^2_{\rm seed}+\hat\sigma^2_{\rm batch},

a prediction interval for one new run (:math:`m` = seeds, or batches of a single seed; :math:`\hat\sigma^2_{\rm
seed}` the variance of the seed means, :math:`\hat\sigma^2_{\rm batch}` the pooled within-seed variance, both
ddof 1), widened by the printed rounding (:math:`d` decimals). With one run there is no spread to measure: the
documented band of docs/claims-reference.md §3.4 is used and labelled so (±0.05 on α, ±0.5 points on a rel err,
±0.1 on a PR, ±2 BIC wins, counts exact; where none is documented, the printed precision).

**Verdict.** The measured interval against :math:`[p-h,\,p+h]` around the printed :math:`p` (``ge`` claims:
:math:`[p-h,\infty)`): inside — ``replicates``; disjoint — ``does not replicate``; straddling — ``inconclusive``.
Several printed values (a range, a count per model) replicate only if each does.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from empirics.experiments import EXPERIMENTS

from ..bundle import Bundle
from ..context import Context
from ..model import FAILS, HOLDS, INCONCLUSIVE, NO_DATA, NUMBER, Claim
from ..replicates import Replicated, groups
from ..tolerance import half
from ..uncertainty.judge import Region
from ..uncertainty.resample import interval, point_weights, t_quantile, top_level, weighted_means
from .spec import ReplicationError, Spec

REPLICATES, NOT_REPLICATED = "replicates", "does not replicate"
#: the documented single-run bands of docs/claims-reference.md §3.4
DOCUMENTED = {"alpha": 0.05, "rel": 0.5, "pr": 0.1, "bic": 2.0, "count": 0.0}
_WORD = {HOLDS: REPLICATES, FAILS: NOT_REPLICATED, INCONCLUSIVE: INCONCLUSIVE}


@dataclass
class Replication:
    """A number claim's verdict on the project's re-measurement of its experiment."""

    verdict: str
    experiment: str
    measured: Any = None
    ci: Any = None
    band: Any = None  # [p − h, p + h] around the printed value (a list of them for several values)
    band_from: str = ""
    n_runs: int = 0
    n_seeds: int = 0
    n_batches: int = 0
    proxy: bool = False
    source: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def label(self) -> str:
        return self.verdict + (" (proxy)" if self.proxy and self.verdict != NO_DATA else "")

    @property
    def counts(self) -> bool:
        """Whether it counts as a replication result (a decided verdict on runs that are not proxies)."""
        return self.verdict in (REPLICATES, NOT_REPLICATED) and not self.proxy

    def row(self) -> dict:
        return {
            "verdict": self.verdict,
            "experiment": self.experiment,
            "measured": self.measured,
            "ci": self.ci,
            "band": self.band,
            "band_from": self.band_from,
            "n_runs": self.n_runs,
            "n_seeds": self.n_seeds,
            "n_batches": self.n_batches,
            "proxy": self.proxy,
            "source": self.source,
            "notes": list(self.notes),
        }


def _runs(b: Bundle, spec: Spec) -> tuple[list[Replicated], bool, str]:
    """The networks of the spec's experiment (at its epoch), whether they are proxies, and why none."""
    mine = [g for g in groups(b) if (g.experiment or {}).get("id") == spec.experiment]
    if not mine:
        return [], False, f"no project file of experiment {spec.experiment} (run.experiment.id)"
    real = [g for g in mine if not g.proxy]
    use, proxy = (real, False) if real else (mine, True)
    if spec.epoch is not None:
        use = [g for g in use if g.epoch == spec.epoch]
        if not use:
            return [], proxy, f"no run of {spec.experiment} at epoch {spec.epoch}"
    else:
        last: dict[str, int] = {}
        for g in use:
            if g.epoch is not None:
                last[g.run_name] = max(last.get(g.run_name, g.epoch), g.epoch)
        use = [g for g in use if g.epoch is None or g.epoch == last.get(g.run_name)]
    return use, proxy, ""


def _spread(g: Replicated, x: np.ndarray) -> float:
    """σ̂_run: √(variance of the seed means + pooled within-seed variance), ddof 1 (0 where not estimable)."""
    s = g.seed_index
    means = np.array([x[s == j].mean() for j in range(g.n_seeds)])
    between = float(means.var(ddof=1)) if g.n_seeds >= 2 else 0.0
    dof = sum(int((s == j).sum()) - 1 for j in range(g.n_seeds))
    within = sum(float(((x[s == j] - means[j]) ** 2).sum()) for j in range(g.n_seeds)) / dof if dof > 0 else 0.0
    return math.sqrt(between + within)


def _prediction_factor(m: int) -> float:
    """t_{m−1, 0.975}·√(1 + 1/m): a 95 % prediction interval for one new run from m units."""
    return t_quantile(m - 1, 0.975) * math.sqrt(1.0 + 1.0 / m)


def _judge(p: float, m: float, ci: tuple[float, float], h: float, form: str) -> str:
    region = Region(p - h, math.inf) if form == "ge" else Region(p - h, p + h)
    return _WORD[region.judge(*ci)]


def replicate(c: Claim, b: Bundle, ctx: Context) -> Replication | None:
    """The replication of number claim ``c`` on folder ``b`` (None: the claim names no experiment)."""
    if c.kind != NUMBER or not c.experiment:
        return None
    spec = c.replicate
    if spec is None:
        return Replication(NO_DATA, c.experiment, source=f"not computed: {c.experiment_note}")
    use, proxy, why = _runs(b, spec)
    if not use:
        return Replication(NO_DATA, c.experiment, proxy=proxy, source=why)
    if len({g.run_name or g.label for g in use}) > 1:
        names = ", ".join(sorted({g.run_name or g.label for g in use}))
        return Replication(NO_DATA, c.experiment, proxy=proxy, source=f"ambiguous: several networks of it ({names})")
    (g,) = use[:1]
    try:
        vals = np.array([np.atleast_1d(np.asarray(spec.stat(cell.net), float)) for cell in g.cells])
    except ReplicationError as e:
        return Replication(NO_DATA, c.experiment, proxy=proxy, source=str(e))
    printed = np.atleast_1d(np.asarray(c.printed, float))
    if vals.shape[1] != printed.size:
        raise ValueError(f"{c.id}: statistic has {vals.shape[1]} values, printed {printed.size}")
    bs = ctx.bootstrap
    w = g.weights(b, bs.draws, bs.seed)
    meas = weighted_means(point_weights(g.seed_index), vals)
    draws = weighted_means(w, vals)
    n_top = top_level(g.n_seeds, g.batches, None)
    rounding = half(c.decimals) if isinstance(c.decimals, int) else 0.0
    n_runs = len(g.cells)
    if n_runs >= 2:
        factor = _prediction_factor(n_top)
        hs = [factor * _spread(g, vals[:, k]) + rounding for k in range(printed.size)]
        band_from = f"spread of {n_runs} runs ({g.describe()}): t·√(1+1/m)·σ̂_run + printed rounding, m = {n_top}"
        if g.n_seeds == 1:
            band_from += "; one training seed: batch spread only"
    else:
        doc = DOCUMENTED.get(spec.band)
        hs = [doc if doc is not None else rounding] * printed.size
        band_from = (
            f"documented band (docs/claims-reference.md §3.4, {spec.band}): one run, no spread measured"
            if doc is not None
            else "one run and no documented band: the printed precision only"
        )
    cis, verdicts = [], []
    for k in range(printed.size):
        ci = interval(draws[:, k], n_top, bs.level)
        cis.append([ci[0], ci[1]])
        verdicts.append(_judge(float(printed[k]), float(meas[k]), ci, hs[k], spec.form))
    verdict = (
        NOT_REPLICATED
        if NOT_REPLICATED in verdicts
        else REPLICATES
        if all(v == REPLICATES for v in verdicts)
        else INCONCLUSIVE
    )
    one = printed.size == 1
    bands = [[float(p - h), math.inf if spec.form == "ge" else float(p + h)] for p, h in zip(printed, hs, strict=True)]
    exp = EXPERIMENTS[spec.experiment]
    notes = [f"{spec.what}; experiment: {exp.what}"]
    if proxy:
        reasons = sorted(
            {
                str((cell.experiment or {}).get("proxy_reason") or "scale " + str((cell.experiment or {}).get("scale")))
                for cell in g.cells
            }
        )
        notes.append("proxy runs (shown, never counted as a replication): " + "; ".join(reasons))
    return Replication(
        verdict,
        spec.experiment,
        float(meas[0]) if one else [float(v) for v in meas],
        cis[0] if one else cis,
        bands[0] if one else bands,
        band_from,
        n_runs,
        g.n_seeds,
        min(g.batches),
        proxy,
        f"{g.label}: {', '.join(g.files[:3])}{' …' if len(g.files) > 3 else ''}",
        notes,
    )
