"""Datasets for the measurements: real digits, synthetic teacher tasks, real text, local image sets.

``load_dataset(name, split=..., root=..., n_classes=..., image_size=..., n_samples=..., seed=...)`` returns a
:class:`Dataset` held in memory; ``loss_for(dataset)`` the per-sample loss ℓ_i (shape (B,), reduction='none';
for the language model the mean over the sequence's tokens), so that L = (1/B) Σ_i ℓ_i.

=====================  =========  =======================================================================
name                   kind       content
=====================  =========  =======================================================================
digits                 real       sklearn digits, 10 classes, resized to image_size (default 32), 3 ch
synthetic-cifar        synthetic  random-teacher task, 3×32×32, n_classes (default 10)
synthetic-tiny         synthetic  random-teacher task, 3×64×64, n_classes (default 200)
synthetic-imagenet     synthetic  random-teacher task, 3×224×224, n_classes (default 1000)
text                   real       next-byte LM on CPython's pydoc topics, ``context`` bytes (default 64)
text-cls               real       binary: text window as written vs byte-reversed
cifar10, cifar100      real       local python pickle batches
tiny-imagenet          real       local tiny-imagenet-200 folder
imagenet               real       local class folders (default 4096-image subset)
=====================  =========  =======================================================================
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F

from empirics.data.base import Dataset, DatasetNotFound, data_root
from empirics.data.digits import load_digits
from empirics.data.local import load_cifar, load_imagenet, load_tiny_imagenet
from empirics.data.synthetic import SHAPES, load_synthetic
from empirics.data.text import load_text

__all__ = ["DATASET_NAMES", "Dataset", "DatasetNotFound", "data_root", "load_dataset", "loss_for", "SPLITS"]

DATASET_NAMES: tuple[str, ...] = (
    "digits",
    "synthetic-cifar",
    "synthetic-tiny",
    "synthetic-imagenet",
    "text",
    "text-cls",
    "cifar10",
    "cifar100",
    "tiny-imagenet",
    "imagenet",
)
SPLITS = ("train", "test")
DEFAULT_CONTEXT = 64

#: The synthetic task with the same input shape as each local dataset (``--synthetic-fallback``).
SYNTHETIC_STANDIN = {
    "cifar10": "synthetic-cifar",
    "cifar100": "synthetic-cifar",
    "tiny-imagenet": "synthetic-tiny",
    "imagenet": "synthetic-imagenet",
}


def load_dataset(
    name: str,
    *,
    split: str = "train",
    root: str | None = None,
    n_classes: int | None = None,
    image_size: int | None = None,
    n_samples: int | None = None,
    seed: int = 0,
    context: int | None = None,
) -> Dataset:
    """Load ``name`` (see the module table). ``split`` ∈ {train, test} (test = the held-out/val part).

    ``image_size`` and ``n_samples`` must be integers >= 1, ``n_classes`` >= 2, ``context`` >= 2 (or None for
    the dataset's default); anything else is a one-line ``ValueError`` naming the argument (a 0 is never
    silently replaced by a default)."""
    if name not in DATASET_NAMES:
        raise ValueError(f"unknown dataset {name!r}; choose from {', '.join(DATASET_NAMES)}")
    if split not in SPLITS:
        raise ValueError(f"unknown split {split!r}; choose from {', '.join(SPLITS)}")
    for arg, value, lo in (("image_size", image_size, 1), ("n_samples", n_samples, 1), ("n_classes", n_classes, 2)):
        if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < lo):
            raise ValueError(f"{arg} must be an integer >= {lo}, got {value!r}")
    if context is not None and (isinstance(context, bool) or not isinstance(context, int) or context < 2):
        raise ValueError(f"context must be an integer >= 2 (bytes), got {context!r}")
    if name == "digits":
        return load_digits(split, image_size=image_size, n_classes=n_classes, n_samples=n_samples, seed=seed)
    if name in SHAPES:
        return load_synthetic(name, split, n_classes=n_classes, image_size=image_size, n_samples=n_samples, seed=seed)
    if name in ("text", "text-cls"):
        return load_text(name, split, context=context or DEFAULT_CONTEXT, n_samples=n_samples, seed=seed)
    kw = {"n_classes": n_classes, "image_size": image_size, "n_samples": n_samples, "seed": seed}
    r = data_root(root)
    if name in ("cifar10", "cifar100"):
        return load_cifar(name, split, r, **kw)
    if name == "tiny-imagenet":
        return load_tiny_imagenet(split, r, **kw)
    return load_imagenet(split, r, **kw)


def _cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(outputs, targets, reduction="none")


def _lm_cross_entropy(outputs: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
    """ℓ_i = (1/T) Σ_t CE(logits_{i,t}, byte_{i,t+1}); outputs (B, T, V), targets (B, T)."""
    b, t, v = outputs.shape
    return F.cross_entropy(outputs.reshape(b * t, v), targets.reshape(b * t), reduction="none").view(b, t).mean(1)


def loss_for(dataset: Dataset) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """Per-sample cross-entropy (classification) or per-sequence mean next-byte cross-entropy (lm)."""
    return _lm_cross_entropy if dataset.task == "lm" else _cross_entropy
