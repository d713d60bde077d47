r"""Integrity of the authors' conv-gap and Kronecker files: conv_gap, conv_gap_v2, kfac_prediction (derived from
conv_gap_v2, cross-checked against it when it is present) and kronecker."""

from __future__ import annotations

import numpy as np

from theory.fits import fit_alpha, ols

from ..bundle import Bundle
from ..jsonpath import Node
from ..records import networks
from .tally import Tally

EXACT = "α_exact / R²: OLS fit of ln h_exact on ln σ (σ > 0, h > 0; theory.fits.fit_alpha)"
PLACEHOLDER = "h_exact / h_kron elementwise; 1.0 (the writer's placeholder) where h_exact ≤ 0"


def _slope_on_log_sigma(sigma: np.ndarray, y: np.ndarray) -> float:
    """OLS slope of ln y on ln σ over the entries with y > 0 and σ > 0."""
    ok = (y > 0) & (sigma > 0)
    return ols(np.log(sigma[ok]), np.log(y[ok])).slope


CONV_GAP_FIELDS = {
    "$.conv_results[].alpha_exact": EXACT,
    "$.conv_results[].r2_exact": EXACT,
    "$.conv_results[].alpha_naive": "OLS slope of ln h_kron_naive on ln σ (fit_alpha)",
    "$.conv_results[].alpha_kfc": "OLS slope of ln h_kron_kfc on ln σ (fit_alpha)",
    "$.conv_results[].cos2_naive": "χ = h_exact / h_kron_naive elementwise",
    "$.conv_results[].cos2_kfc": "χ = h_exact / h_kron_kfc elementwise",
    "$.conv_results[].h_kron_naive": "rayleigh_A_naive · rayleigh_delta_naive elementwise",
    "$.conv_results[].h_kron_kfc": "rayleigh_A_kfc · rayleigh_delta_kfc elementwise",
    "$.conv_results[].cos2_predicted": "gamma_SUD_k · gamma_IAD_k elementwise",
    "$.conv_results[].cos2_residual": "cos2_naive / cos2_predicted elementwise",
    "$.conv_results[].slope_cos2_naive": "OLS slope of ln cos2_naive on ln σ (positive entries)",
    "$.conv_results[].slope_cos2_kfc": "OLS slope of ln cos2_kfc on ln σ (positive entries)",
    "$.conv_results[].slope_gamma_SUD": "OLS slope of ln gamma_SUD_k on ln σ (positive entries)",
    "$.conv_results[].slope_gamma_IAD": "OLS slope of ln gamma_IAD_k on ln σ (positive entries)",
    "$.conv_results[].slope_residual": "OLS slope of ln cos2_residual on ln σ (positive entries)",
    "$.conv_results[].shape_2d": "[shape[0], product of shape[1:]]",
    "$.fc_result.alpha_exact": EXACT,
    "$.fc_result.r2_exact": EXACT,
    "$.fc_result.cos2_theta": PLACEHOLDER,
}
V2_FIELDS = {
    "$.conv_results[].alpha_exact": EXACT,
    "$.conv_results[].r2_exact": EXACT,
    "$.conv_results[].concentration_ratio": "h_sum_of_products / h_product_of_sums elementwise",
    "$.conv_results[].cos2_theta": PLACEHOLDER,
    "$.fc_result.alpha_exact": EXACT,
    "$.fc_result.r2_exact": EXACT,
    "$.fc_result.concentration_ratio": "h_sum_of_products / h_product_of_sums elementwise",
    "$.fc_result.cos2_theta": PLACEHOLDER,
}
KFAC_FIELDS = {
    "$.n_layers": "number of layers",
    "$.layers[].alpha_gap": "|α − 2| (the row's α)",
    "$.layers[].kronecker_slack": "|1 − conc_ratio| (the row's conc_ratio)",
    "$.corr_alpha_gap_vs_kronecker_slack": "Pearson r of alpha_gap and kronecker_slack over the rows",
    "$.corr_alpha_gap_vs_r2_h_sigma": "Pearson r of alpha_gap and r2_exact over the rows",
    "$.layers[].alpha": "conv_gap_v2: the α refit of the record of that name (when conv_gap_v2 is present)",
    "$.layers[].r2_exact": "conv_gap_v2: the R² refit of the record of that name (when conv_gap_v2 is present)",
    "$.layers[].conc_ratio": "conv_gap_v2: median of h_sum_of_products / h_product_of_sums of that record (when present)",
}
BIC_KEYS = {"bic_pl": "power_law", "bic_exp": "exponential", "bic_ln": "lognormal"}
KRONECKER_FIELDS = {
    "$.layers[].log_hkron_vs_log_sigma2_corr": "Pearson r of ln h_kron_top30 and ln sigma_top30² (positive entries)",
    "$.layers[].h_kron_top30": "rho_delta_top30 · rho_A_top30 · lambda_delta_top30 · lambda_A_top30 elementwise "
    "(Theorem 1 part 1; tolerance 1e-6 relative, the factors are stored in single precision)",
    "$.layers[].sigma_bic_best": "argmin of the row's sigma_bic (bic_pl, bic_exp, bic_ln)",
    "$.layers[].delta_bic_best": "argmin of the row's delta_bic",
    "$.layers[].A_bic_best": "argmin of the row's A_bic",
    "$.summary.n_layers": "number of layers",
    "$.summary.sigma_bic_counts.*": "count of rows whose sigma_bic_best is the model",
    "$.summary.delta_bic_counts.*": "count of rows whose delta_bic_best is the model",
    "$.summary.A_bic_counts.*": "count of rows whose A_bic_best is the model",
    "$.summary.mean_min_eff_rank_exp": "mean of min(eff_rank_delta, eff_rank_A) over rows with sigma_bic_best exponential",
    "$.summary.mean_min_eff_rank_ln": "the same over rows with sigma_bic_best lognormal",
    "$.summary.mean_hkron_corr": "mean of the recomputed per-layer correlations",
}

FIELDS = {
    "conv_gap": CONV_GAP_FIELDS,
    "conv_gap_v2": V2_FIELDS,
    "kfac_prediction": KFAC_FIELDS,
    "kronecker": KRONECKER_FIELDS,
}
NOT_CHECKED = {
    "conv_gap": "gamma_SUD_global, gamma_SUD_k, gamma_IAD_k, rayleigh_* (their inputs are not stored); L_spatial, "
    "L_measured, top_k",
    "conv_gap_v2": "top_1pct_contribution, top_10pct_contribution, spatial_gini, sample_gini, mean_uTd_sq, mean_vTa_sq, "
    "N_samples, L_spatial (their inputs are not stored)",
    "kfac_prediction": "nothing else: every field is derived",
    "kronecker": "sigma_bic/delta_bic/A_bic values, sigma_gamma (the σ window top_k_grad is longer than the stored "
    "top 30), eff_rank_*, participation_ratio_*, spectral_concentration_*, mean_diag_overlap_*, mean_rho_* (the factor "
    "spectra are not stored), summary.prediction_accuracy (its rule is undocumented)",
}


def _exact(t: Tally, p: str, rec: Node, lay) -> None:  # noqa: ANN001 - a records.Layer
    t.num(f"{p}.alpha_exact", rec.opt("alpha_exact"), lay.alpha)
    t.num(f"{p}.r2_exact", rec.opt("r2_exact"), lay.r2)


def _placeholder_ratio(rec: Node) -> np.ndarray:
    h, hk = rec["h_exact"].arr(), rec["h_kron"].arr()
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(h > 0, h / hk, 1.0)


def conv_gap(b: Bundle, root: Node, t: Tally) -> None:
    """Fits, ratios, products and slopes of every conv record and the FC control."""
    (net,) = networks(b, "conv_gap")
    recs = list(root["conv_results"].items())
    p = "$.conv_results[]"
    for rec, lay in zip(recs, net.layers, strict=False):
        _exact(t, p, rec, lay)
        s, h = rec["sigma"].arr(), rec["h_exact"].arr()
        arr = {k: rec[k].arr() for k in ("h_kron_naive", "h_kron_kfc", "gamma_SUD_k", "gamma_IAD_k")}
        for form in ("naive", "kfc"):
            hk = arr[f"h_kron_{form}"]
            t.num(f"{p}.alpha_{form}", rec.opt(f"alpha_{form}"), fit_alpha(s, hk).alpha)
            t.array(f"{p}.cos2_{form}", rec.opt(f"cos2_{form}"), h / hk)
            t.array(
                f"{p}.h_kron_{form}",
                rec.opt(f"h_kron_{form}"),
                rec[f"rayleigh_A_{form}"].arr() * rec[f"rayleigh_delta_{form}"].arr(),
            )
            t.num(
                f"{p}.slope_cos2_{form}",
                rec.opt(f"slope_cos2_{form}"),
                _slope_on_log_sigma(s, rec[f"cos2_{form}"].arr()),
            )
        pred = arr["gamma_SUD_k"] * arr["gamma_IAD_k"]
        t.array(f"{p}.cos2_predicted", rec.opt("cos2_predicted"), pred)
        t.array(f"{p}.cos2_residual", rec.opt("cos2_residual"), rec["cos2_naive"].arr() / rec["cos2_predicted"].arr())
        t.num(f"{p}.slope_gamma_SUD", rec.opt("slope_gamma_SUD"), _slope_on_log_sigma(s, arr["gamma_SUD_k"]))
        t.num(f"{p}.slope_gamma_IAD", rec.opt("slope_gamma_IAD"), _slope_on_log_sigma(s, arr["gamma_IAD_k"]))
        t.num(f"{p}.slope_residual", rec.opt("slope_residual"), _slope_on_log_sigma(s, rec["cos2_residual"].arr()))
        shape = [int(x) for x in rec["shape"].arr()]
        t.same(f"{p}.shape_2d", rec.opt("shape_2d"), [shape[0], int(np.prod(shape[1:]))])
    fc = root["fc_result"]
    _exact(t, "$.fc_result", fc, net.layers[-1])
    t.array("$.fc_result.cos2_theta", fc.opt("cos2_theta"), _placeholder_ratio(fc))


def conv_gap_v2(b: Bundle, root: Node, t: Tally) -> None:
    """Fits, concentration ratios and χ (with its placeholder) of every record."""
    (net,) = networks(b, "conv_gap_v2")
    recs = [("$.conv_results[]", r) for r in root["conv_results"].items()] + [("$.fc_result", root["fc_result"])]
    for (p, rec), lay in zip(recs, net.layers, strict=True):
        _exact(t, p, rec, lay)
        if rec.has("concentration_ratio"):
            t.array(
                f"{p}.concentration_ratio",
                rec.opt("concentration_ratio"),
                rec["h_sum_of_products"].arr() / rec["h_product_of_sums"].arr(),
            )
        t.array(f"{p}.cos2_theta", rec.opt("cos2_theta"), _placeholder_ratio(rec))


def _pearson(x: list[float], y: list[float]) -> float:
    return float(np.corrcoef(x, y)[0, 1]) if len(x) >= 2 else float("nan")


def kfac_prediction(b: Bundle, root: Node, t: Tally) -> None:
    """The derived columns and correlations, and (with conv_gap_v2) the copied per-layer values."""
    rows = list(root["layers"].items())
    t.same("$.n_layers", root.opt("n_layers"), len(rows))
    for r in rows:
        t.num("$.layers[].alpha_gap", r.opt("alpha_gap"), abs(r["alpha"].num() - 2))
        t.num("$.layers[].kronecker_slack", r.opt("kronecker_slack"), abs(1 - r["conc_ratio"].num()))
    gap = [abs(r["alpha"].num() - 2) for r in rows]
    slack = [abs(1 - r["conc_ratio"].num()) for r in rows]
    t.num("$.corr_alpha_gap_vs_kronecker_slack", root.opt("corr_alpha_gap_vs_kronecker_slack"), _pearson(gap, slack))
    r2 = [r["r2_exact"].num() for r in rows]
    t.num("$.corr_alpha_gap_vs_r2_h_sigma", root.opt("corr_alpha_gap_vs_r2_h_sigma"), _pearson(gap, r2))
    if not b.has("conv_gap_v2"):
        t.skip("layers[].alpha, r2_exact, conc_ratio against conv_gap_v2: results_conv_gap_v2.json is absent")
        return
    v2 = b.need("conv_gap_v2")
    (net,) = networks(b, "conv_gap_v2")
    by_name = {x.name: x for x in net.layers}
    recs = {r["name"].str(): r for r in [*v2["conv_results"].items(), v2["fc_result"]]}
    for r in rows:
        nm = r["name"].str()
        if nm not in by_name:
            t.same("$.layers[].alpha", r.opt("name"), "a layer name of results_conv_gap_v2.json")
            continue
        t.num("$.layers[].alpha", r.opt("alpha"), by_name[nm].alpha)
        t.num("$.layers[].r2_exact", r.opt("r2_exact"), by_name[nm].r2)
        rec = recs[nm]
        conc = float(np.median(rec["h_sum_of_products"].arr() / rec["h_product_of_sums"].arr()))
        t.num("$.layers[].conc_ratio", r.opt("conc_ratio"), conc)


def _argmin_label(node: Node) -> str:
    return BIC_KEYS.get(k := min(node.keys(), key=lambda m: node[m].num()), k)


def kronecker(b: Bundle, root: Node, t: Tally) -> None:
    """Correlations, Theorem 1 products and BIC labels per layer; the summary from the layers."""
    rows = list(root["layers"].items())
    corrs = []
    for r in rows:
        h, s = r["h_kron_top30"].arr(), r["sigma_top30"].arr()
        ok = (h > 0) & (s > 0)
        c = float(np.corrcoef(np.log(h[ok]), np.log(s[ok] ** 2))[0, 1]) if ok.sum() >= 2 else float("nan")
        corrs.append(c)
        t.num("$.layers[].log_hkron_vs_log_sigma2_corr", r.opt("log_hkron_vs_log_sigma2_corr"), c)
        prod = (
            r["rho_delta_top30"].arr()
            * r["rho_A_top30"].arr()
            * r["lambda_delta_top30"].arr()
            * r["lambda_A_top30"].arr()
        )
        t.array("$.layers[].h_kron_top30", r.opt("h_kron_top30"), prod)
        for f in ("sigma", "delta", "A"):
            t.same(f"$.layers[].{f}_bic_best", r.opt(f"{f}_bic_best"), _argmin_label(r[f"{f}_bic"]))
    sm = root["summary"]
    t.same("$.summary.n_layers", sm.opt("n_layers"), len(rows))
    for f in ("sigma", "delta", "A"):
        labels = [r[f"{f}_bic_best"].str() for r in rows]
        node = sm[f"{f}_bic_counts"]
        for m in sorted(set(node.keys()) | set(labels)):
            stored = node[m] if node.has(m) else Node(0, node.file, f"{node.path}.{m}")
            t.same(f"$.summary.{f}_bic_counts.*", stored, labels.count(m))
    for g, key in (("exponential", "mean_min_eff_rank_exp"), ("lognormal", "mean_min_eff_rank_ln")):
        v = [min(r["eff_rank_delta"].num(), r["eff_rank_A"].num()) for r in rows if r["sigma_bic_best"].str() == g]
        t.num(f"$.summary.{key}", sm.opt(key), float(np.mean(v)) if v else float("nan"))
    t.num("$.summary.mean_hkron_corr", sm.opt("mean_hkron_corr"), float(np.mean(corrs)))


CHECKS = {
    "conv_gap": conv_gap,
    "conv_gap_v2": conv_gap_v2,
    "kfac_prediction": kfac_prediction,
    "kronecker": kronecker,
}
