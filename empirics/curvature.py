r"""Directional curvatures of one layer along its gradient's singular directions (THEORY.md §1.3–§1.4).

For a layer with weight :math:`W` (matrix view :math:`m\times n`, see :mod:`empirics.layers`) and the
batch objective :math:`\mathcal L=\frac1B\sum_i\ell_i`:

* :func:`gradient_matrices` — :math:`G=\nabla_W\mathcal L=\frac1B\sum_i\delta_ia_i^\top`;
* :func:`top_k_directions` — :math:`G=\sum_k\sigma_ku_kw_k^\top`, directions :math:`D_k=u_kw_k^\top`,
  :math:`v_k=\mathrm{vec}(D_k)` (row-major), and the numerical rank of :math:`G`;
* :func:`exact_curvatures` — :math:`h^{\rm exact}_k=v_k^\top Hv_k=\frac{d^2}{dt^2}\mathcal L(W+tD_k)|_{t=0}`,
  :math:`H` the Hessian block of this layer, batched over directions with ``torch.func``: either
  forward-over-reverse (``jvp(grad(L))`` then :math:`v^\top(Hv)`) or forward-over-forward (nested ``jvp``,
  the second directional derivative itself), ``vmap``-ed over a chunk of directions. The primal
  forward is shared by every direction of a chunk (``vmap`` batches only what depends on the tangent,
  i.e. the part of the network downstream of the layer); or ``gn_exact``: when the network output is
  piecewise linear in the layer's weight (:mod:`empirics.piecewise`), :math:`\nabla^2_Wf=0` a.e. and
  :math:`H=H_{\rm GN}` exactly, so :math:`h_k` is the GN form below (one jvp of the outputs per direction,
  or, for all such layers at once, the output adjoints of :mod:`empirics.gn_reverse`);
* :func:`gn_curvatures` — :math:`v^\top H_{\rm GN}v=\frac1B\sum_i (J_iv)^\top\nabla_f^2\ell_i\,(J_iv)`,
  with :math:`J_iv` the jvp of the outputs and the quadratic form of the loss Hessian w.r.t. the outputs
  obtained by a double backward of the loss in the outputs, batched over :math:`J_iv` (works for any loss);
* :func:`fd_curvatures` — central second difference
  :math:`(\mathcal L(W+\epsilon D)-2\mathcal L(W)+\mathcal L(W-\epsilon D))/\epsilon^2`;
* :func:`paper_protocol_curvatures` — the paper's loop (``autograd.grad(create_graph=True)``, then one
  backward per direction): the reference for tests and the benchmark.

Conventions: ``loss_fn(outputs, targets)`` returns per-sample losses (B,); the model is used in the mode
the caller set (``measure_model`` uses eval mode). Under ``torch.distributed`` every sum over samples is
divided by the global sample count and all-reduced (:mod:`empirics.distributed`).
"""

from __future__ import annotations

import contextlib
import time
import types
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call, grad, jvp, vmap

from empirics import distributed as dist
from empirics.gn_reverse import ReverseUnavailable, reverse_gn_curvatures
from empirics.layers import get_module, matrix_to_weight
from empirics.piecewise import piecewise_linear_layers

__all__ = [
    "Directions",
    "gradient_matrices",
    "top_k_directions",
    "direction_tensors",
    "exact_curvatures",
    "gn_curvatures",
    "fd_curvatures",
    "paper_protocol_curvatures",
    "auto_chunk_size",
    "METHODS",
    "GN_FORMS",
    "GN_EXACT_LABEL",
    "LAST_CHOICES",
]

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
METHODS = ("auto", "gn_exact", "fwd_fwd", "fwd_rev", "rev_rev")
#: how the ``gn_exact`` layers are computed (see :func:`exact_curvatures`)
GN_FORMS = ("auto", "jvp", "reverse")
#: what ``LAST_CHOICES`` / a record's ``curvature_method`` says when the GN shortcut was used
GN_EXACT_LABEL = "gn_exact (piecewise-linear downstream: exact Hessian block = GN)"

#: ``exact_curvatures`` records here, per layer name, the method and chunk size it used last
#: (``{"method": ..., "chunk_size": ..., "trial_seconds": {...}}``); ``measure_model`` copies it into the record.
LAST_CHOICES: dict[str, dict] = {}


@dataclass(frozen=True)
class Directions:
    r"""Top-k SVD of :math:`G`: ``sigma`` (k,), ``U`` (m, k), ``W`` (n, k); ``rank`` = #{σ_i > rtol·σ_1}."""

    sigma: torch.Tensor
    U: torch.Tensor
    W: torch.Tensor
    rank: int
    rtol: float = 0.0


# --------------------------------------------------------------------------------------------------
# shared plumbing


def _detached_state(model: nn.Module) -> dict[str, torch.Tensor]:
    state = {n: p.detach() for n, p in model.named_parameters()}
    state.update({n: b for n, b in model.named_buffers()})
    return state


def _objective(model: nn.Module, loss_fn: LossFn, inputs, targets, name: str) -> tuple[Callable, torch.Tensor]:
    r"""``f(W_param) = (1/B_global) Σ_local ℓ_i`` with only layer ``name``'s weight free; returns (f, W)."""
    state = _detached_state(model)
    key = f"{name}.weight"
    n_global = dist.global_count(len(targets), device=state[key].device)

    def f(w: torch.Tensor) -> torch.Tensor:
        out = functional_call(model, {**state, key: w}, (inputs,))
        return loss_fn(out, targets).sum() / n_global

    return f, state[key]


@contextlib.contextmanager
def _exact_forms(model: nn.Module):
    r"""Within the block, modules whose fused kernels are slow or wrong under ``torch.func`` compute the
    same function through explicit elementary ops; the original forwards are restored afterwards.

    * every eval-mode BatchNorm computes its exact eval formula in affine form,
      :math:`y=x\,s+t` with :math:`s=\gamma/\sqrt{\hat\sigma^2+\epsilon}`, :math:`t=\beta-\hat\mu s`
      (same function, rounding aside). Its forward-mode/double-backward rules are a multiply and an add,
      instead of the generic batch-norm formulas that ``vmap`` expands over every direction (~25% of the
      fwd-over-rev time on the small conv net);
    * every ``nn.LayerNorm`` computes :math:`(x-\mu)/\sqrt{\mathrm{var}+\epsilon}\cdot\gamma+\beta` with
      :math:`\mu`, var (biased, ``unbiased=False``) over ``normalized_shape``. Correctness, not speed: torch's
      fused ``layer_norm`` gives wrong second derivatives under nested ``jvp`` (forward-over-forward), e.g.
      −15.47 instead of −9.83 on a 4×6 example (double backward and jvp-of-grad are right);
      ``tests/empirics/test_curvature.py::test_fused_layer_norm_nested_jvp_is_wrong`` documents it;
    * for the same reason ``torch.nn.functional.layer_norm`` itself is replaced by the explicit formula
      for the duration of the block, so a model that calls it directly (not through ``nn.LayerNorm``) is
      covered too. This swaps a module attribute: do not run other torch code in other threads meanwhile.
    """
    patched = []
    for m in model.modules():
        if isinstance(m, nn.modules.batchnorm._BatchNorm) and not m.training and m.running_var is not None:
            patched.append((m, m.__dict__.get("forward")))
            m.forward = types.MethodType(_affine_bn_forward, m)
        elif isinstance(m, nn.LayerNorm):
            patched.append((m, m.__dict__.get("forward")))
            m.forward = types.MethodType(_explicit_layer_norm_forward, m)
    fused_layer_norm = nn.functional.layer_norm
    nn.functional.layer_norm = _explicit_layer_norm
    try:
        yield
    finally:
        nn.functional.layer_norm = fused_layer_norm
        for m, previous in patched:
            if previous is None:
                del m.forward
            else:
                m.forward = previous


#: former name (BatchNorm only); kept for callers and tests
_bn_eval_as_affine = _exact_forms


def _explicit_layer_norm(x: torch.Tensor, normalized_shape, weight=None, bias=None, eps: float = 1e-5) -> torch.Tensor:
    """``F.layer_norm`` through elementary ops (biased variance over the trailing ``normalized_shape``)."""
    n = 1 if isinstance(normalized_shape, int) else len(normalized_shape)
    dims = tuple(range(-n, 0))
    mu = x.mean(dim=dims, keepdim=True)
    var = x.var(dim=dims, unbiased=False, keepdim=True)
    y = (x - mu) / torch.sqrt(var + eps)
    if weight is not None:
        y = y * weight
    if bias is not None:
        y = y + bias
    return y


def _explicit_layer_norm_forward(self, x: torch.Tensor) -> torch.Tensor:
    return _explicit_layer_norm(x, self.normalized_shape, self.weight, getattr(self, "bias", None), self.eps)


def _affine_bn_forward(self, x: torch.Tensor) -> torch.Tensor:
    shape = (1, -1) + (1,) * (x.dim() - 2)
    scale = torch.rsqrt(self.running_var + self.eps)
    if self.weight is not None:
        scale = scale * self.weight
    shift = -self.running_mean * scale
    if self.bias is not None:
        shift = shift + self.bias
    return torch.addcmul(shift.reshape(shape), x, scale.reshape(shape))  # one op: cheaper vmapped jvp than x*s+t


def _outputs_fn(model: nn.Module, inputs, name: str) -> tuple[Callable, torch.Tensor]:
    state = _detached_state(model)
    key = f"{name}.weight"

    def f(w: torch.Tensor) -> torch.Tensor:
        return functional_call(model, {**state, key: w}, (inputs,))

    return f, state[key]


_ACT_CACHE: dict[tuple, int] = {}


def _activation_bytes(model: nn.Module, inputs) -> int:
    """Bytes of every module output of one plain forward (a proxy for one direction's working memory);
    measured once per (model, input shape, dtype) and cached."""
    key = (id(model), tuple(inputs.shape), str(inputs.dtype), sum(p.numel() for p in model.parameters()))
    if key not in _ACT_CACHE:
        _ACT_CACHE[key] = _measure_activation_bytes(model, inputs)
    return _ACT_CACHE[key]


def _measure_activation_bytes(model: nn.Module, inputs) -> int:
    total = 0

    def hook(_m, _i, out):
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel() * out.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
    return max(total, 1)


def _available_bytes(device: torch.device) -> int:
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3


#: working-memory multiple of one forward's activations per direction (tangent + saved tensors), per method
_MEM_FACTOR = {"fwd_fwd": 4.0, "fwd_rev": 8.0, "rev_rev": 8.0, "gn": 3.0}


def auto_chunk_size(model: nn.Module, inputs, k: int, method: str = "fwd_rev", fraction: float = 0.5) -> int:
    """Directions per vmap chunk so that a chunk uses at most ``fraction`` of the free memory (≥ 1, ≤ k)."""
    device = next(model.parameters()).device
    per_dir = _MEM_FACTOR.get(method, 8.0) * _activation_bytes(model, inputs)
    budget = fraction * _available_bytes(device)
    if device.type == "cpu":
        budget = min(budget, 2 * 1024**3)  # bigger chunks buy nothing on CPU but page faults
    return int(max(1, min(k, budget // per_dir)))


def _chunked(fn: Callable[[torch.Tensor], torch.Tensor], V: torch.Tensor, chunk: int) -> torch.Tensor:
    """Apply a vmapped ``fn`` to ``V`` (k, ...) in chunks; on CUDA out-of-memory the chunk is halved and retried."""
    outs, i = [], 0
    while i < V.shape[0]:
        try:
            outs.append(fn(V[i : i + chunk]))
            i += chunk
        except torch.cuda.OutOfMemoryError:
            if chunk == 1:
                raise
            chunk = max(1, chunk // 2)
            torch.cuda.empty_cache()
    return torch.cat(outs) if outs else V.new_zeros(0)


def _stack(directions: torch.Tensor, w: torch.Tensor) -> torch.Tensor:
    V = directions.to(device=w.device, dtype=w.dtype)
    if V.shape[1:] != w.shape:
        raise ValueError(f"directions of shape {tuple(V.shape)} do not match weight {tuple(w.shape)}")
    return V


# --------------------------------------------------------------------------------------------------
# gradient and directions


def gradient_matrices(model: nn.Module, loss_fn: LossFn, inputs, targets, names) -> dict[str, torch.Tensor]:
    r""":math:`G=\nabla_W\mathcal L` of every named layer, in matrix view (m, n), from one backward (all-reduced)."""
    names = list(names)
    modules = [get_module(model, n) for n in names]
    params = [m.weight for m in modules]
    n_global = dist.global_count(len(targets), device=params[0].device)
    with torch.enable_grad():
        loss = loss_fn(model(inputs), targets).sum() / n_global
        grads = torch.autograd.grad(loss, params, allow_unused=True)
    out = {}
    for n, m, g in zip(names, modules, grads, strict=True):
        g = torch.zeros_like(m.weight) if g is None else g.detach()
        out[n] = dist.all_reduce_sum(g.reshape(g.shape[0], -1))
    return out


def _rank_rtol(G: torch.Tensor) -> float:
    return max(G.shape) * torch.finfo(G.dtype).eps


def top_k_directions(G: torch.Tensor, k: int) -> Directions:
    r"""Top-k singular triplets of :math:`G` (descending σ), with the numerical rank.

    Rank = #{σ_i > rtol·σ_1}, rtol = max(m, n)·eps(dtype) (numpy's ``matrix_rank`` rule); recorded as
    ``Directions.rtol``. Signs are fixed (largest-|·| entry of each u_k positive); h_k does not depend on
    them. Under ``torch.distributed`` rank 0's U, W are broadcast so every process measures the same v_k.
    ``k`` is capped at min(m, n); callers check it against the rank.
    """
    if G.dim() != 2:
        raise ValueError(f"G must be a matrix, got shape {tuple(G.shape)}")
    U, S, Vh = torch.linalg.svd(G, full_matrices=False)
    rtol = _rank_rtol(G)
    rank = int((S > rtol * S[0]).sum().item()) if S.numel() and S[0] > 0 else 0
    k = min(k, S.numel())
    U, S, Wm = U[:, :k].clone(), S[:k].clone(), Vh[:k].T.clone()
    idx = U.abs().argmax(dim=0)
    sign = torch.sign(U[idx, torch.arange(k, device=U.device)])
    sign[sign == 0] = 1
    U, Wm = U * sign, Wm * sign
    for t in (S, U, Wm):
        dist.broadcast_(t)
    return Directions(sigma=S, U=U, W=Wm, rank=rank, rtol=rtol)


def direction_tensors(d: Directions, module: nn.Module) -> torch.Tensor:
    r"""Stack of :math:`D_k=u_kw_k^\top` reshaped to the weight's shape: (k, *weight_shape)."""
    D = torch.einsum("mk,nk->kmn", d.U, d.W)
    return matrix_to_weight(D, module)


# --------------------------------------------------------------------------------------------------
# exact curvature


def _exact_fwd_fwd(f: Callable, w: torch.Tensor) -> Callable:
    def one(v):
        return jvp(lambda x: jvp(f, (x,), (v,))[1], (w,), (v,))[1]

    return vmap(one)


def _exact_fwd_rev(f: Callable, w: torch.Tensor) -> Callable:
    g = grad(f)

    def one(v):
        hv = jvp(g, (w,), (v,))[1]
        return (hv * v).sum()

    return vmap(one)


def _timed(fn: Callable, V: torch.Tensor) -> tuple[torch.Tensor, float]:
    """Result and cost of ``fn(V)``: CUDA wall time (synchronised), else process CPU time (robust to load)."""
    if V.is_cuda:
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = fn(V)
        torch.cuda.synchronize()
        return out, time.perf_counter() - t0
    t0 = time.process_time()
    out = fn(V)
    return out, time.process_time() - t0


#: auto-method decisions, keyed by (layer, weight shape, input shape, dtype, device, chunk), reused across calls
_AUTO_CACHE: dict[tuple, str] = {}
_WARMED: set[str] = set()


def _auto(fns: dict[str, Callable], V: torch.Tensor, chunk: int, key: tuple) -> tuple[torch.Tensor, dict]:
    """Measure with the fastest method. Without a cached decision, the first equal-size chunks of directions
    are computed one chunk per method (every value is kept: nothing is computed twice), timed, and the
    fastest method does the rest; the decision is cached for later calls with the same key. The first
    timing of each method in a process is preceded by one discarded warm-up direction, so one-time costs
    (lazy imports, allocator growth) do not decide."""
    k = V.shape[0]
    names = list(fns)
    if key in _AUTO_CACHE or k < len(names):
        best = _AUTO_CACHE.get(key, "fwd_rev")
        return _chunked(fns[best], V, chunk), {"method": best, "decided": "cached" if key in _AUTO_CACHE else "small k"}
    for m in names:
        if m not in _WARMED:
            fns[m](V[:1])
            _WARMED.add(m)
    part = max(1, min(chunk, k // len(names)))
    vals, times = [], {}
    for i, m in enumerate(names):
        h_m, times[m] = _timed(fns[m], V[i * part : (i + 1) * part])
        vals.append(h_m)
    best = min(times, key=times.get)
    _AUTO_CACHE[key] = best
    vals.append(_chunked(fns[best], V[len(names) * part :], chunk))
    info = {"method": best, "decided": "timed", "trial_seconds": times, "trial_directions": part}
    return torch.cat(vals), info


class _SharedDoubleBackward:
    r"""Reverse-over-reverse with one graph for all layers: one forward and one ``create_graph`` backward
    give :math:`g_l=\nabla_{W_l}\mathcal L` for every requested layer; then, per chunk of directions,
    one batched backward (``is_grads_batched``) of :math:`\langle g_l, D\rangle` gives :math:`HD` and
    :math:`h=\langle D, HD\rangle`. The primal work is shared by all layers and all directions."""

    def __init__(self, model, loss_fn, inputs, targets, names):
        self.names = list(names)
        self.ws = [get_module(model, n).weight for n in self.names]
        self._flags = [w.requires_grad for w in self.ws]
        for w in self.ws:
            w.requires_grad_(True)
        n_global = dist.global_count(len(targets), device=self.ws[0].device)
        with torch.enable_grad():
            loss = loss_fn(model(inputs), targets).sum() / n_global
            self.gs = dict(zip(self.names, torch.autograd.grad(loss, self.ws, create_graph=True), strict=True))
        self.w = dict(zip(self.names, self.ws, strict=True))

    def fn(self, name: str) -> Callable[[torch.Tensor], torch.Tensor]:
        g, w = self.gs[name], self.w[name]

        def run(Vc: torch.Tensor) -> torch.Tensor:
            if not g.requires_grad:  # gradient independent of W: zero Hessian block
                return Vc.new_zeros(Vc.shape[0])
            (HV,) = torch.autograd.grad(
                g, w, grad_outputs=Vc, is_grads_batched=True, retain_graph=True, allow_unused=True
            )
            if HV is None:
                return Vc.new_zeros(Vc.shape[0])
            return (HV.detach() * Vc).flatten(1).sum(1)

        return run

    def close(self) -> None:
        self.gs.clear()
        for w, flag in zip(self.ws, self._flags, strict=True):
            w.requires_grad_(flag)


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
) -> dict[str, torch.Tensor]:
    r""":math:`h_k=v_k^\top Hv_k` for each layer ``name -> (k, *weight_shape)`` stack of directions.

    ``method``: ``"fwd_fwd"`` (nested jvp), ``"fwd_rev"`` (jvp of grad), ``"rev_rev"`` (batched double
    backward on one graph shared by all layers, :class:`_SharedDoubleBackward`), ``"gn_exact"`` (the
    Gauss–Newton form, exact when the output is piecewise linear in the layer's weight; ``ValueError``
    naming the first offending op otherwise, see :func:`empirics.piecewise.piecewise_linear_layers`) or
    ``"auto"`` (per layer: ``gn_exact`` where the detector says piecewise linear, else the fastest exact
    method on this layer's first directions, see :func:`_auto`). The choice and chunk size are recorded in
    :data:`LAST_CHOICES`. ``chunk_size=None`` sizes chunks from free memory.

    ``gn_form`` (for the ``gn_exact`` layers): ``"jvp"`` — one vmapped jvp of the outputs per layer
    (:func:`_gn_fn`); ``"reverse"`` — the output adjoints of all those layers at once
    (:func:`empirics.gn_reverse.reverse_gn_curvatures`: one batched backward per output component, shared
    by every layer and direction, certified by a jvp check; falls back to ``"jvp"`` with the reason
    recorded when a precondition fails); ``"auto"`` — ``"reverse"`` when the outputs per sample are few next
    to the directions measured (:data:`empirics.gn_reverse.OUTPUTS_PER_DIRECTION`), else ``"jvp"``.
    """
    if method not in METHODS:
        raise ValueError(f"method must be one of {METHODS}, got {method!r}")
    if gn_form not in GN_FORMS:
        raise ValueError(f"gn_form must be one of {GN_FORMS}, got {gn_form!r}")
    verdicts = {}
    if method in ("auto", "gn_exact") and directions:
        verdicts = piecewise_linear_layers(model, inputs, list(directions))
        if method == "gn_exact":
            for name, v in verdicts.items():
                if not v.piecewise_linear:
                    raise ValueError(
                        f"method 'gn_exact': the output is not piecewise linear in layer {name!r}'s weight ({v.reason})"
                    )
    out: dict[str, torch.Tensor] = {}
    gn_shared: dict = {}  # outputs and loss gradient graph, shared by the gn_exact layers
    shared: list[_SharedDoubleBackward] = []  # built on first use, then reused by every layer

    def rev_rev(name: str) -> Callable[[torch.Tensor], torch.Tensor]:
        def run(Vc: torch.Tensor) -> torch.Tensor:
            if not shared:
                shared.append(_SharedDoubleBackward(model, loss_fn, inputs, targets, directions))
            return shared[0].fn(name)(Vc)

        return run

    with _exact_forms(model):
        try:
            gn_names = [n for n in directions if n in verdicts and verdicts[n].piecewise_linear]
            reverse: dict[str, torch.Tensor] = {}
            reverse_note = ""
            if gn_names and gn_form != "jvp":
                try:
                    reverse, info = reverse_gn_curvatures(
                        model,
                        loss_fn,
                        inputs,
                        targets,
                        {n: directions[n] for n in gn_names},
                        force=gn_form == "reverse",
                        dir_chunk=chunk_size,
                    )
                    reverse_note = (
                        f"reverse: {info['n_out']} output adjoints shared by {info['layers']} layer(s), "
                        f"jvp check rel. error {info['check_rel_err']:.1e}"
                    )
                except ReverseUnavailable as e:
                    reverse_note = f"jvp (reverse form not used: {e})"
                except torch.cuda.OutOfMemoryError:
                    torch.cuda.empty_cache()
                    reverse_note = "jvp (reverse form not used: out of GPU memory)"
            for name, D in directions.items():
                if name in reverse:
                    LAST_CHOICES[name] = {"method": GN_EXACT_LABEL, "gn_form": reverse_note, "chunk_size": chunk_size}
                    out[name] = dist.all_reduce_sum(reverse[name])
                    continue
                if name in verdicts and verdicts[name].piecewise_linear:
                    fn, w = _gn_fn(model, loss_fn, inputs, targets, name, gn_shared)
                    V = _stack(D, w)
                    chunk = chunk_size or auto_chunk_size(model, inputs, V.shape[0], "gn")
                    h = _chunked(fn, V, chunk)
                    LAST_CHOICES[name] = {
                        "method": GN_EXACT_LABEL,
                        "gn_form": reverse_note or "jvp",
                        "chunk_size": chunk,
                    }
                    out[name] = dist.all_reduce_sum(h.detach())
                    continue
                f, w = _objective(model, loss_fn, inputs, targets, name)
                V = _stack(D, w)
                k = V.shape[0]
                fns = {"fwd_fwd": _exact_fwd_fwd(f, w), "fwd_rev": _exact_fwd_rev(f, w), "rev_rev": rev_rev(name)}
                chunk = chunk_size or auto_chunk_size(model, inputs, k, "fwd_rev" if method == "auto" else method)
                if method == "auto":
                    key = (name, tuple(w.shape), tuple(inputs.shape), str(w.dtype), str(w.device), chunk)
                    h, choice = _auto(fns, V, chunk, key)
                    if name in verdicts:
                        choice = choice | {"not_gn_exact": verdicts[name].reason}
                else:
                    h, choice = _chunked(fns[method], V, chunk), {"method": method}
                LAST_CHOICES[name] = choice | {"chunk_size": chunk}
                out[name] = dist.all_reduce_sum(h.detach())
        finally:
            for sh in shared:
                sh.close()
    return out


# --------------------------------------------------------------------------------------------------
# Gauss–Newton, finite differences, and the paper's protocol


def _gn_fn(
    model: nn.Module, loss_fn: LossFn, inputs, targets, name: str, shared: dict | None = None
) -> tuple[Callable, torch.Tensor]:
    r""":math:`V\mapsto(v^\top H_{\rm GN}v)_v` for a chunk of layer ``name``'s directions (and its weight).

    :math:`J_iv` for every direction of the chunk from one vmapped jvp of the outputs (the primal forward
    shared); then the loss Hessian's quadratic form :math:`\sum_i(J_iv)^\top\nabla^2_f\ell_i(J_iv)` from one
    ``create_graph`` gradient of :math:`\sum_i\ell_i` in the outputs and one batched backward of it along
    all :math:`Jv` (``is_grads_batched``): any twice-differentiable loss, no loss-specific formula. The outputs
    and that gradient's graph do not depend on the layer: ``shared`` (a dict) keeps them for the next layers."""
    fo, w = _outputs_fn(model, inputs, name)
    n_global = dist.global_count(len(targets), device=w.device)
    push = vmap(lambda v: jvp(fo, (w,), (v,)), out_dims=(None, 0))

    def run(Vc: torch.Tensor) -> torch.Tensor:
        f0, JV = push(Vc)
        if not isinstance(f0, torch.Tensor):
            raise ValueError("Gauss-Newton curvature needs a model whose output is a single tensor")
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
) -> dict[str, torch.Tensor]:
    r""":math:`v^\top H_{\rm GN}v=\frac1B\sum_i (J_iv)^\top\nabla^2_f\ell_i(J_iv)` for each layer.

    :math:`J v` is the jvp of the network outputs along :math:`D`; the loss-Hessian quadratic form comes
    from a double backward of the loss in the outputs (:func:`_gn_fn`), so no loss-specific formula is needed.
    """
    out, shared = {}, {}
    for name, D in directions.items():
        fn, w = _gn_fn(model, loss_fn, inputs, targets, name, shared)
        V = _stack(D, w)
        chunk = chunk_size or auto_chunk_size(model, inputs, V.shape[0], "gn")
        with _exact_forms(model):
            out[name] = dist.all_reduce_sum(_chunked(fn, V, chunk).detach())
    return out


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
) -> dict[str, torch.Tensor]:
    r"""Central second difference :math:`(\mathcal L(W+\epsilon D)-2\mathcal L(W)+\mathcal L(W-\epsilon D))/\epsilon^2`.

    ``dtype`` evaluates the losses in another precision (e.g. ``torch.float32``, where round-off
    :math:`\sim\mathrm{eps}\,\mathcal L/\epsilon^2` gives the spurious negative curvatures the paper
    mentions); ``None`` uses the model's dtype. Each process's three losses are all-reduced before
    differencing. ``chunk_size`` is accepted for a uniform signature and unused.
    """
    del chunk_size
    out = {}
    for name, D in directions.items():
        f, w = _objective(model, loss_fn, inputs, targets, name)
        V = _stack(D, w)
        if dtype is not None and dtype != w.dtype:
            m2 = _cast_model(model, dtype)
            x2 = inputs.to(dtype) if torch.is_floating_point(inputs) else inputs
            t2 = targets.to(dtype) if torch.is_floating_point(targets) else targets
            f, w = _objective(m2, loss_fn, x2, t2, name)
            V = V.to(dtype)
        with torch.no_grad():
            base = f(w)
            plus = torch.stack([f(w + eps * v) for v in V])
            minus = torch.stack([f(w - eps * v) for v in V])
            vals = torch.stack([plus, minus, base.expand_as(plus)])
            vals = dist.all_reduce_sum(vals)
            out[name] = (vals[0] - 2 * vals[2] + vals[1]) / eps**2
    return out


def _cast_model(model: nn.Module, dtype: torch.dtype) -> nn.Module:
    import copy

    m2 = copy.deepcopy(model)
    return m2.to(dtype)


def paper_protocol_curvatures(
    model: nn.Module,
    loss_fn: LossFn,
    inputs,
    targets,
    directions: dict[str, torch.Tensor],
    *,
    chunk_size: int | None = None,
) -> dict[str, torch.Tensor]:
    r"""The paper's protocol: per layer, ``g = autograd.grad(L, W, create_graph=True)``, then for each
    direction ``Hv = autograd.grad(<g, D>, W)`` and :math:`h=\langle D, Hv\rangle`, one at a time.

    Deliberately unoptimised: the honest reference the engine is compared (and benchmarked) against.
    """
    del chunk_size
    n_global = dist.global_count(len(targets), device=next(model.parameters()).device)
    out = {}
    for name, D in directions.items():
        w = get_module(model, name).weight
        with torch.enable_grad():
            loss = loss_fn(model(inputs), targets).sum() / n_global
            (g,) = torch.autograd.grad(loss, w, create_graph=True)
            hs = []
            for i, v in enumerate(D.to(device=w.device, dtype=w.dtype)):
                (hv,) = torch.autograd.grad((g * v).sum(), w, retain_graph=i < D.shape[0] - 1)
                hs.append((hv * v).sum().detach())
        out[name] = dist.all_reduce_sum(torch.stack(hs) if hs else w.new_zeros(0))
    return out
