"""ResNet-18 (basic blocks) and ResNet-50 (bottlenecks) with torchvision's module names.

Names: ``conv1``, ``bn1``, ``layer{1..4}.{j}.conv{1,2[,3]}``, ``layer{s}.0.downsample.0`` (1×1 conv,
type ``downsample``), ``fc`` (type ``head``). Stems (docs/theory-reference.md G21: the paper mixes a 3×3 and a 7×7 stem):

* ``"cifar"``: 3×3 conv, stride 1, no max-pool (32×32 inputs; conv1 matrix 64 × 27 at 3 channels);
* ``"tiny"``: 7×7 conv, stride 2, no max-pool (64×64 inputs; conv1 matrix 64 × 147);
* ``"imagenet"``: 7×7 conv, stride 2, then 3×3 max-pool stride 2 (torchvision; 224×224 inputs).

``width`` is the first stage's channel count (64 in the paper); stages use width·(1, 2, 4, 8).
"""

from __future__ import annotations

import torch
from torch import nn

from empirics.zoo.tags import tag

STEMS = ("cifar", "tiny", "imagenet")


def _conv(cin: int, cout: int, k: int, stride: int = 1, layer_type: str = "conv") -> nn.Conv2d:
    return tag(nn.Conv2d(cin, cout, k, stride=stride, padding=k // 2, bias=False), layer_type)


class BasicBlock(nn.Module):
    """Basic residual block: 3×3 conv, BN, ReLU, 3×3 conv, BN, plus the skip (a 1×1 ``downsample`` conv when the shape
    changes), ReLU."""

    expansion = 1

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        self.conv1 = _conv(cin, planes, 3, stride)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv(planes, planes, 3)
        self.bn2 = nn.BatchNorm2d(planes)
        self.downsample = None
        if stride != 1 or cin != planes:
            self.downsample = nn.Sequential(_conv(cin, planes, 1, stride, "downsample"), nn.BatchNorm2d(planes))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(bn2(conv2(relu(bn1(conv1 x)))) + skip(x))."""
        out = torch.relu(self.bn1(self.conv1(x)))
        out = self.bn2(self.conv2(out))
        skip = x if self.downsample is None else self.downsample(x)
        return torch.relu(out + skip)


class Bottleneck(nn.Module):
    """Bottleneck block: 1×1, 3×3 (strided), 1×1 (×4 channels) convs with BN, plus the skip (``downsample`` when the
    shape changes), ReLU."""

    expansion = 4

    def __init__(self, cin: int, planes: int, stride: int = 1):
        super().__init__()
        out = planes * self.expansion
        self.conv1 = _conv(cin, planes, 1)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = _conv(planes, planes, 3, stride)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = _conv(planes, out, 1)
        self.bn3 = nn.BatchNorm2d(out)
        self.downsample = None
        if stride != 1 or cin != out:
            self.downsample = nn.Sequential(_conv(cin, out, 1, stride, "downsample"), nn.BatchNorm2d(out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """relu(bn3(conv3(relu(bn2(conv2(relu(bn1(conv1 x))))))) + skip(x))."""
        y = torch.relu(self.bn1(self.conv1(x)))
        y = torch.relu(self.bn2(self.conv2(y)))
        y = self.bn3(self.conv3(y))
        skip = x if self.downsample is None else self.downsample(x)
        return torch.relu(y + skip)


class ResNet(nn.Module):
    """ResNet with torchvision's module names: stem (``cifar``/``tiny``/``imagenet``), four stages of ``block`` at
    widths width·(1, 2, 4, 8), global average pooling, ``fc`` head; raises ``ValueError`` for an unknown stem."""

    def __init__(
        self,
        block: type[BasicBlock] | type[Bottleneck],
        blocks: tuple[int, int, int, int],
        num_classes: int,
        in_channels: int = 3,
        width: int = 64,
        stem: str = "cifar",
    ):
        super().__init__()
        if stem not in STEMS:
            raise ValueError(f"unknown stem {stem!r}; choose from {', '.join(STEMS)}")
        self.stem = stem
        if stem == "cifar":
            self.conv1 = _conv(in_channels, width, 3)
        else:
            self.conv1 = tag(nn.Conv2d(in_channels, width, 7, stride=2, padding=3, bias=False), "conv")
        self.bn1 = nn.BatchNorm2d(width)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1) if stem == "imagenet" else nn.Identity()
        cin = width
        for s, n in enumerate(blocks):
            planes = width * 2**s
            layers = []
            for j in range(n):
                layers.append(block(cin, planes, stride=2 if (j == 0 and s > 0) else 1))
                cin = planes * block.expansion
            setattr(self, f"layer{s + 1}", nn.Sequential(*layers))
        self.avgpool = nn.AdaptiveAvgPool2d(1)
        self.fc = tag(nn.Linear(cin, num_classes), "head")
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, C) of images (b, C_in, H, W)."""
        x = self.maxpool(torch.relu(self.bn1(self.conv1(x))))
        x = self.layer4(self.layer3(self.layer2(self.layer1(x))))
        return self.fc(self.avgpool(x).flatten(1))


def resnet18(num_classes: int, in_channels: int = 3, width: int = 64, stem: str = "cifar") -> ResNet:
    """ResNet-18: basic blocks (2, 2, 2, 2), CIFAR stem by default."""
    return ResNet(BasicBlock, (2, 2, 2, 2), num_classes, in_channels, width, stem)


def resnet50(num_classes: int, in_channels: int = 3, width: int = 64, stem: str = "imagenet") -> ResNet:
    """ResNet-50: bottleneck blocks (3, 4, 6, 3), ImageNet stem by default."""
    return ResNet(Bottleneck, (3, 4, 6, 3), num_classes, in_channels, width, stem)
