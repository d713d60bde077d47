"""theory — the Spectral Alignment Decomposition, statement by statement.

Submodules are imported lazily (PEP 562), so ``import theory.fits`` (pure numpy) stays light for the claims
verifier, while ``from theory import theorem1, proposition9`` in a REPL gives the symbolic objects. Every verdict
follows one standard, written in :mod:`theory.statement` (and docs/verdict-standard.md).

>>> from theory import theorem1
>>> theorem1                                      # doctest: +ELLIPSIS
Theorem 1 — 4 parts
  [0] Theorem 1 part 1 — identity (proved symbolically)
      hₖ = λ_k__A⋅λ_k__δ⋅ρ_k__A⋅ρ_k__δ
  [1] Theorem 1 part 2 — identity (proved symbolically)
  ...
  [3] Theorem 1 part 3 — refuted as printed
  ...
>>> theorem1.evidence().confirms
True
"""

from __future__ import annotations

import importlib
from typing import Any

_SUBMODULES = {
    "fits",
    "numeric",
    "recipes",
    "statement",
    "symbolic",
    "alignment",
    "baseline",
    "layernorm",
    "residual",
    "softmax",
    "conv",
    "transfer",
    "zeta",
    "spectral_newton",
    "rank_models",
    "appendix_l",
    "htsr",
    "registry",
}

# public object -> module that defines it
_OBJECTS = {
    "definition1": "alignment",
    "theorem1": "alignment",
    "theorem1_part1": "alignment",
    "theorem1_part2": "alignment",
    "theorem1_part2_beta": "alignment",
    "theorem1_part3": "alignment",
    "remark1": "alignment",
    "vec_convention": "alignment",
    "identity_I1": "alignment",
    "identity_I2": "alignment",
    "identity_I3": "alignment",
    "identity_I4": "alignment",
    "alpha_kron_identity": "alignment",
    "alpha_exact_identity": "alignment",
    "theorem2": "baseline",
    "omega_criterion": "baseline",
    "proposition3": "layernorm",
    "bai_yin": "layernorm",
    "corollary4": "layernorm",
    "corollary4_part1": "layernorm",
    "corollary4_part2": "layernorm",
    "proposition5": "residual",
    "proposition6": "softmax",
    "conv_gap": "conv",
    "proposition7": "transfer",
    "remark2": "transfer",
    "corollary8": "htsr",
    "proposition9": "zeta",
    "pr_monotonicity": "zeta",
    # the T(sigma;alpha) / Spectral Newton statement is theory.spectral_newton.spectral_newton (or get("SN")):
    # the name theory.spectral_newton is the submodule
    "scalar_preconditioner": "spectral_newton",
    "bic_models": "rank_models",
    "separable_variance_statement": "appendix_l",
    "separable_covariance": "appendix_l",
    "couillet_hachem": "appendix_l",
    "horn_fan": "appendix_l",
    "r_eff_rule": "appendix_l",
    "STATEMENTS": "registry",
    "get": "registry",
    "GROUPS": "registry",
    "Verdict": "statement",
    "Statement": "statement",
    "Group": "statement",
    "Hypothesis": "statement",
    "HypothesisKind": "statement",
    "Evidence": "statement",
}
# "Theorem 3/7/9" are printed as Propositions 3/7/9 (THEORY.md §0.1)
_ALIASES = {"theorem3": "proposition3", "theorem7": "proposition7", "theorem9": "proposition9"}

__all__ = sorted(set(_OBJECTS) | set(_ALIASES))


def __getattr__(name: str) -> Any:
    if name in _SUBMODULES:
        return importlib.import_module(f"theory.{name}")
    target = _ALIASES.get(name, name)
    if target in _OBJECTS:
        module = importlib.import_module(f"theory.{_OBJECTS[target]}")
        return getattr(module, target)
    raise AttributeError(f"module 'theory' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__) | _SUBMODULES)
