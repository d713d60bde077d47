"""Every encoded statement, in the paper's order, with name lookup (THEORY.md §0.1 numbering; aliases accepted)."""

from __future__ import annotations

import re

from theory import (
    alignment,
    appendix_l,
    baseline,
    conv,
    htsr,
    layernorm,
    rank_models,
    residual,
    softmax,
    spectral_newton,
    transfer,
    zeta,
)
from theory.statement import Group, Statement, Verdict

__all__ = [
    "STATEMENTS",
    "PAPER_STATEMENTS",
    "DERIVED_IDENTITIES",
    "GROUPS",
    "get",
    "get_group",
    "normalise",
    "verdict_counts",
]

_PAPER_ORDER = (
    alignment.definition1,
    alignment.theorem1_part1,
    alignment.theorem1_part2,
    alignment.theorem1_part2_beta,
    alignment.theorem1_part3,
    alignment.remark1,
    baseline.theorem2,
    layernorm.proposition3,
    layernorm.bai_yin,
    layernorm.corollary4_part1,
    layernorm.corollary4_part2,
    residual.proposition5,
    softmax.proposition6,
    conv.conv_gap,
    transfer.proposition7,
    transfer.remark2,
    htsr.corollary8,
    zeta.proposition9,
    spectral_newton.spectral_newton,
    spectral_newton.scalar_preconditioner,
    rank_models.bic_models,
    appendix_l.separable_variance_statement,
    appendix_l.couillet_hachem,
    appendix_l.horn_fan,
    appendix_l.r_eff_rule,
)
_DERIVED = (
    alignment.vec_convention,
    alignment.identity_I1,
    alignment.identity_I2,
    alignment.identity_I3,
    alignment.identity_I4,
    alignment.alpha_kron_identity,
    alignment.alpha_exact_identity,
    baseline.omega_criterion,
    zeta.pr_monotonicity,
    appendix_l.separable_covariance,
)
PAPER_STATEMENTS: tuple[Statement, ...] = _PAPER_ORDER
DERIVED_IDENTITIES: tuple[Statement, ...] = _DERIVED
STATEMENTS: tuple[Statement, ...] = _PAPER_ORDER + _DERIVED


def normalise(name: str) -> str:
    """Case-, space- and punctuation-insensitive key ("Theorem 1 part 3" == "theorem1_part3" == "thm1part3")."""
    s = (
        name.lower()
        .replace("–", "-")
        .replace("thm", "theorem")
        .replace("prop.", "proposition")
        .replace("cor.", "corollary")
    )
    return re.sub(r"[^a-z0-9]", "", s)


_INDEX: dict[str, Statement] = {}
for _st in STATEMENTS:
    for _n in _st.names:
        _INDEX.setdefault(normalise(_n), _st)
# "Theorem 3/7/9" are printed as Propositions 3/7/9 (THEORY.md §0.1)
for _num, _st in (("3", layernorm.proposition3), ("7", transfer.proposition7), ("9", zeta.proposition9)):
    _INDEX.setdefault(normalise(f"theorem {_num}"), _st)


def get(name: str) -> Statement:
    """Look a statement up by key, printed name or alias; ``KeyError`` with the known keys otherwise."""
    try:
        return _INDEX[normalise(name)]
    except KeyError:
        raise KeyError(f"unknown statement {name!r}; known: {', '.join(s.key for s in STATEMENTS)}") from None


GROUPS: dict[str, Group] = {normalise(g.name): g for g in (alignment.theorem1, layernorm.corollary4)}


def get_group(name: str) -> Group | None:
    """A numbered result with several parts ("Theorem 1"), or None."""
    return GROUPS.get(normalise(name))


def verdict_counts(statements: tuple[Statement, ...] = STATEMENTS) -> dict[Verdict, int]:
    return {v: sum(s.verdict is v for s in statements) for v in Verdict}
