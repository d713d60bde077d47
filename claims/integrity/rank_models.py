r"""Integrity of the authors' rank-profile files: model_fit (cross-checked against alpha_triangle's σ), rmt,
vgg16 (labels only: no σ stored) and depth_scaling (derived: cross-checked against model_fit and rmt).

BIC = n ln(RSS/n) + p ln n, AIC = n ln(RSS/n) + 2p, p = 2, 2, 3 (:func:`theory.fits.fit_rank_models`)."""

from __future__ import annotations

import math

import numpy as np

from theory.fits import RANK_MODELS

from ..bundle import Bundle
from ..jsonpath import Node
from ..measures.rank_models import rank_models, rank_models_all
from .tally import Tally

P = {"power_law": 2, "exponential": 2, "lognormal": 3}
RMT_BIC_TOL = 1e-4  # σ is stored in single precision: the refit BIC agrees to ≤ 7e-6 relative
PARAMS = {  # model_fit fits.<model>.<key> → theory.fits params key
    ("power_law", "gamma"): "gamma",
    ("power_law", "log_c"): "log_c",
    ("exponential", "beta"): "b_exp",
    ("exponential", "log_c"): "log_c",
    ("lognormal", "a"): "a",
    ("lognormal", "b"): "b",
    ("lognormal", "log_c"): "log_c",
}
WINS = {
    "n_layers": "number of layers",
    "wins_by_bic.*": "count of layers whose best_model_bic is the model",
    "wins_pct.*": "100 × that count / number of layers",
    "wins_by_layer_type.*.*": "the count among the layers of that layer_type (total: their number)",
}
MODEL_FIT_FIELDS = {
    "$.layers[].best_model_bic": "argmin over the models of fits.<model>.bic",
    "$.layers[].delta_bic.*": "differences of fits.<model>.bic (exp − pl, ln − pl, ln − exp)",
    "$.layers[].fits.*.bic": "n ln(rss/n) + p ln n from the stored rss and n",
    "$.layers[].fits.*.aic": "n ln(rss/n) + 2p from the stored rss and n",
    "$.layers[].fits.*.rss": "alpha_triangle: RSS of the model refitted on the record's σ (when alpha_triangle is present)",
    "$.layers[].fits.*.n": "alpha_triangle: number of positive σ (when present)",
    "$.layers[].fits.*.params": "alpha_triangle: the refitted parameters gamma, beta, a, b, log_c (when present)",
    "$.layers[].gamma_reported": "alpha_triangle: the record's stored gamma (when present)",
    "$.layers[].top_k": "alpha_triangle: the record's top_k (when present)",
    **{f"$.summary.{k}": v for k, v in WINS.items()},
}
RMT_LAYER = {
    "bic.*": f"the model refitted on the record's σ (tolerance {RMT_BIC_TOL:g} relative: σ stored in single precision)",
    "best_model_bic": "argmin of the record's stored bic",
    "gamma": "−slope of ln σ_k on ln k (fit_gamma; the power-law rank model's exponent)",
    "beta": "the exponential model's rate, refitted on σ",
}
RMT_FIELDS = {
    **{f"$.phase_*.layers[].{k}": v for k, v in RMT_LAYER.items()},
    **{f"$.phase_2b_trajectory[].layers[].{k}": v for k, v in RMT_LAYER.items()},
    "$.phase_*.summary.n_layers": "number of layers",
    "$.phase_*.summary.wins_by_bic.*": "count of layers whose best_model_bic is the model (absent model: 0)",
    "$.phase_*.summary.mean_gamma": "mean of the refitted γ",
    "$.phase_*.summary.median_gamma": "median of the refitted γ",
    "$.phase_2b_trajectory[].n_layers": "number of layers",
    "$.phase_2b_trajectory[].wins_by_bic.*": "count of layers whose best_model_bic is the model (absent model: 0)",
}
VGG16_FIELDS = {
    "$.trajectory[].layers[].best_model_bic": "argmin of the record's stored bic",
    "$.trajectory[].n_layers": "number of layers",
    "$.trajectory[].wins_by_bic.*": "count of layers whose best_model_bic is the model (absent model: 0)",
}
DEPTH_FIELDS = {
    **{f"$.phase1a.{k}": f"model_fit: {v} (when model_fit is present)" for k, v in WINS.items()},
    "$.rmt.rows[].*": "rmt: gamma, beta, best_model_bic, stage, backprop_depth of the record of that phase and name "
    "(when rmt is present)",
    "$.rmt.n_init": "number of rows of phase init",
    "$.rmt.n_trained": "number of rows of phase trained",
    "$.rmt.corr_backprop_depth_vs_gamma_*.r": "Pearson r of backprop_depth and gamma over the phase's rows",
    "$.rmt.corr_backprop_depth_vs_gamma_*.n": "number of those rows",
    "$.rmt.corr_backprop_depth_vs_gamma_*.p": "two-sided p of r under the t distribution with n − 2 degrees of freedom",
    "$.rmt.mean_gamma_by_backprop_depth_trained.*.mean": "mean gamma of the trained rows of that depth",
    "$.rmt.mean_gamma_by_backprop_depth_trained.*.n": "number of those rows",
    "$.trajectory_wins[].wins.*": "rmt: the wins of the trajectory epoch, counted from its labels (when present)",
}
FIELDS = {"model_fit": MODEL_FIT_FIELDS, "rmt": RMT_FIELDS, "vgg16": VGG16_FIELDS, "depth_scaling": DEPTH_FIELDS}
NOT_CHECKED = {
    "model_fit": "fits.*.valid, layer_type, summary.interpretation (text)",
    "rmt": "shape, stage, backprop_depth, top_k (no source to recompute them from)",
    "vgg16": "gamma and the bic values (no σ stored), depth_group, top_k",
    "depth_scaling": "rmt.rows[].best_top100 and rmt.rows[].delta_bic (not reproducible from the stored data: "
    "their window and definition are undocumented)",
}


def _counted(t: Tally, pattern: str, node: Node, labels: list[str], models=RANK_MODELS) -> None:  # noqa: ANN001
    """A stored wins dict against the counts of ``labels`` (a model absent from the dict counts 0)."""
    for m in sorted(set(models) | set(node.keys())):
        stored = node[m] if node.has(m) else Node(0, node.file, f"{node.path}.{m}")
        if node.has(m) or labels.count(m):
            t.same(pattern, stored, labels.count(m))


def _argmin(bic: Node) -> str:
    return min(bic.keys(), key=lambda m: bic[m].num())


def _wins_summary(t: Tally, prefix: str, sm: Node, layers: list[Node]) -> None:
    labels = [r["best_model_bic"].str() for r in layers]
    n = len(labels)
    t.same(f"{prefix}.n_layers", sm.opt("n_layers"), n)
    _counted(t, f"{prefix}.wins_by_bic.*", sm["wins_by_bic"], labels)
    pct = sm["wins_pct"]
    for m in pct.keys():
        t.num(f"{prefix}.wins_pct.*", pct.opt(m), 100 * labels.count(m) / n if n else float("nan"))
    by = sm["wins_by_layer_type"]
    for lt in by.keys():
        sub = [r["best_model_bic"].str() for r in layers if r["layer_type"].str() == lt]
        for m in by[lt].keys():
            t.same(f"{prefix}.wins_by_layer_type.*.*", by[lt].opt(m), len(sub) if m == "total" else sub.count(m))


def model_fit(b: Bundle, root: Node, t: Tally) -> None:
    """Labels, BIC differences and BIC/AIC from the stored RSS; the fits against alpha_triangle; the summary."""
    layers = list(root["layers"].items())
    tri = None
    if b.has("alpha_triangle"):
        tri = {
            (blk["experiment"].str(), r["name"].str()): r
            for blk in b.need("alpha_triangle").items()
            for r in blk["results"].items()
        }
    else:
        t.skip("fits against a refit on alpha_triangle's σ: results_alpha_triangle.json is absent")
    for r in layers:
        fits = r["fits"]
        bic = {m: fits[m]["bic"].num() for m in fits.keys()}
        t.same("$.layers[].best_model_bic", r.opt("best_model_bic"), min(bic, key=lambda m: bic[m]))
        d = r["delta_bic"]
        for key, (a, c) in {
            "exp_minus_pl": ("exponential", "power_law"),
            "ln_minus_pl": ("lognormal", "power_law"),
            "ln_minus_exp": ("lognormal", "exponential"),
        }.items():
            if d.has(key):
                t.num("$.layers[].delta_bic.*", d.opt(key), bic[a] - bic[c])
        for m in fits.keys():
            f = fits[m]
            n, rss = f["n"].num(), f["rss"].num()
            ll = n * math.log(rss / n) if n > 0 and rss > 0 else float("nan")
            t.num(
                "$.layers[].fits.*.bic", f.opt("bic"), ll + P.get(m, math.nan) * math.log(n) if n > 0 else float("nan")
            )
            t.num("$.layers[].fits.*.aic", f.opt("aic"), ll + 2 * P.get(m, math.nan))
        if tri is None:
            continue
        rec_key = (r["experiment"].str(), r["name"].str())
        if rec_key not in tri:
            t.same("$.layers[].fits.*.n", r.opt("name"), "a record of results_alpha_triangle.json")
            continue
        src = tri[rec_key]
        rm = rank_models(b, src)
        for m in fits.keys():
            t.num("$.layers[].fits.*.rss", fits[m].opt("rss"), rm.rss.get(m, math.nan))
            t.same("$.layers[].fits.*.n", fits[m].opt("n"), rm.n)
        for (m, k), pk in PARAMS.items():
            if fits.has(m) and fits[m].has(k):
                t.num("$.layers[].fits.*.params", fits[m].opt(k), rm.params.get(m, {}).get(pk, math.nan))
        t.num("$.layers[].gamma_reported", r.opt("gamma_reported"), src["gamma"].num())
        t.same("$.layers[].top_k", r.opt("top_k"), src["top_k"].int())
    _wins_summary(t, "$.summary", root["summary"], layers)


def _rmt_layers(b: Bundle, t: Tally, prefix: str, layers_node: Node) -> list[float]:
    gammas = []
    for r, rm in zip(layers_node.items(), rank_models_all(b, layers_node), strict=True):
        bic = r["bic"]
        for m in bic.keys():
            t.num(f"{prefix}.bic.*", bic.opt(m), rm.bic.get(m, math.nan), tol=RMT_BIC_TOL)
        t.same(f"{prefix}.best_model_bic", r.opt("best_model_bic"), _argmin(bic))
        g = rm.params.get("power_law", {}).get("gamma", math.nan)  # = fit_gamma(σ): the same OLS of ln σ on ln k
        gammas.append(g)
        t.num(f"{prefix}.gamma", r.opt("gamma"), g)
        t.num(f"{prefix}.beta", r.opt("beta"), rm.params.get("exponential", {}).get("b_exp", math.nan))
    return gammas


def rmt(b: Bundle, root: Node, t: Tally) -> None:
    """Every snapshot: BIC values, labels, γ and β against the refit on σ; wins and γ summaries."""
    for phase in ("phase_2a_init", "phase_1b_extended_trained"):
        ph = root[phase]
        layers = list(ph["layers"].items())
        g = _rmt_layers(b, t, "$.phase_*.layers[]", ph["layers"])
        sm = ph["summary"]
        t.same("$.phase_*.summary.n_layers", sm.opt("n_layers"), len(layers))
        _counted(t, "$.phase_*.summary.wins_by_bic.*", sm["wins_by_bic"], [r["best_model_bic"].str() for r in layers])
        t.num("$.phase_*.summary.mean_gamma", sm.opt("mean_gamma"), float(np.mean(g)))
        t.num("$.phase_*.summary.median_gamma", sm.opt("median_gamma"), float(np.median(g)))
    for ep in root["phase_2b_trajectory"].items():
        layers = list(ep["layers"].items())
        _rmt_layers(b, t, "$.phase_2b_trajectory[].layers[]", ep["layers"])
        t.same("$.phase_2b_trajectory[].n_layers", ep.opt("n_layers"), len(layers))
        labels = [r["best_model_bic"].str() for r in layers]
        _counted(t, "$.phase_2b_trajectory[].wins_by_bic.*", ep["wins_by_bic"], labels)


def vgg16(b: Bundle, root: Node, t: Tally) -> None:
    """Labels against the stored BIC values; per-epoch counts."""
    for ep in root["trajectory"].items():
        layers = list(ep["layers"].items())
        for r in layers:
            t.same("$.trajectory[].layers[].best_model_bic", r.opt("best_model_bic"), _argmin(r["bic"]))
        t.same("$.trajectory[].n_layers", ep.opt("n_layers"), len(layers))
        _counted(t, "$.trajectory[].wins_by_bic.*", ep["wins_by_bic"], [r["best_model_bic"].str() for r in layers])


def _p_two_sided(r: float, n: int) -> float:
    """Two-sided p-value of a Pearson r on n pairs: t = r √((n−2)/(1−r²)) under Student's t with n − 2 d.o.f."""
    if n < 3 or not math.isfinite(r) or abs(r) >= 1:
        return float("nan")
    import mpmath

    df = n - 2
    tt = r * math.sqrt(df / (1 - r * r))
    return float(mpmath.betainc(df / 2, 0.5, 0, df / (df + tt * tt), regularized=True))


def depth_scaling(b: Bundle, root: Node, t: Tally) -> None:
    """phase1a against model_fit, the rows and trajectory wins against rmt, correlations and means."""
    if b.has("model_fit"):
        _wins_summary(t, "$.phase1a", root["phase1a"], list(b.need("model_fit")["layers"].items()))
    else:
        t.skip("phase1a against model_fit: results_model_fit_comparison.json is absent")
    rows = list(root["rmt"]["rows"].items())
    if b.has("rmt"):
        rm = b.need("rmt")
        src = {
            (ph, r["name"].str()): r
            for ph, key in (("init", "phase_2a_init"), ("trained", "phase_1b_extended_trained"))
            for r in rm[key]["layers"].items()
        }
        for r in rows:
            s = src.get((r["phase"].str(), r["name"].str()))
            if s is None:
                t.same("$.rmt.rows[].*", r.opt("name"), "a record of results_rmt_gamma_spectrum.json")
                continue
            for k in ("gamma", "beta"):
                t.num("$.rmt.rows[].*", r.opt(k), s[k].num())
            for k in ("best_model_bic", "stage", "backprop_depth"):
                t.same("$.rmt.rows[].*", r.opt(k), s[k].value)
        traj = {e["epoch"].int(): e for e in rm["phase_2b_trajectory"].items()}
        for tw in root["trajectory_wins"].items():
            ep = traj.get(tw["epoch"].int())
            labels = [x["best_model_bic"].str() for x in ep["layers"].items()] if ep is not None else []
            _counted(t, "$.trajectory_wins[].wins.*", tw["wins"], labels)
    else:
        t.skip("rmt.rows and trajectory_wins against rmt: results_rmt_gamma_spectrum.json is absent")
    sr = root["rmt"]
    t.same("$.rmt.n_init", sr.opt("n_init"), sum(r["phase"].str() == "init" for r in rows))
    t.same("$.rmt.n_trained", sr.opt("n_trained"), sum(r["phase"].str() == "trained" for r in rows))
    for ph in ("init", "trained"):
        sel = [r for r in rows if r["phase"].str() == ph]
        x = [r["backprop_depth"].num() for r in sel]
        y = [r["gamma"].num() for r in sel]
        c = sr[f"corr_backprop_depth_vs_gamma_{ph}"]
        rr = float(np.corrcoef(x, y)[0, 1]) if len(sel) >= 2 else float("nan")
        t.num("$.rmt.corr_backprop_depth_vs_gamma_*.r", c.opt("r"), rr)
        t.same("$.rmt.corr_backprop_depth_vs_gamma_*.n", c.opt("n"), len(sel))
        t.num("$.rmt.corr_backprop_depth_vs_gamma_*.p", c.opt("p"), _p_two_sided(rr, len(sel)))
    by = sr["mean_gamma_by_backprop_depth_trained"]
    for dep in by.keys():
        g = [r["gamma"].num() for r in rows if r["phase"].str() == "trained" and str(r["backprop_depth"].value) == dep]
        t.num(
            "$.rmt.mean_gamma_by_backprop_depth_trained.*.mean",
            by[dep].opt("mean"),
            float(np.mean(g)) if g else math.nan,
        )
        t.same("$.rmt.mean_gamma_by_backprop_depth_trained.*.n", by[dep].opt("n"), len(g))


CHECKS = {"model_fit": model_fit, "rmt": rmt, "vgg16": vgg16, "depth_scaling": depth_scaling}
