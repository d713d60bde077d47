"""Small synthetic ``sad-optim/1`` files for the claims tests (no training: the numbers are chosen)."""

from __future__ import annotations

import json
import os
from pathlib import Path

from empirics.compare_schema import CONFIG_NAMES, OPTIMIZER_OF, SCHEMA_VERSION, summarize_runs, validate
from tests import paths

PAPER = paths.PAPER
if not PAPER.is_dir():
    PAPER = Path("/work/shared/paper-results")

SEEDS = (42, 43, 44)


def optim_doc(
    accs: dict[str, list[float]],
    *,
    architecture: str = "mlp",
    model: str = "mlp",
    dataset: str = "digits",
    kind: str = "real",
    epochs: int = 15,
    sec: dict[str, float] | None = None,
    seeds: tuple[int, ...] = SEEDS,
    complete: bool = True,
    curves: bool = False,
) -> dict:
    """A valid file whose config ``c`` has best test accuracies ``accs[c]`` (one per seed, percent); ``curves``:
    with the per-epoch block (10 steps per epoch, each epoch 30 × the config's ``sec`` of wall time)."""
    sec = sec or {}
    runs = []
    for cfg, vals in accs.items():
        for seed, v in zip(seeds, vals, strict=True):
            t = sec.get(cfg, 1e-3)
            runs.append(
                {
                    "config": cfg,
                    "optimizer": OPTIMIZER_OF[cfg],
                    "seed": seed,
                    "lr": 1e-3,
                    "test_accuracy": [v - 1.0, v, v - 0.1],  # best = max, final = the last epoch
                    "best": v,
                    "final": v - 0.1,
                    "sec_per_step": 2 * t,
                    "sec_per_opt_step": t,
                    "sec_per_epoch": 30 * t,
                    "n_steps": 30,
                }
            )
            if curves:
                runs[-1].update(
                    steps=[10, 20, 30],
                    wall_seconds=[30 * t, 60 * t, 90 * t],
                    test_loss=[2.0, 1.5, 1.6],
                    train_loss=[2.2, 1.4, 1.2],
                )
    doc = {
        "schema": SCHEMA_VERSION,
        "complete": complete,
        "experiment": "fixture",
        "model": model,
        "architecture": architecture,
        "dataset": dataset,
        "dataset_kind": kind,
        "n_classes": 10,
        "n_epochs": epochs,
        "batch_size": 64,
        "schedule": {"name": "cosine"},
        "std_ddof": 1,
        "lr_search": {"chosen": {c: 1e-3 for c in accs}},
        "s_by_layer": {"layers.0": {"s": 1.7}, "head": {"s": 1.4}},
        "runs": runs,
        "summary": summarize_runs(runs),
        "device": "cpu",
        "provenance": {"created": "2026-01-01T00:00:00Z"},
    }
    validate(doc)
    return doc


def accs(base: float, **shift: float) -> dict[str, list[float]]:
    """Every config at ``base`` ± a small seed spread (std 0.3), shifted by ``shift[cfg]`` points."""
    spread = (0.3, 0.0, -0.3)
    return {c: [base + shift.get(c, 0.0) + s for s in spread] for c in CONFIG_NAMES}


def sn_wins() -> dict:
    """Digits-style file: SN beats AdamW by 2 pp (≫ 2·SE ≈ 0.49), scalar configs within ±0.1, SN step 1.5× Muon."""
    return optim_doc(
        accs(95.0, sn=2.0, muon=1.0, spectral_beta05=0.1, spectral_beta10=-0.1, spectral_beta15=0.05),
        sec={"sn": 1.5e-3, "muon": 1e-3},
    )


def table3(arch: str, dataset: str, adamw: float, sn: float) -> dict:
    """A Table 3-shaped file (real CIFAR, 30 epochs) whose seed-42 accuracies are ``adamw`` and ``sn``."""
    a = accs(0.0)
    a = {c: [adamw + v for v in vals] for c, vals in a.items()}
    a["adamw"] = [adamw, adamw - 0.2, adamw + 0.1]
    a["sn"] = [sn, sn - 0.1, sn + 0.2]
    return optim_doc(a, architecture=arch, model=f"{arch}_cifar", dataset=dataset, epochs=30)


def app_m() -> dict:
    """An App. M-shaped file (ResNet-18, real CIFAR-10, 100 epochs) with the authors' per-seed accuracies."""
    a = {
        "adamw": [93.98, 93.99, 93.59],
        "spectral_beta05": [94.13, 93.88, 93.78],
        "spectral_beta10": [94.17, 93.75, 93.79],
        "spectral_beta15": [94.10, 94.00, 93.77],
        "inverse_spectral": [93.71, 94.01, 93.78],
        "random_perlayer": [94.10, 93.77, 93.59],
    }
    return optim_doc(a, architecture="resnet18", model="resnet18_cifar", dataset="cifar10", epochs=100)


def write(folder: Path, docs: dict[str, dict], paper: bool = False) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    if paper:
        for p in sorted(PAPER.glob("*.json")):
            os.symlink(p.resolve(), folder / p.name)
    for name, doc in docs.items():
        (folder / name).write_text(json.dumps(doc))
    return folder


def all_fixtures() -> dict[str, dict]:
    """Files that give every optimizer claim data: the laws, Table 3's three rows, and App. M."""
    return {
        "cmp_digits.json": sn_wins(),
        "cmp_rn18_c10.json": table3("resnet18", "cifar10", 92.7, 93.8),
        "cmp_rn18_c100.json": table3("resnet18", "cifar100", 71.5, 75.0),
        "cmp_rn50_c100.json": table3("resnet50", "cifar100", 72.6, 75.0),
        "cmp_appm.json": app_m(),
    }
