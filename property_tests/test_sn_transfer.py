r"""The SVD-free torch forms of :math:`\Delta W=\sum_kT(\sigma_k;\alpha)u_kw_k^\top` (``empirics.optim.transfer``)
against the SVD definition (``theory.spectral_newton.sn_update``, numpy), docs/theory-reference.md §3.12.

Tolerance (float64): :math:`\lVert\Delta-\Delta_{\rm ref}\rVert_F\le10^{-10}\lVert\Delta_{\rm ref}\rVert_F+\tau`, where the
floor :math:`\tau=8\sqrt{k}\,\epsilon\,\sigma_1\kappa^2/d` is the accuracy of *any* route through a Gram matrix:
:math:`T'(0)=1/d`, and a Gram eigenvector (or Cholesky) resolves the null space of :math:`G` only to an angle
:math:`\epsilon\kappa^2` with :math:`\kappa=\sigma_1/\sigma_r` (:math:`\sigma_r` the smallest non-zero singular value;
:math:`\kappa=1` when :math:`G` has full rank :math:`k=\min(m,n)`). In 4 000 random low-rank draws about 3 % exceed
the bare :math:`10^{-10}` relative target (worst 1.2e-9), all within half this floor.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from empirics.optim.transfer import sn_cholesky, sn_direction, sn_eigh, sn_svd, transfer_function
from theory.spectral_newton import sn_update

EPS = float(np.finfo(np.float64).eps)
dims = st.integers(1, 40)
alphas = st.one_of(st.just(2.0), st.floats(0.3, 3.0))
dampings = st.floats(-3.0, 1.0).map(lambda e: 10.0**e)
KINDS = ("full", "low_rank", "zero", "tiny", "scaled")


@st.composite
def matrices(draw, max_dim: int = 40) -> np.ndarray:
    """m×n float64 matrices, both orientations: Gaussian, low-rank products, zero, tiny (×1e-8), scaled 1e-3..1e2."""
    m, n = draw(st.integers(1, max_dim)), draw(st.integers(1, max_dim))
    kind = draw(st.sampled_from(KINDS))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    if kind == "zero":
        return np.zeros((m, n))
    if kind == "low_rank":
        r = draw(st.integers(1, max(1, min(m, n) - 1)))
        return rng.standard_normal((m, r)) @ rng.standard_normal((r, n))
    G = rng.standard_normal((m, n))
    if kind == "tiny":
        return G * 1e-8
    if kind == "scaled":
        return G * 10.0 ** draw(st.floats(-3.0, 2.0))
    return G


def _floor(G: np.ndarray, d: float) -> float:
    if not G.any():
        return 0.0
    s = np.linalg.svd(G, compute_uv=False)
    k = s.size
    rank = int(np.sum(s > 1e-9 * s[0]))
    kappa2 = (s[0] / s[rank - 1]) ** 2 if rank < k else 1.0
    return 8 * np.sqrt(k) * EPS * s[0] * kappa2 / d


def _assert_matches(out: torch.Tensor, G: np.ndarray, alpha: float, d: float) -> None:
    ref = sn_update(G, alpha, d)
    err = np.linalg.norm(out.numpy() - ref)
    assert out.dtype == torch.float64 and out.shape == G.shape
    assert err <= 1e-10 * np.linalg.norm(ref) + _floor(G, d), (err, np.linalg.norm(ref))


@given(matrices(), alphas, dampings)
def test_default_route_matches_the_svd_definition(G, alpha, d):
    r"""``sn_direction`` (default route) equals :math:`\sum_kT(\sigma_k;\alpha)u_kw_k^\top` from the SVD, within the
    Gram-route floor."""
    _assert_matches(sn_direction(torch.from_numpy(G), alpha, d), G, alpha, d)


@given(matrices(), alphas, dampings)
def test_gram_eigh_route_matches_the_svd_definition(G, alpha, d):
    """The Gram-eigendecomposition route equals the SVD definition, within the floor."""
    _assert_matches(sn_eigh(torch.from_numpy(G), alpha, d), G, alpha, d)


@given(matrices(), dampings)
def test_cholesky_route_is_the_alpha_2_member(G, d):
    r"""The Cholesky route is the :math:`\alpha=2` member :math:`(GG^\top+dI)^{-1}G`, and both Gram sides give the same
    matrix."""
    _assert_matches(sn_cholesky(torch.from_numpy(G), d), G, 2.0, d)
    # both Gram sides give the same matrix (§3.12 (ii)): the transpose goes through the other side
    np.testing.assert_allclose(
        sn_cholesky(torch.from_numpy(G.T.copy()), d).numpy().T,
        sn_cholesky(torch.from_numpy(G), d).numpy(),
        rtol=0,
        atol=1e-10 * max(1.0, np.abs(sn_update(G, 2.0, d)).max()) + _floor(G, d),
    )


@given(st.integers(1, 4), dims, dims, alphas, dampings, st.integers(0, 2**32 - 1))
def test_batched_input_equals_one_matrix_at_a_time(b, m, n, alpha, d, seed):
    """A batch of matrices (b, m, n) gives each matrix's own update."""
    G = torch.from_numpy(np.random.default_rng(seed).standard_normal((b, m, n)))
    out = sn_direction(G, alpha, d)
    for i in range(b):
        torch.testing.assert_close(out[i], sn_direction(G[i], alpha, d), rtol=1e-12, atol=1e-13)


@given(st.integers(2, 30), st.integers(0, 8), st.integers(0, 2**32 - 1))
def test_alpha_1_small_damping_tends_to_the_polar_factor(n, extra, seed):
    """§3.12 (iv): α = 1, d → 0 gives UWᵀ (Muon's exact target); the gap is ≈ d/σ_min."""
    G = np.random.default_rng(seed).standard_normal((n + extra + 3, n))
    U, s, Vt = np.linalg.svd(G, full_matrices=False)
    d = 1e-9
    out = sn_direction(torch.from_numpy(G), 1.0, d).numpy()
    assert np.abs(out - U @ Vt).max() <= 10 * d / s[-1] + 1e-12


@given(matrices(max_dim=20), alphas, dampings)
def test_tiny_singular_values_give_sigma_over_d_and_stay_finite(G, alpha, d):
    r"""For tiny :math:`\sigma` the update is :math:`G/d` up to a relative :math:`\sigma_1^\alpha/d`, and stays finite."""
    G = G * 1e-12
    out = sn_direction(torch.from_numpy(G), alpha, d)
    assert torch.isfinite(out).all()
    # T(σ) = (σ/d)(1 − σ^α/d + …): ΔW = G/d up to a relative σ_1^α/d
    s1 = np.linalg.norm(G, 2)
    np.testing.assert_allclose(
        out.numpy(), G / d, rtol=0, atol=(2 * s1**alpha / d + 100 * EPS) * np.abs(G / d).max() + 1e-300
    )


@given(matrices(max_dim=24), alphas, st.floats(-1.0, 1.0).map(lambda e: 10.0**e))
def test_float32_matches_float64_reference(G, alpha, d):
    """float32 inputs give a finite float32 update within 1e-3 (relative) of the float64 SVD reference."""
    out = sn_direction(torch.from_numpy(G).float(), alpha, d)
    assert out.dtype == torch.float32 and torch.isfinite(out).all()
    ref = sn_update(G, alpha, d)
    err = np.linalg.norm(out.double().numpy() - ref)
    floor32 = _floor(G, d) * float(np.finfo(np.float32).eps) / EPS
    assert err <= 1e-3 * np.linalg.norm(ref) + floor32 + 1e-30


def test_zero_matrix_and_empty_shapes():
    """Zero matrices and empty shapes give zero updates of the same shape, by every method."""
    for shape in [(3, 5), (5, 3), (0, 4), (4, 0), (2, 0, 3)]:
        Z = torch.zeros(shape, dtype=torch.float64)
        for method in ("auto", "eigh", "svd"):
            out = sn_direction(Z, 2.0, 0.1, method)
            assert out.shape == Z.shape and not out.any()


def test_damping_must_be_positive_and_method_checked():
    r"""Bad arguments raise ``ValueError``: damping :math:`d\le0` or non-finite, Cholesky with :math:`\alpha\ne2`, an
    unknown method, a vector."""
    G = torch.randn(3, 4, dtype=torch.float64)
    for d in (0.0, -1.0, float("nan"), float("inf")):
        with pytest.raises(ValueError, match="damping d must be"):
            sn_direction(G, 2.0, d)
    with pytest.raises(ValueError, match="needs alpha = 2"):
        sn_direction(G, 1.0, 0.1, "cholesky")
    with pytest.raises(ValueError, match="unknown method"):
        sn_direction(G, 2.0, 0.1, "polar")
    with pytest.raises(ValueError, match="matrix"):
        sn_direction(torch.ones(3), 2.0, 0.1)


def test_cholesky_failure_falls_back_to_eigh(monkeypatch):
    """float32, d far below ε‖G‖²: the Gram matrix is not numerically positive definite, so the factorisation
    fails and that input (only that one, in a batch) goes through the eigh route; the result is finite. (Its
    accuracy is then that of any float32 Gram route at this conditioning, i.e. none to speak of.)"""
    from empirics.optim import transfer

    rng = np.random.default_rng(0)
    Gt = torch.from_numpy(np.outer(rng.standard_normal(6), rng.standard_normal(5)) * 1e4).float()
    A = Gt @ Gt.mT + 1e-3 * torch.eye(6)
    assert torch.linalg.cholesky_ex(A).info.item() != 0  # the premise: this factorisation fails
    calls = []
    real = transfer.sn_eigh
    monkeypatch.setattr(transfer, "sn_eigh", lambda G, a, d: calls.append(G.shape) or real(G, a, d))
    out = transfer.sn_cholesky(Gt, 1e-3)
    assert torch.isfinite(out).all() and calls == [Gt.shape]
    batch = transfer.sn_cholesky(torch.stack([Gt, torch.eye(6, 5)]), 1e-3)
    assert torch.isfinite(batch).all() and calls[-1] == (1, 6, 5)
    torch.testing.assert_close(batch[1], torch.eye(6, 5) / 1.001)


def test_transfer_function_and_svd_route_closed_values():
    r"""Closed values: :math:`T(\sigma;2,d)=\sigma/(\sigma^2+d)` and the SVD route on a diagonal :math:`G`."""
    s = torch.tensor([0.0, 0.5, 1.0, 3.0], dtype=torch.float64)
    torch.testing.assert_close(transfer_function(s, 2.0, 0.1), s / (s**2 + 0.1))
    G = torch.diag(torch.tensor([3.0, 1.0], dtype=torch.float64))
    torch.testing.assert_close(sn_svd(G, 2.0, 0.1), torch.diag(torch.tensor([3 / 9.1, 1 / 1.1], dtype=torch.float64)))
