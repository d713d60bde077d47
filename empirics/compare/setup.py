"""What every cell of a comparison shares: the data (train/test, the validation split of the learning-rate
search) and the model built from a seed; :class:`CompareError` for a user error (one line, exit 2)."""

from __future__ import annotations

import torch

from empirics.compare.spec import CompareSpec
from empirics.data import Dataset, load_dataset
from empirics.model_args import build_kwargs_for

__all__ = ["CompareError", "load_data", "split_validation", "build", "inputs_to"]


class CompareError(ValueError):
    """A user error (bad settings, unusable existing file): one line, exit status 2."""


def load_data(spec: CompareSpec, data_root: str | None) -> tuple[Dataset, Dataset]:
    """The train and test splits of the spec's dataset (seeded subsets of the sizes it asks for); raises
    :class:`CompareError` when the dataset is not a classification task."""
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
    """The spec's zoo model built for dataset ``ds`` from ``seed``, on ``device`` in the spec's dtype."""
    from empirics.zoo import build_model

    model = build_model(spec.model, **build_kwargs_for(ds, seed=seed, model_kwargs=spec.model_kwargs))
    return model.to(device=device, dtype=getattr(torch, spec.dtype))


def inputs_to(x: torch.Tensor, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """A minibatch of inputs on ``device``: images in the model's ``dtype``, token ids (integers) unchanged."""
    return x.to(device=device, dtype=dtype) if x.is_floating_point() else x.to(device)
