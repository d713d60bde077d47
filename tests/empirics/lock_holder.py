"""A child process holding an output's lock (for the lock and concurrency tests): ``with holding(target) as p``."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

from tests import paths

HOLDER = textwrap.dedent(
    """
    import sys
    from empirics.output import OutputLock
    lock = OutputLock(sys.argv[1]).acquire()
    print("locked", flush=True)
    sys.stdin.read()
    lock.release()
    """
)


def start_holder(target: str | os.PathLike) -> subprocess.Popen:
    """A child that has taken the lock of ``target`` (returns once it holds it); close its stdin to release."""
    env = dict(os.environ, PYTHONPATH=str(paths.ROOT))
    p = subprocess.Popen(
        [sys.executable, "-c", HOLDER, str(Path(target))],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert p.stdout is not None and p.stdout.readline().strip() == "locked"
    return p


@contextlib.contextmanager
def holding(target: str | os.PathLike) -> Iterator[subprocess.Popen]:
    p = start_holder(target)
    try:
        yield p
    finally:
        assert p.stdin is not None
        p.stdin.close()
        p.wait(timeout=60)
