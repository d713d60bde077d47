"""The Reproducibility Statement: the 15 JSON files, the GPU hours (PARTIAL), and the counts of claims,
experiments and plots no file records (NO DATA)."""

from __future__ import annotations

from ..bundle import FILE_KEYS, Bundle
from ..checks import Measure, claim, nodata
from ..context import Context
from ..model import Candidate

CLAIMS = []


def _njson(b: Bundle, ctx: Context) -> Measure:
    n = len(b.present)
    if n == 0:
        return Measure(None, "none of the authors' files is in this folder")
    return Measure(
        n,
        "the authors' files present (by file name)",
        sorted(FILE_KEYS[k] for k in b.present),
        [Candidate("files missing", sorted(set(FILE_KEYS) - {k for k in b.present}), None)],
    )


CLAIMS.append(
    claim(
        "repro.n_json",
        "Reproducibility",
        "15 JSON result files",
        15,
        form="count",
        files=(),
        selection="count of the authors' results files in the folder",
        measure=_njson,
        perturb=lambda d, o: d.delete("precond"),
    )
)

HOURS = ("tiny", "in1k", "rmt", "vgg16", "kronecker")


def _hours(b: Bundle, ctx: Context) -> Measure:
    hs = {k: b.need(k)["elapsed_hours"].num() for k in HOURS}
    return Measure(
        [sum(hs.values())],
        "elapsed_hours of tiny, in1k, rmt, vgg16, kronecker (the only files recording it)",
        list(hs),
        [Candidate("per file", {k: round(v, 3) for k, v in hs.items()}, None)],
    )


CLAIMS.append(
    claim(
        "repro.gpu_hours",
        "Reproducibility",
        "∼3–4 GPU hours in total",
        (3, 4),
        form="into",
        d=0,
        files=HOURS,
        selection="sum of elapsed_hours where recorded (PARTIAL: 10 of 15 files record none)",
        measure=_hours,
        perturb=lambda d, o: d["rmt"].__setitem__("elapsed_hours", d["rmt"]["elapsed_hours"] + 5),
        data="partial",
    )
)

CLAIMS += [
    nodata(
        "repro.n_claims",
        "Reproducibility",
        "verify_claims.py checks 27 claims",
        27,
        nearest="the authors' verify_claims.py is not in the results bundle (docs/claims-reference.md §5: 29 checks coded, 2 silently dropped)",
    ),
    nodata("repro.n_experiments", "Reproducibility", "10 experiments", 10),
    nodata("repro.n_plots", "Reproducibility", "6 plots", 6),
]
