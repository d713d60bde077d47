"""Abstract and Introduction: the α laws by layer type, the transfer-relation headline (93 layers, ≈2 %
median error; 89 in the Introduction), the PR_h range, the architecture/dataset count, and the NO DATA
entry of the Abstract's optimizer sentence."""

from __future__ import annotations

from ..bundle import Bundle
from ..checks import Measure, all_ok, claim, law, nodata
from ..context import Context
from ..layertypes import TRIANGLE_META
from ..measures.laws import alpha_perturb, first_network, per_network, population, row_units, uncertainty_of
from ..measures.participation import pr_range, pr_range_perturb
from ..measures.transfer import POOLED, count_perturb, median_perturb, pooled
from ..model import LAW, Candidate
from ..perturb import flip, rec_from_ref, set_alpha, set_relerr
from ..selections import SEL_J, sel_j
from ..stats import median
from ..uncertainty.judge import Group, Region, Unit, band, below
from ..uncertainty.resample import rows_median

CLAIMS = []

# -- α by layer type (laws, CLAIMS.md §3.2) ---------------------------------------------------------------
CLAIMS.append(
    law(
        "abs.alpha.conv_approx2",
        "Abstract; Intro; §3",
        'convolutional layers have α ≈ 2 ("universally")',
        "≈ 2",
        selection="per network (every file with conv/downsample layers): median α of its conv layers",
        measure=per_network(
            ("conv", "downsample"),
            lambda L: median(x.alpha for x in L),
            lambda v, ctx: abs(v - 2) <= ctx.bands.exponent,
            "median conv α",
            region=lambda ctx: band(2.0, ctx.bands.exponent),
            rows=rows_median,
        ),
        test=all_ok,
        tolerance="|median α − 2| ≤ {exponent} in every network (band §3.2, configurable)",
        perturb=alpha_perturb(1.6, 2.0),
    )
)

CLAIMS.append(
    law(
        "abs.alpha.attention_approx1",
        "Abstract; §3; §7.3",
        "attention layers have α ≈ 1",
        "≈ 1",
        selection="per network with attn_qkv/attn_proj layers: median α",
        measure=per_network(
            ("attn_qkv", "attn_proj"),
            lambda L: median(x.alpha for x in L),
            lambda v, ctx: abs(v - 1) <= ctx.bands.exponent,
            "median attention α",
            region=lambda ctx: band(1.0, ctx.bands.exponent),
            rows=rows_median,
        ),
        test=all_ok,
        tolerance="|median α − 1| ≤ {exponent} in every network",
        perturb=alpha_perturb(2.0, 1.0),
    )
)


def _up(b: Bundle, ctx: Context) -> Measure:
    """MLP up-projections: sel. J rule 2 plus the project's mlp_up layers."""
    recs = sel_j(b, 2)
    proj_rows = [(n, x) for n in population(b, ("project",)) for x in n.of_type("mlp_up")]
    proj = [(n.label, x) for n, x in proj_rows]
    rows = recs + proj
    if not rows:
        return Measure(None, "no mlp_up layer in any file")
    cands = []
    for r in (1, 3, 4):
        rr = sel_j(b, r)
        if rr:
            cands.append(
                Candidate(
                    f"sel. J{r}: {SEL_J[r]}: (# α < 1, n, median)",
                    (sum(x.alpha < 1 for _, x in rr), len(rr), round(median(x.alpha for _, x in rr), 3)),
                    len(rr),
                )
            )
    fq = [(lbl, x) for lbl, x in recs if x.r2 >= 0.9]
    cands.append(Candidate("sel. J2 with fit filter R² ≥ 0.9", (sum(x.alpha < 1 for _, x in fq), len(fq)), len(fq)))
    viol = [f"{lbl}/{x.name}: α = {x.alpha:.3f}" for lbl, x in rows if not x.alpha < 1]
    units, used = row_units(b, ctx, proj_rows, lambda x: x.alpha, lambda x: x.alpha < 1, below(1.0))
    frozen = [Unit.frozen(f"{lbl}/{x.name}", x.alpha, x.alpha < 1, below(1.0), lbl) for lbl, x in recs]
    return Measure(
        (sum(x.alpha < 1 for _, x in rows), len(rows), round(median(x.alpha for _, x in rows), 4)),
        "sel. J2 (GPT-2 up-projections: LM ablation, triangle, intrinsic-dim) + project mlp_up layers",
        [f"{lbl}/{x.name}" for lbl, x in rows],
        cands,
        violators=viol,
        notes=["value = (# records with α < 1, n, median α)"]
        + (["interval verdict: every record's α < 1 (which implies median < 1)"] if used else []),
        uncertainty=uncertainty_of(b, Group("records", "every", frozen + units), used, False),
    )


def _all_up_to(alpha):
    def go(docs, out):
        for r in out.records:
            set_alpha(rec_from_ref(docs, r), alpha)

    return go


CLAIMS.append(
    law(
        "abs.alpha.mlp_up_lt1",
        "Abstract (§6.2 ≈0.8, Table 2 0.84)",
        "MLP up-projections have α < 1",
        "< 1",
        selection="sel. J rule 2 (+ project mlp_up layers): every record < 1 and the median < 1",
        measure=_up,
        test=lambda v, ctx: v[0] == v[1] and v[2] < 1,
        tolerance="strict: every α < 1 and median < 1",
        perturb=flip(
            lambda d, o: set_alpha(rec_from_ref(d, o.records[0]), 1.5),
            _all_up_to(0.8),
        ),
    )
)

# -- the transfer relation s = αγ: 93 pooled layers, ≈2 % median error ---------------------------------------
#: every layer type with a transfer error (the law reading is judged per network over all of them)
ALL_TYPES = ("conv", "downsample", "dense", "head", "attn_qkv", "attn_proj", "mlp_up", "mlp_down", "patch_embed")

CLAIMS += [
    claim(
        "abs.triangle.n_layers",
        "Abstract; Remark 2(iii); Fig. 2",
        "s = αγ tested on 93 layers",
        93,
        form="count",
        files=POOLED,
        selection="count of rows with a rel err in alpha_triangle + tiny + in1k",
        measure=pooled("n"),
        perturb=count_perturb("tiny", 93),
    ),
    claim(
        "intro.triangle.n_layers",
        "Intro (contribution 2)",
        "s = αγ across 89 layers",
        89,
        form="count",
        files=POOLED,
        selection="all rows of the three files (x-ref: 93)",
        measure=pooled("n"),
        perturb=count_perturb("tiny", 89),
    ),
    claim(
        "abs.triangle.median_err_93",
        "Abstract",
        "s = αγ holds to ≈2 % median error across 93 layers",
        2.0,
        form="point",
        d=0,
        files=POOLED,
        selection="all pooled rows; round(100·median) == 2",
        measure=pooled("median"),
        perturb=median_perturb(2.0),
    ),
]


def _relerr_perturb():
    return flip(
        lambda d, o: [set_relerr(rec_from_ref(d, r), 0.2) for r in first_network(o.records)] and None,
        lambda d, o: [set_relerr(rec_from_ref(d, r), 0.01) for r in o.records] and None,
    )


CLAIMS.append(
    law(
        "abs.triangle.median_err_93.law",
        "Abstract (law reading)",
        "s = αγ holds to ≈2 % median relative error (in any network)",
        "≈2 %",
        selection="per network with transfer errors (alpha_triangle blocks, tiny, in1k, project): median rel err",
        measure=per_network(
            ALL_TYPES,
            lambda L: 100 * median(x.relerr for x in L),
            lambda v, ctx: round(v) <= 2,
            "median rel err (%)",
            keys=("alpha_triangle", "tiny", "in1k", "project"),
            value=lambda x: x.relerr,
            region=lambda ctx: below(2.5, strict=False),  # round(x) ≤ 2 (half to even) ⇔ x ≤ 2.5
            rows=lambda m: 100 * rows_median(m),
        ),
        test=all_ok,
        tolerance="round(100·median) ≤ 2 in every network",
        perturb=_relerr_perturb(),
    )
)

# -- participation ratio PR_h ∈ [1.0, 1.8] ---------------------------------------------------------------------
CLAIMS.append(
    claim(
        "abs.pr_h.range",
        "Abstract; Intro item 3",
        "curvature participation ratio PR_h in {printed}",
        (1.0, 1.8),
        form="range",
        d=1,
        files=("intrinsic_dim",),
        selection="sel. D1: ResNet + GPT-2 intrinsic-dim rows",
        kind=LAW,
        measure=pr_range("pr_h"),
        perturb=pr_range_perturb("pr_h", 1.0, 1.8),
    )
)


def _pr_perturb():
    def set_pr(docs, refs, v):
        for r in refs:
            rec_from_ref(docs, r)["eff_rank_curvature_pr"] = v

    return flip(lambda d, o: set_pr(d, first_network(o.records), 5.0), lambda d, o: set_pr(d, o.records, 1.2))


CLAIMS.append(
    law(
        "abs.pr_h.range.law",
        "Abstract; §7 (law reading)",
        "PR_h ∈ [1.0, 1.8] (in any network)",
        "[1.0, 1.8]",
        selection="per network with a PR_h (intrinsic_dim blocks incl. scaling_test; project files: PR of the positive h)",
        measure=per_network(
            ALL_TYPES,
            lambda L: sum(0.95 <= x.pr_h < 1.85 for x in L) / len(L),
            lambda v, ctx: v == 1.0,
            "fraction of layers with round(PR_h, 1) in [1.0, 1.8]",
            keys=("intrinsic_dim", "project"),
            value=lambda x: x.pr_h,
            region=lambda ctx: Region(1.0, 1.0),
            each=lambda ctx: Region(0.95, 1.85, hi_open=True),  # round(PR_h, 1) ∈ [1.0, 1.8]
        ),
        test=all_ok,
        tolerance="every layer of every network",
        perturb=_pr_perturb(),
    )
)


# -- 5 architectures, 3 datasets -------------------------------------------------------------------------------
def _norm(name: str) -> str:
    """A model or dataset name without its parenthesised qualifier ("ResNet-50 (IMAGENET1K_V1)" → "ResNet-50")."""
    return name.split(" (")[0].strip()


def _archs(b: Bundle, ctx: Context) -> Measure:
    groups = set()
    if b.has("alpha_triangle"):
        for blk in b.need("alpha_triangle").items():
            arch, ds, _ = TRIANGLE_META[blk["experiment"].str()]
            groups.add((arch, ds))
    for key in ("tiny", "in1k"):
        if b.has(key):
            n = b.need(key)
            groups.add((_norm(n["model"].str()), _norm(n["dataset"].str())))
    archs = {a for a, _ in groups}
    dss = {d for _, d in groups}
    real = {d for d in dss if "synthetic" not in d}
    return Measure(
        (len(archs), len(dss)),
        "alpha_triangle (dataset from the paper), tiny and in1k model/dataset metadata",
        sorted(f"{a} / {d}" for a, d in groups),
        [
            Candidate("(arch, dataset) groups", len(groups), None),
            Candidate("real datasets only", len(real), None),
            Candidate("architectures", sorted(archs), None),
            Candidate("datasets", sorted(dss), None),
        ],
        [
            "alpha_triangle has no dataset field: ResNet-18/VGG-11 = CIFAR-10 (Table 1), GPT-2 = synthetic LM (Table 2 caption)"
        ],
    )


def _archs_perturb(docs, out):
    if out.verdict == "holds":
        docs["tiny"]["model"] = "ResNet-18"
    else:
        docs["tiny"]["model"] = "WideResNet-50"
        docs["in1k"]["dataset"] = docs["tiny"]["dataset"]


CLAIMS.append(
    claim(
        "abs.triangle.n_arch_n_datasets",
        "Abstract; Remark 2",
        "{printed}",
        "5 architectures, 3 datasets",
        form="pred",
        files=("alpha_triangle", "tiny", "in1k"),
        selection="distinct architectures and distinct datasets (synthetic LM counted)",
        measure=_archs,
        test=lambda v, ctx: tuple(v) == (5, 3),
        tolerance="exact",
        perturb=_archs_perturb,
    )
)

# -- NO DATA -----------------------------------------------------------------------------------------------------
CLAIMS.append(
    nodata(
        "abs.sn.outperforms_adamw",
        "Abstract; §7.3; §8",
        "Spectral Newton beats AdamW where α ≈ 2",
        "SN > AdamW",
        kind=LAW,
        nearest="t3.law.sn_outperforms_adamw judges SN vs AdamW on the project's comparison files "
        "(without the α ≈ 2 qualifier, which no comparison file measures per layer at the end of training)",
    )
)
