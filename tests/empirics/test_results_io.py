"""results_io: atomic validated writes (old file kept on failure, mode from the umask), provenance with the
git dirty flag and each resumed part's own, and the optional ``measured_with`` schema field."""

from __future__ import annotations

import json
import os

import pytest

from empirics import results_io
from empirics.schema import SchemaError
from tests.cases import RESULTS_LAYER as LAYER
from tests.cases import results_doc as _doc


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


def test_provenance_records_commit_dirty_flag_and_world_size():
    prov = results_io.provenance({}, seed=0, device="cpu", dtype="float64", world_size=3)
    assert prov["world_size"] == 3 and prov["git_dirty"] in (True, False, None)
    if prov["git_commit"] is not None:  # inside a git checkout: the flag is known
        assert isinstance(prov["git_dirty"], bool)
    stamp = results_io.part_stamp(prov)
    assert set(stamp) == {"created", "git_commit", "git_dirty", "hostname", "pid", "world_size"}
    assert stamp["world_size"] == 3 and stamp["pid"] == os.getpid()


def test_git_dirty_sees_an_untracked_module(tmp_path, monkeypatch):
    import subprocess

    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(["git", "-C", str(tmp_path), "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q",
                    "--allow-empty", "-m", "x"], check=True)  # fmt: skip
    monkeypatch.setattr(results_io, "_REPO", tmp_path)
    assert results_io.git_dirty() is False
    (tmp_path / "results.json").write_text("{}")  # data files do not make the tree dirty
    assert results_io.git_dirty() is False
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "new.py").write_text("x = 1\n")
    assert results_io.git_dirty() is True


def test_resumed_provenance_keeps_every_earlier_part():
    first = results_io.provenance({"s": 1}, seed=0, device="cpu", dtype="float64")
    second = results_io.resumed_provenance(dict(first, created="t2"), first)
    third = results_io.resumed_provenance(dict(first, created="t3"), second)
    assert [p["created"] for p in third["earlier_parts"]] == [first["created"], "t2"]
    assert third["created"] == "t3" and "earlier_parts" not in third["earlier_parts"][1]
    assert results_io.resumed_provenance(first, None) == first


def test_written_file_mode_follows_the_umask(tmp_path):
    import os
    import stat

    old = os.umask(0o027)
    try:
        results_io.write_atomic(tmp_path / "a.json", _doc())
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o640
        os.chmod(tmp_path / "a.json", 0o604)  # an existing file keeps its own mode
        results_io.write_atomic(tmp_path / "a.json", _doc(k=4))
        assert stat.S_IMODE((tmp_path / "a.json").stat().st_mode) == 0o604
    finally:
        os.umask(old)
    os.umask(0o022)
    try:
        results_io.write_atomic(tmp_path / "b.json", _doc())
        assert stat.S_IMODE((tmp_path / "b.json").stat().st_mode) == 0o644
    finally:
        os.umask(old)


def test_measured_with_is_optional_and_type_checked():
    from empirics.output.document import to_jsonable
    from empirics.schema import validate as validate_file

    def validate(doc):  # as the writer does: NaN stored as null, then validated
        validate_file(to_jsonable(doc))

    validate(_doc(layers=[LAYER]))  # older files without it stay valid
    validate(_doc(layers=[dict(LAYER, measured_with={"git_dirty": True, "world_size": 2, "git_commit": None})]))
    with pytest.raises(SchemaError, match=r"measured_with.git_dirty"):
        validate(_doc(layers=[dict(LAYER, measured_with={"git_dirty": "yes"})]))
    with pytest.raises(SchemaError, match=r"\$.layers\[0\].measured_with"):
        validate(_doc(layers=[dict(LAYER, measured_with=[1])]))
