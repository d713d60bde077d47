"""Statements the suite calls *refuted as printed* fail on their counterexample recipes by the predicted amount.

These tests pass *because the paper's statement fails*; each name says which statement and by how much.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from property_tests import strategies as S
from theory import baseline
from theory import recipes as R
from theory.alignment import eq3_counterexample, eq3_synthetic_chi
from theory.fits import log_slope
from theory.transfer import transfer_terms
from theory.zeta import pr_window, zeta_bound


def test_eq3_refuted_on_recipe_E_predicts_3p5_true_0p5():
    v = eq3_counterexample()
    assert v["max_abs_rho_minus_1"] < 1e-10  # Eq. (3)'s own hypothesis: perfect alignment
    assert v["eq3_prediction"] == pytest.approx(3.5, abs=1e-10)
    assert v["alpha_exact"] == pytest.approx(0.5, abs=1e-10)
    assert v["alpha_kron"] == pytest.approx(2.0, abs=1e-10)
    assert v["corrected"] == pytest.approx(v["alpha_exact"], abs=1e-10)


def test_eq3_refuted_on_recipe_A_with_synthetic_chi_predicts_1p5_true_2p5():
    v = eq3_synthetic_chi()
    assert v["eq3_prediction"] == pytest.approx(1.5, abs=1e-10)
    assert v["alpha_exact"] == pytest.approx(2.5, abs=1e-10)
    assert v["alpha_kron"] == pytest.approx(2.0, abs=1e-10)


@given(S.recipe_e(aligned=True))
def test_eq3_chi_term_has_the_wrong_sign_on_every_aligned_recipe_E(inst):
    """Under perfect alignment Eq. (3) gives 2 - psi_chi; the truth is 2 + psi_chi (psi_omega = 0)."""
    dec = inst.decompose()
    if dec.K < 3:
        return
    assert np.max(np.abs(dec.rho_delta - 1)) < 1e-6 and np.max(np.abs(dec.rho_A - 1)) < 1e-6
    assert dec.alpha_exact == pytest.approx(2 + dec.psi_chi, abs=1e-8)
    eq3 = 2 + dec.phi - dec.psi_chi
    assert eq3 - dec.alpha_exact == pytest.approx(-2 * dec.psi_chi, abs=1e-8)


def test_theorem2_refuted_on_recipe_D_alpha_kron_1p37_not_2():
    v = baseline.recipe_d_counterexample(B=400_000, seed=0)
    assert v["min_abs_diag_U"] > 0.999 and v["min_abs_diag_W"] > 0.999  # hypothesis 1: aligned
    assert v["max_abs_corr_p2_q2"] < 0.01 and v["max_abs_R_minus_1"] < 0.02  # hypothesis 2: independent squares
    assert v["predicted_2_minus_psi_omega_population"] == pytest.approx(1.375, abs=0.005)
    assert v["alpha_kron"] == pytest.approx(1.375, abs=0.02)


@settings(max_examples=max(3, settings.default.max_examples // 5))
@given(S.recipe_d())
def test_theorem2_refuted_on_drawn_recipe_D_alpha_kron_tracks_2_minus_population_psi_omega(inst):
    """Both hypotheses of Theorem 2 hold in population, yet alpha_Kron = 2 - psi_omega(population) < 2."""
    dec = inst.decompose()
    assert dec.alpha_kron == pytest.approx(2 - dec.psi_omega, abs=1e-8)  # exact, on the sample
    predicted = 2 - log_slope(dec.sigma, inst.params["omega_population"])
    assert dec.alpha_kron == pytest.approx(predicted, abs=0.15)
    # psi_omega(population) >= 2f/(f + 2) >= 0.26 for f >= 0.3 and exponents <= 2; sampling noise <= 0.15
    assert dec.alpha_kron < 1.9


@given(S.recipe_b())
def test_theorem1_beta_equals_2_refuted_on_recipe_B_beta_is_2_minus_psi_omega(inst):
    dec = inst.decompose()
    if dec.K < 3:
        return
    assert np.max(np.abs(dec.rho_delta - 1)) < 1e-6 and np.max(np.abs(dec.rho_A - 1)) < 1e-6
    assert dec.beta == pytest.approx(2 - dec.psi_omega, abs=1e-7)
    w = inst.params["omega"][: dec.K]
    assert dec.psi_omega == pytest.approx(log_slope(dec.sigma, w), abs=1e-7)
    assert abs(dec.beta - 2) > 1e-3  # omega_k = k^-w with w >= 0.2 always trends


def test_remark1_refuted_on_recipe_B_phi_and_chi_constant_alpha_1p517():
    dec = R.recipe_b(m=6, n=6, B=64, w=0.7, seed=0).decompose()
    assert np.max(np.abs(dec.Phi - 1)) < 1e-10
    assert dec.alpha_kron == pytest.approx(1.5172, abs=1e-4)


def test_proposition3_refuted_on_recipe_F_isotropic_inputs_alpha_kron_2_not_toward_1():
    dec = R.recipe_f(m=64, n=64, B=4096, tau=0.0, seed=0).decompose()
    assert abs(log_slope(dec.sigma, dec.wCw)) < 0.1  # the A side is flat, as the proposition wants
    assert dec.alpha_kron == pytest.approx(2.0, abs=0.01)
    assert dec.alpha_kron == pytest.approx(2 - dec.psi_omega, abs=1e-10)


@given(S.recipe_g())
def test_proposition6_refuted_output_layer_has_no_k_above_c_and_sigma_c_is_0(inst):
    """m = c: at most c singular directions exist (the 'k > c' regime is empty) and the c-th one has sigma_c = 0."""
    c = inst.m
    s = np.linalg.svd(inst.delta.T @ inst.A / inst.B, compute_uv=False)
    assert s.size <= c
    assert s[-1] <= 1e-10 * s[0] if s.size == c else s.size < c


def test_proposition6_refuted_on_recipe_G_alpha_below_2_phi_negative():
    dec = R.recipe_g(c=10, n=16, B=256, scale=3.0, seed=0).decompose(K=9)
    assert dec.phi < 0 and dec.alpha_kron < 2 and dec.alpha_exact < 2


@given(st.floats(1.2, 6.0), st.integers(2, 30), st.integers(2, 20))
def test_proposition9_refuted_a_later_window_can_exceed_the_zeta_bound(p, k1, extra):
    """PR of h = k^-p on [k1, k1 + L] tends to L + 1 as k1 grows; with L + 1 > zeta(p)^2/zeta(2p) + 1 it exceeds the bound."""
    bound = float(zeta_bound(p))
    length = int(np.ceil(bound)) + extra
    k1_far = k1 * 100 * length
    assert pr_window(p, k1_far, k1_far + length) > bound


def test_proposition9_refuted_on_window_10_20_pr_9p14_above_2p5():
    assert pr_window(2.0, 10, 20) == pytest.approx(9.14, abs=0.005)
    assert float(zeta_bound(2.0)) == pytest.approx(2.5, abs=1e-15)


@given(st.floats(0.2, 2.0), st.integers(0, 2**32 - 1), st.integers(5, 40))
def test_remark2_refuted_power_law_sigma_gives_s_equal_alpha_gamma_for_any_h(gamma, seed, K):
    k = np.arange(1, K + 1, dtype=float)
    h = np.exp(np.random.default_rng(seed).normal(size=K))
    t = transfer_terms(k**-gamma, h)
    assert t["s_idx"] == pytest.approx(t["alpha_gamma"], abs=1e-9 * max(1, abs(t["alpha_gamma"])))
