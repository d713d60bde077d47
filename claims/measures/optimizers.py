"""Shared pieces of the optimizer claims (Table 3, §7.3, App. M laws) judged on the project's ``sad-optim/1``
comparison files (:mod:`claims.optimdata` reads them): which files a law can judge, and the perturbation
helpers that edit their per-seed accuracies consistently (the stored summaries follow)."""

from __future__ import annotations

from typing import Any

import numpy as np

from empirics.compare_schema import SCALAR_CONFIGS, config_key

from ..bundle import Bundle
from ..context import Context
from ..jsonpath import Node
from ..optimdata import complete_files, has, incomplete_note, raw_cfg, seeds, set_seeds
from ..uncertainty.judge import Group, Region, Uncertainty, Unit
from ..uncertainty.resample import interval, label_seed

#: the seed whose best test accuracy a Table 3 cell reports
SEED = 42


def like(values: Any, n: int) -> list[float]:
    """``values`` if it has n entries, else n copies of its mean (seed lists must keep their length)."""
    vals = [float(v) for v in values]
    return vals if len(vals) == n else [float(np.mean(vals))] * n


def split_ref(r: str) -> tuple[str, str]:
    """A comparison record reference ``"<file>/<config>"`` as (file, config)."""
    f, c = r.rsplit("/", 1)
    return f, c


def set_seed42(docs: Any, r: str, value: float) -> None:
    """Set seed 42's best accuracy of a referenced config (summaries follow)."""
    f, c = split_ref(r)
    nd = docs[f]["summary"][c]
    vals = list(nd["seeds"])
    vals[[int(s) for s in nd["seed_ids"]].index(SEED)] = value
    set_seeds(docs[f], c, vals)


def seed42(docs: Any, r: str) -> float:
    """Seed 42's best accuracy of a referenced config."""
    f, c = split_ref(r)
    nd = docs[f]["summary"][c]
    return float(nd["seeds"][[int(s) for s in nd["seed_ids"]].index(SEED)])


def by_file(refs: list[str]) -> dict[str, dict[str, str]]:
    """Record references grouped by file: {file: {config: reference}}."""
    out: dict[str, dict[str, str]] = {}
    for r in refs:
        f, c = split_ref(r)
        out.setdefault(f, {})[c] = r
    return out


def describe(d: Node) -> str:
    """A comparison file in words: name, model, dataset, epochs."""
    v = d.value
    return f"{d.file} ({v['model']} on {v['dataset']}, {v['n_epochs']} epochs)"


def pair(b: Bundle, cfg_a: str, cfg_b: str) -> tuple[list[tuple[Node, np.ndarray, np.ndarray]], list[str]]:
    """Complete files with ≥ 2 seeds of both configs, and notes for the others."""
    judged, notes = [], list(incomplete_note(b))
    for d in complete_files(b):
        if not (has(d, cfg_a) and has(d, cfg_b)):
            notes.append(f"not judged: {d.file} has no {cfg_a if not has(d, cfg_a) else cfg_b} config")
            continue
        a, c = seeds(d, cfg_a), seeds(d, cfg_b)
        if a.size < 2 or c.size < 2:
            notes.append(f"not judged: {d.file} has < 2 seeds of {cfg_a}/{cfg_b} (n = {a.size}/{c.size})")
            continue
        judged.append((d, a, c))
    return judged, notes


def scalar_configs(d: Node) -> list[str]:
    """App. M's scalar per-layer configs that file ``d`` ran (≥ 1 seed)."""
    return [c for c in SCALAR_CONFIGS if has(d, c) and seeds(d, c).size >= 1]


def scalar_refs(refs: list[str]) -> dict[str, dict[str, str]]:
    """Record references of the scalar configs, grouped by file."""
    return {f: {c: r for c, r in cs.items() if c in SCALAR_CONFIGS} for f, cs in by_file(refs).items()}


def scalars_to_adamw(docs: Any, out: Any) -> None:
    """Give every scalar config of the outcome's files AdamW's per-seed accuracies."""
    for f, cs in scalar_refs(out.records).items():
        doc = docs[f]
        av = list(doc["summary"][raw_cfg(doc, "adamw")]["seeds"])
        for c in cs:
            set_seeds(doc, c, like(av, len(doc["summary"][c]["seeds"])))


# -- intervals over seeds (docs/claims-reference.md §3.5) --------------------------------------------------------
def _resampled_pair(ctx: Context, d: Node, cfg_a: str, cfg_c: str, a: np.ndarray, c: np.ndarray, stat) -> tuple:  # noqa: ANN001
    """Bootstrap draws of ``stat(a*, c*)``: each config's seeds drawn with replacement, independently (the
    configs are separate training runs; the point test's standard error treats them so too); with the number
    of top-level units behind the interval (the fewer seeds)."""
    bs = ctx.bootstrap
    rng = np.random.default_rng([bs.seed, label_seed(d.file, cfg_a, cfg_c)])
    ja = rng.integers(0, a.size, size=(bs.draws, a.size))
    jc = rng.integers(0, c.size, size=(bs.draws, c.size))
    return stat(a[ja], c[jc]), min(a.size, c.size)


def diff_unit(ctx: Context, d: Node, cfg_a: str, cfg_c: str, region: Region, label: str) -> Unit:
    """mean(c) − mean(a) of the best test accuracy over seeds, with its seed-bootstrap interval."""
    a, c = seeds(d, cfg_a), seeds(d, cfg_c)
    draws, n_top = _resampled_pair(ctx, d, cfg_a, cfg_c, a, c, lambda x, y: y.mean(axis=1) - x.mean(axis=1))
    ci = interval(draws, n_top, ctx.bootstrap.level)
    return Unit(label, float(c.mean() - a.mean()), region, ci, min(a.size, c.size), None, None, d.file)


def run_times(d: Node, cfg: str) -> tuple[np.ndarray, list[int]] | None:
    """Per-seed ``sec_per_opt_step`` of a config's runs (None when the file keeps no per-run timing)."""
    if not d.has("runs"):
        return None
    rows = [r for r in d["runs"].value if config_key(r.get("config", "")) == cfg and r.get("sec_per_opt_step")]
    if not rows:
        return None
    rows.sort(key=lambda r: int(r["seed"]))
    return np.array([float(r["sec_per_opt_step"]) for r in rows]), [int(r["seed"]) for r in rows]


def ratio_unit(ctx: Context, d: Node, cfg_a: str, cfg_c: str, point: float, region: Region, label: str) -> Unit:
    """median step time of ``cfg_c`` / of ``cfg_a``: the interval resamples each config's per-seed runs (a file
    without per-run timings gives the point as its interval, and says so through n_seeds = None)."""
    ta, tc = run_times(d, cfg_a), run_times(d, cfg_c)
    if ta is None or tc is None:
        return Unit(label, point, region, (point, point), None, None, None, d.file)
    (a, _), (c, _) = ta, tc
    draws, n = _resampled_pair(ctx, d, cfg_a, cfg_c, a, c, lambda x, y: np.median(y, axis=1) / np.median(x, axis=1))
    return Unit(label, point, region, interval(draws, n, ctx.bootstrap.level), n, None, None, d.file)


def seed_notes(units: list[Unit]) -> list[str]:
    """What the seed intervals rest on (few seeds give wide intervals, by design)."""
    ns = sorted({u.n_seeds for u in units if u.n_seeds is not None})
    if not ns:
        return ["no per-seed data: the intervals are the points"]
    return [
        f"intervals resample the seeds ({'–'.join(map(str, (ns[0], ns[-1]))) if len(ns) > 1 else ns[0]} per config); "
        "with n seeds the percentile interval is widened by √(n/(n−1))·t/z (≈ 2.7 at n = 3)"
    ]


def config_groups(ctx: Context, files: list[tuple[Node, list[str], Region]], versus_sn: bool = False) -> Uncertainty:
    """Per file, every listed config's Δ = mean(config) − mean(AdamW) (``versus_sn``: mean(SN) − mean(config))
    against the file's region; every file."""

    def unit(d: Node, c: str, reg: Region) -> Unit:
        if versus_sn:
            return diff_unit(ctx, d, c, "sn", reg, f"{d.file}: mean(SN) − mean({c}) (pp)")
        return diff_unit(ctx, d, "adamw", c, reg, f"{d.file} {c}: mean − mean(AdamW) (pp)")

    groups = [Group(d.file, "every", [unit(d, c, reg) for c in cs]) for d, cs, reg in files]
    return Uncertainty(Group("files", "every", list(groups)), seed_notes([u for g in groups for u in g.leaves()]))
