"""Preset scales: ``full`` (the preset as written) and ``smoke`` (the same runs, experiment identities, layer
selections and checkpoint epochs at toy size: a few minutes on CPU, for checking a data layout and the pipeline
end to end).

``smoke`` keeps of each :class:`~empirics.presets.spec.RunSpec` everything that names the experiment — model
(and so its depth and layer names), dataset, the measured epochs, the layer selection, ``run.experiment.id`` —
and shrinks the rest: widths (:data:`SMOKE_WIDTH`), image size and context, the training subset, B, k, the
number of seeds and batches, and the training length of runs whose epoch is not part of their identity (no named
checkpoints, no experiment at a stated epoch: :data:`SMOKE_EPOCHS`). Its files record ``run.experiment.scale = "smoke"`` and are proxies (shown by
``claims verify``, never counted as a replication). The Kronecker and Gauss–Newton records are kept only where
a claim reads them (:data:`SMOKE_KRON`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

from empirics.experiments import EXPERIMENTS, FULL_SCALE
from empirics.presets.spec import RunSpec

__all__ = ["SCALES", "SMOKE_KRON", "SMOKE_WIDTH", "scaled"]

SCALES = (FULL_SCALE, "smoke")
#: size knobs at smoke scale, per model (the depth and so every layer name are kept)
SMOKE_WIDTH: dict[str, dict[str, Any]] = {
    "mlp": {"width": 16},
    "resnet18_cifar": {"width": 4},
    "resnet18_imagenet": {"width": 4},
    "resnet50_cifar": {"width": 4},
    "resnet50_tiny": {"width": 4},
    "resnet50_imagenet": {"width": 4},
    "vgg11": {"width": 4, "hidden": 16},
    "vit_tiny": {"width": 16, "depth": 2, "n_head": 2},
    "gpt2": {"d_model": 16, "n_head": 2},
    "gpt2_6l": {"d_model": 16, "n_head": 2},
}
#: image size (or LM context) per dataset at smoke scale
SMOKE_INPUT: dict[str, dict[str, int]] = {
    "cifar10": {"image_size": 8},
    "cifar100": {"image_size": 8},
    "tiny-imagenet": {"image_size": 16},
    "imagenet": {"image_size": 32},
    "text": {"context": 16},
    "text-cls": {"context": 16},
}
#: experiments whose claims read the Kronecker record (App. D: χ and the SoP/PoS concentration)
SMOKE_KRON = frozenset({"cifar10_resnet18_conv_gap"})
SMOKE_B, SMOKE_K, SMOKE_SEEDS, SMOKE_BATCHES, SMOKE_EPOCHS = 8, 6, (0,), 2, 2


def _fixed_epochs(spec: RunSpec) -> bool:
    """Whether the run's epochs belong to its identity: named checkpoints, or an experiment at a stated epoch."""
    stated = spec.experiment is not None and EXPERIMENTS[spec.experiment].epoch is not None
    return spec.measure_epochs is not None or spec.checkpoint_epochs is not None or stated


def scaled(spec: RunSpec, scale: str) -> RunSpec:
    """``spec`` at ``scale`` (see the module docstring); ``full`` returns it unchanged."""
    if scale == FULL_SCALE:
        return spec
    if scale != "smoke":
        raise ValueError(f"unknown scale {scale!r}; choose from {', '.join(SCALES)}")
    model_kwargs = {**spec.model_kwargs, **SMOKE_WIDTH.get(spec.model, {})}
    data_kwargs = {**spec.data_kwargs, **SMOKE_INPUT.get(spec.dataset, {})}
    if "n_classes" in data_kwargs:
        data_kwargs["n_classes"] = min(data_kwargs["n_classes"], 4)
    seeds = SMOKE_SEEDS[: len(spec.seed_list())]
    return dataclasses.replace(
        spec,
        model_kwargs=model_kwargs,
        data_kwargs=data_kwargs,
        epochs=spec.epochs if _fixed_epochs(spec) else min(spec.epochs, SMOKE_EPOCHS),
        train_samples=SMOKE_B * SMOKE_BATCHES * 2,
        train_batch_size=SMOKE_B * 2,
        batch_size=SMOKE_B,
        k=min(spec.k, SMOKE_K),
        seed=seeds[0],
        seeds=seeds,
        n_batches=SMOKE_BATCHES,
        gn=False,
        kron=spec.kron and spec.experiment in SMOKE_KRON,
        target_accuracy=None,
        scale="smoke",
    )
