"""results_io: atomic validated writes (old file kept on failure), provenance, resume checks."""

from __future__ import annotations

import json

import pytest

from empirics import results_io
from empirics.schema import SchemaError


def _doc(k=3, complete=False, layers=()):
    return {
        "schema": "sad-results/1",
        "complete": complete,
        "run": {
            "model": "mlp",
            "architecture": "mlp",
            "dataset": "digits",
            "dataset_kind": "real",
            "task": "classification",
            "batch_size": 8,
            "k": k,
            "dtype": "float64",
            "device": "cpu",
            "seed": 0,
        },
        "provenance": results_io.provenance({"x": 1}, seed=0, device="cpu", dtype="float64"),
        "layers": list(layers),
    }


LAYER = {
    "name": "fc",
    "layer_type": "dense",
    "shape": [2, 3],
    "k": 2,
    "sigma": [2.0, 1.0],
    "h_exact": [1.0, float("nan")],
}


def test_write_atomic_roundtrip_nan_as_null(tmp_path):
    p = tmp_path / "sub" / "r.json"
    results_io.write_atomic(p, _doc(layers=[LAYER]))
    got = json.loads(p.read_text())
    assert got["layers"][0]["h_exact"] == [1.0, None]
    assert [f.name for f in p.parent.iterdir()] == ["r.json"]


def test_failed_serialisation_keeps_old_file(tmp_path):
    p = tmp_path / "r.json"
    results_io.write_atomic(p, _doc())
    before = p.read_bytes()
    bad = _doc(layers=[dict(LAYER, extra=object())])  # not JSON-serialisable
    with pytest.raises(TypeError):
        results_io.write_atomic(p, bad)
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]  # no temp file left behind


def test_invalid_document_is_not_written(tmp_path):
    p = tmp_path / "r.json"
    results_io.write_atomic(p, _doc())
    before = p.read_bytes()
    bad = _doc(layers=[dict(LAYER, layer_type="nonsense")])
    with pytest.raises(SchemaError, match="layer_type"):
        results_io.write_atomic(p, bad)
    assert p.read_bytes() == before


def test_failure_during_replace_keeps_old_file(tmp_path, monkeypatch):
    p = tmp_path / "r.json"
    results_io.write_atomic(p, _doc())
    before = p.read_bytes()

    def boom(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(results_io.os, "replace", boom)
    with pytest.raises(OSError, match="disk full"):
        results_io.write_atomic(p, _doc(k=5))
    assert p.read_bytes() == before
    assert [f.name for f in tmp_path.iterdir()] == ["r.json"]


def test_provenance_fields():
    prov = results_io.provenance({"bn_mode": "eval"}, seed=3, device="cpu", dtype="float64")
    for key in ("versions", "git_commit", "created", "hostname", "command", "device_name", "settings"):
        assert key in prov
    assert prov["seed"] == 3 and prov["dtype"] == "float64" and prov["settings"] == {"bn_mode": "eval"}
    assert {"python", "torch", "numpy"} <= set(prov["versions"])


def test_load_for_resume(tmp_path):
    p = tmp_path / "r.json"
    assert results_io.load_for_resume(p, _doc()["run"]) is None
    results_io.write_atomic(p, _doc(layers=[LAYER]))
    got = results_io.load_for_resume(p, _doc()["run"])
    assert got["layers"][0]["name"] == "fc"
    with pytest.raises(results_io.ResumeError, match=r"different settings \(k: 3 vs 4\)") as exc:
        results_io.load_for_resume(p, _doc(k=4)["run"])
    assert "\n" not in str(exc.value)
    p.write_text("{not json")
    with pytest.raises(results_io.ResumeError, match="unreadable"):
        results_io.load_for_resume(p, _doc()["run"])
