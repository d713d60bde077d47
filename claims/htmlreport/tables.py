"""The report's two tables as plain rows: every claim evaluated in-process (the evaluation behind
``python -m claims verify --json``), and every per-layer record of a results folder (:mod:`claims.records`)."""

from __future__ import annotations

import math
from dataclasses import dataclass

from theory.fits import fit_rank_models

from ..bundle import Bundle
from ..evaluate import evaluate
from ..model import Claim, Outcome
from ..records import all_networks
from .figure import short


def evaluate_all(claims: list[Claim], b: Bundle) -> list[Outcome]:
    """Every claim evaluated on ``b`` with the default bands, in order."""
    return [evaluate(c, b) for c in claims]


@dataclass
class LayerRow:
    r"""One row of the layer table: network, file, layer and type, :math:`\alpha` (:math:`R^2`), :math:`\gamma`,
    :math:`s`, the transfer error, :math:`\mathrm{PR}_h`, the BIC winner and how it was obtained."""

    network: str
    file: str
    layer: str
    type: str
    alpha: float
    r2: float
    gamma: float
    s: float
    relerr: float
    pr_h: float
    bic: str  # winner, "" if no σ profile
    bic_how: str  # "refit from σ" | "stored best_bic" | ""
    from_arrays: bool


def _stored_bic(b: Bundle) -> dict[str, str]:
    """in1k keeps a per-layer ``best_bic`` label but no σ (the only alpha-map file with one)."""
    root = b.node("in1k")
    if root is None:
        return {}
    return {r["name"].str(): r["best_bic"].str() for r in root["results"].items() if r.has("best_bic")}


def layer_rows(b: Bundle) -> list[LayerRow]:
    """Every layer of every network (project files: every checkpoint), with α, R², γ, s, transfer error,
    PR_h and the BIC winner (refitted from σ where the record stores σ, else a stored label, else blank)."""
    stored = _stored_bic(b)
    rows = []
    for n in all_networks(b):
        for lay in n.layers:
            bic, how = "", ""
            if "sigma" in lay.extra:
                rm = fit_rank_models(lay.extra["sigma"])
                if rm.ok:
                    bic, how = rm.winner, "refit from σ"
            elif n.key == "in1k" and lay.name in stored:
                bic, how = stored[lay.name], "stored best_bic"
            rows.append(
                LayerRow(
                    short(n),
                    n.file,
                    lay.name,
                    lay.type,
                    lay.alpha,
                    lay.r2,
                    lay.gamma,
                    lay.s,
                    lay.relerr,
                    lay.pr_h,
                    bic,
                    how,
                    lay.from_arrays,
                )
            )
    return rows


def num(x: float, d: int = 3) -> str:
    """``x`` with ``d`` decimals, or an em dash for None and non-finite values."""
    return "—" if x is None or not math.isfinite(x) else f"{x:.{d}f}"
