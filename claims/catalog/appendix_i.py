"""App. I width scaling of the participation ratio: the scaling_test MLP records selected by ``width``
(never by list order): PR_h at widths 64 and 512, the width ratio, and bounded (sub-linear) growth."""

from __future__ import annotations

from ..bundle import Bundle
from ..checks import Measure, MeasureFn, claim, law
from ..context import Context
from ..model import Candidate
from ..perturb import block, flip
from ..records import Layer, network

CLAIMS = []


def _by_width(b: Bundle) -> dict[int, Layer]:
    L = network(b, "intrinsic_dim", "intrinsic_dim[scaling_test]").layers
    return {int(x.extra["width"]): x for x in L if "width" in x.extra}


def _w(width: int, what: str) -> MeasureFn:
    def measure(b: Bundle, ctx: Context) -> Measure:
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


def _grows(b: Bundle, ctx: Context) -> Measure:
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
        test=lambda v, ctx: v[0] and v[1],
        tolerance="PR(w_max) > PR(w_min) and PR ratio < ½ × width ratio",
        perturb=_grows_perturb,
        files=("intrinsic_dim",),
    )
)
