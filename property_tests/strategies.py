r"""Hypothesis strategies for the synthetic recipes A–H of docs/theory-reference.md §3.0 (float64).

Sizes and spectra are drawn per §3.0: :math:`m,n\in[2,8]`, :math:`B\in[\max(m,n)+1,64]`, power-law exponents
in :math:`[0.2,2]`, integer seeds. Draws whose singular-value gaps fall below :math:`10^{-6}` (relative to
:math:`\sigma_1`) or with :math:`\sigma_k<10^{-8}` are discarded with ``assume``: directions are not unique under
ties and logarithms need positive values.
"""

from __future__ import annotations

import numpy as np
from hypothesis import assume
from hypothesis import strategies as st

from theory import numeric as N
from theory import recipes as R

__all__ = [
    "sizes",
    "exponents",
    "seeds",
    "well_separated",
    "recipe_a",
    "recipe_b",
    "recipe_c",
    "recipe_d",
    "recipe_e",
    "recipe_f",
    "recipe_g",
    "recipe_h",
    "identity_instances",
]

GAP_TOL = 1e-6
SIGMA_TOL = 1e-8

exponents = st.floats(0.2, 2.0, allow_nan=False, allow_infinity=False)
seeds = st.integers(0, 2**32 - 1)


@st.composite
def sizes(draw, max_dim: int = 8, max_B: int = 64) -> tuple[int, int, int]:
    """(m, n, B) with m, n in [2, max_dim] and B in [max(m, n) + 1, max_B]."""
    m = draw(st.integers(2, max_dim))
    n = draw(st.integers(2, max_dim))
    B = draw(st.integers(max(m, n) + 1, max_B))
    return m, n, B


def well_separated(inst: R.Instance, K: int | None = None) -> bool:
    """True iff the top-K singular values of G are ≥ 1e-8 and pairwise separated by ≥ 1e-6 σ_1."""
    s = np.linalg.svd(N.gradient(inst.delta, inst.A), compute_uv=False)
    s = s[: (K or s.size)]
    if s.size == 0 or s[-1] < SIGMA_TOL:
        return False
    return bool(s.size < 2 or np.min(-np.diff(s)) >= GAP_TOL * s[0])


def _keep(draw, inst: R.Instance, K: int | None = None) -> R.Instance:
    assume(well_separated(inst, K))
    return inst


@st.composite
def recipe_a(draw) -> R.Instance:
    r"""Recipe A (exact alignment): :math:`\delta`, :math:`A` built on common batch directions, so
    :math:`\rho\equiv\Phi\equiv\omega\equiv1`; well-separated draws only."""
    m, n, B = draw(sizes())
    return _keep(draw, R.recipe_a(m=m, n=n, B=B, a_delta=draw(exponents), a_A=draw(exponents), seed=draw(seeds)))


@st.composite
def recipe_b(draw) -> R.Instance:
    r"""Recipe B (alignment with a prescribed :math:`\omega_k=k^{-w}`), rank :math:`r=\min(m,n,B/2)`; well-separated
    draws only."""
    m, n, B = draw(sizes())
    r = min(m, n, B // 2)
    inst = R.recipe_b(
        m=m, n=n, B=B, r=r, a_delta=draw(exponents), a_A=draw(exponents), w=draw(exponents), seed=draw(seeds)
    )
    return _keep(draw, inst, r)


@st.composite
def recipe_c(draw) -> R.Instance:
    r"""Recipe C (generic, correlated :math:`\delta` and :math:`A` with a drawn coupling): every exact identity holds
    while :math:`\rho\ne1`."""
    m, n, B = draw(sizes())
    coupling = draw(st.floats(0.0, 2.0))
    return _keep(
        draw,
        R.recipe_c(m=m, n=n, B=B, a_delta=draw(exponents), a_A=draw(exponents), coupling=coupling, seed=draw(seeds)),
    )


@st.composite
def recipe_d(draw, B: int = 50_000) -> R.Instance:
    """Recipe D at a fixed large batch (deterministic given the drawn seed); r in [3, 8], 2f_k - 1 = k^-f, f in [0.3, 1]."""
    r = draw(st.integers(3, 8))
    f = draw(st.floats(0.3, 1.0))
    return R.recipe_d(B=B, r=r, a_delta=draw(exponents), a_A=draw(exponents), f_exponent=f, seed=draw(seeds))


@st.composite
def recipe_e(draw, aligned: bool | None = None) -> R.Instance:
    r"""Recipe E (linear least squares, exact Hessian :math:`I_m\otimes C_A` known), aligned (``n = m``, noise-free) or
    with label noise; ``aligned=None`` draws which."""
    m, n, B = draw(sizes())
    if aligned is None:
        aligned = draw(st.booleans())
    if aligned:
        n = m
        B = max(B, m + 1)
    noise = 0.0 if aligned else draw(st.floats(0.0, 1.0))
    inst = R.recipe_e(
        m=m, n=n, B=B, a_A=draw(exponents), e_exponent=draw(exponents), aligned=aligned, noise=noise, seed=draw(seeds)
    )
    return _keep(draw, inst)


@st.composite
def recipe_f(draw) -> R.Instance:
    r"""Recipe F (LayerNorm-like inputs: :math:`C_A` has the null vector :math:`\mathbf 1`), label noise :math:`\tau`
    drawn; the window stops before the null direction."""
    m, n, B = draw(sizes())
    n = max(n, 3)
    B = max(B, n + 1)
    inst = R.recipe_f(m=m, n=n, B=B, tau=draw(st.floats(0.0, 1.0)), seed=draw(seeds))
    return _keep(draw, inst, min(m, n - 1))


@st.composite
def recipe_g(draw) -> R.Instance:
    r"""Recipe G (softmax cross-entropy head with :math:`c` classes): :math:`C_\delta\mathbf 1=0`, :math:`\mathbf 1^\top
    G=0`."""
    c = draw(st.integers(2, 8))
    n = draw(st.integers(2, 8))
    B = draw(st.integers(max(c, n) + 1, 64))
    return R.recipe_g(c=c, n=n, B=B, scale=draw(st.floats(0.1, 4.0)), seed=draw(seeds))


@st.composite
def recipe_h(draw) -> R.Instance:
    r"""Recipe H (separable-variance null: :math:`\delta`, :math:`A` independent Gaussian rows); well-separated draws
    only."""
    m, n, B = draw(sizes())
    return _keep(draw, R.recipe_h(m=m, n=n, B=B, a_delta=draw(exponents), a_A=draw(exponents), seed=draw(seeds)))


def identity_instances() -> st.SearchStrategy[R.Instance]:
    """Every recipe on which the exact identities must hold (A, B, C, E, H)."""
    return st.one_of(recipe_a(), recipe_b(), recipe_c(), recipe_e(), recipe_h())
