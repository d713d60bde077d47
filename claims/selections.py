"""The candidate row-selection rules of docs/claims-reference.md §2.11, each by explicit layer type or record name."""

from __future__ import annotations

from .bundle import Bundle
from .records import Layer, Network, network, networks

# -- A: the CIFAR set (alpha_triangle, three blocks) ---------------------------------------------
SEL_A = {
    1: "all rows",
    2: "rel err ≤ 10 % (stated)",
    3: "non-FC (conv + transformer MLP)",
    4: "non-FC and ≤ 10 %",
    5: "rel err ≤ 5 %",
    6: "ResNet-18 + VGG-11 only",
    7: "ResNet-18 + VGG-11 and ≤ 10 %",
    8: "conv only",
}
NON_FC = ("conv", "downsample", "mlp_up", "mlp_down")


def _cifar_rows(b: Bundle) -> list[tuple[Network, Layer]]:
    return [(n, lay) for n in networks(b, "alpha_triangle") for lay in n.layers]


def sel_a(b: Bundle, rule: int) -> list[Layer]:
    """CIFAR set (alpha_triangle, three blocks): the layers selected by candidate rule ``rule`` of ``SEL_A``."""
    rows = _cifar_rows(b)
    ok10 = lambda lay: lay.relerr <= 0.10  # noqa: E731
    cnn = lambda n: n.arch in ("ResNet-18", "VGG-11")  # noqa: E731
    pick = {
        1: lambda n, lay: True,
        2: lambda n, lay: ok10(lay),
        3: lambda n, lay: lay.type in NON_FC,
        4: lambda n, lay: lay.type in NON_FC and ok10(lay),
        5: lambda n, lay: lay.relerr <= 0.05,
        6: lambda n, lay: cnn(n),
        7: lambda n, lay: cnn(n) and ok10(lay),
        8: lambda n, lay: lay.type in ("conv", "downsample"),
    }[rule]
    return [lay for n, lay in rows if pick(n, lay)]


# -- B: the ImageNet-1K conv set ----------------------------------------------------------------
SEL_B = {
    1: 'name contains "conv" (JSON summary, authors\' checker)',
    2: "layer type conv + downsample (stated; all non-fc rows)",
    3: "rule 2 without conv1",
    4: "rule 1 without conv1",
    5: "all rows",
}
# Rule 1 reproduces the authors' substring selection *as a candidate only*: it is the set of conv-typed
# records (the downsample projection's name has no "conv").


def sel_b(b: Bundle, rule: int) -> list[Layer]:
    """ImageNet ResNet (in1k file): the layers selected by candidate rule ``rule`` of ``SEL_B``."""
    (net,) = networks(b, "in1k")
    conv = [lay for lay in net.layers if lay.type == "conv"]
    typed = [lay for lay in net.layers if lay.type in ("conv", "downsample")]
    return {
        1: conv,
        2: typed,
        3: [lay for lay in typed if lay.name != "conv1.weight"],
        4: [lay for lay in conv if lay.name != "conv1.weight"],
        5: list(net.layers),
    }[rule]


# -- I: the Tiny-ImageNet conv set --------------------------------------------------------------
SEL_I = {1: "conv type without downsample (stated; summary 'conv')", 2: "conv + downsample"}


def sel_i(b: Bundle, rule: int) -> list[Layer]:
    """Tiny-ImageNet ResNet (tiny file): the conv layers, with (rule 2) or without (rule 1) the downsample convs."""
    (net,) = networks(b, "tiny")
    types = ("conv",) if rule == 1 else ("conv", "downsample")
    return net.of_type(*types)


# -- D: PR ranges (intrinsic_dim) ---------------------------------------------------------------
SEL_D = {
    1: "ResNet + GPT-2 (stated)",
    2: "all rows incl. scaling_test",
    3: "ResNet only",
    4: "ResNet + GPT-2 without GPT-2 block0.*",
}


def sel_d(b: Bundle, rule: int) -> list[Layer]:
    r"""The intrinsic_dim rows behind the printed :math:`\mathrm{PR}_h` ranges, by candidate rule ``rule`` of ``SEL_D``."""
    rn = network(b, "intrinsic_dim", "intrinsic_dim[intrinsic_dim_resnet]").layers
    gp = network(b, "intrinsic_dim", "intrinsic_dim[intrinsic_dim_gpt2]").layers
    st = network(b, "intrinsic_dim", "intrinsic_dim[scaling_test]").layers
    return {
        1: rn + gp,
        2: rn + gp + st,
        3: rn,
        4: rn + [lay for lay in gp if lay.name not in ("block0.mlp.0", "block0.mlp.2")],
    }[rule]


# -- J: up-projections --------------------------------------------------------------------------
SEL_J = {
    1: "GPT-2 LM ablation record only",
    2: "all GPT-2 up-projections: LM ablation + triangle + intrinsic-dim (stated)",
    3: "rule 2 + GPT-2 classification ablation",
    4: "rule 3 + ViT mlp_up",
}


def sel_j(b: Bundle, rule: int) -> list[tuple[str, Layer]]:
    """The GPT-2 up-projection layers (with their network labels) selected by candidate rule ``rule`` of ``SEL_J``."""
    out: list[tuple[str, Layer]] = []
    if b.has("hypothesis"):
        out += [
            (n.label, lay)
            for n in networks(b, "hypothesis")
            if n.label.endswith("GPT2_LM]")
            for lay in n.of_type("mlp_up")
        ]
    if rule == 1:
        return out
    for key, lbl in (
        ("alpha_triangle", "alpha_triangle[gpt2_triangle]"),
        ("intrinsic_dim", "intrinsic_dim[intrinsic_dim_gpt2]"),
    ):
        if b.has(key):
            out += [(lbl, lay) for lay in network(b, key, lbl).of_type("mlp_up")]
    if rule >= 3 and b.has("hypothesis"):
        out += [
            (n.label, lay)
            for n in networks(b, "hypothesis")
            if n.label.endswith("GPT2_Classification]")
            for lay in n.of_type("mlp_up")
        ]
    if rule >= 4:
        for key in ("hypothesis", "predictions"):
            out += [
                (n.label, lay)
                for n in networks(b, key)
                if n.arch.startswith("vit") or n.arch.startswith("ViT")
                for lay in n.of_type("mlp_up")
            ]
    return out
