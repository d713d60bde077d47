"""Shared measurement code of the claims against its reference: the batched rank-model refit equals
:func:`theory.fits.fit_rank_models` record by record."""

from __future__ import annotations

import numpy as np
import pytest

from claims.measures.rank_models import fit_batch
from tests.claims.cases import needs_paper, paper_doc
from theory.fits import fit_rank_models


def _same(a, b) -> None:  # noqa: ANN001
    assert a.winner == b.winner and a.n == b.n and a.ok == b.ok
    for m in b.bic:
        assert a.bic[m] == pytest.approx(b.bic[m], rel=1e-10, abs=1e-10, nan_ok=True)
        assert a.rss[m] == pytest.approx(b.rss[m], rel=1e-9, abs=1e-14, nan_ok=True)
    for m, ps in b.params.items():
        for k, v in ps.items():
            assert a.params[m][k] == pytest.approx(v, rel=1e-9, abs=1e-11)


@needs_paper
def test_batched_refit_equals_the_reference_on_the_authors_sigma():
    rmt = paper_doc("rmt")
    sig = [
        np.asarray(r["sigma"], float)
        for ph in ("phase_2a_init", "phase_1b_extended_trained")
        for r in rmt[ph]["layers"]
    ]
    sig += [np.asarray(r["sigma"], float) for t in rmt["phase_2b_trajectory"] for r in t["layers"]]
    sig += [np.asarray(r["sigma"], float) for b in paper_doc("alpha_triangle") for r in b["results"]]
    assert any((s == 0).any() for s in sig)  # σ with a zero tail (rank-deficient layers) are in the batch
    for a, b in zip(fit_batch(sig), [fit_rank_models(s) for s in sig], strict=True):
        _same(a, b)


def test_batched_refit_equals_the_reference_on_edge_cases():
    rng = np.random.default_rng(0)
    k = np.arange(1, 31, dtype=float)
    noise = np.exp(0.05 * rng.standard_normal(30))  # no exact fit: an exact one has RSS at round-off level
    sig = [
        k**-1.2 * noise,  # power law
        np.exp(-0.1 * k) * noise,  # exponential
        np.r_[np.exp(-0.2 * k[:10]) * noise[:10], np.zeros(20)],  # zero tail: fitted on the first 10
        np.r_[1.0, 0.5, 0.2, np.zeros(5)],  # three positive values: not fitted
        np.r_[1.0, np.nan, 0.5, 0.2, 0.1, 0.07],  # a non-finite entry: fitted on its own
    ]
    for a, b in zip(fit_batch(sig), [fit_rank_models(s) for s in sig], strict=True):
        _same(a, b)


def test_fast_zeta_agrees_with_mpmath():
    import mpmath

    from claims.measures.participation import exact_zeta_bound, zeta, zeta_bound

    for s in (1.000001, 1.01, 1.3, 2.0, 3.7, 12.0, 60.0):
        assert zeta(s) == pytest.approx(float(mpmath.zeta(s)), rel=1e-13)
        assert zeta_bound(s) == pytest.approx(exact_zeta_bound(s), rel=1e-12)
    assert exact_zeta_bound(2.0) == 2.5 and zeta(1.0) == float("inf")
