"""§6 Architectural mechanisms: §6.2 the up-projection α ≈ 0.8, §6.3 few-class softmax heads (Prop. 6),
§6.4 the conv gap laws (χ range, d log χ / d log σ ≈ 0, SoP/PoS ≈ 1), §6.5 ViT-Tiny α ≈ 2 and the
output-dimension / task-structure shifts."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np

from theory.fits import ols

from ..bundle import Bundle
from ..checks import Measure, all_ok, claim, law, most
from ..context import Context
from ..measures.kronecker import chi_of, conv_layers, layer_arrays, project_conv, v2_conv
from ..measures.laws import alpha_perturb, population, row_units, uncertainty_of
from ..model import Candidate
from ..perturb import flip, named, set_alpha, shift_alpha
from ..records import Layer, network, networks, ref
from ..selections import SEL_J, sel_j
from ..stats import median
from ..uncertainty.judge import Group, Region, Unit, band, below
from ..uncertainty.units import layer_units

CLAIMS = []


# -- §6.2: up-projection α ≈ 0.8 -------------------------------------------------------------------
def _ablation(b: Bundle, grp: str, sub: str, name: str) -> Layer:
    return network(b, "hypothesis", f"hypothesis[{grp}.{sub}]").by_name(name)


def _up08(b: Bundle, ctx: Context) -> Measure:
    lay = _ablation(b, "task_structure", "GPT2_LM", "mlp_up")
    cands = []
    for r in (2, 3, 4):
        rr = sel_j(b, r)
        if rr:
            cands.append(
                Candidate(f"sel. J{r}: {SEL_J[r]}: median α", median(x.alpha for _, x in rr), len(rr), same=True)
            )
    return Measure(
        lay.alpha,
        "hypothesis → task_structure.GPT2_LM[mlp_up] (refit); sel. J1",
        ["hypothesis[task_structure.GPT2_LM]/mlp_up"],
        cands,
        ["x-ref: Table 2 prints 0.84, App. C 0.73"],
    )


def _lm_up(docs):
    return named(docs["hypothesis"]["task_structure"]["GPT2_LM"], "mlp_up")


CLAIMS.append(
    claim(
        "s6.mlp_up.alpha_approx0.8",
        "§6.2",
        "MLP up-projection α ≈ 0.8",
        0.8,
        form="point",
        d=1,
        files=("hypothesis",),
        selection="the GPT-2 LM ablation record at 1 dp (the law reading is abs.alpha.mlp_up_lt1)",
        measure=_up08,
        perturb=flip(lambda d, o: shift_alpha(_lm_up(d), 0.3), lambda d, o: set_alpha(_lm_up(d), 0.8)),
    )
)


# -- §6.3: few-class softmax heads have α < 2 (Prop. 6) -------------------------------------------------
def _classes(x: Layer) -> int:
    return int(x.shape[0]) if x.shape else -1


def _softmax(b: Bundle, ctx: Context) -> Measure:
    rows = [(n, x) for n in population(b) for x in n.of_type("head")]
    rows = [(n, x) for n, x in rows if n.task != "lm"]  # LM heads: vocabulary, not classes
    unfit = [f"{ref(n, x)}: α not fitted (no usable fit on its window)" for n, x in rows if not math.isfinite(x.alpha)]
    rows = [(n, x) for n, x in rows if math.isfinite(x.alpha)]  # an unfitted head is reported, not judged
    few = [(n, x) for n, x in rows if 0 < _classes(x) <= 10]
    if not few:
        return Measure(None, "no head with ≤ 10 classes and a fitted α in any file", notes=unfit)
    viol = [f"{ref(n, x)}: {_classes(x)} classes, α = {x.alpha:.3f}" for n, x in few if not x.alpha < 2]
    few200 = [(n, x) for n, x in rows if 0 < _classes(x) <= 200]
    many = [(n, x) for n, x in rows if _classes(x) > 200]
    cands = [
        Candidate("few = ≤ 200 classes: (# α < 2, n)", (sum(x.alpha < 2 for _, x in few200), len(few200)), len(few200)),
        Candidate("many (> 200 classes) with α > 2: (#, n)", (sum(x.alpha > 2 for _, x in many), len(many)), len(many)),
        Candidate("per head: classes → α", [f"{ref(n, x)}: {_classes(x)} → {x.alpha:.2f}" for n, x in rows], len(rows)),
    ]
    units, used = row_units(b, ctx, few, lambda x: x.alpha, lambda x: x.alpha < 2, below(2.0))
    return Measure(
        (sum(x.alpha < 2 for _, x in few), len(few)),
        "every classification head row (class count = shape[0]); few = ≤ 10",
        [ref(n, x) for n, x in few],
        cands,
        violators=viol,
        notes=["value = (# few-class heads with α < 2, # few-class heads); VGG classifier.0 is typed dense, not head"]
        + [f"not judged: {u}" for u in unfit],
        uncertainty=uncertainty_of(b, Group("few-class heads", "every", units), used, False),
    )


CLAIMS.append(
    law(
        "add.softmax.few_class_lt2",
        "§6.3 Prop. 6; §3; App. J.2",
        "few-class softmax heads have α < 2",
        "< 2",
        selection="every head with ≤ 10 classes (shape[0]); LM output heads excluded",
        measure=_softmax,
        test=all_ok,
        tolerance="strict: α < 2 for every head with ≤ 10 classes",
        perturb=alpha_perturb(2.5, 1.5),
    )
)


# -- §6.4: the conv gap laws --------------------------------------------------------------------------------
GapStat = Callable[[np.ndarray, np.ndarray, np.ndarray], float]  # (χ, σ, conc ratios) -> a layer's statistic


def _gap_rows(b: Bundle, ctx: Context, stat: GapStat, ok: Callable[[float], bool], region: Region, conc: bool = False):
    """Per conv layer with Kronecker data: (label, name, value) rows — conv_gap_v2's frozen, the project's the
    hierarchical mean over seeds × batches — and their judged units (project: with intervals)."""
    rows, units, used = [], [], []
    for lbl, nm, c, sg, cr in conv_layers(b):
        if conc and not cr.size:
            continue
        v = stat(c, sg, cr)
        rows.append((lbl, nm, v))
        units.append(Unit.frozen(f"{lbl}/{nm}", v, ok(v), region, lbl))
    for g, names in project_conv(b):
        names = [nm for nm in names if not conc or layer_arrays(g.point.by_name(nm))[2].size]
        if not names:
            continue
        lu = layer_units(b, ctx, g, names, lambda x: stat(*layer_arrays(x)), region)
        rows += [(g.label, nm, u.point) for nm, u in zip(names, lu, strict=True)]
        units += lu
        used.append(g)
    return rows, units, used


def _exponent(c: np.ndarray, s: np.ndarray, cr: np.ndarray) -> float:
    return math.log10(float(np.median(c))) if c.size else math.nan


def _slope(c: np.ndarray, s: np.ndarray, cr: np.ndarray) -> float:
    return ols(np.log(s), np.log(c)).slope if c.size >= 2 else math.nan


def _conc(c: np.ndarray, s: np.ndarray, cr: np.ndarray) -> float:
    return float(np.median(cr)) if cr.size else math.nan


def _chi_range(b: Bundle, ctx: Context) -> Measure:
    # round(log10 median χ) ∈ 3..7 ⇔ log10 median χ ∈ (2.5, 7.5) (up to half-to-even at the exact ends)
    rows, units, used = _gap_rows(b, ctx, _exponent, lambda v: 3 <= round(v) <= 7, Region(2.5, 7.5, True, True))
    if not rows:
        return Measure(None, "no conv layer with χ data")
    ex = [(lbl, nm, round(v)) for lbl, nm, v in rows]
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
        [f"{lbl}/{nm}" for lbl, nm, _ in rows],
        cands,
        violators=viol,
        notes=["value = (# layers with exponent in 3..7, n)"],
        uncertainty=uncertainty_of(b, Group("conv layers", "every", units), used, False),
    )


def _slopes(b: Bundle, ctx: Context) -> Measure:
    bd = ctx.bands.exponent
    sl, units, used = _gap_rows(b, ctx, _slope, lambda v: abs(v) <= bd, band(0.0, bd))
    if not sl:
        return Measure(None, "no conv layer with χ data")
    good = sum(abs(v) <= bd for *_, v in sl)
    cands = [Candidate(f"{lbl}/{nm} slope", v, None) for lbl, nm, v in sl]
    if b.has("conv_gap"):
        for rec in b.need("conv_gap")["conv_results"].items():
            cands.append(Candidate(f"conv_gap slope_cos2_kfc {rec['name'].str()}", rec["slope_cos2_kfc"].num(), None))
    return Measure(
        (good, len(sl)),
        "conv_gap_v2 (+ project): OLS slope of log(h_exact/h_kron) on log σ per conv layer",
        [f"{lbl}/{nm}" for lbl, nm, _ in sl],
        cands,
        violators=[f"{lbl}/{nm}: slope {v:+.3f}" for lbl, nm, v in sl if abs(v) > bd],
        notes=["value = (# conv layers with |slope| ≤ band, n)"],
        uncertainty=uncertainty_of(b, Group("conv layers", "most", units, ctx.bands.most), used, False),
    )


def _concs(b: Bundle, ctx: Context) -> Measure:
    ratio = ctx.bands.ratio
    med, units, used = _gap_rows(b, ctx, _conc, lambda v: abs(v - 1) <= ratio, band(1.0, ratio), conc=True)
    if not med:
        return Measure(None, "no conv layer with concentration ratios")
    mean = [(lbl, nm, float(np.mean(c))) for lbl, nm, _, _, c in conv_layers(b) if c.size]
    good = sum(abs(v - 1) <= ratio for *_, v in med)
    return Measure(
        (good, len(med)),
        "conv_gap_v2 (+ project): per-layer median concentration_ratio (sel. E)",
        [f"{lbl}/{nm}" for lbl, nm, _ in med],
        [
            Candidate(
                "conv_gap_v2 per-layer mean: (# within band, n)",
                (sum(abs(v - 1) <= ratio for *_, v in mean), len(mean)),
                len(mean),
            )
        ]
        + [Candidate(f"{lbl}/{nm} median", v, None) for lbl, nm, v in med],
        violators=[f"{lbl}/{nm}: median ratio {v:.3f}" for lbl, nm, v in med if abs(v - 1) > ratio],
        notes=["value = (# conv layers with |median ratio − 1| ≤ band, n)"],
        uncertainty=uncertainty_of(b, Group("conv layers", "most", units, ctx.bands.most), used, False),
    )


def _chi_perturb(docs, out):
    for r in v2_conv(docs):
        hk = r["h_kron"]
        if out.verdict == "holds":
            r["h_kron"] = [v * 1e-5 for v in hk]
        else:
            r["h_kron"] = [he / 1e5 if he > 0 else v for he, v in zip(r["h_exact"], hk, strict=True)]


def _slope_perturb(docs, out):
    for r in v2_conv(docs):
        if out.verdict == "holds":
            r["h_kron"] = [v * s**1.0 for v, s in zip(r["h_kron"], r["sigma"], strict=True)]
        else:
            r["h_kron"] = [he / 1e4 if he > 0 else v for he, v in zip(r["h_exact"], r["h_kron"], strict=True)]


def _conc_perturb(docs, out):
    for r in v2_conv(docs):
        r["h_sum_of_products"] = [p * (1.5 if out.verdict == "holds" else 1.0) for p in r["h_product_of_sums"]]


CLAIMS += [
    law(
        "s6.convgap.chi_range",
        "§6.4",
        "χ_k ∼ 10³–10⁷",
        "10^3–10^7",
        selection="every conv layer: round(log10 median χ) ∈ [3, 7]",
        measure=_chi_range,
        test=all_ok,
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
        test=most,
        tolerance="|slope| ≤ {exponent} for more than half of the conv layers",
        perturb=_slope_perturb,
    ),
    law(
        "s6.convgap.conc_ratio_approx1",
        "§6.4; §7.3",
        "SoP/PoS ≈ 1",
        "≈ 1",
        selection="per-layer median concentration ratio",
        measure=_concs,
        test=most,
        tolerance="|median ratio − 1| ≤ {ratio} for more than half of the conv layers",
        perturb=_conc_perturb,
    ),
]


# -- §6.5: ViT-Tiny on CIFAR-10 has α ≈ 2; output dimension and task structure --------------------------------
def _vit(b: Bundle, ctx: Context) -> Measure:
    band = ctx.bands.exponent
    (net,) = [n for n in networks(b, "predictions") if n.arch == "vit_tiny"]
    L = net.layers
    cands = [
        Candidate(
            "each layer within the band: (# ok, n)",
            (sum(abs(x.alpha - 2) <= band for x in L), len(L)),
            len(L),
            same=True,
        )
    ]
    if b.has("hypothesis"):
        h = network(b, "hypothesis", "hypothesis[output_dim.CIFAR-10]")
        cands.append(
            Candidate(
                "hypothesis CIFAR-10, all records incl. head: median", median(x.alpha for x in h.layers), len(h.layers)
            )
        )
        nh = [x for x in h.layers if x.type not in ("head", "patch_embed")]
        cands.append(
            Candidate(
                "hypothesis CIFAR-10 without head and patch embedding: median", median(x.alpha for x in nh), len(nh)
            )
        )
    return Measure(
        median(x.alpha for x in L),
        "predictions → [vit_tiny].results[] (refit): median α",
        [f"{net.label}/{x.name}" for x in L],
        cands,
        violators=[f"{x.name}: α = {x.alpha:.3f}" for x in L if abs(x.alpha - 2) > band],
    )


def _vit_perturb(docs, out):
    recs = next(b for b in docs["predictions"] if b["arch"] == "vit_tiny")["results"]
    for r in recs:
        if out.verdict == "holds":
            shift_alpha(r, 0.5)
        else:
            set_alpha(r, 2.0)


CLAIMS.append(
    law(
        "s6.vit.cifar10_alpha_approx2",
        "§6.5",
        "ViT-Tiny on CIFAR-10 has α ≈ 2 despite LayerNorm",
        "≈ 2",
        selection="predictions [vit_tiny], all records: median α (other files / per-layer readings in show)",
        measure=_vit,
        test=lambda v, ctx: abs(v - 2) <= ctx.bands.exponent,
        tolerance="|median α − 2| ≤ {exponent}",
        perturb=_vit_perturb,
        files=("predictions",),
    )
)


def _pairs(b: Bundle, ctx: Context) -> Measure:
    nets = {n.label: n for n in networks(b, "hypothesis")}
    vit10, vit100 = nets["hypothesis[output_dim.CIFAR-10]"], nets["hypothesis[output_dim.CIFAR-100]"]
    lm, cls = nets["hypothesis[task_structure.GPT2_LM]"], nets["hypothesis[task_structure.GPT2_Classification]"]
    printed = [("vit", "attn_qkv", -1), ("vit", "mlp_up", -1), ("gpt", "mlp_up", +1), ("gpt", "mlp_down", +1)]
    rows, allp = [], []
    for fam, (a, c), sign in [("vit", (vit10, vit100), -1), ("gpt", (lm, cls), +1)]:
        for x in a.layers:
            y = c.by_name(x.name)
            d = y.alpha - x.alpha
            allp.append((fam, x.name, d, (d < 0) if sign < 0 else (d > 0)))
    for fam, name, _sign in printed:
        (hit,) = [p for p in allp if p[0] == fam and p[1] == name]
        rows.append(hit)
    viol = [f"{f} {nm}: Δα = {d:+.3f}" for f, nm, d, ok in rows if not ok]
    refs = [f"{n.label}/{x.name}" for n in (vit10, vit100, lm, cls) for x in n.layers]
    return Measure(
        (sum(ok for *_, ok in rows), len(rows)),
        "hypothesis: ViT CIFAR-10 → CIFAR-100, GPT-2 LM → classification",
        refs,
        [
            Candidate(
                "all paired names: (# with the predicted sign, n)", (sum(p[3] for p in allp), len(allp)), len(allp)
            )
        ],
        violators=viol,
        notes=["value = (# printed layers whose Δα has the stated sign, n)"],
    )


def _pairs_perturb(docs, out):
    h = docs["hypothesis"]
    for nm in ("attn_qkv", "mlp_up"):
        set_alpha(
            next(r for r in h["output_dim"]["CIFAR-100"] if r["name"] == nm), 2.6 if out.verdict == "holds" else 1.5
        )
    for nm in ("mlp_up", "mlp_down"):
        set_alpha(
            next(r for r in h["task_structure"]["GPT2_Classification"] if r["name"] == nm),
            0.5 if out.verdict == "holds" else 1.9,
        )


CLAIMS.append(
    law(
        "add.output_dim_task",
        "§6.5; App. C",
        "CIFAR-10 → CIFAR-100 lowers ViT α; LM → classification raises GPT-2 α toward 2",
        "sign of Δα",
        selection="hypothesis: the printed layers (ViT attn_qkv, mlp_up; GPT-2 mlp_up, mlp_down)",
        measure=_pairs,
        test=all_ok,
        tolerance="sign of Δα per layer (strict)",
        perturb=_pairs_perturb,
        files=("hypothesis",),
    )
)
