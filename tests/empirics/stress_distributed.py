"""Stress check of the distributed tests: run ``tests/empirics/test_distributed.py`` and
``test_kron_distributed.py`` (or the files given) many times in fresh interpreters and count the failures — a process that exits with a live gloo thread aborts at
random (SIGABRT), so a flaky exit shows up here as a failed run.

    python -m tests.empirics.stress_distributed --runs 50 [--file FILE ...]

Prints one line per run and a summary; exit status 0 when every run passed, 1 otherwise.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

from tests import paths


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--runs", type=int, default=50)
    parser.add_argument(
        "--file", nargs="+", default=["tests/empirics/test_distributed.py", "tests/empirics/test_kron_distributed.py"]
    )
    args = parser.parse_args(argv)
    env = dict(os.environ, PYTHONPATH=str(paths.ROOT))
    failures = []
    t0 = time.monotonic()
    for i in range(1, args.runs + 1):
        t = time.monotonic()
        r = subprocess.run(
            [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", *args.file],
            cwd=paths.ROOT,
            env=env,
            capture_output=True,
            text=True,
        )
        tail = (r.stdout.strip().splitlines() or ["(no output)"])[-1]
        print(f"run {i:3d}/{args.runs}: exit {r.returncode} ({time.monotonic() - t:.0f} s) {tail}", flush=True)
        if r.returncode != 0:
            failures.append(i)
            print(r.stdout[-4000:] + r.stderr[-4000:], flush=True)
    print(f"{args.runs - len(failures)} of {args.runs} runs passed, {len(failures)} failed {failures or ''} "
          f"({time.monotonic() - t0:.0f} s)")  # fmt: skip
    return 0 if not failures else 1


if __name__ == "__main__":
    sys.exit(main())
