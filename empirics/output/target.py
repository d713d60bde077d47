"""The output path: checked before any work, read only when it is a regular file, replaced atomically.

* :func:`check_output_path` — run before any measurement or training: the path must name a regular file
  (existing or new) in a folder this process can write. A folder, a character/block device (``/dev/full``,
  ``/dev/null``), a FIFO, a socket or a dangling symbolic link is refused with one line, without ever
  opening it (``os.stat`` first). Missing parent folders are created. Writability is probed by creating
  and removing a temp file beside the target — the same operation an atomic write needs.
* :func:`read_regular_text` — ``os.stat`` before ``open`` and ``fstat`` after (non-blocking open), so a FIFO,
  a device or an endless file is never read; size-bounded.
* :func:`write_text_atomic` — temp file in the same folder, ``fsync``, ``os.replace``; the temp file is
  removed on any failure (also on ``KeyboardInterrupt``). Mode: an existing file keeps its permission bits,
  a new one gets ``0o666 & ~umask`` (what ``open(path, "w")`` would give), not ``mkstemp``'s ``0o600``.
* :func:`remove_orphan_temps` — temp files named like this module's (``.<name>.<8 chars>.tmp``) left beside
  the target by a killed writer; called only while holding the output's lock.
"""

from __future__ import annotations

import os
import re
import stat
import tempfile
from pathlib import Path

__all__ = [
    "OutputError",
    "check_output_path",
    "check_output_folder",
    "read_regular_text",
    "write_text_atomic",
    "remove_orphan_temps",
    "new_file_mode",
    "MAX_READ_BYTES",
]

#: largest results file read back (a measured file is a few MB; anything far larger is not one)
MAX_READ_BYTES = 1 << 30


class OutputError(ValueError):
    """The output (or a file read back) cannot be used; the message is one line naming the path."""


def _kind(mode: int) -> str:
    for test, name in (
        (stat.S_ISDIR, "a folder"),
        (stat.S_ISCHR, "a character device"),
        (stat.S_ISBLK, "a block device"),
        (stat.S_ISFIFO, "a FIFO (named pipe)"),
        (stat.S_ISSOCK, "a socket"),
    ):
        if test(mode):
            return name
    return "not a regular file"


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def check_output_path(path: str | os.PathLike, flag: str = "--out") -> Path:
    """The resolved output path, after checking it can be written as a regular file (see module doc).

    Raises :class:`OutputError` (one line starting with ``flag``) otherwise. Never opens ``path`` itself.
    """
    raw = os.fspath(path)
    if not raw:
        raise OutputError(f"{flag}: empty path")
    if raw.endswith(os.sep):
        raise OutputError(f"{flag} {raw}: names a folder (ends with {os.sep}); give a file path")
    p = Path(raw)
    if p.is_symlink() and not p.exists():
        raise OutputError(f"{flag} {raw}: dangling symbolic link (to {os.readlink(p)})")
    p = Path(os.path.realpath(p))
    try:
        st = os.stat(p)
    except FileNotFoundError:
        st = None
    except NotADirectoryError:
        raise OutputError(f"{flag} {raw}: a folder on its path is a file") from None
    except OSError as exc:
        raise OutputError(f"{flag} {raw}: cannot inspect it ({_reason(exc)})") from None
    if st is not None and not stat.S_ISREG(st.st_mode):
        what = _kind(st.st_mode)
        hint = "; give a file path inside it" if stat.S_ISDIR(st.st_mode) else "; results go to regular files only"
        raise OutputError(f"{flag} {raw}: is {what}{hint}")
    folder = p.parent
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{flag} {raw}: cannot create folder {folder} ({_reason(exc)})") from None
    if not folder.is_dir():
        raise OutputError(f"{flag} {raw}: {folder} is not a folder")
    try:
        fd, probe = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=folder)
    except OSError as exc:
        raise OutputError(f"{flag} {raw}: cannot write in folder {folder} ({_reason(exc)})") from None
    os.close(fd)
    os.unlink(probe)
    return p


def check_output_folder(path: str | os.PathLike, flag: str = "--out") -> Path:
    """The resolved folder ``path`` after checking it is (or can be created as) a folder this process can write
    in; :class:`OutputError` (one line starting with ``flag``) otherwise."""
    raw = os.fspath(path)
    if not raw:
        raise OutputError(f"{flag}: empty path")
    p = Path(os.path.realpath(raw))
    if p.exists() and not p.is_dir():
        raise OutputError(f"{flag} {raw}: exists and is not a folder")
    try:
        p.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{flag} {raw}: cannot create the folder ({_reason(exc)})") from None
    try:
        fd, probe = tempfile.mkstemp(prefix=".write-probe.", suffix=".tmp", dir=p)
    except OSError as exc:
        raise OutputError(f"{flag} {raw}: cannot write in it ({_reason(exc)})") from None
    os.close(fd)
    os.unlink(probe)
    return p


def read_regular_text(path: str | os.PathLike, limit: int = MAX_READ_BYTES) -> str | None:
    """The UTF-8 text of ``path``; ``None`` if it does not exist. :class:`OutputError` (one line) if it is
    not a regular file, larger than ``limit`` bytes, unreadable or not UTF-8."""
    p = Path(path)
    try:
        st = os.stat(p)
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{p}: cannot inspect it ({_reason(exc)})") from None
    if not stat.S_ISREG(st.st_mode):
        raise OutputError(f"{p}: is {_kind(st.st_mode)}, not a results file")
    try:
        fd = os.open(p, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise OutputError(f"{p}: cannot read it ({_reason(exc)})") from None
    try:
        st = os.fstat(fd)  # the file opened may not be the one stat-ed
        if not stat.S_ISREG(st.st_mode):
            raise OutputError(f"{p}: is {_kind(st.st_mode)}, not a results file")
        if st.st_size > limit:
            raise OutputError(f"{p}: {st.st_size} bytes, larger than any results file ({limit} bytes)")
        chunks, total = [], 0
        while total <= limit:
            block = os.read(fd, 1 << 20)
            if not block:
                break
            chunks.append(block)
            total += len(block)
        if total > limit:
            raise OutputError(f"{p}: larger than any results file ({limit} bytes)")
    except OSError as exc:
        raise OutputError(f"{p}: cannot read it ({_reason(exc)})") from None
    finally:
        os.close(fd)
    try:
        return b"".join(chunks).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise OutputError(f"{p}: not UTF-8 text (byte {exc.start})") from None


def _umask() -> int:
    try:  # thread-safe where available (Linux >= 4.7)
        with open("/proc/self/status", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def new_file_mode(path: str | os.PathLike) -> int:
    """Permission bits for writing ``path``: an existing regular file's own, else ``0o666 & ~umask``."""
    try:
        st = os.stat(path)
        if stat.S_ISREG(st.st_mode):
            return stat.S_IMODE(st.st_mode)
    except OSError:
        pass
    return 0o666 & ~_umask()


def write_text_atomic(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` by ``text`` atomically (module doc); on failure the previous file is untouched."""
    p = Path(path)
    mode = new_file_mode(p)
    fd, tmp = tempfile.mkstemp(prefix=f".{p.name}.", suffix=".tmp", dir=p.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            os.fchmod(fh.fileno(), mode)
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _temp_pattern(name: str) -> re.Pattern[str]:
    # tempfile.mkstemp's random part: 8 characters from [a-z0-9_] (never a dot), so this cannot match the
    # temp file of another output whose name merely starts with ``name``
    return re.compile(r"\." + re.escape(name) + r"\.[a-z0-9_]{8}\.tmp")


def remove_orphan_temps(path: str | os.PathLike) -> list[str]:
    """Delete the temp files of ``path`` left by killed writers; returns their names. Call only while
    holding the output's lock (another live writer's temp file would otherwise be removed)."""
    p = Path(path)
    pattern = _temp_pattern(p.name)
    removed: list[str] = []
    try:
        names = os.listdir(p.parent)
    except OSError:
        return removed
    for name in names:
        if pattern.fullmatch(name):
            try:
                os.unlink(p.parent / name)
                removed.append(name)
            except OSError:
                pass
    return sorted(removed)
