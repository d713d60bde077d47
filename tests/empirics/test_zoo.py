"""Model zoo: names, layer tags and types, shapes, deterministic init, double backward through every family."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from empirics.schema import LAYER_TYPES
from empirics.zoo import ARCHITECTURES, MODEL_NAMES, build_model, layer_table, tag
from tests.cases import TINY_ZOO

TINY = TINY_ZOO


def _batch(name: str, size: int = 16):
    if name.startswith("gpt2"):
        return torch.randint(0, 256, (2, 8)), torch.randint(0, 256, (2, 8))
    return torch.randn(2, 3, size, size), torch.tensor([1, 3])


def _loss(name, out, y):
    if out.dim() == 3:
        return nn.functional.cross_entropy(out.flatten(0, 1), y.flatten())
    return nn.functional.cross_entropy(out, y)


def test_every_model_is_listed_with_an_architecture():
    assert set(MODEL_NAMES) == set(TINY) == set(ARCHITECTURES)


@pytest.mark.parametrize("name", MODEL_NAMES)
def test_forward_tags_and_double_backward(name):
    model = build_model(name, num_classes=5, image_size=16, **TINY[name]).double().eval()
    table = layer_table(model)
    modules = dict(model.named_modules())
    assert table and set(table.values()) <= set(LAYER_TYPES)
    for layer in table:
        assert isinstance(modules[layer], (nn.Linear, nn.Conv2d)), layer
    # every Linear/Conv2d is measured (nothing silently left out)
    assert {n for n, m in modules.items() if isinstance(m, (nn.Linear, nn.Conv2d))} == set(table)
    assert list(table.values()).count("head") == 1 and list(table.values())[-1] == "head"
    x, y = _batch(name)
    x = x.double() if x.is_floating_point() else x
    out = model(x)
    assert out.shape[-1] == (256 if name.startswith("gpt2") else 5)
    # double backward along a direction (what the engine's exact HVP needs)
    w = modules[list(table)[1]].weight
    (g,) = torch.autograd.grad(_loss(name, out, y), w, create_graph=True)
    direction = torch.randn(g.shape, dtype=g.dtype, generator=torch.Generator().manual_seed(0))
    (hv,) = torch.autograd.grad((g * direction).sum(), w)
    assert torch.isfinite(hv).all() and hv.abs().sum() > 0


def test_torchvision_names_and_shapes():
    r18 = layer_table(build_model("resnet18_cifar", num_classes=10))
    assert list(r18)[:3] == ["conv1", "layer1.0.conv1", "layer1.0.conv2"]
    assert r18["layer2.0.downsample.0"] == "downsample" and r18["fc"] == "head" and len(r18) == 21
    m = dict(build_model("resnet18_cifar", num_classes=10).named_modules())
    assert tuple(m["conv1"].weight.shape) == (64, 3, 3, 3)  # 64 x 27 matrix, as in the authors' files
    m7 = dict(build_model("resnet18_imagenet", num_classes=10).named_modules())
    assert tuple(m7["conv1"].weight.shape) == (64, 3, 7, 7)
    r50 = layer_table(build_model("resnet50_tiny", num_classes=200, image_size=64, width=4))
    assert len(r50) == 54 and sum(t == "conv" for t in r50.values()) == 49
    vgg = layer_table(build_model("vgg11", num_classes=10, width=4))
    assert [n for n, t in vgg.items() if t == "conv"] == [f"features.{i}" for i in (0, 3, 6, 8, 11, 13, 16, 18)]
    assert [n for n in vgg if n.startswith("classifier")] == ["classifier.0", "classifier.3", "classifier.6"]
    vgg2 = layer_table(build_model("vgg11", num_classes=10, width=4, classifier_layers=2))
    assert vgg2["classifier.3"] == "head"
    vit = layer_table(build_model("vit_tiny", num_classes=10, **TINY["vit_tiny"]))
    assert vit["patch_embed.proj"] == "patch_embed" and vit["blocks.1.attn.qkv"] == "attn_qkv"
    assert vit["blocks.1.attn.proj"] == "attn_proj" and vit["blocks.1.mlp.up"] == "mlp_up"
    assert vit["blocks.1.mlp.down"] == "mlp_down" and vit["head"] == "head"


def test_deterministic_init_and_rng_untouched():
    state = torch.random.get_rng_state()
    a = build_model("resnet18_cifar", num_classes=10, width=4, seed=3).state_dict()
    b = build_model("resnet18_cifar", num_classes=10, width=4, seed=3).state_dict()
    c = build_model("resnet18_cifar", num_classes=10, width=4, seed=4).state_dict()
    assert torch.equal(torch.random.get_rng_state(), state)
    assert all(torch.equal(a[k], b[k]) for k in a)
    assert not torch.equal(a["conv1.weight"], c["conv1.weight"])


def test_gpt2_is_causal_and_classification_variant():
    model = build_model("gpt2", num_classes=None, **TINY["gpt2"]).double().eval()
    x = torch.randint(0, 256, (1, 8))
    x2 = x.clone()
    x2[0, 5] = (x[0, 5] + 1) % 256
    out, out2 = model(x), model(x2)
    assert torch.allclose(out[0, :5], out2[0, :5]) and not torch.allclose(out[0, 5:], out2[0, 5:])
    cls = build_model("gpt2", num_classes=2, task="classification", **TINY["gpt2"])
    assert cls(x).shape == (1, 2)


def test_bad_names_and_knobs():
    with pytest.raises(ValueError, match="unknown model 'nope'; choose from mlp"):
        build_model("nope", num_classes=10)
    with pytest.raises(ValueError, match="resnet18_cifar"):
        build_model("resnet18_cifar", num_classes=10, bogus=1)
    with pytest.raises(ValueError, match="unknown layer type"):
        tag(nn.Linear(2, 2), "fc")


@pytest.mark.parametrize("name", ["vit_tiny", "gpt2"])
def test_second_derivative_forward_over_forward_matches_double_backward(name):
    """torch's fused layer_norm has a wrong nested-jvp second derivative; the zoo's explicit LayerNorm must not."""
    from torch.func import functional_call, jvp

    model = build_model(name, num_classes=5, image_size=16, **TINY[name]).double().eval()
    layer = "blocks.0.mlp.up"
    w = dict(model.named_parameters())[f"{layer}.weight"].detach()
    x, y = _batch(name)
    x = x.double() if x.is_floating_point() else x
    v = torch.randn_like(w)

    def f(weight):
        return _loss(name, functional_call(model, {f"{layer}.weight": weight}, (x,)), y)

    h_ff = jvp(lambda u: jvp(f, (u,), (v,))[1], (w,), (v,))[1]
    wr = w.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(f(wr), wr, create_graph=True)
    (hv,) = torch.autograd.grad((g * v).sum(), wr)
    assert torch.allclose(h_ff, (hv * v).sum(), rtol=1e-9, atol=1e-12)
