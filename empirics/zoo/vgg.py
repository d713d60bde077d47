"""VGG-11 with a CIFAR head, torchvision's module indices.

``features`` = [conv(64) ReLU M conv(128) ReLU M conv(256) ReLU conv(256) ReLU M conv(512) ReLU conv(512) ReLU M
conv(512) ReLU conv(512) ReLU M] scaled by ``width``/64, no BatchNorm (so the convs are ``features.0, .3, .6, .8,
.11, .13, .16, .18`` as in the authors' files); ``classifier`` = Linear ReLU Dropout (repeated), the last Linear
being the head: with ``classifier_layers=3`` the linears are ``classifier.0/.3/.6`` (torchvision layout), with
``classifier_layers=2`` they are ``classifier.0/.3`` (the authors' CIFAR layout: 512→256→classes).
"""

from __future__ import annotations

import torch
from torch import nn

from empirics.zoo.tags import tag

CFG11 = (1, "M", 2, "M", 4, 4, "M", 8, 8, "M", 8, 8, "M")


class VGG(nn.Module):
    """VGG-11 (no BatchNorm) with a CIFAR-sized classifier of ``classifier_layers`` linears (see the module docstring
    for the names)."""

    def __init__(
        self,
        num_classes: int,
        in_channels: int = 3,
        image_size: int = 32,
        width: int = 64,
        hidden: int | None = None,
        classifier_layers: int = 3,
        dropout: float = 0.5,
    ):
        super().__init__()
        layers: list[nn.Module] = []
        cin, size = in_channels, image_size
        for v in CFG11:
            if v == "M":
                if size >= 2:
                    layers.append(nn.MaxPool2d(2))
                    size //= 2
                else:  # tiny inputs: keep the index layout, skip the pooling
                    layers.append(nn.Identity())
            else:
                cout = width * int(v)
                layers += [tag(nn.Conv2d(cin, cout, 3, padding=1), "conv"), nn.ReLU()]
                cin = cout
        self.features = nn.Sequential(*layers)
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        hidden = hidden if hidden is not None else (cin if classifier_layers == 3 else cin // 2)
        dims = [cin] + [hidden] * (classifier_layers - 1)
        head: list[nn.Module] = []
        for a, b in zip(dims[:-1], dims[1:], strict=True):
            head += [tag(nn.Linear(a, b), "dense"), nn.ReLU(), nn.Dropout(dropout)]
        head.append(tag(nn.Linear(dims[-1], num_classes), "head"))
        self.classifier = nn.Sequential(*head)
        for m in self.features:  # He init of the convs (trainable without BatchNorm); linears keep torch's default
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                nn.init.zeros_(m.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, C) of images (b, C_in, H, W)."""
        return self.classifier(self.avgpool(self.features(x)).flatten(1))
