"""kron_record on real small layers vs an independent numpy computation; identities I1–I4 and the conv
scale identities (docs/theory-reference.md §1.4, §1.5, §3.9) to 1e-10; nulls and exclusions reported, never silent."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch import nn

from empirics.kron import collect_layer_io, kron_record
from tests.cases import ce
from theory.fits import ols

pytestmark = pytest.mark.usefixtures("float64_one_thread")

TOL = 1e-10


def rel(a, b):
    a, b = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    return float(np.max(np.abs(a - b) / np.abs(b)))


def slope(x, y):
    return ols(np.log(x), np.log(y)).slope


def svd_top(G, k):
    U, S, Vt = np.linalg.svd(G)
    return S[:k], U[:, :k], Vt[:k].T


def dense_case():
    torch.manual_seed(10)
    model = nn.Sequential(nn.Linear(12, 10), nn.Tanh(), nn.Linear(10, 9), nn.ReLU(), nn.Linear(9, 6)).eval()
    x, y = torch.randn(64, 12), torch.randint(0, 6, (64,))
    return model, x, y


def conv_case():
    torch.manual_seed(11)
    model = nn.Sequential(
        nn.Conv2d(3, 6, 3, stride=1, padding=1), nn.Tanh(), nn.Conv2d(6, 7, 3, stride=2, padding=1), nn.ReLU(),
        nn.Flatten(), nn.Linear(7 * 4 * 4, 5),
    ).eval()  # fmt: skip
    x, y = torch.randn(30, 3, 7, 7), torch.randint(0, 5, (30,))
    return model, x, y


@pytest.mark.parametrize("name", ["2", "4"])
def test_dense_layer_record_matches_numpy_and_I1_to_I4(name):
    model, x, y = dense_case()
    io = collect_layer_io(model, ce, x, y, name, gn_samples=1)
    A, d = io.A.numpy(), io.delta.numpy()
    B = A.shape[0]
    G = d.T @ A / B
    k = 5
    sig, U, W = svd_top(G, k)
    h_exact = np.abs(np.random.default_rng(0).standard_normal(k)) + 0.1
    rec = kron_record(io, sig, U, W, h_exact)
    C_A, C_d = A.T @ A / B, d.T @ d / B
    P, Q = d @ U, A @ W  # p_k = delta u_k, q_k = A w_k
    h_kron = np.einsum("ik,ij,jk->k", U, C_d, U) * np.einsum("ik,ij,jk->k", W, C_A, W)
    h_sop = (P**2 * Q**2).mean(0)
    omega = (P * Q).sum(0) ** 2 / ((P**2).sum(0) * (Q**2).sum(0))
    lam_d, lam_A = np.linalg.eigvalsh(C_d)[::-1], np.linalg.eigvalsh(C_A)[::-1]
    assert rel(rec["h_kron_ef"], h_kron) < TOL
    assert rel(rec["h_sop"], h_sop) < TOL and rel(rec["h_ef"], h_sop) < TOL  # L = 1: SoP is the EF curvature
    assert rel(rec["omega"], omega) < TOL
    assert rel(rec["lambda_delta"], lam_d[:k]) < TOL and rel(rec["lambda_A"], lam_A[:k]) < TOL
    assert rel(rec["spectrum_A"], lam_A) < 1e-8 or np.allclose(rec["spectrum_A"], lam_A, atol=1e-14)
    rho_d = np.einsum("ik,ij,jk->k", U, C_d, U) / lam_d[:k]
    rho_A = np.einsum("ik,ij,jk->k", W, C_A, W) / lam_A[:k]
    assert rel(rec["rho_delta"], rho_d) < TOL and rel(rec["rho_A"], rho_A) < TOL
    assert rel(rec["Phi"], rho_d * rho_A) < TOL and rel(rec["Lambda"], lam_d[:k] * lam_A[:k]) < TOL
    assert rel(rec["chi"], h_exact / h_kron) < TOL
    assert rec["conv_form"] is None and rec["n_locations"] == 1 and "forms" not in rec
    # (I1) sigma_k = p_k^T q_k / B
    assert rel((P * Q).sum(0) / B, sig) < TOL
    # (I2) sigma^2 = omega h_kron, from the record's own fields
    assert rel(np.array(rec["omega"]) * np.array(rec["h_kron_ef"]), sig**2) < TOL
    # (I3) h_sop = sigma^2 + Var_i(p q) (population variance)
    assert rel(sig**2 + (P * Q).var(0), rec["h_sop"]) < TOL
    # (I4) R = 1 + Cov(p^2, q^2) / (mean p^2 mean q^2)
    cov = ((P**2 - (P**2).mean(0)) * (Q**2 - (Q**2).mean(0))).mean(0)
    assert rel(1 + cov / ((P**2).mean(0) * (Q**2).mean(0)), rec["concentration_ratio"]) < TOL
    # exponents: the fits of theory.fits on the common window, and the exact slope identities
    ex = rec["exponents"]
    assert ex["n_window"] == k
    assert abs(ex["alpha_kron"] - slope(sig, h_kron)) < TOL and abs(ex["alpha_exact"] - slope(sig, h_exact)) < TOL
    assert abs(ex["psi_omega"] - slope(sig, omega)) < TOL and abs(ex["beta"] - slope(sig, lam_d[:k] * lam_A[:k])) < TOL
    assert abs(ex["alpha_kron"] - (ex["beta"] + ex["phi"])) < TOL
    assert abs(ex["alpha_kron"] - (2 - ex["psi_omega"])) < TOL
    assert abs(ex["alpha_exact"] - (ex["beta"] + ex["phi"] + ex["psi_chi"])) < TOL
    for key, val in rec["checks"].items():
        assert abs(val) < TOL, key


@pytest.mark.parametrize("name", ["0", "2"])
@pytest.mark.parametrize("form", ["naive", "kfc"])
def test_conv_layer_forms_and_scale_identities(name, form):
    model, x, y = conv_case()
    io = collect_layer_io(model, ce, x, y, name, gn_samples=1, chunk_size=8)
    A, d = io.A.numpy(), io.delta.numpy()  # (B, L, n), (B, L, m)
    B, L = A.shape[:2]
    G = np.einsum("blm,bln->mn", d, A) / B
    k = 5
    sig, U, W = svd_top(G, k)
    rec = kron_record(io, sig, U, W, None, conv_form=form)
    Af, df = A.reshape(B * L, -1), d.reshape(B * L, -1)
    C_A_naive, C_d = Af.T @ Af / (B * L), df.T @ df / (B * L)
    Omega = Af.T @ Af / B
    P, Q = d @ U, A @ W  # (B, L, k)
    p, q = P.reshape(B * L, k), Q.reshape(B * L, k)
    uCu = np.einsum("ik,ij,jk->k", U, C_d, U)
    h_naive = uCu * np.einsum("ik,ij,jk->k", W, C_A_naive, W)
    h_kfc = uCu * np.einsum("ik,ij,jk->k", W, Omega, W)
    omega = (p * q).sum(0) ** 2 / ((p**2).sum(0) * (q**2).sum(0))
    assert rec["conv_form"] == form and rec["n_locations"] == L
    assert rel(rec["forms"]["naive"]["h_kron_ef"], h_naive) < TOL and rel(rec["forms"]["kfc"]["h_kron_ef"], h_kfc) < TOL
    assert rel(rec["h_kron_ef"], h_naive if form == "naive" else h_kfc) < TOL
    # scale identities sigma^2 = L^2 omega h^naive = L omega h^KFC
    assert rel(L**2 * omega * h_naive, sig**2) < TOL and rel(L * omega * h_kfc, sig**2) < TOL
    assert rel(rec["omega"], omega) < TOL
    # SoP over the BL pairs (naive) and its KFC scaling; per-sample EF with cross-location terms
    assert rel(rec["forms"]["naive"]["h_sop"], (p**2 * q**2).mean(0)) < TOL
    assert rel(rec["forms"]["kfc"]["h_sop"], L * (p**2 * q**2).mean(0)) < TOL
    s = (P * Q).sum(1)  # (B, k): g_i . v_k
    assert rel(rec["h_ef"], (s**2).mean(0)) < TOL
    assert rel(sig**2 + s.var(0), rec["h_ef"]) < TOL
    # (I1) over (sample, location) pairs and (I3)/(I4) in the naive form (BL pairs as samples)
    assert rel((p * q).sum(0) / B, sig) < TOL
    sig_naive = (p * q).mean(0)
    assert rel(sig_naive**2 + (p * q).var(0), rec["forms"]["naive"]["h_sop"]) < TOL
    cov = ((p**2 - (p**2).mean(0)) * (q**2 - (q**2).mean(0))).mean(0)
    assert rel(1 + cov / ((p**2).mean(0) * (q**2).mean(0)), rec["concentration_ratio"]) < TOL
    # rho, Phi, R and the slopes are form-independent; lambda_A scales by L
    lam_A = np.linalg.eigvalsh(C_A_naive)[::-1][:k]
    assert rel(rec["forms"]["kfc"]["lambda_A"], L * lam_A) < TOL and rel(rec["forms"]["naive"]["lambda_A"], lam_A) < TOL
    assert rel(rec["rho_A"], np.einsum("ik,ij,jk->k", W, C_A_naive, W) / lam_A) < TOL
    ex = rec["exponents"]
    assert abs(ex["alpha_kron"] - (2 - ex["psi_omega"])) < TOL and abs(ex["alpha_kron"] - ex["beta"] - ex["phi"]) < TOL
    for key in ("I1_sigma", "I2_naive", "I2_kfc", "h_ef_eq_sigma2_plus_var", "G_hooks_vs_autograd"):
        assert rec["checks"][key] < TOL, key


def test_mismatched_directions_show_up_in_checks():
    """The checks can fail: directions that are not G's singular vectors break (I1)/(I2)."""
    model, x, y = dense_case()
    io = collect_layer_io(model, ce, x, y, "2", gn_samples=0)
    sig, U, W = svd_top(io.G.numpy(), 4)
    rec = kron_record(io, sig, U[:, ::-1], W, None)  # pair u_k with the wrong w_j
    assert rec["checks"]["I1_sigma"] > 1e-3 and rec["checks"]["I2_naive"] > 1e-3


def test_zero_eigenvalue_gives_null_with_note():
    """A dead input feature makes lambda^A_n = 0: rho_A, Phi, Lambda are null there, with a note."""
    torch.manual_seed(12)
    model = nn.Sequential(nn.Linear(4, 3)).eval()
    x, t = torch.randn(20, 4), torch.randn(20, 3)
    x[:, 2] = 0.0
    io = collect_layer_io(model, lambda o, t: 0.5 * (o - t).pow(2).sum(1), x, t, "0", gn_samples=0)
    rng = np.random.default_rng(1)
    W = np.linalg.qr(rng.standard_normal((4, 4)))[0]  # a full basis of the input space (not singular vectors)
    U = np.linalg.qr(rng.standard_normal((3, 3)))[0][:, [0, 1, 2, 0]]
    rec = kron_record(io, [4.0, 3.0, 2.0, 1.0], U, W, None)
    assert rec["rho_A"][3] is None and rec["Phi"][3] is None and rec["Lambda"][3] is None
    assert all(v is not None for v in rec["rho_A"][:3] + rec["rho_delta"][:3])
    assert any("lambda_A_k = 0" in n and "k=4" in n for n in rec["notes"])
    assert any("exponent window excludes k=4" in n for n in rec["notes"])
    assert rec["exponents"]["n_window"] == 3 and rec["exponents"]["window"] == [1, 2, 3]
    assert rec["h_kron_gn"] == [None] * 4 and any("gn_samples=0" in n for n in rec["notes"])
    assert rec["exponents"]["alpha_exact"] is None and any("h_exact not given" in n for n in rec["notes"])


def test_softmax_head_has_rank_c_minus_1_error_factor():
    """Softmax CE errors sum to zero over classes: lambda^delta_c = 0 (docs/theory-reference.md G12), reported as null."""
    torch.manual_seed(13)
    model = nn.Sequential(nn.Linear(5, 4)).eval()
    io = collect_layer_io(model, ce, torch.randn(30, 5), torch.randint(0, 4, (30,)), "0", gn_samples=1)
    lam = torch.linalg.eigvalsh(io.C_delta)
    assert lam[0] <= 1e-15 * lam[-1]
    lam_gn = torch.linalg.eigvalsh(io.C_delta_gn)
    assert abs(lam_gn[0]) <= 1e-14 * lam_gn[-1]  # sampled errors too
    rec = kron_record(
        io, [4.0, 3.0, 2.0, 1.0], np.eye(4), np.linalg.qr(np.random.default_rng(2).standard_normal((5, 4)))[0], None
    )
    assert rec["rho_delta"][3] is None and all(v is not None for v in rec["rho_delta"][:3])
    assert any("lambda_delta_k = 0" in n and "k=4" in n for n in rec["notes"])


def test_nonpositive_h_exact_is_excluded_and_reported():
    model, x, y = dense_case()
    io = collect_layer_io(model, ce, x, y, "2", gn_samples=0)
    k = 6
    sig, U, W = svd_top(io.G.numpy(), k)
    h = np.linspace(2.0, 0.5, k)
    h[2], h[4] = -0.3, np.nan
    rec = kron_record(io, sig, U, W, [float(v) if np.isfinite(v) else None for v in h])
    assert rec["chi"][2] < 0 and rec["chi"][4] is None
    assert rec["exponents"]["window"] == [1, 2, 4, 6]
    assert any("h_exact <= 0 at k=3" in n for n in rec["notes"])
    keep = np.array([0, 1, 3, 5])
    assert abs(rec["exponents"]["alpha_exact"] - slope(sig[keep], h[keep])) < TOL
    ex = rec["exponents"]
    assert abs(ex["alpha_exact"] - (ex["beta"] + ex["phi"] + ex["psi_chi"])) < TOL


@pytest.mark.parametrize("k", [0, 2])
def test_too_few_directions_give_null_exponents_and_strict_json(k):
    import json

    model, x, y = dense_case()
    io = collect_layer_io(model, ce, x, y, "4", gn_samples=1)
    sig, U, W = svd_top(io.G.numpy(), k)
    rec = kron_record(io, sig, U, W, sig**2)
    assert all(rec["exponents"][key] is None for key in ("beta", "phi", "psi_omega", "alpha_kron", "alpha_exact"))
    assert rec["exponents"]["n_window"] == k and any(f"only {k} usable directions" in n for n in rec["notes"])
    json.dumps(rec, allow_nan=False)  # JSON-ready: no NaN/Inf anywhere


def test_float32_model_gives_the_float64_record_to_single_precision():
    model, x, y = conv_case()
    io64 = collect_layer_io(model, ce, x, y, "2", gn_samples=1, gn_mode="exact")
    sig, U, W = svd_top(io64.G.numpy(), 4)
    rec64 = kron_record(io64, sig, U, W, None)
    model32 = model.float()
    io32 = collect_layer_io(model32, ce, x.float(), y, "2", gn_samples=1, gn_mode="exact")
    assert io32.sum_aa.dtype == torch.float32 and io32.g_residual < 1e-5
    rec32 = kron_record(io32, sig, U, W, None)
    for key in ("h_kron_ef", "h_kron_gn", "h_sop", "h_ef", "omega", "rho_A"):
        assert rec32[key] == pytest.approx(rec64[key], rel=1e-4), key
    assert rec32["checks"]["I2_naive"] < 1e-4
