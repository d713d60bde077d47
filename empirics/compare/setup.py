"""What every cell of a comparison shares: the data (train/test, the validation split of the learning-rate
search) and the model built from a seed; :class:`CompareError` for a user error (one line, exit 2)."""

from __future__ import annotations

import torch

from empirics.compare.spec import CompareSpec
from empirics.data import Dataset, load_dataset
from empirics.model_args import build_kwargs_for

__all__ = ["CompareError", "load_data", "split_validation", "build"]


class CompareError(ValueError):
    """A user error (bad settings, unusable existing file): one line, exit status 2."""


def load_data(spec: CompareSpec, data_root: str | None) -> tuple[Dataset, Dataset]:
    kw = dict(spec.data_kwargs)
    train = load_dataset(spec.dataset, split="train", root=data_root, n_samples=spec.train_samples, seed=0, **kw)
    test = load_dataset(spec.dataset, split="test", root=data_root, n_samples=spec.test_samples, seed=0, **kw)
    if train.task != "classification":
        raise CompareError(f"--dataset {spec.dataset}: the comparison needs a classification dataset")
    return train, test


def split_validation(train: Dataset, fraction: float, seed: int) -> tuple[Dataset, Dataset]:
    """A held-out validation part of the train split (seeded permutation): (search-train, validation)."""
    n = len(train)
    n_val = max(1, int(round(fraction * n)))
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return train.subset(perm[n_val:].sort().values), train.subset(perm[:n_val].sort().values)


def build(spec: CompareSpec, ds: Dataset, seed: int, device: torch.device) -> torch.nn.Module:
    from empirics.zoo import build_model

    model = build_model(spec.model, **build_kwargs_for(ds, seed=seed, model_kwargs=spec.model_kwargs))
    return model.to(device=device, dtype=getattr(torch, spec.dtype))
