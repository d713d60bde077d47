"""Statements the suite calls *holds* (under stated or under added hypotheses) hold on instances meeting those
hypotheses, which each test checks on the instance; exact statements are checked exactly (Monte Carlo only as
an illustration, never as the check)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from property_tests import strategies as S
from theory import numeric as N
from theory import recipes as R
from theory.appendix_l import (
    couillet_hachem_stieltjes,
    prove_separable_covariance,
    separable_covariance_exact,
    separable_variance,
)
from theory.fits import fit_alpha, fit_rank_models, fit_s, log_slope
from theory.htsr import esd_tail_exponent
from theory.layernorm import bai_yin_kappa, chi_constant, flat_A_side, ln_kappa
from theory.rank_models import RANK_MODELS, generate_rank_profile
from theory.transfer import r2_at_rank_error, rank_error_r2

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
def test_corollary4_second_sentence_holds_under_the_added_flat_A_side(r, seed):
    """u^T C_delta u ∝ sigma, chi constant, and the added hypothesis C_A ∝ I (checked on each draw): alpha = 1."""
    inst = R.recipe_b(m=r, n=r, B=4 * r, a_delta=1.0, a_A=0.0, w=1.0, seed=seed)
    dec = N.decompose(inst.delta, inst.A, h_exact=inst.decompose().h_kron)
    assert chi_constant(dec).holds and flat_A_side(dec).holds
    assert log_slope(dec.sigma, dec.uCu) == pytest.approx(1, abs=1e-8)  # the premise: u^T C_delta u ∝ sigma
    assert dec.alpha_exact == pytest.approx(1, abs=1e-8)
    assert log_slope(dec.sigma, dec.omega) == pytest.approx(1, abs=1e-8)  # omega ∝ sigma, via (I2)


@given(st.integers(3, 8), S.exponents, S.exponents, S.seeds)
def test_corollary4_algebra_flat_A_side_alpha_is_delta_slopes(r, a_delta, w, seed):
    """C_A ∝ I (recipe B with lambda^A ≡ 1): alpha_Kron = slope(ln lambda^delta) + slope(ln rho^delta) exactly (§3.6);
    the printed '1 + slope(ln rho^delta)' needs slope(ln lambda^delta) = 1 in addition."""
    dec = R.recipe_b(m=r, n=r, B=4 * r, a_delta=a_delta, a_A=0.0, w=w, seed=seed).decompose()
    lam_slope = log_slope(dec.sigma, dec.lam_delta[: dec.K])
    assert dec.alpha_kron == pytest.approx(lam_slope + log_slope(dec.sigma, dec.rho_delta), abs=1e-8)
    assert lam_slope == pytest.approx(2 * a_delta / (a_delta + w), abs=1e-8)  # = 1 iff w = a_delta


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_bai_yin_layernorm_condition_number_approaches_limit(seed):
    """Fixed y = n/B = 3/16, three seeds: the gap to ((1+sqrt y)/(1-sqrt y))^2 shrinks as n, B grow, and is < 3 %
    at n/B = 384/2048."""
    gaps = []
    for n, B in ((48, 256), (192, 1024), (384, 2048)):
        v = ln_kappa(n, B, seed=seed)
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


@st.composite
def independent_discrete(draw):
    """Independent discrete delta (zero mean) and a (any mean), random atoms and weights, a batch size."""
    rng = np.random.default_rng(draw(S.seeds))
    S_, T, m, n = (draw(st.integers(2, 5)) for _ in range(4))
    d = rng.standard_normal((S_, m)) * rng.uniform(0.1, 3.0, m)
    pd = rng.dirichlet(np.ones(S_))
    d -= pd @ d
    a = rng.standard_normal((T, n)) + rng.normal(size=n)
    pa = rng.dirichlet(np.ones(T))
    return d, pd, a, pa, draw(st.integers(1, 200))


@given(independent_discrete())
def test_separable_covariance_is_exact_under_independence(dist):
    """B Cov(vec_r G) = C_delta ⊗ C_A exactly (enumeration of the product support, no Monte Carlo), so the rotated
    variances are lambda^delta_i lambda^A_j / B; a prediction biased by even 1e-6 fails."""
    d, pd, a, pa, B = dist
    r = separable_covariance_exact(d, pd, a, pa, B)
    assert np.allclose(r["mean_delta"], 0, atol=1e-12)  # the hypothesis: E delta = 0
    scale = np.max(np.abs(r["predicted"]))
    assert np.max(np.abs(r["cov"] - r["predicted"])) <= 1e-10 * scale
    ld, Qd = N.sorted_eigh(np.einsum("s,si,sk->ik", pd, d, d))
    la, Qa = N.sorted_eigh(np.einsum("t,tj,tl->jl", pa, a, a))
    Q = np.kron(Qd, Qa)
    rotated = Q.T @ r["cov"] @ Q
    assert np.allclose(np.diag(rotated), np.kron(ld, la) / B, rtol=1e-9, atol=1e-12 * scale)
    assert np.allclose(rotated - np.diag(np.diag(rotated)), 0, atol=1e-10 * scale)  # uncorrelated entries


def test_separable_covariance_sympy_proof():
    assert prove_separable_covariance() == {
        "zero_mean_imposed": True,
        "covariance": True,
        "batch_mean": True,
        "rotation": True,
    }


def test_separable_variance_monte_carlo_illustration():
    """Illustration only (the check is exact, above): 4000 recipe-H batches sit within 10 % of the profile."""
    r = separable_variance(reps=4000, seed=3)
    assert np.allclose(r["measured"], r["predicted"], rtol=0.1)


def test_couillet_hachem_fixed_point_matches_simulation():
    from theory.appendix_l import simulated_stieltjes

    d, dp = np.repeat([3.0, 1.0, 0.3], 40), np.repeat([2.0, 0.5], 120)
    for z in (-0.5, -2.0):
        assert couillet_hachem_stieltjes(z, d, dp) == pytest.approx(simulated_stieltjes(z, d, dp), rel=0.01)


@given(st.floats(0.3, 1.5))
def test_corollary8_context_esd_tail_exponent(gamma_w):
    """The one computable fact near Corollary 8 [STD]: singular values ∝ k^-gamma_W give an ESD tail 1 + 1/(2 gamma_W)."""
    assert esd_tail_exponent(gamma_w, K=20_000) == pytest.approx(1 + 1 / (2 * gamma_w), abs=1e-6)


@given(st.floats(0.02, 1.0), st.floats(0.5, 3.0), st.floats(0.3, 2.0), st.integers(0, 1000))
def test_remark2_relation_depends_on_tau_over_alpha_gamma_only_and_matches_the_fits(ratio, alpha, gamma, seed):
    """The vectorised rank-ordered error and alpha-fit R^2 equal theory.fits' per-draw fits, and they depend on
    tau/(alpha gamma) only (any alpha, gamma with the same ratio give the same numbers)."""
    err, r2 = rank_error_r2(ratio, K=20, draws=5, seed=seed)
    eps = np.random.default_rng(seed).standard_normal((5, 20))
    k = np.arange(1, 21, dtype=float)
    sigma = k**-gamma
    for i in range(5):
        h = sigma**alpha * np.exp(ratio * alpha * gamma * eps[i])
        a = fit_alpha(sigma, h)
        s_sorted = fit_s(h).slope
        assert r2[i] == pytest.approx(a.r2, abs=1e-9)
        assert err[i] == pytest.approx(abs(s_sorted - a.alpha * gamma) / s_sorted, abs=1e-9)


def test_remark2_relation_two_percent_error_is_an_alpha_fit_r2_of_0p94():
    r = r2_at_rank_error(0.02)
    assert r["median_error"] == pytest.approx(0.02, abs=1e-6)
    assert r["median_r2"] == pytest.approx(0.938, abs=2e-3)
