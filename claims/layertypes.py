"""Explicit layer-name → layer-type tables for the authors' files (docs/claims-reference.md §1, "Layer types").

Types use the vocabulary of :data:`empirics.schema.LAYER_TYPES`. The tables enumerate every module
of each architecture from its block structure; a name that is not in its table is an input error,
never a guess. Nothing here selects by a substring of a name (a substring rule silently drops
``downsample`` convolutions).
"""

from __future__ import annotations

from empirics.schema import LAYER_TYPES


def _resnet(blocks: tuple[int, ...], convs_per_block: int, suffix: str = "") -> dict[str, str]:
    """conv1, layer{i}.{j}.conv{c}, layer{i}.0.downsample.0 (where the stage changes shape) and fc."""
    t = {"conv1": "conv", "fc": "head"}
    for i, nb in enumerate(blocks, start=1):
        for j in range(nb):
            for c in range(1, convs_per_block + 1):
                t[f"layer{i}.{j}.conv{c}"] = "conv"
        # ResNet-50 has a projection in every stage's first block, ResNet-18 from stage 2 on.
        if convs_per_block == 3 or i > 1:
            t[f"layer{i}.0.downsample.0"] = "downsample"
    return {k + suffix: v for k, v in t.items()}


def _vgg(conv_indices: tuple[int, ...], dense: tuple[str, ...], head: str, suffix: str = "") -> dict[str, str]:
    t = {f"features.{i}": "conv" for i in conv_indices}
    t.update({d: "dense" for d in dense})
    t[head] = "head"
    return {k + suffix: v for k, v in t.items()}


def _gpt2(n_blocks: int) -> dict[str, str]:
    t = {"output_head": "head"}
    for b in range(n_blocks):
        t[f"block{b}.mlp.0"] = "mlp_up"
        t[f"block{b}.mlp.2"] = "mlp_down"
    return t


RESNET18 = _resnet((2, 2, 2, 2), 2)
RESNET50 = _resnet((3, 4, 6, 3), 3, suffix=".weight")
VGG11 = _vgg((0, 3, 6, 8, 11, 13, 16, 18), ("classifier.0",), "classifier.3")
VGG16 = _vgg((0, 2, 5, 7, 10, 12, 14, 17, 19, 21, 24, 26, 28), ("classifier.0",), "classifier.3", suffix=".weight")
GPT2 = _gpt2(6)
#: hypothesis.json names are the types themselves (ViT and GPT-2 ablations).
ABLATION = {
    "patch_embed": "patch_embed",
    "attn_qkv": "attn_qkv",
    "attn_proj": "attn_proj",
    "mlp_up": "mlp_up",
    "mlp_down": "mlp_down",
    "head": "head",
}
PREDICTIONS = {
    "vit_patch_embed": "patch_embed",
    "vit_attn_qkv": "attn_qkv",
    "vit_mlp_up": "mlp_up",
    "vit_mlp_down": "mlp_down",
    "mobile_pw_conv_b3": "conv",
    "mobile_dw_conv_b3": "conv",
    # ConvNeXt's pointwise conv is a 1x1 convolution written as nn.Linear (shape [384, 96]); typed conv,
    # as the authors name it.
    "cnext_dw_conv_s0": "conv",
    "cnext_pw_conv_s0": "conv",
    "plain_conv_nobn": "conv",
    "plain_conv_bn": "conv",
}
SCALING_TEST = {f"fc1_w{w}": "dense" for w in (64, 128, 256, 512)}

#: alpha_triangle block → (architecture, dataset, name table). The dataset is not in the file: it is the paper's
#: (Table 1 for ResNet-18/VGG-11 on CIFAR-10; Table 2 caption "synthetic LM" for GPT-2).
TRIANGLE_META = {
    "resnet18_triangle": ("ResNet-18", "CIFAR-10", "resnet18"),
    "vgg11_triangle": ("VGG-11", "CIFAR-10", "vgg11"),
    "gpt2_triangle": ("GPT-2", "synthetic LM", "gpt2"),
}
HYPOTHESIS_META = {
    ("output_dim", "CIFAR-10"): ("ViT-Tiny", "CIFAR-10"),
    ("output_dim", "CIFAR-100"): ("ViT-Tiny", "CIFAR-100"),
    ("task_structure", "GPT2_LM"): ("GPT-2", "synthetic LM"),
    ("task_structure", "GPT2_Classification"): ("GPT-2", "synthetic classification"),
}
INTRINSIC_META = {
    "intrinsic_dim_resnet": ("ResNet-18", "CIFAR-10", "resnet18"),
    "intrinsic_dim_gpt2": ("GPT-2", "synthetic LM", "gpt2"),
    "scaling_test": ("MLP", "CIFAR-10", "scaling_test"),
}


#: table per (file key, block): which name table applies.
TABLES: dict[str, dict[str, str]] = {
    "resnet18": RESNET18,
    "resnet50": RESNET50,
    "vgg11": VGG11,
    "vgg16": VGG16,
    "gpt2": GPT2,
    "ablation": ABLATION,
    "predictions": PREDICTIONS,
    "scaling_test": SCALING_TEST,
}

assert all(t in LAYER_TYPES for table in TABLES.values() for t in table.values())


def layer_type(table: str, name: str) -> str | None:
    """The type of ``name`` in ``table``; None when the name is not in the table (caller reports it)."""
    return TABLES[table].get(name)
