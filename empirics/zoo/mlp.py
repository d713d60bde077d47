"""Fully connected network on flattened images: ``layers.{i}`` (dense, ReLU) then ``head``."""

from __future__ import annotations

import torch
from torch import nn

from empirics.zoo.tags import tag


class MLP(nn.Module):
    """x ↦ head(ReLU(W_L … ReLU(W_1 vec(x)))); ``depth`` hidden layers of ``width`` units."""

    def __init__(self, in_features: int, num_classes: int, width: int = 256, depth: int = 2):
        super().__init__()
        dims = [in_features] + [width] * depth
        self.layers = nn.ModuleList(tag(nn.Linear(a, b), "dense") for a, b in zip(dims[:-1], dims[1:], strict=True))
        self.head = tag(nn.Linear(dims[-1], num_classes), "head")

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits (b, C) of the flattened inputs."""
        x = x.flatten(1)
        for layer in self.layers:
            x = torch.relu(layer(x))
        return self.head(x)
