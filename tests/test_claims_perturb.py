"""Every claim with data can change its verdict: its own perturbation of the backing data flips it
(holds → fails, or fails → holds when moved towards the printed value). CLAIMS.md §5 requirement 8."""

from __future__ import annotations

from pathlib import Path

import pytest

from claims.bundle import Bundle
from claims.evaluate import evaluate
from claims.model import FAILS, HOLDS, NO_DATA
from claims.perturb import Docs
from claims.registry import REGISTRY

PAPER = Path(__file__).resolve().parents[2] / "shared" / "paper-results"
if not PAPER.is_dir():
    PAPER = Path("/work/shared/paper-results")
pytestmark = pytest.mark.skipif(not PAPER.is_dir(), reason="../shared/paper-results not present")

_BASE: dict = {}


def _base(cid: str):
    if "bundle" not in _BASE:
        _BASE["bundle"] = Bundle(PAPER)
    return evaluate(REGISTRY[cid], _BASE["bundle"])


WITH_DATA = [c.id for c in REGISTRY.values() if c.check is not None and c.data != "analytic"]


def test_every_claim_with_data_declares_a_perturbation():
    lacking = [c.id for c in REGISTRY.values() if c.check is not None and c.data != "analytic" and c.perturb is None]
    assert not lacking, f"claims with data but no perturbation: {lacking}"


@pytest.mark.parametrize("cid", WITH_DATA)
def test_perturbation_flips_verdict(cid, tmp_path):
    claim = REGISTRY[cid]
    before = _base(cid)
    if before.verdict == NO_DATA:
        pytest.skip("no applicable data in the authors' bundle (law with no layers of its type)")
    docs = Docs(PAPER)
    claim.perturb(docs, before)
    after = evaluate(claim, Bundle(docs.write(tmp_path / "r")))
    want = FAILS if before.verdict == HOLDS else HOLDS
    assert after.verdict == want, (
        f"{cid}: {before.verdict} (measured {before.measured}) → {after.verdict} (measured {after.measured})"
    )
