r"""Definition 1, Theorem 1 (parts 1–3), Remark 1 and the exact identities of THEORY.md §1.2, §1.4, §3.1–3.3.

Exact identities [DERIVED], with :math:`p_k=\delta u_k`, :math:`q_k=Aw_k`:

* (vec) :math:`\mathrm{vec}_r(uw^\top)^\top(C_\delta\otimes C_A)\mathrm{vec}_r(uw^\top)=\mathrm{vec}_c(uw^\top)^\top(C_A\otimes C_\delta)\mathrm{vec}_c(uw^\top)=(u^\top C_\delta u)(w^\top C_Aw)`;
* (I1) :math:`\sigma_k=\frac1Bp_k^\top q_k`;  (I2) :math:`\sigma_k^2=\omega_kh^{\rm Kron}_k`;
* (I3) :math:`h^{\rm SoP}_k=\sigma_k^2+\mathrm{Var}_i(p_{ik}q_{ik})`;  (I4) :math:`R_k=1+\mathrm{Cov}_i(p^2,q^2)/(\overline{p^2}\,\overline{q^2})`;
* :math:`\alpha_{\rm Kron}=\beta+\phi=2-\psi_\omega` and :math:`\alpha_{\rm exact}=\beta+\phi+\psi_\chi=2-\psi_\omega+\psi_\chi`
  (OLS slopes on one window are linear in the response).

>>> from theory import theorem1_part3
>>> print(theorem1_part3.printed_text)
perfect alignment ⇒ Lambda_k = sigma_k^2/chi_k and alpha = 2 + phi - psi_chi   (Eq. 3)
>>> ev = theorem1_part3.evidence()
>>> ev.hypothesis("perfect alignment").holds, round(ev.values["eq3_prediction"], 6), round(ev.values["alpha_exact"], 6)
(True, 3.5, 0.5)
>>> print(theorem1_part3.corrected)
Eq(alpha_exact, psi_chi - psi_omega + 2)
"""

from __future__ import annotations

import sympy as sp

from theory.alignment_evidence import (
    check_alpha_exact,
    check_alpha_kron,
    check_definition1,
    check_part2,
    check_part2_beta,
    check_part3,
    check_remark1,
    check_vec,
    identity_evidence,
    prove_identities,
    prove_vec_convention,
)
from theory.statement import Group, Hypothesis, Statement, Verdict
from theory.statement import HypothesisKind as HK
from theory.symbolic import (
    C_A,
    C_delta,
    Cov,
    LogSlope,
    Var,
    eq,
    quad,
    sym,
    vec_p,
    vec_q,
    vec_u,
    vec_v,
    vec_w,
)

__all__ = [
    "definition1",
    "vec_convention",
    "identity_I1",
    "identity_I2",
    "identity_I3",
    "identity_I4",
    "alpha_kron_identity",
    "alpha_exact_identity",
    "theorem1_part1",
    "theorem1_part2",
    "theorem1_part2_beta",
    "theorem1_part3",
    "theorem1",
    "remark1",
    "STATEMENTS",
]

# ---------------------------------------------------------------- statements

s = sym
_m = sp.Symbol("m", positive=True, integer=True)
_Q_delta, _Q_A = sp.MatrixSymbol("Q_delta", _m, _m), sp.MatrixSymbol("Q_A", sp.Symbol("n"), sp.Symbol("n"))
_U, _V = sp.MatrixSymbol("U", _m, _m), sp.MatrixSymbol("V", sp.Symbol("n"), sp.Symbol("n"))
_ALIGNED = sp.And(eq(_Q_delta, _U), eq(_Q_A, _V))
_i = sp.Symbol("i", integer=True)
_pik, _qik = sp.IndexedBase("p")[_i, s["k"]], sp.IndexedBase("q")[_i, s["k"]]
_E = sp.Function("E")

_KRON = Hypothesis("Kronecker model", "H ≈ C_delta ⊗ C_A (row-major vec), so h_k means h^Kron_k")
_KRON_READ = Hypothesis("Kronecker model", "H ≈ C_delta ⊗ C_A (row-major vec), so h_k means h^Kron_k", HK.READING)
_WINDOW = Hypothesis(
    "common window",
    "d/d ln sigma_k read as the OLS slope against ln sigma_k on one window, no dropped points",
    HK.READING,
)
_LAMPOS = Hypothesis(
    "positive eigenvalues", "lambda^delta_k > 0 and lambda^A_k > 0 where rho_k divides by them (domain)", HK.READING
)

definition1 = Statement(
    key="definition1",
    name="Definition 1",
    printed=sp.And(eq(s["rho_d"], quad(vec_u, C_delta) / s["lam_d"]), eq(s["rho_a"], quad(vec_w, C_A) / s["lam_a"])),
    printed_text="rho^(delta)_k = u_k^T C_delta u_k / lambda^delta_k, rho^(A)_k = w_k^T C_A w_k / lambda^A_k",
    hypotheses=(_LAMPOS, Hypothesis("pairing", "k-th singular vector paired with k-th eigenvalue")),
    rests_on=("rho_k in [lambda_min/lambda_k, lambda_1/lambda_k]",),
    verdict=Verdict.HOLDS,
    check=check_definition1,
    why="well defined only where lambda_k > 0; rho is not bounded by 1 and Phi = 1 does not imply alignment",
)

vec_convention = Statement(
    key="vec_convention",
    name="Vec convention (§1.2)",
    printed=eq(quad(vec_v, sp.kronecker_product(C_delta, C_A)), quad(vec_u, C_delta) * quad(vec_w, C_A)),
    printed_text="vec_r(uw^T) = u⊗w pairs with C_delta⊗C_A; vec_c(uw^T) = w⊗u pairs with C_A⊗C_delta",
    hypotheses=(Hypothesis("consistent pairing", "v_k = vec(u_k w_k^T) in the vec convention of the factor order"),),
    rests_on=("mixed-product property",),
    verdict=Verdict.IDENTITY,
    check=check_vec,
    aliases=("vec",),
)

identity_I1 = Statement(
    "I1",
    "Identity I1",
    eq(s["sigma"], vec_p.T * vec_q / s["B"]),
    "sigma_k = p_k^T q_k / B",
    (),
    (),
    Verdict.IDENTITY,
    lambda: identity_evidence({"I1": prove_identities()["I1"]}, ("I1",)),
)
identity_I2 = Statement(
    "I2",
    "Identity I2",
    sp.Eq(s["sigma"] ** 2, s["omega"] * s["h_kron"]),
    "sigma_k^2 = omega_k h^Kron_k (h^Kron ≥ sigma^2)",
    (),
    ("I1",),
    Verdict.IDENTITY,
    lambda: identity_evidence({k: v for k, v in prove_identities().items() if k.startswith("I2")}, ("I2", "PoS=Kron")),
)
identity_I3 = Statement(
    "I3",
    "Identity I3",
    sp.Eq(s["h_sop"], s["sigma"] ** 2 + Var(_pik * _qik)),
    "h^SoP_k = sigma_k^2 + Var_i(p_ik q_ik)",
    (),
    ("I1",),
    Verdict.IDENTITY,
    lambda: identity_evidence({"I3": prove_identities()["I3"]}, ("I3",)),
)
identity_I4 = Statement(
    "I4",
    "Identity I4",
    sp.Eq(s["R"], 1 + Cov(_pik**2, _qik**2) / (_E(_pik**2) * _E(_qik**2))),
    "R_k = 1 + Cov_i(p_ik^2, q_ik^2) / (mean p^2 mean q^2)",
    (),
    (),
    Verdict.IDENTITY,
    lambda: identity_evidence({"I4": prove_identities()["I4"]}, ("I4",)),
)

alpha_kron_identity = Statement(
    key="alpha_kron_identity",
    name="alpha_Kron = 2 - psi_omega",
    printed=sp.And(sp.Eq(s["alpha_kron"], s["beta"] + s["phi"]), sp.Eq(s["alpha_kron"], 2 - s["psi_omega"])),
    printed_text="alpha_Kron = beta + phi = 2 - psi_omega, with or without alignment",
    hypotheses=(_WINDOW,),
    rests_on=("I2", "OLS slope linearity"),
    verdict=Verdict.IDENTITY,
    check=check_alpha_kron,
    aliases=("alpha_kron",),
)

alpha_exact_identity = Statement(
    key="alpha_exact_identity",
    name="alpha_exact = beta + phi + psi_chi",
    printed=sp.And(
        sp.Eq(s["alpha_exact"], s["beta"] + s["phi"] + s["psi_chi"]),
        sp.Eq(s["alpha_exact"], 2 - s["psi_omega"] + s["psi_chi"]),
    ),
    printed_text="alpha_exact = beta + phi + psi_chi = 2 - psi_omega + psi_chi (Eq. (2) omits psi_chi)",
    hypotheses=(
        _WINDOW,
        Hypothesis("positive curvature", "h^exact_k > 0 on the window (domain of the logs)", HK.READING),
    ),
    rests_on=("h^exact = chi Phi Lambda", "OLS slope linearity"),
    verdict=Verdict.IDENTITY,
    check=check_alpha_exact,
    aliases=("alpha_exact",),
)

theorem1_part1 = Statement(
    key="theorem1_part1",
    name="Theorem 1 part 1",
    printed=sp.Eq(s["h"], s["rho_d"] * s["rho_a"] * s["lam_d"] * s["lam_a"]),
    printed_text="h_k = rho^(delta)_k rho^(A)_k lambda^delta_k lambda^A_k (accounting identity)",
    hypotheses=(_KRON_READ, _LAMPOS),
    rests_on=("vec_convention", "Definition 1"),
    verdict=Verdict.IDENTITY,
    check=lambda: identity_evidence(
        {k: v for k, v in prove_vec_convention(2).items() if k != "mismatched_is_zero"},
        ("vec_row", "vec_col", "rho_form"),
    ),
    aliases=("Theorem 1.1", "Thm 1.1"),
)

theorem1_part2 = Statement(
    key="theorem1_part2",
    name="Theorem 1 part 2",
    printed=sp.Eq(s["alpha"], LogSlope(s["Lambda"], s["sigma"]) + LogSlope(s["Phi"], s["sigma"])),
    printed_text="alpha = d ln Lambda/d ln sigma + d ln Phi/d ln sigma = beta + phi   (Eq. 2)",
    hypotheses=(_KRON_READ, _WINDOW),
    rests_on=("Theorem 1 part 1", "OLS slope linearity"),
    verdict=Verdict.IDENTITY,
    check=check_part2,
    aliases=("Eq. (2)", "Eq 2", "Theorem 1.2"),
    why="exact for alpha_Kron with OLS slopes on one window; for alpha_exact a psi_chi term is missing",
)

theorem1_part2_beta = Statement(
    key="theorem1_part2_beta",
    name="Theorem 1 part 2 (beta = 2 under alignment)",
    printed=sp.Implies(_ALIGNED, sp.Eq(s["beta"], 2)),
    printed_text="beta = 2 when the factor eigenbases align with the gradient singular directions",
    hypotheses=(Hypothesis("alignment", "Q_delta = U, Q_A = V"),),
    rests_on=("I2",),
    verdict=Verdict.REFUTED,
    check=check_part2_beta,
    aliases=("beta = 2",),
    corrected=sp.Eq(s["beta"], 2 - s["psi_omega"]),
    why="under alignment Lambda_k = sigma_k^2 / omega_k, so beta = 2 - psi_omega; recipe B is aligned with beta ≠ 2",
)

theorem1_part3 = Statement(
    key="theorem1_part3",
    name="Theorem 1 part 3",
    printed=sp.Implies(
        _ALIGNED,
        sp.And(
            sp.Eq(s["Lambda"], s["sigma"] ** 2 / s["chi"]),
            sp.Eq(s["alpha"], 2 + LogSlope(s["Phi"], s["sigma"]) - LogSlope(s["chi"], s["sigma"])),
        ),
    ),
    printed_text="perfect alignment ⇒ Lambda_k = sigma_k^2/chi_k and alpha = 2 + phi - psi_chi   (Eq. 3)",
    hypotheses=(Hypothesis("perfect alignment", "Q_delta = U, Q_A = V (rho ≡ 1)"),),
    rests_on=("I2", "alpha_exact = beta + phi + psi_chi"),
    verdict=Verdict.REFUTED,
    check=check_part3,
    aliases=("Eq. (3)", "Eq 3", "Theorem 1.3"),
    corrected=sp.Eq(s["alpha_exact"], 2 - s["psi_omega"] + s["psi_chi"]),
    why="the premise Lambda = sigma^2/chi is circular (it assumes alpha_exact = 2); the chi term enters with +",
)

theorem1 = Group("Theorem 1", (theorem1_part1, theorem1_part2, theorem1_part2_beta, theorem1_part3))

remark1 = Statement(
    key="remark1",
    name="Remark 1",
    printed=sp.Implies(
        sp.And(sp.Eq(LogSlope(s["Phi"], s["sigma"]), 0), sp.Eq(LogSlope(s["chi"], s["sigma"]), 0)), sp.Eq(s["alpha"], 2)
    ),
    printed_text="alpha departs from 2 exactly when Phi_k or chi_k correlates with sigma_k",
    hypotheses=(_KRON, Hypothesis("Phi, chi k-independent", "the premise: Phi_k and chi_k do not trend with sigma_k")),
    rests_on=("alpha_Kron = 2 - psi_omega",),
    verdict=Verdict.REFUTED,
    check=check_remark1,
    corrected=sp.Eq(s["alpha_exact"], 2 - s["psi_omega"] + s["psi_chi"]),
    why="omega_k, not Phi_k, carries the departure from 2: alpha = 2 iff psi_omega = psi_chi",
)

STATEMENTS = (
    definition1,
    theorem1_part1,
    theorem1_part2,
    theorem1_part2_beta,
    theorem1_part3,
    remark1,
    vec_convention,
    identity_I1,
    identity_I2,
    identity_I3,
    identity_I4,
    alpha_kron_identity,
    alpha_exact_identity,
)
