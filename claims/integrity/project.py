r"""Integrity of the project's measurement files (``sad-results/1``): the writer's own fits against
:func:`theory.fits.summarize_layer` on the stored arrays, the diagnostics counts, and the Kronecker record's
algebraic relations (:mod:`empirics.kron.record`: products, ratios, the leading eigenvalues, the exponents
on the stored window, each conv form)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from theory.fits import ols, summarize_layer

from ..bundle import Bundle
from ..jsonpath import Node
from .tally import Tally

FITS_SCALARS = (
    "alpha",
    "r2_alpha",
    "gamma",
    "r2_gamma",
    "s",
    "r2_s",
    "predicted_s",
    "transfer_error",
    "pr_h",
    "pr_sigma2",
)
FITS_EXACT = ("n_valid", "n_nonpositive_h", "n_nonfinite", "bic_winner", "ok")
SUMMARY = "theory.fits.summarize_layer(sigma, h_exact)"
K = "$.layers[].kron"
PRODUCTS = {  # kron field → (left factor, right factor), elementwise
    "Phi": ("rho_delta", "rho_A"),
    "Lambda": ("lambda_delta", "lambda_A"),
    "h_kron_ef": ("u_C_delta_u", "w_C_A_w"),
    "h_kron_gn": ("u_C_delta_gn_u", "w_C_A_w"),
}
RATIOS = {  # kron field → (numerator, denominator); "h_exact" is the layer's own array
    "chi": ("h_exact", "h_kron_ef"),
    "chi_gn": ("h_exact", "h_kron_gn"),
    "rho_delta": ("u_C_delta_u", "lambda_delta"),
    "rho_A": ("w_C_A_w", "lambda_A"),
    "concentration_ratio": ("h_sop", "h_kron_ef"),
}
EXPONENTS = {  # exponents key → the quantity whose ln is regressed on ln σ over the stored window
    "beta": "Lambda",
    "phi": "Phi",
    "psi_omega": "omega",
    "psi_chi": "chi",
    "alpha_kron": "h_kron_ef",
    "alpha_exact": "h_exact",
}
#: kron fields whose entries at a direction the record declares degenerate — a λ^δ_k or λ^A_k at or below
#: dim·ε·λ_1 of its factor (the writer's rule) — are ratios of round-off: stored null (or as noise), not compared
DEGENERATE_FIELDS = frozenset({"Lambda", "Phi", "rho_delta", "rho_A", "concentration_ratio"})
FORM_SHARED = ("h_kron_ef", "h_kron_gn", "h_sop", "chi", "chi_gn", "lambda_A", "Lambda", "w_C_A_w")
FIELDS = {
    "sad-results/1": {
        **{f"$.layers[].fits.{k}": SUMMARY for k in (*FITS_SCALARS, *FITS_EXACT)},
        "$.layers[].fits.bic.*": SUMMARY,
        "$.layers[].diagnostics.n_nonpositive_h": "number of finite h_exact ≤ 0",
        "$.layers[].diagnostics.n_nonfinite": "number of null (non-finite) h_exact",
        "$.layers[].gn_gap": "h_exact − h_gn elementwise",
        **{f"{K}.{f}": f"{a} · {b} elementwise" for f, (a, b) in PRODUCTS.items()},
        **{f"{K}.{f}": f"{a} / {b} elementwise" for f, (a, b) in RATIOS.items()},
        f"{K}.lambda_delta": "the leading k entries of spectrum_delta",
        f"{K}.lambda_A": "the leading k entries of spectrum_A",
        f"{K}.concentration_ratio_mean_top10": "mean of the finite concentration_ratio among the first 10",
        f"{K}.exponents.*": "OLS slope of ln(Lambda, Phi, omega, chi, h_kron_ef, h_exact) on ln σ over "
        "exponents.window; alpha_kron_gn, psi_chi_gn: of h_kron_gn, chi_gn over the window's entries where "
        "h_kron_gn > 0",
        f"{K}.exponents.n_window": "number of entries of exponents.window",
        f"{K}.forms.*.*": "each conv form: h_kron_ef, h_kron_gn = u_C_delta(_gn)_u · the form's w_C_A_w; chi, chi_gn = "
        "h_exact / them; Lambda = lambda_delta · the form's lambda_A; the arrays of kron.conv_form equal the "
        "top-level ones",
    }
}
NOT_CHECKED = {
    "sad-results/1": "sigma, h_exact, h_gn, h_fd and every kron array not listed (measurements: h_sop, h_ef, omega, "
    "u_C_delta_u, u_C_delta_gn_u, w_C_A_w, spectrum_*); kron.checks (residuals of quantities not stored); fits.notes "
    "(text); run, provenance, timing; the entries of Lambda, Phi, rho_delta, rho_A and concentration_ratio at a "
    "direction whose lambda_delta or lambda_A is numerically zero (<= dim·eps·lambda_1, the writer's rule)",
}


def _arr(node: Node, key: str) -> np.ndarray | None:
    return node[key].arr() if node.has(key) and isinstance(node[key].value, list) else None


def _slope(s: np.ndarray, y: np.ndarray) -> float:
    return ols(np.log(s), np.log(y)).slope


def _fits(t: Tally, rec: Node, sm: dict[str, Any]) -> None:
    fits = rec["fits"]
    for k in FITS_SCALARS:
        if fits.has(k):
            t.num(f"$.layers[].fits.{k}", fits.opt(k), sm[k])
    for k in FITS_EXACT:
        if fits.has(k):
            t.same(f"$.layers[].fits.{k}", fits.opt(k), sm[k])
    if fits.has("bic") and isinstance(fits["bic"].value, dict):
        for m in fits["bic"].keys():
            t.num("$.layers[].fits.bic.*", fits["bic"].opt(m), sm["bic"].get(m, math.nan))


def _ratio(x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """x / y elementwise, NaN where undefined (as the writer stores it)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        q = x / y
    q[~np.isfinite(q)] = np.nan
    return q


def _degenerate(get, dims: dict[str, int]) -> np.ndarray | None:  # noqa: ANN001
    r"""Directions whose :math:`\lambda^\delta_k` or :math:`\lambda^A_k` is numerically zero by the writer's rule
    (:math:`\lambda_k\le\dim\cdot\varepsilon\cdot\lambda_1`, ``dims``: each factor's dimension, the length of its
    stored spectrum); ``None`` when neither factor is stored."""
    mask = None
    for key in ("lambda_delta", "lambda_A"):
        lam = get(key)
        if lam is None or lam.size == 0 or key not in dims:
            continue
        tol = dims[key] * np.finfo(float).eps * max(float(lam[0]), 0.0)
        with np.errstate(invalid="ignore"):
            zero = ~(lam > tol)
        mask = zero if mask is None else mask | zero
    return mask


def _kron_relations(t: Tally, node: Node, get, h: np.ndarray, pattern, null=None) -> None:  # noqa: ANN001
    """Products and ratios whose operands ``get(name)`` returns (``node``: where the results are stored;
    ``pattern(field)``: the declared integrity pattern; ``null``: degenerate directions, see
    :data:`DEGENERATE_FIELDS`)."""
    for f, (a, c) in PRODUCTS.items():
        x, y = get(a), get(c)
        if node.has(f) and x is not None and y is not None:
            t.array(pattern(f), node.opt(f), x * y, skip=null if f in DEGENERATE_FIELDS else None)
    for f, (a, c) in RATIOS.items():
        x, y = (h if a == "h_exact" else get(a)), get(c)
        if node.has(f) and x is not None and y is not None:
            t.array(pattern(f), node.opt(f), _ratio(x, y), skip=null if f in DEGENERATE_FIELDS else None)


def _kron(t: Tally, kron: Node, sigma: np.ndarray, h: np.ndarray) -> None:
    k = sigma.size

    def top(key: str) -> np.ndarray | None:
        return _arr(kron, key)

    dims = {
        lam: int(spectrum.size)
        for lam, key in (("lambda_delta", "spectrum_delta"), ("lambda_A", "spectrum_A"))
        if (spectrum := top(key)) is not None
    }
    null = _degenerate(top, dims)
    _kron_relations(t, kron, top, h, lambda f: f"{K}.{f}", null)
    for f, spec in (("lambda_delta", "spectrum_delta"), ("lambda_A", "spectrum_A")):
        full = top(spec)
        if kron.has(f) and full is not None and full.size >= k:
            t.array(f"{K}.{f}", kron.opt(f), full[:k])
    conc = top("concentration_ratio")
    if kron.has("concentration_ratio_mean_top10") and conc is not None:
        head = conc[: min(10, k)]
        head = head[np.isfinite(head)]
        t.num(
            f"{K}.concentration_ratio_mean_top10",
            kron.opt("concentration_ratio_mean_top10"),
            float(head.mean()) if head.size else math.nan,
        )
    if kron.has("exponents") and isinstance(kron["exponents"].value, dict):
        ex = kron["exponents"]
        win = [int(i) - 1 for i in ex["window"].value] if ex.has("window") else None
        if win is not None:
            if ex.has("n_window"):
                t.same(f"{K}.exponents.n_window", ex.opt("n_window"), len(win))
            idx = np.asarray(win, dtype=int)
            enough = idx.size >= 3
            for key, q in EXPONENTS.items():
                y = h if q == "h_exact" else top(q)
                if ex.has(key) and y is not None:
                    t.num(f"{K}.exponents.*", ex.opt(key), _slope(sigma[idx], y[idx]) if enough else math.nan)
            gn = top("h_kron_gn")
            if gn is not None:
                use = idx[np.isfinite(gn[idx]) & (gn[idx] > 0)] if idx.size else idx
                chi_gn = top("chi_gn")
                for key, y in (("alpha_kron_gn", gn), ("psi_chi_gn", chi_gn)):
                    if ex.has(key) and y is not None:
                        ok = key == "alpha_kron_gn" or bool(np.isfinite(h).any())
                        t.num(f"{K}.exponents.*", ex.opt(key), _slope(sigma[use], y[use]) if ok else math.nan)
    if kron.has("forms") and isinstance(kron["forms"].value, dict):
        forms = kron["forms"]
        chosen = kron["conv_form"].value if kron.has("conv_form") else None
        for name in forms.keys():
            form = forms[name]

            def get(key: str, form: Node = form) -> np.ndarray | None:
                v = _arr(form, key)
                return v if v is not None else top(key)

            _kron_relations(t, form, get, h, lambda f: f"{K}.forms.*.*", _degenerate(get, dims))
            if name == chosen:
                for key in FORM_SHARED:
                    mine, theirs = _arr(form, key), top(key)
                    if mine is not None and theirs is not None:
                        t.array(f"{K}.forms.*.*", form.opt(key), theirs)


def project(b: Bundle, root: Node, t: Tally) -> None:
    """The writer's fits, diagnostics, GN gap and Kronecker relations of every layer."""
    for rec in root["layers"].items():
        sigma, h = rec["sigma"].arr(), rec["h_exact"].arr()
        if rec.has("fits") and isinstance(rec["fits"].value, dict):
            _fits(t, rec, summarize_layer(sigma, h).as_dict())
        if rec.has("diagnostics") and isinstance(rec["diagnostics"].value, dict):
            dg = rec["diagnostics"]
            if dg.has("n_nonpositive_h"):
                t.same(
                    "$.layers[].diagnostics.n_nonpositive_h",
                    dg.opt("n_nonpositive_h"),
                    int((np.isfinite(h) & (h <= 0)).sum()),
                )
            if dg.has("n_nonfinite"):
                t.same("$.layers[].diagnostics.n_nonfinite", dg.opt("n_nonfinite"), int((~np.isfinite(h)).sum()))
        hg = _arr(rec, "h_gn")
        if rec.has("gn_gap") and hg is not None:
            t.array("$.layers[].gn_gap", rec.opt("gn_gap"), h - hg, scale=np.maximum(np.abs(h), np.abs(hg)))
        if rec.has("kron") and isinstance(rec["kron"].value, dict):
            _kron(t, rec["kron"], sigma, h)


CHECKS = {"sad-results/1": project}
