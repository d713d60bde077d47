"""The records comparison used to show that a re-measurement reproduces a shipped results file."""

from __future__ import annotations

import copy
import json

from benchmarks.records_agree import compare_records, main
from tests import paths


def test_a_file_agrees_with_itself_and_a_perturbation_is_found(tmp_path):
    doc = json.loads((paths.RESULTS / "resnet18_digits_e0_s0_b0.json").read_text())
    same = compare_records(doc, doc)
    assert same["mismatch"] == [] and max(same["scaled"].values()) == 0.0 and same["layers"] == 4
    bumped = copy.deepcopy(doc)
    bumped["layers"][1]["h_exact"][3] *= 1 + 1e-8
    bumped["layers"][2]["diagnostics"]["notes"].append("extra")
    r = compare_records(bumped, doc)
    assert 1e-9 < r["elementwise"]["h_exact"] < 2e-8 and len(r["mismatch"]) == 1
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "f.json").write_text(json.dumps(bumped))
    (tmp_path / "b" / "f.json").write_text(json.dumps(doc))
    assert main([str(tmp_path / "b"), str(tmp_path / "b"), "f.json"]) == 0
    assert main([str(tmp_path / "a"), str(tmp_path / "b"), "f.json"]) == 1
