"""Integrity of the training-outcome files: the authors' App. M summary (precond) and the project's
optimizer comparisons (``sad-optim/1``, whose ``summary`` the writer builds from ``runs`` with
:func:`empirics.compare_schema.summarize_runs`)."""

from __future__ import annotations

import math

import numpy as np

from empirics.compare_schema import summarize_runs

from ..bundle import Bundle
from ..jsonpath import Node
from .tally import Tally

PRECOND_FIELDS = {
    "$.summary.*.mean_best": "mean of the config's seeds, as printed to 2 decimals (|stored − mean| ≤ 0.005)",
}
SUMMARY_FROM_RUNS = "the writer's summary of the config's runs (empirics.compare_schema.summarize_runs, seeds sorted)"
OPTIM_FIELDS = {
    "$.runs[].best": "max of the run's test_accuracy",
    "$.runs[].final": "the run's last test_accuracy",
    "$.summary.*.mean_best": "mean of the config's seeds",
    "$.summary.*.std_best": "std of the config's seeds with ddof std_ddof (0 for a single seed)",
    "$.summary.*.seeds": f"best of each run: {SUMMARY_FROM_RUNS} (when runs are stored)",
    "$.summary.*.seed_ids": f"seed of each run: {SUMMARY_FROM_RUNS} (when runs are stored)",
    "$.summary.*.final": f"final of each run: {SUMMARY_FROM_RUNS} (when runs are stored)",
    "$.summary.*.lr": "lr_search.chosen of the config, and the runs' lr (when runs are stored)",
    "$.summary.*.optimizer": f"{SUMMARY_FROM_RUNS} (when runs are stored)",
    "$.summary.*.sec_*": f"median over the runs: {SUMMARY_FROM_RUNS} (when runs are stored; relative tolerance)",
    "$.summary.*.n_steps": f"{SUMMARY_FROM_RUNS} (when runs are stored)",
    "$.runs[].n_steps": "the run's last cumulative step count (steps[-1]), when the run keeps its per-epoch block",
    "$.summary.*.curve.*": f"per epoch: seed means of accuracy and losses, medians of steps and wall time: "
    f"{SUMMARY_FROM_RUNS} (when runs are stored)",
    "$.lr_search.chosen.*": "the grid lr with the highest val_accuracy (ties: the smaller lr)",
    "$.s_by_layer.*.s": "alpha · gamma of the layer",
}
FIELDS = {"precond": PRECOND_FIELDS, "sad-optim/1": OPTIM_FIELDS}
NOT_CHECKED = {
    "precond": "std_best (its ddof and rounding are undocumented: 3 of the 6 values match the seeds' std with "
    "neither ddof); note and conclusion (text)",
    "sad-optim/1": "runs[].test_accuracy, the runs' wall_seconds, losses and sec_*, lr_search.val_accuracy "
    "(measurements); "
    "s_by_layer alpha, gamma, s_hessian (measured on a model the file does not store); provenance",
}


def precond(b: Bundle, root: Node, t: Tally) -> None:
    """The printed means against the seeds (2 decimals)."""
    sm = root["summary"]
    for cfg in sm.keys():
        s = sm[cfg]["seeds"].arr()
        t.num("$.summary.*.mean_best", sm[cfg].opt("mean_best"), float(s.mean()), tol=0, absolute=0.005 + 1e-9)


def _std(xs: np.ndarray, ddof: int) -> float:
    return float(xs.std(ddof=ddof)) if xs.size > ddof else 0.0


def optim(b: Bundle, root: Node, t: Tally) -> None:
    """Runs against their curves, the summary against the runs, the chosen learning rates, s = αγ."""
    ddof = root["std_ddof"].int()
    runs = list(root["runs"].items()) if root.has("runs") else []
    for r in runs:
        acc = r["test_accuracy"].arr()
        acc = acc[np.isfinite(acc)]
        t.num("$.runs[].best", r.opt("best"), float(acc.max()) if acc.size else math.nan)
        if r.has("final"):
            t.num("$.runs[].final", r.opt("final"), float(r["test_accuracy"].arr()[-1]))
        if r.has("steps") and r.has("n_steps") and r["steps"].value:
            t.same("$.runs[].n_steps", r.opt("n_steps"), int(r["steps"].value[-1]))
    from_runs = summarize_runs([r.value for r in runs], ddof) if runs else {}
    chosen = root["lr_search"].get("chosen")
    sm = root["summary"]
    for cfg in sm.keys():
        node = sm[cfg]
        s = node["seeds"].arr()
        t.num("$.summary.*.mean_best", node.opt("mean_best"), float(s.mean()))
        t.num("$.summary.*.std_best", node.opt("std_best"), _std(s, ddof))
        if chosen is not None and chosen.has(cfg):
            t.num("$.summary.*.lr", node.opt("lr"), chosen[cfg].num(), relative=True)
        ref = from_runs.get(cfg)
        if ref is None:
            continue
        for k in ("seeds", "seed_ids", "final"):
            if isinstance(ref[k][0] if ref[k] else 0, float):
                t.array(f"$.summary.*.{k}", node.opt(k), ref[k])
            else:
                t.same(f"$.summary.*.{k}", node.opt(k), ref[k])
        t.num("$.summary.*.lr", node.opt("lr"), ref["lr"], relative=True)
        for k in ("optimizer", "n_steps"):
            if node.has(k):
                t.same(f"$.summary.*.{k}", node.opt(k), ref[k])
        for k in ("sec_per_step", "sec_per_opt_step", "sec_per_epoch"):
            if node.has(k):
                t.num("$.summary.*.sec_*", node.opt(k), math.nan if ref[k] is None else ref[k], relative=True)
        if node.has("curve"):
            rc = ref.get("curve")
            for k in node["curve"].keys():
                if rc is None or k not in rc:
                    t.same("$.summary.*.curve.*", node["curve"].opt(k), "(not recomputable from the runs)")
                else:
                    t.array("$.summary.*.curve.*", node["curve"].opt(k), [math.nan if v is None else v for v in rc[k]])
    grid, val = root["lr_search"].get("grid"), root["lr_search"].get("val_accuracy")
    if chosen is not None and grid is not None and val is not None:
        for cfg in chosen.keys():
            if not (grid.has(cfg) and val.has(cfg)):
                continue
            g, v = grid[cfg].arr(), val[cfg].arr()
            if g.size != v.size or not g.size:
                t.same("$.lr_search.chosen.*", chosen.opt(cfg), f"(grid and val_accuracy of {cfg} differ in length)")
                continue
            best = max(range(g.size), key=lambda i: (v[i], -g[i]))
            t.num("$.lr_search.chosen.*", chosen.opt(cfg), float(g[best]), relative=True)
    for layer in root["s_by_layer"].keys():
        rec = root["s_by_layer"][layer]
        if rec.has("alpha") and rec.has("gamma"):
            t.num("$.s_by_layer.*.s", rec.opt("s"), rec["alpha"].num() * rec["gamma"].num())


CHECKS = {"precond": precond, "sad-optim/1": optim}
