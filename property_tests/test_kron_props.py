"""empirics.kron.kron_record (torch) agrees with theory.numeric.decompose (numpy, written independently)
on docs/theory-reference.md §3.0 recipes A, B, C, E, H, and the exact identities hold on every draw."""

from __future__ import annotations

import numpy as np
import torch
from hypothesis import given

from empirics.kron import kron_record, layer_io_from_arrays
from property_tests import strategies as S

TOL = 1e-8


def _close(a, b, tol=TOL):
    a = np.array([np.nan if v is None else v for v in a], dtype=float)
    b = np.asarray(b, dtype=float)
    ok = np.isfinite(b)
    assert np.array_equal(np.isfinite(a), ok)
    assert np.all(np.abs(a[ok] - b[ok]) <= tol * np.maximum(np.abs(b[ok]), 1e-300))


@given(S.identity_instances())
def test_record_agrees_with_theory_numeric(inst):
    r"""``empirics.kron.kron_record`` on a recipe's :math:`\delta`, :math:`A` agrees with ``theory.numeric`` on
    every per-direction quantity and exponent, and its identities hold on every draw."""
    old = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        dec = inst.decompose()
        io = layer_io_from_arrays(inst.delta, inst.A)
        rec = kron_record(io, dec.sigma, dec.U, dec.W, dec.h_exact)
    finally:
        torch.set_num_threads(old)
    for mine, theirs in (
        ("h_kron_ef", dec.h_kron),
        ("h_sop", dec.h_sop),
        ("omega", dec.omega),
        ("concentration_ratio", dec.R),
        ("lambda_delta", dec.lam_delta[: dec.K]),
        ("lambda_A", dec.lam_A[: dec.K]),
    ):
        _close(rec[mine], theirs)
    # (I2): sigma^2 = omega h_kron, on the record's fields
    _close(np.array(rec["omega"]) * np.array(rec["h_kron_ef"]), dec.sigma**2)
    assert rec["checks"]["I1_sigma"] < TOL and rec["checks"]["I2_naive"] < TOL
    ex = rec["exponents"]
    if ex["n_window"] == dec.K and ex["alpha_kron"] is not None:
        assert abs(ex["alpha_kron"] - dec.alpha_kron) < 1e-7
        assert abs(ex["alpha_kron"] - (2 - ex["psi_omega"])) < 1e-7
        assert abs(ex["alpha_kron"] - (ex["beta"] + ex["phi"])) < 1e-7
    if dec.h_exact is not None and ex["alpha_exact"] is not None and ex["n_window"] == dec.K:
        _close(rec["chi"], dec.chi)
        assert abs(ex["alpha_exact"] - (ex["beta"] + ex["phi"] + ex["psi_chi"])) < 1e-7


@given(S.recipe_e())
def test_recipe_e_exact_branch(inst):
    r"""Recipe E: the record's :math:`\chi_k` equals :math:`1/(u_k^\top C_\delta u_k)` and
    :math:`\alpha_{\rm exact}=\beta+\phi+\psi_\chi`."""
    from hypothesis import assume

    dec = inst.decompose()
    assume(dec.K >= 3)
    rec = kron_record(layer_io_from_arrays(inst.delta, inst.A), dec.sigma, dec.U, dec.W, dec.h_exact)
    ex = rec["exponents"]
    assert ex["n_window"] == dec.K and ex["alpha_exact"] is not None
    _close(rec["chi"], dec.chi)
    _close(rec["chi"], 1.0 / dec.uCu)  # Recipe E: chi_k = 1 / (u_k^T C_delta u_k)  (docs/theory-reference.md G1)
    assert abs(ex["alpha_exact"] - dec.alpha_exact) < 1e-7
    assert abs(ex["alpha_exact"] - (ex["beta"] + ex["phi"] + ex["psi_chi"])) < 1e-7
