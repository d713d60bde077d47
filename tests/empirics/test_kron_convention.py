"""The vec convention and factor order of empirics.kron (docs/theory-reference.md §1.2, G2), tested once, densely.

Row-major vec(u w^T) = u (x) w (numpy ravel order), so H_K = C_delta (x) C_A; the column-major pairing
C_A (x) C_delta with the same v gives a different (wrong) value.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from empirics.kron import CONVENTION, collect_layer_io, kron_record


def _psd(rng, d):
    X = rng.standard_normal((d + 3, d))
    return X.T @ X / (d + 3)


def test_row_major_vec_is_u_kron_w():
    rng = np.random.default_rng(0)
    u, w = rng.standard_normal(5), rng.standard_normal(4)
    D = np.outer(u, w)
    np.testing.assert_array_equal(D.ravel(), np.kron(u, w))  # numpy ravel = C order = row-major
    assert not np.allclose(D.ravel(order="F"), np.kron(u, w))  # column-major vec is w (x) u
    np.testing.assert_array_equal(D.ravel(order="F"), np.kron(w, u))
    # torch's reshape(-1) of the weight-shaped direction is the same row-major vec
    np.testing.assert_array_equal(torch.as_tensor(D).reshape(-1).numpy(), np.kron(u, w))


def test_dense_kronecker_quadratic_form_and_mismatched_pairing():
    rng = np.random.default_rng(1)
    m, n = 5, 4
    C_delta, C_A = _psd(rng, m), _psd(rng, n)
    u = rng.standard_normal(m)
    u /= np.linalg.norm(u)
    w = rng.standard_normal(n)
    w /= np.linalg.norm(w)
    v = np.outer(u, w).ravel()
    H_K = np.kron(C_delta, C_A)
    factorised = (u @ C_delta @ u) * (w @ C_A @ w)
    assert abs(v @ H_K @ v - factorised) <= 1e-12 * factorised
    wrong = v @ np.kron(C_A, C_delta) @ v  # column-major operator with a row-major vector
    assert abs(wrong - factorised) > 1e-3 * factorised
    # the column-major pairing is consistent with itself
    v_col = np.outer(u, w).ravel(order="F")
    assert abs(v_col @ np.kron(C_A, C_delta) @ v_col - factorised) <= 1e-12 * factorised


def test_record_h_kron_equals_dense_operator_on_a_real_layer():
    """kron_record's h_kron_ef is v^T (C_delta (x) C_A) v with v = vec_row(u w^T), the factors built densely here."""
    torch.manual_seed(3)
    model = nn.Sequential(nn.Linear(6, 5), nn.Tanh(), nn.Linear(5, 4)).double().eval()
    x = torch.randn(40, 6, dtype=torch.float64)
    y = torch.randint(0, 4, (40,))

    def loss_fn(o, t):
        return nn.functional.cross_entropy(o, t, reduction="none")

    io = collect_layer_io(model, loss_fn, x, y, "0", gn_samples=0)
    A, d = io.A.numpy(), io.delta.numpy()
    C_A, C_d = A.T @ A / 40, d.T @ d / 40
    U, S, Vt = np.linalg.svd(io.G.numpy())
    k = 4
    rec = kron_record(io, S[:k], U[:, :k], Vt[:k].T, None)
    assert rec["convention"] == CONVENTION
    H_K = np.kron(C_d, C_A)
    for j in range(k):
        v = np.outer(U[:, j], Vt[j]).ravel()
        ref = v @ H_K @ v
        assert abs(rec["h_kron_ef"][j] - ref) <= 1e-12 * ref
        wrong = v @ np.kron(C_A, C_d) @ v  # same size (30 x 30), wrong pairing
        assert abs(wrong - ref) > 1e-3 * ref
