"""Integrity as checks: on the authors' unmodified files and the shipped results every cross-checked field
agrees; changing any one cross-checked stored field makes its file's ``integrity.<file>`` check fail, naming
the field's JSON path, and makes ``verify`` exit 1 with the failing row in the table and in --json."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from claims.bundle import FILE_KEYS, Bundle
from claims.evaluate import evaluate
from claims.integrity import FIELDS, NOT_CHECKED, fields_markdown, files, integrity_claims, tally
from claims.model import FAILS, HOLDS
from tests.claims.cases import PAPER, RESULTS, ROOT, link_paper, needs_paper, paper_doc, verify, write

MEASUREMENT = "resnet18_digits_e10_s0_b0.json"  # a shipped sad-results/1 file with Kronecker records in both conv forms
COMPARISON = "optim_compare_offceiling_conv.json"  # a shipped sad-optim/1 file (every config, per-epoch curves)
MODELS = ("power_law", "exponential", "lognormal")
#: cross-file checks: a file is compared with the files it derives from
DEPENDS = {"model_fit": ("alpha_triangle",), "kfac_prediction": ("conv_gap_v2",), "depth_scaling": ("model_fit", "rmt")}


def RMT_LAYER_FIELDS(model: str) -> list[tuple[str, tuple[str, ...]]]:  # noqa: N802 - a table
    return [
        ("bic.*", ("bic", model)),
        ("best_model_bic", ("best_model_bic",)),
        ("gamma", ("gamma",)),
        ("beta", ("beta",)),
    ]


#: one concrete stored field per cross-checked pattern: (file kind, pattern) → path into the document
MUTATIONS: dict[str, dict[str, tuple]] = {
    "alpha_triangle": {
        f"$[].results[].{k}": (1, "results", 3, k)
        for k in (
            "alpha",
            "r2_alpha",
            "gamma",
            "r2_gamma",
            "s_hessian",
            "r2_s_hessian",
            "predicted_s",
            "triangle_error",
            "triangle_relative_error",
        )
    },
    "tiny": {
        "$.results[].predicted_s": ("results", 7, "predicted_s"),
        "$.results[].triangle_error": ("results", 7, "triangle_error"),
        "$.results[].triangle_relative_error": ("results", 7, "triangle_relative_error"),
        "$.n_layers": ("n_layers",),
        **{
            f"$.summary.by_layer_type.*.{k}": ("summary", "by_layer_type", g, k)
            for k, g in (
                ("n", "other"),
                ("mean_alpha", "conv"),
                ("median_alpha", "conv"),
                ("std_alpha", "other"),
                ("min_alpha", "conv"),
                ("max_alpha", "fc"),
            )
        },
        **{
            f"$.summary.triangle.{k}": ("summary", "triangle", k)
            for k in ("n", "median_rel_error_pct", "mean_rel_error_pct")
        },
    },
    "in1k": {
        "$.results[].predicted_s": ("results", 2, "predicted_s"),
        "$.results[].triangle_error": ("results", 2, "triangle_error"),
        "$.results[].triangle_relative_error": ("results", 2, "triangle_relative_error"),
        "$.results[].best_bic": ("results", 4, "best_bic"),
        **{
            f"$.summary.{k}": ("summary", k)
            for k in ("n_layers", "conv_mean_alpha", "conv_median_alpha", "fc_alpha", "triangle_median_err_pct")
        },
        "$.summary.bic_wins.*": ("summary", "bic_wins", "lognormal"),
    },
    "hypothesis": {f"$.*.*[].{k}": ("task_structure", "GPT2_LM", 1, k) for k in ("alpha", "r2", "n_valid")},
    "predictions": {f"$[].results[].{k}": (2, "results", 1, k) for k in ("alpha", "r2", "n_valid")},
    "intrinsic_dim": {
        f"$[].results[].{k}": (1, "results", 2, k)
        for k in ("alpha_gamma_product", "n_total_directions", "predicted_eff_rank")
    },
    "conv_gap": {
        **{
            f"$.conv_results[].{k}": ("conv_results", 2, k)
            for k in (
                "alpha_exact",
                "r2_exact",
                "alpha_naive",
                "alpha_kfc",
                "cos2_naive",
                "cos2_kfc",
                "h_kron_naive",
                "h_kron_kfc",
                "cos2_predicted",
                "cos2_residual",
                "slope_cos2_naive",
                "slope_cos2_kfc",
                "slope_gamma_SUD",
                "slope_gamma_IAD",
                "slope_residual",
                "shape_2d",
            )
        },
        **{f"$.fc_result.{k}": ("fc_result", k) for k in ("alpha_exact", "r2_exact", "cos2_theta")},
    },
    "conv_gap_v2": {
        **{
            f"$.conv_results[].{k}": ("conv_results", 1, k)
            for k in ("alpha_exact", "r2_exact", "concentration_ratio", "cos2_theta")
        },
        **{
            f"$.fc_result.{k}": ("fc_result", k)
            for k in ("alpha_exact", "r2_exact", "concentration_ratio", "cos2_theta")
        },
    },
    "kfac_prediction": {
        "$.n_layers": ("n_layers",),
        "$.corr_alpha_gap_vs_kronecker_slack": ("corr_alpha_gap_vs_kronecker_slack",),
        "$.corr_alpha_gap_vs_r2_h_sigma": ("corr_alpha_gap_vs_r2_h_sigma",),
        **{
            f"$.layers[].{k}": ("layers", 3, k)
            for k in ("alpha_gap", "kronecker_slack", "alpha", "r2_exact", "conc_ratio")
        },
    },
    "kronecker": {
        **{
            f"$.layers[].{k}": ("layers", 6, k)
            for k in ("log_hkron_vs_log_sigma2_corr", "h_kron_top30", "sigma_bic_best", "delta_bic_best", "A_bic_best")
        },
        "$.summary.n_layers": ("summary", "n_layers"),
        "$.summary.sigma_bic_counts.*": ("summary", "sigma_bic_counts", "lognormal"),
        "$.summary.delta_bic_counts.*": ("summary", "delta_bic_counts", "exponential"),
        "$.summary.A_bic_counts.*": ("summary", "A_bic_counts", "power_law"),
        **{
            f"$.summary.{k}": ("summary", k)
            for k in ("mean_min_eff_rank_exp", "mean_min_eff_rank_ln", "mean_hkron_corr")
        },
    },
    "model_fit": {
        "$.layers[].best_model_bic": ("layers", 5, "best_model_bic"),
        "$.layers[].delta_bic.*": ("layers", 5, "delta_bic", "ln_minus_exp"),
        "$.layers[].fits.*.bic": ("layers", 5, "fits", "exponential", "bic"),
        "$.layers[].fits.*.aic": ("layers", 5, "fits", "lognormal", "aic"),
        "$.layers[].fits.*.rss": ("layers", 5, "fits", "power_law", "rss"),
        "$.layers[].fits.*.n": ("layers", 5, "fits", "power_law", "n"),
        "$.layers[].fits.*.params": ("layers", 5, "fits", "lognormal", "a"),
        "$.layers[].gamma_reported": ("layers", 5, "gamma_reported"),
        "$.layers[].top_k": ("layers", 5, "top_k"),
        "$.summary.n_layers": ("summary", "n_layers"),
        "$.summary.wins_by_bic.*": ("summary", "wins_by_bic", "exponential"),
        "$.summary.wins_pct.*": ("summary", "wins_pct", "lognormal"),
        "$.summary.wins_by_layer_type.*.*": ("summary", "wins_by_layer_type", "fc", "total"),
    },
    "rmt": {
        **{
            f"$.phase_*.layers[].{p}": ("phase_1b_extended_trained", "layers", 9, *k)
            for p, k in RMT_LAYER_FIELDS("exponential")
        },
        **{
            f"$.phase_2b_trajectory[].layers[].{p}": ("phase_2b_trajectory", 3, "layers", 11, *k)
            for p, k in RMT_LAYER_FIELDS("lognormal")
        },
        "$.phase_*.summary.n_layers": ("phase_2a_init", "summary", "n_layers"),
        "$.phase_*.summary.wins_by_bic.*": ("phase_2a_init", "summary", "wins_by_bic", "power_law"),
        "$.phase_*.summary.mean_gamma": ("phase_1b_extended_trained", "summary", "mean_gamma"),
        "$.phase_*.summary.median_gamma": ("phase_2a_init", "summary", "median_gamma"),
        "$.phase_2b_trajectory[].n_layers": ("phase_2b_trajectory", 5, "n_layers"),
        "$.phase_2b_trajectory[].wins_by_bic.*": ("phase_2b_trajectory", 5, "wins_by_bic", "lognormal"),
    },
    "vgg16": {
        "$.trajectory[].layers[].best_model_bic": ("trajectory", 4, "layers", 2, "best_model_bic"),
        "$.trajectory[].n_layers": ("trajectory", 4, "n_layers"),
        "$.trajectory[].wins_by_bic.*": ("trajectory", 4, "wins_by_bic", "lognormal"),
    },
    "depth_scaling": {
        "$.phase1a.n_layers": ("phase1a", "n_layers"),
        "$.phase1a.wins_by_bic.*": ("phase1a", "wins_by_bic", "power_law"),
        "$.phase1a.wins_pct.*": ("phase1a", "wins_pct", "exponential"),
        "$.phase1a.wins_by_layer_type.*.*": ("phase1a", "wins_by_layer_type", "conv", "lognormal"),
        "$.rmt.rows[].*": ("rmt", "rows", 60, "gamma"),
        "$.rmt.n_init": ("rmt", "n_init"),
        "$.rmt.n_trained": ("rmt", "n_trained"),
        "$.rmt.corr_backprop_depth_vs_gamma_*.r": ("rmt", "corr_backprop_depth_vs_gamma_init", "r"),
        "$.rmt.corr_backprop_depth_vs_gamma_*.n": ("rmt", "corr_backprop_depth_vs_gamma_trained", "n"),
        "$.rmt.corr_backprop_depth_vs_gamma_*.p": ("rmt", "corr_backprop_depth_vs_gamma_trained", "p"),
        "$.rmt.mean_gamma_by_backprop_depth_trained.*.mean": (
            "rmt",
            "mean_gamma_by_backprop_depth_trained",
            "2",
            "mean",
        ),
        "$.rmt.mean_gamma_by_backprop_depth_trained.*.n": ("rmt", "mean_gamma_by_backprop_depth_trained", "3", "n"),
        "$.trajectory_wins[].wins.*": ("trajectory_wins", 2, "wins", "exponential"),
    },
    "precond": {"$.summary.*.mean_best": ("summary", "spectral_beta15", "mean_best")},
    "sad-optim/1": {
        "$.runs[].best": ("runs", 4, "best"),
        "$.runs[].final": ("runs", 4, "final"),
        **{f"$.summary.*.{k}": ("summary", "muon", k) for k in ("mean_best", "std_best", "seeds", "seed_ids", "final")},
        "$.summary.*.lr": ("summary", "sn", "lr"),
        "$.summary.*.optimizer": ("summary", "sn", "optimizer"),
        "$.summary.*.sec_*": ("summary", "sn", "sec_per_opt_step"),
        "$.summary.*.n_steps": ("summary", "adamw", "n_steps"),
        "$.lr_search.chosen.*": ("lr_search", "chosen", "spectral_beta10"),
        "$.s_by_layer.*.s": ("s_by_layer", "layer1.0.conv1", "s"),
        "$.runs[].n_steps": ("runs", 4, "n_steps"),
        "$.summary.*.curve.*": ("summary", "sn", "curve", "test_accuracy"),
    },
    "sad-results/1": {
        **{
            f"$.layers[].fits.{k}": ("layers", 4, "fits", k)
            for k in (
                "alpha",
                "r2_alpha",
                "gamma",
                "r2_gamma",
                "s",
                "r2_s",
                "predicted_s",
                "transfer_error",
                "pr_h",
                "pr_sigma2",
                "n_valid",
                "n_nonpositive_h",
                "n_nonfinite",
                "bic_winner",
                "ok",
            )
        },
        "$.layers[].fits.bic.*": ("layers", 4, "fits", "bic", "exponential"),
        "$.layers[].diagnostics.n_nonpositive_h": ("layers", 4, "diagnostics", "n_nonpositive_h"),
        "$.layers[].diagnostics.n_nonfinite": ("layers", 4, "diagnostics", "n_nonfinite"),
        "$.layers[].gn_gap": ("layers", 4, "gn_gap"),
        **{
            f"$.layers[].kron.{k}": ("layers", 4, "kron", k)
            for k in (
                "Phi",
                "Lambda",
                "h_kron_ef",
                "h_kron_gn",
                "chi",
                "chi_gn",
                "rho_delta",
                "rho_A",
                "concentration_ratio",
                "lambda_delta",
                "lambda_A",
                "concentration_ratio_mean_top10",
            )
        },
        "$.layers[].kron.exponents.*": ("layers", 4, "kron", "exponents", "phi"),
        "$.layers[].kron.exponents.n_window": ("layers", 4, "kron", "exponents", "n_window"),
        "$.layers[].kron.forms.*.*": ("layers", 4, "kron", "forms", "kfc", "chi"),
    },
}


def changed(v: Any) -> Any:
    """A different value of the same kind (beyond every tolerance)."""
    if isinstance(v, bool):
        return not v
    if isinstance(v, int):
        return v + 1
    if isinstance(v, float):
        return v * 1.01 + 0.01
    if isinstance(v, str):
        return MODELS[(MODELS.index(v) + 1) % 3] if v in MODELS else v + "_x"
    if isinstance(v, list):  # the first entry (an id list gets a fresh id, never a repeated one)
        return [v[0] + 1000 if isinstance(v[0], int) else changed(v[0]), *v[1:]]
    raise TypeError(v)


def source(kind: str) -> tuple[Any, str]:
    """A fresh document of this kind and its file name."""
    if kind in FILE_KEYS:
        return paper_doc(kind), FILE_KEYS[kind]
    name = MEASUREMENT if kind == "sad-results/1" else COMPARISON
    doc = json.loads((RESULTS / name).read_text())
    if kind == "sad-results/1":
        with_gn_record(doc)
    return doc, name


def with_gn_record(doc: dict) -> None:
    """Give a measurement made without the optional Gauss–Newton curvature (the cpu preset's) an exact one,
    h_gn = h_exact and gn_gap = 0, so that the gn_gap check has something to compare."""
    for layer in doc["layers"]:
        if "h_gn" not in layer:
            layer["h_gn"] = list(layer["h_exact"])
            layer["gn_gap"] = [None if v is None else 0.0 for v in layer["h_exact"]]


def json_path(keys: tuple) -> str:
    return "$" + "".join(f"[{k}]" if isinstance(k, int) else f".{k}" for k in keys)


def folder_with(tmp: Path, kind: str, doc: Any, name: str) -> Path:
    """A folder holding the document (and, linked, the files it is cross-checked against)."""
    d = link_paper(tmp, only=DEPENDS.get(kind, ()))
    return write(d, {name: doc})


def integrity_outcome(folder: Path, name: str):  # noqa: ANN201
    b = Bundle(folder)
    (check,) = [c for c in integrity_claims(b) if c.id == f"integrity.{name}"]
    return evaluate(check, b)


CASES = [(k, p) for k, pats in MUTATIONS.items() for p in pats]


def test_every_cross_checked_field_has_a_mutation():
    assert set(MUTATIONS) == set(FIELDS)
    for kind in FIELDS:
        assert set(MUTATIONS[kind]) == set(FIELDS[kind]), kind


@needs_paper
@pytest.mark.parametrize("kind,pattern", CASES, ids=[f"{k}:{p}" for k, p in CASES])
def test_a_changed_field_fails_its_file_integrity_check(kind, pattern, tmp_path):
    doc, name = source(kind)
    keys = MUTATIONS[kind][pattern]
    parent = doc
    for k in keys[:-1]:
        parent = parent[k]
    parent[keys[-1]] = changed(parent[keys[-1]])
    out = integrity_outcome(folder_with(tmp_path / "r", kind, doc, name), name)
    path = json_path(keys)
    assert out.verdict == FAILS, (pattern, path)
    assert any(v.startswith((path + ":", path + "[")) for v in out.violators), (path, out.violators[:5])


@needs_paper
@pytest.mark.parametrize("kind", sorted(MUTATIONS))
def test_verify_exits_1_with_the_failing_integrity_row(kind, tmp_path):
    """One changed field per file kind, through the command line: exit 1, the row in --json and in the table."""
    doc, name = source(kind)
    pattern, keys = next(iter(MUTATIONS[kind].items()))
    base = folder_with(tmp_path / "base", kind, doc, name)
    rc0, out0, _ = verify("verify", "--results", str(base), "--json")
    assert {r["id"]: r["verdict"] for r in json.loads(out0)}[f"integrity.{name}"] == HOLDS
    parent = doc
    for k in keys[:-1]:
        parent = parent[k]
    parent[keys[-1]] = changed(parent[keys[-1]])
    d = folder_with(tmp_path / "bad", kind, doc, name)
    rc, out, err = verify("verify", "--results", str(d), "--json")
    rows = {r["id"]: r for r in json.loads(out)}
    row = rows[f"integrity.{name}"]
    assert rc == 1 and err == "" and row["verdict"] == FAILS and row["kind"] == "integrity"
    assert any(json_path(keys) in v for v in row["violators"])
    assert row["measured"][0] < row["measured"][1]
    rc, table, _ = verify("verify", "--results", str(d), "--only", "fails")
    assert rc == 1 and any(ln.startswith(f"integrity.{name} ") and " fails " in ln for ln in table.splitlines())
    assert f"1 disagree: integrity.{name}" in table
    assert f"integrity.{name}: " in table and f"  {json_path(keys)}" in table  # the disagreements listed


def test_integrity_alone_sets_the_exit_status(tmp_path):
    """A folder where no claim fails exits 0; changing one stored field of its file makes it exit 1."""
    from tests.optim_fixture import sn_wins

    doc = sn_wins()  # SN beats AdamW, scalar configs within noise, SN step 1.5× Muon: every optimizer law holds
    rc, out, _ = verify("verify", "--results", str(write(tmp_path / "ok", {"cmp.json": doc})), "--json")
    assert rc == 0 and not [r["id"] for r in json.loads(out) if r["verdict"] == FAILS]
    doc["runs"][0]["best"] += 0.5  # a run's best no longer the max of its curve, nor the summary's seed value
    bad = write(tmp_path / "bad", {"cmp.json": doc})
    rc, out, _ = verify("verify", "--results", str(bad), "--json")
    assert rc == 1 and [r["id"] for r in json.loads(out) if r["verdict"] == FAILS] == ["integrity.cmp.json"]
    rc, shown, _ = verify("show", "integrity.cmp.json", "--results", str(bad))
    assert rc == 0 and "$.runs[0].best: stored" in shown and "verdict   : fails" in shown


# -- the examples -----------------------------------------------------------------------------------
@needs_paper
def test_consistently_flipped_bic_labels_and_summary_are_caught(tmp_path):
    """Flipping model_fit's per-layer labels and its summary together (consistent with each other) still
    disagrees with the stored BIC values and with the refit on alpha_triangle's σ."""
    doc, name = source("model_fit")
    for lay in doc["layers"]:
        lay["best_model_bic"] = "power_law"
    n = len(doc["layers"])
    doc["summary"]["wins_by_bic"] = {"power_law": n, "exponential": 0, "lognormal": 0}
    out = integrity_outcome(folder_with(tmp_path / "r", "model_fit", doc, name), name)
    assert out.verdict == FAILS
    assert any(
        v.startswith("$.layers[0].best_model_bic: stored 'power_law', recomputed 'lognormal'") for v in out.violators
    )


@needs_paper
@pytest.mark.parametrize("key,field", [("kronecker", "log_hkron_vs_log_sigma2_corr"), ("kfac_prediction", None)])
def test_negated_kronecker_correlation_is_caught(key, field, tmp_path):
    doc, name = source(key)
    if field:
        doc["layers"][0][field] *= -1
        path = f"$.layers[0].{field}"
    else:
        doc["corr_alpha_gap_vs_kronecker_slack"] *= -1
        path = "$.corr_alpha_gap_vs_kronecker_slack"
    out = integrity_outcome(folder_with(tmp_path / "r", key, doc, name), name)
    assert out.verdict == FAILS and out.violators[0].startswith(path)


def test_fields_that_cannot_be_recomputed_are_documented():
    """in1k stores no σ/h arrays: its per-row R² (the issue's 0.90 example) cannot be cross-checked, and says so."""
    assert "R²" in NOT_CHECKED["in1k"] and "no σ/h arrays" in NOT_CHECKED["in1k"]
    assert set(NOT_CHECKED) == set(FIELDS)


# -- the unmodified files ------------------------------------------------------------------------------------
@needs_paper
def test_authors_files_agree_and_every_declared_field_is_compared():
    b = Bundle(PAPER)
    b.load_all()
    kinds = []
    for kind, root in files(b):
        t = tally(b, kind, root)
        assert not t.bad, (kind, t.bad[:3])
        assert t.used == set(FIELDS[kind]), (kind, set(FIELDS[kind]) - t.used)
        assert not t.skipped, t.skipped
        kinds.append(kind)
    assert kinds == list(FILE_KEYS)
    assert all(evaluate(c, b).verdict == HOLDS for c in integrity_claims(b))


def test_shipped_results_agree_and_every_declared_field_is_compared():
    b = Bundle(RESULTS)
    b.load_all()
    used: dict[str, set[str]] = {}
    for kind, root in files(b):
        t = tally(b, kind, root)
        assert not t.bad, (root.file, t.bad[:3])
        used.setdefault(kind, set()).update(t.used)
    assert set(used) == {"sad-results/1", "sad-optim/1"}
    # the Gauss-Newton curvature is optional (the cpu preset does not record it): its gap is compared only where
    # a shipped file holds h_gn, and every other declared field always
    has_gn = any(
        "h_gn" in layer for kind, root in files(b) if kind == "sad-results/1" for layer in root.value["layers"]
    )
    optional = set() if has_gn else {"$.layers[].gn_gap"}
    for kind, u in used.items():
        assert u == set(FIELDS[kind]) - (optional if kind == "sad-results/1" else set()), (kind, set(FIELDS[kind]) - u)


def test_entries_at_a_declared_degenerate_direction_are_not_compared(tmp_path):
    """The 10-class ResNet head's 10th direction lies beyond the gradient's rank (σ ≈ 1e-16): its λ^δ is zero by the
    writer's rule, so Lambda/rho/Phi are stored null and concentration_ratio is a ratio of round-off. Such entries
    are not compared; the same mutation one direction earlier (λ^δ clearly positive) is a failing integrity row."""
    name = "resnet18_digits_e10_s0_b1.json"
    doc = json.loads((RESULTS / name).read_text())
    (fc,) = [i for i, layer in enumerate(doc["layers"]) if layer["name"] == "fc"]
    kron = doc["layers"][fc]["kron"]
    assert kron["Lambda"][9] is None and any("lambda_delta_k = 0" in n for n in kron["notes"])
    for index, verdict in ((9, HOLDS), (8, FAILS)):
        bad = json.loads(json.dumps(doc))
        k = bad["layers"][fc]["kron"]
        k["concentration_ratio"][index] *= 3.0
        head = [x for x in k["concentration_ratio"][:10] if x is not None]
        k["concentration_ratio_mean_top10"] = sum(head) / len(head)  # kept consistent: only the entry is tested
        folder = write(tmp_path / f"k{index}", {name: bad})
        assert integrity_outcome(folder, name).verdict == verdict, index


def test_docs_page_lists_the_cross_checked_fields():
    """docs/integrity.md holds the tables :func:`fields_markdown` generates (regenerate it when FIELDS change)."""
    page = (ROOT / "docs" / "integrity.md").read_text(encoding="utf-8")
    assert fields_markdown() in page


def test_a_cross_file_check_without_its_source_says_so(tmp_path):
    doc, name = source("kfac_prediction")
    d = write(tmp_path / "r", {name: doc})  # no conv_gap_v2
    out = integrity_outcome(d, name)
    assert out.verdict == HOLDS and any("results_conv_gap_v2.json is absent" in n for n in out.notes)


def test_show_prints_an_integrity_check(tmp_path):
    rc, out, _ = verify("show", "integrity.resnet18_digits_e10_s0_b0.json", "--results", str(RESULTS))
    assert rc == 0 and "[integrity]" in out and "verdict   : holds" in out


def test_integrity_rows_are_not_counted_as_claims():
    from claims.registry import REGISTRY

    b = Bundle(RESULTS)
    rc, out, _ = verify("verify", "--results", str(RESULTS))
    assert f"{len(REGISTRY)} claims coded" in out and f"integrity: {len(files(b))} files cross-checked" in out
