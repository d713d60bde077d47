r"""The base class of the matrix optimizers (Spectral Newton, Muon): matrix steps plus an internal AdamW.

The parameters are routed by :func:`empirics.optim.routing.split_parameters`.

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
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import torch
from torch import Tensor, nn

from empirics.optim.matrix_view import MatrixView
from empirics.optim.routing import Route, Split
from empirics.optim.transfer import compute_dtype

__all__ = ["ADAMW_LR", "NONFINITE", "HybridOptimizer"]

#: Default learning rate of the internal AdamW (non-matrix parameters).
ADAMW_LR = 1e-3
#: Policies for non-finite gradients.
NONFINITE = ("raise", "skip", "ignore")


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
