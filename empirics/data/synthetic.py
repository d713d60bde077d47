"""Synthetic classification tasks labelled by a fixed random teacher, in CIFAR / Tiny-ImageNet / ImageNet shapes.

Inputs: a smooth Gaussian field (white noise at 1/4 resolution, bilinearly upsampled) plus 0.3× white noise,
so neighbouring pixels are correlated as in natural images. Labels: a fixed random teacher
f(x) = V · vec(avgpool₄(tanh(conv₃ₓ₃(avgpool₁₆(x))))) ∈ ℝ^C (32 channels, weights N(0, 1/fan_in), drawn once from
``TEACHER_SEED`` and the shape); each logit is standardized with its mean/std over a fixed reference sample
(so the classes are roughly balanced) and y = argmax. The teacher is the same for every split and seed;
``seed`` and ``split`` only choose the input draws.
"""

from __future__ import annotations

import zlib

import torch
import torch.nn.functional as F

from empirics.data.base import Dataset

TEACHER_SEED = 20240611
SHAPES = {"synthetic-cifar": (3, 32), "synthetic-tiny": (3, 64), "synthetic-imagenet": (3, 224)}
DEFAULT_N = {"synthetic-cifar": (4096, 1024), "synthetic-tiny": (2048, 512), "synthetic-imagenet": (512, 256)}
DEFAULT_CLASSES = {"synthetic-cifar": 10, "synthetic-tiny": 200, "synthetic-imagenet": 1000}


def _inputs(n: int, channels: int, size: int, g: torch.Generator) -> torch.Tensor:
    low = torch.randn(n, channels, max(1, size // 4), max(1, size // 4), generator=g)
    x = F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False)
    x = x + 0.3 * torch.randn(n, channels, size, size, generator=g)
    return (x - x.mean()) / x.std()


class Teacher:
    """The fixed random teacher network for one (channels, n_classes) pair."""

    def __init__(self, channels: int, n_classes: int):
        g = torch.Generator().manual_seed(TEACHER_SEED + 7919 * channels + n_classes)
        self.conv = torch.randn(32, channels, 3, 3, generator=g) / (9 * channels) ** 0.5
        self.readout = torch.randn(n_classes, 32 * 16, generator=g) / (32 * 16) ** 0.5
        ref = _inputs(2048, channels, 16, g)
        z = self.logits(ref)
        self.mean, self.std = z.mean(0), z.std(0).clamp_min(1e-12)

    def logits(self, x: torch.Tensor) -> torch.Tensor:
        x = F.adaptive_avg_pool2d(x, 16)
        h = torch.tanh(F.conv2d(x, self.conv, padding=1))
        return F.adaptive_avg_pool2d(h, 4).flatten(1) @ self.readout.T

    def labels(self, x: torch.Tensor) -> torch.Tensor:
        return ((self.logits(x) - self.mean) / self.std).argmax(1)


def load_synthetic(
    name: str, split: str, *, n_classes: int | None, image_size: int | None, n_samples: int | None, seed: int
) -> Dataset:
    channels, size = SHAPES[name]
    size = size if image_size is None else image_size
    n_classes = DEFAULT_CLASSES[name] if n_classes is None else n_classes
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2, got {n_classes}")
    n = DEFAULT_N[name][0 if split == "train" else 1] if n_samples is None else n_samples
    teacher = Teacher(channels, n_classes)
    g = torch.Generator().manual_seed(zlib.crc32(f"{name}/{split}/{seed}".encode()))
    xs, ys = [], []
    for start in range(0, n, 256):
        x = _inputs(min(256, n - start), channels, size, g)
        xs.append(x)
        ys.append(teacher.labels(x))
    y = torch.cat(ys)
    meta = {
        "teacher": "random conv (32 ch, tanh) + linear readout, standardized logits, argmax",
        "teacher_seed": TEACHER_SEED,
        "image_size": size,
        "classes_present": int(y.unique().numel()),
    }
    return Dataset(torch.cat(xs), y, name, "synthetic", n_classes, "classification", meta)
