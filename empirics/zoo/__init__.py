"""Model zoo in plain torch: the networks the paper measures, with stable names and layer-type tags.

``build_model(name, num_classes=..., in_channels=..., image_size=..., seed=..., **size_kwargs)`` builds a
network deterministically under ``seed`` (the global RNG is left untouched); ``layer_table(model)`` maps
the module name of every measured layer (Linear/Conv2d) to its type in :data:`empirics.schema.LAYER_TYPES`.

Size knobs (``**size_kwargs``; recorded by the presets in the results' provenance):

=====================  ==============================================================================
model                  knobs (paper size = default unless noted)
=====================  ==============================================================================
mlp                    width=256, depth=2
resnet18_cifar         width=64 (3×3 stem), stem
resnet18_imagenet      width=64 (7×7 stride-2 stem + max-pool, torchvision), stem
resnet50_cifar/_tiny/  width=64; stems cifar (3×3), tiny (7×7/2, no pool), imagenet (7×7/2 + pool)
  _imagenet
vgg11                  width=64, hidden, classifier_layers=3 (2 = authors' CIFAR head), dropout=0.5
vit_tiny               width=192, depth=12, n_head=3, patch (default image_size // 8), mlp_ratio=4
gpt2                   CPU size: d_model=64, n_head=4, n_layer=6, context=64, task="lm"|"classification"
gpt2_6l                paper size: d_model=384, n_head=6, n_layer=6, context=256
=====================  ==============================================================================

For ``gpt2*`` with ``task="lm"`` the head has ``vocab_size`` (256 bytes) outputs and ``num_classes`` may be
``None``; ``in_channels``/``image_size`` are ignored.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import torch
from torch import nn

from empirics.zoo.gpt2 import GPT2
from empirics.zoo.mlp import MLP
from empirics.zoo.resnet import resnet18, resnet50
from empirics.zoo.tags import layer_table, tag
from empirics.zoo.vgg import VGG
from empirics.zoo.vit import ViT

__all__ = ["ARCHITECTURES", "MODEL_NAMES", "build_model", "layer_table", "tag"]


def _mlp(nc, cin, size, **kw):
    return MLP(cin * size * size, nc, **kw)


def _resnet(fn, stem):
    def make(nc, cin, size, **kw):
        kw.setdefault("stem", stem)
        return fn(nc, cin, **kw)

    return make


def _gpt2(defaults):
    def make(nc, cin, size, **kw):
        return GPT2(nc, **{**defaults, **kw})

    return make


_BUILDERS: dict[str, Callable[..., nn.Module]] = {
    "mlp": _mlp,
    "resnet18_cifar": _resnet(resnet18, "cifar"),
    "resnet18_imagenet": _resnet(resnet18, "imagenet"),
    "vgg11": lambda nc, cin, size, **kw: VGG(nc, cin, size, **kw),
    "resnet50_cifar": _resnet(resnet50, "cifar"),
    "resnet50_tiny": _resnet(resnet50, "tiny"),
    "resnet50_imagenet": _resnet(resnet50, "imagenet"),
    "vit_tiny": lambda nc, cin, size, **kw: ViT(nc, cin, size, **kw),
    "gpt2": _gpt2({"d_model": 64, "n_head": 4, "n_layer": 6, "context": 64}),
    "gpt2_6l": _gpt2({"d_model": 384, "n_head": 6, "n_layer": 6, "context": 256}),
}

MODEL_NAMES: tuple[str, ...] = tuple(_BUILDERS)

#: Family of each model (the results' ``run.architecture``, used to group claims per architecture).
ARCHITECTURES: dict[str, str] = {
    "mlp": "mlp",
    "resnet18_cifar": "resnet18",
    "resnet18_imagenet": "resnet18",
    "vgg11": "vgg11",
    "resnet50_cifar": "resnet50",
    "resnet50_tiny": "resnet50",
    "resnet50_imagenet": "resnet50",
    "vit_tiny": "vit_tiny",
    "gpt2": "gpt2",
    "gpt2_6l": "gpt2",
}


def build_model(
    name: str,
    *,
    num_classes: int | None,
    in_channels: int = 3,
    image_size: int = 32,
    seed: int = 0,
    **size_kwargs: Any,
) -> nn.Module:
    """Build ``name`` with weights drawn under ``torch.manual_seed(seed)`` (global RNG state restored)."""
    if name not in _BUILDERS:
        raise ValueError(f"unknown model {name!r}; choose from {', '.join(MODEL_NAMES)}")
    if num_classes is None and not name.startswith("gpt2"):
        raise ValueError(f"model {name!r} needs num_classes")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        try:
            model = _BUILDERS[name](num_classes, in_channels, image_size, **size_kwargs)
        except TypeError as exc:  # an unknown size knob
            raise ValueError(f"model {name!r}: {exc}") from None
    model.sad_model_name = name
    model.sad_build_kwargs = {
        "num_classes": num_classes,
        "in_channels": in_channels,
        "image_size": image_size,
        "seed": seed,
        **size_kwargs,
    }
    return model
