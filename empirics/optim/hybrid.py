r"""Which parameters a matrix optimizer takes, and the base class of the matrix optimizers (Spectral Newton, Muon).

**Routing rule** (:func:`split_parameters`; every trainable tensor is routed **once**, under its first name in
``model.named_parameters()``, even when several modules hold it):

1. ``routes={parameter name: "adamw" | "matrix"}`` (any alias of a tied tensor) decides first; ``"matrix"``
   needs a matrix view, else ``ValueError``.
2. **Embedding-tied** weights — one tensor that is both an embedding table (:data:`EMBEDDING_MODULES`) and a
   matrix layer's weight, e.g. ``lm_head.weight is wte.weight`` in GPT-2 — go to **AdamW** with
   ``tied_embeddings="adamw"`` (default: the embedding side's per-row sparse gradients suit AdamW, and the
   tensor is updated once), or to the matrix optimizer with the matrix layer's view and layer type with
   ``tied_embeddings="matrix"``.
3. Other embedding tables → AdamW.
4. A parameter that :func:`~empirics.optim.matrix_view.matrix_view` reads as a matrix (Linear, Conv1d/2d/3d
   incl. grouped, HF ``Conv1D``, ``nn.MultiheadAttention``'s projections) → the matrix optimizer, with that
   view. A tensor shared by several matrix layers must read as the same matrix in all of them.
5. Fewer than 2 dimensions (biases, norm gains, scalars) → AdamW.
6. Other ≥ 2-D tensors: a name containing ``weight`` (``nn.ConvTranspose2d.weight``, ``nn.LSTM.weight_ih_l0``,
   a custom layer's raw weight) → ``ValueError`` naming the parameter (route it explicitly); any other name
   (a ViT ``pos_embed``/``cls_token``: a free tensor, added or concatenated) → AdamW.

``optimizer.routing`` records every decision (name → :class:`Route`). Given ``(name, parameter)`` pairs
instead of a model, there are no modules: every ≥ 2-D tensor is a matrix read **row-major**
(:math:`m` = ``shape[0]``, :math:`n` = the rest; conv groups and HF ``Conv1D`` orientation unknown) except
names containing ``embed`` (→ AdamW), ``routes`` still decides first, and a tensor passed twice is a
``ValueError``. Layer types come from :func:`empirics.layers.resolve_layers` (the zoo's ``sad_layer_type``
tags, else Conv→conv, Linear→dense, last Linear→head); a matrix outside that table has type ``None``.

**Dtypes.** The matrix step is computed in :func:`~empirics.optim.transfer.compute_dtype` of the weight
(float64 for float64 weights, float32 otherwise — bfloat16/float16 weights included); the momentum buffer
is kept in ``momentum_dtype`` (default ``None``: that compute dtype, so a bfloat16 weight's momentum is
float32 — the EMA's small increments :math:`(1-\mu)g` would otherwise round away against bfloat16's 8
significant bits); the new weight :math:`(1-\eta\lambda)W-\eta'\Delta` is formed in the compute dtype and
rounded to the weight's dtype **once**. The internal AdamW is ``torch.optim.AdamW``, run on a 16-bit
parameter swapped to float32 for the step, so its state (``exp_avg``, ``exp_avg_sq``) is float32 and the new
value is rounded once too (torch's AdamW on float16 tensors underflows ``eps`` = 1e-8 and small
:math:`(1-\beta_2)g^2` to 0 and divides by zero). ``load_state_dict`` keeps these dtypes (torch alone would
cast the state to the parameter's dtype).

**The AdamW part's learning rate** is its own argument, ``adamw_lr`` (default :data:`ADAMW_LR` = 1e-3:
``torch.optim.AdamW``'s default and the project's AdamW grid centre). It is not tied to the matrix
learning rate: orthogonalised/spectral steps run at ~1e-2 (SN's default 0.02), ~20× what AdamW tolerates on
biases and norm gains. An ``lr_scheduler`` scales both parts (every group's ``initial_lr`` by the same
factor).

:class:`HybridOptimizer` holds one param group per matrix parameter (``kind`` = the subclass's name) followed
by the internal AdamW's groups — *the same dict objects*, so an ``lr_scheduler`` acting on
``optimizer.param_groups`` drives both parts. Non-finite gradients are checked before anything is
updated (one sum per gradient, accumulated in the compute dtype, so a finite gradient whose sum overflows
that dtype also counts as non-finite): ``nonfinite="raise"`` (default) raises ``FloatingPointError``
naming the parameters; ``"skip"`` skips the whole step (no parameter, momentum or AdamW state changes) and
counts it in ``optimizer.nonfinite_skips``; ``"ignore"`` does no check.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from empirics.optim.matrix_view import EMBEDDING_MODULES, MatrixView, matrix_view, row_major_view
from empirics.optim.transfer import compute_dtype

__all__ = [
    "ADAMW_LR",
    "NONFINITE",
    "ROUTES",
    "HybridOptimizer",
    "MatrixParam",
    "Route",
    "Split",
    "split_parameters",
]

#: Default learning rate of the internal AdamW (non-matrix parameters).
ADAMW_LR = 1e-3
#: Policies for non-finite gradients.
NONFINITE = ("raise", "skip", "ignore")
#: Values of ``routes`` and ``tied_embeddings``.
ROUTES = ("adamw", "matrix")

NamedParams = nn.Module | Iterable[tuple[str, nn.Parameter]]


@dataclass(frozen=True)
class MatrixParam:
    """A matrix parameter: name (``"layer1.0.conv1.weight"``), the module whose view is used, its layer type
    (or None), the :class:`~empirics.optim.matrix_view.MatrixView`, and the other names of a tied tensor."""

    name: str
    param: nn.Parameter
    module: str | None
    layer_type: str | None
    view: MatrixView
    aliases: tuple[str, ...] = ()


class Route(NamedTuple):
    """Where a parameter went (``"matrix"`` | ``"adamw"``) and why (one line)."""

    kind: str
    reason: str


class Split(NamedTuple):
    """:func:`split_parameters`' result: matrix parameters, the rest ``(name, parameter)``, and every route."""

    matrix: list[MatrixParam]
    rest: list[tuple[str, nn.Parameter]]
    routing: dict[str, Route]


def _check_choice(what: str, value: object) -> None:
    if value not in ROUTES:
        raise ValueError(f"{what} must be one of {', '.join(ROUTES)}, got {value!r}")


def _forced(names: Iterable[str], routes: Mapping[str, str]) -> str | None:
    given = {routes[n] for n in names if n in routes}
    if len(given) > 1:
        raise ValueError(f"routes gives tied names {', '.join(n for n in names if n in routes)} different routes")
    return given.pop() if given else None


def split_parameters(
    params: NamedParams,
    layer_types: dict[str, str] | None = None,
    *,
    tied_embeddings: str = "adamw",
    routes: Mapping[str, str] | None = None,
) -> Split:
    """Route every trainable parameter to the matrix optimizer or AdamW by the module docstring's rule."""
    _check_choice("tied_embeddings", tied_embeddings)
    routes = dict(routes or {})
    for v in routes.values():
        _check_choice("every value of routes", v)
    if isinstance(params, nn.Module):
        split, known = _split_model(params, layer_types, tied_embeddings, routes)
    else:
        split, known = _split_pairs(params, layer_types, routes)
    unknown = sorted(set(routes) - known)
    if unknown:
        raise ValueError(f"routes names no parameter: {', '.join(unknown)}")
    return split


def _split_model(
    model: nn.Module, layer_types: dict[str, str] | None, tied: str, routes: dict[str, str]
) -> tuple[Split, set[str]]:
    from empirics.layers import resolve_layers

    try:
        table = resolve_layers(model, layer_types)
    except ValueError:
        if layer_types is not None:
            raise
        table = {}
    owners: dict[int, list[tuple[str, str, nn.Module, str]]] = {}  # id → [(full name, module name, module, attr)]
    for mname, mod in model.named_modules():
        for attr, p in mod.named_parameters(recurse=False):
            owners.setdefault(id(p), []).append((f"{mname}.{attr}" if mname else attr, mname, mod, attr))
    known = {full for own in owners.values() for full, *_ in own}
    mats: list[MatrixParam] = []
    rest: list[tuple[str, nn.Parameter]] = []
    routing: dict[str, Route] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        own = owners[id(p)]
        aliases = tuple(full for full, *_ in own if full != name)
        forced = _forced([name, *aliases], routes)
        if forced == "adamw":
            rest.append((name, p))
            routing[name] = Route("adamw", "routes argument")
            continue
        embedding = next(
            (full for full, _, mod, attr in own if isinstance(mod, EMBEDDING_MODULES) and attr == "weight"), None
        )
        views: list[tuple[str, str, MatrixView]] = []
        for full, mname, mod, attr in own:
            if isinstance(mod, EMBEDDING_MODULES) and attr == "weight":
                continue
            try:
                view = matrix_view(mod, attr)
            except ValueError as exc:
                raise ValueError(
                    f"parameter {full!r}: {exc}; route it explicitly, e.g. routes={{{full!r}: 'adamw'}}"
                ) from None
            if view is not None:
                views.append((full, mname, view))
        if views:
            first = views[0][2].to_matrix(p.detach())
            for full, _, view in views[1:]:
                other = view.to_matrix(p.detach())
                if other.shape != first.shape or not torch.equal(other, first):
                    raise ValueError(
                        f"parameter {name!r} is tied between layers that read it as different matrices "
                        f"({views[0][0]} and {full}); route it explicitly with routes={{{name!r}: 'adamw'}}"
                    )
        if views and embedding is not None:
            choice = forced or tied
            partner = next(full for full, *_ in views)
            if choice == "adamw":
                rest.append((name, p))
                routing[name] = Route("adamw", f"embedding tied to {partner} (tied_embeddings='adamw')")
                continue
            reason = "routes argument" if forced else "embedding-tied, tied_embeddings='matrix'"
        elif embedding is not None or not views:
            if forced == "matrix":
                what = "an embedding table" if embedding is not None else "not a matrix"
                raise ValueError(f"routes asks 'matrix' for parameter {name!r}, but it is {what} (no matrix view)")
            if embedding is not None:
                why = "embedding"
            elif p.dim() < 2:
                why = "vector"
            else:
                why = "free tensor (not a layer weight)"
            rest.append((name, p))
            routing[name] = Route("adamw", why)
            continue
        else:
            reason = "routes argument" if forced else "matrix layer"
        _, mname, view = views[0]
        mats.append(MatrixParam(name, p, mname, table.get(mname), view, aliases))
        routing[name] = Route("matrix", f"{reason} ({type(model.get_submodule(mname)).__name__} {mname or 'model'})")
    return Split(mats, rest, routing), known


def _split_pairs(
    params: Iterable[tuple[str, nn.Parameter]], layer_types: dict[str, str] | None, routes: dict[str, str]
) -> tuple[Split, set[str]]:
    mats: list[MatrixParam] = []
    rest: list[tuple[str, nn.Parameter]] = []
    routing: dict[str, Route] = {}
    seen: dict[int, str] = {}
    known: set[str] = set()
    for name, p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected (name, parameter) pairs, got {type(p).__name__} for {name!r}")
        if id(p) in seen:
            raise ValueError(f"parameter {name!r} is the tensor {seen[id(p)]!r} again: pass each tensor once")
        seen[id(p)] = name
        known.add(name)
        if not p.requires_grad:
            continue
        forced = routes.get(name)
        if forced == "matrix" and p.dim() < 2:
            raise ValueError(f"routes asks 'matrix' for parameter {name!r}, but it has {p.dim()} dimension(s)")
        if forced == "matrix" or (forced is None and p.dim() >= 2 and "embed" not in name):
            mname = name[: -len(".weight")] if name.endswith(".weight") else None
            ltype = (layer_types or {}).get(mname) if mname else None
            mats.append(MatrixParam(name, p, mname, ltype, row_major_view(p.shape)))
            routing[name] = Route("matrix", "routes argument" if forced else "≥ 2 dimensions (row-major)")
        else:
            rest.append((name, p))
            why = "routes argument" if forced else "vector" if p.dim() < 2 else "name contains 'embed'"
            routing[name] = Route("adamw", why)
    return Split(mats, rest, routing), known


class HybridOptimizer(torch.optim.Optimizer):
    """Base: one param group per matrix parameter (updated by :meth:`_matrix_step`) + an internal AdamW.

    Subclasses build ``matrix_groups`` (dicts with ``params=[p]``, ``name``, ``layer_type`` and their
    hyper-parameters) from ``split.matrix`` in its order and implement :meth:`_matrix_step` (all matrix groups
    at once, so that same-shape layers can be batched), using :meth:`_grad_matrix`, :meth:`_momentum` and
    :meth:`_write`, which apply the dtype rules of the module docstring.
    """

    kind = "matrix"

    def __init__(
        self,
        matrix_groups: list[dict[str, Any]],
        defaults: dict[str, Any],
        split: Split,
        *,
        adamw_lr: float = ADAMW_LR,
        adamw_betas: tuple[float, float] = (0.9, 0.999),
        adamw_eps: float = 1e-8,
        adamw_weight_decay: float = 0.0,
        momentum_dtype: torch.dtype | None = None,
        nonfinite: str = "raise",
    ) -> None:
        if nonfinite not in NONFINITE:
            raise ValueError(f"nonfinite must be one of {', '.join(NONFINITE)}, got {nonfinite!r}")
        if not (isinstance(adamw_lr, (int, float)) and math.isfinite(adamw_lr) and adamw_lr >= 0):
            raise ValueError(
                f"adamw_lr must be a finite number >= 0, got {adamw_lr!r} (the AdamW part no longer follows lr: "
                "pass adamw_lr=lr for the old coupling)"
            )
        if momentum_dtype is not None and not (
            isinstance(momentum_dtype, torch.dtype) and momentum_dtype.is_floating_point
        ):
            raise ValueError(f"momentum_dtype must be None or a floating torch.dtype, got {momentum_dtype!r}")
        if not split.matrix and not split.rest:
            raise ValueError("no trainable parameters")
        if len(matrix_groups) != len(split.matrix):
            raise ValueError("one matrix group per matrix parameter is needed")
        for g in matrix_groups:
            g.setdefault("kind", self.kind)
        placeholder = [torch.zeros(0, requires_grad=True)] if not matrix_groups else None
        super().__init__(matrix_groups or [{"params": placeholder}], defaults)
        if placeholder is not None:
            self.param_groups.clear()
        self.nonfinite = nonfinite
        self.nonfinite_skips = 0
        self.momentum_dtype = momentum_dtype
        #: parameter → its matrix view (keyed by the tensor; the groups stay plain data for state dicts)
        self.views: dict[Tensor, MatrixView] = {mp.param: mp.view for mp in split.matrix}
        #: parameter name → :class:`Route`
        self.routing: dict[str, Route] = dict(split.routing)
        self._n_matrix = len(self.param_groups)
        groups = [{"params": [p], "name": n, "kind": "adamw"} for n, p in split.rest]
        self.adamw: torch.optim.AdamW | None = (
            torch.optim.AdamW(
                groups, lr=adamw_lr, betas=adamw_betas, eps=adamw_eps, weight_decay=adamw_weight_decay, foreach=False
            )
            if groups
            else None
        )
        if self.adamw is not None:
            self.param_groups.extend(self.adamw.param_groups)

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Only during construction: the matrix/AdamW split is fixed (build a new optimizer instead)."""
        if hasattr(self, "_n_matrix"):
            raise NotImplementedError(f"{type(self).__name__} does not support add_param_group after construction")
        super().add_param_group(param_group)

    # ------------------------------------------------------------------------------------------------
    @property
    def matrix_groups(self) -> list[dict[str, Any]]:
        """The matrix parameters' groups (one parameter each)."""
        return self.param_groups[: self._n_matrix]

    def _all_params(self) -> Iterator[tuple[str, Tensor]]:
        for g in self.param_groups:
            for p in g["params"]:
                yield g.get("name", "?"), p

    def _nonfinite_names(self) -> list[str]:
        named = [(n, p.grad) for n, p in self._all_params() if p.grad is not None]
        if not named:
            return []
        # one reduction per tensor and one host sync: a NaN/inf entry always makes the sum non-finite
        ok = torch.isfinite(torch.stack([g.sum(dtype=compute_dtype(g.dtype)) for _, g in named]))
        if bool(ok.all()):
            return []
        return [n for (n, _), good in zip(named, ok.tolist(), strict=True) if not good]

    def _state_dtype(self, p: Tensor) -> torch.dtype:
        return self.momentum_dtype or compute_dtype(p.dtype)

    def _grad_matrix(self, p: Tensor) -> Tensor:
        """The gradient's matrix view in the compute dtype (no copy for float32/float64 weights)."""
        assert p.grad is not None
        return self.views[p].to_matrix(p.grad).to(compute_dtype(p.dtype))

    def _momentum(self, p: Tensor, g: Tensor, mu: float, nesterov: bool) -> Tensor:
        r"""EMA buffer :math:`M\leftarrow\mu M+(1-\mu)g` (in :meth:`_state_dtype`); returns
        :math:`U=(1-\mu)g+\mu M` (nesterov) or :math:`M`, in ``g``'s dtype."""
        state = self.state[p]
        if "momentum_buffer" not in state:
            state["momentum_buffer"] = torch.zeros_like(g, dtype=self._state_dtype(p))
        buf = state["momentum_buffer"]
        buf.lerp_(g.to(buf.dtype), 1 - mu)
        M = buf.to(g.dtype)
        return g.lerp(M, mu) if nesterov else M

    def _write(self, p: Tensor, D: Tensor, step: float, decay: float) -> None:
        r""":math:`W\leftarrow(1-\text{decay})\,W-\text{step}\cdot D` (``D`` in matrix form, any dtype), formed in
        the weight's compute dtype and rounded to the weight's dtype once."""
        upd = self.views[p].from_matrix(D)
        cd = compute_dtype(p.dtype)
        w = p if p.dtype == cd else p.to(cd)
        if decay:
            w.mul_(1 - decay)
        w.add_(upd, alpha=-step)
        if w is not p:
            p.copy_(w)

    def _matrix_step(self, groups: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One step of every part; see the module docstring for non-finite gradients."""
        loss = None
        if closure is not None:
            with torch.enable_grad():
                loss = closure()
        if self.nonfinite != "ignore":
            bad = self._nonfinite_names()
            if bad:
                if self.nonfinite == "raise":
                    raise FloatingPointError(
                        f"{type(self).__name__}: non-finite gradient in {', '.join(bad)} "
                        "(pass nonfinite='skip' to skip such steps and count them)"
                    )
                self.nonfinite_skips += 1
                return loss
        self._matrix_step([g for g in self.matrix_groups if g["params"][0].grad is not None])
        if self.adamw is not None:
            self._adamw_step(self.adamw)
        return loss

    @staticmethod
    def _adamw_step(adamw: torch.optim.AdamW) -> None:
        """``adamw.step()``, with every 16-bit parameter (and its gradient) swapped to float32 for the step: the
        AdamW state lives in float32 and the new value is rounded once (torch's AdamW on a float16 tensor
        rounds ``eps`` = 1e-8 and small ``(1-β₂)g²`` to 0 and divides by zero)."""
        swapped: list[tuple[nn.Parameter, Tensor, torch.dtype]] = []
        for group in adamw.param_groups:
            for p in group["params"]:
                cd = compute_dtype(p.dtype)
                if p.grad is not None and p.dtype != cd:
                    grad, dtype = p.grad, p.dtype
                    p.grad = None
                    p.data = p.data.to(cd)
                    p.grad = grad.to(cd)
                    swapped.append((p, grad, dtype))
        try:
            adamw.step()
        finally:
            for p, grad, dtype in swapped:
                p.grad = None
                p.data = p.data.to(dtype)
                p.grad = grad

    # ------------------------------------------------------------------------------------------------
    def state_dict(self) -> dict[str, Any]:
        """``{"matrix": <this optimizer's state dict over the matrix groups>, "adamw": ..., "nonfinite_skips"}``."""
        groups = self.param_groups
        self.param_groups = groups[: self._n_matrix]
        try:
            matrix = super().state_dict()
        finally:
            self.param_groups = groups
        return {
            "matrix": matrix,
            "adamw": self.adamw.state_dict() if self.adamw is not None else None,
            "nonfinite_skips": self.nonfinite_skips,
        }

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Inverse of :meth:`state_dict`; the param groups stay shared with the internal AdamW.

        torch casts loaded floating-point state to the parameter's dtype; the state is restored from
        ``state_dict`` in the dtypes of the module docstring instead (exact for the float32 state of a bfloat16
        weight).
        """
        groups = self.param_groups
        self.param_groups = groups[: self._n_matrix]
        try:
            super().load_state_dict(state_dict["matrix"])
        except BaseException:
            self.param_groups = groups
            raise
        matrix = self.param_groups
        _restore_state(self.state, state_dict["matrix"], matrix, self._state_dtype)
        if self.adamw is not None:
            self.adamw.load_state_dict(state_dict["adamw"])
            _restore_state(
                self.adamw.state, state_dict["adamw"], self.adamw.param_groups, lambda p: compute_dtype(p.dtype)
            )
            self.param_groups = matrix + self.adamw.param_groups
        else:
            self.param_groups = matrix
        self.nonfinite_skips = int(state_dict.get("nonfinite_skips", 0))


def _restore_state(
    state: Mapping[Tensor, dict[str, Any]],
    saved: dict[str, Any],
    groups: list[dict[str, Any]],
    dtype_of: Callable[[Tensor], torch.dtype],
) -> None:
    """Put ``saved``'s floating-point state tensors (all but ``step``) back into ``state`` in ``dtype_of(p)``."""
    for saved_group, group in zip(saved["param_groups"], groups, strict=True):
        for pid, p in zip(saved_group["params"], group["params"], strict=True):
            for key, value in saved["state"].get(pid, {}).items():
                if key != "step" and isinstance(value, Tensor) and value.is_floating_point():
                    state[p][key] = value.to(device=p.device, dtype=dtype_of(p), copy=True)
