"""Small statistics of the claims' selections (pure Python / numpy; NaN for an empty selection)."""

from __future__ import annotations

from typing import Any

import numpy as np


def median(xs: Any) -> float:
    """Median of a small sequence (pure Python: numpy's median costs ~1 ms per call on tiny arrays)."""
    a = sorted(float(x) for x in xs)
    n = len(a)
    if not n:
        return float("nan")
    return a[n // 2] if n % 2 else 0.5 * (a[n // 2 - 1] + a[n // 2])


def mean(xs: Any) -> float:
    """Arithmetic mean (NaN for an empty selection)."""
    a = np.asarray(list(xs), float)
    return float(a.mean()) if a.size else float("nan")


def std(xs: Any, ddof: int = 0) -> float:
    """Standard deviation with ``ddof`` (NaN when there are not more than ddof values)."""
    a = np.asarray(list(xs), float)
    return float(a.std(ddof=ddof)) if a.size > ddof else float("nan")
