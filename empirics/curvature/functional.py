r"""The layer-restricted functions the curvature methods differentiate.

For layer :math:`\ell` with weight :math:`W` (all other parameters and buffers held fixed and detached):
:func:`objective` is :math:`W\mapsto\mathcal L(W)=\frac1{B}\sum_i\ell_i` (:math:`B` the global sample count
under ``torch.distributed``), :func:`outputs_fn` is :math:`W\mapsto f(W)`, the network output. Both go
through ``torch.func.functional_call`` with the layer's canonical parameter path
(:func:`empirics.layers.locate`), so a tied weight changes in every use.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call

from empirics import distributed as dist
from empirics.layers import locate

__all__ = ["LossFn", "detached_state", "objective", "outputs_fn", "stack_directions", "layer_param"]

#: per-sample losses: ``loss_fn(outputs, targets)`` returns a (B,) tensor
LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def detached_state(model: nn.Module) -> dict[str, torch.Tensor]:
    """Every parameter (detached) and buffer of the model by its canonical path."""
    state = {n: p.detach() for n, p in model.named_parameters()}
    state.update(dict(model.named_buffers()))
    return state


def layer_param(model: nn.Module, name: str) -> torch.Tensor:
    """Layer ``name``'s weight parameter (the canonical tensor of a tied weight)."""
    return model.get_parameter(locate(model, name).key)


def objective(model: nn.Module, loss_fn: LossFn, inputs, targets, name: str) -> tuple[Callable, torch.Tensor]:
    r"""``f(W) = (1/B_global) Σ_local ℓ_i`` with only layer ``name``'s weight free; returns (f, W)."""
    state = detached_state(model)
    key = locate(model, name).key
    n_global = dist.global_count(len(targets), device=state[key].device)

    def f(w: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, {**state, key: w}, (inputs,))
        return loss_fn(out, targets).sum() / n_global

    return f, state[key]


def outputs_fn(model: nn.Module, inputs, name: str) -> tuple[Callable, torch.Tensor]:
    """``f(W)`` = the network output with only layer ``name``'s weight free; returns (f, W)."""
    state = detached_state(model)
    key = locate(model, name).key

    def f(w: torch.Tensor) -> torch.Tensor:
        return functional_call(model, {**state, key: w}, (inputs,))

    return f, state[key]


def stack_directions(directions: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    """The (k, *weight_shape) stack on the weight's device and dtype; ``ValueError`` on a shape mismatch."""
    V = directions.to(device=w.device, dtype=w.dtype)
    if V.shape[1:] != w.shape:
        raise ValueError(f"directions of shape {tuple(V.shape)} do not match weight {tuple(w.shape)}")
    return V
