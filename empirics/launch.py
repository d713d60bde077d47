"""``python -m empirics measure --nproc N ...``: N local worker processes, with the command's own exit statuses.

Under ``torchrun`` every worker exits as documented (0, 2 bad input, 3 interrupted, with rank 0's one line), but
torchrun reports any non-zero worker status as its own failure (exit 1 plus its report), and on Ctrl-C raises
its own ``SignalException`` traceback. ``--nproc N`` launches the workers itself on this machine (gloo or NCCL
on 127.0.0.1, a free port; the same environment torchrun sets: ``RANK``, ``LOCAL_RANK``, ``WORLD_SIZE``,
``LOCAL_WORLD_SIZE``, ``MASTER_ADDR``, ``MASTER_PORT``), forwards the first Ctrl-C/SIGTERM to them as SIGTERM
(later ones are ignored), and exits with their status: 0, 2 or 3, one line, no traceback. The workers run in
their own sessions, so a terminal's Ctrl-C reaches the launcher only, which then stops them once. A worker
that fails while the others still run gets them stopped after :data:`GRACE_S` seconds.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from types import FrameType

__all__ = ["launch", "exit_status", "GRACE_S"]

#: seconds the other workers get to finish on their own after one of them failed
GRACE_S = 30.0


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def exit_status(codes: list[int], interrupted: bool) -> int:
    """The launcher's exit status from the workers' return codes (negative: killed by that signal): 3 when it was
    stopped and every worker stopped cleanly; else the first worker status that is neither 0 nor 3 (a worker's
    own failure outranks the others' "stopped because a peer stopped"), 1 for a worker killed by a signal."""
    if interrupted and all(c in (0, 3, -signal.SIGTERM, -signal.SIGINT) for c in codes):
        return 3
    for c in codes:  # rank order
        if c not in (0, 3):
            return c if c > 0 else 1
    return 3 if 3 in codes else 0


def launch(argv: list[str], nproc: int) -> int:
    """Run ``python -m empirics *argv`` as ``nproc`` workers (module doc); returns the exit status."""
    env = dict(os.environ)
    env.update(
        WORLD_SIZE=str(nproc),
        LOCAL_WORLD_SIZE=str(nproc),
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(_free_port()),
        OMP_NUM_THREADS=env.get("OMP_NUM_THREADS", "1"),
    )
    received: list[int] = []
    procs: list[subprocess.Popen] = []

    def stop(signum: int, frame: FrameType | None) -> None:
        received.append(signum)
        if len(received) == 1:
            for p in procs:
                if p.poll() is None:
                    p.send_signal(signal.SIGTERM)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        for rank in range(nproc):
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "empirics", *argv],
                    env=dict(env, RANK=str(rank), LOCAL_RANK=str(rank)),
                    start_new_session=True,
                )
            )
        failed_at: float | None = None
        while any(p.poll() is None for p in procs):
            if failed_at is None and any((p.poll() or 0) != 0 for p in procs):
                failed_at = time.monotonic()
            if failed_at is not None and time.monotonic() - failed_at > GRACE_S:
                for p in procs:
                    if p.poll() is None:
                        p.send_signal(signal.SIGTERM)
                failed_at = float("inf")
            time.sleep(0.05)
        return exit_status([int(p.returncode) for p in procs], bool(received))
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        for s, h in previous.items():
            signal.signal(s, signal.SIG_IGN if received else h)
