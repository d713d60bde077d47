"""The one run writer: every pipeline that writes a resumable results file (``python -m empirics measure``,
``run``, ``compare``) goes through :class:`RunWriter`.

Life of an output::

    writer = RunWriter(path, validator=validate, identity=lambda doc: doc["run"])
    writer.start()               # path checked (regular file, writable folder), lock taken, orphans removed
    old = writer.load(want)      # the existing document if identity(old) == want; None if absent
    writer.write(doc)            # after each finished part (complete: false)
    writer.write(doc, final=True)
    writer.close()               # orphans removed, lock released (also on error / interrupt)

``identity(doc)`` extracts, from a stored document, the settings that must equal this run's ``want`` for the
two to be parts of one result (only the keys of ``want`` are compared; differences are named by their dotted
path, e.g. ``k: 2 vs 3``). Before every write the file on disk is compared with what this writer last read or
wrote (device, inode, size, mtime): if someone else changed it, it is read again and the write is refused
with :class:`OutputConflict` when it now holds other settings or is complete while this document is not, so
two runs never silently replace each other's file and a complete file never regresses to a partial one. The
lock must still be this writer's (a removed or replaced lock file is a conflict too). Writes run inside the
``defer`` context (:meth:`empirics.output.interrupts.Interrupts.deferred`), so a Ctrl-C never cuts one.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from empirics.output.document import dumps_validated, loads_strict
from empirics.output.lock import OutputLock
from empirics.output.target import (
    OutputError,
    check_output_path,
    read_regular_text,
    remove_orphan_temps,
    write_text_atomic,
)
from empirics.schema import SchemaError, to_jsonable

__all__ = ["RunWriter", "ResumeError", "OutputConflict", "settings_diff", "merge_records"]


class ResumeError(OutputError):
    """An existing output cannot be resumed by this run (other settings, unreadable, or not a valid file)."""


class OutputConflict(OutputError):
    """The output changed under this run in a way that forbids writing it (see the module doc)."""


def settings_diff(stored: Any, wanted: Any, prefix: str = "") -> list[str]:
    """Leaf differences ``"path: stored vs wanted"`` between two JSON-like values (keys of both dicts)."""
    if isinstance(stored, dict) and isinstance(wanted, dict):
        out: list[str] = []
        for key in sorted(set(stored) | set(wanted), key=str):
            where = f"{prefix}.{key}" if prefix else str(key)
            if key not in stored:
                out.append(f"{where}: missing vs {wanted[key]!r}")
            elif key not in wanted:
                out.append(f"{where}: {stored[key]!r} vs missing")
            else:
                out += settings_diff(stored[key], wanted[key], where)
        return out
    if stored == wanted and type(stored) is type(wanted):
        return []
    if isinstance(stored, (int, float)) and isinstance(wanted, (int, float)) and stored == wanted:
        return [] if isinstance(stored, bool) == isinstance(wanted, bool) else [f"{prefix}: {stored!r} vs {wanted!r}"]
    return [f"{prefix or '$'}: {stored!r} vs {wanted!r}"]


def _shown(diffs: list[str], limit: int = 3) -> str:
    shown = "; ".join(d if len(d) <= 160 else d[:157] + "..." for d in diffs[:limit])
    return shown + (f"; ... ({len(diffs)} differences)" if len(diffs) > limit else "")


def merge_records(records: list[dict], new: Iterable[dict], order: list[str], key: str = "name") -> list[dict]:
    """``records`` with ``new`` appended (a record of the same ``key`` replaced), sorted by ``order``
    (names not in ``order`` last, in their previous order)."""
    merged = {r[key]: r for r in records}
    for r in new:
        merged[r[key]] = r
    rank = {n: i for i, n in enumerate(order)}
    items = list(merged.values())
    return sorted(items, key=lambda r: (rank.get(r[key], len(rank)), items.index(r)))


def _fingerprint(path: Path) -> tuple[int, int, int, int] | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


class RunWriter:
    """Writer of one resumable output file (see the module doc)."""

    def __init__(
        self,
        path: str | os.PathLike,
        *,
        validator: Callable[[Any], None],
        identity: Callable[[dict], dict],
        defer: Callable[[], contextlib.AbstractContextManager[Any]] | None = None,
        flag: str = "--out",
    ):
        self.requested = os.fspath(path)
        self.path = Path(path)
        self.validator = validator
        self.identity = identity
        self.defer = defer or contextlib.nullcontext
        self.flag = flag
        self.lock: OutputLock | None = None
        self.removed_temps: list[str] = []
        self._want: dict | None = None
        self._seen: tuple[int, int, int, int] | None = None

    # -- start / stop ----------------------------------------------------------------------------------
    def start(self) -> RunWriter:
        """Check the path (:func:`~empirics.output.target.check_output_path`), take the lock, remove orphans."""
        self.path = check_output_path(self.requested, self.flag)
        self.lock = OutputLock(self.path).acquire()
        self.removed_temps = remove_orphan_temps(self.path)
        self._seen = _fingerprint(self.path)
        return self

    def close(self) -> None:
        """Remove orphaned temp files and release the lock; idempotent."""
        if self.lock is not None:
            if self.lock.held():
                remove_orphan_temps(self.path)
            self.lock.release()
            self.lock = None

    def __enter__(self) -> RunWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- reading -------------------------------------------------------------------------------------------
    def _read(self, error: type[OutputError]) -> dict | None:
        try:
            text = read_regular_text(self.path)
            if text is None:
                return None
            doc = loads_strict(text, str(self.path))
            self.validator(doc)
        except SchemaError as exc:
            raise error(
                f"{self.path}: not a valid results file ({exc}); delete it or use another {self.flag}"
            ) from None
        except OutputError as exc:
            raise error(f"{exc}; delete it or use another {self.flag}") from None
        return doc

    def _diff(self, doc: dict, want: dict) -> list[str]:
        try:
            have = self.identity(doc)
        except (KeyError, TypeError, AttributeError, IndexError):
            have = {}
        have = have if isinstance(have, dict) else {}
        return settings_diff({k: have.get(k) for k in want}, want)

    def load(self, want: dict) -> dict | None:
        """The existing document if it was made with the settings ``want``; ``None`` if there is none.

        Raises :class:`ResumeError` (one line) when it is unreadable, invalid or made with other settings.
        ``want`` is kept: every later :meth:`write` re-checks the file on disk against it.
        """
        self._require_started()
        want = json.loads(json.dumps(to_jsonable(want), default=str))  # tuples -> lists, NaN -> null
        doc = self._read(ResumeError)
        self._want = want
        self._seen = _fingerprint(self.path)
        if doc is None:
            return None
        diffs = self._diff(doc, want)
        if diffs:
            raise ResumeError(
                f"{self.path}: exists with different settings ({_shown(diffs)}); delete it or use another {self.flag}"
            )
        return doc

    # -- writing -------------------------------------------------------------------------------------------
    def _require_started(self) -> None:
        if self.lock is None:
            raise RuntimeError("RunWriter.start() must be called first")

    def _recheck(self, final: bool) -> None:
        assert self.lock is not None
        if not self.lock.held():
            raise OutputConflict(
                f"{self.path}: its lock file {self.lock.path} was removed or replaced while this run held it; "
                "not written (another run may be writing it)"
            )
        now = _fingerprint(self.path)
        if now is None or now == self._seen:
            return
        doc = self._read(OutputConflict)
        if doc is None:
            return
        diffs = self._diff(doc, self._want or {})
        if diffs:
            raise OutputConflict(
                f"{self.path}: replaced meanwhile by a run with other settings ({_shown(diffs)}); not overwritten"
            )
        if doc.get("complete") is True and not final:
            raise OutputConflict(f"{self.path}: completed meanwhile by another run; not overwritten by a partial one")

    def write(self, doc: dict, *, final: bool = False) -> None:
        """Set ``doc["complete"] = final``, re-check the output (module doc), validate and replace it atomically."""
        self._require_started()
        doc["complete"] = bool(final)
        text = dumps_validated(doc, self.validator)
        self._recheck(final)
        with self.defer():
            write_text_atomic(self.path, text)
            self._seen = _fingerprint(self.path)
