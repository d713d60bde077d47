"""``benchmarks/speed_table.py`` renders the committed CPU results (full and brief tables) and refuses bad input
with exit status 2."""

from __future__ import annotations

import json

from benchmarks import speed_table
from tests import paths

ROUND1 = paths.ROOT / "benchmarks" / "results" / "cpu_round1"


def test_tables_from_the_committed_results():
    names = sorted(p.stem for p in ROUND1.glob("*.json"))
    assert names
    full = speed_table.table(ROUND1, names)
    brief = speed_table.table(ROUND1, names, brief=True)
    for n in names:
        r = json.loads((ROUND1 / f"{n}.json").read_text())
        assert f"| {n} |" in full
        assert f"{r['ratios']['cpu_time']['speedup_curvature']:.2f}×" in full
        assert f"{r['ratios']['cpu_time']['speedup_curvature']:.2f}×" in brief
    assert full.count("\n| ") == len(names) + 1 and brief.count("\n| ") == len(names)


def test_bad_input_exit_2(tmp_path, capsys):
    assert speed_table.main([]) == 2
    assert speed_table.main([str(tmp_path)]) == 2
    assert "no result files" in capsys.readouterr().err
