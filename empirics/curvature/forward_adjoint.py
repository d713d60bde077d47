r"""Exact curvatures of many layers from one shared backward and forward tangents (method ``fwd_adj``).

Along :math:`W_\ell+tD` every intermediate tensor :math:`x_j` of the forward (loss included) moves as
:math:`x_j(t)=x_j+t\dot x_j+\tfrac{t^2}2\ddot x_j+\dots`, and the second-order tangents obey
:math:`\ddot x_j=\sum_a\partial_a\varphi_j\,\ddot x^{(a)}+s_j` with the op's *source term* :math:`s_j`
(:mod:`~empirics.curvature.tangent_rules`). Since :math:`\ddot x` propagates linearly, its effect on the loss is
carried by the ordinary adjoints :math:`\lambda_j=\partial\mathcal L/\partial x_j`:

.. math::  h=v^\top Hv=\frac{d^2}{dt^2}\mathcal L(W_\ell+tD)\Big|_{t=0}=\sum_j\langle\lambda_j,s_j(\dot x)\rangle .

The terms of the loss's own ops make up :math:`\dot f^\top\nabla_f^2\mathcal L\,\dot f=h^{\rm GN}` (the
Gauss–Newton part, :math:`\dot f` the output's tangent), those of the network's ops the residual
:math:`\nabla_f\mathcal L\cdot\ddot f`. So each direction needs **one first-order forward tangent** through
what follows its weight, and no second-order AD of the network; the adjoints come from **one backward
shared by every layer and direction**. Exact: it is the second-order Taylor coefficient itself.

Two passes (:mod:`~empirics.curvature.tangent_modes`, both under :func:`~empirics.curvature.forms.exact_forms`
with torch's fused layer norm: one op with its own rule instead of eight elementary ones):

1. forward + loss with autograd, recording which measured weights each tensor depends on, where each
   weight is first used, and the outputs that can have a source term; one backward gives their adjoints;
2. per group of directions (rows), forward + loss without autograd, carrying :math:`\dot x` beside every
   dependent tensor and adding :math:`\langle\lambda_j,s_j\rangle` per row. Rows are ordered by where each
   weight is first used, so a tangent exists only after its layer; a group's size follows the memory budget.
   The ops before a group's first tangent compute the same outputs in every group: the later groups take them
   from the first (:mod:`~empirics.curvature.prefix_cache`).

Both passes must run the same ops (checked op by op). A weight may be used anywhere (tied, called several
times): its tangent starts at the weight itself. What is not covered raises
:class:`~empirics.curvature.tangents.Unsupported` (an in-place write into a view or aliased tensor, an op
without a forward-mode rule, a nonlinear op with several outputs); :func:`~empirics.curvature.exact.exact_curvatures`
then falls back to double backward. Certified per call by one double-backward direction of the first-used
layer (the longest tangent path) through the explicit forms (layer norm by elementary ops: a path independent
of the rules), cached with the engine's other checks.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import torch
from torch import nn

from empirics import distributed as dist
from empirics.curvature.forms import exact_forms, structure
from empirics.curvature.fused import FusedKernels
from empirics.curvature.injection import eligible, output_tangent
from empirics.curvature.memory import default_budget
from empirics.curvature.prefix_cache import PrefixCache
from empirics.curvature.row_budget import (
    PROBE_ROWS,
    GraphBytes,
    MemoryBudgetError,
    PassBytes,
    check_budget,
    plan_rows,
)
from empirics.curvature.tangent_modes import AdjointRecorder, TangentPropagator
from empirics.curvature.tangents import Tan, Unsupported
from empirics.layers import discover, locate

__all__ = ["fwd_adj_curvatures", "ForwardAdjoint", "Unsupported", "MemoryBudgetError", "CHECK_RTOL"]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
#: relative agreement the double-backward check needs, per dtype
CHECK_RTOL = {torch.float64: 1e-8, torch.float32: 1e-3}


@dataclass(frozen=True)
class ForwardAdjoint:
    """``exact`` and ``gn`` (name → h, this process's share), and how they were computed (``bytes``: what the
    probe group measured under a ``max_memory`` budget, else ``None``; ``replayed``: op outputs of the forward's
    prefix taken from the first group instead of recomputed, :mod:`~empirics.curvature.prefix_cache`)."""

    exact: dict[str, torch.Tensor]
    gn: dict[str, torch.Tensor]
    groups: int = 0
    rows_per_group: int = 0
    adjoints: int = 0
    bytes: PassBytes | None = None
    check_rel_err: float | None = None
    replayed: int = 0
    order: list[str] = field(default_factory=list)
    at_output: list[str] = field(default_factory=list)


def _layers(model: nn.Module, names: list[str]) -> dict:
    found = discover(model, embeddings=True)
    return {n: found[n] if n in found else locate(model, n) for n in names}


class _Calls:
    """Pass-1 hooks on the measured modules: calls per forward and the op-index window of the (last) call."""

    def __init__(self, rec: AdjointRecorder, modules: dict[str, nn.Module]):
        self.calls = {n: 0 for n in modules}
        self.window: dict[str, tuple[int, int] | None] = {n: None for n in modules}
        self.start: dict[str, int] = {}
        self.handles = []
        for n, m in modules.items():
            self.handles.append(m.register_forward_pre_hook(lambda _m, args, n=n: self._pre(n, rec, args)))
            self.handles.append(m.register_forward_hook(lambda _m, _a, _o, n=n: self._post(n, rec)))

    def _pre(self, n, rec, args) -> None:
        self.calls[n] += 1
        self.start[n] = rec.n_ops if args and isinstance(args[0], torch.Tensor) else -1

    def _post(self, n, rec) -> None:
        self.window[n] = (self.start[n], rec.n_ops) if self.start.get(n, -1) >= 0 else None

    def remove(self) -> None:
        for h in self.handles:
            h.remove()


def _objective(model, loss_fn, inputs, targets, n_global):
    f = model(inputs)
    if not isinstance(f, torch.Tensor):
        raise Unsupported("the model output is not a single tensor")
    return f, loss_fn(f, targets).sum() / n_global


def _pass1(model, loss_fn, inputs, targets, weights, n_global, modules):
    rec = AdjointRecorder(weights)
    flags = [w.requires_grad for w in weights]
    for w in weights:
        w.requires_grad_(True)
    hooks = _Calls(rec, modules)
    graph = GraphBytes((*model.parameters(), *model.buffers(), inputs))
    try:
        with torch.enable_grad(), graph, rec:
            f0 = model(inputs)
            n_model = len(rec.seq)
            if not isinstance(f0, torch.Tensor):
                raise Unsupported("the model output is not a single tensor")
            loss = loss_fn(f0, targets).sum() / n_global
        for t, v in zip(rec.need, rec.version, strict=True):
            if t is not None and t._version != v:
                raise Unsupported("an op output that needs an adjoint is modified in place later")
        keep = [t for t in rec.need if t is not None]
        if not all(t.requires_grad for t in keep):
            raise Unsupported("an op output that depends on a measured weight is not in the autograd graph")
        grads = torch.autograd.grad(loss, keep, allow_unused=True) if keep else ()
    finally:
        hooks.remove()
        for w, flag in zip(weights, flags, strict=True):
            w.requires_grad_(flag)
    it = iter(grads)
    lam = []
    for t in rec.need:
        gr = next(it) if t is not None else None
        lam.append(None if gr is None else gr.detach())
    need = [t is not None for t in rec.need]
    rec.need = []  # the activations and, through their history, the autograd graph are released here
    adj = {x.untyped_storage().data_ptr(): x.untyped_storage().nbytes() for x in lam if x is not None}
    return rec, need, lam, n_model, f0.detach(), hooks, (graph.total, sum(adj.values()))


def _reference_h(model, loss_fn, inputs, targets, w, D, n_global) -> float:
    """One direction by double backward (the paper's protocol for one direction)."""
    flag = w.requires_grad
    w.requires_grad_(True)
    try:
        with torch.enable_grad():
            _, loss = _objective(model, loss_fn, inputs, targets, n_global)
            (gw,) = torch.autograd.grad(loss, w, create_graph=True)
            hv = torch.autograd.grad((gw * D).sum(), w, allow_unused=True)[0] if gw.requires_grad else None
    finally:
        w.requires_grad_(flag)
    return 0.0 if hv is None else float((hv * D).sum())


def _check(model, loss_fn, inputs, targets, names, order, weights, Ds, h, n_global, cache) -> float:
    key = ("fwd_adj", structure(model), tuple(names), tuple(inputs.shape[1:]), inputs.dtype, str(inputs.device))
    checks = {} if cache is None else cache.adjoint_checks
    if key in checks:
        return checks[key]
    i = order[0]
    first = names[i]
    ref = _reference_h(model, loss_fn, inputs, targets, weights[i], Ds[first][0], n_global)
    ref_t = dist.all_reduce_sum(torch.tensor([ref], dtype=torch.float64, device=h[first].device))
    got = dist.all_reduce_sum(h[first].double().clone())
    scale = max(float(got.abs().max()), abs(float(ref_t[0])), 1e-300)
    err = abs(float(got[0]) - float(ref_t[0])) / scale
    dtype = weights[i].dtype
    rtol = CHECK_RTOL.get(dtype, 1e-3)
    if not err <= rtol:
        raise Unsupported(f"double-backward check failed on layer {first!r} (rel. error {err:.2e} > {rtol:.0e})")
    checks[key] = err
    return err


def fwd_adj_curvatures(
    model: nn.Module,
    loss_fn: LossFn,
    inputs,
    targets,
    directions: dict[str, torch.Tensor],
    *,
    max_memory: int | None = None,
    rows: int | None = None,
    cache=None,
    check: bool = True,
    on_group: Callable[[int, int], None] | None = None,
    compile_kernels: bool = False,
) -> ForwardAdjoint:
    r""":math:`h_k=v_k^\top Hv_k` and :math:`h^{\rm GN}_k` (this process's share; the caller all-reduces) for
    every layer of ``directions`` (``name -> (k, *weight_shape)``). ``rows``: directions per pass-2 group
    (default: :func:`~empirics.curvature.row_budget.plan_rows` with each row taken as large as pass 1's
    graph; with ``max_memory``, a probe group of one row measures the bytes per row and the rest follow
    :func:`~empirics.curvature.row_budget.plan_rows` within ``max_memory`` bytes of tensors; a budget below
    what the method needs raises :class:`~empirics.curvature.row_budget.MemoryBudgetError`; the certifying
    double-backward direction of a first call is outside the budget). ``cache``: an
    :class:`~empirics.curvature.result.EngineCache` (activation sizes, passed checks); ``on_group(done,
    total)``: progress in directions after each group; ``compile_kernels``: the fused, ``torch.compile``-d kernels of
    :mod:`~empirics.curvature.fused` for the unary ops (off: eager). Raises
    :class:`~empirics.curvature.tangents.Unsupported` (with the reason) outside what the method covers."""
    names = [n for n, D in directions.items() if D.shape[0] > 0]
    empty = {n: D.new_zeros(0) for n, D in directions.items() if D.shape[0] == 0}
    if not names:
        return ForwardAdjoint(dict(empty), dict(empty))
    layers = _layers(model, names)
    params = dict(model.named_parameters())
    weights = [params[layers[n].key] for n in names]
    modules = {n: model.get_submodule(layers[n].module) for n in names}
    n_global = dist.global_count(len(targets), device=weights[0].device)
    with exact_forms(model, fused_layer_norm=True):  # layer norm: one op with its own rule (tangent_rules)
        rec, need, lam, n_model, f0, calls, (saved, adj) = _pass1(
            model, loss_fn, inputs, targets, weights, n_global, modules
        )
        if max_memory is not None:
            check_budget(PassBytes(saved, adj, 0.0), max_memory)
        at_output = {
            n: eligible(modules[n], layers[n].kind, layers[n].tied, calls.calls[n], rec.uses[i], calls.window[n])
            for i, n in enumerate(names)
        }
        first_use = rec.first_use
        order = sorted(range(len(names)), key=lambda i: first_use.get(i, 1 << 60))
        Ds = {n: directions[n].to(device=weights[0].device, dtype=weights[0].dtype) for n in names}
        offsets, total = {}, 0
        for i in order:
            offsets[i] = total
            total += Ds[names[i]].shape[0]
        n_adjoints = sum(need)
        device = weights[0].device
        if rows is not None:
            step = rows
        elif max_memory is not None:  # a probe group measures the bytes per row, then the budget sizes the rest
            step = min(PROBE_ROWS, total)
        else:  # the default: each row taken as large as pass 1's graph (an upper bound of its tangents)
            step = plan_rows(PassBytes(saved, adj, float(saved)), total, None, device, default_budget(device))
        measured: PassBytes | None = None
        # several groups: the forward up to the first tangent once (under a budget the probe group counts what is
        # kept; without one, at most twice pass 1's graph is kept)
        prefix = PrefixCache(limit=None if max_memory is not None else 2 * saved) if step < total else None
        h, h_gn = f0.new_zeros(total), f0.new_zeros(total)
        groups, largest, g0 = 0, 0, 0
        kernels = FusedKernels() if compile_kernels else None
        while g0 < total:
            g1 = min(total, g0 + step)
            tangents: list[tuple[torch.Tensor, Tan]] = []
            joins = []
            for i in order:
                a, b = max(offsets[i], g0), min(offsets[i] + Ds[names[i]].shape[0], g1)
                if a < b:
                    D = Ds[names[i]][a - offsets[i] : b - offsets[i]]
                    if at_output[names[i]]:
                        joins.append((names[i], a - g0, output_tangent(modules[names[i]], layers[names[i]].kind, D)))
                    else:
                        tangents.append((weights[i], Tan(a - g0, D)))
            probe = measured is None and max_memory is not None
            own = (
                [*model.parameters(), *model.buffers(), inputs, f0, *(x for x in lam if x is not None)]
                if probe
                else None
            )
            mode = TangentPropagator(
                tangents, rec.seq, need, lam, g1 - g0, f0, n_model, kernels, measure=own, prefix=prefix
            )
            del own
            handles = [
                modules[n].register_forward_hook(
                    lambda _m, args, out, s=s0, f=f, md=mode: md.inject(out, s, f, args[0])
                )
                for n, s0, f in joins
            ]
            try:
                with torch.no_grad(), mode:
                    _objective(model, loss_fn, inputs, targets, n_global)
            finally:
                for hd in handles:
                    hd.remove()
            if mode.i != len(rec.seq):
                raise Unsupported(f"the forward differs between the two passes ({mode.i} vs {len(rec.seq)} ops)")
            mode.close()
            if prefix is not None:
                prefix.end_group()
            h[g0:g1], h_gn[g0:g1] = mode.h, mode.h_gn
            groups, largest = groups + 1, max(largest, g1 - g0)
            if on_group is not None:
                on_group(g1, total)
            if probe:
                assert mode.tan_bytes is not None and mode.fwd_bytes is not None
                measured = PassBytes(saved, adj, mode.tan_bytes.peak / (g1 - g0), mode.fwd_bytes.peak)
                if rows is None and g1 < total:
                    step = plan_rows(measured, total - g1, max_memory, device)  # the probe: under a budget
                elif max_memory is not None:
                    check_budget(measured, max_memory)
            del mode, tangents, joins, handles
            g0 = g1
        replayed = prefix.replayed if prefix is not None else 0
        del rec, lam, need, prefix  # the adjoints and the prefix are not held through the check's double backward
    exact = {names[i]: h[offsets[i] : offsets[i] + Ds[names[i]].shape[0]] for i in order}
    gn = {names[i]: h_gn[offsets[i] : offsets[i] + Ds[names[i]].shape[0]] for i in order}
    err = None
    if check:  # double backward through the explicit forms (layer norm by elementary ops): an independent path
        with exact_forms(model):
            err = _check(model, loss_fn, inputs, targets, names, order, weights, Ds, exact, n_global, cache)
    return ForwardAdjoint(
        {**exact, **empty},
        {**gn, **empty},
        groups=groups,
        rows_per_group=largest,
        adjoints=n_adjoints,
        bytes=measured,
        check_rel_err=err,
        replayed=replayed,
        order=[names[i] for i in order],
        at_output=[n for n in names if at_output[n]],
    )
