"""empirics.output: the output path checks (no device, FIFO or folder is ever opened), strict JSON read-back,
orphaned temp files, the lock (held → named holder; dead holder → taken over), the writer's re-checks before
each write, and the interrupt handler (later signals ignored, writes not cut)."""

from __future__ import annotations

import json
import os
import signal
import socket

import pytest

from empirics.output import (
    Interrupts,
    LockHeld,
    OutputConflict,
    OutputError,
    OutputLock,
    ResumeError,
    RunWriter,
    check_output_path,
    read_regular_text,
    settings_diff,
)
from empirics.output.document import loads_strict
from empirics.output.target import check_output_folder, remove_orphan_temps, write_text_atomic
from empirics.output.writer import merge_records
from empirics.schema import to_jsonable
from tests.cases import RESULTS_LAYER as LAYER
from tests.cases import results_doc as _doc
from tests.empirics.lock_holder import start_holder


@pytest.fixture
def fifo(tmp_path):
    p = tmp_path / "pipe.json"
    os.mkfifo(p)
    return p


# -- the path ------------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda t: "/dev/full", "is a character device"),
        (lambda t: "/dev/null", "is a character device"),
        (lambda t: str(t), "is a folder"),
        (lambda t: str(t) + "/", "names a folder"),
        (lambda t: "", "empty path"),
        (lambda t: (t / "f").write_text("x") and str(t / "f" / "r.json"), "f/r.json"),
    ],
    ids=["dev-full", "dev-null", "folder", "trailing-slash", "empty", "parent-is-a-file"],
)
def test_unusable_output_paths_are_refused_in_one_line(tmp_path, make, message):
    with pytest.raises(OutputError, match=message) as exc:
        check_output_path(make(tmp_path))
    assert "\n" not in str(exc.value) and str(exc.value).startswith("--out")


def test_fifo_and_dangling_symlink_refused_without_opening(tmp_path, fifo):
    with pytest.raises(OutputError, match="FIFO"):
        check_output_path(fifo)  # opening a FIFO would block: this returns at once
    with pytest.raises(OutputError, match="FIFO"):
        read_regular_text(fifo)
    with pytest.raises(OutputError, match="character device"):
        read_regular_text("/dev/zero")  # an endless file is never read
    link = tmp_path / "link.json"
    link.symlink_to(tmp_path / "nowhere" / "x.json")
    with pytest.raises(OutputError, match="dangling symbolic link"):
        check_output_path(link)


def test_output_path_creates_folders_and_follows_a_symlink(tmp_path):
    p = check_output_path(tmp_path / "a" / "b" / "r.json")
    assert p.parent.is_dir() and not p.exists() and list(p.parent.iterdir()) == []  # the probe is gone
    target = tmp_path / "real.json"
    target.write_text("{}")
    (tmp_path / "alias.json").symlink_to(target)
    assert check_output_path(tmp_path / "alias.json") == target.resolve()
    with pytest.raises(OutputError, match="not a folder"):
        check_output_folder(target, "--checkpoint-dir")


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_unwritable_folder_refused(tmp_path):
    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        with pytest.raises(OutputError, match="cannot write in folder"):
            check_output_path(ro / "r.json")
    finally:
        ro.chmod(0o700)


def test_unwritable_location_refused_even_for_root():
    with pytest.raises(OutputError, match="--out /proc/"):
        check_output_path("/proc/sad-verify-test/r.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"a": 1, "a": 2}', "duplicate key 'a'"),
        ('{"a": NaN}', "non-finite number NaN"),
        ('{"a": -Infinity}', "non-finite number -Infinity"),
        ('{"a": 1e400}', "overflows to infinity"),
        ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
        ("{not json", "invalid JSON"),
    ],
    ids=["duplicate-key", "nan", "infinity", "overflow", "deep", "syntax"],
)
def test_strict_json_read_back(text, message):
    with pytest.raises(OutputError, match=message) as exc:
        loads_strict(text, "f.json")
    assert "\n" not in str(exc.value) and str(exc.value).startswith("f.json: ")


def test_orphaned_temp_files_of_this_output_only_are_removed(tmp_path):
    out = tmp_path / "r.json"
    mine = [".r.json.ab12cd_9.tmp", ".r.json.zzzzzzzz.tmp"]
    others = [".r.json.x.json.ab12cd_9.tmp", ".r.jsonab12cd_9.tmp", ".q.json.ab12cd_9.tmp", "r.json", "notes.tmp"]
    for n in mine + others:
        (tmp_path / n).write_text("x")
    assert remove_orphan_temps(out) == sorted(mine)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(others)


def test_failed_write_leaves_no_temp_file(tmp_path, monkeypatch):
    out = tmp_path / "r.json"
    write_text_atomic(out, "old")

    def boom(*a):
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        write_text_atomic(out, "new")
    assert out.read_text() == "old" and [p.name for p in tmp_path.iterdir()] == ["r.json"]


# -- the lock ----------------------------------------------------------------------------------------------
def test_a_live_holder_is_named_and_a_dead_one_is_taken_over(tmp_path):
    target = tmp_path / "r.json"
    holder = start_holder(target)
    try:
        with pytest.raises(LockHeld) as exc:
            OutputLock(target).acquire()
        msg = str(exc.value)
        assert f"pid {holder.pid} on {socket.gethostname()}" in msg and "\n" not in msg
    finally:
        holder.stdin.close()
        holder.wait(timeout=60)
    assert not (tmp_path / "r.json.lock").exists()  # released and removed
    holder = start_holder(target)
    holder.kill()  # dies holding it: the lock file stays, the kernel drops the lock
    holder.wait(timeout=60)
    assert (tmp_path / "r.json.lock").exists()
    with OutputLock(target) as lock:
        assert lock.recovered is not None and lock.recovered["pid"] == holder.pid
        assert json.loads((tmp_path / "r.json.lock").read_text())["pid"] == os.getpid()
    assert not (tmp_path / "r.json.lock").exists()


def test_two_writers_in_one_process_conflict(tmp_path):
    with OutputLock(tmp_path / "r.json"):
        with pytest.raises(LockHeld, match=f"pid {os.getpid()}"):
            OutputLock(tmp_path / "r.json").acquire()
    with OutputLock(tmp_path / "r.json"):  # free again
        pass


def test_a_lock_path_that_is_not_a_file_is_refused(tmp_path):
    (tmp_path / "r.json.lock").mkdir()
    with pytest.raises(OutputError, match="lock file"):
        OutputLock(tmp_path / "r.json").acquire()


# -- the writer --------------------------------------------------------------------------------------------
def _writer(path):
    from empirics.schema import validate

    return RunWriter(path, validator=validate, identity=lambda d: d["run"])


def test_writer_resume_check_names_the_difference(tmp_path):
    out = tmp_path / "r.json"
    with _writer(out) as w:
        assert w.load(_doc()["run"]) is None
        w.write(_doc(layers=[LAYER]))
    with _writer(out) as w:
        assert w.load(_doc()["run"])["layers"][0]["name"] == "fc"
        with pytest.raises(ResumeError, match=r"different settings \(k: 3 vs 4\)"):
            w.load(_doc(k=4)["run"])
    out.write_text('{"schema": "sad-results/2"}')
    with _writer(out) as w, pytest.raises(ResumeError, match=r"not a valid results file.*schema"):
        w.load(_doc()["run"])


def test_writer_refuses_to_overwrite_a_file_replaced_with_other_settings(tmp_path):
    out = tmp_path / "r.json"
    with _writer(out) as w:
        w.load(_doc()["run"])
        w.write(_doc(layers=[LAYER]))
        before = out.read_text()
        w.write(_doc(layers=[LAYER]))  # unchanged on disk since the last write: written
        other = _doc(k=7, layers=[LAYER])  # a writer that ignored the lock replaces it
        out.write_text(json.dumps(to_jsonable(other)))
        with pytest.raises(OutputConflict, match=r"other settings \(k: 7 vs 3\)"):
            w.write(_doc(layers=[LAYER]))
        assert json.loads(out.read_text())["run"]["k"] == 7 and before


def test_a_complete_file_never_regresses_to_a_partial_one(tmp_path):
    out = tmp_path / "r.json"
    with _writer(out) as w:
        w.load(_doc()["run"])
        w.write(_doc())
        done = _doc(complete=True, layers=[LAYER])
        out.write_text(json.dumps(to_jsonable(done)))  # completed meanwhile by another (lock-ignoring) run
        with pytest.raises(OutputConflict, match="completed meanwhile"):
            w.write(_doc())
        w.write(_doc(layers=[LAYER]), final=True)  # a complete one may replace it
    assert json.loads(out.read_text())["complete"] is True


def test_a_removed_lock_file_stops_the_writer(tmp_path):
    out = tmp_path / "r.json"
    with _writer(out) as w:
        w.load(_doc()["run"])
        (tmp_path / "r.json.lock").unlink()
        with pytest.raises(OutputConflict, match="lock file"):
            w.write(_doc())
    assert not out.exists()


def test_writer_start_checks_the_path_and_sweeps_orphans(tmp_path):
    (tmp_path / ".r.json.abcdefgh.tmp").write_text("half")
    with _writer(tmp_path / "r.json") as w:
        assert w.removed_temps == [".r.json.abcdefgh.tmp"]
    with pytest.raises(OutputError, match="FIFO"):
        os.mkfifo(tmp_path / "p.json")
        _writer(tmp_path / "p.json").start()


def test_settings_diff_and_merge_records():
    assert settings_diff({"a": 1, "b": {"c": [1, 2]}}, {"a": 1.0, "b": {"c": [1, 2]}}) == []
    assert settings_diff({"a": {"b": 1}}, {"a": {"b": 2, "c": 3}}) == ["a.b: 1 vs 2", "a.c: missing vs 3"]
    assert settings_diff({"a": True}, {"a": 1}) == ["a: True vs 1"]
    recs = merge_records([{"name": "b"}, {"name": "x"}], [{"name": "a"}, {"name": "b", "v": 1}], ["a", "b"])
    assert recs == [{"name": "a"}, {"name": "b", "v": 1}, {"name": "x"}]


# -- interrupts ----------------------------------------------------------------------------------------------
def test_first_signal_interrupts_later_ones_are_ignored():
    with Interrupts() as stop:
        with pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGTERM)  # the handler runs at the next bytecode
            for _ in range(1000):
                pass
        os.kill(os.getpid(), signal.SIGINT)  # a second Ctrl-C: no exception
        for _ in range(1000):
            pass
        assert stop.received == ["SIGTERM", "SIGINT"]
    assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN  # stays ignored while the process winds down
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_a_signal_during_a_write_is_raised_after_it():
    done = []
    with Interrupts() as stop, pytest.raises(KeyboardInterrupt):
        with stop.deferred():
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):
                pass
            done.append("write finished")
    assert done == ["write finished"]
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)


def test_handlers_restored_when_nothing_was_received():
    before = signal.getsignal(signal.SIGINT)
    with Interrupts():
        assert signal.getsignal(signal.SIGINT) != before
    assert signal.getsignal(signal.SIGINT) == before
