"""The report's figure of the law verdicts on the project's measurements: every judged unit of every law with its
95 % interval as an error bar, the law's band shaded, the unit coloured by its verdict (holds / fails /
inconclusive). Built from the evaluated outcomes (the same as ``claims verify --json``), numbers only."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..model import LAW, Claim, Outcome
from .figure import Figure

#: units drawn per law (the first ones in the law's order; the panel says how many there are)
MAX_UNITS = 30


@dataclass
class UnitBar:
    label: str
    point: float
    lo: float  # = point for a frozen (authors') value
    hi: float
    verdict: str
    frozen: bool


@dataclass
class LawPanel:
    claim: str
    verdict: str
    band: tuple[float, float, bool] | None  # the units' common region (lo, hi, outside); None when they differ
    units: list[UnitBar]
    n_units: int
    ci_of: str


def fig_law_intervals(claims: list[Claim], outs: list[Outcome]) -> Figure:
    f = Figure(
        "fig7_law_intervals",
        "Law statistics on the project's measurements, with 95 % intervals",
        "One panel per law judged on data that include the project's files: each unit (a network's statistic, a "
        "layer's value, a comparison file's difference) as a point with its 95 % interval (nested bootstrap over "
        "seeds, batches and — for population statistics — layers); the shaded band is where the unit holds "
        "(hatched: the band is the region outside it; no shading where the units of a law have different bands, e.g. "
        "conv layers inside and FC layers outside the conv band). Authors' values are frozen points without a bar.",
        "project sad-results/1 or sad-optim/1 files judged by a law claim",
        rule=f"every law with an interval verdict; at most {MAX_UNITS} units per law, in the law's order",
    )
    for c, o in zip(claims, outs, strict=True):
        u = o.uncertainty
        if c.kind != LAW or u is None:
            continue
        leaves = u.leaves()
        bars = [
            UnitBar(
                x.label,
                x.point,
                x.ci[0] if x.ci is not None else x.point,
                x.ci[1] if x.ci is not None else x.point,
                x.verdict,
                x.ci is None,
            )
            for x in leaves[:MAX_UNITS]
        ]
        if not any(math.isfinite(b.point) for b in bars):
            continue
        regions = {x.region for x in leaves}
        r = leaves[0].region
        band = (r.lo, r.hi, r.outside) if len(regions) == 1 else None
        f.panels.append(LawPanel(c.id, o.verdict, band, bars, len(leaves), u.ci_of))
    if f.panels:
        f.sources.append("claims verify's evaluation of the law claims (Outcome.uncertainty)")
    return f
