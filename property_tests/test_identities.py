"""Every exact identity of docs/theory-reference.md §1.2, §1.4, §3.1–3.3 holds to round-off (relative 1e-8) on every generated
instance, in both vec conventions; the mismatched Kronecker pairing gives a different value."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from property_tests import strategies as S
from theory import numeric as N
from theory.conv import im2col_identities
from theory.residual import gram_identity_error

RTOL = 1e-8


def _close(a, b, rtol=RTOL):
    """Whether ``a`` equals ``b`` to relative ``rtol`` (scale floored at 1e-12 of the largest ``|b|``)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    scale = np.maximum(np.abs(b), np.max(np.abs(b)) * 1e-12)
    return bool(np.all(np.abs(a - b) <= rtol * scale))


@given(S.identity_instances())
def test_kronecker_rayleigh_quotient_factorises_in_both_vec_conventions(inst):
    r"""The Kronecker Rayleigh quotient factorises: :math:`\mathrm{vec}(u_kw_k^\top)^\top H^{\rm
    Kron}\mathrm{vec}(u_kw_k^\top) =(u_k^\top C_\delta u_k)(w_k^\top C_Aw_k)=h^{\rm Kron}_k` in both vec conventions."""
    dec = inst.decompose()
    C_d, C_A = N.second_moments(inst.delta, inst.A)
    for conv in N.CONVENTIONS:
        H = N.kron_model(C_d, C_A, conv)
        ray = [N.rayleigh(H, dec.U[:, k], dec.W[:, k], conv) for k in range(dec.K)]
        assert _close(ray, N.h_kron(C_d, C_A, dec.U, dec.W)), conv
        assert _close(ray, dec.h_kron), conv


@given(S.recipe_c())
def test_mismatched_kronecker_pairing_gives_a_different_value(inst):
    r"""Pairing the row-major vec with the column-major factor order :math:`C_A\otimes C_\delta` changes :math:`h^{\rm
    Kron}_k`."""
    dec = inst.decompose()
    C_d, C_A = N.second_moments(inst.delta, inst.A)
    wrong = N.kron_model(C_d, C_A, "col")  # C_A ⊗ C_delta paired with the row-major vec
    bad = [N.rayleigh(wrong, dec.U[:, k], dec.W[:, k], "row") for k in range(dec.K)]
    rel = np.max(np.abs(np.array(bad) - dec.h_kron) / dec.h_kron)
    assert rel > 1e-6


@given(S.identity_instances())
def test_vec_conventions_are_permutations_of_each_other(inst):
    r"""Row- and column-major vec are permutations of each other: :math:`\mathrm{vec}_{\rm row}(uw^\top)=u\otimes w`,
    :math:`\mathrm{vec}_{\rm col}(uw^\top)=w\otimes u`, and each inverts."""
    G = N.gradient(inst.delta, inst.A)
    for conv in N.CONVENTIONS:
        assert np.array_equal(N.unvec(N.vec(G, conv), G.shape, conv), G)
    assert np.array_equal(N.vec(G, "row"), G.ravel()) and np.array_equal(N.vec(G, "col"), G.T.ravel())
    u, w = np.arange(1.0, G.shape[0] + 1), np.arange(2.0, G.shape[1] + 2)
    assert np.allclose(N.vec(np.outer(u, w), "row"), np.kron(u, w))
    assert np.allclose(N.vec(np.outer(u, w), "col"), np.kron(w, u))


@given(S.identity_instances())
def test_I1_sigma_is_batch_inner_product(inst):
    r"""(I1) :math:`\sigma_k=\frac1B\sum_ip_{ik}q_{ik}` with :math:`p=\delta u_k`, :math:`q=Aw_k`."""
    dec = inst.decompose()
    assert _close((dec.p * dec.q).sum(0) / inst.B, dec.sigma)


@given(S.identity_instances())
def test_I2_sigma_squared_is_omega_times_h_kron(inst):
    r"""(I2) :math:`\sigma_k^2=\omega_kh^{\rm Kron}_k`, so :math:`h^{\rm Kron}_k\ge\sigma_k^2` and
    :math:`0<\omega_k\le1`."""
    dec = inst.decompose()
    assert _close(dec.omega * dec.h_kron, dec.sigma**2)
    assert np.all(dec.h_kron >= dec.sigma**2 * (1 - RTOL))
    assert np.all((dec.omega > 0) & (dec.omega <= 1 + RTOL))


@given(S.identity_instances())
def test_I2_lagrange_form(inst):
    r"""(I2), Lagrange form: :math:`h^{\rm Kron}_k-\sigma_k^2=B^{-2}\sum_{i<j}(p_iq_j-p_jq_i)^2`."""
    dec = inst.decompose()
    lag = []
    for k in range(dec.K):
        P = np.outer(dec.p[:, k], dec.q[:, k])
        lag.append(0.5 * np.sum((P - P.T) ** 2))  # sum_{i<j} (p_i q_j - p_j q_i)^2
    diff = dec.h_kron - dec.sigma**2
    assert np.allclose(diff, np.array(lag) / inst.B**2, rtol=1e-7, atol=1e-10 * np.max(dec.h_kron))


@given(S.identity_instances())
def test_h_kron_is_product_of_sums(inst):
    r""":math:`h^{\rm Kron}_k=(\frac1B\sum_ip_{ik}^2)(\frac1B\sum_iq_{ik}^2)`, the product of sums."""
    dec = inst.decompose()
    assert _close(N.h_kron_from_projections(dec.p, dec.q), dec.h_kron)


@given(S.identity_instances())
def test_I3_sop_is_sigma_squared_plus_variance(inst):
    r"""(I3) :math:`h^{\rm SoP}_k=\sigma_k^2+\mathrm{Var}_i(p_{ik}q_{ik})\ge\sigma_k^2`."""
    dec = inst.decompose()
    assert _close(dec.sigma**2 + np.var(dec.p * dec.q, axis=0), dec.h_sop)
    assert np.all(dec.h_sop >= dec.sigma**2 * (1 - RTOL))


@given(S.identity_instances())
def test_I3_sop_is_empirical_fisher_rayleigh_quotient_in_both_conventions(inst):
    r"""(I3) :math:`h^{\rm SoP}_k` is the Rayleigh quotient of the empirical Fisher along :math:`u_kw_k^\top`, in both
    vec conventions."""
    dec = inst.decompose()
    for conv in N.CONVENTIONS:
        F = N.empirical_fisher(inst.delta, inst.A, conv)
        ray = [N.rayleigh(F, dec.U[:, k], dec.W[:, k], conv) for k in range(dec.K)]
        assert _close(ray, dec.h_sop), conv


@given(S.identity_instances())
def test_I4_concentration_ratio_is_one_plus_normalised_covariance(inst):
    r"""(I4) the concentration ratio :math:`R_k=1+\mathrm{Cov}(p^2,q^2)/(\overline{p^2}\,\overline{q^2})`."""
    dec = inst.decompose()
    p2, q2 = dec.p**2, dec.q**2
    cov = np.mean(p2 * q2, 0) - p2.mean(0) * q2.mean(0)
    assert _close(1 + cov / (p2.mean(0) * q2.mean(0)), dec.R)


@given(S.identity_instances())
def test_theorem1_part1_rho_form(inst):
    r"""Theorem 1 part 1: :math:`h^{\rm Kron}_k=\rho^\delta_k\rho^A_k\lambda^\delta_k\lambda^A_k` (where the eigenvalues
    are not negligible)."""
    dec = inst.decompose()
    lam = dec.lam_delta[: dec.K] * dec.lam_A[: dec.K]
    if np.all(lam > 1e-12 * lam[0]):
        assert _close(dec.rho_delta * dec.rho_A * lam, dec.h_kron, rtol=1e-7)


@given(S.identity_instances())
def test_alpha_kron_is_beta_plus_phi_and_two_minus_psi_omega(inst):
    r"""On windows of ≥ 3 directions: :math:`\alpha_{\rm Kron}=2-\psi_\omega` and :math:`\alpha_{\rm Kron}=\beta+\phi`."""
    dec = inst.decompose()
    if dec.K < 3:
        return
    assert abs(dec.alpha_kron - (2 - dec.psi_omega)) <= RTOL * max(1, abs(dec.alpha_kron))
    if np.isfinite(dec.beta) and np.isfinite(dec.phi):
        assert abs(dec.alpha_kron - (dec.beta + dec.phi)) <= 1e-7 * max(1, abs(dec.alpha_kron))


@given(S.recipe_e())
def test_alpha_exact_is_beta_plus_phi_plus_psi_chi(inst):
    r"""On windows of ≥ 3 directions: :math:`\alpha_{\rm exact}=2-\psi_\omega+\psi_\chi=\beta+\phi+\psi_\chi`."""
    dec = inst.decompose()
    if dec.K < 3:
        return
    assert abs(dec.alpha_exact - (2 - dec.psi_omega + dec.psi_chi)) <= RTOL * max(1, abs(dec.alpha_exact))
    assert abs(dec.alpha_exact - (dec.beta + dec.phi + dec.psi_chi)) <= 1e-7 * max(1, abs(dec.alpha_exact))


@given(S.recipe_e())
def test_recipe_E_exact_hessian_in_both_conventions(inst):
    """H = I_m ⊗ C_A (row) = C_A ⊗ I_m (col): H vec(D) = vec(∇L(W + D) - ∇L(W)) for the least-squares loss."""
    W, T, A, B = inst.params["W"], inst.params["targets"], inst.A, inst.B
    grad = lambda Wm: (A @ Wm.T - T).T @ A / B  # noqa: E731
    D = np.random.default_rng(0).standard_normal(W.shape)
    for conv in N.CONVENTIONS:
        Hv = inst.hessian(conv) @ N.vec(D, conv)
        assert _close(Hv, N.vec(grad(W + D) - grad(W), conv), rtol=1e-9)
    dec = inst.decompose()
    assert _close(dec.chi, 1 / dec.uCu)


@given(st.integers(1, 40), st.integers(1, 9), st.integers(2, 6), st.integers(2, 6), st.integers(0, 2**32 - 1))
def test_conv_scale_identities_naive_kfc_and_ef(B, L, m, n, seed):
    """sigma^2 = L^2 omega h^naive = L omega h^KFC and h^EF = sigma^2 + Var_i(sum_t p q) (im2col, §1.5)."""
    errs = im2col_identities(B=B, L=L, m=m, n=n, seed=seed)
    assert max(errs.values()) < RTOL


@given(S.identity_instances())
def test_proposition5_gram_identity(inst):
    """GG^T = B^-2 delta^T (A A^T) delta."""
    assert gram_identity_error(inst.delta, inst.A) < 1e-10
