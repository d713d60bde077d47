r"""App. D conv gap table: per layer the alignment ratio :math:`\chi_k=h^{\rm exact}_k/h^{\rm Kron}_k`, the
concentration ratio SoP/PoS and :math:`\alpha_{\rm exact}`, recomputed from conv_gap_v2's arrays (sel. E:
per-layer median, one statistic for all rows; the FC placeholder direction with :math:`h^{\rm exact}\le 0` is
excluded from χ), and layer2.0.conv1's non-negligible d log χ / d log σ. (The §6.4 laws: :mod:`.section6`.)"""

from __future__ import annotations

import math

import numpy as np

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, claim
from ..context import Context
from ..measures.kronecker import chi_of, conc_of, raw_record, slope_of, v2_record
from ..model import Candidate
from ..perturb import flip, set_alpha, shift_alpha
from ..records import networks

CLAIMS = []


ROWS = {
    "conv1": (7, 0.88, 1.99),
    "layer2.0.conv1": (5, 0.98, 2.57),
    "layer4.0.conv2": (3, 0.59, 2.23),
    "fc": (4, 0.88, 1.64),
}


def _measure(name: str, col: str) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
        rec = raw_record(b, "conv_gap_v2", name)
        net = networks(b, "conv_gap_v2")[0]
        src = f"conv_gap_v2 → {rec.path}"
        if col == "alpha":
            lay = net.by_name(name)
            return Measure(
                lay.alpha,
                src + " (α refit from sigma, h_exact)",
                [f"conv_gap_v2/{name}"],
                [Candidate("stored alpha_exact", rec["alpha_exact"].num(), 1, same=True)],
            )
        if col == "conc":
            return Measure(
                conc_of(rec),
                src + ": median of h_sum_of_products/h_product_of_sums",
                [f"conv_gap_v2/{name}"],
                [Candidate("mean over directions", conc_of(rec, "mean"), None, same=True)],
            )
        chi, _, excl = chi_of(rec)
        med = float(np.median(chi))
        stored = rec["cos2_theta"].arr()
        cands = [
            Candidate("floor(log10 median χ)", math.floor(math.log10(med)), chi.size, same=True),
            Candidate(
                "stored cos2_theta (incl. placeholder): round(log10 median)",
                round(math.log10(float(np.median(stored)))),
                stored.size,
            ),
        ]
        if b.has("conv_gap"):
            root = b.need("conv_gap")
            names = [r["name"].str() for r in root["conv_results"].items()]
            if name in names:
                c1, _, _ = chi_of(root["conv_results"].where("name", name))
                cands.append(
                    Candidate(
                        "conv_gap (v1, kfc) round(log10 median χ)", round(math.log10(float(np.median(c1)))), c1.size
                    )
                )
        return Measure(
            round(math.log10(med)),
            src + f": round(log10 median χ_k), χ = h_exact/h_kron ({excl} direction(s) with h ≤ 0 excluded)",
            [f"conv_gap_v2/{name}"],
            cands,
            [f"median χ = {med:.4g}"],
        )

    return measure


def _perturb(name, col, printed):
    if col == "alpha":
        return flip(
            lambda d, o: shift_alpha(v2_record(d, name), 0.1), lambda d, o: set_alpha(v2_record(d, name), printed)
        )
    if col == "conc":

        def scale(d, c):
            r = v2_record(d, name)
            r["h_sum_of_products"] = [v * c for v in r["h_sum_of_products"]]

        return flip(lambda d, o: scale(d, 1.2), lambda d, o: scale(d, printed / o.measured))

    def chi(d, e):
        r = v2_record(d, name)
        r["h_kron"] = [v * 10.0 ** (-e) for v in r["h_kron"]]

    return flip(lambda d, o: chi(d, 2), lambda d, o: chi(d, printed - o.measured))


for _name, _vals in ROWS.items():
    for _col, _v in zip(("chi", "conc", "alpha"), _vals, strict=True):
        CLAIMS.append(
            claim(
                f"appD.{_name}.{_col}",
                "App. D",
                f"{_name}: " + {"chi": f"χ ∼ 10^{_v}", "conc": f"conc = {_v}", "alpha": f"α = {_v}"}[_col],
                _v if _col != "chi" else _v,
                form="count" if _col == "chi" else "point",
                d=None if _col == "chi" else 2,
                files=("conv_gap_v2",),
                selection="conv_gap_v2 record by name; sel. E (median, placeholder excluded, round)",
                measure=_measure(_name, _col),
                perturb=_perturb(_name, _col, _v),
                tolerance="exponent exact: round(log10 median χ) (sel. E)" if _col == "chi" else None,
            )
        )


def _l2(b: Bundle, ctx: Context) -> Measure:
    rec = raw_record(b, "conv_gap_v2", "layer2.0.conv1")
    return Measure(
        slope_of(rec), "conv_gap_v2 → layer2.0.conv1: OLS slope of log χ on log σ", ["conv_gap_v2/layer2.0.conv1"]
    )


def _l2_perturb(docs, out):
    r = v2_record(docs, "layer2.0.conv1")
    if out.verdict == "holds":
        r["h_kron"] = [he / 1e5 if he > 0 else v for he, v in zip(r["h_exact"], r["h_kron"], strict=True)]
    else:
        r["h_kron"] = [v * s**1.0 for v, s in zip(r["h_kron"], r["sigma"], strict=True)]


CLAIMS.append(
    claim(
        "appD.layer2.0.conv1.slope_nonneg",
        "App. D",
        "layer2.0.conv1 (α = 2.57) reflects non-negligible d log χ/d log σ",
        "|slope| > {exponent}",
        form="pred",
        files=("conv_gap_v2",),
        selection="conv_gap_v2 layer2.0.conv1",
        measure=_l2,
        test=lambda v, ctx: abs(v) > ctx.bands.exponent,
        tolerance="|slope| > {exponent} (the band of §3.2)",
        perturb=_l2_perturb,
    )
)
