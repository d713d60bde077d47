r"""The project's optimizer-comparison files (``sad-optim/1``, :mod:`empirics.compare_schema`) as claim data.

Two uses, kept apart:

* **Number claims** (Table 3 cells, §7 gains, App. M means) describe *one* experiment: Table 3 is ResNet-18/50
  on real CIFAR-10/100, 30 epochs, seed 42; App. M is ResNet-18 on real CIFAR-10, 100 epochs, three seeds.
  A comparison file is used for them only when its architecture, dataset (real data) and epochs equal that
  experiment's (:func:`matching`); otherwise the claim is ``no data`` with a reason naming each file and
  its mismatch. A digits accuracy is never compared with 93.85.
* **Law claims** ("SN outperforms AdamW at matched epoch budgets", "scalar per-layer scaling stays within
  seed noise") are predicates that every complete comparison file can judge (:func:`complete_files`).

Accuracies are percent; seed statistics are recomputed from ``summary.<cfg>.seeds`` (the stored
``mean_best``/``std_best`` are never trusted: :mod:`claims.integrity` cross-checks them), with the sample std (ddof 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from empirics.compare_schema import ALIASES, config_key

from .bundle import Bundle
from .jsonpath import Node


@dataclass(frozen=True)
class Experiment:
    """One printed optimizer experiment: the setting a comparison file must match (architecture, real dataset, epochs)
    and the seed a printed cell reports."""

    label: str
    architecture: str
    dataset: str
    n_epochs: int
    seed: int | None = None  # the single seed a printed cell reports (Table 3: 42)

    def describe(self) -> str:
        """One line naming the experiment: label, architecture, real dataset, epochs and seed."""
        return f"{self.label}: {self.architecture} on real {self.dataset}, {self.n_epochs} epochs" + (
            f", seed {self.seed}" if self.seed is not None else ""
        )


TABLE3 = {
    "rn18_c10": Experiment("Table 3 ResNet-18 CIFAR-10", "resnet18", "cifar10", 30, 42),
    "rn18_c100": Experiment("Table 3 ResNet-18 CIFAR-100", "resnet18", "cifar100", 30, 42),
    "rn50_c100": Experiment("Table 3 ResNet-50 CIFAR-100", "resnet50", "cifar100", 30, 42),
}
APP_M = Experiment("App. M", "resnet18", "cifar10", 100)


def complete_files(b: Bundle) -> list[Node]:
    """The comparison files of the bundle whose ``complete`` flag is true (the ones a law may judge)."""
    return [d for d in b.optim if d["complete"].value is True]


def incomplete_note(b: Bundle) -> list[str]:
    """One note per comparison file that is left out because it is incomplete."""
    return [f"not judged: {d.file} is incomplete (complete: false)" for d in b.optim if d["complete"].value is not True]


def cfg_name(doc: Node, cfg: str) -> str | None:
    """The key under which canonical config ``cfg`` is stored in ``doc.summary`` (aliases allowed), or None."""
    keys = doc["summary"].keys()
    canon = config_key(cfg)
    for k in keys:
        if config_key(k) == canon:
            return k
    return None


def has(doc: Node, cfg: str) -> bool:
    """Whether ``doc.summary`` holds canonical config ``cfg`` under some accepted name."""
    return cfg_name(doc, cfg) is not None


def node(doc: Node, cfg: str) -> Node:
    """The ``summary`` node of config ``cfg``; raises :class:`InputError` naming the file and path when it is absent."""
    k = cfg_name(doc, cfg)
    if k is None:
        raise doc["summary"].error(f"no config {cfg!r}", f"{doc['summary'].path}.{cfg}")
    return doc["summary"][k]


def seeds(doc: Node, cfg: str) -> np.ndarray:
    """The per-seed best test accuracies (%) of config ``cfg``, one per seed."""
    return node(doc, cfg)["seeds"].arr()


def seed_value(doc: Node, cfg: str, seed: int) -> float | None:
    """Config ``cfg``'s best test accuracy (%) for training seed ``seed``, or None when that seed was not run."""
    n = node(doc, cfg)
    ids = [int(v) for v in n["seed_ids"].value]
    return float(n["seeds"].value[ids.index(seed)]) if seed in ids else None


def ref(doc: Node, cfg: str) -> str:
    """A reference ``file/config`` for verdict notes."""
    return f"{doc.file}/{cfg_name(doc, cfg) or cfg}"


def mismatch(doc: Node, exp: Experiment) -> list[str]:
    """How the comparison file differs from experiment ``exp`` (architecture, dataset or synthetic data, epochs,
    incomplete), one phrase each; empty when it matches."""
    d = doc.value
    out = []
    if d["architecture"] != exp.architecture:
        out.append(f"architecture {d['architecture']} (not {exp.architecture})")
    if d["dataset"] != exp.dataset or d["dataset_kind"] != "real":
        out.append(f"dataset {d['dataset']} ({d['dataset_kind']}; not real {exp.dataset})")
    if d["n_epochs"] != exp.n_epochs:
        out.append(f"{d['n_epochs']} epochs (not {exp.n_epochs})")
    if d["complete"] is not True:
        out.append("incomplete")
    return out


def matching(b: Bundle, exp: Experiment) -> tuple[list[Node], str]:
    """Comparison files of experiment ``exp`` (sorted by file name), and the reason when there is none."""
    hits, why = [], []
    for d in b.optim:
        mm = mismatch(d, exp)
        (why.append(f"{d.file}: {', '.join(mm)}") if mm else hits.append(d))
    if hits:
        return hits, ""
    if not b.optim:
        return [], f"no optimizer-comparison file (sad-optim/1) in the folder; needs {exp.describe()}"
    return [], f"no comparison file matches {exp.describe()}: " + "; ".join(why)


def se_diff(a: np.ndarray, c: np.ndarray) -> float:
    """Standard error of mean(c) − mean(a): sqrt(s_a²/n_a + s_c²/n_c), sample std (ddof 1)."""
    return math.sqrt(a.var(ddof=1) / a.size + c.var(ddof=1) / c.size)


def beats(a: np.ndarray, c: np.ndarray) -> tuple[bool, float, float]:
    """Whether config ``c`` beats ``a`` beyond seed noise: Δ = mean(c) − mean(a) > 0 and Δ > 2·SE."""
    d = float(c.mean() - a.mean())
    se = se_diff(a, c)
    return (d > 0 and d > 2 * se), d, se


# -- perturbation helpers (edit the raw per-seed accuracies; keep the stored summaries consistent) --------
def set_seeds(raw_doc: dict, cfg_key: str, values: list[float]) -> None:
    """Perturbation helper: replace config ``cfg_key``'s per-seed accuracies in a raw document by ``values`` (clipped to
    [0, 100]) and recompute the stored ``mean_best`` and ``std_best`` (the file's ``std_ddof``)."""
    nd = raw_doc["summary"][cfg_key]
    vals = [float(min(100.0, max(0.0, v))) for v in values]
    nd["seeds"] = vals
    nd["mean_best"] = float(np.mean(vals))
    ddof = int(raw_doc.get("std_ddof", 1))
    nd["std_best"] = float(np.std(vals, ddof=ddof)) if len(vals) > ddof else 0.0


def raw_cfg(raw_doc: dict, cfg: str) -> str:
    """The key under which canonical config ``cfg`` is stored in a raw document's ``summary``; raises ``KeyError`` when
    absent."""
    canon = config_key(cfg)
    for k in raw_doc["summary"]:
        if ALIASES.get(k, k) == canon:
            return k
    raise KeyError(cfg)
