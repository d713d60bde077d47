"""An exclusive lock on one output file: ``<output>.lock`` beside it, held with ``flock`` for the run's life.

Acquire: open (create) the lock file, take a non-blocking exclusive ``flock`` on it, then check that the path
still names the file locked (another process may have just released and removed it; then retry). The holder
writes ``{"pid", "host", "since", "command"}`` into it. A second run finds the lock taken and raises
:class:`LockHeld` naming that holder. The kernel drops a ``flock`` when its process dies, so a lock file left by
a killed run is simply taken over (:attr:`OutputLock.recovered` records who had left it). Release: remove the
file, then drop the lock. One process taking the same lock twice also conflicts (each acquisition is its own
open file), so two writers inside one process are refused too.

Limits: ``flock`` is advisory (only writers that take the lock are excluded); on a network file system it is
as reliable as that system's lock support.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
import stat
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from empirics.output.target import OutputError

__all__ = ["OutputLock", "LockHeld", "lock_path"]

_RETRIES = 20


class LockHeld(OutputError):
    """Another live process holds the output's lock; the message names it (pid, host, since when)."""


def lock_path(target: str | os.PathLike) -> Path:
    """``<target>.lock`` beside the target."""
    p = Path(target)
    return p.with_name(p.name + ".lock")


def _read_holder(fd: int) -> dict[str, Any]:
    try:
        raw = os.pread(fd, 4096, 0)
        info = json.loads(raw.decode("utf-8")) if raw.strip() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return info if isinstance(info, dict) else {}


def _describe(info: dict[str, Any]) -> str:
    if not info:
        return "holder unknown"
    return f"pid {info.get('pid', '?')} on {info.get('host', '?')}, since {info.get('since', '?')}"


class OutputLock:
    """Exclusive lock on ``target`` (see the module doc); a context manager."""

    def __init__(self, target: str | os.PathLike):
        self.target = Path(target)
        self.path = lock_path(self.target)
        self.fd: int | None = None
        self.recovered: dict[str, Any] | None = None

    def acquire(self) -> OutputLock:
        """Take the lock or raise :class:`LockHeld` / :class:`OutputError` (one line)."""
        flags = os.O_RDWR | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
        for _ in range(_RETRIES):
            try:
                fd = os.open(self.path, flags, 0o666)
            except OSError as exc:
                raise OutputError(f"{self.path}: cannot create the lock file ({exc.strerror})") from None
            st = os.fstat(fd)
            if not stat.S_ISREG(st.st_mode):
                os.close(fd)
                raise OutputError(f"{self.path}: the lock file is not a regular file")
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                info = _read_holder(fd)
                for _ in range(10):  # the holder writes its name right after locking
                    if info:
                        break
                    time.sleep(0.02)
                    info = _read_holder(fd)
                os.close(fd)
                raise LockHeld(
                    f"{self.target}: another run is writing it ({_describe(info)}; lock file {self.path}); "
                    "wait for it to finish or use another output"
                ) from None
            try:
                now = os.stat(self.path, follow_symlinks=False)
            except FileNotFoundError:
                now = None
            if now is None or (now.st_dev, now.st_ino) != (st.st_dev, st.st_ino):
                os.close(fd)  # released and removed by its holder meanwhile: take the new one
                continue
            previous = _read_holder(fd)
            self.recovered = previous or None
            info = {
                "pid": os.getpid(),
                "host": socket.gethostname(),
                "since": datetime.now(UTC).isoformat(timespec="seconds"),
                "command": sys.argv[:8],
            }
            os.ftruncate(fd, 0)
            os.pwrite(fd, (json.dumps(info) + "\n").encode("utf-8"), 0)
            self.fd = fd
            return self
        raise OutputError(f"{self.path}: the lock file keeps changing; is another run starting?")

    def held(self) -> bool:
        """Whether this object holds the lock and the lock file at the path is still the one it locked."""
        if self.fd is None:
            return False
        try:
            a, b = os.fstat(self.fd), os.stat(self.path, follow_symlinks=False)
        except OSError:
            return False
        return (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)

    def release(self) -> None:
        """Remove the lock file (if it is still this lock's) and drop the lock; idempotent."""
        if self.fd is None:
            return
        try:
            if self.held():
                os.unlink(self.path)
        except OSError:
            pass
        finally:
            os.close(self.fd)
            self.fd = None

    def __enter__(self) -> OutputLock:
        return self.acquire()

    def __exit__(self, *exc: object) -> None:
        self.release()
