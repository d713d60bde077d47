r"""§7.2 Near-rank-one curvature: the participation-ratio ranges (sel. D), the width change 64 → 512, the ζ
bound :math:`\zeta(p)^2/\zeta(2p)` at :math:`\alpha\gamma=2` (Theorem 9) and the data's consistency with it."""

from __future__ import annotations

from ...bundle import Bundle
from ...checks import Measure, all_ok, claim, law
from ...context import Context
from ...measures.laws import population, row_units, uncertainty_of
from ...measures.participation import exact_zeta_bound, pr_range, pr_range_perturb, zeta_bound
from ...model import LAW, Candidate
from ...perturb import block, flip, rec_from_ref
from ...records import Layer, network, ref
from ...tolerance import point
from ...uncertainty.judge import Group, below

CLAIMS = [
    claim(
        "s7.pr_h.range",
        "§7",
        "curvature participation ratio PR_h in {printed}",
        (1.0, 1.8),
        form="range",
        d=1,
        files=("intrinsic_dim",),
        selection="sel. D1: ResNet + GPT-2 intrinsic-dim rows",
        kind=LAW,
        measure=pr_range("pr_h"),
        perturb=pr_range_perturb("pr_h", 1.0, 1.8),
    ),
    claim(
        "s7.pr_grad.range",
        "§7",
        "gradient participation ratio PR_grad in {printed}",
        (1.8, 58),
        form="pred",
        d=1,
        files=("intrinsic_dim",),
        selection="sel. D1: ResNet + GPT-2 intrinsic-dim rows",
        kind=LAW,
        measure=pr_range("pr_grad"),
        test=lambda v, ctx: point(v[0], 1.8, 1) and point(v[1], 58, 0),
        tolerance="round(min, 1) = 1.8 and round(max, 0) = 58",
        perturb=pr_range_perturb("pr_grad", 1.8, 58),
    ),
]


# -- width 64 → 512 ---------------------------------------------------------------------------
def _width(b: Bundle, ctx: Context) -> Measure:
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


# -- the ζ bound at αγ = 2 (analytic) and the data's consistency with it ------------------------------------
def _zeta2(b: Bundle, ctx: Context) -> Measure:
    return Measure(exact_zeta_bound(2.0), "ζ(2)²/ζ(4) (mpmath; = 5/2 exactly)", [])


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


def _zeta_cons(b: Bundle, ctx: Context) -> Measure:
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
    units, used = row_units(b, ctx, [(n, x) for n, x, *_ in rows], _slack, lambda x: _slack(x) <= 0, below(0.0, False))
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
        notes=["value = (# rows within the bound, n)"]
        + (["project rows: PR_h − bound per seed × batch (a cell with αγ ≤ 1 is left out)"] if used else []),
        uncertainty=uncertainty_of(b, Group("rows", "every", units), used, False),
    )


def _slack(x: Layer) -> float:
    """PR_h − ζ(αγ)²/ζ(2αγ) of one layer (NaN where αγ ≤ 1: no bound)."""
    ag = x.extra.get("alpha_gamma_product", x.alpha * x.gamma)
    return x.pr_h - zeta_bound(ag) if ag == ag and ag > 1 and x.pr_h == x.pr_h else float("nan")


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
        test=all_ok,
        tolerance="every row within the bound (no slack)",
        perturb=_zeta_perturb,
    )
)
