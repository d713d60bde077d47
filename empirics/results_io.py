"""Results files: provenance, atomic validated writes, and resume checks (schema ``sad-results/1``).

* :func:`write_atomic` validates the document (:func:`empirics.schema.validate`), serialises it to a
  string first (non-finite floats become ``null``), writes a temp file in the same folder, fsyncs it and
  ``os.replace``-s it over the target: a failure at any step leaves the previous file untouched.
* :func:`load_for_resume` returns an existing partial/complete file whose ``run`` equals the new one,
  ``None`` when there is none, and raises :class:`ResumeError` (one line) when the settings differ.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from empirics.schema import SchemaError, to_jsonable, validate

__all__ = ["provenance", "write_atomic", "load_for_resume", "ResumeError", "git_commit", "device_name"]

_REPO = Path(__file__).resolve().parent.parent


class ResumeError(ValueError):
    """An existing results file cannot be resumed by this run (different settings or unreadable)."""


def git_commit() -> str | None:
    """``git rev-parse HEAD`` of the source tree, or None when git/the repository is unavailable."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=_REPO, capture_output=True, text=True, timeout=5, check=False
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


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


def provenance(settings: dict, *, seed: int, device: str, dtype: str) -> dict:
    """Package versions, device name, dtype, seed, git commit, time, hostname, argv and ``settings``."""
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
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "hostname": socket.gethostname(),
        "command": list(sys.argv),
        "device": str(device),
        "device_name": device_name(device),
        "dtype": str(dtype),
        "seed": int(seed),
        "settings": dict(settings),
        **extra,
    }


def write_atomic(path: str | os.PathLike, doc: dict, validator: Callable[[Any], None] = validate) -> None:
    """Validate ``doc`` (``sad-results/1`` by default; ``validator`` for another schema, e.g.
    :func:`empirics.compare_schema.validate`), then replace ``path`` atomically (temp file in the same folder
    + ``os.replace``)."""
    clean = to_jsonable(doc)
    validator(clean)
    text = json.dumps(clean, indent=1, allow_nan=False) + "\n"  # serialise before touching the disk
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _diff(a: dict, b: dict) -> list[str]:
    keys = sorted(set(a) | set(b))
    return [f"{k}: {a.get(k)!r} vs {b.get(k)!r}" for k in keys if a.get(k) != b.get(k)]


def load_for_resume(path: str | os.PathLike, run: dict) -> dict | None:
    """The existing results document at ``path`` if its ``run`` equals ``run``; None if there is no file.

    Raises :class:`ResumeError` (one line, naming the file and the first differing settings) when the
    file is unreadable, not a valid results file, or was made with different settings.
    """
    path = Path(path)
    if not path.exists():
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
        validate(doc)
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ResumeError(
            f"{path}: cannot resume, unreadable results file ({exc}); delete it or use another --out"
        ) from None
    except SchemaError as exc:
        raise ResumeError(
            f"{path}: cannot resume, not a valid results file ({exc}); delete it or use another --out"
        ) from None
    want = to_jsonable(json.loads(json.dumps(run, default=str)))
    diff = _diff(doc["run"], want)
    if diff:
        shown = "; ".join(diff[:3]) + (f"; ... ({len(diff)} differences)" if len(diff) > 3 else "")
        raise ResumeError(f"{path}: exists with different settings ({shown}); delete it or use another --out")
    return doc
