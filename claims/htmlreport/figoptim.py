"""The report's optimizer comparisons (``sad-optim/1`` files): the learning curves as a figure — test accuracy
against optimizer steps and against training wall time side by side, and the test loss — and one table per file
(best accuracy with its seed interval, the difference to AdamW with its interval, the wall-clock cost, and the
accuracy each config had reached when AdamW's whole training time was spent). Numbers only, read from the
files' ``summary.<cfg>.curve`` (seed means; steps and wall time: medians over seeds) and per-seed accuracies."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from empirics.compare_schema import CONFIG_NAMES

from ..bundle import Bundle
from ..context import DEFAULT, Context
from ..jsonpath import Node
from ..measures.optimizers import describe, diff_unit, mean_interval
from ..optimdata import complete_files, has, node, seeds
from ..uncertainty.judge import above
from .figure import Figure


@dataclass
class Curve:
    """One optimizer config's seed-mean learning curve: per epoch the cumulative steps, wall time (s), test
    accuracy (%) and test loss."""

    config: str
    epoch: list[int]
    steps: list[float]
    wall: list[float]
    accuracy: list[float]
    test_loss: list[float]  # NaN where a seed had no finite loss


@dataclass
class CurvePanel:
    """The curves of one comparison file (one figure row)."""

    file: str
    title: str
    curves: list[Curve]


@dataclass
class ConfigRow:
    """One config's row of a comparison table: accuracy with its seed interval, Δ vs AdamW, wall-clock cost."""

    config: str
    n_seeds: int
    lr: float
    best: float  # seed mean of the best test accuracy (%)
    best_ci: tuple[float, float]
    final: float  # seed mean of the last epoch's accuracy
    delta: float  # mean best − AdamW's (pp); NaN without AdamW
    delta_ci: tuple[float, float]
    steps: float  # steps of the whole run (median over seeds)
    wall: float  # training wall time of the whole run (s, median over seeds); NaN without curves
    sec_per_opt_step: float
    acc_at_adamw_wall: float  # seed-mean accuracy at the last epoch within AdamW's total wall time; NaN if none


@dataclass
class ComparisonTable:
    """The table of one comparison file; ``adamw_wall`` is AdamW's whole training time (s), the budget at which
    every config's accuracy is also read."""

    file: str
    title: str
    adamw_wall: float
    rows: list[ConfigRow] = field(default_factory=list)


def _nan(x: object) -> float:
    return math.nan if x is None else float(x)  # type: ignore[arg-type]


def _curve(d: Node, cfg: str) -> Curve | None:
    n = node(d, cfg)
    if not n.has("curve"):
        return None
    c = n["curve"].value
    return Curve(
        cfg,
        [int(e) for e in c["epoch"]],
        [float(x) for x in c["steps"]],
        [float(x) for x in c["wall_seconds"]],
        [float(x) for x in c["test_accuracy"]],
        [_nan(x) for x in c["test_loss"]],
    )


def _configs(d: Node) -> list[str]:
    return [c for c in CONFIG_NAMES if has(d, c)]


def fig_optimizer_curves(b: Bundle) -> Figure:
    """Figure 8: test accuracy against steps and against wall time, and the test loss, per comparison file."""
    f = Figure(
        "fig8_optimizer_curves",
        "Optimizer comparisons: test accuracy against steps and against wall time, and the test loss",
        "One row per comparison file: the seed mean of the test accuracy after each epoch against the cumulative "
        "optimizer steps (left) and against the cumulative training wall time (middle; evaluation excluded; median "
        "over seeds), and the seed-mean test loss against steps (right); one line per optimizer config.",
        "complete sad-optim/1 files whose runs keep the per-epoch block (steps, wall_seconds, losses)",
        rule="every complete comparison file with per-epoch curves, every config it ran",
    )
    for d in complete_files(b):
        curves = [c for c in (_curve(d, cfg) for cfg in _configs(d)) if c is not None]
        if curves:
            v = d.value
            title = f"{d.file}\n({v['model']} on {v['dataset']}, {v['n_epochs']} epochs)"
            f.panels.append(CurvePanel(d.file, title, curves))
    if f.panels:
        f.sources.append("sad-optim/1 → summary.<cfg>.curve (epoch, steps, wall_seconds, test_accuracy, test_loss)")
    skipped = [d.file for d in complete_files(b) if d.file not in {p.file for p in f.panels}]
    f.notes += [f"{s}: no per-epoch curves stored (written before the wall-clock block)" for s in skipped]
    return f


def _at_wall(curve: Curve | None, budget: float) -> float:
    """The accuracy at the last epoch whose cumulative wall time is within ``budget`` (NaN if none is)."""
    if curve is None or not math.isfinite(budget):
        return math.nan
    ok = [a for a, w in zip(curve.accuracy, curve.wall, strict=True) if w <= budget * (1 + 1e-9)]
    return ok[-1] if ok else math.nan


def comparison_tables(b: Bundle, ctx: Context = DEFAULT) -> list[ComparisonTable]:
    """One table per complete comparison file (configs in the schema's order)."""
    out = []
    for d in complete_files(b):
        cfgs = _configs(d)
        curves = {c: _curve(d, c) for c in cfgs}
        ref = curves.get("adamw")
        budget = ref.wall[-1] if ref is not None and ref.wall else math.nan
        t = ComparisonTable(d.file, describe(d), budget)
        for c in cfgs:
            n, a = node(d, c), seeds(d, c)
            cv = curves[c]
            pair = has(d, "adamw") and c != "adamw" and a.size >= 2 and seeds(d, "adamw").size >= 2
            u = diff_unit(ctx, d, "adamw", c, above(0.0), c) if pair else None
            t.rows.append(
                ConfigRow(
                    c,
                    int(a.size),
                    float(n["lr"].value),
                    float(a.mean()),
                    mean_interval(ctx, d, c) if a.size >= 2 else (math.nan, math.nan),
                    float(np.mean(n["final"].arr())),
                    u.point if u is not None else (0.0 if c == "adamw" else math.nan),
                    u.ci if u is not None and u.ci is not None else (math.nan, math.nan),
                    cv.steps[-1] if cv is not None else _nan(n.value.get("n_steps")),
                    cv.wall[-1] if cv is not None else math.nan,
                    _nan(n.value.get("sec_per_opt_step")),
                    _at_wall(cv, budget),
                )
            )
        out.append(t)
    return out
