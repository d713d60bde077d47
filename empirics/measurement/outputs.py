"""Which tensor of a model's output is measured, and a model view that returns only that tensor.

A model may return a tensor, a dict / HuggingFace ``ModelOutput`` or a tuple. By default the measured
output is the tensor itself, else the ``logits`` entry, else the only tensor entry; ``output=`` picks
another one (a key, a tuple index, or a callable ``output -> tensor``). :class:`SelectedOutput` is a view
of the model that shares its parameters, buffers and submodules (same names, same tensors) and returns the
selected tensor, so every engine path sees a single-tensor model.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import torch
from torch import nn

__all__ = ["selector", "SelectedOutput", "select_output"]


def _describe(out: Any) -> str:
    if isinstance(out, Mapping):
        return f"{type(out).__name__} with keys {', '.join(map(str, out.keys()))}"
    if isinstance(out, (tuple, list)):
        return f"{type(out).__name__} of {len(out)}"
    return type(out).__name__


def selector(out: Any, output: str | int | Callable | None) -> Callable[[Any], torch.Tensor] | None:
    """A function picking the measured tensor from a model output like ``out`` (``None``: ``out`` is a
    tensor and nothing was asked for). ``ValueError`` naming the ``output`` argument when it is ambiguous."""
    if callable(output):
        return output  # type: ignore[return-value]
    if output is not None:
        if isinstance(out, Mapping):
            if output not in out:
                raise ValueError(f"output={output!r}: not a key of the model's {_describe(out)}")
        elif isinstance(out, (tuple, list)):
            if not isinstance(output, int) or not -len(out) <= output < len(out):
                raise ValueError(f"output={output!r}: not an index of the model's {_describe(out)}")
        else:
            raise ValueError(f"output={output!r}: the model returns a {type(out).__name__}, not a dict or tuple")
        return lambda o: o[output]
    if isinstance(out, torch.Tensor):
        return None
    if isinstance(out, Mapping):
        if "logits" in out and isinstance(out["logits"], torch.Tensor):
            return lambda o: o["logits"]
        keys = [k for k, v in out.items() if isinstance(v, torch.Tensor)]
        if len(keys) == 1:
            key = keys[0]
            return lambda o: o[key]
    if isinstance(out, (tuple, list)):
        idx = [i for i, v in enumerate(out) if isinstance(v, torch.Tensor)]
        if len(idx) == 1:
            i = idx[0]
            return lambda o: o[i]
    raise ValueError(
        f"the model returns a {_describe(out)}: say which tensor to measure with output= (a key, an index or a callable)"
    )


class SelectedOutput(nn.Module):
    """``model`` returning ``select(model(x))``: the same parameters, buffers and submodules under the same
    names (the dicts are shared, so ``functional_call`` on this view substitutes the model's tensors)."""

    def __init__(self, model: nn.Module, select: Callable[[Any], torch.Tensor]):
        super().__init__()
        object.__setattr__(self, "inner", model)
        self._parameters = model._parameters
        self._buffers = model._buffers
        self._modules = model._modules
        object.__setattr__(self, "select", select)
        self.training = model.training

    def forward(self, *args, **kwargs) -> torch.Tensor:
        """The selected tensor of the wrapped model's output; raises ``ValueError`` when the selection is not a tensor."""
        inner: nn.Module = self.__dict__["inner"]
        out = self.__dict__["select"](inner(*args, **kwargs))
        if not isinstance(out, torch.Tensor):
            raise ValueError(f"output=: the selection gives a {type(out).__name__}, not a tensor")
        return out

    def train(self, mode: bool = True) -> SelectedOutput:
        """Set train/eval mode on the wrapped model (and this view); returns the view."""
        self.__dict__["inner"].train(mode)
        self.training = mode
        return self


def select_output(model: nn.Module, sample_output: Any, output: str | int | Callable | None) -> nn.Module:
    """``model`` itself when it returns a tensor (and ``output`` is ``None``), else its :class:`SelectedOutput` view."""
    pick = selector(sample_output, output)
    return model if pick is None else SelectedOutput(model, pick)
