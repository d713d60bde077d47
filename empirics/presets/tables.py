"""The presets: ``cpu`` (the shipped ``results/``: reduced widths on digits, the text corpus and a synthetic
many-class task, float64 on CPU) and ``paper`` (the paper's sweep at its batch sizes and k, for a GPU)."""

from __future__ import annotations

from typing import Any

from empirics.experiments import EXPERIMENTS
from empirics.presets.spec import RunSpec

__all__ = ["CPU_PRESET", "NOT_REMEASURED", "PAPER_PRESET", "PRESETS", "PROXY_ONLY"]


_DIGITS16: dict[str, Any] = {"image_size": 16}
#: every network of the cpu preset is trained with these seeds and measured on this many disjoint batches
CPU_SEEDS = (0, 1, 2)
CPU_BATCHES = 5
_REP: dict[str, Any] = {"seeds": CPU_SEEDS, "n_batches": CPU_BATCHES}
#: ResNet-18's measured layers in the cpu preset: the stem, both convs of each stage's first block, the three
#: downsample convs and the head (every layer kind; the stage's later blocks are left out for time)
_RN18_LAYERS = (
    "conv1",
    *(f"layer{i}.0.conv{j}" for i in range(1, 5) for j in (1, 2)),
    *(f"layer{i}.0.downsample.0" for i in range(2, 5)),
    "fc",
)

#: The shipped ``results/``: 7 networks × 3 seeds × 5 disjoint batches (ResNet-18 also at epochs 0 and 5),
#: float64 on CPU, sized to take under an hour on an idle 2-core machine: widths, B, ResNet-18's measured layers
#: and the text models' depth (2 blocks) and context (16 bytes) chosen for that, every network keeping each of
#: its layer kinds; the Gauss–Newton curvature (no claim reads it; a fifth of the time) is not recorded.
CPU_PRESET: list[RunSpec] = [
    RunSpec(
        "mlp_digits",
        "mlp",
        "digits",
        {"width": 128, "depth": 2},
        {"image_size": 8},
        epochs=30,
        train_batch_size=64,
        lr=0.05,
        batch_size=256,  # 5 disjoint batches of the 1437 training digits
        k=20,
        **_REP,
        gn=False,
    ),
    RunSpec(
        "resnet18_digits",
        "resnet18_cifar",
        "digits",
        {"width": 16},
        {"image_size": 8},
        epochs=10,
        train_batch_size=64,
        lr=0.05,
        measure_epochs=(0, 5, 10),
        batch_size=64,
        k=20,
        layer_names=_RN18_LAYERS,
        trajectory_layers=("conv1", "layer2.0.conv2", "layer4.0.conv2", "fc"),
        **_REP,
        gn=False,
    ),
    RunSpec(
        "vgg11_digits",
        "vgg11",
        "digits",
        {"width": 16, "dropout": 0.0},
        _DIGITS16,
        epochs=10,
        train_batch_size=64,
        lr=1e-3,
        optimizer="adamw",
        batch_size=64,
        k=20,
        **_REP,
        gn=False,
    ),
    RunSpec(
        "vit_digits",
        "vit_tiny",
        "digits",
        {"width": 32, "depth": 2, "n_head": 2, "patch": 4},
        _DIGITS16,
        epochs=20,
        train_batch_size=64,
        lr=2e-3,
        optimizer="adamw",
        weight_decay=0.05,
        batch_size=128,
        k=20,
        **_REP,
        gn=False,
    ),
    RunSpec(
        "gpt2_text",
        "gpt2",
        "text",
        {"d_model": 64, "n_head": 4, "n_layer": 2},
        {"context": 16},
        train_samples=4096,
        epochs=3,
        train_batch_size=32,
        lr=2e-3,
        optimizer="adamw",
        weight_decay=0.01,
        batch_size=64,
        k=20,
        **_REP,
        gn=False,
    ),
    RunSpec(
        "gpt2_text_cls",
        "gpt2",
        "text-cls",
        {"d_model": 64, "n_head": 4, "n_layer": 2, "task": "classification"},
        {"context": 16},
        train_samples=4096,
        epochs=1,
        train_batch_size=32,
        lr=1e-3,
        optimizer="adamw",
        weight_decay=0.01,
        batch_size=64,
        k=20,
        **_REP,
        gn=False,
    ),
    RunSpec(
        "mlp_synthetic200",
        "mlp",
        "synthetic-cifar",
        {"width": 128, "depth": 1},
        {"n_classes": 200, "image_size": 8},
        train_samples=4096,
        epochs=20,
        train_batch_size=64,
        lr=0.05,
        batch_size=512,
        k=20,
        **_REP,
        gn=False,
    ),
]

#: every trained network of the paper preset: 3 training seeds, 5 disjoint measurement batches per checkpoint
PAPER_SEEDS = (0, 1, 2)
PAPER_BATCHES = 5
_PREP: dict[str, Any] = {"seeds": PAPER_SEEDS, "n_batches": PAPER_BATCHES}
_SYNTH_LM = "the authors' synthetic LM generator is not published: measured on the text corpus instead"

# one training run shared by the four ResNet-18 CIFAR-10 experiments (the cache key is the training settings)
_RN18_C10: dict[str, Any] = {
    "epochs": 20,
    "train_batch_size": 128,
    "lr": 0.1,
    "checkpoint_epochs": (0, 1, 5, 10, 15, 20),
    "batch_size": 2048,
    **_PREP,
}
_RN50_TINY: dict[str, Any] = {
    "epochs": 25,
    "train_batch_size": 128,
    "lr": 0.1,
    "checkpoint_epochs": (0, 25),
    "batch_size": 2048,
    **_PREP,
}
_GPT6: dict[str, Any] = {
    "epochs": 5,
    "train_batch_size": 32,
    "lr": 3e-4,
    "optimizer": "adamw",
    "weight_decay": 0.01,
    "batch_size": 2048,
    "proxy_reason": _SYNTH_LM,
    **_PREP,
}

#: The paper's sweep: one run per experiment behind a re-measurable number claim
#: (:func:`claims.replication.catalog.covered`), written with ``run.experiment``, plus the runs that feed the
#: law claims only. The experiments it does not re-measure, and why, are in :data:`NOT_REMEASURED`.
PAPER_PRESET: list[RunSpec] = [
    RunSpec(
        "resnet18_cifar10",
        "resnet18_cifar",
        "cifar10",
        k=20,
        experiment="cifar10_resnet18_triangle",
        **_RN18_C10,
    ),
    RunSpec(
        "resnet18_cifar10_k25",
        "resnet18_cifar",
        "cifar10",
        k=25,
        layer_names=("conv1", "layer1.0.conv1", "layer2.0.conv1", "layer3.0.conv1", "layer4.0.conv1", "fc"),
        experiment="cifar10_resnet18_intrinsic_dim",
        **_RN18_C10,
    ),
    RunSpec(
        "resnet18_cifar10_k10",
        "resnet18_cifar",
        "cifar10",
        k=10,
        layer_names=("conv1", "layer1.0.conv2", "layer2.0.conv1", "layer3.0.conv1", "layer4.0.conv2", "fc"),
        experiment="cifar10_resnet18_conv_gap",
        **_RN18_C10,
    ),
    RunSpec(
        "resnet18_cifar10_dynamics",
        "resnet18_cifar",
        "cifar10",
        k=20,
        measure_epochs=(0, 1, 5, 10, 15, 20),
        layer_names=("conv1", "layer2.0.conv2", "layer4.0.conv2", "fc"),
        experiment="cifar10_resnet18_training_dynamics",
        **_RN18_C10,
    ),
    RunSpec(
        "resnet18_7x7_cifar10",
        "resnet18_imagenet",
        "cifar10",
        epochs=20,
        train_batch_size=128,
        lr=0.1,
        batch_size=2048,
        k=20,
        **_PREP,
    ),
    RunSpec(
        "vgg11_cifar10",
        "vgg11",
        "cifar10",
        {"classifier_layers": 2, "hidden": 256},
        epochs=30,
        train_batch_size=128,
        lr=0.01,
        batch_size=2048,
        k=20,
        experiment="cifar10_vgg11_triangle",
        **_PREP,
    ),
    RunSpec(
        "mlp_cifar10",
        "mlp",
        "cifar10",
        {"width": 512, "depth": 3},
        epochs=30,
        train_batch_size=128,
        lr=0.05,
        batch_size=2048,
        k=20,
        experiment="cifar10_mlp_dense",
        **_PREP,
    ),
    RunSpec(
        "resnet50_cifar10",
        "resnet50_cifar",
        "cifar10",
        epochs=20,
        train_batch_size=128,
        lr=0.1,
        batch_size=2048,
        k=20,
        **_PREP,
    ),
    RunSpec(
        "resnet50_tiny",
        "resnet50_tiny",
        "tiny-imagenet",
        k=20,
        measure_epochs=(25,),
        experiment="tiny_imagenet_resnet50",
        **_RN50_TINY,
    ),
    RunSpec(
        "resnet50_tiny_k100",
        "resnet50_tiny",
        "tiny-imagenet",
        k=100,
        measure_epochs=(0, 25),
        experiment="tiny_imagenet_resnet50_rank_trajectory",
        **_RN50_TINY,
    ),
    RunSpec(
        "resnet50_imagenet",
        "resnet50_imagenet",
        "imagenet",
        train_samples=5 * 2048,  # the pretrained network is measured on 5 disjoint batches of a seeded subset
        init_weights="resnet50-0676ba61.pth",
        epochs=0,
        batch_size=2048,
        k=20,
        n_batches=5,  # one network (no training seed): batches only
        layer_names=EXPERIMENTS["imagenet1k_resnet50_pretrained"].layer_names,  # the authors' 15 rows
        experiment="imagenet1k_resnet50_pretrained",
    ),
    RunSpec(
        "vit_tiny_cifar10",
        "vit_tiny",
        "cifar10",
        epochs=30,
        train_batch_size=128,
        lr=1e-3,
        optimizer="adamw",
        weight_decay=0.05,
        batch_size=2048,
        k=15,
        **_PREP,
    ),
    RunSpec(
        "vit_tiny_cifar100",
        "vit_tiny",
        "cifar100",
        epochs=30,
        train_batch_size=128,
        lr=1e-3,
        optimizer="adamw",
        weight_decay=0.05,
        batch_size=2048,
        k=15,
        **_PREP,
    ),
    RunSpec(
        "gpt2_6l_text", "gpt2_6l", "text", {}, {"context": 256}, k=20, experiment="synthetic_lm_gpt2_triangle", **_GPT6
    ),  # fmt: skip
    RunSpec(
        "gpt2_6l_text_blocks",
        "gpt2_6l",
        "text",
        {},
        {"context": 256},
        k=20,
        experiment="synthetic_lm_gpt2_6block",
        **_GPT6,
    ),  # fmt: skip
    RunSpec(
        "gpt2_6l_text_k25", "gpt2_6l", "text", {}, {"context": 256}, k=25, experiment="gpt2_intrinsic_dim", **_GPT6
    ),  # fmt: skip
    RunSpec(
        "gpt2_6l_text_cls",
        "gpt2_6l",
        "text-cls",
        {"task": "classification"},
        {"context": 256},
        epochs=5,
        train_batch_size=32,
        lr=3e-4,
        optimizer="adamw",
        weight_decay=0.01,
        batch_size=2048,
        k=15,
        **_PREP,
    ),
]

#: experiments behind number claims that the paper preset does not re-measure, with the reason (the claims
#: they serve keep their verdict on the authors' files; their replication says ``no data`` with this reason)
NOT_REMEASURED: dict[str, str] = {
    "tiny_imagenet_vgg16_rank_trajectory": "App. K: the project's zoo has no VGG-16",
    "tiny_imagenet_resnet50_kronecker": "App. L: the project's kron block does not store the factor spectra",
    "cifar10_resnet18_hvp_validation": "App. A: the R² definition (linear or log-log) is not stated",
    "cifar10_resnet18_quartiles": "App. F: the quartile boundaries of the 50 directions are not stated",
    "cifar10_mlp_width_scaling": "App. I: one printed value per width (four networks under one experiment id)",
    "cifar10_vit_tiny_ablation": "App. C: the authors do not record which block they measured (the law runs "
    "vit_tiny_cifar10/100 measure every block)",
    "cifar100_vit_tiny_ablation": "App. C: the authors do not record which block they measured",
    "gpt2_lm_ablation": "App. C / §6: the authors do not record which block they measured",
    "gpt2_cls_ablation": "App. C: the authors do not record which block they measured",
    "t3_resnet18_cifar10": "Table 3: an optimizer comparison (python -m empirics compare), not a curvature run",
    "t3_resnet18_cifar100": "Table 3: an optimizer comparison (python -m empirics compare)",
    "t3_resnet50_cifar100": "Table 3: an optimizer comparison (python -m empirics compare)",
    "appM_resnet18_cifar10": "App. M: an optimizer comparison (python -m empirics compare)",
}
#: experiments the paper preset re-measures only as a proxy, whatever the data: shown, never counted
PROXY_ONLY: dict[str, str] = {
    "synthetic_lm_gpt2_triangle": _SYNTH_LM,
    "synthetic_lm_gpt2_6block": "Table 2: " + _SYNTH_LM,
    "gpt2_intrinsic_dim": _SYNTH_LM,
}

PRESETS: dict[str, list[RunSpec]] = {"cpu": CPU_PRESET, "paper": PAPER_PRESET}
