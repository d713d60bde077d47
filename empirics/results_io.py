"""Results files: provenance (with each resumed part's own), and atomic validated writes (``sad-results/1``).

* :func:`provenance` — versions, git commit and whether the source tree had uncommitted changes
  (``git_dirty``), device, dtype, seed, time, host, command and the run's settings.
* :func:`part_stamp` — the short per-part record stored in each layer (``measured_with``) or comparison cell,
  so a file assembled by several resumed sessions says which session (commit, dirty flag, host, processes)
  measured which part.
* :func:`resumed_provenance` — the new session's provenance, keeping the earlier sessions' own under
  ``provenance.earlier_parts`` (a resume no longer overwrites them).
* :func:`write_atomic` — validate (:func:`empirics.schema.validate` by default), serialise (non-finite floats
  as ``null``) and replace the file atomically (:func:`empirics.output.target.write_text_atomic`: temp file
  in the same folder, fsync, ``os.replace``, mode following the umask). The resumable pipelines write through
  :class:`empirics.output.RunWriter`, which adds the lock and the re-checks.
"""

from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from empirics.output.document import dumps_validated
from empirics.output.target import write_text_atomic
from empirics.schema import validate

__all__ = [
    "provenance",
    "part_stamp",
    "resumed_provenance",
    "write_atomic",
    "git_commit",
    "git_dirty",
    "device_name",
]

_REPO = Path(__file__).resolve().parent.parent
#: provenance keys copied into each part's ``measured_with`` stamp
STAMP_KEYS = ("created", "git_commit", "git_dirty", "hostname", "pid", "world_size")


def _git(*args: str) -> str | None:
    try:
        out = subprocess.run(["git", *args], cwd=_REPO, capture_output=True, text=True, timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout if out.returncode == 0 else None


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the source tree, or None when git/the repository is unavailable."""
    out = _git("rev-parse", "HEAD")
    return out.strip() or None if out is not None else None


def git_dirty() -> bool | None:
    """Whether the source tree differs from its commit: a tracked file modified, or an untracked ``.py`` file
    in a package (``git status --porcelain``; results and other data files do not count). None when unknown."""
    out = _git("status", "--porcelain", "--untracked-files=normal", "--", ":(glob)**/*.py", "pyproject.toml")
    if out is None:
        return None
    return any(line.strip() for line in out.splitlines())


def device_name(device: str) -> str:
    if str(device).startswith("cuda"):
        try:
            import torch

            return torch.cuda.get_device_name(torch.device(device))
        except Exception as exc:  # noqa: BLE001 - provenance must never fail a run
            return f"cuda (name unavailable: {exc})"
    return platform.processor() or platform.machine() or "cpu"


def _versions() -> dict[str, str | None]:
    v: dict[str, str | None] = {"python": platform.python_version()}
    for mod in ("torch", "numpy", "scipy"):
        try:
            v[mod] = __import__(mod).__version__
        except ImportError:
            v[mod] = None
    return v


def provenance(settings: dict, *, seed: int, device: str, dtype: str, world_size: int = 1) -> dict:
    """Package versions, device name, dtype, seed, git commit + dirty flag, time, hostname, argv, process
    count and ``settings``."""
    extra: dict[str, Any] = {}
    try:
        import torch

        extra["torch_threads"] = torch.get_num_threads()
        if str(device).startswith("cuda"):
            extra["allow_tf32"] = bool(torch.backends.cuda.matmul.allow_tf32)
            extra["cuda"] = torch.version.cuda
    except ImportError:
        pass
    return {
        "versions": _versions(),
        "git_commit": git_commit(),
        "git_dirty": git_dirty(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "pid": os.getpid(),
        "command": list(sys.argv),
        "device": str(device),
        "device_name": device_name(device),
        "dtype": str(dtype),
        "seed": int(seed),
        "world_size": int(world_size),
        "settings": dict(settings),
        **extra,
    }


def part_stamp(prov: dict) -> dict:
    """The ``measured_with`` stamp of the part measured under provenance ``prov`` (see the module doc)."""
    return {k: prov.get(k) for k in STAMP_KEYS}


def resumed_provenance(current: dict, previous: dict | None) -> dict:
    """``current`` with the earlier sessions' provenance kept under ``earlier_parts`` (oldest first)."""
    if not previous:
        return current
    earlier = list(previous.get("earlier_parts") or [])
    earlier.append({k: v for k, v in previous.items() if k != "earlier_parts"})
    return {**current, "earlier_parts": earlier}


def write_atomic(path: str | os.PathLike, doc: dict, validator: Callable[[Any], None] = validate) -> None:
    """Validate ``doc`` (``sad-results/1`` by default; ``validator`` for another schema, e.g.
    :func:`empirics.compare_schema.validate`), then replace ``path`` atomically (module doc)."""
    text = dumps_validated(doc, validator)  # serialise before touching the disk
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    write_text_atomic(path, text)
