"""Law claims: the Abstract's α laws, and the §2.10 laws without a catalogue id. Each is a predicate
evaluated per network on every file with layers of the right type (authors' and project files)."""

from __future__ import annotations

import math

from empirics.schema import CONV_TYPES
from theory.fits import fit_alpha

from ..checks import Measure, law, median, ref
from ..lawcheck import all_networks_ok, alpha_perturb, per_network, population
from ..model import Candidate
from ..perturb import flip, rec_from_ref, set_alpha
from ..records import networks, trajectories
from ..selections import SEL_J, sel_j
from ..tolerance import BANDS

CLAIMS = []
BAND = BANDS["exponent"]

CLAIMS.append(
    law(
        "abs.alpha.conv_approx2",
        "Abstract; Intro; §3",
        'convolutional layers have α ≈ 2 ("universally")',
        "≈ 2",
        selection="per network (every file with conv/downsample layers): median α of its conv layers",
        measure=per_network(
            ("conv", "downsample"), lambda L: median(x.alpha for x in L), lambda v: abs(v - 2) <= BAND, "median conv α"
        ),
        test=all_networks_ok,
        tolerance=f"|median α − 2| ≤ {BAND} in every network (band §3.2, configurable)",
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
            lambda v: abs(v - 1) <= BAND,
            "median attention α",
        ),
        test=all_networks_ok,
        tolerance=f"|median α − 1| ≤ {BAND} in every network",
        perturb=alpha_perturb(2.0, 1.0),
    )
)


# -- MLP up-projections: α < 1 (sel. J) ------------------------------------------------------------
def _up(b):
    recs = sel_j(b, 2)
    proj = [(n.label, x) for n in population(b, ("project",)) for x in n.of_type("mlp_up")]
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
    return Measure(
        (sum(x.alpha < 1 for _, x in rows), len(rows), round(median(x.alpha for _, x in rows), 4)),
        "sel. J2 (GPT-2 up-projections: LM ablation, triangle, intrinsic-dim) + project mlp_up layers",
        [f"{lbl}/{x.name}" for lbl, x in rows],
        cands,
        violators=viol,
        notes=["value = (# records with α < 1, n, median α)"],
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
        test=lambda v: v[0] == v[1] and v[2] < 1,
        tolerance="strict: every α < 1 and median < 1",
        perturb=flip(
            lambda d, o: set_alpha(rec_from_ref(d, o.records[0]), 1.5),
            _all_up_to(0.8),
        ),
    )
)


# -- few-class softmax heads: α < 2 ---------------------------------------------------------------
def _classes(x) -> int:
    return int(x.shape[0]) if x.shape else -1


def _softmax(b):
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
    return Measure(
        (sum(x.alpha < 2 for _, x in few), len(few)),
        "every classification head row (class count = shape[0]); few = ≤ 10",
        [ref(n, x) for n, x in few],
        cands,
        violators=viol,
        notes=["value = (# few-class heads with α < 2, # few-class heads); VGG classifier.0 is typed dense, not head"]
        + [f"not judged: {u}" for u in unfit],
    )


CLAIMS.append(
    law(
        "add.softmax.few_class_lt2",
        "§6.3 Prop. 6; §3; App. J.2",
        "few-class softmax heads have α < 2",
        "< 2",
        selection="every head with ≤ 10 classes (shape[0]); LM output heads excluded",
        measure=_softmax,
        test=all_networks_ok,
        tolerance="strict: α < 2 for every head with ≤ 10 classes",
        perturb=alpha_perturb(2.5, 1.5),
    )
)


# -- output dimension / task structure (hypothesis pairs) ----------------------------------------------
def _pairs(b):
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
        test=all_networks_ok,
        tolerance="sign of Δα per layer (strict)",
        perturb=_pairs_perturb,
        files=("hypothesis",),
    )
)


# -- the identity breaks at boundary layers ---------------------------------------------------------
def _boundary(b):
    bnd, inner = [], []
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
    )


def _boundary_perturb(docs, out):
    from ..perturb import set_relerr

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
        test=lambda v: v[0] > 0.5 and v[0] > v[1],
        tolerance="most (> half) boundary layers have rel err > 10 %, and a larger fraction than interior layers",
        perturb=_boundary_perturb,
    )
)


# -- law readings of two Abstract numbers ----------------------------------------------------------
def _first_network(out):
    first = out.records[0].rsplit("/", 1)[0]
    return [r for r in out.records if r.rsplit("/", 1)[0] == first]


def _relerr_perturb():
    from ..perturb import set_relerr

    return flip(
        lambda d, o: [set_relerr(rec_from_ref(d, r), 0.2) for r in _first_network(o)] and None,
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
            tuple(
                t
                for t in (
                    "conv",
                    "downsample",
                    "dense",
                    "head",
                    "attn_qkv",
                    "attn_proj",
                    "mlp_up",
                    "mlp_down",
                    "patch_embed",
                )
            ),
            lambda L: 100 * median(x.relerr for x in L),
            lambda v: round(v) <= 2,
            "median rel err (%)",
            keys=("alpha_triangle", "tiny", "in1k", "project"),
            value=lambda x: x.relerr,
        ),
        test=all_networks_ok,
        tolerance="round(100·median) ≤ 2 in every network",
        perturb=_relerr_perturb(),
    )
)


def _pr_perturb():
    def set_pr(docs, refs, v):
        for r in refs:
            rec_from_ref(docs, r)["eff_rank_curvature_pr"] = v

    return flip(lambda d, o: set_pr(d, _first_network(o), 5.0), lambda d, o: set_pr(d, o.records, 1.2))


CLAIMS.append(
    law(
        "abs.pr_h.range.law",
        "Abstract; §7 (law reading)",
        "PR_h ∈ [1.0, 1.8] (in any network)",
        "[1.0, 1.8]",
        selection="per network with a PR_h (intrinsic_dim blocks incl. scaling_test; project files: PR of the positive h)",
        measure=per_network(
            ("conv", "downsample", "dense", "head", "attn_qkv", "attn_proj", "mlp_up", "mlp_down", "patch_embed"),
            lambda L: sum(0.95 <= x.pr_h < 1.85 for x in L) / len(L),
            lambda v: v == 1.0,
            "fraction of layers with round(PR_h, 1) in [1.0, 1.8]",
            keys=("intrinsic_dim", "project"),
            value=lambda x: x.pr_h,
        ),
        test=all_networks_ok,
        tolerance="every layer of every network",
        perturb=_pr_perturb(),
    )
)


# -- App. E: α over training (law reading, on any measured training trajectory) -------------------------
def _trajectories(b):
    """Project training runs with checkpoints at ≥ 2 distinct epochs: {run: [(epoch, network), ...]}."""
    return {r: c for r, c in trajectories(networks(b, "project")).items() if len({e for e, _ in c}) >= 2}


def _common(cps, types):
    """Names of the layers of these types present, with a fitted α, at every checkpoint of one trajectory."""
    sets = [{x.name for x in n.of_type(*types) if math.isfinite(x.alpha)} for _, n in cps]
    return sorted(set.intersection(*sets)) if sets else []


def _trajectory(b):
    runs = _trajectories(b)
    if not runs:
        return Measure(None, "no training trajectory (≥ 2 checkpoints of one run) in any file")
    rows, refs, viol, cands = [], [], [], []
    for run, cps in runs.items():
        (e0, first), (e1, last) = cps[0], cps[-1]
        conv, heads = _common(cps, CONV_TYPES), _common(cps, ("head",))
        if not conv or not heads:
            cands.append(Candidate(f"{run}: not judged (needs conv and head layers at every checkpoint)", None, 0))
            continue
        conv_last = median([last.by_name(c).alpha for c in conv])
        head_drop = [(h, first.by_name(h).alpha, last.by_name(h).alpha) for h in heads]
        ok_conv = abs(conv_last - 2.0) <= BAND
        ok_head = all(a1 < a0 for _, a0, a1 in head_drop)
        rows.append((run, ok_conv and ok_head))
        refs += [ref(n, n.by_name(x)) for _, n in (cps[0], cps[-1]) for x in conv + heads]
        cands.append(
            Candidate(
                f"{run}: median conv α at epoch {e1} over {len(conv)} tracked layers; head α epoch {e0} → {e1}",
                [round(conv_last, 4)] + [f"{h}: {a0:.3f} → {a1:.3f}" for h, a0, a1 in head_drop],
                len(conv) + len(heads),
                ok_conv and ok_head,
            )
        )
        if not ok_conv:
            viol.append(f"{run}: median conv α at epoch {e1} = {conv_last:.3f} (|α − 2| > {BAND})")
        viol += [f"{run}: head {h} α {a0:.3f} → {a1:.3f} (does not decrease)" for h, a0, a1 in head_drop if not a1 < a0]
    if not rows:
        return Measure(
            None, "no trajectory with conv and head layers at every checkpoint", notes=[c.rule for c in cands]
        )
    return Measure(
        (sum(ok for _, ok in rows), len(rows)),
        "project training trajectories (same run.run_name, first vs last checkpoint; layers present at every checkpoint)",
        refs,
        cands,
        violators=viol,
        notes=["value = (trajectories where it holds, trajectories)"],
    )


def _trajectory_perturb(docs, out):
    """Away: raise the last checkpoint's head α above its first; towards: conv α → 2 and head α → first − 0.5."""
    by_layer: dict[str, list[str]] = {}
    for r in out.records:  # per layer name: [first checkpoint's ref, last checkpoint's ref]
        by_layer.setdefault(r.rsplit("/", 1)[1], []).append(r)
    for rs in by_layer.values():
        first_rec, last_rec = rec_from_ref(docs, rs[0]), rec_from_ref(docs, rs[-1])
        a0 = fit_alpha(first_rec["sigma"], first_rec["h_exact"]).alpha
        is_head = first_rec["layer_type"] == "head"
        if out.verdict == "holds" and is_head:
            set_alpha(last_rec, a0 + 0.5)
        elif out.verdict != "holds":
            set_alpha(last_rec, a0 - 0.5 if is_head else 2.0)


CLAIMS.append(
    law(
        "appE.conv_converges_fc_decreases",
        "App. E",
        "during training conv layers converge to α ≈ 2 and FC (softmax head) α decreases",
        "qualitative",
        selection="every project training trajectory (≥ 2 checkpoints of one run.run_name); layers present at every checkpoint",
        measure=_trajectory,
        test=all_networks_ok,
        tolerance=f"median conv α at the last checkpoint within ±{BAND} of 2, and every head's α lower than at the first",
        perturb=_trajectory_perturb,
    )
)
