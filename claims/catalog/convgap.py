r"""App. D and §6.4, the conv gap: per layer the alignment ratio :math:`\chi_k=h^{\rm exact}_k/h^{\rm Kron}_k`,
the concentration ratio SoP/PoS and :math:`\alpha_{\rm exact}`, recomputed from conv_gap_v2's arrays
(sel. E: per-layer median, one statistic for all rows; the FC placeholder direction with
:math:`h^{\rm exact}\le 0` is excluded from χ). Laws are also evaluated on project files that store
``kron.chi`` / ``kron.concentration_ratio``."""

from __future__ import annotations

import math

import numpy as np

from theory.fits import ols

from ..checks import Measure, claim, law
from ..model import Candidate
from ..perturb import flip, named, set_alpha, shift_alpha
from ..records import final_checkpoints, networks
from ..tolerance import BANDS

CLAIMS = []


def _raw(b, key, name):
    root = b.need(key)
    fc = root["fc_result"]
    return fc if fc["name"].str() == name else root["conv_results"].where("name", name)


def chi_of(rec) -> tuple[np.ndarray, np.ndarray, int]:
    """χ_k = h_exact/h_kron on directions with h_exact > 0 and h_kron > 0; returns (χ, σ, #excluded)."""
    h, hk, s = rec["h_exact"].arr(), rec["h_kron" if rec.has("h_kron") else "h_kron_kfc"].arr(), rec["sigma"].arr()
    ok = (h > 0) & (hk > 0) & (s > 0)
    return h[ok] / hk[ok], s[ok], int((~ok).sum())


def conc_of(rec, how="median") -> float:
    r = rec["h_sum_of_products"].arr() / rec["h_product_of_sums"].arr()
    return float(np.median(r) if how == "median" else np.mean(r))


def slope_of(rec) -> float:
    chi, s, _ = chi_of(rec)
    return ols(np.log(s), np.log(chi)).slope


ROWS = {
    "conv1": (7, 0.88, 1.99),
    "layer2.0.conv1": (5, 0.98, 2.57),
    "layer4.0.conv2": (3, 0.59, 2.23),
    "fc": (4, 0.88, 1.64),
}


def _measure(name, col):
    def measure(b):
        rec = _raw(b, "conv_gap_v2", name)
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


def _rec(d, name):
    v2 = d["conv_gap_v2"]
    return v2["fc_result"] if v2["fc_result"]["name"] == name else named(v2["conv_results"], name)


def _perturb(name, col, printed):
    if col == "alpha":
        return flip(lambda d, o: shift_alpha(_rec(d, name), 0.1), lambda d, o: set_alpha(_rec(d, name), printed))
    if col == "conc":

        def scale(d, c):
            r = _rec(d, name)
            r["h_sum_of_products"] = [v * c for v in r["h_sum_of_products"]]

        return flip(lambda d, o: scale(d, 1.2), lambda d, o: scale(d, printed / o.measured))

    def chi(d, e):
        r = _rec(d, name)
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


# -- laws (§6.4) -------------------------------------------------------------------------------
def _conv_layers(b):
    """(label, name, χ array, σ array, conc ratios) for every conv layer with Kronecker data."""
    out = []
    for key in ("conv_gap_v2",):
        if b.has(key):
            root = b.need(key)
            for rec in root["conv_results"].items():
                chi, s, _ = chi_of(rec)
                conc = rec["h_sum_of_products"].arr() / rec["h_product_of_sums"].arr()
                out.append((key, rec["name"].str(), chi, s, conc))
    for n in final_checkpoints(networks(b, "project")):
        for x in n.of_type("conv", "downsample"):
            k = x.extra.get("kron")
            if k is not None and k.has("chi"):
                chi = k["chi"].arr()
                ok = np.isfinite(chi) & (chi > 0) & (x.extra["sigma"] > 0)
                conc = k["concentration_ratio"].arr() if k.has("concentration_ratio") else np.array([])
                out.append((n.label, x.name, chi[ok], x.extra["sigma"][ok], conc[np.isfinite(conc)]))
    return out


BAND = BANDS["exponent"]
RATIO = BANDS["ratio"]


def _chi_range(b):
    L = _conv_layers(b)
    if not L:
        return Measure(None, "no conv layer with χ data")
    ex = [(lbl, nm, round(math.log10(float(np.median(c))))) for lbl, nm, c, *_ in L]
    viol = [f"{lbl}/{nm}: exponent {e}" for lbl, nm, e in ex if not 3 <= e <= 7]
    cands = []
    if b.has("conv_gap"):
        for rec in b.need("conv_gap")["conv_results"].items():
            c, _, _ = chi_of(rec)
            cands.append(
                Candidate(f"conv_gap (v1, kfc) {rec['name'].str()}", round(math.log10(float(np.median(c)))), c.size)
            )
    return Measure(
        (sum(3 <= e <= 7 for *_, e in ex), len(ex)),
        "conv_gap_v2 (+ project kron.chi): round(log10 median χ) per conv layer",
        [f"{lbl}/{nm}" for lbl, nm, *_ in L],
        cands,
        violators=viol,
        notes=["value = (# layers with exponent in 3..7, n)"],
    )


def _slopes(b):
    L = _conv_layers(b)
    if not L:
        return Measure(None, "no conv layer with χ data")
    sl = [(lbl, nm, ols(np.log(s), np.log(c)).slope) for lbl, nm, c, s, _ in L]
    good = sum(abs(v) <= BAND for *_, v in sl)
    cands = [Candidate(f"{lbl}/{nm} slope", v, None) for lbl, nm, v in sl]
    if b.has("conv_gap"):
        for rec in b.need("conv_gap")["conv_results"].items():
            cands.append(Candidate(f"conv_gap slope_cos2_kfc {rec['name'].str()}", rec["slope_cos2_kfc"].num(), None))
    return Measure(
        (good, len(sl)),
        "conv_gap_v2 (+ project): OLS slope of log(h_exact/h_kron) on log σ per conv layer",
        [f"{lbl}/{nm}" for lbl, nm, _ in sl],
        cands,
        violators=[f"{lbl}/{nm}: slope {v:+.3f}" for lbl, nm, v in sl if abs(v) > BAND],
        notes=["value = (# conv layers with |slope| ≤ band, n)"],
    )


def _concs(b):
    L = [t for t in _conv_layers(b) if t[4].size]
    if not L:
        return Measure(None, "no conv layer with concentration ratios")
    med = [(lbl, nm, float(np.median(c))) for lbl, nm, _, _, c in L]
    mean = [(lbl, nm, float(np.mean(c))) for lbl, nm, _, _, c in L]
    good = sum(abs(v - 1) <= RATIO for *_, v in med)
    return Measure(
        (good, len(med)),
        "conv_gap_v2 (+ project): per-layer median concentration_ratio (sel. E)",
        [f"{lbl}/{nm}" for lbl, nm, _ in med],
        [
            Candidate(
                "per-layer mean: (# within band, n)", (sum(abs(v - 1) <= RATIO for *_, v in mean), len(mean)), len(mean)
            )
        ]
        + [Candidate(f"{lbl}/{nm} median", v, None) for lbl, nm, v in med],
        violators=[f"{lbl}/{nm}: median ratio {v:.3f}" for lbl, nm, v in med if abs(v - 1) > RATIO],
        notes=["value = (# conv layers with |median ratio − 1| ≤ band, n)"],
    )


def _v2_conv(d):
    return d["conv_gap_v2"]["conv_results"]


def _chi_perturb(docs, out):
    for r in _v2_conv(docs):
        hk = r["h_kron"]
        if out.verdict == "holds":
            r["h_kron"] = [v * 1e-5 for v in hk]
        else:
            r["h_kron"] = [he / 1e5 if he > 0 else v for he, v in zip(r["h_exact"], hk, strict=True)]


def _slope_perturb(docs, out):
    for r in _v2_conv(docs):
        if out.verdict == "holds":
            r["h_kron"] = [v * s**1.0 for v, s in zip(r["h_kron"], r["sigma"], strict=True)]
        else:
            r["h_kron"] = [he / 1e4 if he > 0 else v for he, v in zip(r["h_exact"], r["h_kron"], strict=True)]


def _conc_perturb(docs, out):
    for r in _v2_conv(docs):
        r["h_sum_of_products"] = [p * (1.5 if out.verdict == "holds" else 1.0) for p in r["h_product_of_sums"]]


CLAIMS += [
    law(
        "s6.convgap.chi_range",
        "§6.4",
        "χ_k ∼ 10³–10⁷",
        "10^3–10^7",
        selection="every conv layer: round(log10 median χ) ∈ [3, 7]",
        measure=_chi_range,
        test=lambda v: v[0] == v[1],
        tolerance="exponent (round) in 3..7 for every conv layer",
        perturb=_chi_perturb,
    ),
    law(
        "s6.convgap.dlogchi_slope_approx0",
        "§6.4; App. D",
        "d log χ / d log σ ≈ 0 for most layers",
        "≈ 0",
        selection="OLS slope of log χ on log σ per conv layer",
        measure=_slopes,
        test=lambda v: v[0] > v[1] * BANDS["most"],
        tolerance=f"|slope| ≤ {BAND} for more than half of the conv layers",
        perturb=_slope_perturb,
    ),
    law(
        "s6.convgap.conc_ratio_approx1",
        "§6.4; §7.3",
        "SoP/PoS ≈ 1",
        "≈ 1",
        selection="per-layer median concentration ratio",
        measure=_concs,
        test=lambda v: v[0] > v[1] * BANDS["most"],
        tolerance=f"|median ratio − 1| ≤ {RATIO} for more than half of the conv layers",
        perturb=_conc_perturb,
    ),
]


def _l2(b):
    rec = _raw(b, "conv_gap_v2", "layer2.0.conv1")
    return Measure(
        slope_of(rec), "conv_gap_v2 → layer2.0.conv1: OLS slope of log χ on log σ", ["conv_gap_v2/layer2.0.conv1"]
    )


def _l2_perturb(docs, out):
    r = _rec(docs, "layer2.0.conv1")
    if out.verdict == "holds":
        r["h_kron"] = [he / 1e5 if he > 0 else v for he, v in zip(r["h_exact"], r["h_kron"], strict=True)]
    else:
        r["h_kron"] = [v * s**1.0 for v, s in zip(r["h_kron"], r["sigma"], strict=True)]


CLAIMS.append(
    claim(
        "appD.layer2.0.conv1.slope_nonneg",
        "App. D",
        "layer2.0.conv1 (α = 2.57) reflects non-negligible d log χ/d log σ",
        f"|slope| > {BAND}",
        form="pred",
        files=("conv_gap_v2",),
        selection="conv_gap_v2 layer2.0.conv1",
        measure=_l2,
        test=lambda v: abs(v) > BAND,
        tolerance=f"|slope| > {BAND} (the band of §3.2)",
        perturb=_l2_perturb,
    )
)
