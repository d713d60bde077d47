"""Loading a saved ``state_dict`` (e.g. torchvision's ResNet-50 ``IMAGENET1K_V1`` file,
``resnet50-0676ba61.pth``) into a zoo model whose module names follow torchvision's.

The file must be a mapping of parameter/buffer names to tensors (a plain ``torch.save(model.state_dict())``, or
such a mapping under a ``"state_dict"`` or ``"model"`` key). Every parameter and buffer of the model must be
present with the model's shape, except BatchNorm's ``num_batches_tracked`` counters (absent from older
torchvision files; they do not enter an eval-mode forward pass). Anything else — a file that is not a
``state_dict``, a missing or extra key, a shape that differs (another width or number of classes) — raises
:class:`WeightsError` with one line naming the file and the first offending key.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import torch
from torch import nn

__all__ = ["WeightsError", "load_weights"]

_OPTIONAL = "num_batches_tracked"


class WeightsError(ValueError):
    """A weights file does not fit the model (one line naming the file and the key)."""


def _state_dict(obj: object, path: Path) -> Mapping[str, torch.Tensor]:
    if isinstance(obj, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(obj.get(key), Mapping):
                obj = obj[key]
                break
    if (
        not isinstance(obj, Mapping)
        or not obj
        or not all(isinstance(k, str) and isinstance(v, torch.Tensor) for k, v in obj.items())
    ):
        raise WeightsError(f"{path}: not a state_dict (a mapping of parameter names to tensors)")
    return obj


def load_weights(model: nn.Module, path: str | Path) -> nn.Module:
    """Copy the tensors of ``path`` into ``model`` (in place; see the module docstring); returns ``model``."""
    path = Path(path)
    try:
        obj = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError:
        raise WeightsError(f"{path}: weights file not found") from None
    except Exception as exc:  # unpickling errors of many kinds: one line
        raise WeightsError(f"{path}: cannot be read as a torch state_dict ({type(exc).__name__})") from None
    state = _state_dict(obj, path)
    want = model.state_dict()
    missing = [k for k in want if k not in state and not k.endswith(_OPTIONAL)]
    if missing:
        raise WeightsError(f"{path}: missing {len(missing)} key(s) of the model, first {missing[0]!r}")
    extra = [k for k in state if k not in want]
    if extra:
        raise WeightsError(f"{path}: {len(extra)} key(s) the model does not have, first {extra[0]!r}")
    for k, v in state.items():
        if tuple(v.shape) != tuple(want[k].shape):
            raise WeightsError(
                f"{path}: {k} has shape {list(v.shape)}, the model's is {list(want[k].shape)} "
                "(another width or number of classes)"
            )
        if v.is_floating_point() and not torch.isfinite(v).all():
            raise WeightsError(f"{path}: {k} holds non-finite values")
    model.load_state_dict(state, strict=False)
    return model
