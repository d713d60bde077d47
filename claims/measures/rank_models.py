r"""Rank-profile model wins (App. G, App. K, Remark 2(ii), §8): BIC winners refitted from the raw σ arrays
with :func:`theory.fits.fit_rank_models` (BIC = n ln(RSS/n) + p ln n, p = 2, 2, 3) where a file stores them
(alpha_triangle, rmt), counted from the stored per-layer labels where it does not (vgg16, in1k, kronecker)."""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np

from theory.fits import RANK_MODELS, RankModels, fit_rank_models

from ..bundle import Bundle
from ..jsonpath import Node
from ..model import Perturb
from ..perturb import flip
from ..uncertainty.judge import above
from ..uncertainty.resample import point_weights, weighted_means
from ..uncertainty.units import population_unit_of

ORDER = RANK_MODELS  # power_law, exponential, lognormal


def counts(labels: Iterable[str]) -> tuple[int, int, int]:
    """(PL, EXP, LN) wins of a list of winner labels."""
    labels = list(labels)
    pl, ex, ln = (sum(x == m for x in labels) for m in ORDER)
    return pl, ex, ln


def stored_counts(node: Node) -> tuple[int, int, int]:
    """A stored wins dict (models with zero wins omitted → 0)."""
    pl, ex, ln = (int(node.value.get(m, 0)) for m in ORDER)
    return pl, ex, ln


def refit_labels(b: Bundle, layers_node: Node) -> list[str]:
    """BIC winners refitted on each record's σ (computed once per folder and record, kept on the bundle)."""
    return [m.winner for m in rank_models_all(b, layers_node)]


def rank_models(b: Bundle, rec: Node) -> RankModels:
    """The rank-model fit of one record's ``sigma`` (memoised on the bundle by file and JSON path)."""
    cache = b.memo.setdefault("rank_models", {})
    key = (rec.file, rec.path)
    if key not in cache:
        cache[key] = fit_rank_models(rec["sigma"].arr())
    return cache[key]


def rank_models_all(b: Bundle, layers_node: Node) -> list[RankModels]:
    """:func:`rank_models` of every record of a list, fitted together (:func:`fit_batch`) and memoised."""
    cache = b.memo.setdefault("rank_models", {})
    recs = list(layers_node.items())
    todo = [r for r in recs if (r.file, r.path) not in cache]
    if todo:
        for r, fit in zip(todo, fit_batch([r["sigma"].arr() for r in todo]), strict=True):
            cache[(r.file, r.path)] = fit
    return [cache[(r.file, r.path)] for r in recs]


def _winner(bic: dict[str, float]) -> str:
    """The argmin of the BIC values (ties go to the simpler model, in RANK_MODELS order)."""
    return min(RANK_MODELS, key=lambda m: (bic[m], RANK_MODELS.index(m)))


def fit_batch(sigmas: list[np.ndarray]) -> list[RankModels]:
    """:func:`theory.fits.fit_rank_models` of many σ arrays at once. The fit uses the positive σ_k at their ranks
    k; for a σ that is finite and non-increasing (as validation guarantees) those are a prefix 1..r, so the arrays
    with the same r share the three design matrices and one pseudo-inverse per model fits all of them (the same
    OLS, BIC = n ln(RSS/n) + p ln n and tie order). Any other array is fitted on its own."""
    out: list[RankModels | None] = [None] * len(sigmas)
    groups: dict[int, list[int]] = {}
    for i, s in enumerate(sigmas):
        pos = np.isfinite(s) & (s > 0)
        r = int(pos.sum())
        if r >= 4 and bool(pos[:r].all()):
            groups.setdefault(r, []).append(i)
        else:
            out[i] = fit_rank_models(s)
    for n, idx in groups.items():
        y = np.log(np.stack([sigmas[i][:n] for i in idx], axis=1))  # (n, m)
        k = np.arange(1, n + 1, dtype=float)
        lk = np.log(k)
        designs = {
            "power_law": (np.column_stack([np.ones(n), lk]), 2),
            "exponential": (np.column_stack([np.ones(n), k]), 2),
            "lognormal": (np.column_stack([np.ones(n), lk, lk**2]), 3),
        }
        coef, rss, bic = {}, {}, {}
        for name, (X, p) in designs.items():
            c = np.linalg.pinv(X) @ y
            res = y - X @ c
            coef[name] = c
            rss[name] = np.einsum("ij,ij->j", res, res)
            with np.errstate(divide="ignore"):
                bic[name] = n * np.log(rss[name] / n) + p * np.log(n)
        cols = {
            "bic": {m: bic[m].tolist() for m in RANK_MODELS},
            "rss": {m: rss[m].tolist() for m in RANK_MODELS},
            "pl": coef["power_law"].tolist(),
            "ex": coef["exponential"].tolist(),
            "ln": coef["lognormal"].tolist(),
        }
        for j, i in enumerate(idx):
            b_ = {m: cols["bic"][m][j] for m in RANK_MODELS}
            params = {
                "power_law": {"log_c": cols["pl"][0][j], "gamma": -cols["pl"][1][j]},
                "exponential": {"log_c": cols["ex"][0][j], "b_exp": -cols["ex"][1][j]},
                "lognormal": {"log_c": cols["ln"][0][j], "b": cols["ln"][1][j], "a": cols["ln"][2][j]},
            }
            out[i] = RankModels(b_, {m: cols["rss"][m][j] for m in RANK_MODELS}, params, _winner(b_), n, True)
    return [o for o in out if o is not None]


def rmt_phase(b: Bundle, phase: str) -> Node:
    """An rmt snapshot: ``phase_2a_init``, ``phase_1b_extended_trained`` or ``epoch=N`` of the trajectory."""
    root = b.need("rmt")
    if phase.startswith("epoch="):
        ep = int(phase.split("=")[1])
        return root["phase_2b_trajectory"].where("epoch", ep)
    return root[phase]


def vgg_epoch(b: Bundle, ep: int) -> Node:
    """The vgg16 trajectory entry of epoch ``ep``."""
    return b.need("vgg16")["trajectory"].where("epoch", ep)


def pure_profile(kind: str, k: int) -> list[float]:
    """σ_k of a pure rank profile: the named model then fits exactly (RSS ≈ 0) and wins the BIC."""
    if kind == "exponential":
        return [math.exp(-0.05 * j) for j in range(1, k + 1)]
    if kind == "lognormal":
        return [math.exp(-0.3 * math.log(j) ** 2 - 0.2 * math.log(j)) for j in range(1, k + 1)]
    return [j**-1.0 * (1 + 0.02 * math.sin(7.3 * j)) for j in range(1, k + 1)]


def bic_perturb(records_fn: Callable[[Any], list[dict]], printed: tuple[int, ...]) -> Perturb:
    """Away: turn one layer into a different pure profile. Towards: rewrite profiles to reach the printed counts."""

    def away(docs, out):
        recs = records_fn(docs)
        labels = [fit_rank_models(r["sigma"]).winner for r in recs]
        i = labels.index("lognormal") if "lognormal" in labels else 0
        recs[i]["sigma"] = pure_profile(
            "exponential" if labels[i] != "exponential" else "lognormal", len(recs[i]["sigma"])
        )

    def toward(docs, out):
        recs = records_fn(docs)
        kinds = [m for m, c in zip(ORDER, printed, strict=True) for _ in range(c)]
        for r, kind in zip(recs, kinds, strict=False):
            r["sigma"] = pure_profile(kind, len(r["sigma"]))

    return flip(away, toward)


def triangle_records(docs: Any) -> list[dict]:
    """Every alpha_triangle record of a perturbable copy."""
    return [r for blk in docs["alpha_triangle"] for r in blk["results"]]


def rmt_records(phase: str) -> Callable[[Any], list[dict]]:
    """The records of an rmt snapshot of a perturbable copy."""

    def f(docs: Any) -> list[dict]:
        d = docs["rmt"]
        if phase.startswith("epoch="):
            return next(t for t in d["phase_2b_trajectory"] if t["epoch"] == int(phase.split("=")[1]))["layers"]
        return d[phase]["layers"]

    return f


def vgg_labels(b: Bundle) -> dict[int, tuple[int, int, int]]:
    """{epoch: (PL, EXP, LN)} of the vgg16 per-layer labels."""
    return {
        t["epoch"].int(): counts(r["best_model_bic"].str() for r in t["layers"].items())
        for t in b.need("vgg16")["trajectory"].items()
    }


def relabel_vgg(docs: Any, ep: int, kind: str, n: int) -> None:
    """Set the first ``n`` vgg16 labels at epoch ``ep`` to ``kind``."""
    t = next(t for t in docs["vgg16"]["trajectory"] if t["epoch"] == ep)
    for lay in t["layers"][:n]:
        lay["best_model_bic"] = kind


# -- the project's replicated networks: log-normal's plurality margin with an interval -------------------------
def cell_winner(b: Bundle, file: str, layer: Any) -> str:
    """The BIC winner of one project layer's σ profile ("" when no model fits), cached per folder."""
    memo = b.memo.setdefault("project_bic", {})
    key = (file, layer.name)
    if key not in memo:
        rm = fit_rank_models(layer.extra["sigma"])
        memo[key] = rm.winner if rm.ok else ""
    return memo[key]


def bic_unit(b: Bundle, ctx: Any, g: Any) -> tuple[tuple[int, int, int] | tuple[float, ...], Any]:
    r"""(PL, EXP, LN) of a replicated project network and its judged unit: the log-normal margin
    :math:`\text{share}_{LN}-\max(\text{share}_{PL},\text{share}_{EXP})` of BIC winners over its layers
    (> 0: log-normal is the plurality), with the nested bootstrap over seeds, batches and layers. A network
    measured once keeps its integer counts; replicates give shares × layers."""
    names = [x.name for x in g.point.layers if "sigma" in x.extra]
    win = np.full((len(g.cells), len(names)), "", dtype=object)
    for i, c in enumerate(g.cells):
        by = {x.name: x for x in c.net.layers}
        for j, nm in enumerate(names):
            if nm in by:
                win[i, j] = cell_winner(b, c.net.file, by[nm])
    has = win != ""
    vals = [np.where(has, (win == m).astype(float), np.nan) for m in ORDER]
    shares = [float(np.nanmean(weighted_means(point_weights(g.seed_index), v))) if names else math.nan for v in vals]
    n_win = int(has.any(axis=0).sum())
    if len(g.cells) == 1:
        c3: tuple = counts(w for w in win[0] if w)
    else:
        c3 = tuple(round(s * n_win, 2) for s in shares)

    def margin(ms: list[np.ndarray]) -> np.ndarray:
        with np.errstate(all="ignore"):
            pl, ex, ln = (np.nanmean(m, axis=1) for m in ms)
        return ln - np.maximum(pl, ex)

    point = shares[2] - max(shares[0], shares[1])
    unit = population_unit_of(b, ctx, g, vals, margin, point, above(0.0), f"{g.label}: LN share − max(PL, EXP)", names)
    return c3, unit
