"""Builders that turn a measurement function and a printed value into a :class:`Claim`.

A measurement function takes the :class:`Bundle` and returns a :class:`Measure` (the value of the
claim's statistic under the stated rule, its source, the records used, and the value under every
other candidate rule). The builder attaches the tolerance test of CLAIMS.md §3 for its form.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from . import tolerance as tol
from .model import FAILS, HOLDS, LAW, NO_DATA, NUMBER, Candidate, Claim, Outcome, Perturb


@dataclass
class Measure:
    value: Any  # None: no applicable data (a law with no layers of its type anywhere) → `no data`
    source: str
    records: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    violators: list[str] = field(default_factory=list)


def _tests(form: str, printed: Any, dp: int | None) -> tuple[Callable[[Any], bool], str]:
    if form == "count":
        return (lambda x: x == printed), "exact"
    assert dp is not None, f"form {form!r} needs the printed decimals"
    d: int = dp
    if form == "point":
        return (lambda x: tol.point(x, printed, d)), tol.point_text(d)
    if form == "ge":
        return (lambda x: tol.at_least(x, printed, d)), f"one-sided: round(min, {d}) ≥ {printed}"
    if form == "gt":
        return (lambda x: tol.above(x, printed, d)), f"one-sided: round(x, {d}) > {printed}"
    if form == "range":
        a, b = printed
        return (
            lambda x: x is not None and tol.point(x[0], a, d) and tol.point(x[1], b, d)
        ), f"round(min), round(max) = endpoints ({d} dp)"
    if form == "into":
        a, b = printed
        return (
            lambda xs: bool(len(xs)) and all(tol.into(x, a, b, d) for x in xs)
        ), f"each group's value rounds ({d} dp) into [{a}, {b}]"
    raise ValueError(form)


def _run(claim_id: str, measure: Callable, test: Callable[[Any], bool]) -> Callable:
    def check(bundle: Any) -> Outcome:
        m: Measure = measure(bundle)
        if m.value is None:
            return Outcome(NO_DATA, None, m.source, records=m.records, candidates=m.candidates, notes=m.notes)
        for c in m.candidates:
            if c.same and c.holds is None and c.value is not None:
                try:
                    c.holds = bool(test(c.value))
                except (TypeError, ValueError, IndexError, KeyError):
                    c.holds = None
        return Outcome(
            HOLDS if test(m.value) else FAILS,
            m.value,
            m.source,
            records=m.records,
            candidates=m.candidates,
            violators=m.violators,
            notes=m.notes,
        )

    check.__qualname__ = f"check[{claim_id}]"
    return check


def claim(
    id: str,
    location: str,
    statement: str,
    printed: Any,
    *,
    form: str,
    files: tuple[str, ...],
    selection: str,
    measure: Callable,
    perturb: Perturb | None,
    d: int | None = None,
    kind: str = NUMBER,
    data: str = "data",
    test: Callable[[Any], bool] | None = None,
    tolerance: str | None = None,
) -> Claim:
    """A claim checked against data. ``form`` ∈ point, count, ge, gt, range, into, pred (``test`` given)."""
    if form == "pred":
        assert test is not None and tolerance is not None
        t, text = test, tolerance
    else:
        t, text = _tests(form, printed, d)
    return Claim(
        id,
        kind,
        location,
        statement,
        printed,
        d,
        tolerance or text,
        files,
        selection,
        _run(id, measure, t),
        perturb,
        data,
    )


def law(
    id: str,
    location: str,
    statement: str,
    printed: Any,
    *,
    selection: str,
    measure: Callable,
    test: Callable[[Any], bool],
    tolerance: str,
    perturb: Perturb,
    files: tuple[str, ...] = (),
    data: str = "data",
) -> Claim:
    return claim(
        id,
        location,
        statement,
        printed,
        form="pred",
        files=files,
        selection=selection,
        measure=measure,
        perturb=perturb,
        kind=LAW,
        data=data,
        test=test,
        tolerance=tolerance,
    )


def nodata(
    id: str, location: str, statement: str, printed: Any, d: int | None = None, *, kind: str = NUMBER, nearest: str = ""
) -> Claim:
    """A NO DATA register entry (CLAIMS.md §2.12): its verdict is `no data` on every input."""
    return Claim(
        id, kind, location, statement, printed, d, "n/a (no backing data)", (), "—", None, None, "no data", nearest
    )


# -- small statistics ---------------------------------------------------------------------------
def median(xs: Any) -> float:
    """Median of a small sequence (pure Python: numpy's median costs ~1 ms per call on tiny arrays)."""
    a = sorted(float(x) for x in xs)
    n = len(a)
    if not n:
        return float("nan")
    return a[n // 2] if n % 2 else 0.5 * (a[n // 2 - 1] + a[n // 2])


def mean(xs: Any) -> float:
    a = np.asarray(list(xs), float)
    return float(a.mean()) if a.size else float("nan")


def std(xs: Any, ddof: int = 0) -> float:
    a = np.asarray(list(xs), float)
    return float(a.std(ddof=ddof)) if a.size > ddof else float("nan")


def names(layers: Any) -> list[str]:
    return [lay.name for lay in layers]


def ref(net: Any, lay: Any) -> str:
    """A record reference: the network label and the record name (parsed back by claims.perturb.rec_from_ref)."""
    return f"{net.label}/{lay.name}"
