r"""App. L, the Kronecker spectral identity (ResNet-50 Tiny-IN): per-layer Pearson
r(log h_Kron, log σ²) recomputed from the stored top-30 arrays, BIC-winner agreement between σ and
the factors C_δ, C_A (sel. F), mean minimum effective rank by σ winner, and Theorem 1 part 1
:math:`h^{\rm Kron}=\rho_\delta\rho_A\lambda_\delta\lambda_A`."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, all_ok, claim, law, nodata
from ..context import Context
from ..jsonpath import Node
from ..model import Candidate
from ..perturb import flip
from ..stats import mean

CLAIMS = []


def _layers(b: Bundle) -> list[Node]:
    return list(b.need("kronecker")["layers"].items())


def _corr_of(rec: Node) -> float:
    r"""Pearson :math:`r(\ln h^{\rm Kron}_k,\ln\sigma_k^2)` of one App. L record over its stored top-30 pairs with
    :math:`h>0` and :math:`\sigma>0`."""
    h, s = rec["h_kron_top30"].arr(), rec["sigma_top30"].arr()
    ok = (h > 0) & (s > 0)
    return float(np.corrcoef(np.log(h[ok]), np.log(s[ok] ** 2))[0, 1])


def _n(b: Bundle, ctx: Context) -> Measure:
    L = _layers(b)
    return Measure(
        len(L),
        "kronecker → layers[]",
        [r["name"].str() for r in L],
        [Candidate("summary.n_layers", b.need("kronecker")["summary"]["n_layers"].int(), None, same=True)],
    )


def _corr(stat: str) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
        L = _layers(b)
        rs = [_corr_of(r) for r in L]
        f: Callable[[list[float]], float] = {"mean": mean, "min": lambda v: min(v), "max": lambda v: max(v)}[stat]
        stored = [r["log_hkron_vs_log_sigma2_corr"].num() for r in L]
        cands = [Candidate("stored per-layer log_hkron_vs_log_sigma2_corr", f(stored), len(L), same=True)]
        if stat == "mean":
            sv = b.need("kronecker")["summary"]["mean_hkron_corr"].num()
            cands.append(Candidate("summary.mean_hkron_corr", sv, None, same=True))
        return Measure(
            f(rs),
            "kronecker → layers[]: Pearson r(log h_kron_top30, log sigma_top30²), recomputed",
            [r["name"].str() for r in L],
            cands,
        )

    return measure


def _corr_perturb(stat, printed):
    def away(docs, out):
        for lay in docs["kronecker"]["layers"]:
            lay["h_kron_top30"] = [v * (3.0 if i % 2 else 1.0) for i, v in enumerate(lay["h_kron_top30"])]

    def toward(docs, out):
        for lay in docs["kronecker"]["layers"]:
            lay["h_kron_top30"] = [s**2 for s in lay["sigma_top30"]]

    return flip(away, toward)


CLAIMS.append(
    claim(
        "appL.n_layers",
        "App. L",
        "15 layers",
        15,
        form="count",
        files=("kronecker",),
        selection="kronecker layers[]",
        measure=_n,
        perturb=lambda d, o: d["kronecker"]["layers"].pop(),
    )
)
for _s, _p in (("mean", 0.974), ("min", 0.921), ("max", 0.988)):
    CLAIMS.append(
        claim(
            f"appL.hkron_corr.{_s}",
            "App. L",
            f"{_s} corr(log h_Kron, log σ²) = {_p}",
            _p,
            form="point",
            d=3,
            files=("kronecker",),
            selection="recomputed from h_kron_top30, sigma_top30 (all layers)",
            measure=_corr(_s),
            perturb=_corr_perturb(_s, _p),
        )
    )


# -- BIC agreement (sel. F) ------------------------------------------------------------------------
def _win(r):
    return r["sigma_bic_best"].str(), r["delta_bic_best"].str(), r["A_bic_best"].str()


def _match(rule: str) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
        L = _layers(b)
        w = [_win(r) for r in L]
        rules = {
            "either": lambda s, d, a: s in (d, a),
            "both": lambda s, d, a: s == d == a,
            "A": lambda s, d, a: s == a,
            "delta": lambda s, d, a: s == d,
        }
        frac = {k: sum(f(*x) for x in w) / len(w) for k, f in rules.items()}
        cands = [Candidate(f"σ winner {k}", 100 * v, len(w), same=True) for k, v in frac.items() if k != rule]
        cands.append(
            Candidate(
                "stored summary.prediction_accuracy × 100 (rule undocumented)",
                100 * b.need("kronecker")["summary"]["prediction_accuracy"].num(),
                None,
            )
        )
        hits = sum(rules[rule](*x) for x in w)
        return Measure(
            100 * frac[rule],
            f"kronecker → layers[].{{sigma,delta,A}}_bic_best: σ winner = {rule} factor winner(s) ({hits}/{len(w)})",
            [r["name"].str() for r in L],
            cands,
        )

    return measure


def _match_toward(pct):
    def go(docs, out):
        L = docs["kronecker"]["layers"]
        k = round(pct / 100 * len(L))
        for i, lay in enumerate(L):
            other = "power_law" if lay["sigma_bic_best"] != "power_law" else "exponential"
            lay["delta_bic_best"] = other
            lay["A_bic_best"] = lay["sigma_bic_best"] if i < k else other

    return go


def _match_away(docs, out):
    for lay in docs["kronecker"]["layers"]:
        other = "power_law" if lay["sigma_bic_best"] != "power_law" else "exponential"
        lay["delta_bic_best"] = lay["A_bic_best"] = other


CLAIMS += [
    claim(
        "appL.bic_match",
        "App. L",
        "BIC winner of σ matches a factor's winner: 87 % (13/15)",
        87,
        form="point",
        d=0,
        files=("kronecker",),
        selection="σ winner = C_δ winner or C_A winner (sel. F1)",
        measure=_match("either"),
        perturb=flip(_match_away, _match_toward(87)),
    ),
    claim(
        "appL.CA_driver",
        "App. L",
        "C_A is the dominant driver: 73 %",
        73,
        form="point",
        d=0,
        files=("kronecker",),
        selection="σ winner = C_A winner (sel. F3)",
        measure=_match("A"),
        perturb=flip(_match_away, _match_toward(73)),
    ),
]


def _reff(group: str) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
        L = _layers(b)
        rows = [
            (r["name"].str(), r["sigma_bic_best"].str(), min(r["eff_rank_delta"].num(), r["eff_rank_A"].num()))
            for r in L
        ]
        sel = [v for _, w, v in rows if w == group]
        key = "mean_min_eff_rank_exp" if group == "exponential" else "mean_min_eff_rank_ln"
        sv = b.need("kronecker")["summary"][key].num()
        return Measure(
            mean(sel),
            f"kronecker: mean over layers with σ winner {group} of min(eff_rank_delta, eff_rank_A)",
            [n for n, w, _ in rows if w == group],
            [Candidate(f"summary.{key}", sv, None, same=True)],
        )

    return measure


def _reff_perturb(group, printed):
    def scale(docs, out, c):
        for lay in docs["kronecker"]["layers"]:
            if lay["sigma_bic_best"] == group:
                lay["eff_rank_delta"] *= c
                lay["eff_rank_A"] *= c

    return flip(lambda d, o: scale(d, o, 1.3), lambda d, o: scale(d, o, printed / o.measured))


CLAIMS += [
    claim(
        "appL.min_reff.exp",
        "App. L",
        "min(r_eff) of exponential-σ layers: 4.7",
        4.7,
        form="point",
        d=1,
        files=("kronecker",),
        selection="mean over layers grouped by σ winner of min(r_eff) (sel. F)",
        measure=_reff("exponential"),
        perturb=_reff_perturb("exponential", 4.7),
    ),
    claim(
        "appL.min_reff.ln",
        "App. L",
        "min(r_eff) of log-normal-σ layers: 19.4",
        19.4,
        form="point",
        d=1,
        files=("kronecker",),
        selection="mean over layers grouped by σ winner of min(r_eff) (sel. F)",
        measure=_reff("lognormal"),
        perturb=_reff_perturb("lognormal", 19.4),
    ),
]


def _rule(b: Bundle, ctx: Context) -> Measure:
    L = _layers(b)
    rows = []
    for r in L:
        d, a, w = r["eff_rank_delta"].num(), r["eff_rank_A"].num(), r["sigma_bic_best"].str()
        pred = "exponential" if min(d, a) < 10 else ("lognormal" if min(d, a) > 10 else None)
        rows.append((r["name"].str(), pred, w))
    ok = sum(p == w for _, p, w in rows)
    return Measure(
        (ok, len(rows)),
        "kronecker: rule min(r_eff) < 10 → EXP, both > 10 → LN, vs sigma_bic_best",
        [n for n, *_ in rows],
        violators=[f"{n}: predicted {p}, σ winner {w}" for n, p, w in rows if p != w],
        notes=["value = (# layers the rule predicts, n)"],
    )


def _rule_perturb(docs, out):
    for lay in docs["kronecker"]["layers"]:
        m = min(lay["eff_rank_delta"], lay["eff_rank_A"])
        good = "exponential" if m < 10 else "lognormal"
        lay["sigma_bic_best"] = good if out.verdict != "holds" else ("power_law")


CLAIMS.append(
    law(
        "appL.reff_threshold10",
        "App. L",
        "one factor r_eff < 10 → exponential; both > 10 → log-normal",
        "qualitative",
        selection="accuracy of the rule over all layers",
        measure=_rule,
        test=lambda v, ctx: v[0] > v[1] / 2,
        tolerance="the rule predicts the σ winner for more than half of the layers",
        perturb=_rule_perturb,
        files=("kronecker",),
    )
)


def _thm1(b: Bundle, ctx: Context) -> Measure:
    L = _layers(b)
    bad = []
    for r in L:
        prod = (
            r["rho_delta_top30"].arr()
            * r["rho_A_top30"].arr()
            * r["lambda_delta_top30"].arr()
            * r["lambda_A_top30"].arr()
        )
        h = r["h_kron_top30"].arr()
        if not np.allclose(h, prod, rtol=1e-3, atol=0):
            bad.append(f"{r['name'].str()}: max rel dev {float(np.max(np.abs(h - prod) / np.abs(prod))):.3g}")
    return Measure(
        (len(L) - len(bad), len(L)),
        "kronecker: h_kron_top30 vs rho_delta·rho_A·lambda_delta·lambda_A (rtol 1e-3)",
        [r["name"].str() for r in L],
        violators=bad,
        notes=["value = (# layers satisfying the identity, n)"],
    )


def _thm1_perturb(docs, out):
    lay = docs["kronecker"]["layers"][0]
    lay["h_kron_top30"] = [v * (1.01 if out.verdict == "holds" else 1.0) for v in lay["h_kron_top30"]]


CLAIMS.append(
    law(
        "appL.thm1_identity",
        "App. L (Thm 1 part 1)",
        "h_Kron = ρ_δ ρ_A λ_δ λ_A",
        "identity",
        selection="all layers, top 30",
        measure=_thm1,
        test=all_ok,
        tolerance="rtol 1e-3, every layer",
        perturb=_thm1_perturb,
        files=("kronecker",),
    )
)

# -- NO DATA -----------------------------------------------------------------------------------------------------
CLAIMS.append(nodata("appL.synthetic_50_50", "App. L", "50/50 synthetic verification", "50/50"))
