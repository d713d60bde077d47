"""The report's Kronecker figure: how well the Kronecker (K-FAC) prediction tracks the exact curvature against
|α − 2| (Fig. 6 of the paper; conv_gap_v2, kfac_prediction and the project's ``kron`` records)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from empirics.schema import CONV_TYPES

from ..bundle import Bundle
from ..jsonpath import Node
from .figure import Figure, project_networks, short, source


# -- 6. Kronecker prediction quality against |α − 2| ------------------------------------------------------
@dataclass
class KronSet:
    r"""One group of points in the Kronecker-quality figure: per layer :math:`|\alpha-2|`, the Kronecker slack
    :math:`|1-\text{median concentration ratio}|` and the :math:`R^2` of the :math:`\alpha` fit; ``control`` sets are
    drawn but left out of the correlation."""

    label: str
    names: list[str]
    gap: np.ndarray  # |α − 2|
    slack: np.ndarray  # |1 − median concentration ratio|
    r2: np.ndarray  # R² of the α fit
    control: bool = False  # drawn, but not in r: FC/head controls, non-conv layers (the paper's r is over conv)


@dataclass
class KronPanel:
    """The Kronecker-quality figure's data: its point groups and the correlations the files themselves store."""

    sets: list[KronSet]
    stored_r: dict[str, float]  # the file's stored correlations, if any


def _pearson(x: np.ndarray, y: np.ndarray) -> float:
    ok = np.isfinite(x) & np.isfinite(y)
    if ok.sum() < 3 or np.std(x[ok]) == 0 or np.std(y[ok]) == 0:
        return math.nan
    return float(np.corrcoef(x[ok], y[ok])[0, 1])


def _median_ratio(node: Node) -> float:
    v = np.array([np.nan if x is None else x for x in node.arr()], dtype=float)
    v = v[np.isfinite(v)]
    return float(np.median(v)) if v.size else math.nan


def fig_kron_quality(b: Bundle) -> Figure:
    r"""The paper's Fig. 6: Kronecker slack and :math:`R^2` against :math:`|\alpha-2|` per layer, with the Pearson
    :math:`r` over the conv layers."""
    f = Figure(
        "fig6_kron_quality",
        "Kronecker prediction quality against |α − 2|",
        "Left: the Kronecker slack |1 − SoP/PoS| (per-layer median of the concentration ratio) against |α − 2|; right: "
        "the R² of the α fit against |α − 2|. r is the Pearson correlation over the conv layers, as in the paper's Fig. 6; "
        "FC/head controls (×) and other layer types (△) are drawn but left out of r.",
        "per-layer α with Kronecker concentration ratios: results_kfac_prediction.json (layers[].alpha_gap, "
        "kronecker_slack, r2_exact), results_conv_gap_v2.json (conv_results[].alpha_exact, concentration_ratio, "
        "r2_exact; fc_result), or sad-results/1 layers[].kron.concentration_ratio",
        rule="every layer with a concentration ratio (project runs: last checkpoint only)",
    )
    sets: list[KronSet] = []
    stored: dict[str, float] = {}
    kp = b.node("kfac_prediction")
    if kp is not None:
        lays = list(kp["layers"].items())
        sets.append(
            KronSet(
                "kfac_prediction (conv)",
                [r["name"].str() for r in lays],
                np.array([r["alpha_gap"].num() for r in lays]),
                np.array([r["kronecker_slack"].num() for r in lays]),
                np.array([r["r2_exact"].num() for r in lays]),
            )
        )
        stored = {
            "slack": kp["corr_alpha_gap_vs_kronecker_slack"].num(),
            "r2": kp["corr_alpha_gap_vs_r2_h_sigma"].num(),
        }
        f.sources.append(
            source(b, "kfac_prediction", "layers[].alpha_gap, kronecker_slack, r2_exact; corr_* (stored r)")
        )
    cg = b.node("conv_gap_v2")
    if cg is not None:
        recs = [(r, False) for r in cg["conv_results"].items()] + [(cg["fc_result"], True)]
        for want_control in (False, True):
            if kp is not None and not want_control:
                continue  # kfac_prediction is derived from these conv rows; draw them once
            rs = [r for r, c in recs if c == want_control]
            sets.append(
                KronSet(
                    "conv_gap_v2 " + ("FC control" if want_control else "(conv)"),
                    [r["name"].str() for r in rs],
                    np.array([abs(r["alpha_exact"].num() - 2) for r in rs]),
                    np.array([abs(1 - _median_ratio(r["concentration_ratio"])) for r in rs]),
                    np.array([r["r2_exact"].num() for r in rs]),
                    control=want_control,
                )
            )
        f.sources.append(
            source(b, "conv_gap_v2", "conv_results[] / fc_result: alpha_exact, concentration_ratio (median), r2_exact")
        )
    groups = {"conv": "project conv layers", "head": "project heads (control)", "other": "project other layers"}
    proj: dict[str, list[tuple[str, float, float, float]]] = {g: [] for g in groups}
    for n in project_networks(b):
        for lay in n.layers:
            k = lay.extra.get("kron")
            if k is None or not k.has("concentration_ratio") or not math.isfinite(lay.alpha):
                continue
            c = _median_ratio(k["concentration_ratio"])
            if math.isfinite(c):
                g = "conv" if lay.type in CONV_TYPES else "head" if lay.type == "head" else "other"
                proj[g].append((f"{short(n)}/{lay.name}", abs(lay.alpha - 2), abs(1 - c), lay.r2))
    for g, rows in proj.items():
        if rows:
            sets.append(
                KronSet(
                    groups[g],
                    [r[0] for r in rows],
                    np.array([r[1] for r in rows]),
                    np.array([r[2] for r in rows]),
                    np.array([r[3] for r in rows]),
                    control=g != "conv",
                )
            )
    if any(proj.values()):
        f.sources.append(
            source(b, "project", "layers[].kron.concentration_ratio (median); α, R² refitted from sigma, h_exact")
        )
    if sets:
        f.panels.append(KronPanel(sets, stored))
    return f


def correlations(p: KronPanel) -> dict[str, float]:
    """Pearson r of slack and R² against |α − 2| over the non-control sets."""
    main = [s for s in p.sets if not s.control]
    if not main:
        return {"slack": math.nan, "r2": math.nan}
    g = np.concatenate([s.gap for s in main])
    return {
        "slack": _pearson(g, np.concatenate([s.slack for s in main])),
        "r2": _pearson(g, np.concatenate([s.r2 for s in main])),
    }
