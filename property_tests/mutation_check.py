"""Mutation check: break `theory` one place at a time and show that ``pytest property_tests`` fails.

    python -m property_tests.mutation_check                 all mutants against the whole property suite
    python -m property_tests.mutation_check --list          list the mutants, by the verdict kind they attack
    python -m property_tests.mutation_check --kind refuted  only the mutants of one verdict kind
    python -m property_tests.mutation_check --only NAME --subset PYTEST_NODE_OR_PATH ...

There are mutants for every verdict kind: *identity* (an exact identity broken), *refuted* (a counterexample
that no longer meets its stated hypotheses, or no longer contradicts the printed claim), *holds* and
*holds-added* (the holding statement or its added hypothesis broken), *not-formalizable* (the nearest exact fact
broken).

Each mutant is applied to a fresh temporary copy of ``theory/``, ``property_tests/`` and ``pyproject.toml``
(the working tree is never touched); pytest runs there with ``PYTHONPATH`` = copy, then the working tree (for
packages other tests import, e.g. ``empirics``); a probe asserts the copy's ``theory`` is the one imported. The
unmutated copy must pass first (else exit 2). A mutant is *killed* when pytest exits 1 (tests failed).
Hypothesis runs with the ``mutation`` profile (the ``default`` profile's examples, derandomized, no shrinking) unless
``SAD_HYPOTHESIS_PROFILE`` is set: every mutant is killed at the default profile.
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


KINDS = ("identity", "refuted", "holds", "holds-added", "not-formalizable")


@dataclass(frozen=True)
class Mutant:
    name: str
    path: str
    old: str
    new: str
    what: str
    kind: str = "identity"


MUTANTS = (
    # ---- identity: an exact identity broken
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
    Mutant(
        "separable_proof_broken",
        "theory/appendix_l.py",
        "cov_ok &= is_zero(fourth - m_ij * m_kl - Cd[i, k] * Ca[j, l])",
        "cov_ok &= is_zero(fourth - m_ij * m_kl - 2 * Cd[i, k] * Ca[j, l])",
        "separable covariance: the sympy proof compares against 2 C_delta ⊗ C_A",
    ),
    # ---- refuted: the counterexample leaves its hypotheses, or stops contradicting the printed claim
    Mutant(
        "recipe_b_flat_omega",
        "theory/recipes.py",
        "c = power_law(r, w / 2.0)",
        "c = power_law(r, 0.0)",
        "recipe B: omega ≡ 1, so beta = 2 and Theorem 1's 'beta = 2' / Remark 1 are no longer contradicted",
        "refuted",
    ),
    Mutant(
        "recipe_d_unbiased_signs",
        "theory/recipes.py",
        "bias = power_law(r, f_exponent)  # 2 f_k - 1",
        "bias = np.ones(r)  # 2 f_k - 1",
        "recipe D: 2f_k - 1 ≡ 1, omega constant, so alpha_Kron = 2 and Theorem 2 is no longer contradicted",
        "refuted",
    ),
    Mutant(
        "eq3_sign_flipped",
        "theory/alignment_evidence.py",
        'dec = eq3_instance()\n    return {\n        "eq3_prediction": 2 + dec.phi - dec.psi_chi,',
        'dec = eq3_instance()\n    return {\n        "eq3_prediction": 2 + dec.phi + dec.psi_chi,',
        "Eq. (3) encoded with the corrected sign: the printed prediction 3.5 is lost",
        "refuted",
    ),
    Mutant(
        "softmax_aligned_generic_inputs",
        "theory/recipes.py",
        "A = np.sqrt(n) * _orth(rng, n, B).T",
        "A = rng.standard_normal((B, n))",
        "Proposition 6's counterexample without orthogonal inputs: its alignment hypothesis fails",
        "refuted",
    ),
    Mutant(
        "zeta_bound_inflated",
        "theory/zeta.py",
        "return +(mpmath.zeta(p) ** 2 / mpmath.zeta(2 * p))",
        "return +(1.1 * mpmath.zeta(p) ** 2 / mpmath.zeta(2 * p))",
        "Proposition 9: the zeta bound 10 % too high, the on-protocol counterexample no longer exceeds it",
        "refuted",
    ),
    Mutant(
        "fit_s_index_order",
        "theory/fits.py",
        "pos = np.sort(c[np.isfinite(c) & (c > 0)])[::-1]",
        "pos = c[np.isfinite(c) & (c > 0)]",
        "s fit in index order, not rank order: Remark 2's rank-ordered relation no longer matches the fits",
        "refuted",
    ),
    Mutant(
        "isserlis_drop_cross_term",
        "theory/appendix_l.py",
        "return np.kron(Cd, Ca) + cross",
        "return np.kron(Cd, Ca) + 0 * cross",
        "App. L: dependent errors modelled without the Isserlis cross term, the profile looks rank one",
        "refuted",
    ),
    Mutant(
        "layernorm_not_centred",
        "theory/recipes.py",
        "xc = x - x.mean(axis=1, keepdims=True)",
        "xc = x",
        "Proposition 3's inputs not LayerNorm'd (no null vector 1): its random-feature hypothesis fails",
        "refuted",
    ),
    Mutant(
        "cor4_counterexample_not_isotropic",
        "theory/layernorm.py",
        "inst = R.recipe_a(m=m, n=m, B=B, a_delta=a_delta, a_A=0.0, seed=seed)",
        "inst = R.recipe_a(m=m, n=m, B=B, a_delta=a_delta, a_A=0.5, seed=seed)",
        "Corollary 4's counterexample with an anisotropic C_A: the inherited LayerNorm setting fails",
        "refuted",
    ),
    Mutant(
        "dense_chi_residual_scale_ignored",
        "theory/recipes.py",
        "W = W_star + residual_scale * Dw",
        "W = W_star + Dw",
        "conv gap: the dense counterexample loses its small residuals, chi no longer reaches 1e3",
        "refuted",
    ),
    # ---- holds: the holding statement broken
    Mutant(
        "bai_yin_unsquared",
        "theory/layernorm.py",
        "return float(((1 + r) / (1 - r)) ** 2)",
        "return float((1 + r) / (1 - r))",
        "Bai–Yin limit without the square",
        "holds",
    ),
    Mutant(
        "separable_prediction_biased",
        "theory/appendix_l.py",
        '"predicted": np.kron(Cd, Ca) / B,',
        '"predicted": 1.06 * np.kron(Cd, Ca) / B,',
        "separable covariance predicted 6 % high (survived the old Monte Carlo check at rtol 0.1)",
        "holds",
    ),
    Mutant(
        "couillet_hachem_perturbed",
        "theory/appendix_l.py",
        "delta = np.sum(d / (-z * (1 + delta_t * d))) / n",
        "delta = np.sum(d / (-z * (1 + delta_t * d))) / (1.05 * n)",
        "Couillet–Hachem fixed point with a 5 % wrong normalisation",
        "holds",
    ),
    Mutant(
        "sn_transfer_damping",
        "theory/spectral_newton.py",
        "return sigma / (sigma**alpha + d)",
        "return sigma / (sigma**alpha + 2 * d)",
        "T(sigma; alpha) with the damping doubled: the SVD form disagrees with the closed forms",
        "holds",
    ),
    # ---- holds under added hypotheses: the added hypothesis broken
    Mutant(
        "recipe_b_lambda_A_not_flat",
        "theory/recipes.py",
        "Sq = Sp * c + T * np.sqrt(1.0 - c * c)\n    ld, la = power_law(r, a_delta), power_law(r, a_A)",
        "Sq = Sp * c + T * np.sqrt(1.0 - c * c)\n    ld, la = power_law(r, a_delta), power_law(r, a_A + 0.5)",
        "recipe B's A side no longer flat: Corollary 4's second sentence loses its added hypothesis",
        "holds-added",
    ),
    # ---- not formalizable: the nearest exact fact broken
    Mutant(
        "gram_identity_normalisation",
        "theory/residual.py",
        "lhs, rhs = G @ G.T, delta.T @ (A @ A.T) @ delta / B**2",
        "lhs, rhs = G @ G.T, delta.T @ (A @ A.T) @ delta / B",
        "Proposition 5's exact neighbour GG^T = B^-2 delta^T A A^T delta with B^-1",
        "not-formalizable",
    ),
    Mutant(
        "esd_tail_off_by_one",
        "theory/htsr.py",
        "return float(1 + slope)",
        "return float(slope)",
        "Corollary 8's context fact: the ESD tail exponent without the 1",
        "not-formalizable",
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
            print(f"{'':<17} {'(baseline, unmutated)':<34} rc={rc}  {sec:5.1f} s  {summary}", flush=True)
        if rc != 0:
            return out
        for m in mutants:
            root = make_copy(Path(tmp) / m.name)
            apply(root, m)
            rc, sec, summary = run_pytest(root, targets)
            out[m.name] = {
                "rc": rc,
                "killed": rc == 1,
                "seconds": sec,
                "summary": summary,
                "what": m.what,
                "kind": m.kind,
            }
            if verbose:
                print(
                    f"{m.kind:<17} {m.name:<34} {'KILLED ' if rc == 1 else 'SURVIVED'} rc={rc}  {sec:5.1f} s  {summary}",
                    flush=True,
                )
    return out


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m property_tests.mutation_check")
    p.add_argument("--only", action="append", help="mutant name (repeatable)")
    p.add_argument("--subset", nargs="+", default=["property_tests"], help="pytest targets (default: property_tests)")
    p.add_argument("--kind", choices=KINDS, action="append", help="only the mutants of this verdict kind")
    p.add_argument("--list", action="store_true")
    args = p.parse_args(argv)
    by_name = {m.name: m for m in MUTANTS}
    if args.list:
        for m in MUTANTS:
            print(f"{m.kind:<17} {m.name:<34} {m.path}: {m.what}")
        return 0
    unknown = [n for n in args.only or [] if n not in by_name]
    if unknown:
        print(f"mutation_check: unknown mutant(s) {', '.join(unknown)}; known: {', '.join(by_name)}", file=sys.stderr)
        return 2
    chosen = tuple(by_name[n] for n in args.only) if args.only else MUTANTS
    if args.kind:
        chosen = tuple(m for m in chosen if m.kind in args.kind)
    res = check(chosen, args.subset)
    if res["(baseline)"]["rc"] != 0:
        print("mutation_check: the unmutated suite does not pass; nothing to compare", file=sys.stderr)
        return 2
    survived = [n for n, r in res.items() if n != "(baseline)" and not r["killed"]]
    per_kind = {k: [m for m in chosen if m.kind == k] for k in KINDS}
    print(
        f"{len(chosen) - len(survived)}/{len(chosen)} mutants killed ("
        + ", ".join(f"{k} {sum(m.name not in survived for m in ms)}/{len(ms)}" for k, ms in per_kind.items() if ms)
        + ")"
        + (f"; survived: {', '.join(survived)}" if survived else "")
    )
    return 1 if survived else 0


if __name__ == "__main__":
    raise SystemExit(main())
