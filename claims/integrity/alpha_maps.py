r"""Integrity of the authors' per-layer α maps: alpha_triangle, tiny, in1k, hypothesis, predictions,
intrinsic_dim. The per-layer fits are the ones :mod:`claims.records` refits from the raw arrays
(:func:`theory.fits.fit_alpha`, ``fit_gamma``, ``fit_s``); summaries are recomputed from the rows."""

from __future__ import annotations

import numpy as np

from ..bundle import Bundle
from ..jsonpath import Node
from ..layertypes import layer_type
from ..records import Layer, networks
from ..stats import median
from .tally import Tally

FIT = "OLS fit of ln h on ln σ over the pairs with σ > 0, h > 0 (theory.fits.fit_alpha)"
TRIANGLE_FIELDS = {
    "$[].results[].alpha": f"α: slope of the {FIT}",
    "$[].results[].r2_alpha": f"R² of the {FIT}",
    "$[].results[].gamma": "γ = −slope of ln σ_k on ln k (fit_gamma)",
    "$[].results[].r2_gamma": "R² of the γ fit",
    "$[].results[].s_hessian": "s = −slope of ln h_(j) on ln j, h sorted descending, positive only (fit_s)",
    "$[].results[].r2_s_hessian": "R² of the s fit",
    "$[].results[].predicted_s": "α·γ (refit)",
    "$[].results[].triangle_error": "|s − α·γ| (refit)",
    "$[].results[].triangle_relative_error": "|s − α·γ| / s (refit)",
}
STORED_TRIANGLE = "from the stored α, γ, s of the row"
MAP_ROWS = {
    "$.results[].predicted_s": f"α·γ, {STORED_TRIANGLE}",
    "$.results[].triangle_error": f"|s_hessian − α·γ|, {STORED_TRIANGLE}",
    "$.results[].triangle_relative_error": f"|s_hessian − α·γ| / s_hessian, {STORED_TRIANGLE}",
}
TYPE_OF_GROUP = {"conv": "conv", "other": "downsample", "fc": "head"}
TINY_FIELDS = {
    **MAP_ROWS,
    "$.n_layers": "number of rows",
    "$.summary.by_layer_type.*.n": "rows of the layer type (conv: conv, other: downsample, fc: head; explicit table)",
    "$.summary.by_layer_type.*.mean_alpha": "mean α over those rows",
    "$.summary.by_layer_type.*.median_alpha": "median α over those rows",
    "$.summary.by_layer_type.*.std_alpha": "std of α over those rows (ddof 0)",
    "$.summary.by_layer_type.*.min_alpha": "min α over those rows",
    "$.summary.by_layer_type.*.max_alpha": "max α over those rows",
    "$.summary.triangle.n": "number of rows",
    "$.summary.triangle.median_rel_error_pct": "100 × median of |s − α·γ|/s over all rows",
    "$.summary.triangle.mean_rel_error_pct": "100 × mean of |s − α·γ|/s over all rows",
}
IN1K_FIELDS = {
    **MAP_ROWS,
    "$.results[].best_bic": "argmin of the row's stored bic (power_law, exponential, lognormal)",
    "$.summary.n_layers": "number of rows",
    "$.summary.conv_mean_alpha": "mean α of the conv-type rows (the rows named *conv*)",
    "$.summary.conv_median_alpha": "median α of the conv-type rows",
    "$.summary.fc_alpha": "α of the head row (fc.weight)",
    "$.summary.bic_wins.*": "count of rows whose best_bic is the model (absent model: 0)",
    "$.summary.triangle_median_err_pct": "100 × median of |s − α·γ|/s over all rows",
}
ABLATION_ROWS = {
    "alpha": f"α: slope of the {FIT}",
    "r2": f"R² of the {FIT}",
    "n_valid": "number of (σ, h) pairs with σ > 0, h > 0",
}
HYPOTHESIS_FIELDS = {f"$.*.*[].{k}": v for k, v in ABLATION_ROWS.items()}
PREDICTIONS_FIELDS = {f"$[].results[].{k}": v for k, v in ABLATION_ROWS.items()}
INTRINSIC_FIELDS = {
    "$[].results[].alpha_gamma_product": "stored α × stored γ",
    "$[].results[].n_total_directions": "min(shape)",
    "$[].results[].predicted_eff_rank": "(Σ_{k≤N} k^(−αγ))² / Σ_{k≤N} k^(−2αγ), N = n_total_directions, αγ stored",
}

FIELDS: dict[str, dict[str, str]] = {
    "alpha_triangle": TRIANGLE_FIELDS,
    "tiny": TINY_FIELDS,
    "in1k": IN1K_FIELDS,
    "hypothesis": HYPOTHESIS_FIELDS,
    "predictions": PREDICTIONS_FIELDS,
    "intrinsic_dim": INTRINSIC_FIELDS,
}
NOT_CHECKED = {
    "alpha_triangle": "s_weight, r2_s_weight (the weights are not stored); top_k (a validation rule: = len(sigma))",
    "tiny": "per-row α, γ, s and their R² (no σ/h arrays stored); val_acc_pct, eval_samples, elapsed_hours, top_k",
    "in1k": "per-row α, γ, s, their R² and bic values (no σ/h arrays stored); top_k_hvp, top_k_svd, stage",
    "hypothesis": "top_k (a validation rule: = len(sigma))",
    "predictions": "top_k (a validation rule: = len(sigma))",
    "intrinsic_dim": "α, γ, their R² and every eff_rank_* / random_subspace_fracs value (only the top 5 σ, h are "
    "stored, the fits use the top_k window)",
}


def _fits(t: Tally, p: str, rec: Node, lay: Layer, alpha_key: str = "alpha", r2_key: str = "r2") -> None:
    t.num(f"{p}.{alpha_key}", rec.opt(alpha_key), lay.alpha)
    t.num(f"{p}.{r2_key}", rec.opt(r2_key), lay.r2)
    if rec.has("n_valid"):
        t.same(f"{p}.n_valid", rec.opt("n_valid"), lay.n_valid)


def alpha_triangle(b: Bundle, root: Node, t: Tally) -> None:
    """Per-row fits against the refit from σ, h_exact (records of claims.records)."""
    p = "$[].results[]"
    for blk, net in zip(root.items(), networks(b, "alpha_triangle"), strict=True):
        for rec, lay in zip(blk["results"].items(), net.layers, strict=True):
            t.num(f"{p}.alpha", rec.opt("alpha"), lay.alpha)
            t.num(f"{p}.r2_alpha", rec.opt("r2_alpha"), lay.r2)
            t.num(f"{p}.gamma", rec.opt("gamma"), lay.gamma)
            t.num(f"{p}.r2_gamma", rec.opt("r2_gamma"), lay.r2_gamma)
            t.num(f"{p}.s_hessian", rec.opt("s_hessian"), lay.s)
            t.num(f"{p}.r2_s_hessian", rec.opt("r2_s_hessian"), lay.r2_s)
            t.num(f"{p}.predicted_s", rec.opt("predicted_s"), lay.alpha * lay.gamma)
            t.num(f"{p}.triangle_error", rec.opt("triangle_error"), abs(lay.s - lay.alpha * lay.gamma))
            t.num(f"{p}.triangle_relative_error", rec.opt("triangle_relative_error"), lay.relerr)


def _map_rows(root: Node, t: Tally) -> list[float]:
    """The per-row triangle fields from the stored α, γ, s; returns the relative errors."""
    out = []
    for rec in root["results"].items():
        a, g, s = rec["alpha"].num(), rec["gamma"].num(), rec["s_hessian"].num()
        err = abs(s - a * g)
        t.num("$.results[].predicted_s", rec.opt("predicted_s"), a * g)
        t.num("$.results[].triangle_error", rec.opt("triangle_error"), err)
        t.num("$.results[].triangle_relative_error", rec.opt("triangle_relative_error"), err / s if s else float("nan"))
        out.append(err / s if s else float("nan"))
    return out


def _group_stats(a: list[float]) -> dict[str, float]:
    """mean, median, std (ddof 0), min and max of a group's α (NaN for an empty group)."""
    if not a:
        return dict.fromkeys(("mean_alpha", "median_alpha", "std_alpha", "min_alpha", "max_alpha"), float("nan"))
    x = np.asarray(a, float)
    return {
        "mean_alpha": float(x.mean()),
        "median_alpha": median(a),
        "std_alpha": float(x.std()),
        "min_alpha": float(x.min()),
        "max_alpha": float(x.max()),
    }


def tiny(b: Bundle, root: Node, t: Tally) -> None:
    """Per-row triangle fields from the stored α, γ, s; the layer-type and triangle summaries from the rows."""
    rel = _map_rows(root, t)
    rows = list(root["results"].items())
    t.same("$.n_layers", root.opt("n_layers"), len(rows))
    groups = root["summary"]["by_layer_type"]
    for g in groups.keys():
        typ = TYPE_OF_GROUP.get(g)
        node = groups[g]
        a = [r["alpha"].num() for r in rows if typ and layer_type("resnet50", r["name"].str()) == typ]
        t.same("$.summary.by_layer_type.*.n", node.opt("n"), len(a))
        for k, v in _group_stats(a).items():
            if node.has(k):
                t.num(f"$.summary.by_layer_type.*.{k}", node.opt(k), v)
    tri = root["summary"]["triangle"]
    t.same("$.summary.triangle.n", tri.opt("n"), len(rel))
    t.num("$.summary.triangle.median_rel_error_pct", tri.opt("median_rel_error_pct"), 100 * median(rel))
    t.num("$.summary.triangle.mean_rel_error_pct", tri.opt("mean_rel_error_pct"), 100 * float(np.mean(rel)))


def in1k(b: Bundle, root: Node, t: Tally) -> None:
    """Per-row triangle fields and BIC labels; the summary from the rows."""
    rel = _map_rows(root, t)
    rows = list(root["results"].items())
    for r in rows:
        bic = r["bic"]
        t.same("$.results[].best_bic", r.opt("best_bic"), min(bic.keys(), key=lambda m: bic[m].num()))
    sm = root["summary"]
    t.same("$.summary.n_layers", sm.opt("n_layers"), len(rows))
    conv = [r["alpha"].num() for r in rows if layer_type("resnet50", r["name"].str()) == "conv"]
    t.num("$.summary.conv_mean_alpha", sm.opt("conv_mean_alpha"), float(np.mean(conv)) if conv else float("nan"))
    t.num("$.summary.conv_median_alpha", sm.opt("conv_median_alpha"), median(conv))
    heads = [r["alpha"].num() for r in rows if layer_type("resnet50", r["name"].str()) == "head"]
    t.num("$.summary.fc_alpha", sm.opt("fc_alpha"), heads[0] if len(heads) == 1 else float("nan"))
    labels = [r["best_bic"].str() for r in rows]
    wins = sm["bic_wins"]
    for m in sorted(set(wins.keys()) | set(labels)):
        if wins.has(m):
            t.same("$.summary.bic_wins.*", wins.opt(m), labels.count(m))
        elif labels.count(m):
            t.same("$.summary.bic_wins.*", Node(0, wins.file, f"{wins.path}.{m}"), labels.count(m))
    t.num("$.summary.triangle_median_err_pct", sm.opt("triangle_median_err_pct"), 100 * median(rel))


def hypothesis(b: Bundle, root: Node, t: Tally) -> None:
    """α, R², n_valid of every ablation record against the refit from σ, h_exact."""
    nets = iter(networks(b, "hypothesis"))
    for grp in ("output_dim", "task_structure"):
        for sub in root[grp].keys():
            net = next(nets)
            for rec, lay in zip(root[grp][sub].items(), net.layers, strict=True):
                _fits(t, "$.*.*[]", rec, lay)


def predictions(b: Bundle, root: Node, t: Tally) -> None:
    """α, R², n_valid of every record against the refit from σ, h_exact."""
    for blk, net in zip(root.items(), networks(b, "predictions"), strict=True):
        for rec, lay in zip(blk["results"].items(), net.layers, strict=True):
            _fits(t, "$[].results[]", rec, lay)


def intrinsic_dim(b: Bundle, root: Node, t: Tally) -> None:
    """αγ, the number of directions and the finite-N ζ prediction of every record."""
    p = "$[].results[]"
    for blk in root.items():
        for rec in blk["results"].items():
            a, g = rec["alpha"].num(), rec["gamma"].num()
            t.num(f"{p}.alpha_gamma_product", rec.opt("alpha_gamma_product"), a * g)
            shape = [int(x) for x in rec["shape"].arr()]
            t.same(f"{p}.n_total_directions", rec.opt("n_total_directions"), min(shape))
            k = np.arange(1, min(shape) + 1, dtype=float)
            ag = a * g
            t.num(
                f"{p}.predicted_eff_rank",
                rec.opt("predicted_eff_rank"),
                float(np.sum(k**-ag) ** 2 / np.sum(k ** (-2 * ag))),
            )


CHECKS = {
    "alpha_triangle": alpha_triangle,
    "tiny": tiny,
    "in1k": in1k,
    "hypothesis": hypothesis,
    "predictions": predictions,
    "intrinsic_dim": intrinsic_dim,
}
