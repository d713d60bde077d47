#!/usr/bin/env python
"""Wall-clock time of ``python -m claims verify --results DIR`` as a whole process, against the 0.5 s target.

Each run is ``subprocess.run`` of a fresh interpreter (imports included) timed with ``time.perf_counter``;
one warm-up run (file-system cache) is excluded and the median of ``--runs`` is reported with its range,
plus the child's CPU time (user + sys, ``RUSAGE_CHILDREN``), which is less sensitive to other load.
The verify command's own exit status (1 when some claims fail) is reported, not treated as an error;
a status ≥ 2 (bad input) or a crash makes this script exit 2.

    python benchmarks/verify_speed.py --runs 7
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_S = 0.5


def time_verify(results: str, runs: int, python: str = sys.executable, bytecode_cache: bool = True) -> dict:
    """Median wall clock of whole ``claims verify`` processes. With ``bytecode_cache`` (a user's normal setting)
    ``PYTHONDONTWRITEBYTECODE`` is removed from the child's environment, so the warm-up run writes the ``.pyc``
    files of modules changed since the last cache and the timed runs load them, as an installed copy would."""
    cmd = [python, "-m", "claims", "verify", "--results", results]
    env = dict(os.environ)
    if bytecode_cache:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    times, cpu, codes = [], [], set()
    for i in range(runs + 1):
        c0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        r = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
        dt = time.perf_counter() - t0
        c1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        if r.returncode >= 2:
            tail = (r.stderr.strip().splitlines() or ["(no stderr)"])[-1]
            raise RuntimeError(f"`{' '.join(cmd)}` exited {r.returncode}: {tail}")
        codes.add(r.returncode)
        if i > 0:
            times.append(dt)
            cpu.append((c1.ru_utime - c0.ru_utime) + (c1.ru_stime - c0.ru_stime))
    med = statistics.median(times)
    return {
        "command": " ".join(["python", *cmd[1:]]),
        "runs": runs,
        "median_s": med,
        "min_s": min(times),
        "max_s": max(times),
        "all_s": times,
        "cpu_median_s": statistics.median(cpu),
        "target_s": TARGET_S,
        "meets_target": med < TARGET_S,
        "verify_exit_codes": sorted(codes),
        "load_avg_1_5_15": list(os.getloadavg()),
        "cpu_count": os.cpu_count(),
        "bytecode_cache": bool(bytecode_cache or "PYTHONDONTWRITEBYTECODE" not in os.environ),
    }


def main(argv=None) -> int:
    """Command-line entry: time ``python -m claims verify`` on ``--results`` and print median, range and CPU time; 2
    when the folder is missing or a verify run crashed."""
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--results", default="../shared/paper-results", help="folder of result files (relative to the repo root)"
    )
    p.add_argument("--runs", type=int, default=7)
    p.add_argument("--json", default=None)
    p.add_argument(
        "--no-bytecode-cache",
        action="store_true",
        help="keep PYTHONDONTWRITEBYTECODE if set (every run then recompiles the modules changed since the last cache)",
    )
    a = p.parse_args(argv)
    if a.runs < 1:
        p.error("--runs must be ≥ 1")
    if not (ROOT / a.results).is_dir():
        print(f"verify_speed: --results {a.results}: no such folder", file=sys.stderr)
        return 2
    try:
        r = time_verify(a.results, a.runs, bytecode_cache=not a.no_bytecode_cache)
    except RuntimeError as exc:
        print(f"verify_speed: {exc}", file=sys.stderr)
        return 2
    print(
        f"{r['command']}: median {r['median_s']:.3f} s over {r['runs']} runs "
        f"[{r['min_s']:.3f}, {r['max_s']:.3f}] (warm-up excluded; load {r['load_avg_1_5_15'][0]:.2f} on "
        f"{r['cpu_count']} cores); target < {TARGET_S} s: {'met' if r['meets_target'] else 'NOT met'}; "
        f"verify exit status {r['verify_exit_codes']}; CPU time (user+sys) median {r['cpu_median_s']:.3f} s; "
        f"bytecode cache {'on' if r['bytecode_cache'] else 'OFF (PYTHONDONTWRITEBYTECODE)'}"
    )
    if a.json:
        Path(a.json).write_text(json.dumps(r, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
