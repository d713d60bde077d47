r"""The paper's experiments behind its number claims, as identities both sides share. Torch-free.

A number claim (docs/claims-reference.md §1) is about **one experiment**: one architecture trained on one
dataset, measured at one checkpoint with a batch of B samples and a top-k window, on a stated set of layers.
This table names each such experiment once; ``claims`` attaches an experiment id to every number claim (or the
reason it has none), and the paper preset of ``empirics`` writes the id into ``run.experiment.id`` of the
files that re-measure it (:mod:`empirics.schema`, "Repeated measurement"). ``python -m claims verify`` then
adds a *replication* verdict beside the verdict on the authors' file.

Where the authors' files or the paper do not state a setting (B for the CIFAR triangle runs, the checkpoint
epoch of "trained to convergence"), the field is ``None`` and ``notes`` says so; it is never guessed.
Layer names are the project's (:mod:`empirics.zoo`); :func:`project_layer_name` maps an authors' record name
onto them (``layer1.0.conv1.weight`` → ``layer1.0.conv1``, GPT-2 ``block2.mlp.0`` → ``blocks.2.mlp.up``).

Sources: the 15 files' metadata (``top_k``, ``eval_samples``, ``N_samples``, ``train_epochs``, record names),
the paper's §2, §3, Tables 1–3 and Appendices, and docs/claims-reference.md §2.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

#: the value of ``run.experiment.scale`` of a full-size re-measurement (anything else is a proxy)
FULL_SCALE = "full"


@dataclass(frozen=True)
class PaperExperiment:
    """One experiment of the paper (see the module docstring)."""

    id: str
    what: str  # one line: architecture on dataset, what was measured
    architecture: str  # the project's architecture family (``run.architecture``)
    model: str  # the zoo model that re-measures it (``run.model``)
    dataset: str  # the project's dataset name (``run.dataset``)
    batch_size: int | None  # B of the measurement batch (None: not recorded by the authors)
    k: int | None  # the top-k window of the HVP fit (None: not recorded)
    epoch: int | None  # the checkpoint's training epoch (None: "trained to convergence", not recorded)
    layers: str  # the layer-selection rule, in words
    layer_names: tuple[str, ...] = ()  # the authors' measured layers (their names; () = every tagged layer)
    source: str = ""  # the authors' file and block, or the paper location when no file exists
    remeasurable: bool = True  # whether the project's presets can re-measure it
    reason: str = ""  # why not, when remeasurable is False
    notes: str = ""


def _e(*args, **kw) -> PaperExperiment:
    return PaperExperiment(*args, **kw)


_RN18_TRI = ("conv1", *(f"layer{i}.0.conv{j}" for i in range(1, 5) for j in (1, 2)), "fc")
_VGG11_TRI = ("features.0", "features.3", "features.6", "features.11", "features.16", "classifier.0", "classifier.3")
_GPT2_TRI = (*(f"block{b}.mlp.{m}" for b in (0, 2, 5) for m in (0, 2)), "output_head")
_CONVGAP = ("conv1", "layer1.0.conv2", "layer2.0.conv1", "layer3.0.conv1", "layer4.0.conv2", "fc")

EXPERIMENTS: dict[str, PaperExperiment] = {
    e.id: e
    for e in (
        _e(
            "cifar10_resnet18_triangle",
            "ResNet-18 on CIFAR-10: α, γ, s per layer (the CIFAR transfer-relation rows)",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            None,
            20,
            None,
            "conv1, the first block of each stage (layer{1..4}.0.conv{1,2}) and fc; k = 10 for fc (rank ≤ 9)",
            _RN18_TRI,
            "results_alpha_triangle.json [resnet18_triangle]",
            notes="B is not recorded (§2: 2048–4096); the checkpoint is 'trained to convergence'",
        ),
        _e(
            "cifar10_vgg11_triangle",
            "VGG-11 on CIFAR-10: α, γ, s per layer",
            "vgg11",
            "vgg11",
            "cifar10",
            None,
            20,
            None,
            "features.{0,3,6,11,16} and the two classifier layers (classifier.0 hidden, classifier.3 head)",
            _VGG11_TRI,
            "results_alpha_triangle.json [vgg11_triangle]",
            notes="B not recorded; 5 of VGG-11's 8 convs were measured",
        ),
        _e(
            "synthetic_lm_gpt2_triangle",
            "mini GPT-2 (6 layers) on a synthetic LM: MLP α, γ, s in blocks 0, 2, 5 and the output head",
            "gpt2",
            "gpt2_6l",
            "synthetic-lm",
            None,
            20,
            None,
            "block{0,2,5}.mlp.{0 up, 2 down} and output_head",
            _GPT2_TRI,
            "results_alpha_triangle.json [gpt2_triangle]",
            notes="the authors' synthetic LM generator is not published: a re-measurement on another corpus is a proxy",
        ),
        _e(
            "tiny_imagenet_resnet50",
            "ResNet-50 trained 25 epochs on Tiny-ImageNet-200: α map of every layer",
            "resnet50",
            "resnet50_tiny",
            "tiny-imagenet",
            2048,
            20,
            25,
            "every conv (49, without the 4 downsample convs), the 4 downsample convs and fc (54 rows)",
            (),
            "results_tiny_imagenet_alpha_map.json",
        ),
        _e(
            "imagenet1k_resnet50_pretrained",
            "torchvision ResNet-50 IMAGENET1K_V1 (no training): α map of 15 layers",
            "resnet50",
            "resnet50_imagenet",
            "imagenet",
            None,
            20,
            0,
            "conv1, the first and last conv of each stage's first block, layer4.0.downsample.0 and fc (15 rows)",
            (
                "conv1",
                "layer1.0.conv1",
                "layer1.0.conv2",
                "layer1.2.conv3",
                "layer2.0.conv1",
                "layer2.0.conv2",
                "layer2.3.conv3",
                "layer3.0.conv1",
                "layer3.0.conv2",
                "layer3.5.conv3",
                "layer4.0.conv1",
                "layer4.0.conv2",
                "layer4.2.conv3",
                "layer4.0.downsample.0",
                "fc",
            ),
            "results_imagenet1k_pretrained.json",
            notes="HVP window k = 20, SVD window for γ 64 or 100 (top_k_svd); the file names its inputs "
            "'synthetic eval': B and the inputs are not recorded",
        ),
        _e(
            "cifar10_vit_tiny_ablation",
            "ViT-Tiny on CIFAR-10 (App. C output-dimension ablation, before)",
            "vit_tiny",
            "vit_tiny",
            "cifar10",
            None,
            15,
            None,
            "one block's attn_qkv, mlp_up, mlp_down, the patch embedding and the head",
            ("patch_embed", "attn_qkv", "mlp_up", "mlp_down", "head"),
            "results_hypothesis.json output_dim.CIFAR-10",
            notes="which block was measured is not recorded",
        ),
        _e(
            "cifar100_vit_tiny_ablation",
            "ViT-Tiny on CIFAR-100 (App. C output-dimension ablation, after)",
            "vit_tiny",
            "vit_tiny",
            "cifar100",
            None,
            15,
            None,
            "as cifar10_vit_tiny_ablation",
            ("patch_embed", "attn_qkv", "mlp_up", "mlp_down", "head"),
            "results_hypothesis.json output_dim.CIFAR-100",
        ),
        _e(
            "gpt2_lm_ablation",
            "GPT-2 (d = 384) language model (App. C task ablation, before)",
            "gpt2",
            "gpt2_6l",
            "text",
            None,
            15,
            None,
            "one block's attn_qkv, attn_proj, mlp_up, mlp_down",
            ("attn_qkv", "attn_proj", "mlp_up", "mlp_down"),
            "results_hypothesis.json task_structure.GPT2_LM",
            notes="which block was measured is not recorded",
        ),
        _e(
            "gpt2_cls_ablation",
            "the same GPT-2 trained for binary classification (App. C task ablation, after)",
            "gpt2",
            "gpt2_6l",
            "text-cls",
            None,
            15,
            None,
            "as gpt2_lm_ablation",
            ("attn_qkv", "attn_proj", "mlp_up", "mlp_down"),
            "results_hypothesis.json task_structure.GPT2_Classification",
        ),
        _e(
            "cifar10_resnet18_intrinsic_dim",
            "ResNet-18 on CIFAR-10: participation ratios PR_h and PR_grad (App. B)",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            None,
            25,
            None,
            "conv1, layer{1..4}.0.conv1 and fc",
            ("conv1", "layer1.0.conv1", "layer2.0.conv1", "layer3.0.conv1", "layer4.0.conv1", "fc"),
            "results_intrinsic_dim.json [intrinsic_dim_resnet]",
        ),
        _e(
            "gpt2_intrinsic_dim",
            "mini GPT-2: participation ratios of the block 0/2/5 MLPs and the head (App. B)",
            "gpt2",
            "gpt2_6l",
            "synthetic-lm",
            None,
            25,
            None,
            "block{0,2,5}.mlp.{0,2} and output_head",
            _GPT2_TRI,
            "results_intrinsic_dim.json [intrinsic_dim_gpt2]",
        ),
        _e(
            "cifar10_mlp_width_scaling",
            "single-hidden-layer MLPs of width 64–512 on CIFAR-10: PR_h of the hidden layer (App. I)",
            "mlp",
            "mlp",
            "cifar10",
            None,
            25,
            None,
            "the hidden layer fc1 of each width (64, 128, 256, 512): one run per width",
            ("fc1_w64", "fc1_w128", "fc1_w256", "fc1_w512"),
            "results_intrinsic_dim.json [scaling_test]",
            notes="four networks in one experiment id; a project run records its width in run.build_kwargs.width",
        ),
        _e(
            "cifar10_resnet18_conv_gap",
            "ResNet-18 on CIFAR-10: exact vs Kronecker curvature per direction (§6.4, App. D, Fig. 6)",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            2048,
            10,
            None,
            "conv1, layer1.0.conv2, layer2.0.conv1, layer3.0.conv1, layer4.0.conv2 and fc",
            _CONVGAP,
            "results_conv_gap_v2.json",
        ),
        _e(
            "tiny_imagenet_resnet50_rank_trajectory",
            "ResNet-50 on Tiny-ImageNet: BIC rank-profile winners at init, over 25 epochs and trained (App. G)",
            "resnet50",
            "resnet50_tiny",
            "tiny-imagenet",
            None,
            100,
            25,
            "every layer (54) at epochs 0, 1, 3, 5, 10, 15, 20, 25",
            (),
            "results_rmt_gamma_spectrum.json",
        ),
        _e(
            "tiny_imagenet_vgg16_rank_trajectory",
            "VGG-16 (modified classifier) on Tiny-ImageNet: BIC winners over 25 epochs (App. K)",
            "vgg16",
            "vgg16",
            "tiny-imagenet",
            None,
            100,
            25,
            "the 13 convs and the classifier layers at epochs 0, 1, 3, 5, 10, 15, 20, 25",
            (),
            "results_vgg16_trajectory.json",
            remeasurable=False,
            reason="the project's zoo has no VGG-16",
        ),
        _e(
            "tiny_imagenet_resnet50_kronecker",
            "ResNet-50 trained 25 epochs on Tiny-ImageNet: Kronecker factor spectra of 15 layers (App. L)",
            "resnet50",
            "resnet50_tiny",
            "tiny-imagenet",
            None,
            30,
            25,
            "15 layers across the four stages",
            (),
            "results_kronecker_spectral.json",
            notes="the project's kron block stores different quantities (empirics.kron); the App. L statistics "
            "are not recomputed from project files",
        ),
        _e(
            "cifar10_resnet18_training_dynamics",
            "ResNet-18 on CIFAR-10: α of conv1, layer2 conv2, layer4 conv2 and fc at epochs 0–20 (App. E)",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            None,
            20,
            None,
            "conv1, layer2.0.conv2, layer4.0.conv2, fc at epochs 0, 1, 5, 10, 15, 20 (run.epoch)",
            ("conv1", "layer2.0.conv2", "layer4.0.conv2", "fc"),
            "App. E (no file)",
        ),
        _e(
            "cifar10_resnet18_hvp_validation",
            "ResNet-18 on CIFAR-10: R² of h against σ² and against h_GN (App. A)",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            None,
            20,
            None,
            "conv1, layer2.0.conv1, layer4.0.conv2, fc and the median over 21 layers",
            ("conv1", "layer2.0.conv1", "layer4.0.conv2", "fc"),
            "App. A (no file)",
        ),
        _e(
            "cifar10_resnet18_quartiles",
            "ResNet-18 on CIFAR-10, top-50 directions: α per quartile of the singular index (App. F)",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            None,
            50,
            None,
            "layer2.0.conv2 and layer3.0.conv2, k = 50 split into quartiles",
            ("layer2.0.conv2", "layer3.0.conv2"),
            "App. F (no file)",
        ),
        _e(
            "synthetic_lm_gpt2_6block",
            "mini GPT-2 (6 blocks, 5 epochs) on a synthetic LM: α of every attention and MLP layer (Table 2)",
            "gpt2",
            "gpt2_6l",
            "synthetic-lm",
            None,
            20,
            5,
            "attn_qkv, attn_proj, mlp_up, mlp_down of all 6 blocks (n = 6 per type)",
            (),
            "Table 2 (no file)",
            notes="the authors' synthetic LM generator is not published: another corpus is a proxy",
        ),
        _e(
            "cifar10_mlp_dense",
            "pure MLP on CIFAR-10: α of the dense layers (Table 1)",
            "mlp",
            "mlp",
            "cifar10",
            None,
            20,
            None,
            "every hidden dense layer",
            (),
            "Table 1 (no file)",
            notes="width and depth are not stated",
        ),
        _e(
            "t3_resnet18_cifar10",
            "Table 3: ResNet-18 on CIFAR-10, AdamW vs Spectral Newton, 30 epochs, seed 42",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            None,
            None,
            30,
            "best test accuracy over epochs (no curvature measurement)",
            (),
            "Table 3 (no file); judged on sad-optim/1 comparison files",
        ),
        _e(
            "t3_resnet18_cifar100",
            "Table 3: ResNet-18 on CIFAR-100, AdamW vs Spectral Newton, 30 epochs, seed 42",
            "resnet18",
            "resnet18_cifar",
            "cifar100",
            None,
            None,
            30,
            "best test accuracy over epochs",
            (),
            "Table 3 (no file)",
        ),
        _e(
            "t3_resnet50_cifar100",
            "Table 3: ResNet-50 on CIFAR-100, AdamW vs Spectral Newton, 30 epochs, seed 42",
            "resnet50",
            "resnet50_cifar",
            "cifar100",
            None,
            None,
            30,
            "best test accuracy over epochs",
            (),
            "Table 3 (no file)",
        ),
        _e(
            "appM_resnet18_cifar10",
            "App. M: ResNet-18 on CIFAR-10, Adam vs scalar per-layer scaling, 100 epochs, 3 seeds",
            "resnet18",
            "resnet18_cifar",
            "cifar10",
            None,
            None,
            100,
            "best test accuracy over epochs, mean of 3 seeds",
            (),
            "results_preconditioner_summary.json",
        ),
    )
}

#: GPT-2 MLP names of the authors (block{b}.mlp.{0 up | 2 down}) and of the project (blocks.{b}.mlp.{up | down})
_GPT2_MLP = re.compile(r"^block(\d+)\.mlp\.([02])$")


def project_layer_name(experiment_id: str, name: str) -> str:
    """The project's name (:mod:`empirics.zoo`) of the layer the authors call ``name`` in this experiment.

    ``.weight`` suffixes are dropped (the tiny / in1k / rmt files name parameters, the project names modules);
    GPT-2 ``block{b}.mlp.0`` / ``.2`` become ``blocks.{b}.mlp.up`` / ``.down`` and ``output_head`` becomes
    ``head``; VGG-11's two-layer classifier head ``classifier.3`` is the project's head layer of the same name
    when built with ``classifier_layers=2``. Other names are the same in both.
    """
    exp = EXPERIMENTS[experiment_id]
    out = name[: -len(".weight")] if name.endswith(".weight") else name
    if exp.architecture == "gpt2":
        m = _GPT2_MLP.match(out)
        if m:
            return f"blocks.{m.group(1)}.mlp.{'up' if m.group(2) == '0' else 'down'}"
        if out == "output_head":
            return "head"
    return out


def is_proxy(experiment: dict) -> bool:
    """Whether a run's ``run.experiment`` block marks a proxy: ``proxy`` true or a scale other than full size."""
    return bool(experiment.get("proxy")) or experiment.get("scale") != FULL_SCALE
