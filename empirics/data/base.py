"""The in-memory dataset record, the missing-dataset error, the data root and image helpers."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F


class DatasetNotFound(FileNotFoundError):
    """A local dataset is missing; the message is one line saying where to put it."""


@dataclass
class Dataset:
    """Tensors held in memory. Images: ``inputs`` (N, C, H, W) float32, ``targets`` (N,) int64.
    Language model: ``inputs`` (N, T) int64 bytes, ``targets`` (N, T) the next bytes."""

    inputs: torch.Tensor
    targets: torch.Tensor
    name: str
    kind: str  # "real" | "synthetic"
    n_classes: int | None
    task: str  # "classification" | "lm"
    meta: dict[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.inputs.shape[0])

    def subset(self, index: torch.Tensor) -> Dataset:
        """The samples at ``index`` (same name, kind, classes, task; metadata copied)."""
        return Dataset(
            self.inputs[index], self.targets[index], self.name, self.kind, self.n_classes, self.task, dict(self.meta)
        )


def data_root(root: str | os.PathLike | None = None) -> Path:
    """``root`` if given, else ``$SAD_DATA_ROOT``, else ``~/data``."""
    if root is not None:
        return Path(root).expanduser()
    env = os.environ.get("SAD_DATA_ROOT")
    return Path(env).expanduser() if env else Path.home() / "data"


def resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """Bilinear resize of (N, C, H, W) to (N, C, size, size) (no-op when already that size)."""
    if images.shape[-1] == size and images.shape[-2] == size:
        return images
    return F.interpolate(
        images, size=(size, size), mode="bilinear", align_corners=False, antialias=size < images.shape[-1]
    )


def standardize(images: torch.Tensor, mean: torch.Tensor, std: torch.Tensor) -> torch.Tensor:
    """Per-channel (x − μ_c)/s_c with fixed channel statistics."""
    return (images - mean.view(1, -1, 1, 1)) / std.view(1, -1, 1, 1)


def seeded_subset(n_total: int, n_samples: int | None, seed: int) -> torch.Tensor:
    """All indices (``n_samples`` None or ≥ n_total) or a seeded random subset of ``n_samples`` of them, sorted."""
    if n_samples is None or n_samples >= n_total:
        return torch.arange(n_total)
    if n_samples <= 0:
        raise ValueError(f"n_samples must be positive, got {n_samples}")
    g = torch.Generator().manual_seed(seed)
    return torch.randperm(n_total, generator=g)[:n_samples].sort().values
