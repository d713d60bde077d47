r"""§7 and the Abstract: participation-ratio ranges (sel. D), the width change, the ζ bound
:math:`\zeta(p)^2/\zeta(2p)` (Prop. 9), its consistency with the data, α_weight < s (PROXY),
and the Fig. 6 correlations (recomputed from conv_gap_v2)."""

from __future__ import annotations

import numpy as np

from ..checks import Measure, claim, law, ref
from ..lawcheck import population
from ..model import Candidate
from ..perturb import block, flip, rec_from_ref, set_alpha
from ..records import network, networks
from ..selections import SEL_D, sel_d

CLAIMS = []


def zeta_bound(p: float) -> float:
    r""":math:`\zeta(p)^2/\zeta(2p)` (mpmath; defined for p > 1)."""
    import mpmath

    return float(mpmath.zeta(p) ** 2 / mpmath.zeta(2 * p))


# -- PR ranges ---------------------------------------------------------------------------------
FIELD = {"pr_h": lambda x: x.pr_h, "pr_grad": lambda x: x.extra["pr_grad"]}


def _range(field):
    def measure(b):
        f = FIELD[field]
        L = sel_d(b, 1)
        cands = [
            Candidate(
                f"sel. D{r}: {SEL_D[r]}",
                (min(map(f, sel_d(b, r))), max(map(f, sel_d(b, r)))),
                len(sel_d(b, r)),
                same=True,
            )
            for r in SEL_D
            if r != 1
        ]
        lo, hi = min(L, key=f), max(L, key=f)
        joint = []
        for r in SEL_D:
            h = sel_d(b, r)
            a1, b1 = min(x.pr_h for x in h), max(x.pr_h for x in h)
            a2, b2 = min(x.extra["pr_grad"] for x in h), max(x.extra["pr_grad"] for x in h)
            if round(a1, 1) == 1.0 and round(b1, 1) == 1.8 and round(a2, 1) == 1.8 and round(b2) == 58:
                joint.append(r)
        return Measure(
            (f(lo), f(hi)),
            f"intrinsic_dim → [resnet, gpt2].results[].{'eff_rank_curvature_pr' if field == 'pr_h' else 'eff_rank_gradient_pr'} (sel. D1)",
            [f"intrinsic_dim[{x.block}]/{x.name}" for x in L],
            cands,
            [
                f"min at {lo.block}/{lo.name}, max at {hi.block}/{hi.name}; PR cannot be recomputed (only top-5 σ, h stored)",
                f"joint check of PR_h ∈ [1.0, 1.8] and PR_grad ∈ [1.8, 58]: reproduced by sel. D rules {joint or 'none'}",
            ],
        )

    return measure


def _range_perturb(field, lo, hi):
    key = "eff_rank_curvature_pr" if field == "pr_h" else "eff_rank_gradient_pr"

    def away(docs, out):
        rec_from_ref(docs, out.records[0])[key] = hi + 5

    def toward(docs, out):
        recs = [rec_from_ref(docs, r) for r in out.records]
        for r in recs:
            r[key] = min(max(r[key], lo), hi)
        recs[0][key], recs[-1][key] = lo, hi

    return flip(away, toward)


for _cid, _loc, _f, _p, _d in (
    ("abs.pr_h.range", "Abstract; Intro item 3", "pr_h", (1.0, 1.8), 1),
    ("s7.pr_h.range", "§7", "pr_h", (1.0, 1.8), 1),
):
    CLAIMS.append(
        claim(
            _cid,
            _loc,
            "curvature participation ratio PR_h in {printed}",
            _p,
            form="range",
            d=_d,
            files=("intrinsic_dim",),
            selection="sel. D1: ResNet + GPT-2 intrinsic-dim rows",
            kind="law",
            measure=_range(_f),
            perturb=_range_perturb(_f, *_p),
        )
    )


def _grad_test(v):
    from ..tolerance import point

    return point(v[0], 1.8, 1) and point(v[1], 58, 0)


CLAIMS.append(
    claim(
        "s7.pr_grad.range",
        "§7",
        "gradient participation ratio PR_grad in {printed}",
        (1.8, 58),
        form="pred",
        d=1,
        files=("intrinsic_dim",),
        selection="sel. D1: ResNet + GPT-2 intrinsic-dim rows",
        kind="law",
        measure=_range("pr_grad"),
        test=_grad_test,
        tolerance="round(min, 1) = 1.8 and round(max, 0) = 58",
        perturb=_range_perturb("pr_grad", 1.8, 58),
    )
)


# -- width 64 → 512 ---------------------------------------------------------------------------
def _width(b):
    L = network(b, "intrinsic_dim", "intrinsic_dim[scaling_test]").layers
    by = {}
    for x in L:
        if "width" not in x.extra:
            raise b.need("intrinsic_dim").error(f"scaling_test record {x.name} has no width")
        by[int(x.extra["width"])] = x
    for w in (64, 512):
        if w not in by:
            raise b.need("intrinsic_dim").error(
                f"no scaling_test record with width {w}", "$[experiment=scaling_test].results[width]"
            )
    pr = [x.pr_h for x in L]
    return Measure(
        by[512].pr_h - by[64].pr_h,
        "intrinsic_dim → [scaling_test].results[width ∈ {64, 512}] (selected by width)",
        [f"intrinsic_dim[scaling_test]/{by[w].name}" for w in (64, 512)],
        [
            Candidate("max − min over all widths", max(pr) - min(pr), len(pr), same=True),
            Candidate(
                "from the rounded parts round(w512,1) − round(w64,1)", round(by[512].pr_h, 1) - round(by[64].pr_h, 1), 2
            ),
        ],
    )


def _sc(docs, width):
    return next(
        r for r in block(docs["intrinsic_dim"], "experiment", "scaling_test")["results"] if r.get("width") == width
    )


CLAIMS.append(
    claim(
        "s7.pr.width_delta",
        "§7",
        "width 64 → 512 changes PR by only 0.7",
        0.7,
        form="point",
        d=1,
        files=("intrinsic_dim",),
        selection="PR_h(w512) − PR_h(w64), selected by width (stated)",
        measure=_width,
        perturb=flip(
            lambda d, o: _sc(d, 512).__setitem__("eff_rank_curvature_pr", _sc(d, 512)["eff_rank_curvature_pr"] + 0.3),
            lambda d, o: _sc(d, 512).__setitem__("eff_rank_curvature_pr", _sc(d, 64)["eff_rank_curvature_pr"] + 0.7),
        ),
    )
)


# -- ζ bound at αγ = 2 (analytic) ----------------------------------------------------------------
def _zeta2(b):
    return Measure(zeta_bound(2.0), "ζ(2)²/ζ(4) (mpmath; = 5/2 exactly)", [])


CLAIMS.append(
    claim(
        "s7.zeta_bound.ag2",
        "§7 (Prop. 9)",
        "PR_h ≲ 2.5 at αγ = 2",
        2.5,
        form="point",
        d=1,
        files=(),
        selection="analytic: ζ(2)²/ζ(4)",
        measure=_zeta2,
        perturb=None,
        data="analytic",
    )
)


# -- consistency of the data with the ζ bound -------------------------------------------------------
def _zeta_cons(b):
    rows = []
    for n in population(b, ("intrinsic_dim", "project")):
        for x in n.layers:
            ag = x.extra.get("alpha_gamma_product", x.alpha * x.gamma)
            if ag == ag and ag > 1 and x.pr_h == x.pr_h:
                rows.append((n, x, ag, zeta_bound(ag)))
    if not rows:
        return Measure(None, "no layer with αγ > 1 and a PR_h")
    viol = [f"{ref(n, x)}: αγ = {ag:.2f}, PR_h = {x.pr_h:.2f} > bound {bd:.2f}" for n, x, ag, bd in rows if x.pr_h > bd]
    nost = [r for r in rows if r[0].label != "intrinsic_dim[scaling_test]"]
    return Measure(
        (sum(x.pr_h <= bd for _, x, _, bd in rows), len(rows)),
        "intrinsic_dim (+ project) rows with αγ > 1: PR_h ≤ ζ(αγ)²/ζ(2αγ)",
        [ref(n, x) for n, x, *_ in rows],
        [
            Candidate(
                "without scaling_test: (# within bound, n)",
                (sum(x.pr_h <= bd for _, x, _, bd in nost), len(nost)),
                len(nost),
            )
        ],
        violators=viol,
        notes=["value = (# rows within the bound, n)"],
    )


def _zeta_perturb(docs, out):
    for r in out.records:
        rec = rec_from_ref(docs, r)
        rec["eff_rank_curvature_pr"] = 1.0 if out.verdict != "holds" else 50.0


CLAIMS.append(
    law(
        "s7.zeta_consistency",
        "§7 (Prop. 9)",
        "PRs are consistent with the zeta-function bound",
        "PR_h ≤ ζ(αγ)²/ζ(2αγ)",
        selection="every row with αγ > 1 (intrinsic_dim alpha_gamma_product; project: refit α·γ)",
        measure=_zeta_cons,
        test=lambda v: v[0] == v[1],
        tolerance="every row within the bound (no slack)",
        perturb=_zeta_perturb,
    )
)


# -- α_weight < s (PROXY: s_weight) ----------------------------------------------------------------
def _htsr(b):
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
        test=lambda v: v[0] == v[1],
        tolerance="strict, every row",
        perturb=_htsr_perturb,
        files=("alpha_triangle",),
        data="proxy",
    )
)


# -- Fig. 6 correlations -------------------------------------------------------------------------
def _corr(which):
    def measure(b):
        root = b.need("conv_gap_v2")
        net = networks(b, "conv_gap_v2")[0]
        rows = []
        for rec in [*root["conv_results"].items(), root["fc_result"]]:
            nm = rec["name"].str()
            conc = float(np.median(rec["h_sum_of_products"].arr() / rec["h_product_of_sums"].arr()))
            lay = net.by_name(nm)
            rows.append((nm, lay.type, abs(lay.alpha - 2), abs(1 - conc), lay.r2))

        def r(rs):
            x = [t[2] for t in rs]
            y = [t[3] if which == "slack" else t[4] for t in rs]
            return float(np.corrcoef(x, y)[0, 1])

        conv = [t for t in rows if t[1] != "head"]
        cands = [Candidate("including fc_result (caption: + FC control)", r(rows), len(rows), same=True)]
        if b.has("kfac_prediction"):
            k = b.need("kfac_prediction")
            sv = k["corr_alpha_gap_vs_kronecker_slack" if which == "slack" else "corr_alpha_gap_vs_r2_h_sigma"]
            cands.append(Candidate(f"kfac_prediction {sv.path}", sv.num(), k["n_layers"].int(), same=True))
        notes = []
        if b.has("kfac_prediction"):
            names_k = [lay["name"].str() for lay in b.need("kfac_prediction")["layers"].items()]
            if "fc" not in names_k:
                notes.append("the FC control named in the caption is absent from kfac_prediction (the plotted file)")
        return Measure(
            r(conv),
            "conv_gap_v2: |alpha_exact − 2| vs "
            + ("|1 − median concentration_ratio|" if which == "slack" else "r2_exact")
            + ", conv layers (refit α, R²)",
            [f"conv_gap_v2/{t[0]}" for t in conv],
            cands,
            notes,
        )

    return measure


def _corr_perturb(docs, out):
    recs = docs["conv_gap_v2"]["conv_results"]
    if out.verdict == "holds":  # invert the relation: α gap large where it was small
        for i, rec in enumerate(recs):
            set_alpha(rec, 2.0 + (0.1 if i % 2 else 1.0))
    else:
        for rec in recs:
            set_alpha(rec, 2.0)


CLAIMS += [
    claim(
        "fig6.corr_slack",
        "Fig. 6",
        "α gap vs Kronecker slack: r = 0.48",
        0.48,
        form="point",
        d=2,
        files=("conv_gap_v2",),
        selection="Pearson r over the conv layers of conv_gap_v2 (recomputed)",
        measure=_corr("slack"),
        perturb=_corr_perturb,
    ),
    claim(
        "fig6.corr_r2",
        "Fig. 6",
        "α gap vs R²(h, σ): r = 0.27",
        0.27,
        form="point",
        d=2,
        files=("conv_gap_v2",),
        selection="Pearson r over the conv layers of conv_gap_v2 (recomputed)",
        measure=_corr("r2"),
        perturb=_corr_perturb,
    ),
]
