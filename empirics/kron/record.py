r"""The ``kron`` sub-record of a layer (schema ``sad-results/1``): docs/theory-reference.md §1.4–1.6, §3.3, §3.9, G1–G3, G13.

Given a :class:`~empirics.kron.collect.LayerIO` and the engine's top-:math:`k` singular triplets
:math:`(\sigma_k,u_k,w_k)` of :math:`G` and exact curvatures :math:`h^{\rm exact}_k`:

* :math:`h^{\rm Kron}_k=(u_k^\top C_\delta u_k)(w_k^\top C_Aw_k)` with the EF factor (true-label errors, the
  paper's) — ``h_kron_ef`` — and with the GN factor (sampled errors) — ``h_kron_gn``;
* :math:`h^{\rm SoP}_k`, the concentration ratio :math:`R_k=h^{\rm SoP}_k/h^{\rm PoS}_k`,
  :math:`\omega_k=\cos^2\angle(\delta u_k,Aw_k)`, :math:`\chi_k=h^{\rm exact}_k/h^{\rm Kron}_k`,
  :math:`\rho^{(\delta)}_k,\rho^{(A)}_k,\Phi_k,\Lambda_k` (``null`` with a note where :math:`\lambda_k=0`);
* exponents on one common window (OLS on logs, :func:`theory.fits.ols`): :math:`\beta,\phi,\psi_\omega,
  \psi_\chi,\alpha_{\rm Kron},\alpha_{\rm exact}`; and the exact identities with their residuals:
  (I1) :math:`\sigma_k=\frac1B\sum pq`, (I2) :math:`\sigma_k^2=L^2\omega_kh^{\rm naive}_k=L\omega_kh^{\rm KFC}_k`,
  :math:`\alpha_{\rm Kron}=\beta+\phi=2-\psi_\omega`, :math:`\alpha_{\rm exact}=\beta+\phi+\psi_\chi`.

Weight-sharing layers (:math:`L>1`: conv locations, tokens) have two forms (docs/theory-reference.md §1.5):
``naive`` (the :math:`BL` pairs as samples: :math:`C_A=\frac1{BL}\sum aa^\top`) and ``kfc``
(:math:`\Omega=\frac1B\sum\sum aa^\top=L\,C_A`, :math:`\Gamma=C_\delta`). Both are stored under ``forms``;
``conv_form`` selects which fills the top-level fields (``conv_form`` is ``null`` when :math:`L=1`).
:math:`\omega,\rho,\Phi` and :math:`R` do not depend on the form; :math:`h^{\rm Kron},h^{\rm SoP},\Lambda,
\lambda^A,\chi` scale by :math:`L`; slopes do not change. ``h_ef`` is the per-sample empirical-Fisher
curvature :math:`\frac1B\sum_i(\sum_tp_{it}q_{it})^2` including cross-location terms.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from empirics.kron.collect import LayerIO
from empirics.kron.factors import eig_desc, projection_sums, quad_form, zero_tolerance
from empirics.schema import to_jsonable
from theory.fits import ols

__all__ = ["CONVENTION", "CONV_FORMS", "kron_record"]

#: The vec convention and factor order, stated once for the whole package (tested in tests/empirics/test_kron_convention.py).
CONVENTION = "row-major vec(u w^T) = u (x) w; H_K = C_delta (x) C_A"
CONV_FORMS = ("naive", "kfc")
BIAS_NOTE = "bias not measured: a_i has no constant 1 appended and G excludes the bias gradient"


def _vec(x, name: str, dtype, device) -> torch.Tensor | None:
    if x is None:
        return None
    if isinstance(x, torch.Tensor):
        return x.detach().to(dtype=dtype, device=device).reshape(-1)
    arr = np.array([np.nan if v is None else v for v in np.asarray(x, dtype=object).reshape(-1)], dtype=float)
    return torch.as_tensor(np.ascontiguousarray(arr), dtype=dtype, device=device)


def _mat(x, name: str, rows: int, dtype, device) -> torch.Tensor:
    t = x.detach() if isinstance(x, torch.Tensor) else torch.as_tensor(np.ascontiguousarray(x, dtype=float))
    t = t.to(dtype=dtype, device=device)
    if t.dim() != 2 or t.shape[0] != rows:
        raise ValueError(f"kron_record: {name} must have shape ({rows}, k), got {tuple(t.shape)}")
    return t


def _head(evals: torch.Tensor, k: int) -> torch.Tensor:
    out = torch.full((k,), float("nan"), dtype=evals.dtype, device=evals.device)
    j = min(k, evals.numel())
    out[:j] = evals[:j]
    return out


def _np(t: torch.Tensor | None, k: int) -> np.ndarray:
    return np.full(k, np.nan) if t is None else t.detach().cpu().double().numpy()


def _ratio(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        out = num / den
    out[~np.isfinite(out)] = np.nan
    return out


def _slope(x: np.ndarray, y: np.ndarray) -> float:
    return ols(np.log(x), np.log(y)).slope


def _indices(mask: np.ndarray) -> str:
    return ",".join(str(i + 1) for i in np.flatnonzero(mask))


def _max_rel(a: np.ndarray, b: np.ndarray) -> float:
    ok = np.isfinite(a) & np.isfinite(b)
    if not ok.any():
        return math.nan
    den = np.maximum(np.abs(b[ok]), np.finfo(float).tiny)
    return float(np.max(np.abs(a[ok] - b[ok]) / den))


def kron_record(io: LayerIO, sigma, U, W, h_exact, *, conv_form: str = "naive") -> dict:
    r"""Return the schema's ``kron`` sub-record (JSON-ready: floats, ``None`` for undefined values).

    ``sigma`` (k,), ``U`` (m, k), ``W`` (n, k): the gradient's top-:math:`k` singular triplets (torch or
    numpy); ``h_exact`` (k,) exact curvatures (``None``/NaN entries allowed, or ``None`` altogether).
    All reductions, eigenvalues and quadratic forms are computed in float64 (also for a float32 model).
    """
    if conv_form not in CONV_FORMS:
        raise ValueError(f"conv_form: unknown {conv_form!r}; choose from {CONV_FORMS}")
    dtype, device = torch.float64, io.sum_aa.device  # reductions in float64 whatever the model's dtype
    U = _mat(U, "U", io.m, dtype, device)
    W = _mat(W, "W", io.n, dtype, device)
    k = U.shape[1]
    if W.shape[1] != k:
        raise ValueError(f"kron_record: U has {k} columns but W has {W.shape[1]}")
    sig_t = _vec(sigma, "sigma", dtype, device)
    if sig_t is None or sig_t.numel() != k:
        raise ValueError(f"kron_record: sigma must have {k} values")
    hx_t = _vec(h_exact, "h_exact", dtype, device)
    if hx_t is not None and hx_t.numel() != k:
        raise ValueError(f"kron_record: h_exact has {hx_t.numel()} values but there are {k} directions")

    B, L = io.n_samples, io.L
    notes: list[str] = [BIAS_NOTE]
    ps = projection_sums(io, U, W)
    C_delta, C_A = io.C_delta.to(dtype), io.C_A.to(dtype)
    lam_d_all = eig_desc(C_delta)
    lam_A_all = eig_desc(C_A)
    tol_d, tol_A = zero_tolerance(lam_d_all), zero_tolerance(lam_A_all)
    dCd = _np(quad_form(C_delta, U), k)
    wCw = _np(quad_form(C_A, W), k)  # naive C_A
    C_gn = None if io.C_delta_gn is None else io.C_delta_gn.to(dtype)
    dGd = _np(quad_form(C_gn, U) if C_gn is not None else None, k)
    if C_gn is None:
        why = io.gn.get("skipped") or "gn_samples=0"
        notes.append(f"GN factor not collected ({why}): h_kron_gn and chi_gn are null")
    lam_d = _np(_head(lam_d_all, k), k)
    lam_A = _np(_head(lam_A_all, k), k)

    spp, sqq, spq = _np(ps.spp, k), _np(ps.sqq, k), _np(ps.spq, k)
    sp2q2, ss2 = _np(ps.sp2q2, k), _np(ps.ss2, k)
    sigma_np = _np(sig_t, k)
    hx = _np(hx_t, k)

    omega = _ratio(spq**2, spp * sqq)
    conc = _ratio(sp2q2 * (B * L), spp * sqq)
    h_ef = ss2 / B
    sigma_i1 = spq / B

    zero_d = ~(lam_d > tol_d)
    zero_A = ~(lam_A > tol_A)
    rho_d = np.where(zero_d, np.nan, _ratio(dCd, lam_d))
    rho_A = np.where(zero_A, np.nan, _ratio(wCw, lam_A))
    if zero_d.any():
        notes.append(
            f"lambda_delta_k = 0 (<= {tol_d:.3g}) at k={_indices(zero_d)}: rho_delta, Phi, Lambda undefined (null)"
        )
    if zero_A.any():
        notes.append(f"lambda_A_k = 0 (<= {tol_A:.3g}) at k={_indices(zero_A)}: rho_A, Phi, Lambda undefined (null)")
    Phi = rho_d * rho_A

    forms: dict[str, dict[str, Any]] = {}
    for form, scale in (("naive", 1.0), ("kfc", float(L))):
        h_kron = dCd * wCw * scale
        h_gn = dGd * wCw * scale
        lam_A_f = lam_A * scale
        forms[form] = {
            "h_kron_ef": h_kron,
            "h_kron_gn": h_gn,
            "h_sop": sp2q2 / (B * L) * scale,
            "chi": _ratio(hx, h_kron),
            "chi_gn": _ratio(hx, h_gn),
            "lambda_A": lam_A_f,
            "Lambda": np.where(zero_d | zero_A, np.nan, lam_d * lam_A_f),
            "w_C_A_w": wCw * scale,
            # identity (I2) in this form: sigma^2 = L^{2 or 1} * omega * h_kron
            "I2_residual": _max_rel((L**2 / scale) * omega * h_kron, sigma_np**2),
        }
    P = forms[conv_form]
    if hx_t is None or not np.isfinite(hx).any():
        notes.append("h_exact not given: chi, psi_chi and alpha_exact are null")
    nonpos_h = np.isfinite(hx) & (hx <= 0)
    if nonpos_h.any():
        notes.append(f"h_exact <= 0 at k={_indices(nonpos_h)}: chi has no log there")

    exponents, window_note = _exponents(sigma_np, P, omega, Phi, hx)
    if window_note:
        notes.append(window_note)

    var_s = ss2 / B - (spq / B) ** 2
    checks = {
        "G_hooks_vs_autograd": io.g_residual,
        "I1_sigma": _max_rel(sigma_i1, sigma_np),
        "I2_naive": forms["naive"]["I2_residual"],
        "I2_kfc": forms["kfc"]["I2_residual"],
        "h_ef_eq_sigma2_plus_var": _max_rel(sigma_np**2 + var_s, h_ef),
        "alpha_kron_minus_beta_plus_phi": exponents["alpha_kron"] - (exponents["beta"] + exponents["phi"]),
        "alpha_kron_minus_2_minus_psi_omega": exponents["alpha_kron"] - (2.0 - exponents["psi_omega"]),
        "alpha_exact_minus_beta_phi_psi_chi": exponents["alpha_exact"]
        - (exponents["beta"] + exponents["phi"] + exponents["psi_chi"]),
    }
    n_top = min(10, k)
    rec: dict[str, Any] = {
        "convention": CONVENTION,
        "conv_form": conv_form if L > 1 else None,
        "n_samples": int(B),
        "n_locations": int(L),
        "factor_normalisation": {
            "C_A": "naive: (1/(B L)) sum_{i,t} a a^T; kfc: Omega = (1/B) sum_{i,t} a a^T",
            "C_delta": "(1/(B L)) sum_{i,t} delta delta^T, delta_i = d ell_i / d y_i (per-sample loss); = KFC Gamma",
            "C_delta_gn": "(1/(B L)) sum_{i,t} E[delta~ delta~^T] / c, labels drawn from the model (docs/theory-reference.md G1)",
        },
        "gn": dict(io.gn),
        "h_kron_ef": P["h_kron_ef"],
        "h_kron_gn": P["h_kron_gn"],
        "h_sop": P["h_sop"],
        "h_ef": h_ef,
        "omega": omega,
        "chi": P["chi"],
        "chi_gn": P["chi_gn"],
        "rho_delta": rho_d,
        "rho_A": rho_A,
        "Phi": Phi,
        "Lambda": P["Lambda"],
        "lambda_delta": lam_d,
        "lambda_A": P["lambda_A"],
        "u_C_delta_u": dCd,
        "u_C_delta_gn_u": dGd,
        "w_C_A_w": P["w_C_A_w"],
        "concentration_ratio": conc,
        "concentration_ratio_mean_top10": float(np.nanmean(conc[:n_top])) if n_top else math.nan,
        "spectrum_delta": _np(lam_d_all, lam_d_all.numel()),
        "spectrum_A": _np(lam_A_all, lam_A_all.numel()) * (L if conv_form == "kfc" else 1.0),
        "exponents": exponents,
        "checks": checks,
        "notes": notes,
    }
    if L > 1:
        rec["forms"] = {f: {key: v for key, v in d.items() if key != "I2_residual"} for f, d in forms.items()}
    return to_jsonable(_listify(rec))


def _exponents(sigma: np.ndarray, P: dict, omega: np.ndarray, Phi: np.ndarray, hx: np.ndarray) -> tuple[dict, str]:
    """Slopes on log sigma over one common window (every quantity positive and finite there)."""
    base = {
        "sigma": sigma,
        "h_kron": P["h_kron_ef"],
        "Lambda": P["Lambda"],
        "Phi": Phi,
        "omega": omega,
    }
    use = np.ones(sigma.size, dtype=bool)
    for v in base.values():
        use &= np.isfinite(v) & (v > 0)
    have_exact = bool(np.isfinite(hx).any())
    if have_exact:
        use &= np.isfinite(hx) & (hx > 0)
    chi = P["chi"]
    s = sigma[use]
    out = {
        "beta": _slope(s, P["Lambda"][use]),
        "phi": _slope(s, Phi[use]),
        "psi_omega": _slope(s, omega[use]),
        "psi_chi": _slope(s, chi[use]) if have_exact else math.nan,
        "alpha_kron": _slope(s, P["h_kron_ef"][use]),
        "alpha_exact": _slope(s, hx[use]) if have_exact else math.nan,
    }
    gn_use = use & np.isfinite(P["h_kron_gn"]) & (P["h_kron_gn"] > 0)
    out["alpha_kron_gn"] = _slope(sigma[gn_use], P["h_kron_gn"][gn_use])
    out["psi_chi_gn"] = _slope(sigma[gn_use], P["chi_gn"][gn_use]) if have_exact else math.nan
    out["n_window"] = int(use.sum())
    out["window"] = [int(i) + 1 for i in np.flatnonzero(use)]
    note = ""
    if not use.all():
        note = (
            f"exponent window excludes k={_indices(~use)} (a non-positive or undefined sigma, h_kron, Lambda, Phi, "
            "omega" + (", h_exact" if have_exact else "") + "); all exponents share the remaining window"
        )
    if use.sum() < 3:
        note = (note + "; " if note else "") + f"only {int(use.sum())} usable directions: exponents are null"
    return out, note


def _listify(x: Any) -> Any:
    if isinstance(x, np.ndarray):
        return [float(v) for v in x.reshape(-1)]
    if isinstance(x, dict):
        return {key: _listify(v) for key, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_listify(v) for v in x]
    if isinstance(x, (np.floating, np.integer)):
        return x.item()
    return x
