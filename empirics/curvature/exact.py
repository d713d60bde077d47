r"""Exact directional curvatures :math:`h^{\rm exact}_k=v_k^\top Hv_k=\frac{d^2}{dt^2}\mathcal L(W+tD_k)|_{t=0}`
(docs/theory-reference.md §1.3–§1.4), :math:`H` the Hessian block of one layer, for many layers at once.

Methods (``method=``):

* ``fwd_adj`` — every layer from one shared backward (adjoints) and one forward tangent per direction
  (:mod:`empirics.curvature.forward_adjoint`); gives :math:`h^{\rm GN}` too;
* ``gn_exact`` — the Gauss–Newton form, exact when the output is piecewise linear in the layer's weight
  (:mod:`empirics.curvature.piecewise`): jvp form (:mod:`~empirics.curvature.gauss_newton`) or the
  output adjoints of all such layers at once (:mod:`~empirics.curvature.adjoint`);
* ``fwd_fwd``, ``fwd_rev``, ``rev_rev`` — per layer, batched over directions (:mod:`~empirics.curvature.per_layer`);
* ``auto`` — the certified piecewise-linear layers from shared output adjoints where the outputs per sample
  are few next to the directions (``gn_form``), every other layer by ``fwd_adj`` in one call; where
  ``fwd_adj`` does not cover the model (the reason is kept in :attr:`CurvatureResult.failed`), per layer:
  ``gn_exact`` where certified, else the fastest of the per-layer methods, timed once per model.

Everything runs inside :func:`~empirics.curvature.forms.exact_forms`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn

from empirics import distributed as dist
from empirics.curvature.adjoint import ReverseUnavailable, reverse_gn_curvatures
from empirics.curvature.forms import exact_forms, structure
from empirics.curvature.forward_adjoint import fwd_adj_curvatures
from empirics.curvature.functional import LossFn, layer_param, objective, stack_directions
from empirics.curvature.gauss_newton import gn_fn
from empirics.curvature.memory import auto_chunk_size, chunked
from empirics.curvature.per_layer import AllMethodsFailed, SharedDoubleBackward, auto_choice, fwd_fwd_fn, fwd_rev_fn
from empirics.curvature.piecewise import piecewise_linear_layers
from empirics.curvature.result import GN_EXACT_LABEL, CurvatureResult, EngineCache, one_line
from empirics.curvature.tangents import Unsupported

__all__ = ["exact_curvatures", "METHODS", "GN_FORMS", "SharedDoubleBackward", "AllMethodsFailed"]

METHODS = ("auto", "fwd_adj", "gn_exact", "fwd_fwd", "fwd_rev", "rev_rev")
#: how the ``gn_exact`` layers are computed
GN_FORMS = ("auto", "jvp", "reverse")
ChunkHook = Callable[[str, int, int], None]


def _reverse(model, loss_fn, inputs, targets, directions, gn_names, gn_form, chunk_size, cache, max_memory=None):
    if not gn_names or gn_form == "jvp":
        return {}, ""
    try:
        reverse, info = reverse_gn_curvatures(
            model,
            loss_fn,
            inputs,
            targets,
            {n: directions[n] for n in gn_names},
            force=gn_form == "reverse",
            dir_chunk=chunk_size,
            cache=cache.adjoint_checks,
            max_memory=max_memory,
        )
    except ReverseUnavailable as e:
        return {}, f"jvp (reverse form not used: {e})"
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return {}, "jvp (reverse form not used: out of GPU memory)"
    note = (
        f"reverse: {info['n_out']} output adjoints shared by {info['layers']} layer(s), "
        f"jvp check rel. error {info['check_rel_err']:.1e}"
    )
    return reverse, note


def _forward_adjoint(
    model,
    loss_fn,
    inputs,
    targets,
    directions,
    names,
    max_memory,
    chunk_size,
    cache,
    verdicts,
    pl_note,
    on_chunk,
    compile_kernels=False,
):
    """``fwd_adj`` on ``names`` together: (results, reason it was not used or "")."""
    if not names:
        return {}, ""
    t = time.perf_counter()
    try:
        r = fwd_adj_curvatures(
            model,
            loss_fn,
            inputs,
            targets,
            {n: directions[n] for n in names},
            max_memory=max_memory,
            rows=chunk_size,
            cache=cache,
            on_group=None if on_chunk is None else (lambda i, n: on_chunk(f"{len(names)} layers (fwd_adj)", i, n)),
            compile_kernels=compile_kernels,
        )
    except Unsupported as exc:
        return {}, one_line(exc)
    except torch.cuda.OutOfMemoryError:
        torch.cuda.empty_cache()
        return {}, "out of GPU memory (pass --max-memory or a chunk size)"
    dt = time.perf_counter() - t
    total = sum(directions[n].shape[0] for n in names) or 1
    form = f"{r.groups} group(s) of <= {r.rows_per_group} directions, {r.adjoints} shared adjoints"
    if r.check_rel_err is not None:
        form += f", double-backward check rel. error {r.check_rel_err:.1e}"
    out = {}
    for n in names:
        v = verdicts.get(n)
        note = ""
        if v is not None:
            note = f"not piecewise linear ({v.reason})" if not v.piecewise_linear else "piecewise linear (h = h_GN)"
            note += f"; {pl_note}" if v.piecewise_linear and pl_note else ""
        out[n] = CurvatureResult(
            dist.all_reduce_sum(r.exact[n].detach()),
            "fwd_adj",
            r.rows_per_group,
            dt * directions[n].shape[0] / total,
            decided="one pass for all layers",
            gn_form=form,
            note=note,
            gn_values=dist.all_reduce_sum(r.gn[n].detach()),
        )
    return out, ""


def exact_curvatures(
    model: nn.Module,
    loss_fn: LossFn,
    inputs,
    targets,
    directions: dict[str, torch.Tensor],
    *,
    chunk_size: int | None = None,
    method: str = "auto",
    gn_form: str = "auto",
    cache: EngineCache | None = None,
    on_chunk: ChunkHook | None = None,
    max_memory: int | None = None,
    compile_kernels: bool = False,
) -> dict[str, CurvatureResult]:
    r""":math:`h_k=v_k^\top Hv_k` for each layer ``name -> (k, *weight_shape)`` stack of directions.

    ``method``: see the module doc; ``gn_exact`` raises ``ValueError`` naming the layer and the first
    offending op when a layer is not piecewise linear, ``fwd_adj`` when the model is outside what it covers.
    ``chunk_size``: directions per chunk (``fwd_adj``: per pass-2 group); ``None`` sizes chunks from free
    memory, or from ``max_memory`` bytes of tensors for ``fwd_adj`` and the reverse ``gn_exact`` form (a budget
    below what they need raises :class:`~empirics.curvature.row_budget.MemoryBudgetError` naming that least). ``gn_form`` (``gn_exact`` layers): ``"jvp"`` — one
    vmapped jvp of the outputs per layer; ``"reverse"`` — the output adjoints of all those layers at once
    (certified by a jvp check; falls back with the reason recorded); ``"auto"`` — ``"reverse"`` when the
    outputs per sample are few next to the directions measured. ``cache``: an engine's
    :class:`EngineCache` (a fresh one when ``None``); ``on_chunk(name, done, total)``: progress within a layer;
    ``compile_kernels``: ``fwd_adj`` with the ``torch.compile``-d fused kernels of :mod:`empirics.curvature.fused`.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if gn_form not in GN_FORMS:
        raise ValueError(f"gn_form must be one of {GN_FORMS}, got {gn_form!r}")
    for name, D in directions.items():
        stack_directions(D, layer_param(model, name))  # ValueError naming the shapes on a mismatch
    cache = cache if cache is not None else EngineCache()
    verdicts = {}
    if method in ("auto", "gn_exact") and directions:
        verdicts = piecewise_linear_layers(model, inputs, list(directions), cache=cache.verdicts)
        if method == "gn_exact":
            for name, v in verdicts.items():
                if not v.piecewise_linear:
                    raise ValueError(
                        f"method 'gn_exact': the output is not piecewise linear in layer {name!r}'s weight ({v.reason})"
                    )
    out: dict[str, CurvatureResult] = {}
    with exact_forms(model):
        gn_names = [n for n in directions if n in verdicts and verdicts[n].piecewise_linear]
        t0 = time.perf_counter()
        reverse, reverse_note = _reverse(
            model, loss_fn, inputs, targets, directions, gn_names, gn_form, chunk_size, cache, max_memory
        )
        t_rev = time.perf_counter() - t0
        total_rev = sum(directions[n].shape[0] for n in reverse) or 1
        for name in reverse:
            share = t_rev * directions[name].shape[0] / total_rev
            h = dist.all_reduce_sum(reverse[name])
            out[name] = CurvatureResult(h, GN_EXACT_LABEL, chunk_size, share, gn_form=reverse_note)
        fa_reason = ""
        if method in ("auto", "fwd_adj"):
            keep_gn = gn_form in ("jvp", "reverse")  # an explicit gn_form keeps the gn_exact layers on it
            rest = [n for n in directions if n not in out and not (keep_gn and n in gn_names)]
            pl_note = reverse_note.removeprefix("jvp (").removesuffix(")") if reverse_note.startswith("jvp") else ""
            done, fa_reason = _forward_adjoint(
                model,
                loss_fn,
                inputs,
                targets,
                directions,
                rest,
                max_memory,
                chunk_size,
                cache,
                verdicts,
                pl_note,
                on_chunk,
                compile_kernels,
            )
            if method == "fwd_adj" and fa_reason:
                raise ValueError(f"method 'fwd_adj' does not cover this model: {fa_reason}")
            out.update(done)
        left = {n: D for n, D in directions.items() if n not in out}
        if left:
            failed = {"fwd_adj": fa_reason} if fa_reason else {}
            out.update(
                _per_layer(
                    model,
                    loss_fn,
                    inputs,
                    targets,
                    left,
                    method,
                    chunk_size,
                    cache,
                    on_chunk,
                    verdicts,
                    reverse_note,
                    failed,
                )
            )
    return {n: out[n] for n in directions}


def _per_layer(
    model, loss_fn, inputs, targets, directions, method, chunk_size, cache, on_chunk, verdicts, rnote, failed0
):
    """Each layer on its own: ``gn_exact`` (jvp form) where certified, else the per-layer methods."""
    out: dict[str, CurvatureResult] = {}
    gn_shared: dict = {}  # outputs and loss gradient graph, shared by the gn_exact layers
    shared: list[SharedDoubleBackward] = []  # built on first use, then reused by every layer
    acts = cache.activation_bytes
    model_key = ("exact", structure(model), tuple(inputs.shape[1:]), str(inputs.dtype), str(inputs.device))

    def rev_rev(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
        def run(Vc: torch.Tensor) -> torch.Tensor:
            if not shared:
                shared.append(SharedDoubleBackward(model, loss_fn, inputs, targets, directions))
            return shared[0].fn(name)(Vc)

        return run

    try:
        for name, D in directions.items():
            tick = None if on_chunk is None else (lambda i, n, name=name: on_chunk(name, i, n))
            t = time.perf_counter()
            gn_failed: dict[str, str] = dict(failed0)
            if name in verdicts and verdicts[name].piecewise_linear:
                try:
                    fn, w = gn_fn(model, loss_fn, inputs, targets, name, gn_shared)
                    V = stack_directions(D, w)
                    chunk = chunk_size or auto_chunk_size(model, inputs, V.shape[0], "gn", cache=acts)
                    h = dist.all_reduce_sum(chunked(fn, V, chunk, tick).detach())
                except Exception as exc:
                    if method == "gn_exact":
                        raise
                    gn_failed["gn_exact"] = one_line(exc)  # auto: fall back to the exact methods
                else:
                    out[name] = CurvatureResult(
                        h, GN_EXACT_LABEL, chunk, time.perf_counter() - t, gn_form=rnote or "jvp", failed=gn_failed
                    )
                    continue
            f, w = objective(model, loss_fn, inputs, targets, name)
            V = stack_directions(D, w)
            k = V.shape[0]
            fns = {"fwd_fwd": fwd_fwd_fn(f, w), "fwd_rev": fwd_rev_fn(f, w), "rev_rev": rev_rev(name)}
            per = method if method in fns else "fwd_rev"
            chunk = chunk_size or auto_chunk_size(model, inputs, k, per, cache=acts)
            note = verdicts[name].reason if name in verdicts else ""
            if method not in fns:
                h, info = auto_choice(fns, V, chunk, model_key + (chunk,), cache, tick)
                out[name] = CurvatureResult(
                    dist.all_reduce_sum(h.detach()),
                    info["method"],
                    chunk,
                    time.perf_counter() - t,
                    decided=info["decided"],
                    trial_seconds=info.get("trial_seconds", {}),
                    trial_directions=info.get("trial_directions"),
                    note=note,
                    failed={**gn_failed, **info["failed"]},
                )
            else:
                h = chunked(fns[method], V, chunk, tick)
                out[name] = CurvatureResult(
                    dist.all_reduce_sum(h.detach()), method, chunk, time.perf_counter() - t, note=note
                )
    finally:
        for sh in shared:
            sh.close()
    return out
