r"""The nested bootstrap of one replicated network, and the interval it gives (docs/claims-reference.md §3.5).

A network measured with :math:`S` training seeds, seed :math:`s` on :math:`n_s` measurement batches, gives a
value :math:`V_{c\ell}` per cell :math:`c=(s,b)` and layer :math:`\ell`. Its point estimate per layer is the
balanced hierarchical mean

.. math:: \bar V_\ell=\frac1S\sum_s\frac1{n_s}\sum_{b}V_{(s,b)\ell}

(cells with a missing value are left out and the weights renormalised). One bootstrap draw

1. draws :math:`S` seeds with replacement (multinomial counts :math:`m_s`),
2. for every seed draws :math:`n_s` of its batches with replacement (counts :math:`m_{b\mid s}`), independently
   per draw and per seed,
3. gives cell :math:`(s,b)` the weight :math:`w_{sb}=\frac{m_s}{S}\,\frac{m_{b\mid s}}{n_s}` (a row of
   :func:`cell_weights`; the rows sum to 1) and forms :math:`\bar V^*_\ell=\sum_c w_c V_{c\ell}`, and
4. for a *population* statistic (median α of a network's conv layers, a share of its layers …) draws the
   :math:`L` layers with replacement as well (:func:`layer_draws`), independently of the cells: layers and
   cells are crossed, and a draw keeps every layer's values of the same resampled cells together.

The same cell weights serve every claim about one network in one evaluation (common random numbers), drawn
from a generator seeded by the bootstrap seed and a CRC-32 of the network's label: output is deterministic and
independent of the order in which claims are evaluated.

**Interval.** The percentile interval :math:`[q_{a}, q_{1-a}]` of the draws (:math:`a=(1-\text{level})/2`)
is widened about the draws' median :math:`m` by

.. math:: c=\sqrt{\tfrac{n}{n-1}}\;t_{n-1,\,1-a}\,/\,z_{1-a},\qquad
          [\,m-c\,(m-q_a),\; m+c\,(q_{1-a}-m)\,],

where :math:`n` is the number of units at the top level that varies (seeds if :math:`S\ge2`, else the
single seed's batches, else the resampled layers). For a normal bootstrap distribution this is Hesterberg's
*expanded percentile interval*: the plain percentile interval of a mean of :math:`n` values is too narrow by
:math:`\sqrt{(n-1)/n}` and by using :math:`z` for :math:`t` (with 3 seeds :math:`c\approx2.7`). When lower
levels vary too, :math:`c` is applied to their spread as well (conservative). With one cell and no resampled
layers nothing varies: the interval is the point.
"""

from __future__ import annotations

import functools
import math
import zlib
from collections.abc import Sequence
from statistics import NormalDist

import numpy as np


def label_seed(*parts: str) -> int:
    """A deterministic 32-bit seed from text (CRC-32; Python's ``hash`` varies between processes)."""
    return zlib.crc32("\x1f".join(parts).encode())


def point_weights(seed_of_cell: Sequence[int] | np.ndarray) -> np.ndarray:
    r"""The hierarchical-mean weights :math:`1/(S\,n_s)` of the cells (seed index per cell, 0 … S−1)."""
    s = np.asarray(seed_of_cell, int)
    n_seeds = int(s.max()) + 1
    per_seed = np.bincount(s, minlength=n_seeds)
    return 1.0 / (n_seeds * per_seed[s])


def cell_weights(seed_of_cell: Sequence[int] | np.ndarray, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_draws, n_cells)`` weights of the nested seed → batch resampling (see the module docstring)."""
    s = np.asarray(seed_of_cell, int)
    n_seeds = int(s.max()) + 1
    seed_counts = rng.multinomial(n_seeds, np.full(n_seeds, 1.0 / n_seeds), size=n_draws) / n_seeds
    w = np.zeros((n_draws, s.size))
    for j in range(n_seeds):
        cells = np.flatnonzero(s == j)
        nb = cells.size
        batch_counts = rng.multinomial(nb, np.full(nb, 1.0 / nb), size=n_draws) / nb
        w[:, cells] = seed_counts[:, j : j + 1] * batch_counts
    return w


def weighted_means(w: np.ndarray, values: np.ndarray) -> np.ndarray:
    r"""Per layer :math:`\sum_c w_c V_{c\ell}` over the cells with a finite value, renormalised (NaN where none).
    ``w``: ``(n_cells,)`` or ``(n_draws, n_cells)``; ``values``: ``(n_cells, n_layers)``."""
    ok = np.isfinite(values)
    num = w @ np.where(ok, values, 0.0)
    den = w @ ok.astype(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def layer_draws(n_layers: int, n_draws: int, rng: np.random.Generator) -> np.ndarray:
    """``(n_draws, n_layers)`` layer indices drawn with replacement (a population statistic's layer level)."""
    return rng.integers(0, n_layers, size=(n_draws, n_layers))


@functools.lru_cache(maxsize=256)
def t_quantile(df: int, p: float) -> float:
    r"""The ``p`` quantile of Student's t with ``df`` degrees of freedom (``p`` > 0.5): bisection on the CDF
    :math:`\tfrac12+\int_0^t f_{df}`, the density integrated by Simpson's rule on 4001 points (error < 1e-9;
    scipy is not imported on the verifier's path)."""

    def cdf(t: float) -> float:
        x = np.linspace(0.0, t, 4001)
        c = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - 0.5 * math.log(df * math.pi)
        f = np.exp(c - (df + 1) / 2 * np.log1p(x * x / df))
        h = t / 4000
        return 0.5 + h / 3 * (f[0] + f[-1] + 4 * f[1:-1:2].sum() + 2 * f[2:-1:2].sum())

    lo, hi = 0.0, 1.0
    while cdf(hi) < p:
        lo, hi = hi, 2 * hi
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if cdf(mid) < p else (lo, mid)
    return 0.5 * (lo + hi)


def widening(n: int, level: float) -> float:
    r""":math:`c=\sqrt{n/(n-1)}\,t_{n-1,1-a}/z_{1-a}` (1 for :math:`n<2`)."""
    if n < 2:
        return 1.0
    p = 1.0 - (1.0 - level) / 2.0
    return math.sqrt(n / (n - 1.0)) * t_quantile(n - 1, p) / NormalDist().inv_cdf(p)


def interval(draws: np.ndarray, n_top: int, level: float) -> tuple[float, float]:
    """The widened percentile interval of the finite draws (NaN, NaN when there is none)."""
    d = np.asarray(draws, float)
    d = d[np.isfinite(d)]
    if not d.size:
        return math.nan, math.nan
    a = (1.0 - level) / 2.0
    q_lo, m, q_hi = (float(x) for x in np.quantile(d, [a, 0.5, 1.0 - a]))
    c = widening(n_top, level)
    return m - c * (m - q_lo), m + c * (q_hi - m)


def top_level(n_seeds: int, batches: Sequence[int], n_layers: int | None) -> int:
    """The number of units at the top level that varies: seeds (≥ 2), else the batches of the single seed,
    else the resampled layers (``n_layers``; None when layers are not resampled), else 1."""
    if n_seeds >= 2:
        return n_seeds
    if batches and max(batches) >= 2:
        return int(max(batches))
    return n_layers if n_layers and n_layers >= 2 else 1


def rows_median(m: np.ndarray) -> np.ndarray:
    """The median of every row over its finite entries (NaN for a row with none)."""
    if np.isfinite(m).all():
        return np.median(m, axis=1)
    out = np.full(m.shape[0], np.nan)
    ok = np.isfinite(m).any(axis=1)
    with np.errstate(all="ignore"):
        out[ok] = np.nanmedian(m[ok], axis=1)
    return out
