r"""Exact directional curvatures :math:`h^{\rm exact}_k=v_k^\top Hv_k=\frac{d^2}{dt^2}\mathcal L(W+tD_k)|_{t=0}`
(docs/theory-reference.md §1.3–§1.4), :math:`H` the Hessian block of one layer, batched over directions.

Methods (``method=``):

* ``fwd_rev`` — forward-over-reverse, ``jvp(grad(L))`` then :math:`v^\top(Hv)`, ``vmap``-ed over a chunk;
* ``fwd_fwd`` — forward-over-forward, the nested ``jvp`` (the second directional derivative itself);
* ``rev_rev`` — one ``create_graph`` backward shared by every layer, then one batched backward per chunk
  (:class:`SharedDoubleBackward`);
* ``gn_exact`` — the Gauss–Newton form, exact when the output is piecewise linear in the layer's weight
  (:mod:`empirics.curvature.piecewise`): jvp form (:mod:`~empirics.curvature.gauss_newton`) or the
  output adjoints of all such layers at once (:mod:`~empirics.curvature.adjoint`);
* ``auto`` — per layer: ``gn_exact`` where certified, else the fastest of the three on this layer's first
  directions; a candidate that raises is dropped (its error kept in :attr:`CurvatureResult.failed`).

The primal forward is shared by every direction of a chunk (``vmap`` batches only what depends on the
tangent). Everything runs inside :func:`~empirics.curvature.forms.exact_forms`.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch import nn
from torch.func import grad, jvp, vmap

from empirics import distributed as dist
from empirics.curvature.adjoint import ReverseUnavailable, reverse_gn_curvatures
from empirics.curvature.forms import exact_forms
from empirics.curvature.functional import LossFn, layer_param, objective, stack_directions
from empirics.curvature.gauss_newton import gn_fn
from empirics.curvature.memory import auto_chunk_size, chunked
from empirics.curvature.piecewise import piecewise_linear_layers
from empirics.curvature.result import GN_EXACT_LABEL, CurvatureResult, EngineCache, one_line
from empirics.layers import locate

__all__ = ["exact_curvatures", "METHODS", "GN_FORMS", "SharedDoubleBackward", "AllMethodsFailed"]

METHODS = ("auto", "gn_exact", "fwd_fwd", "fwd_rev", "rev_rev")
#: how the ``gn_exact`` layers are computed
GN_FORMS = ("auto", "jvp", "reverse")
ChunkHook = Callable[[str, int, int], None]


class AllMethodsFailed(RuntimeError):
    """Every candidate exact method raised for a layer (the message lists each one's error, shortened)."""

    def __init__(self, failed: dict[str, str]):
        super().__init__("no exact method worked: " + "; ".join(f"{m}: {e[:110]}" for m, e in failed.items()))
        self.failed = dict(failed)


def _fwd_fwd(f: Callable, w: torch.Tensor) -> Callable:
    def one(v):
        return jvp(lambda x: jvp(f, (x,), (v,))[1], (w,), (v,))[1]

    return vmap(one)


def _fwd_rev(f: Callable, w: torch.Tensor) -> Callable:
    g = grad(f)

    def one(v):
        hv = jvp(g, (w,), (v,))[1]
        return (hv * v).sum()

    return vmap(one)


def _timed(fn: Callable, V: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Result and cost of ``fn(V)``: CUDA wall time (synchronised), else process CPU time (robust to load)."""
    if V.is_cuda:
        torch.cuda.synchronize()
        t = time.perf_counter()
        out = fn(V)
        torch.cuda.synchronize()
        return out, time.perf_counter() - t
    t = time.process_time()
    out = fn(V)
    return out, time.process_time() - t


def _auto(fns: dict[str, Callable], V: torch.Tensor, chunk: int, key: tuple, cache: EngineCache, tick) -> tuple:
    """Pick the fastest exact method for a layer. When there are at least as many directions as methods,
    equal-size chunks of directions are computed one chunk per method (every value is kept), timed, and the
    fastest method does the rest; the decision is cached in the engine's cache. The first timing of each
    method is preceded by one discarded warm-up direction. A method that raises is dropped."""
    k = V.shape[0]
    failed: dict[str, str] = {}
    names = list(fns)
    if key in cache.auto_choice or k < len(names):
        first = cache.auto_choice.get(key, "fwd_rev")
        for m in [first] + [n for n in names if n != first]:
            try:
                h = chunked(fns[m], V, chunk, tick)
            except Exception as exc:  # noqa: BLE001 - a candidate's failure is recorded, the next one tried
                failed[m] = one_line(exc)
                continue
            decided = "cached" if key in cache.auto_choice else "small k"
            return h, {"method": m, "decided": decided, "failed": failed}
        raise AllMethodsFailed(failed)
    for m in names:
        if m not in cache.warmed:
            try:
                fns[m](V[:1])
                cache.warmed.add(m)
            except Exception as exc:  # noqa: BLE001
                failed[m] = one_line(exc)
    names = [m for m in names if m not in failed]
    if not names:
        raise AllMethodsFailed(failed)
    part = max(1, min(chunk, k // len(names)))
    vals, times = [], {}
    for i, m in enumerate(list(names)):
        sl = V[i * part : (i + 1) * part] if i < len(names) else V[:0]
        try:
            h_m, times[m] = _timed(fns[m], sl)
        except Exception as exc:  # noqa: BLE001
            failed[m] = one_line(exc)
            continue
        vals.append((i, h_m))
    if not times:
        raise AllMethodsFailed(failed)
    best = min(times, key=lambda m: times[m])
    cache.auto_choice[key] = best
    pieces = []
    for i in range(len(names)):  # the trial slice of a failed method is redone by the best one
        done = [h for j, h in vals if j == i]
        pieces.append(done[0] if done else fns[best](V[i * part : (i + 1) * part]))
    pieces.append(chunked(fns[best], V[len(names) * part :], chunk, tick))
    info = {"method": best, "decided": "timed", "trial_seconds": times, "trial_directions": part, "failed": failed}
    return torch.cat(pieces), info


class SharedDoubleBackward:
    r"""Reverse-over-reverse with one graph for all layers: one forward and one ``create_graph`` backward
    give :math:`g_l=\nabla_{W_l}\mathcal L` for every requested layer; then, per chunk of directions,
    one batched backward (``is_grads_batched``) of :math:`\langle g_l, D\rangle` gives :math:`HD` and
    :math:`h=\langle D, HD\rangle`. The primal work is shared by all layers and all directions."""

    def __init__(self, model, loss_fn, inputs, targets, names):
        self.model, self.loss_fn, self.inputs, self.targets = model, loss_fn, inputs, targets
        self.names = list(names)
        self.ws = [layer_param(model, n) for n in self.names]
        self._flags = [w.requires_grad for w in self.ws]
        for w in self.ws:
            w.requires_grad_(True)
        self.n_global = dist.global_count(len(targets), device=self.ws[0].device)
        with torch.enable_grad():
            loss = loss_fn(model(inputs), targets).sum() / self.n_global
            self.gs = dict(zip(self.names, torch.autograd.grad(loss, self.ws, create_graph=True), strict=True))
        self.w = dict(zip(self.names, self.ws, strict=True))

    def _confirm_zero(self, name: str, v: torch.Tensor) -> None:
        r"""The graph says :math:`
        abla_W\mathcal L` does not depend on :math:`W` (zero Hessian block). That
                is also what a cut graph looks like (an op whose backward is not differentiable): confirm it with the
                gradient at :math:`W+\epsilon v`, else raise ``RuntimeError`` (``auto`` then drops this method)."""
        from torch.func import functional_call

        w = self.w[name]
        key = locate(self.model, name).key
        eps = 1e-3 * float(w.detach().norm().clamp(min=1.0)) / float(v.norm().clamp(min=1e-300))
        with torch.enable_grad():
            w2 = (w.detach() + eps * v).requires_grad_(True)
            out = functional_call(self.model, {key: w2}, (self.inputs,))
            (g2,) = torch.autograd.grad(self.loss_fn(out, self.targets).sum() / self.n_global, w2, allow_unused=True)
        g1 = self.gs[name].detach()
        g2 = torch.zeros_like(g1) if g2 is None else g2
        tol = 1e-8 if w.dtype == torch.float64 else 1e-3
        if float((g2 - g1).norm()) > tol * max(float(g1.norm()), 1e-300):
            raise RuntimeError(
                f"layer {name!r}: the gradient depends on the weight but its graph has no second derivative "
                "(an op with a once-differentiable backward?)"
            )

    def fn(self, name: str) -> Callable[[torch.Tensor], torch.Tensor]:
        """The chunk function of layer ``name``: ``V (c, *shape) -> h (c,)``."""
        g, w = self.gs[name], self.w[name]

        def run(Vc: torch.Tensor) -> torch.Tensor:
            if not g.requires_grad:  # gradient independent of W (zero Hessian block), or a cut graph
                self._confirm_zero(name, Vc[0])
                return Vc.new_zeros(Vc.shape[0])
            (HV,) = torch.autograd.grad(
                g, w, grad_outputs=Vc, is_grads_batched=True, retain_graph=True, allow_unused=True
            )
            if HV is None:
                self._confirm_zero(name, Vc[0])
                return Vc.new_zeros(Vc.shape[0])
            return (HV.detach() * Vc).flatten(1).sum(1)

        return run

    def close(self) -> None:
        """Free the graph and restore the weights' ``requires_grad`` flags."""
        self.gs.clear()
        for w, flag in zip(self.ws, self._flags, strict=True):
            w.requires_grad_(flag)


def _reverse(model, loss_fn, inputs, targets, directions, gn_names, gn_form, chunk_size, cache):
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
) -> dict[str, CurvatureResult]:
    r""":math:`h_k=v_k^\top Hv_k` for each layer ``name -> (k, *weight_shape)`` stack of directions.

    ``method``: see the module doc; ``gn_exact`` raises ``ValueError`` naming the layer and the first
    offending op when a layer is not piecewise linear. ``chunk_size=None`` sizes chunks from free memory.
    ``gn_form`` (``gn_exact`` layers): ``"jvp"`` — one vmapped jvp of the outputs per layer; ``"reverse"`` —
    the output adjoints of all those layers at once (certified by a jvp check; falls back to ``"jvp"`` with
    the reason recorded); ``"auto"`` — ``"reverse"`` when the outputs per sample are few next to the
    directions measured. ``cache``: an engine's :class:`EngineCache` (a fresh one when ``None``);
    ``on_chunk(name, done, total)``: progress within a layer.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if gn_form not in GN_FORMS:
        raise ValueError(f"gn_form must be one of {GN_FORMS}, got {gn_form!r}")
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
    gn_shared: dict = {}  # outputs and loss gradient graph, shared by the gn_exact layers
    shared: list[SharedDoubleBackward] = []  # built on first use, then reused by every layer
    acts = cache.activation_bytes

    def rev_rev(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
        def run(Vc: torch.Tensor) -> torch.Tensor:
            if not shared:
                shared.append(SharedDoubleBackward(model, loss_fn, inputs, targets, directions))
            return shared[0].fn(name)(Vc)

        return run

    with exact_forms(model):
        try:
            gn_names = [n for n in directions if n in verdicts and verdicts[n].piecewise_linear]
            t0 = time.perf_counter()
            reverse, reverse_note = _reverse(
                model, loss_fn, inputs, targets, directions, gn_names, gn_form, chunk_size, cache
            )
            t_rev = time.perf_counter() - t0
            total_rev = sum(directions[n].shape[0] for n in reverse) or 1
            for name, D in directions.items():
                tick = None if on_chunk is None else (lambda i, n, name=name: on_chunk(name, i, n))
                t = time.perf_counter()
                if name in reverse:
                    h = dist.all_reduce_sum(reverse[name])
                    share = t_rev * D.shape[0] / total_rev
                    out[name] = CurvatureResult(h, GN_EXACT_LABEL, chunk_size, share, gn_form=reverse_note)
                    continue
                gn_failed: dict[str, str] = {}
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
                            h, GN_EXACT_LABEL, chunk, time.perf_counter() - t, gn_form=reverse_note or "jvp"
                        )
                        continue
                f, w = objective(model, loss_fn, inputs, targets, name)
                V = stack_directions(D, w)
                k = V.shape[0]
                fns = {"fwd_fwd": _fwd_fwd(f, w), "fwd_rev": _fwd_rev(f, w), "rev_rev": rev_rev(name)}
                chunk = chunk_size or auto_chunk_size(
                    model, inputs, k, "fwd_rev" if method == "auto" else method, cache=acts
                )
                note = verdicts[name].reason if name in verdicts else ""
                if method == "auto":
                    key = (name, tuple(w.shape), tuple(inputs.shape), str(w.dtype), str(w.device), chunk)
                    h, info = _auto(fns, V, chunk, key, cache, tick)
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
