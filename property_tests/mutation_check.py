"""Mutation check: break one `theory` identity at a time and show that ``pytest property_tests`` fails.

    python -m property_tests.mutation_check                 all mutants against the whole property suite
    python -m property_tests.mutation_check --list          list the mutants
    python -m property_tests.mutation_check --only NAME --subset PYTEST_NODE_OR_PATH ...

Each mutant is applied to a fresh temporary copy of ``theory/``, ``property_tests/`` and ``pyproject.toml``
(the working tree is never touched); pytest runs there with ``PYTHONPATH`` = copy, then the working tree (for
packages other tests import, e.g. ``empirics``); a probe asserts the copy's ``theory`` is the one imported. The
unmutated copy must pass first (else exit 2). A mutant is *killed* when pytest exits 1 (tests failed).
Hypothesis runs with the ``mutation`` profile (same example count as ``default``, no shrinking) unless
``SAD_HYPOTHESIS_PROFILE`` is set.
Exit status: 0 all mutants killed, 1 a mutant survived (or errored), 2 baseline failed / bad arguments.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    what: str


MUTANTS = (
    Mutant(
        "omega_drop_square",
        "theory/numeric.py",
        "return pq * pq / ((p * p).sum(0) * (q * q).sum(0))",
        "return pq / ((p * p).sum(0) * (q * q).sum(0))",
        "omega_k: drop a factor (p.q instead of (p.q)^2) — breaks I2",
    ),
    Mutant(
        "h_sop_drop_factor",
        "theory/numeric.py",
        "return np.mean(p * p * q * q, axis=0)",
        "return np.mean(p * p * q, axis=0)",
        "h^SoP: drop a factor q — breaks I3/I4",
    ),
    Mutant(
        "kron_swap_row_factor_order",
        "theory/numeric.py",
        'return np.kron(C_delta, C_A) if convention == "row" else np.kron(C_A, C_delta)',
        'return np.kron(C_A, C_delta) if convention == "row" else np.kron(C_A, C_delta)',
        "Kronecker model: C_A ⊗ C_delta with the row-major vec (mismatched pairing)",
    ),
    Mutant(
        "h_kron_drop_C_A",
        "theory/numeric.py",
        'return np.einsum("ik,ij,jk->k", U, C_delta, U) * np.einsum("ik,ij,jk->k", W, C_A, W)',
        'return np.einsum("ik,ij,jk->k", U, C_delta, U)',
        "h^Kron: drop the A-side factor",
    ),
    Mutant(
        "transfer_flip_sign",
        "theory/transfer.py",
        '"cov_term": cov_er / (g.slope * float(np.var(ell))),',
        '"cov_term": -cov_er / (g.slope * float(np.var(ell))),',
        "§3.10 transfer identity: flip the sign of the covariance term",
    ),
    Mutant(
        "second_moment_normalisation",
        "theory/numeric.py",
        "return delta.T @ delta / B, A.T @ A / B",
        "return delta.T @ delta / B, A.T @ A / B**2",
        "C_A: divide by B twice (wrong normalisation)",
    ),
)


def make_copy(dest: Path) -> Path:
    for sub in ("theory", "property_tests"):
        shutil.copytree(REPO / sub, dest / sub, ignore=shutil.ignore_patterns("__pycache__", ".hypothesis"))
    shutil.copy2(REPO / "pyproject.toml", dest / "pyproject.toml")
    return dest


def apply(root: Path, mutant: Mutant) -> None:
    f = root / mutant.path
    text = f.read_text()
    if text.count(mutant.old) != 1:
        raise RuntimeError(f"mutant {mutant.name}: pattern not found exactly once in {mutant.path} (source changed?)")
    f.write_text(text.replace(mutant.old, mutant.new))


def run_pytest(root: Path, targets: list[str], timeout: float = 600) -> tuple[int, float, str]:
    # the copy first (its theory/ and property_tests/ win); the working tree after it, for other packages (empirics)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(root), str(REPO)]), PYTHONDONTWRITEBYTECODE="1")
    env.setdefault("SAD_HYPOTHESIS_PROFILE", "mutation")
    probe = subprocess.run(
        [sys.executable, "-c", "import theory, sys; sys.stdout.write(theory.__file__)"],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
    )
    if not probe.stdout.startswith(str(root)):
        raise RuntimeError(f"the copy is not the imported theory package ({probe.stdout or probe.stderr.strip()})")
    t0 = time.perf_counter()
    cmd = [sys.executable, "-m", "pytest", "-x", "-q", "-p", "no:cacheprovider", *targets]
    proc = subprocess.run(cmd, cwd=root, env=env, capture_output=True, text=True, timeout=timeout)
    tail = (proc.stdout + proc.stderr).strip().splitlines()
    return proc.returncode, time.perf_counter() - t0, tail[-1] if tail else ""


def check(mutants: tuple[Mutant, ...], targets: list[str], verbose: bool = True) -> dict[str, dict]:
    """Run the baseline and every mutant on ``targets``; returns {name: {rc, killed, seconds, summary}}."""
    out: dict[str, dict] = {}
    with tempfile.TemporaryDirectory(prefix="sad-mutant-") as tmp:
        base = make_copy(Path(tmp) / "baseline")
        rc, sec, summary = run_pytest(base, targets)
        out["(baseline)"] = {"rc": rc, "killed": False, "seconds": sec, "summary": summary}
        if verbose:
            print(f"{'(baseline, unmutated)':<30} rc={rc}  {sec:5.1f} s  {summary}", flush=True)
        if rc != 0:
            return out
        for m in mutants:
            root = make_copy(Path(tmp) / m.name)
            apply(root, m)
            rc, sec, summary = run_pytest(root, targets)
            out[m.name] = {"rc": rc, "killed": rc == 1, "seconds": sec, "summary": summary, "what": m.what}
            if verbose:
                print(
                    f"{m.name:<30} {'KILLED ' if rc == 1 else 'SURVIVED'} rc={rc}  {sec:5.1f} s  {summary}   [{m.what}]",
                    flush=True,
                )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m property_tests.mutation_check")
    p.add_argument("--only", action="append", help="mutant name (repeatable)")
    p.add_argument("--subset", nargs="+", default=["property_tests"], help="pytest targets (default: property_tests)")
    p.add_argument("--list", action="store_true")
    args = p.parse_args(argv)
    by_name = {m.name: m for m in MUTANTS}
    if args.list:
        for m in MUTANTS:
            print(f"{m.name:<30} {m.path}: {m.what}")
        return 0
    unknown = [n for n in args.only or [] if n not in by_name]
    if unknown:
        print(f"mutation_check: unknown mutant(s) {', '.join(unknown)}; known: {', '.join(by_name)}", file=sys.stderr)
        return 2
    chosen = tuple(by_name[n] for n in args.only) if args.only else MUTANTS
    res = check(chosen, args.subset)
    if res["(baseline)"]["rc"] != 0:
        print("mutation_check: the unmutated suite does not pass; nothing to compare", file=sys.stderr)
        return 2
    survived = [n for n, r in res.items() if n != "(baseline)" and not r["killed"]]
    print(
        f"{len(chosen) - len(survived)}/{len(chosen)} mutants killed"
        + (f"; survived: {', '.join(survived)}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
