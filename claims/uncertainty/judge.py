r"""Intervals against bands: the three verdicts of a law on the project's data (docs/claims-reference.md §3.5).

A law's band is a :class:`Region` of its per-unit statistic, fixed by the registry and the evaluation's bands
before any data are read (``|median α − 2| ≤ 0.15`` is the region [1.85, 2.15]; "α < 1" is (−∞, 1); a
region may be the *outside* of an interval, e.g. "FC layers deviate from the conv band"). A **unit** is one
judged thing — a network's statistic, one layer's value, one comparison file's difference — with a point value
and, on project data, a 95 % interval :math:`[l, u]`:

* ``holds``: :math:`[l,u]` lies inside the region;
* ``fails``: :math:`[l,u]` lies entirely outside it;
* ``inconclusive``: it straddles a border — noise could decide either way.

A unit from the authors' files (one frozen measurement) has no interval: it holds or fails on its point value,
exactly as before. Units combine by a rule (:class:`Group`), recursively:

* **every** (a law "in every network", "every head"): ``fails`` if some member fails, ``holds`` if every member
  holds, else ``inconclusive``;
* **most** (strictly more than the ``most`` band's fraction :math:`f` of the members): with :math:`h` members
  holding and :math:`i` inconclusive out of :math:`n`, the number that hold lies in :math:`[h, h+i]`;
  ``holds`` if :math:`h>fn`, ``fails`` if :math:`h+i\le fn`, else ``inconclusive``;
* **some** (an existence claim, "heads can exceed α = 4"): ``holds`` if some member holds, ``fails`` if every
  member fails, else ``inconclusive``.

A group's count interval :math:`[h, h+i]` is the ``ci`` of a law whose measured value is a count
(networks, layers or files that satisfy the predicate); it brackets the count from per-unit 95 % intervals and
carries no multiplicity correction (a law over many units is judged per unit, never by pooling their noise).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

from ..model import FAILS, HOLDS, INCONCLUSIVE


@dataclass(frozen=True)
class Region:
    """An interval of a statistic (``outside=True``: its complement). Open ends are strict inequalities."""

    lo: float = -math.inf
    hi: float = math.inf
    lo_open: bool = False
    hi_open: bool = False
    outside: bool = False

    def _inside(self, x: float) -> bool:
        above = x > self.lo if self.lo_open else x >= self.lo
        below = x < self.hi if self.hi_open else x <= self.hi
        return above and below

    def contains(self, x: float) -> bool:
        if not math.isfinite(x) and not math.isinf(x):
            return False
        return self._inside(x) != self.outside

    def judge(self, lo: float, hi: float) -> str:
        """The verdict of an interval [lo, hi] (NaN: inconclusive)."""
        if not (lo == lo and hi == hi):
            return INCONCLUSIVE
        if self._inside(lo) and self._inside(hi):
            inner = HOLDS
        elif hi < self.lo or (hi == self.lo and self.lo_open) or lo > self.hi or (lo == self.hi and self.hi_open):
            inner = FAILS
        else:
            return INCONCLUSIVE
        if self.outside:
            return FAILS if inner == HOLDS else HOLDS
        return inner

    def text(self) -> str:
        def num(x: float) -> str:
            return "∞" if x == math.inf else "−∞" if x == -math.inf else f"{x:g}"

        inner = ("(" if self.lo_open or self.lo == -math.inf else "[") + f"{num(self.lo)}, {num(self.hi)}"
        inner += ")" if self.hi_open or self.hi == math.inf else "]"
        return ("outside " if self.outside else "") + inner


def band(center: float, half: float) -> Region:
    """``|x − center| ≤ half``."""
    return Region(center - half, center + half)


def below(bound: float, strict: bool = True) -> Region:
    """``x < bound`` (or ``≤``)."""
    return Region(hi=bound, hi_open=strict)


def above(bound: float, strict: bool = True) -> Region:
    """``x > bound`` (or ``≥``)."""
    return Region(lo=bound, lo_open=strict)


@dataclass
class Unit:
    """One judged unit: a point value, its region, and (project data) its interval and the n's behind it."""

    label: str
    point: float
    region: Region
    ci: tuple[float, float] | None = None  # None: one frozen measurement (the authors'), judged on the point
    n_seeds: int | None = None
    n_batches: int | None = None  # the fewest batches of any seed
    n_layers: int | None = None  # layers behind the value (1 for a single layer's value)
    network: str = ""  # the network (or file) it belongs to
    note: str = ""
    verdict: str = ""

    def __post_init__(self) -> None:
        if not self.verdict:
            self.verdict = self.region.judge(*self.ci) if self.ci is not None else self.point_verdict

    @property
    def point_verdict(self) -> str:
        return HOLDS if self.region.contains(self.point) else FAILS

    @classmethod
    def frozen(cls, label: str, point: float, ok: bool, region: Region, network: str = "") -> Unit:
        """A unit of the authors' files: its verdict is the law's own point predicate (``ok``), unchanged."""
        return cls(label, point, region, None, network=network, verdict=HOLDS if ok else FAILS)


@dataclass
class Group:
    """Members combined by a rule: ``every``, ``most`` (fraction ``most``, strictly more) or ``some``."""

    label: str
    rule: str
    members: Sequence[Unit | Group] = field(default_factory=list)
    most: float = 0.5

    def counts(self) -> tuple[int, int, int]:
        """(members holding, members inconclusive, members)."""
        vs = [m.verdict for m in self.members]
        return vs.count(HOLDS), vs.count(INCONCLUSIVE), len(vs)

    @property
    def verdict(self) -> str:
        h, i, n = self.counts()
        if self.rule == "every":
            return HOLDS if h == n else FAILS if h + i < n else INCONCLUSIVE
        if self.rule == "most":
            return HOLDS if h > self.most * n else FAILS if h + i <= self.most * n else INCONCLUSIVE
        if self.rule == "some":
            return HOLDS if h > 0 else FAILS if i == 0 else INCONCLUSIVE
        raise ValueError(self.rule)

    def leaves(self) -> list[Unit]:
        out: list[Unit] = []
        for m in self.members:
            out += m.leaves() if isinstance(m, Group) else [m]
        return out


@dataclass
class Uncertainty:
    """A law's verdict on data that include the project's measurements: the judged tree, its interval and n's.

    ``ci`` is the root unit's interval when the law has a single unit, else the root group's count interval
    ``[h, h + i]`` of members that hold; ``ci_of`` says which. The n's are those of the project units behind
    it: the fewest seeds and batches of any of them, the layers they rest on, the project networks involved.
    """

    root: Unit | Group
    notes: list[str] = field(default_factory=list)
    ci_value: tuple[float, float] | None = None  # a law's own interval of its measured value (e.g. a maximum)
    ci_text: str = ""  # what ci_value is the interval of

    @property
    def verdict(self) -> str:
        return self.root.verdict

    def leaves(self) -> list[Unit]:
        return self.root.leaves() if isinstance(self.root, Group) else [self.root]

    def project(self) -> list[Unit]:
        return [u for u in self.leaves() if u.ci is not None]

    @property
    def ci(self) -> tuple[float, float]:
        if self.ci_value is not None:
            return self.ci_value
        r = self.root
        if isinstance(r, Unit):
            return r.ci if r.ci is not None else (r.point, r.point)
        h, i, _ = r.counts()
        return float(h), float(h + i)

    @property
    def ci_of(self) -> str:
        if self.ci_value is not None:
            return self.ci_text
        r = self.root
        if isinstance(r, Unit):
            return f"{r.label} ({r.region.text()})"
        return f"{r.label} that hold, of {len(r.members)} ({r.rule})"

    def counts(self) -> dict[str, int | None]:
        p = self.project()

        def least(xs: list[int | None]) -> int | None:
            vals = [x for x in xs if x is not None]
            return min(vals) if vals else None

        layers = [u.n_layers for u in p if u.n_layers is not None]
        return {
            "n_seeds": least([u.n_seeds for u in p]),
            "n_batches": least([u.n_batches for u in p]),
            "n_layers": sum(layers) if layers else None,
            "n_networks": len({u.network for u in p if u.network}) or None,
            "n_units": len(self.leaves()),
        }

    def row(self) -> dict:
        """The JSON fields: ``ci``, ``ci_of``, the n's and every unit."""
        return {
            "ci": list(self.ci),
            "ci_of": self.ci_of,
            **self.counts(),
            "units": [
                {
                    "unit": u.label,
                    "network": u.network,
                    "data": "project" if u.ci is not None else "authors (frozen)",
                    "point": u.point,
                    "ci": list(u.ci) if u.ci is not None else None,
                    "region": u.region.text(),
                    "verdict": u.verdict,
                    "n_seeds": u.n_seeds,
                    "n_batches": u.n_batches,
                    "n_layers": u.n_layers,
                }
                for u in self.leaves()
            ],
            "interval_notes": list(self.notes),
        }
