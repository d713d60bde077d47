r"""The output-adjoint form of the Gauss–Newton curvature: many layers at once (reverse mode).

For a layer :math:`\ell` with input :math:`a_i` and pre-activation output :math:`z_i=W\star a_i` (Linear:
:math:`Wa_{i,p}` at every position :math:`p`; Conv: the convolution), a direction :math:`D` changes the
output of sample :math:`i` by

.. math::  J_iv=\sum_p\delta_{i,p}^\top(D\star a_i)_p,\qquad
           \delta_{c,i}=\frac{\partial f_{i,c}}{\partial z_i}\ (c=1,\dots,n_{\rm out}),

and :math:`v^\top H_{\rm GN}v=\frac1B\sum_i(J_iv)^\top\nabla^2_f\ell_i\,(J_iv)` (docs/theory-reference.md §1.3). When the
samples do not interact (eval mode: no batch statistics), :math:`\delta_{c,i}` for **every** sample and
**every** measured layer comes from one backward of :math:`\sum_if_{i,c}`; the :math:`n_{\rm out}` backwards
(one per output component, batched with ``is_grads_batched``) are shared by all layers and all directions,
and each direction then costs one application of the layer itself (:math:`D\star a`) and a contraction —
instead of a tangent forward through everything downstream of the layer (the jvp form of
:mod:`empirics.curvature.gauss_newton`). It pays when :math:`n_{\rm out}` (classes per sample) is small next to
the number of directions measured; :data:`OUTPUTS_PER_DIRECTION` sets the rule.

Used by :func:`empirics.curvature.exact.exact_curvatures` for the ``gn_exact`` layers (output piecewise linear in
the weight, so :math:`h^{\rm exact}=h^{\rm GN}`). Certified per call, never assumed:

* each measured weight has a tangent map in :mod:`empirics.layerkinds` (its module's own map) and its
  module is called exactly once per forward;
* one jvp of the outputs along a random combination :math:`\sum_\ell r_\ell D_{\ell,1}` of every layer's first
  direction (weights as they are, every use of them included) must equal :math:`\sum_\ell r_\ell J v_{\ell,1}`
  from the adjoints to round-off — which fails if samples interact (batch statistics, batch-mixing
  reshapes) or a weight is also used outside its module (tied weights). On failure
  :class:`ReverseUnavailable` names the reason and the caller falls back to the jvp form. Like the
  piecewise-linearity verdicts (:mod:`empirics.curvature.piecewise`), a passed check is cached (in the engine's cache) per
  module structure and modes, layer set and per-sample input shape/dtype/device: which ops run decides
  it, not the values (a forward whose control flow depends on the data is outside what it certifies).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch import nn
from torch.func import functional_call, jvp, vmap

from empirics import distributed as dist
from empirics import layerkinds as LK
from empirics.curvature.forms import structure
from empirics.curvature.memory import default_budget
from empirics.curvature.row_budget import GraphBytes, MemoryBudgetError, size_text
from empirics.layers import locate

__all__ = [
    "ReverseUnavailable",
    "reverse_gn_curvatures",
    "blocks_within",
    "OUTPUTS_PER_DIRECTION",
    "CHECK_RTOL",
    "DELTA_FACTOR",
    "COLUMNS_FACTOR",
    "MAP_FACTOR",
]

#: use the reverse form when n_out ≤ OUTPUTS_PER_DIRECTION × (directions measured in the call)
OUTPUTS_PER_DIRECTION = 0.5
#: relative agreement the jvp check needs, per dtype (round-off of two association orders)
CHECK_RTOL = {torch.float64: 1e-9, torch.float32: 1e-3, torch.bfloat16: 5e-2, torch.float16: 5e-2}

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


class ReverseUnavailable(Exception):
    """The reverse form cannot be used (or would not pay) for this call; the message says why."""


def _layer_tangent(module: nn.Module, param: str) -> Callable[[torch.Tensor, torch.Tensor], torch.Tensor]:
    """``(a, D) -> D ⋆ a`` from the layer-kind table, or :class:`ReverseUnavailable` with its reason."""
    t = LK.tangent_map(module, param)
    if isinstance(t, str):
        raise ReverseUnavailable(t)
    return t


def reverse_gn_curvatures(
    model: nn.Module,
    loss_fn: LossFn,
    inputs: torch.Tensor,
    targets: torch.Tensor,
    directions: dict[str, torch.Tensor],
    *,
    force: bool = False,
    dir_chunk: int | None = None,
    seed: int = 0,
    cache: dict | None = None,
    max_memory: int | None = None,
) -> tuple[dict[str, torch.Tensor], dict]:
    r""":math:`h^{\rm GN}_k` (local sum over samples / global count) for every layer of ``directions``
    (``name -> (k, *weight_shape)``), and an info dict (``n_out``, ``class_chunk``, ``check_rel_err``).

    Raises :class:`ReverseUnavailable` when a precondition fails, when the jvp check disagrees, or (unless
    ``force``) when :math:`n_{\rm out}>` ``OUTPUTS_PER_DIRECTION`` × total directions. ``cache`` (an engine's
    dict) keeps passed jvp checks. ``max_memory``: a budget in bytes (see :func:`blocks_within`) for the output
    components per backward and the directions per contraction; below the least it raises
    :class:`~empirics.curvature.row_budget.MemoryBudgetError` naming that least."""
    names = [n for n, D in directions.items() if D.shape[0] > 0]
    if not names:
        raise ReverseUnavailable("no directions")
    layers = {n: locate(model, n) for n in names}
    for n, ly in layers.items():
        if ly.tied:
            raise ReverseUnavailable(f"layer {n!r} is a tied weight ({', '.join(ly.uses)})")
    modules = {n: model.get_submodule(layers[n].module) for n in names}
    tangents = {n: _layer_tangent(modules[n], layers[n].param) for n in names}
    params = dict(model.named_parameters())
    state = {n: p.detach() for n, p in params.items()}
    state.update(dict(model.named_buffers()))
    keys = {n: layers[n].key for n in names}
    ws = {keys[n]: state[keys[n]].clone().requires_grad_(True) for n in names}

    seen: dict[str, list] = {n: [] for n in names}

    def hook_for(n: str):
        def hook(_m, args, out):
            seen[n].append((args[0].detach(), out))
            return out.clone()  # later in-place ops (relu_, +=) then act on the copy, not on z itself

        return hook

    handles = [modules[n].register_forward_hook(hook_for(n)) for n in names]
    columns: list[int] = []  # per convolution: the bytes of its unfolded input (im2col), see blocks_within

    def conv_hook(m, args, out):
        k = math.prod(m.kernel_size) * (m.in_channels // m.groups)
        columns.append(out.shape[0] * k * math.prod(out.shape[2:]) * out.element_size())

    convs = (nn.Conv1d, nn.Conv2d, nn.Conv3d)
    handles += [m.register_forward_hook(conv_hook) for m in model.modules() if isinstance(m, convs)]
    graph = GraphBytes((*state.values(), *ws.values(), inputs))
    try:
        with torch.enable_grad(), graph:
            o = functional_call(model, {**state, **ws}, (inputs,))
    finally:
        for h in handles:
            h.remove()
    if not isinstance(o, torch.Tensor) or o.dim() < 1 or o.shape[0] != inputs.shape[0]:
        raise ReverseUnavailable("the model output is not one tensor with the batch as its first dimension")
    for n in names:
        if len(seen[n]) != 1:
            raise ReverseUnavailable(f"module {n!r} is called {len(seen[n])} times per forward")
    B = o.shape[0]
    n_out = o[0].numel()
    total_k = sum(directions[n].shape[0] for n in names)
    if not force and n_out > OUTPUTS_PER_DIRECTION * total_k:
        raise ReverseUnavailable(
            f"{n_out} outputs per sample > {OUTPUTS_PER_DIRECTION} × {total_k} directions: the jvp form is cheaper"
        )
    zs = [seen[n][0][1] for n in names]
    acts = {n: seen[n][0][0] for n in names}
    if not all(z.requires_grad for z in zs):
        raise ReverseUnavailable("a layer output is not differentiable")

    # memory: δ of every layer for `cc` output components within the default working memory (a quarter of the
    # free memory, at most 2 GiB on CPU, where bigger blocks buy nothing); then per layer, `step` directions of
    # D ⋆ a (and the contraction) within it
    zs_bytes = {n: z.numel() * z.element_size() for n, z in zip(names, zs, strict=True)}
    jv_bytes = total_k * B * n_out * o.element_size()
    if max_memory is None:
        budget = default_budget(o.device)
        cc = int(max(1, min(n_out, budget // max(3 * sum(zs_bytes.values()), 1))))
        steps = {n: int(max(1, budget // max(2 * zs_bytes[n], 1))) for n in names}
    else:
        workspace = int(COLUMNS_FACTOR * max(columns, default=0))
        cc, steps = blocks_within(max_memory, graph.total + workspace, jv_bytes, zs_bytes, n_out)
    eye = torch.eye(n_out, dtype=o.dtype, device=o.device)
    Dd = {n: directions[n].to(device=o.device, dtype=o.dtype) for n in names}
    JV = {n: o.new_zeros(Dd[n].shape[0], B, n_out) for n in names}
    for c0 in range(0, n_out, cc):
        c1 = min(n_out, c0 + cc)
        E = eye[c0:c1].reshape(c1 - c0, 1, *o.shape[1:]).expand(c1 - c0, *o.shape)
        deltas = torch.autograd.grad(o, zs, grad_outputs=E, is_grads_batched=True, retain_graph=True)
        for n, dl in zip(names, deltas, strict=True):
            a, t, D = acts[n], tangents[n], Dd[n]
            step = dir_chunk or min(D.shape[0], steps[n])
            for k0 in range(0, D.shape[0], step):
                T = vmap(lambda d, a=a, t=t: t(a, d))(D[k0 : k0 + step])  # (dk, B, *z)
                JV[n][k0 : k0 + step, :, c0:c1] = torch.einsum("cb...,kb...->kbc", dl, T)
        del deltas
    del zs

    key = (structure(model), tuple(names), tuple(inputs.shape[1:]), inputs.dtype, str(inputs.device))
    checks = {} if cache is None else cache
    err = checks[key] if key in checks else _check(model, state, keys, names, inputs, o, JV, Dd, seed)
    checks[key] = err

    # loss Hessian in the outputs, shared by all layers
    od = o.detach().requires_grad_(True)
    with torch.enable_grad():
        (g,) = torch.autograd.grad(loss_fn(od, targets).sum(), od, create_graph=True)
    n_global = dist.global_count(len(targets), device=o.device)
    out: dict[str, torch.Tensor] = {}
    for n in names:
        J = JV[n].reshape(-1, *o.shape)
        if not g.requires_grad:  # loss linear in the outputs: zero Hessian
            out[n] = J.new_zeros(J.shape[0])
            continue
        step = dir_chunk or J.shape[0]
        hs = []
        for k0 in range(0, J.shape[0], step):
            Jc = J[k0 : k0 + step]
            with torch.enable_grad():
                (HJ,) = torch.autograd.grad(g, od, grad_outputs=Jc, is_grads_batched=True, retain_graph=True)
            hs.append((HJ * Jc).flatten(1).sum(1) / n_global)
        out[n] = torch.cat(hs).detach()
    for n, D in directions.items():
        if D.shape[0] == 0:
            out[n] = D.new_zeros(0)
    return out, {"n_out": n_out, "class_chunk": cc, "check_rel_err": err, "layers": len(names)}


#: a backward through a convolution unfolds its input (im2col) for the weight and the input gradients: the
#: largest convolution's unfolded input, this many times, is held besides the graph (CPU's convolution path)
COLUMNS_FACTOR = 2.0
#: working memory of one output component's δ of every layer (the δ, the einsum's operands), per byte of z
DELTA_FACTOR = 2.0
#: working memory of one direction's D ⋆ a in the contraction (the map's output and temporaries), per byte of z
MAP_FACTOR = 3.0


def blocks_within(
    max_memory: int, graph: int, jv: int, zs_bytes: dict[str, int], n_out: int
) -> tuple[int, dict[str, int]]:
    r"""Output components per batched backward and directions per contraction (per layer) within ``max_memory``
    bytes: the forward graph (``graph``: its saved tensors as measured, plus :data:`COLUMNS_FACTOR` × the
    largest convolution's unfolded input) and :math:`Jv` (``jv``) are held throughout; a block of
    :math:`c` components holds :math:`c\,\delta` (:data:`DELTA_FACTOR` × the bytes of every layer output
    :math:`z`), a chunk of :math:`s` directions of layer :math:`\ell` :math:`s\,` :data:`MAP_FACTOR`
    :math:`\cdot|z_\ell|`; half of what is left goes to each. Raises
    :class:`~empirics.curvature.row_budget.MemoryBudgetError` when one component and one direction do not fit."""
    z_all = sum(zs_bytes.values())
    left = max_memory - graph - jv
    least = graph + jv + DELTA_FACTOR * z_all + MAP_FACTOR * max(zs_bytes.values())
    if max_memory < least:
        raise MemoryBudgetError(
            f"max_memory {size_text(max_memory)} is below what the output-adjoint form needs here: "
            f"{size_text(least)} (forward graph and convolution buffers {size_text(graph)} + Jv {size_text(jv)}; one output component's "
            f"adjoints {size_text(DELTA_FACTOR * z_all)} + one direction {size_text(MAP_FACTOR * max(zs_bytes.values()))})",
            int(least) + 1,
        )
    cc = int(max(1, min(n_out, (left / 2) // (DELTA_FACTOR * z_all))))
    rest = left - cc * DELTA_FACTOR * z_all
    return cc, {n: int(max(1, rest // (MAP_FACTOR * zb))) for n, zb in zs_bytes.items()}


def _check(model, state, keys, names, inputs, o, JV, Dd, seed) -> float:
    r"""Relative max error of the adjoint-based :math:`Jv` against one jvp of the outputs along
    :math:`\sum_\ell r_\ell D_{\ell,1}` (all layers at once); raises :class:`ReverseUnavailable` above
    :data:`CHECK_RTOL`."""
    gen = torch.Generator().manual_seed(seed)
    r = torch.randn(len(names), generator=gen, dtype=torch.float64).tolist()
    tang = tuple(ri * Dd[n][0] for ri, n in zip(r, names, strict=True))
    prim = tuple(state[keys[n]] for n in names)

    def f(*w):
        return functional_call(model, {**state, **dict(zip((keys[n] for n in names), w, strict=True))}, (inputs,))

    with torch.no_grad():
        _, jv = jvp(f, prim, tang)  # type: ignore[misc]
    pred = sum(ri * JV[n][0] for ri, n in zip(r, names, strict=True)).reshape(o.shape)
    scale = float(jv.abs().max())
    err = float((pred - jv).abs().max()) / scale if scale > 0 else float((pred - jv).abs().max())
    rtol = CHECK_RTOL.get(o.dtype, 1e-3)
    if not err <= rtol:
        raise ReverseUnavailable(
            f"output adjoints disagree with a jvp check (max rel. error {err:.2e} > {rtol:.0e}): samples interact "
            "or a weight is used outside its module"
        )
    return err
