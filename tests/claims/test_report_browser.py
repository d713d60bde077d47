"""The report as a browser renders it: headless Chromium (Debian's ``chromium`` package) opens
``index.html`` from disk with the network disabled; every ``<img>`` must have loaded (``complete`` and
``naturalWidth > 0``), the claim table must hold every claim id, and clicking a header must sort.

Skipped when no Chromium is installed, except under CI (``CI`` set), where a missing browser fails."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from claims.cli import main
from claims.registry import REGISTRY
from tests import paths
from tests.cdp_pipe import Chromium, find_chromium

ROOT = paths.ROOT
RESULTS = ROOT / "results"
PAPER = paths.PAPER
if not PAPER.is_dir():
    PAPER = Path("/work/shared/paper-results")


@pytest.fixture(scope="module")
def page(tmp_path_factory):
    exe = find_chromium()
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but no Chromium was found (install Debian's `chromium` package)", pytrace=False)
        pytest.skip("no Chromium installed (Debian: apt-get install chromium); set CHROMIUM=/path to use another")
    out = tmp_path_factory.mktemp("report") / "rep"
    argv = ["report", "--results", str(RESULTS), "--out", str(out)]
    if PAPER.is_dir():
        argv += ["--compare", str(PAPER)]
    assert main(argv) == 0
    with Chromium(exe) as b:
        b.open((out / "index.html").as_uri())
        yield b


def test_every_figure_loads(page):
    imgs = page.eval(
        "Array.from(document.images).map(i => ({src: i.getAttribute('src'), ok: i.complete && i.naturalWidth > 0}))"
    )
    n_missing = page.eval("document.querySelectorAll('[data-missing]').length")
    folders = 2 if PAPER.is_dir() else 1
    assert len(imgs) + n_missing == 7 * folders  # six figure types and the law intervals
    assert len(imgs) >= 7
    bad = [i["src"] for i in imgs if not i["ok"]]
    assert not bad, f"images that did not load: {bad}"


def test_claim_table_holds_every_claim_id(page):
    ids = page.eval("Array.from(document.querySelectorAll('#claims-table code.claim-id')).map(c => c.textContent)")
    assert sorted(ids) == sorted(REGISTRY)
    verdicts = page.eval("Array.from(document.querySelectorAll('#claims-table td[class^=v-]')).map(c => c.textContent)")
    assert set(v.replace(" (proxy)", "") for v in verdicts) <= {"holds", "fails", "inconclusive", "no data"}


def test_clicking_a_header_sorts_the_layer_table(page):
    js = (  # column 3 is α
        "(() => {const t = document.getElementById('layers-0'); t.tHead.rows[0].cells[3].click();"
        " return Array.from(t.tBodies[0].rows).map(r => r.cells[3].getAttribute('data-v'));})()"
    )
    vals = page.eval(js)
    nums = [float(v) for v in vals if v]
    assert len(nums) > 10 and nums == sorted(nums)
    assert all(v for v in vals[: len(nums)])  # blanks sort last
    again = page.eval(js)  # second click: descending
    nums2 = [float(v) for v in again if v]
    assert nums2 == sorted(nums2, reverse=True)
