r"""§7.1 The Alpha Triangle: the median relative transfer errors :math:`|s-\alpha\gamma|/s` per dataset and the
93-layer count (Theorem 7, Remark 2(i), (iii)), the boundary-layer breakdown (Remark 2), BIC's log-normal
preference (Remark 2(ii)) and the HT-SR connection :math:`\alpha_{\rm weight}<s` (Cor. 8, PROXY)."""

from __future__ import annotations

from ...bundle import Bundle
from ...checks import Measure, all_ok, claim, law
from ...context import Context
from ...measures.laws import population, row_units, uncertainty_of
from ...measures.rank_models import bic_unit, counts, refit_labels, rmt_phase, vgg_epoch
from ...measures.transfer import POOLED, cifar, count_perturb, median_perturb, pooled, single
from ...model import Candidate
from ...perturb import rec_from_ref, set_relerr
from ...records import Layer, Network, networks, ref
from ...replicates import groups
from ...uncertainty.judge import Group, Uncertainty, Unit, above

CLAIMS = [
    claim(
        "s7.cifar.triangle.median_err",
        "§7 (Remark 2(i))",
        "CIFAR-10 median relative transfer error 1.9 %",
        1.9,
        form="point",
        d=1,
        files=("alpha_triangle",),
        selection="alpha_triangle, rel err ≤ 10 % (sel. A2, stated); ×100",
        measure=cifar("median", 2),
        perturb=median_perturb(1.9),
    ),
    claim(
        "s7.tiny.triangle.median_err",
        "§7",
        "Tiny-ImageNet median relative transfer error 1.0 %",
        1.0,
        form="point",
        d=1,
        files=("tiny",),
        selection="tiny: all rows; ×100",
        measure=single("tiny", "median"),
        perturb=median_perturb(1.0),
    ),
    claim(
        "s7.in1k.triangle.median_err",
        "§7",
        "ImageNet-1K median relative transfer error 1.6 %",
        1.6,
        form="point",
        d=1,
        files=("in1k",),
        selection="in1k: all rows; ×100",
        measure=single("in1k", "median"),
        perturb=median_perturb(1.6),
    ),
    claim(
        "s7.triangle.n_layers",
        "§7",
        "93 layers",
        93,
        form="count",
        files=POOLED,
        selection="as abs.triangle.n_layers",
        measure=pooled("n"),
        perturb=count_perturb("tiny", 93),
    ),
]


# -- Remark 2: the identity breaks at boundary layers ---------------------------------------------------------
def _boundary(b: Bundle, ctx: Context) -> Measure:
    bnd: list[tuple[Network, Layer]] = []
    inner: list[tuple[Network, Layer]] = []
    for n in population(b, ("alpha_triangle", "tiny", "in1k", "project")):
        rows = [x for x in n.layers if x.relerr == x.relerr]
        convs = [x for x in rows if x.type in ("conv", "downsample")]
        first = convs[0].name if convs else None
        for x in rows:
            (bnd if (x.name == first or x.type == "head") else inner).append((n, x))
    if not bnd:
        return Measure(None, "no transfer errors in any file")
    fb = sum(x.relerr > 0.10 for _, x in bnd) / len(bnd)
    fi = sum(x.relerr > 0.10 for _, x in inner) / max(len(inner), 1)
    viol = [f"{ref(n, x)}: rel err {100 * x.relerr:.1f} % (boundary, holds)" for n, x in bnd if x.relerr <= 0.10]
    return Measure(
        (round(fb, 3), round(fi, 3)),
        "alpha_triangle + tiny + in1k (+ project): boundary = first conv + heads",
        [ref(n, x) for n, x in bnd],
        violators=viol,
        notes=["value = (fraction of boundary layers with rel err > 10 %, same for interior layers)"],
        uncertainty=_boundary_uncertainty(b, ctx, bnd, inner, fb - fi),
    )


def _boundary_uncertainty(b: Bundle, ctx: Context, bnd: list, inner: list, diff: float) -> Uncertainty | None:
    """Per layer "rel err > 10 %" with intervals; most boundary layers, and a larger share than the interior:
    the share difference's interval comes from the two count intervals (boundary low − interior high, …)."""

    def breaks(x: Layer) -> bool:
        return x.relerr > 0.10

    bu, used_b = row_units(b, ctx, bnd, lambda x: x.relerr, breaks, above(0.10))
    iu, used_i = row_units(b, ctx, inner, lambda x: x.relerr, breaks, above(0.10))
    gb, gi = Group("boundary layers with rel err > 10 %", "most", bu), Group("interior", "most", iu)
    (hb, ib, nb), (hi, ii, ni) = gb.counts(), gi.counts()
    ni = max(ni, 1)
    share = Unit(
        "share of boundary − share of interior layers with rel err > 10 %",
        diff,
        above(0.0),
        (hb / nb - (hi + ii) / ni, (hb + ib) / nb - hi / ni),
    )
    return uncertainty_of(
        b, Group("conditions", "every", [gb, share]), list({g.label: g for g in used_b + used_i}.values()), False
    )


def _boundary_perturb(docs, out):
    for r in out.records:
        set_relerr(rec_from_ref(docs, r), 0.01 if out.verdict == "holds" else 0.5)


CLAIMS.append(
    law(
        "add.triangle.boundary_breaks",
        "Remark 2; App. H",
        "the identity s = αγ breaks at boundary layers",
        "qualitative",
        selection="boundary = each network's first conv + head layers; breaks = rel err > 10 %",
        measure=_boundary,
        test=lambda v, ctx: v[0] > 0.5 and v[0] > v[1],
        tolerance="most (> half) boundary layers have rel err > 10 %, and a larger fraction than interior layers",
        perturb=_boundary_perturb,
    )
)


# -- Remark 2(ii): BIC selects log-normal over power law on most layers (every file with rank-profile data) ------
def _ln_most(b: Bundle, ctx: Context) -> Measure:
    pops: list[tuple[str, tuple]] = []
    if b.has("alpha_triangle"):
        labels = []
        for blk in b.need("alpha_triangle").items():
            labels += refit_labels(b, blk["results"])
        pops.append(("alpha_triangle (CIFAR, refit)", counts(labels)))
    if b.has("rmt"):
        for ph in ("phase_2a_init", "phase_1b_extended_trained"):
            pops.append((f"rmt {ph} (refit)", counts(refit_labels(b, rmt_phase(b, ph)["layers"]))))
    if b.has("vgg16"):
        last = max(t["epoch"].int() for t in b.need("vgg16")["trajectory"].items())
        pops.append(
            (
                f"vgg16 epoch {last} (labels)",
                counts(r["best_model_bic"].str() for r in vgg_epoch(b, last)["layers"].items()),
            )
        )
    if b.has("in1k"):
        pops.append(("in1k best_bic (labels)", counts(r["best_bic"].str() for r in b.need("in1k")["results"].items())))
    if b.has("kronecker"):
        pops.append(
            (
                "kronecker sigma_bic_best (labels)",
                counts(r["sigma_bic_best"].str() for r in b.need("kronecker")["layers"].items()),
            )
        )
    units = [Unit.frozen(p, c[2] - max(c[0], c[1]), c[2] > max(c[0], c[1]), above(0.0), p) for p, c in pops]
    used = []
    for g in groups(b):
        c, unit = bic_unit(b, ctx, g)
        pops.append((f"{g.label} (refit)", c))
        units.append(unit)
        used.append(g)
    if not pops:
        return Measure(None, "no rank-profile data")
    plural = [(p, c) for p, c in pops if c[2] > max(c[0], c[1])]
    pair = [(p, c) for p, c in pops if c[2] > sum(c) / 2]
    return Measure(
        (len(plural), len(pops)),
        "per file/population: log-normal is the plurality of BIC winners",
        [p for p, _ in pops],
        [Candidate(p, c, sum(c)) for p, c in pops]
        + [Candidate("LN a strict majority: (# populations, n)", (len(pair), len(pops)), None)],
        violators=[f"{p}: (PL, EXP, LN) = {c}" for p, c in pops if (p, c) not in plural],
        notes=["value = (# populations where LN is the plurality, n)"]
        + (
            ["project networks: (PL, EXP, LN) are winner shares × layers, averaged over seeds × batches"]
            if used
            else []
        ),
        uncertainty=uncertainty_of(b, Group("populations", "every", units), used, True),
    )


def _ln_perturb(docs, out):
    for r in docs["kronecker"]["layers"]:
        r["sigma_bic_best"] = "power_law" if out.verdict == "holds" else "lognormal"


CLAIMS.append(
    law(
        "add.bic.lognormal_most",
        "Remark 2(ii); §8; App. G",
        "BIC selects log-normal over power law on most layers",
        "LN plurality",
        selection="per file/population (alpha_triangle, rmt init/trained, vgg16 last epoch, in1k, kronecker, project files)",
        measure=_ln_most,
        test=all_ok,
        tolerance="log-normal is the plurality in every population",
        perturb=_ln_perturb,
    )
)


# -- Cor. 8: α_weight < s (PROXY: s_weight) ------------------------------------------------------------------
def _htsr(b: Bundle, ctx: Context) -> Measure:
    rows = []
    for n in networks(b, "alpha_triangle"):
        for rec in b.need("alpha_triangle").where("experiment", n.layers[0].block)["results"].items():
            rows.append((n, rec["name"].str(), rec["s_weight"].num(), n.by_name(rec["name"].str()).s))
    viol = [f"{n.label}/{nm}: s_weight = {sw:.3f} ≥ s = {s:.3f}" for n, nm, sw, s in rows if not sw < s]
    return Measure(
        (sum(sw < s for *_, sw, s in rows), len(rows)),
        "alpha_triangle → [*].results[].s_weight vs s (refit)",
        [f"{n.label}/{nm}" for n, nm, *_ in rows],
        violators=viol,
        notes=["PROXY: s_weight's meaning is undocumented; α_weight is undefined in the tex (G22)"],
    )


def _htsr_perturb(docs, out):
    for r in out.records:
        rec = rec_from_ref(docs, r)
        rec["s_weight"] = 100.0 if out.verdict == "holds" else 0.0


CLAIMS.append(
    law(
        "s7.htsr.alpha_weight_lt_s",
        "§7 (Cor. 8)",
        "α_weight < s consistently",
        "α_weight < s",
        selection="every alpha_triangle row: s_weight < s_hessian (refit)",
        measure=_htsr,
        test=all_ok,
        tolerance="strict, every row",
        perturb=_htsr_perturb,
        files=("alpha_triangle",),
        data="proxy",
    )
)
