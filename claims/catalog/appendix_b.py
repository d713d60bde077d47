"""App. B (PR table) and App. I (width scaling): intrinsic_dim records selected by name / by width."""

from __future__ import annotations

from ..checks import Measure, claim, law
from ..model import Candidate
from ..perturb import block, flip, named
from ..records import network

CLAIMS = []

ROWS = {  # id suffix: (experiment, record, n, PR_h, PR_grad)
    "rn.conv1": ("intrinsic_dim_resnet", "conv1", 27, 1.7, 4.6),
    "rn.layer3.conv1": ("intrinsic_dim_resnet", "layer3.0.conv1", 256, 1.2, 37.4),
    "gpt2.block5.mlp.0": ("intrinsic_dim_gpt2", "block5.mlp.0", 384, 1.0, 2.6),
}
FIELDS = {"n": "n_total_directions", "pr_h": "eff_rank_curvature_pr", "pr_grad": "eff_rank_gradient_pr"}


def _measure(exp, name, col):
    def measure(b):
        lay = network(b, "intrinsic_dim", f"intrinsic_dim[{exp}]").by_name(name)
        v = {"n": lay.extra["n_total_directions"], "pr_h": lay.pr_h, "pr_grad": lay.extra["pr_grad"]}[col]
        cands = []
        if col == "n":
            v = int(v)
            cands.append(Candidate("min(shape)", min(lay.shape) if lay.shape else None, 1))
        return Measure(
            v, f"intrinsic_dim → [{exp}].results[{name}].{FIELDS[col]}", [f"intrinsic_dim[{exp}]/{name}"], cands
        )

    return measure


def _perturb(exp, name, col, printed):
    def rec(d):
        return named(block(d["intrinsic_dim"], "experiment", exp)["results"], name)

    step = 1 if col == "n" else 0.2
    return flip(
        lambda d, o: rec(d).__setitem__(FIELDS[col], rec(d)[FIELDS[col]] + step),
        lambda d, o: rec(d).__setitem__(FIELDS[col], printed),
    )


for _sfx, (_exp, _name, *_vals) in ROWS.items():
    for _col, _v in zip(("n", "pr_h", "pr_grad"), _vals, strict=True):
        CLAIMS.append(
            claim(
                f"appB.{_sfx}.{_col}",
                "App. B",
                f"{_exp.split('_')[-1]} {_name}: {_col} = {_v}",
                _v,
                form="count" if _col == "n" else "point",
                d=None if _col == "n" else 1,
                files=("intrinsic_dim",),
                selection=f"intrinsic_dim [{_exp}] record {_name}",
                measure=_measure(_exp, _name, _col),
                perturb=_perturb(_exp, _name, _col, _v),
            )
        )


# -- App. I ----------------------------------------------------------------------------------------
def _by_width(b):
    L = network(b, "intrinsic_dim", "intrinsic_dim[scaling_test]").layers
    return {int(x.extra["width"]): x for x in L if "width" in x.extra}


def _w(width, what):
    def measure(b):
        by = _by_width(b)
        if what == "ratio":
            return Measure(
                max(by) // min(by) if min(by) else None,
                "intrinsic_dim → [scaling_test].results[].width: max/min",
                [f"intrinsic_dim[scaling_test]/{x.name}" for x in by.values()],
            )
        if width not in by:
            raise b.need("intrinsic_dim").error(
                f"no scaling_test record with width {width}", "$[experiment=scaling_test].results[width]"
            )
        x = by[width]
        return Measure(
            x.pr_h,
            f"intrinsic_dim → [scaling_test].results[width={width}].eff_rank_curvature_pr",
            [f"intrinsic_dim[scaling_test]/{x.name}"],
        )

    return measure


def _sc(d, width):
    return next(
        r for r in block(d["intrinsic_dim"], "experiment", "scaling_test")["results"] if r.get("width") == width
    )


def _set(width, value_fn):
    return lambda d, o: _sc(d, width).__setitem__("eff_rank_curvature_pr", value_fn(d, o))


CLAIMS += [
    claim(
        "appI.pr.w64",
        "App. I",
        "PR_h at width 64 = 2.5",
        2.5,
        form="point",
        d=1,
        files=("intrinsic_dim",),
        selection="scaling_test record with width 64",
        measure=_w(64, "pr"),
        perturb=flip(_set(64, lambda d, o: 2.9), _set(64, lambda d, o: 2.5)),
    ),
    claim(
        "appI.pr.w512",
        "App. I",
        "PR_h at width 512 = 3.3",
        3.3,
        form="point",
        d=1,
        files=("intrinsic_dim",),
        selection="scaling_test record with width 512",
        measure=_w(512, "pr"),
        perturb=flip(_set(512, lambda d, o: 3.7), _set(512, lambda d, o: 3.3)),
    ),
]


def _ratio_perturb(docs, out):
    recs = block(docs["intrinsic_dim"], "experiment", "scaling_test")["results"]
    big = max(recs, key=lambda r: r["width"])
    big["width"] = 1024 if out.verdict == "holds" else 8 * min(r["width"] for r in recs)


CLAIMS.append(
    claim(
        "appI.width_ratio",
        "App. I",
        "widths span 8× (64 → 512)",
        8,
        form="count",
        files=("intrinsic_dim",),
        selection="max width / min width of scaling_test",
        measure=_w(0, "ratio"),
        perturb=_ratio_perturb,
    )
)


def _grows(b):
    by = _by_width(b)
    ws = sorted(by)
    pr = [by[w].pr_h for w in ws]
    ends = pr[-1] > pr[0]
    mono = all(b2 >= a for a, b2 in zip(pr, pr[1:], strict=False))
    sub = pr[-1] / pr[0] < ws[-1] / ws[0] / 2  # far from linear in n
    return Measure(
        (ends, sub),
        "intrinsic_dim → [scaling_test] PR_h by width",
        [f"intrinsic_dim[scaling_test]/{by[w].name}" for w in ws],
        [Candidate("monotone over all widths", mono, len(ws))],
        notes=[
            f"PR_h by width: {dict(zip(ws, [round(p, 3) for p in pr], strict=True))}",
            "value = (endpoint grows, growth ratio < half the width ratio)",
        ],
    )


def _grows_perturb(docs, out):
    recs = block(docs["intrinsic_dim"], "experiment", "scaling_test")["results"]
    for r in recs:
        r["eff_rank_curvature_pr"] = (r["width"] / 16.0) if out.verdict == "holds" else 2.0 + r["width"] / 1000


CLAIMS.append(
    law(
        "appI.grows_bounded",
        "App. I",
        "PR grows from 2.5 to 3.3: bounded, not linear in n",
        "qualitative",
        selection="endpoints (stated) vs monotone over all widths",
        measure=_grows,
        test=lambda v: v[0] and v[1],
        tolerance="PR(w_max) > PR(w_min) and PR ratio < ½ × width ratio",
        perturb=_grows_perturb,
        files=("intrinsic_dim",),
    )
)
