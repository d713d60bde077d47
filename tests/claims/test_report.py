"""``python -m claims report``: builds from the paper's files and the shipped results (timed, printed), the
--compare columns, figures without data listed as missing (never drawn), bad input (exit 2, one line), the
output folder replaced only when complete, and ``verify`` never importing matplotlib."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from claims.bundle import FILE_KEYS
from claims.cli import main
from claims.registry import REGISTRY
from tests import paths

ROOT = paths.ROOT
RESULTS = ROOT / "results"
PAPER = paths.PAPER
if not PAPER.is_dir():
    PAPER = Path("/work/shared/paper-results")
needs_paper = pytest.mark.skipif(not PAPER.is_dir(), reason="../shared/paper-results not present")
FIGS = (
    "fig1_h_vs_sigma",
    "fig2_alpha_triangle",
    "fig3_rank_profiles",
    "fig4_phase_transition",
    "fig5_alpha_vs_depth",
    "fig6_kron_quality",
)


def run_cli(*args: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT), OMP_NUM_THREADS="1")
    return subprocess.run(
        [sys.executable, "-m", "claims", *args], capture_output=True, text=True, cwd=ROOT, env=env, timeout=120
    )


def build(results: Path, out: Path, compare: Path | None = None) -> tuple[str, float]:
    argv = ["report", "--results", str(results), "--out", str(out)]
    if compare is not None:
        argv += ["--compare", str(compare)]
    t0 = time.perf_counter()
    assert main(argv) == 0
    dt = time.perf_counter() - t0
    print(f"\nreport {results.name}" + (f" --compare {compare.name}" if compare else "") + f": {dt:.1f} s")
    return (out / "index.html").read_text(encoding="utf-8"), dt


@pytest.fixture
def small(tmp_path) -> Path:
    """A results folder holding one shipped project file (a fast build)."""
    d = tmp_path / "small"
    d.mkdir()
    shutil.copy(RESULTS / "mlp_digits.json", d)
    return d


def claim_ids_in(page: str) -> set[str]:
    return set(re.findall(r'<tr data-claim="([^"]+)"', page))


def assert_self_contained(page: str, out: Path) -> None:
    assert not re.search(r'(src|href)="(https?:)?//', page), "external URL in the report"
    assert "<link" not in page and "@import" not in page
    for src in re.findall(r'<img src="([^"]+)"', page):
        assert "/" not in src and (out / src).is_file() and (out / src).stat().st_size > 1000, src


# -- builds ---------------------------------------------------------------------------------------------
@needs_paper
def test_report_from_paper_results(tmp_path):
    out = tmp_path / "rep"
    page, _ = build(PAPER, out)
    assert_self_contained(page, out)
    assert claim_ids_in(page) == set(REGISTRY)
    for f in FIGS:  # the authors' folder holds data for all six figure types
        assert (out / f"results-{f}.png").is_file(), f
    # … and no project measurement: the law-interval figure is listed as missing, the only one
    assert re.findall(r'data-missing="([^"]+)"', page) == ["fig7_law_intervals"]
    # Fig. 1 is drawn from the paper's own panel layers and says so
    assert "results_alpha_triangle.json → [block].results[name].sigma, h_exact" in page


def test_report_from_shipped_results(tmp_path):
    out = tmp_path / "rep"
    page, _ = build(RESULTS, out)
    assert_self_contained(page, out)
    assert claim_ids_in(page) == set(REGISTRY)
    for f in (*FIGS, "fig7_law_intervals"):  # the project's files: the law intervals too
        assert (out / f"results-{f}.png").is_file(), f
    assert "95% ci" in page and "v-inconclusive" in page
    # every project layer is in the per-layer table
    docs = [json.loads(p.read_text()) for p in RESULTS.glob("*.json")]
    n_layers = sum(len(d["layers"]) for d in docs if d.get("schema") == "sad-results/1")
    assert page.count("<tr><td title=") == n_layers


@needs_paper
def test_compare_puts_both_folders_side_by_side(tmp_path):
    out = tmp_path / "rep"
    page, _ = build(RESULTS, out, PAPER)
    assert_self_contained(page, out)
    for d in (RESULTS, PAPER):
        assert f"<th>value ({d})</th>" in page and f"<th>verdict ({d})</th>" in page
        assert f"<th>replication ({d})</th>" in page
    rows = re.findall(r'<tr data-claim="[^"]+">(.*?)</tr>', page)
    assert len(rows) == len(REGISTRY)
    assert all(r.count("<td") == 5 + 3 * 2 for r in rows)
    for f in FIGS:
        assert (out / f"results-{f}.png").is_file() and (out / f"compare-{f}.png").is_file(), f
    # the verdicts shown are the ones `verify --json` computes
    r = run_cli("verify", "--json", "--results", str(PAPER))
    want = {row["id"]: row["verdict"] for row in json.loads(r.stdout) if row["kind"] != "integrity"}
    shown = dict(re.findall(r'<tr data-claim="([^"]+)">(?:.*?<td class="v-[^"]*"[^>]*>){2}([^<]+)</td>', page))
    assert len(shown) == len(REGISTRY)
    assert {k: v.replace(" (proxy)", "") for k, v in shown.items()} == want


# -- figures without data ------------------------------------------------------------------------------
def test_a_figure_without_data_is_listed_not_drawn(tmp_path, small):
    one = small  # one network, one checkpoint: no trajectory
    out = tmp_path / "rep"
    page, _ = build(one, out)
    assert 'data-missing="fig4_phase_transition"' in page
    assert f"no data in {one}: needs a training trajectory" in page
    assert not (out / "results-fig4_phase_transition.png").exists()
    assert (out / "results-fig1_h_vs_sigma.png").is_file()
    assert claim_ids_in(page) == set(REGISTRY)


@needs_paper
def test_only_one_author_file_draws_only_its_figure(tmp_path):
    one = tmp_path / "one"
    one.mkdir()
    shutil.copy(PAPER / FILE_KEYS["kfac_prediction"], one)
    out = tmp_path / "rep"
    page, _ = build(one, out)
    assert (out / "results-fig6_kron_quality.png").is_file()
    for f in FIGS[:5]:
        assert f'data-missing="{f}"' in page and not (out / f"results-{f}.png").exists(), f
    assert "results_kfac_prediction.json → layers[].alpha_gap, kronecker_slack, r2_exact" in page


# -- bad input -----------------------------------------------------------------------------------------
def _one_line_error(r: subprocess.CompletedProcess) -> str:
    assert r.returncode == 2, (r.returncode, r.stderr)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), r.stderr
    return lines[0]


def test_missing_folder_exits_2(tmp_path):
    line = _one_line_error(run_cli("report", "--results", str(tmp_path / "nope"), "--out", str(tmp_path / "rep")))
    assert "nope" in line and not (tmp_path / "rep").exists()


def test_empty_folder_exits_2(tmp_path):
    (tmp_path / "empty").mkdir()
    line = _one_line_error(run_cli("report", "--results", str(tmp_path / "empty"), "--out", str(tmp_path / "rep")))
    assert "holds no results file" in line


def test_malformed_json_names_the_file_and_keeps_the_old_report(tmp_path, small):
    out = tmp_path / "rep"
    build(small, out)
    before = (out / "index.html").read_bytes()
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / FILE_KEYS["kfac_prediction"]).write_text('{"n_layers": 5, ')
    line = _one_line_error(run_cli("report", "--results", str(bad), "--out", str(out)))
    assert FILE_KEYS["kfac_prediction"] in line and "malformed JSON" in line
    assert (out / "index.html").read_bytes() == before


def test_malformed_compare_folder_exits_2(tmp_path):
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "mine.json").write_text(json.dumps({"schema": "sad-results/1", "complete": True}))
    line = _one_line_error(
        run_cli("report", "--results", str(RESULTS), "--compare", str(bad), "--out", str(tmp_path / "rep"))
    )
    assert "mine.json" in line and "$.run" in line


def test_a_folder_not_written_by_report_is_never_replaced(tmp_path):
    other = tmp_path / "mine"
    other.mkdir()
    (other / "notes.txt").write_text("keep me")
    line = _one_line_error(run_cli("report", "--results", str(RESULTS), "--out", str(other)))
    assert "refusing to replace it" in line
    assert (other / "notes.txt").read_text() == "keep me"
    # nor the results folder itself
    _one_line_error(run_cli("report", "--results", str(RESULTS), "--out", str(RESULTS)))


def test_a_failure_while_drawing_leaves_the_old_report_and_no_temp_folder(tmp_path, small, monkeypatch):
    out = tmp_path / "rep"
    build(small, out)
    before = sorted(p.name for p in out.iterdir())
    html_before = (out / "index.html").read_bytes()
    from claims.htmlreport import plots

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(plots, "render", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        main(["report", "--results", str(small), "--out", str(out)])
    assert sorted(p.name for p in out.iterdir()) == before
    assert (out / "index.html").read_bytes() == html_before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "small"]


def test_rebuild_replaces_a_previous_report(tmp_path, small):
    out = tmp_path / "rep"
    build(small, out)
    (out / "stale.png").write_bytes(b"x")
    build(small, out)
    assert not (out / "stale.png").exists() and (out / "index.html").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["rep", "small"]


# -- import hygiene --------------------------------------------------------------------------------------
def test_verify_does_not_import_matplotlib():
    code = (
        "import sys, io, contextlib; import claims.cli, claims.htmlreport; "
        "buf = io.StringIO()\n"
        "with contextlib.redirect_stdout(buf): claims.cli.main(['verify', '--results', 'results/'])\n"
        "bad = [m for m in ('matplotlib', 'torch') if m in sys.modules]; assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=60)
    assert r.returncode == 0, r.stderr


def test_an_unwritable_out_is_one_error_line(tmp_path, small):
    (tmp_path / "afile").write_text("x")
    line = _one_line_error(run_cli("report", "--results", str(small), "--out", str(tmp_path / "afile" / "rep")))
    assert "cannot create the output folder" in line
    line = _one_line_error(run_cli("report", "--results", str(small), "--out", str(tmp_path / "afile")))
    assert "is not a folder" in line


def test_report_path_imports_no_torch(tmp_path, small):
    code = (
        "import sys, io, contextlib, claims.cli\n"
        f"assert claims.cli.main(['report', '--results', {str(small)!r}, '--out', {str(tmp_path / 'rep')!r}]) == 0\n"
        "assert 'matplotlib' in sys.modules\n"
        "bad = [m for m in ('torch', 'sympy') if m in sys.modules]; assert not bad, bad"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)
    assert r.returncode == 0, r.stderr


def test_replicated_networks_get_error_bars_and_the_law_figure(tmp_path):
    """A network measured on 3 seeds × 2 batches is one panel of the α-vs-depth figure with a 95 % interval per
    layer, and its law statistic is drawn with its interval; the replication column is in the claims table."""
    from claims.bundle import Bundle
    from claims.context import Context
    from claims.evaluate import evaluate
    from claims.htmlreport.figdata import fig_alpha_vs_depth
    from claims.htmlreport.figlaws import fig_law_intervals
    from tests.claims.cases import layer, replicated, write

    def layers_of(s, b):
        return [layer(f"c{i}", "conv", 1.9 + 0.1 * s + 0.01 * b + 0.02 * i, seed=i) for i in range(5)]

    folder = write(tmp_path / "r", replicated("net", layers_of, 3, 2))
    bundle = Bundle(folder)
    (p,) = fig_alpha_vs_depth(bundle).panels
    assert p.network == "net" and p.lo is not None and all(p.lo < p.alpha) and all(p.alpha < p.hi)
    claims = [REGISTRY["abs.alpha.conv_approx2"]]
    f = fig_law_intervals(claims, [evaluate(claims[0], bundle, Context())])
    (lp,) = f.panels
    (u,) = lp.units
    assert lp.claim == "abs.alpha.conv_approx2" and u.lo < u.point < u.hi and not u.frozen
    page, _ = build(folder, tmp_path / "rep")
    assert (tmp_path / "rep" / "results-fig7_law_intervals.png").is_file()
    assert f"<th>replication ({folder})</th>" in page
