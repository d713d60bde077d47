r"""Curvature vs Kronecker on Recipe E of docs/theory-reference.md §3.0 (linear least squares, exact Hessian known) and on a
real conv layer with a dense autograd Hessian — checks of the assembly of chi, psi_chi and alpha_exact.

Recipe E: :math:`\mathcal L=\frac1{2B}\sum_i\lVert Wa_i-t_i\rVert^2`, :math:`H=I_m\otimes C_A` (row-major),
so :math:`h^{\rm exact}_k=w_k^\top C_Aw_k` and :math:`\chi_k=1/(u_k^\top C_\delta u_k)` (G1: pure EF-vs-GN error);
the GN factor is :math:`I_m`, so :math:`\chi^{\rm GN}_k\equiv1`.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch.func import functional_call

from empirics.kron import collect_layer_io, kron_record

pytestmark = pytest.mark.usefixtures("float64_one_thread")

TOL = 1e-10


def half_sq(o, t):
    return 0.5 * (o - t).pow(2).sum(1)


def dense_hessian(model, name, loss_fn, x, y):
    """Hessian of the mean loss w.r.t. the layer's weight, in the row-major vec of weight.reshape(-1)."""
    w0 = model.get_submodule(name).weight.detach()
    key = f"{name}.weight" if name else "weight"

    def L(wflat):
        return loss_fn(functional_call(model, {key: wflat.reshape(w0.shape)}, (x,)), y).mean()

    return torch.autograd.functional.hessian(L, w0.reshape(-1).clone())


def h_exact_of(H, U, W):
    return np.array([np.kron(U[:, j], W[:, j]) @ H @ np.kron(U[:, j], W[:, j]) for j in range(U.shape[1])])


def test_recipe_e_generic_chi_is_inverse_u_C_delta_u():
    torch.manual_seed(20)
    m, n, B = 5, 7, 40
    model = nn.Linear(n, m, bias=False).eval()
    x, t = torch.randn(B, n), torch.randn(B, m)
    H = dense_hessian(model, "", half_sq, x, t).numpy()
    io = collect_layer_io(model, half_sq, x, t, "", gn_samples=1, gn_mode="exact")
    A, d = io.A.numpy(), io.delta.numpy()
    C_A, C_d = A.T @ A / B, d.T @ d / B
    np.testing.assert_allclose(H, np.kron(np.eye(m), C_A), rtol=0, atol=1e-13)  # H = I_m (x) C_A, row-major
    assert np.abs(H - np.kron(C_A, np.eye(m))).max() > 1e-2  # not the column-major form
    U, S, Vt = np.linalg.svd(io.G.numpy())
    k = m
    U, S, W = U[:, :k], S[:k], Vt[:k].T
    h_exact = h_exact_of(H, U, W)
    np.testing.assert_allclose(h_exact, np.einsum("ik,ij,jk->k", W, C_A, W), rtol=TOL)
    rec = kron_record(io, S, U, W, h_exact)
    chi_theory = 1.0 / np.einsum("ik,ij,jk->k", U, C_d, U)
    np.testing.assert_allclose(rec["chi"], chi_theory, rtol=TOL)
    assert max(abs(np.log(chi_theory))) > 0.5  # chi far from 1 on a dense layer without weight sharing
    np.testing.assert_allclose(rec["chi_gn"], np.ones(k), rtol=TOL)  # the GN factor is exact here
    np.testing.assert_allclose(rec["h_kron_gn"], h_exact, rtol=TOL)
    ex = rec["exponents"]
    assert abs(ex["alpha_exact"] - (ex["beta"] + ex["phi"] + ex["psi_chi"])) < TOL
    assert abs(ex["alpha_exact"] - (2 - ex["psi_omega"] + ex["psi_chi"])) < TOL
    assert abs(ex["psi_chi_gn"]) < TOL and abs(ex["alpha_kron_gn"] - ex["alpha_exact"]) < TOL


def test_recipe_e_aligned_alpha_exact_half_alpha_kron_two():
    """docs/theory-reference.md §3.3 falsifying test 1: rho = omega = 1, alpha_Kron = 2, alpha_exact = 0.5; Eq. (3) would say 3.5."""
    rng = np.random.default_rng(21)
    m = n = r = 8
    B = 24
    lam_A = np.arange(1, r + 1, dtype=float) ** -1.0
    e = np.arange(1, r + 1, dtype=float) ** -1.0
    S = np.linalg.qr(rng.standard_normal((B, r)))[0]
    U0 = np.linalg.qr(rng.standard_normal((m, r)))[0]
    V0 = np.linalg.qr(rng.standard_normal((n, r)))[0]
    A = np.sqrt(B) * S @ np.diag(np.sqrt(lam_A)) @ V0.T
    W_star = rng.standard_normal((m, n))
    model = nn.Linear(n, m, bias=False).eval()
    with torch.no_grad():
        model.weight.copy_(torch.as_tensor(W_star + U0 @ np.diag(e) @ V0.T))
    x, t = torch.as_tensor(A), torch.as_tensor(A @ W_star.T)
    io = collect_layer_io(model, half_sq, x, t, "", gn_samples=0)
    H = dense_hessian(model, "", half_sq, x, t).numpy()
    U, sig, Vt = np.linalg.svd(io.G.numpy())
    np.testing.assert_allclose(sig, e * lam_A, rtol=1e-12)
    rec = kron_record(io, sig, U, Vt.T, h_exact_of(H, U, Vt.T))
    np.testing.assert_allclose(rec["rho_delta"], np.ones(r), rtol=1e-9)
    np.testing.assert_allclose(rec["rho_A"], np.ones(r), rtol=1e-9)
    np.testing.assert_allclose(rec["omega"], np.ones(r), rtol=1e-9)
    ex = rec["exponents"]
    assert abs(ex["alpha_kron"] - 2.0) < 1e-9 and abs(ex["beta"] - 2.0) < 1e-9 and abs(ex["phi"]) < 1e-9
    assert abs(ex["alpha_exact"] - 0.5) < 1e-9
    assert abs((2 - ex["psi_chi"]) - 3.5) < 1e-9  # the paper's Eq. (3) prediction, contradicted
    assert abs(ex["alpha_exact"] - (ex["beta"] + ex["phi"] + ex["psi_chi"])) < TOL


def test_real_conv_layer_with_dense_hessian():
    torch.manual_seed(22)
    model = nn.Sequential(
        nn.Conv2d(2, 3, 3, stride=2, padding=1), nn.Tanh(), nn.Flatten(), nn.Linear(3 * 3 * 3, 4)
    ).eval()
    x, y = torch.randn(16, 2, 6, 6), torch.randint(0, 4, (16,))

    def ce(o, t):
        return F.cross_entropy(o, t, reduction="none")

    H = dense_hessian(model, "0", ce, x, y).numpy()
    io = collect_layer_io(model, ce, x, y, "0", gn_samples=1, gn_mode="exact")
    U, S, Vt = np.linalg.svd(io.G.numpy())
    k = 3
    U, S, W = U[:, :k], S[:k], Vt[:k].T
    h_exact = h_exact_of(H, U, W)
    for form in ("naive", "kfc"):
        rec = kron_record(io, S, U, W, h_exact, conv_form=form)
        np.testing.assert_allclose(np.array(rec["chi"]) * rec["h_kron_ef"], h_exact, rtol=TOL)
        ex = rec["exponents"]
        assert ex["window"] == [j + 1 for j in range(k) if h_exact[j] > 0]
        assert abs(ex["alpha_exact"] - (ex["beta"] + ex["phi"] + ex["psi_chi"])) < TOL
    naive = kron_record(io, S, U, W, h_exact, conv_form="naive")
    kfc = kron_record(io, S, U, W, h_exact, conv_form="kfc")
    np.testing.assert_allclose(np.array(naive["chi"]), io.L * np.array(kfc["chi"]), rtol=TOL)  # chi shifts by L
    assert naive["exponents"]["psi_chi"] == pytest.approx(kfc["exponents"]["psi_chi"], abs=TOL)  # slopes do not
