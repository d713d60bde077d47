"""ζ bound and PR monotonicity; softmax rank facts; OLS slope additivity and the §3.10 transfer identity;
Spectral Newton closed forms (i)–(vi)."""

from __future__ import annotations

import mpmath
import numpy as np
import pytest
import sympy as sp
from hypothesis import given
from hypothesis import strategies as st

from property_tests import strategies as S
from theory import numeric as N
from theory import recipes as R
from theory import spectral_newton as SN
from theory.fits import ols
from theory.softmax import softmax_rank_facts
from theory.transfer import transfer_terms
from theory.zeta import pr_power_law, zeta_bound, zeta_bound_exact


@given(st.floats(1.05, 6.0), st.integers(2, 150))
def test_pr_increases_in_K_towards_the_zeta_bound(p, K):
    r"""For :math:`h_k=k^{-p}`, :math:`\mathrm{PR}` increases with :math:`K` and stays below :math:`\zeta`'s bound."""
    a, b = pr_power_law(p, K), pr_power_law(p, K + 1)
    assert a < b < float(zeta_bound(p))


@given(st.lists(st.floats(1e-3, 1e3), min_size=2, max_size=40))
def test_pr_is_non_decreasing_for_any_non_increasing_sequence(h):
    r""":math:`\mathrm{PR}(h_{1..K})` is non-decreasing in :math:`K` for any non-increasing positive :math:`h`."""
    from theory.fits import participation_ratio

    h = np.sort(np.array(h))[::-1]
    prs = [participation_ratio(h[:K]) for K in range(1, h.size + 1)]
    assert np.all(np.diff(prs) >= -1e-12 * np.array(prs[1:]))


def test_zeta_bound_exactly_five_halves_at_two_and_any_precision():
    r"""The :math:`\zeta` bound is exactly 5/2 at :math:`p=2` (sympy, and mpmath at 60 digits), with reference values at
    other :math:`p`."""
    assert zeta_bound_exact(2) == sp.Rational(5, 2)
    with mpmath.workdps(60):
        assert abs(zeta_bound(2, dps=60) - mpmath.mpf(5) / 2) < mpmath.mpf(10) ** -55
        assert abs(zeta_bound(3, dps=60) - zeta_bound(3, dps=40)) < mpmath.mpf(10) ** -38
    table = {1.5: 5.677, 2.17: 2.147, 3.12: 1.372, 6.0: 1.035}
    for p, ref in table.items():
        assert float(zeta_bound(p)) == pytest.approx(ref, abs=6e-4)
    assert pr_power_law(2.0, 20) == pytest.approx(2.354, abs=5e-4)
    assert pr_power_law(1.2, 20) == pytest.approx(5.953, abs=5e-4)


@given(S.recipe_g())
def test_softmax_rank_at_most_c_minus_1_and_sigma_c_zero(inst):
    r"""Softmax head (recipe G): :math:`\mathrm{rank}\,C_\delta,\mathrm{rank}\,G\le c-1`, :math:`C_\delta\mathbf 1=0`,
    :math:`\lambda_c=\sigma_c=0`."""
    f = softmax_rank_facts(inst)
    assert f["rank_C_delta"] <= f["c"] - 1 and f["rank_G"] <= f["c"] - 1
    assert f["norm_C_delta_1"] < 1e-12
    assert f["lambda_c_rel"] < 1e-12 and f["sigma_c_rel"] < 1e-12


@given(st.lists(st.tuples(st.floats(-5, 5), st.floats(-5, 5), st.floats(-5, 5)), min_size=3, max_size=30))
def test_ols_slope_is_additive_in_the_response(rows):
    """The OLS slope is linear in the response: slope(x, y₁ + y₂) = slope(x, y₁) + slope(x, y₂)."""
    x, y1, y2 = (np.array(c) for c in zip(*rows, strict=True))
    if np.ptp(x) < 1e-3:
        return
    s = ols(x, y1 + y2).slope
    assert s == pytest.approx(ols(x, y1).slope + ols(x, y2).slope, abs=1e-8 * (1 + abs(s)))


@given(st.integers(4, 40), st.integers(0, 2**32 - 1))
def test_transfer_identity_s_idx_equals_alpha_gamma_minus_covariance_term(K, seed):
    r"""Finite-sample transfer identity: :math:`s_{\rm idx}=\alpha\gamma-` the covariance term, on random
    :math:`(\sigma,h)`."""
    rng = np.random.default_rng(seed)
    sigma = np.sort(np.exp(rng.normal(size=K)))[::-1]
    h = np.exp(rng.normal(size=K) + 1.5 * np.log(sigma))
    t = transfer_terms(sigma, h)
    if abs(t["gamma"]) < 1e-6:
        return
    assert t["s_idx"] == pytest.approx(t["alpha_gamma"] - t["cov_term"], abs=1e-8 * (1 + abs(t["s_idx"])))


@given(S.recipe_c(), st.floats(0.0, 3.0), st.floats(0.01, 1.0))
def test_sn_closed_forms_i_to_iv(inst, alpha, d):
    r"""Spectral Newton closed forms (i)–(iv) agree with the SVD definition :math:`\sum_kT(\sigma_k;\alpha)u_kw_k^\top`."""
    G = N.gradient(inst.delta, inst.A)
    G = G / np.linalg.norm(G, 2)
    errs = SN.closed_form_errors(G, alpha, d)
    scale = np.max(np.abs(SN.sn_update(G, alpha, d)))
    assert max(errs.values()) < 1e-8 * max(1.0, scale)


@given(S.recipe_c(), st.floats(0.01, 1.0))
def test_sn_ii_alpha_2_is_a_linear_solve(inst, d):
    r"""(ii) at :math:`\alpha=2` the update is the linear solve :math:`(GG^\top+dI)^{-1}G`."""
    G = N.gradient(inst.delta, inst.A)
    G = G / np.linalg.norm(G, 2)
    errs = SN.closed_form_errors(G, 2.0, d)
    assert "linear_solve" in errs and max(errs.values()) < 1e-10


@given(st.floats(1.05, 4.0), st.floats(0.01, 1.0))
def test_sn_v_transfer_function_peaks_at_closed_form(alpha, d):
    r"""(v) for :math:`\alpha>1`, :math:`T(\sigma)` peaks at :math:`\sigma^*=(d/(\alpha-1))^{1/\alpha}`."""
    peak = (d / (alpha - 1)) ** (1 / alpha)
    T = SN.transfer_function(np.array([peak * 0.9, peak, peak * 1.1]), alpha, d)
    assert T[1] >= T[0] and T[1] >= T[2]  # non-monotone for alpha > 1


@given(S.recipe_a(), st.floats(0.01, 1.0))
def test_sn_vi_equals_damped_kron_newton_on_recipe_A(inst, d):
    r"""(vi) on recipe A the :math:`\alpha=2` update equals the damped Kronecker-Newton step with :math:`C_\delta`,
    :math:`C_A`."""
    C_d, C_A = N.second_moments(inst.delta, inst.A)
    G = N.gradient(inst.delta, inst.A)
    ref = SN.sn_update(G, 2.0, d)
    assert np.allclose(SN.kron_newton(C_d, C_A, G, d), ref, rtol=1e-8, atol=1e-10 * np.max(np.abs(ref)))


def test_sn_vi_differs_from_kron_newton_on_generic_data():
    """(vi) on generic data (recipe C) it does not: the two steps differ."""
    inst = R.recipe_c(m=6, n=6, B=40, seed=0)
    C_d, C_A = N.second_moments(inst.delta, inst.A)
    G = N.gradient(inst.delta, inst.A)
    diff = np.max(np.abs(SN.kron_newton(C_d, C_A, G) - SN.sn_update(G, 2.0)))
    assert diff > 1e-3 * np.max(np.abs(SN.sn_update(G, 2.0)))
