"""Builders that turn a measurement function and a printed value into a :class:`Claim`.

A measurement function takes the :class:`~claims.bundle.Bundle` and the evaluation's
:class:`~claims.context.Context` (the law bands) and returns a :class:`Measure`: the value of the claim's
statistic under the stated rule, its source, the records used, and the value under every other candidate
rule. A law measured on data that include the project's files also returns its judged units with their
intervals (``Measure.uncertainty``, :mod:`claims.uncertainty`): their verdict — ``holds``, ``fails`` or
``inconclusive`` — is the claim's, and the point test's verdict is kept beside it (``Outcome.point_verdict``). The builder attaches the tolerance test of CLAIMS.md §3 for its form; a custom test (``form="pred"``)
also receives the context, so that a band is read when the claim is judged, never when it is defined.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from . import tolerance as tol
from .context import Context
from .model import FAILS, HOLDS, LAW, NO_DATA, NUMBER, Candidate, Claim, Outcome, Perturb

#: (value, context) -> whether the claim holds
Test = Callable[[Any, Context], bool]


@dataclass
class Measure:
    """The value of a claim's statistic, its source, the records used, every candidate rule's value."""

    value: Any  # None: no applicable data (a law with no layers of its type anywhere) → `no data`
    source: str
    records: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    violators: list[str] = field(default_factory=list)
    #: a law on data that include the project's measurements: the judged units and their intervals
    #: (claims.uncertainty.judge.Uncertainty); its verdict replaces the point test's
    uncertainty: Any = None


#: (Bundle, Context) -> Measure
MeasureFn = Callable[[Any, Context], Measure]


def _tests(form: str, printed: Any, dp: int | None) -> tuple[Test, str]:
    if form == "count":
        return (lambda x, ctx: x == printed), "exact"
    assert dp is not None, f"form {form!r} needs the printed decimals"
    d: int = dp
    if form == "point":
        return (lambda x, ctx: tol.point(x, printed, d)), tol.point_text(d)
    if form == "ge":
        return (lambda x, ctx: tol.at_least(x, printed, d)), f"one-sided: round(min, {d}) ≥ {printed}"
    if form == "gt":
        return (lambda x, ctx: tol.above(x, printed, d)), f"one-sided: round(x, {d}) > {printed}"
    if form == "range":
        a, b = printed
        return (
            lambda x, ctx: x is not None and tol.point(x[0], a, d) and tol.point(x[1], b, d)
        ), f"round(min), round(max) = endpoints ({d} dp)"
    if form == "into":
        a, b = printed
        return (
            lambda xs, ctx: bool(len(xs)) and all(tol.into(x, a, b, d) for x in xs)
        ), f"each group's value rounds ({d} dp) into [{a}, {b}]"
    raise ValueError(form)


def _run(claim_id: str, measure: MeasureFn, test: Test) -> Callable[[Any, Context], Outcome]:
    def check(bundle: Any, ctx: Context) -> Outcome:
        m: Measure = measure(bundle, ctx)
        if m.value is None:
            return Outcome(NO_DATA, None, m.source, records=m.records, candidates=m.candidates, notes=m.notes)
        for c in m.candidates:
            if c.same and c.holds is None and c.value is not None:
                try:
                    c.holds = bool(test(c.value, ctx))
                except (TypeError, ValueError, IndexError, KeyError):
                    c.holds = None
        point = HOLDS if test(m.value, ctx) else FAILS
        unc = m.uncertainty
        return Outcome(
            unc.verdict if unc is not None else point,
            m.value,
            m.source,
            records=m.records,
            candidates=m.candidates,
            violators=m.violators,
            notes=m.notes + (unc.notes if unc is not None else []),
            uncertainty=unc,
            point_verdict=point if unc is not None else "",
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
    measure: MeasureFn,
    perturb: Perturb | None,
    d: int | None = None,
    kind: str = NUMBER,
    data: str = "data",
    test: Test | None = None,
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
    measure: MeasureFn,
    test: Test,
    tolerance: str,
    perturb: Perturb,
    files: tuple[str, ...] = (),
    data: str = "data",
) -> Claim:
    """A law (CLAIMS.md §3.2): a predicate over every measured network, judged with the context's bands."""
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


def all_ok(v: tuple[int, int], ctx: Context) -> bool:
    """The test of a count pair ``(members where it holds, members)``: it holds for every member."""
    return v[0] == v[1]


def most(v: tuple[int, int], ctx: Context) -> bool:
    """The test of a count pair ``(members where it holds, members)``: it holds for "most" of them, i.e. for
    strictly more than the ``most`` band's fraction (CLAIMS.md §3.2)."""
    return v[0] > v[1] * ctx.bands.most
