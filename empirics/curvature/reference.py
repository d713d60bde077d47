r"""Reference methods: finite differences and the paper's protocol.

* :func:`fd_curvatures` — central second difference
  :math:`(\mathcal L(W+\epsilon D)-2\mathcal L(W)+\mathcal L(W-\epsilon D))/\epsilon^2`;
* :func:`paper_protocol_curvatures` — the paper's loop (``autograd.grad(create_graph=True)``, then one
  backward per direction): the reference for tests and the benchmark. Deliberately unoptimised.
"""

from __future__ import annotations

import copy
import time

import torch
from torch import nn

from empirics import distributed as dist
from empirics.curvature.functional import LossFn, layer_param, objective, stack_directions
from empirics.curvature.result import CurvatureResult

__all__ = ["fd_curvatures", "paper_protocol_curvatures"]


def fd_curvatures(
    model: nn.Module,
    loss_fn: LossFn,
    inputs,
    targets,
    directions: dict[str, torch.Tensor],
    *,
    eps: float = 1e-3,
    dtype: torch.dtype | None = None,
    chunk_size: int | None = None,
) -> dict[str, CurvatureResult]:
    r"""Central second difference :math:`(\mathcal L(W+\epsilon D)-2\mathcal L(W)+\mathcal L(W-\epsilon D))/\epsilon^2`.

    ``dtype`` evaluates the losses in another precision (e.g. ``torch.float32``, where round-off
    :math:`\sim\mathrm{eps}\,\mathcal L/\epsilon^2` gives the spurious negative curvatures the paper
    mentions); ``None`` uses the model's dtype. Each process's three losses are all-reduced before
    differencing. ``chunk_size`` is accepted for a uniform signature and unused.
    """
    del chunk_size
    out = {}
    for name, D in directions.items():
        t = time.perf_counter()
        f, w = objective(model, loss_fn, inputs, targets, name)
        V = stack_directions(D, w)
        if dtype is not None and dtype != w.dtype:
            m2 = copy.deepcopy(model).to(dtype)
            x2 = inputs.to(dtype) if torch.is_floating_point(inputs) else inputs
            t2 = targets.to(dtype) if torch.is_floating_point(targets) else targets
            f, w = objective(m2, loss_fn, x2, t2, name)
            V = V.to(dtype)
        with torch.no_grad():
            base = f(w)
            plus = torch.stack([f(w + eps * v) for v in V])
            minus = torch.stack([f(w - eps * v) for v in V])
            vals = dist.all_reduce_sum(torch.stack([plus, minus, base.expand_as(plus)]))
            h = (vals[0] - 2 * vals[2] + vals[1]) / eps**2
        out[name] = CurvatureResult(h, "fd", None, time.perf_counter() - t)
    return out


def paper_protocol_curvatures(
    model: nn.Module,
    loss_fn: LossFn,
    inputs,
    targets,
    directions: dict[str, torch.Tensor],
    *,
    chunk_size: int | None = None,
) -> dict[str, CurvatureResult]:
    r"""The paper's protocol: per layer, ``g = autograd.grad(L, W, create_graph=True)``, then for each
    direction ``Hv = autograd.grad(<g, D>, W)`` and :math:`h=\langle D, Hv\rangle`, one at a time."""
    del chunk_size
    n_global = dist.global_count(len(targets), device=next(model.parameters()).device)
    out = {}
    for name, D in directions.items():
        t = time.perf_counter()
        w = layer_param(model, name)
        with torch.enable_grad():
            loss = loss_fn(model(inputs), targets).sum() / n_global
            (g,) = torch.autograd.grad(loss, w, create_graph=True)
            hs = []
            for i, v in enumerate(D.to(device=w.device, dtype=w.dtype)):
                (hv,) = torch.autograd.grad((g * v).sum(), w, retain_graph=i < D.shape[0] - 1)
                hs.append((hv * v).sum().detach())
        h = dist.all_reduce_sum(torch.stack(hs) if hs else w.new_zeros(0))
        out[name] = CurvatureResult(h, "paper", None, time.perf_counter() - t)
    return out
