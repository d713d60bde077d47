r"""Tolerance rules from the printed precision (docs/claims-reference.md §3.1). (The law bands of §3.2 are settings of an
evaluation: :class:`claims.context.Bands`.)

A value printed as :math:`v` with :math:`d` decimals holds iff :math:`\mathrm{round}(x,d)=v`, i.e.
:math:`|x-v|\le\tfrac12 10^{-d}` (plus 1e-12 for binary round-off). Counts are exact; inequalities
are one-sided on the rounded extreme; a range holds iff both rounded endpoints match.
"""

from __future__ import annotations

import math

EPS = 1e-12


def half(d: int) -> float:
    r"""Half a unit in the last printed place: :math:`\frac12 10^{-d}` for ``d`` decimals."""
    return 0.5 * 10.0 ** (-d)


def finite(x: float) -> bool:
    """Whether ``x`` is a finite int or float."""
    return isinstance(x, (int, float)) and math.isfinite(x)


def point(x: float, v: float, d: int) -> bool:
    """round(x, d) == v."""
    return finite(x) and abs(x - v) <= half(d) + EPS


def into(x: float, a: float, b: float, d: int) -> bool:
    """round(x, d) lies in [a, b]."""
    return finite(x) and a - half(d) - EPS <= x <= b + half(d) + EPS


def at_least(x: float, v: float, d: int) -> bool:
    """round(x, d) >= v (one-sided)."""
    return finite(x) and x >= v - half(d) - EPS


def above(x: float, v: float, d: int) -> bool:
    """round(x, d) > v (one-sided, strict)."""
    return finite(x) and x > v + half(d) + EPS


def point_text(d: int) -> str:
    """The printed-precision tolerance in words, e.g. ``±0.005 (2 dp)``."""
    return f"±{half(d):g} ({d} dp)"


def fmt(x: object, d: int | None = None) -> str:
    """A measured value for display: numbers with d+2 decimals (3 significant where d is None)."""
    if isinstance(x, bool) or x is None:
        return str(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, float):
        if not math.isfinite(x):
            return "nan"
        return f"{x:.{d + 2}f}" if d is not None else f"{x:.4g}"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(fmt(e, d) for e in x) + "]"
    return str(x)
