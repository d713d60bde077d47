r"""Exponent fits on one index window (docs/theory-reference.md §1.6, docs/claims-reference.md §4.5). Pure numpy, no torch, no sympy.

Every fit is ordinary least squares *with an intercept* on natural logs over one window
:math:`\mathcal K`; write :math:`\mathrm{slope}_x(y)=\mathrm{Cov}(x,y)/\mathrm{Var}(x)`.

* :math:`\alpha = \mathrm{slope}_{\ln\sigma}(\ln h_k)` over the pairs with :math:`\sigma_k>0,\ h_k>0` (Eq. 1);
* :math:`\gamma = -\mathrm{slope}_{\ln k}(\ln\sigma_k)`, :math:`k=1..K` (positive :math:`\sigma` only);
* :math:`s = -\mathrm{slope}_{\ln j}(\ln h_{(j)})` with :math:`h_{(1)}\ge h_{(2)}\ge\dots` the positive
  curvatures **sorted descending** (rank-ordered, as the released data use);
* relative transfer error :math:`|s-\alpha\gamma|/s`;
* the three rank models of App. G on :math:`\ln\sigma_k` with
  :math:`\mathrm{BIC}=K\ln(\mathrm{RSS}/K)+p\ln K`, :math:`p=2,2,3`, winner = argmin;
* participation ratio :math:`\mathrm{PR}(x)=(\sum x)^2/\sum x^2`.

Nothing is dropped silently: every fit reports how many points it used and how many it had to
leave out (non-positive or non-finite values), and a fit on fewer than 3 usable points, or on a
constant regressor, is returned with ``ok=False`` and NaN estimates.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

#: A 1-D sequence of numbers (``None`` = a JSON null, treated as non-finite) or a numpy array.
Values = Sequence[float | None] | np.ndarray

__all__ = [
    "LinearFit",
    "ols",
    "log_slope",
    "AlphaFit",
    "fit_alpha",
    "fit_gamma",
    "fit_s",
    "transfer_error",
    "RankModels",
    "fit_rank_models",
    "RANK_MODELS",
    "participation_ratio",
    "ExponentSummary",
    "summarize_layer",
]

MIN_POINTS = 3
RANK_MODELS = ("power_law", "exponential", "lognormal")


@dataclass(frozen=True)
class LinearFit:
    """OLS fit :math:`y = a + b x`; ``slope`` is :math:`b`, ``r2`` the coefficient of determination."""

    slope: float
    intercept: float
    r2: float
    n: int
    ok: bool
    reason: str = ""

    def as_dict(self) -> dict:
        """The fit as a plain JSON-ready dict (field name → value)."""
        return asdict(self)


def _nan_fit(n: int, reason: str) -> LinearFit:
    return LinearFit(math.nan, math.nan, math.nan, n, False, reason)


def ols(x: Values, y: Values) -> LinearFit:
    """Least squares with intercept of ``y`` on ``x``; both finite 1-D arrays of equal length."""
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError(f"ols: x and y must be 1-D of equal length, got {x.shape} and {y.shape}")
    n = x.size
    if n < MIN_POINTS:
        return _nan_fit(n, f"only {n} usable points (need {MIN_POINTS})")
    xc = x - x.mean()
    yc = y - y.mean()
    sxx = float(xc @ xc)
    if sxx == 0.0:
        return _nan_fit(n, "constant regressor")
    b = float(xc @ yc) / sxx
    a = float(y.mean() - b * x.mean())
    syy = float(yc @ yc)
    resid = yc - b * xc
    r2 = 1.0 - float(resid @ resid) / syy if syy > 0 else 1.0
    return LinearFit(b, a, r2, n, True)


def log_slope(x: np.ndarray, y: np.ndarray) -> float:
    """:math:`\\mathrm{slope}_{\\ln x}(\\ln y)` on the common window (both must be positive)."""
    return ols(np.log(x), np.log(y)).slope


@dataclass(frozen=True)
class AlphaFit:
    r"""Curvature exponent :math:`\alpha` of :math:`h_k = c\,\sigma_k^\alpha`, with what was left out."""

    alpha: float
    intercept: float
    r2: float
    n_valid: int
    n_nonpositive_h: int
    n_nonpositive_sigma: int
    n_nonfinite: int
    ok: bool
    reason: str = ""

    def as_dict(self) -> dict:
        """The fit as a plain JSON-ready dict (field name → value)."""
        return asdict(self)


def fit_alpha(sigma: Values, h: Values) -> AlphaFit:
    r""":math:`\alpha=\mathrm{slope}_{\ln\sigma}(\ln h)` over the pairs with :math:`\sigma>0`, :math:`h>0`.

    ``None`` entries (JSON null) count as non-finite. Non-positive curvatures are counted in
    ``n_nonpositive_h``, never dropped without a count.
    """
    s = np.array([np.nan if v is None else v for v in sigma], dtype=float)
    c = np.array([np.nan if v is None else v for v in h], dtype=float)
    if s.shape != c.shape:
        raise ValueError(f"fit_alpha: sigma has {s.size} values but h has {c.size}")
    finite = np.isfinite(s) & np.isfinite(c)
    n_nonfinite = int((~finite).sum())
    nonpos_h = finite & (c <= 0)
    nonpos_s = finite & (s <= 0)
    use = finite & (c > 0) & (s > 0)
    f = ols(np.log(s[use]), np.log(c[use]))
    return AlphaFit(
        f.slope,
        f.intercept,
        f.r2,
        int(use.sum()),
        int(nonpos_h.sum()),
        int(nonpos_s.sum()),
        n_nonfinite,
        f.ok,
        f.reason,
    )


def fit_gamma(sigma: Values) -> LinearFit:
    r"""Effective rank decay :math:`\gamma=-\mathrm{slope}_{\ln k}(\ln\sigma_k)`, :math:`k=1..K`.

    Uses the positive, finite :math:`\sigma_k` at their own rank :math:`k`. The returned
    ``slope`` is :math:`\gamma` (already negated); ``n`` says how many points were used.
    """
    s = np.asarray(sigma, dtype=float)
    k = np.arange(1, s.size + 1, dtype=float)
    use = np.isfinite(s) & (s > 0)
    f = ols(np.log(k[use]), np.log(s[use]))
    return LinearFit(-f.slope, f.intercept, f.r2, f.n, f.ok, f.reason)


def fit_s(h: Values) -> LinearFit:
    r"""Hessian decay :math:`s=-\mathrm{slope}_{\ln j}(\ln h_{(j)})` on rank-ordered positive curvatures."""
    c = np.array([np.nan if v is None else v for v in h], dtype=float)
    pos = np.sort(c[np.isfinite(c) & (c > 0)])[::-1]
    j = np.arange(1, pos.size + 1, dtype=float)
    f = ols(np.log(j), np.log(pos))
    return LinearFit(-f.slope, f.intercept, f.r2, f.n, f.ok, f.reason)


def transfer_error(s: float, alpha: float, gamma: float) -> float:
    r"""Relative transfer error :math:`|s-\alpha\gamma|/s` (NaN when :math:`s=0` or any input is NaN)."""
    if not all(map(math.isfinite, (s, alpha, gamma))) or s == 0:
        return math.nan
    return abs(s - alpha * gamma) / abs(s)


@dataclass(frozen=True)
class RankModels:
    r"""BIC comparison of the three rank models of App. G on :math:`\ln\sigma_k`."""

    bic: dict[str, float]
    rss: dict[str, float]
    params: dict[str, dict[str, float]]
    winner: str
    n: int
    ok: bool
    reason: str = ""

    def as_dict(self) -> dict:
        """The comparison as a plain JSON-ready dict (field name → value)."""
        return asdict(self)


def fit_rank_models(sigma: Values) -> RankModels:
    r"""Fit power law (:math:`\ln\sigma=c+b\ln k`), exponential (:math:`\ln\sigma=c+bk`) and
    log-normal in rank (:math:`\ln\sigma=c_0+b\ln k+a\ln^2k`) by OLS on :math:`\ln\sigma`.

    :math:`\mathrm{BIC}=K\ln(\mathrm{RSS}/K)+p\ln K` with :math:`p=2,2,3`; the winner is the argmin
    (ties go to the simpler model, in the order power law, exponential, log-normal). This is the
    convention that reproduces the released model_fit and rmt numbers (docs/claims-reference.md §4.5).
    """
    s = np.asarray(sigma, dtype=float)
    k = np.arange(1, s.size + 1, dtype=float)
    use = np.isfinite(s) & (s > 0)
    k, y = k[use], np.log(s[use])
    n = int(y.size)
    if n < 4:
        nan = {m: math.nan for m in RANK_MODELS}
        return RankModels(nan, dict(nan), {}, "", n, False, f"only {n} positive singular values (need 4)")
    lk = np.log(k)
    designs = {
        "power_law": (np.column_stack([np.ones(n), lk]), 2),
        "exponential": (np.column_stack([np.ones(n), k]), 2),
        "lognormal": (np.column_stack([np.ones(n), lk, lk**2]), 3),
    }
    bic, rss, params = {}, {}, {}
    for name, (X, p) in designs.items():
        coef, *_ = np.linalg.lstsq(X, y, rcond=None)
        r = y - X @ coef
        rss_v = float(r @ r)
        rss[name] = rss_v
        with np.errstate(divide="ignore"):
            bic[name] = float(n * np.log(rss_v / n) + p * np.log(n))
        if name == "power_law":
            params[name] = {"log_c": float(coef[0]), "gamma": float(-coef[1])}
        elif name == "exponential":
            params[name] = {"log_c": float(coef[0]), "b_exp": float(-coef[1])}
        else:
            params[name] = {"log_c": float(coef[0]), "b": float(coef[1]), "a": float(coef[2])}
    winner = min(RANK_MODELS, key=lambda m: (bic[m], RANK_MODELS.index(m)))
    return RankModels(bic, rss, params, winner, n, True)


def participation_ratio(x: Values) -> float:
    r""":math:`\mathrm{PR}(x)=(\sum_k x_k)^2/\sum_k x_k^2` over the finite entries (NaN if all vanish)."""
    v = np.asarray([np.nan if e is None else e for e in x], dtype=float)
    v = v[np.isfinite(v)]
    q = float(v @ v)
    return float(v.sum() ** 2 / q) if q > 0 else math.nan


@dataclass(frozen=True)
class ExponentSummary:
    """All window fits of one layer: what a results record and a claim check recompute."""

    alpha: AlphaFit
    gamma: LinearFit
    s: LinearFit
    transfer_error: float
    rank_models: RankModels
    pr_h: float
    pr_sigma2: float
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        r"""The flat ``fits`` record of a layer: :math:`\alpha`, :math:`\gamma`, :math:`s` with their :math:`R^2`, the
        predicted :math:`s=\alpha\gamma` and the transfer error, what the α fit left out, the BIC rank models, the
        participation ratios and the notes."""
        return {
            "alpha": self.alpha.alpha,
            "r2_alpha": self.alpha.r2,
            "n_valid": self.alpha.n_valid,
            "n_nonpositive_h": self.alpha.n_nonpositive_h,
            "n_nonfinite": self.alpha.n_nonfinite,
            "gamma": self.gamma.slope,
            "r2_gamma": self.gamma.r2,
            "s": self.s.slope,
            "r2_s": self.s.r2,
            "predicted_s": self.alpha.alpha * self.gamma.slope,
            "transfer_error": self.transfer_error,
            "bic": self.rank_models.bic,
            "bic_winner": self.rank_models.winner,
            "pr_h": self.pr_h,
            "pr_sigma2": self.pr_sigma2,
            "ok": self.alpha.ok and self.gamma.ok and self.s.ok,
            "notes": list(self.notes),
        }


def summarize_layer(sigma: Values, h: Values) -> ExponentSummary:
    """Fit α, γ, s, the transfer error, the rank models and both PRs on one window."""
    a = fit_alpha(sigma, h)
    g = fit_gamma(sigma)
    s = fit_s(h)
    notes = []
    if a.n_nonpositive_h:
        notes.append(f"{a.n_nonpositive_h} non-positive curvature(s) excluded from the log fits")
    if a.n_nonfinite:
        notes.append(f"{a.n_nonfinite} non-finite value(s) excluded")
    for nm, f in (("alpha", a), ("gamma", g), ("s", s)):
        if not f.ok:
            notes.append(f"{nm} fit degenerate: {f.reason}")
    hv = np.array([np.nan if v is None else v for v in h], dtype=float)
    sv = np.asarray(sigma, dtype=float)
    return ExponentSummary(
        alpha=a,
        gamma=g,
        s=s,
        transfer_error=transfer_error(s.slope, a.alpha, g.slope),
        rank_models=fit_rank_models(sigma),
        pr_h=participation_ratio(hv[np.isfinite(hv) & (hv > 0)]),
        pr_sigma2=participation_ratio(sv**2),
        notes=notes,
    )
