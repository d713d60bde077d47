"""Shared pieces of the optimizer claims (Table 3, §7.3, App. M laws) judged on the project's ``sad-optim/1``
comparison files (:mod:`claims.optimdata` reads them): which files a law can judge, and the perturbation
helpers that edit their per-seed accuracies consistently (the stored summaries follow)."""

from __future__ import annotations

from typing import Any

import numpy as np

from empirics.compare_schema import SCALAR_CONFIGS

from ..bundle import Bundle
from ..jsonpath import Node
from ..optimdata import complete_files, has, incomplete_note, raw_cfg, seeds, set_seeds

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
