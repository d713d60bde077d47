r"""Gauss–Newton directional curvature, jvp form (docs/theory-reference.md §1.3).

:math:`v^\top H_{\rm GN}v=\frac1B\sum_i (J_iv)^\top\nabla_f^2\ell_i\,(J_iv)`, with :math:`J_iv` the jvp of the
outputs along :math:`D` and the quadratic form of the loss Hessian in the outputs from a double backward of
the loss (batched over :math:`J_iv`): any twice-differentiable loss, no loss-specific formula. The
output-adjoint form of many layers at once is :mod:`empirics.curvature.adjoint`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn
from torch.func import jvp, vmap

from empirics import distributed as dist
from empirics.curvature.forms import exact_forms
from empirics.curvature.functional import LossFn, outputs_fn, stack_directions
from empirics.curvature.memory import auto_chunk_size, chunked
from empirics.curvature.result import CurvatureResult, EngineCache

__all__ = ["gn_fn", "gn_curvatures", "NotSingleTensor"]


class NotSingleTensor(ValueError):
    """The Gauss–Newton form needs the network output to be one tensor."""


def gn_fn(
    model: nn.Module, loss_fn: LossFn, inputs, targets, name: str, shared: dict | None = None
) -> tuple[Callable, torch.Tensor]:
    r""":math:`V\mapsto(v^\top H_{\rm GN}v)_v` for a chunk of layer ``name``'s directions (and its weight).

    :math:`J_iv` for every direction of the chunk from one vmapped jvp of the outputs (the primal forward
    shared); then :math:`\sum_i(J_iv)^\top\nabla^2_f\ell_i(J_iv)` from one ``create_graph`` gradient of
    :math:`\sum_i\ell_i` in the outputs and one batched backward of it along all :math:`Jv`
    (``is_grads_batched``). The outputs and that gradient's graph do not depend on the layer: ``shared``
    (a dict) keeps them for the next layers."""
    fo, w = outputs_fn(model, inputs, name)
    n_global = dist.global_count(len(targets), device=w.device)
    push = vmap(lambda v: jvp(fo, (w,), (v,)), out_dims=(None, 0))  # type: ignore[arg-type]

    def run(Vc: torch.Tensor) -> torch.Tensor:
        f0, JV = push(Vc)  # type: ignore[misc]
        if not isinstance(f0, torch.Tensor):
            raise NotSingleTensor("Gauss-Newton curvature needs a model whose output is a single tensor")
        cache = {} if shared is None else shared
        if "o" not in cache:
            cache["o"] = o = f0.detach().requires_grad_(True)
            with torch.enable_grad():
                (cache["g"],) = torch.autograd.grad(loss_fn(o, targets).sum(), o, create_graph=True)
        o, g = cache["o"], cache["g"]
        if not g.requires_grad:  # loss linear in the outputs: zero Hessian
            return Vc.new_zeros(Vc.shape[0])
        with torch.enable_grad():
            (HJV,) = torch.autograd.grad(g, o, grad_outputs=JV, is_grads_batched=True, retain_graph=True)
        return (HJV * JV).flatten(1).sum(1) / n_global

    return run, w


def gn_curvatures(
    model: nn.Module,
    loss_fn: LossFn,
    inputs,
    targets,
    directions: dict[str, torch.Tensor],
    *,
    chunk_size: int | None = None,
    cache: EngineCache | None = None,
    on_chunk: Callable[[str, int, int], None] | None = None,
) -> dict[str, CurvatureResult]:
    r""":math:`v^\top H_{\rm GN}v=\frac1B\sum_i (J_iv)^\top\nabla^2_f\ell_i(J_iv)` for each layer
    ``name -> (k, *weight_shape)`` (method ``"gn"``)."""
    out: dict[str, CurvatureResult] = {}
    shared: dict = {}
    acts = None if cache is None else cache.activation_bytes
    for name, D in directions.items():
        t = time.perf_counter()
        fn, w = gn_fn(model, loss_fn, inputs, targets, name, shared)
        V = stack_directions(D, w)
        chunk = chunk_size or auto_chunk_size(model, inputs, V.shape[0], "gn", cache=acts)
        tick = None if on_chunk is None else (lambda i, n, name=name: on_chunk(name, i, n))
        with exact_forms(model):
            h = dist.all_reduce_sum(chunked(fn, V, chunk, tick).detach())
        out[name] = CurvatureResult(h, "gn", chunk, time.perf_counter() - t)
    return out
