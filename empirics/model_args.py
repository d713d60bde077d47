"""What a zoo model is built with for a given dataset, and the checks that the pair fits.

* :func:`build_kwargs_for` — the ``empirics.zoo.build_model`` keyword arguments that fit a dataset: its class
  count, and either its image channels and size or (sequences) its context length and task; the caller's
  size knobs override them. Used by ``measure``, ``train``, ``run`` (presets) and ``compare``.
* :func:`parse_model_args` (``--model-arg KEY=VALUE``, JSON values) and :func:`size_kwargs` (``--width``:
  ``d_model`` for the GPT-2 family, ``width`` otherwise).
* :func:`check_model_fits` — one forward pass and loss on the first samples, so a model that cannot take the
  dataset's inputs (e.g. ``gpt2`` on images) or yields a non-finite loss is one line, before any work.
* :func:`nonfinite_entries` — the tensors of a state dict holding NaN/Inf values (e.g. a diverged checkpoint).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

from empirics.arguments import first_line

__all__ = ["build_kwargs_for", "parse_model_args", "size_kwargs", "check_model_fits", "nonfinite_entries"]


def build_kwargs_for(
    dataset: Any, *, seed: int, model_kwargs: Mapping[str, Any] | None = None, n_classes: int | None = None
) -> dict[str, Any]:
    """``build_model`` kwargs fitting ``dataset`` (an :class:`empirics.data.Dataset`): ``num_classes``
    (``n_classes`` if given, else the dataset's), ``seed``, and ``in_channels`` + ``image_size`` for images
    (N, C, H, W) or ``context`` (+ ``task="classification"`` for a sequence-classification set) for token
    sequences (N, T); ``model_kwargs`` override all of them."""
    kw: dict[str, Any] = {"num_classes": n_classes or dataset.n_classes, "seed": seed}
    extra = dict(model_kwargs or {})
    if dataset.inputs.dim() == 4:
        kw.update(in_channels=int(dataset.inputs.shape[1]), image_size=int(dataset.inputs.shape[-1]))
    else:
        extra.setdefault("context", int(dataset.inputs.shape[1]))
        if dataset.task == "classification":
            extra.setdefault("task", "classification")
    return {**kw, **extra}


def parse_model_args(items: list[str]) -> dict[str, Any]:
    """``["depth=2", "act=\\"gelu\\""]`` → ``{"depth": 2, "act": "gelu"}`` (JSON values, else the raw text).
    ValueError (one line) for an item without ``=`` or with an empty key."""
    out: dict[str, Any] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ValueError(f"--model-arg {item!r}: expected KEY=VALUE")
        try:
            out[key.strip()] = json.loads(value)
        except json.JSONDecodeError:
            out[key.strip()] = value
    return out


def size_kwargs(model: str, width: int | None) -> dict[str, int]:
    """``--width``: ``{"d_model": width}`` for the GPT-2 family, ``{"width": width}`` otherwise; ``{}`` if None."""
    if width is None:
        return {}
    return {"d_model" if model.startswith("gpt2") else "width": int(width)}


def check_model_fits(
    model: nn.Module,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    loss_fn: Callable[[torch.Tensor, torch.Tensor], torch.Tensor],
    *,
    what: str,
    n: int = 2,
) -> None:
    """One forward pass and per-sample loss on the first ``n`` samples (no gradient); ``ValueError`` naming
    ``what`` (e.g. ``"--model gpt2 on --dataset digits"``) when it fails or the loss is not finite."""
    x, y = inputs[:n], targets[:n]
    try:
        with torch.no_grad():
            losses = loss_fn(model(x), y)
    except Exception as exc:  # noqa: BLE001 - any failure here means the model does not fit the data
        raise ValueError(
            f"{what}: the model does not accept these inputs ({first_line(exc, with_type=True)})"
        ) from None
    if not isinstance(losses, torch.Tensor) or tuple(losses.shape) != (x.shape[0],):
        shape = tuple(losses.shape) if isinstance(losses, torch.Tensor) else type(losses).__name__
        raise ValueError(f"{what}: the loss must give one value per sample ({x.shape[0]},), got {shape}")
    bad = int((~torch.isfinite(losses)).sum())
    if bad:
        raise ValueError(f"{what}: the loss is not finite on {bad} of the first {x.shape[0]} samples")


def nonfinite_entries(state: Mapping[str, Any]) -> list[tuple[str, int]]:
    """``(key, count)`` of every floating tensor in ``state`` holding NaN or ±Inf values."""
    out = []
    for key, value in state.items():
        if isinstance(value, torch.Tensor) and value.is_floating_point():
            bad = int((~torch.isfinite(value)).sum())
            if bad:
                out.append((key, bad))
        elif isinstance(value, float) and not math.isfinite(value):
            out.append((key, 1))
    return out
