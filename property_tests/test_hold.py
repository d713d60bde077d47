"""Statements the suite calls *holds under stated hypotheses* hold on instances meeting those hypotheses."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from property_tests import strategies as S
from theory import numeric as N
from theory import recipes as R
from theory.appendix_l import couillet_hachem_stieltjes, separable_variance
from theory.fits import fit_rank_models, log_slope
from theory.layernorm import bai_yin_kappa, ln_kappa
from theory.rank_models import RANK_MODELS, generate_rank_profile

FEW = settings(max_examples=max(3, settings.default.max_examples // 5))


@given(S.recipe_a())
def test_recipe_A_alpha_kron_is_2_and_h_kron_is_sigma_squared(inst):
    dec = inst.decompose()
    assert np.allclose(dec.h_kron / dec.sigma**2, 1, rtol=1e-8)
    assert np.allclose(dec.omega, 1, rtol=1e-8)
    if dec.K >= 3:
        assert dec.alpha_kron == pytest.approx(2, abs=1e-8)
        assert dec.beta == pytest.approx(2, abs=1e-7) and dec.phi == pytest.approx(0, abs=1e-7)


@given(S.identity_instances())
def test_definition1_rho_lies_in_its_eigenvalue_band(inst):
    dec = inst.decompose()
    for rho, lam in ((dec.rho_delta, dec.lam_delta), (dec.rho_A, dec.lam_A)):
        lk = lam[: dec.K]
        ok = lk > 1e-12 * lam[0]
        lo = max(lam[-1], 0) / lk[ok]
        assert np.all(rho[ok] >= lo - 1e-8 * lam[0] / lk[ok])
        assert np.all(rho[ok] <= lam[0] / lk[ok] * (1 + 1e-8))


@given(S.recipe_b())
def test_omega_criterion_alpha_kron_is_2_iff_omega_flat(inst):
    dec = inst.decompose()
    if dec.K < 3:
        return
    assert dec.alpha_kron == pytest.approx(2 - log_slope(dec.sigma, dec.omega), abs=1e-8)


@given(st.integers(3, 8), st.integers(0, 2**32 - 1))
def test_corollary4_with_its_unstated_hypotheses_alpha_is_1(r, seed):
    dec = R.recipe_b(m=r, n=r, B=4 * r, a_delta=1.0, a_A=0.0, w=1.0, seed=seed).decompose()
    assert dec.alpha_kron == pytest.approx(1, abs=1e-8)
    assert log_slope(dec.sigma, dec.omega) == pytest.approx(1, abs=1e-8)  # omega ∝ sigma


@given(st.integers(3, 8), S.exponents, S.exponents, S.seeds)
def test_corollary4_algebra_flat_A_side_alpha_is_delta_slopes(r, a_delta, w, seed):
    """C_A ∝ I (recipe B with lambda^A ≡ 1): alpha_Kron = slope(ln lambda^delta) + slope(ln rho^delta) exactly (§3.6);
    the printed '1 + slope(ln rho^delta)' needs slope(ln lambda^delta) = 1 in addition."""
    dec = R.recipe_b(m=r, n=r, B=4 * r, a_delta=a_delta, a_A=0.0, w=w, seed=seed).decompose()
    lam_slope = log_slope(dec.sigma, dec.lam_delta[: dec.K])
    assert dec.alpha_kron == pytest.approx(lam_slope + log_slope(dec.sigma, dec.rho_delta), abs=1e-8)
    assert lam_slope == pytest.approx(2 * a_delta / (a_delta + w), abs=1e-8)  # = 1 iff w = a_delta


def test_bai_yin_layernorm_condition_number_approaches_limit():
    """Fixed y = n/B = 3/16: the gap to ((1+sqrt y)/(1-sqrt y))^2 shrinks as n, B grow, and is < 3 % at n/B = 384/2048."""
    gaps = []
    for n, B in ((48, 256), (192, 1024), (384, 2048)):
        v = ln_kappa(n, B, seed=1)
        assert v["null_alignment_with_1"] > 1 - 1e-9 and v["lambda_min"] < 1e-10  # LN's null vector is 1
        gaps.append(abs(v["kappa"] / bai_yin_kappa(n / B) - 1))
    assert gaps[2] < gaps[0] and gaps[2] < 0.03


def test_bai_yin_reference_values():
    assert bai_yin_kappa(384 / 2048) == pytest.approx(6.388, abs=5e-4)
    assert bai_yin_kappa(512 / 2048) == pytest.approx(9.0, abs=1e-12)
    assert bai_yin_kappa(27 / 2048) == pytest.approx(1.586, abs=5e-4)


def test_bai_yin_gap_shrinks_with_batch():
    gaps = [abs(ln_kappa(64, B, seed=2)["kappa"] / bai_yin_kappa(63 / B) - 1) for B in (256, 4096)]
    assert gaps[1] < gaps[0] + 0.02


@given(S.recipe_c())
def test_horn_fan_rank_truncation_bound(inst):
    C_d, C_A = N.second_moments(inst.delta, inst.A)
    ld, la = N.sorted_eigh(C_d)[0].clip(0), N.sorted_eigh(C_A)[0].clip(0)
    s = np.linalg.svd(N.gradient(inst.delta, inst.A), compute_uv=False)
    for i in range(ld.size):
        for j in range(la.size):
            if i + j < s.size:
                assert s[i + j] <= np.sqrt(ld[i] * la[j]) * (1 + 1e-9) + 1e-14


@given(st.lists(st.floats(-3, 3), min_size=4, max_size=40))
def test_bic_power_law_is_nested_in_lognormal(logs):
    sigma = np.exp(np.array(logs))
    rm = fit_rank_models(sigma)
    assert rm.rss["lognormal"] <= rm.rss["power_law"] * (1 + 1e-9) + 1e-12


@pytest.mark.parametrize("model", RANK_MODELS)
def test_bic_recovers_the_generating_model_in_most_seeds(model):
    wins = sum(fit_rank_models(generate_rank_profile(model, 20, 0.01, s)).winner == model for s in range(20))
    assert wins >= 14


def test_separable_variance_under_independence():
    r = separable_variance(reps=4000, seed=3)
    assert np.allclose(r["measured"], r["predicted"], rtol=0.1)


def test_couillet_hachem_fixed_point_matches_simulation():
    from theory.appendix_l import simulated_stieltjes

    d, dp = np.repeat([3.0, 1.0, 0.3], 40), np.repeat([2.0, 0.5], 120)
    for z in (-0.5, -2.0):
        assert couillet_hachem_stieltjes(z, d, dp) == pytest.approx(simulated_stieltjes(z, d, dp), rel=0.01)
