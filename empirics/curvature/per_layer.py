r"""The per-layer exact methods and ``auto``'s timing trial (the fallback of the forward-adjoint method).

* ``fwd_rev`` — forward-over-reverse, ``jvp(grad(L))`` then :math:`v^\top(Hv)`, ``vmap``-ed over a chunk;
* ``fwd_fwd`` — forward-over-forward, the nested ``jvp`` (the second directional derivative itself);
* ``rev_rev`` — one ``create_graph`` backward shared by every layer, then one batched backward per chunk
  (:class:`SharedDoubleBackward`);
* :func:`auto_choice` — the fastest of these on a model's first directions, timed once per model (the
  decision is kept in the engine's cache and reused by every later layer); a candidate that raises is
  dropped (its error kept).

The primal forward is shared by every direction of a chunk (``vmap`` batches only what depends on the
tangent).
"""

from __future__ import annotations

import time
from collections.abc import Callable

import torch
from torch.func import grad, jvp, vmap

from empirics import distributed as dist
from empirics.curvature.functional import layer_param
from empirics.curvature.memory import chunked
from empirics.curvature.result import EngineCache, one_line
from empirics.layers import locate

__all__ = ["fwd_fwd_fn", "fwd_rev_fn", "auto_choice", "SharedDoubleBackward", "AllMethodsFailed"]


class AllMethodsFailed(RuntimeError):
    """Every candidate exact method raised for a layer (the message lists each one's error, shortened)."""

    def __init__(self, failed: dict[str, str]):
        super().__init__("no exact method worked: " + "; ".join(f"{m}: {e[:110]}" for m, e in failed.items()))
        self.failed = dict(failed)


def fwd_fwd_fn(f: Callable, w: torch.Tensor) -> Callable:
    """``V -> (v^T H v)_v`` by nested ``jvp`` (vmapped)."""

    def one(v):
        return jvp(lambda x: jvp(f, (x,), (v,))[1], (w,), (v,))[1]

    return vmap(one)


def fwd_rev_fn(f: Callable, w: torch.Tensor) -> Callable:
    """``V -> (v^T H v)_v`` by ``jvp`` of ``grad`` (vmapped)."""
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


def auto_choice(fns: dict[str, Callable], V: torch.Tensor, chunk: int, key: tuple, cache: EngineCache, tick) -> tuple:
    """Pick the fastest exact method (once per ``key``: the model, not the layer). When there are at least as many directions as methods,
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
