"""theory.fits: closed-form cases, degenerate input, and agreement with the authors' stored fits."""

import json
import math

import numpy as np
import pytest

from tests import paths
from theory.fits import (
    RANK_MODELS,
    fit_alpha,
    fit_gamma,
    fit_rank_models,
    fit_s,
    ols,
    participation_ratio,
    summarize_layer,
    transfer_error,
)

PAPER = paths.PAPER


def test_exact_power_laws_recovered():
    k = np.arange(1, 21, dtype=float)
    sigma = 3.0 * k**-1.3
    h = 0.5 * sigma**2.0
    a = fit_alpha(sigma, h)
    assert a.ok and a.alpha == pytest.approx(2.0, abs=1e-12) and a.r2 == pytest.approx(1.0)
    assert fit_gamma(sigma).slope == pytest.approx(1.3, abs=1e-12)
    assert fit_s(h).slope == pytest.approx(2.6, abs=1e-12)
    assert transfer_error(2.6, 2.0, 1.3) == pytest.approx(0.0, abs=1e-15)


def test_s_uses_rank_order_not_index_order():
    sigma = np.arange(1, 11, dtype=float)[::-1]
    h = np.array([1.0, 2.0, 0.5, 0.25, 0.2, 0.1, 0.05, 0.04, 0.03, 0.02])
    sorted_fit = fit_s(h)
    idx = ols(np.log(np.arange(1, 11.0)), np.log(h))
    assert sorted_fit.slope != pytest.approx(-idx.slope)
    assert sorted_fit.slope == pytest.approx(-ols(np.log(np.arange(1, 11.0)), np.log(np.sort(h)[::-1])).slope)
    assert sigma.size == 10


def test_nonpositive_and_nonfinite_curvatures_are_counted_not_hidden():
    sigma = [5, 4, 3, 2, 1.0]
    h = [25, -1.0, 9, None, 1.0]
    a = fit_alpha(sigma, h)
    assert a.n_valid == 3 and a.n_nonpositive_h == 1 and a.n_nonfinite == 1
    summ = summarize_layer(sigma, h)
    assert any("non-positive" in n for n in summ.notes)
    assert any("non-finite" in n for n in summ.notes)


def test_degenerate_fits_say_so():
    a = fit_alpha([1.0, 1.0, 1.0], [1.0, 2.0, 3.0])
    assert not a.ok and a.reason == "constant regressor" and math.isnan(a.alpha)
    b = fit_alpha([2.0, 1.0], [4.0, 1.0])
    assert not b.ok and "usable points" in b.reason
    assert math.isnan(transfer_error(0.0, 1.0, 1.0))
    assert not fit_rank_models([1.0, 0.5, 0.1]).ok


def test_participation_ratio():
    assert participation_ratio([1, 1, 1, 1]) == pytest.approx(4.0)
    assert participation_ratio([1, 0, 0]) == pytest.approx(1.0)
    assert math.isnan(participation_ratio([0.0, 0.0]))


@pytest.mark.parametrize("model", RANK_MODELS)
def test_rank_model_recovery(model):
    rng = np.random.default_rng(3)
    k = np.arange(1, 21, dtype=float)
    wins = 0
    for _ in range(20):
        noise = rng.normal(0, 0.01, k.size)
        log_s = {
            "power_law": 1.0 - 1.2 * np.log(k),
            "exponential": 1.0 - 0.3 * k,
            "lognormal": 1.0 - 0.2 * np.log(k) - 0.35 * np.log(k) ** 2,
        }[model]
        rm = fit_rank_models(np.exp(log_s + noise))
        assert rm.rss["lognormal"] <= rm.rss["power_law"] + 1e-12  # nested models
        wins += rm.winner == model
    assert wins >= 14


@pytest.mark.skipif(not PAPER.is_dir(), reason="../shared/paper-results not present")
def test_reproduces_authors_stored_fits_and_bic():
    tri = json.loads((PAPER / "results_alpha_triangle.json").read_text())
    worst = 0.0
    sig = {}
    for block in tri:
        for r in block["results"]:
            sig[(block["experiment"], r["name"])] = r["sigma"]
            s = summarize_layer(r["sigma"], r["h_exact"])
            for ours, theirs in (
                (s.alpha.alpha, r["alpha"]),
                (s.alpha.r2, r["r2_alpha"]),
                (s.gamma.slope, r["gamma"]),
                (s.s.slope, r["s_hessian"]),
                (s.transfer_error, r["triangle_relative_error"]),
            ):
                worst = max(worst, abs(ours - theirs))
    assert worst < 1e-9
    mf = json.loads((PAPER / "results_model_fit_comparison.json").read_text())
    for layer in mf["layers"]:
        rm = fit_rank_models(sig[(layer["experiment"], layer["name"])])
        assert rm.winner == layer["best_model_bic"]
        for m in RANK_MODELS:
            assert rm.bic[m] == pytest.approx(layer["fits"][m]["bic"], abs=1e-9)
