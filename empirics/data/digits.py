"""scikit-learn's handwritten digits (real data shipped in the wheel; 1797 8×8 grey images, 10 classes).

Pixels 0…16 are scaled to [0, 1], replicated to ``channels`` (3 by default, so the CIFAR-shaped nets apply),
bilinearly resized to ``image_size`` (default 32) and standardized with the full set's mean/std.
Fixed train/test split: a permutation drawn once with seed 0, first 1437 images train, last 360 test
(independent of the ``seed`` argument, which only draws the ``n_samples`` subset).
"""

from __future__ import annotations

import numpy as np
import torch

from empirics.data.base import Dataset, resize, seeded_subset

N_TRAIN = 1437


def load_digits(
    split: str, *, image_size: int | None, n_classes: int | None, n_samples: int | None, seed: int, channels: int = 3
) -> Dataset:
    from sklearn.datasets import load_digits as sk_load

    bunch = sk_load()
    images = torch.tensor(bunch.images, dtype=torch.float32) / 16.0
    labels = torch.tensor(bunch.target, dtype=torch.int64)
    perm = torch.from_numpy(np.random.RandomState(0).permutation(len(labels)))
    index = perm[:N_TRAIN] if split == "train" else perm[N_TRAIN:]
    mean, std = images.mean().item(), images.std().item()
    x = ((images[index] - mean) / std).unsqueeze(1)
    x = resize(x, 32 if image_size is None else image_size).repeat(1, channels, 1, 1).contiguous()
    y = labels[index]
    n_classes = 10 if n_classes is None else n_classes
    if not 2 <= n_classes <= 10:
        raise ValueError(f"digits has 10 classes; n_classes must be in 2..10, got {n_classes}")
    keep = y < n_classes
    x, y = x[keep], y[keep]
    sub = seeded_subset(len(y), n_samples, seed)
    meta = {"source": "sklearn.datasets.load_digits", "image_size": x.shape[-1], "channels": channels}
    return Dataset(x[sub].contiguous(), y[sub], "digits", "real", n_classes, "classification", meta)
