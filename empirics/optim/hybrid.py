r"""Matrix parameters vs the rest, and the base class of the matrix optimizers (Spectral Newton, Muon).

* **Matrix parameters** are the ``weight`` of every ``nn.Linear`` / ``nn.Conv1d/2d/3d`` module. A conv weight
  :math:`(c_{\rm out},c_{\rm in},k_h,k_w)` is viewed **row-major** as :math:`m=c_{\rm out}` by
  :math:`n=c_{\rm in}k_hk_w` (``w.reshape(w.shape[0], -1)``, the convention of
  :func:`empirics.layers.weight_matrix`, THEORY.md §1.5), and the update is reshaped back.
* **The rest** (biases, norm gains, embeddings such as ``nn.Embedding`` or a ViT ``pos_embed``/``cls_token``)
  goes to an internal ``torch.optim.AdamW``.
* Layer types come from :func:`empirics.layers.resolve_layers` (the zoo's ``sad_layer_type`` tags, else
  Conv→conv, Linear→dense, last Linear→head); a matrix weight outside that table has type ``None``.

:class:`HybridOptimizer` holds one param group per matrix parameter (``kind`` = the subclass's name) followed
by the internal AdamW's groups — *the same dict objects*, so an ``lr_scheduler`` acting on
``optimizer.param_groups`` drives both parts. Non-finite gradients are checked before anything is
updated (one sum per gradient, so a finite gradient whose sum overflows also counts as non-finite):
``nonfinite="raise"`` (default) raises ``FloatingPointError`` naming the parameters;
``"skip"`` skips the whole step (no parameter, momentum or AdamW state changes) and counts it in
``optimizer.nonfinite_skips``; ``"ignore"`` does no check.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor, nn

__all__ = ["MATRIX_MODULES", "NONFINITE", "MatrixParam", "split_parameters", "as_matrix", "HybridOptimizer"]

#: Modules whose ``weight`` is optimised as a matrix.
MATRIX_MODULES = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)
#: Policies for non-finite gradients.
NONFINITE = ("raise", "skip", "ignore")

NamedParams = nn.Module | Iterable[tuple[str, nn.Parameter]]


@dataclass(frozen=True)
class MatrixParam:
    """A matrix parameter: its name (``"layer1.0.conv1.weight"``), module name and layer type (or None)."""

    name: str
    param: nn.Parameter
    module: str | None
    layer_type: str | None


def as_matrix(t: Tensor) -> Tensor:
    """Row-major (m, n) view of a weight-shaped tensor: ``t.reshape(t.shape[0], -1)``."""
    return t.reshape(t.shape[0], -1)


def split_parameters(
    params: NamedParams, layer_types: dict[str, str] | None = None
) -> tuple[list[MatrixParam], list[tuple[str, nn.Parameter]]]:
    """Split into matrix parameters and the rest (both in model order, trainable ones only).

    ``params`` is a model, or ``(name, parameter)`` pairs; without a model, every parameter with ≥ 2
    dimensions is a matrix parameter of unknown type, except names containing ``embed`` (→ AdamW).
    ``layer_types`` (module name → type) overrides the default table.
    """
    if isinstance(params, nn.Module):
        from empirics.layers import resolve_layers

        try:
            table = resolve_layers(params, layer_types)
        except ValueError:
            if layer_types is not None:
                raise
            table = {}
        owner = {}
        for mname, mod in params.named_modules():
            if isinstance(mod, MATRIX_MODULES) and isinstance(mod.weight, nn.Parameter):
                owner[id(mod.weight)] = mname
        mats, rest = [], []
        for name, p in params.named_parameters():
            if not p.requires_grad:
                continue
            mname = owner.get(id(p))
            if mname is not None and p.dim() >= 2:
                mats.append(MatrixParam(name, p, mname, table.get(mname)))
            else:
                rest.append((name, p))
        return mats, rest
    mats, rest = [], []
    for name, p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected (name, parameter) pairs, got {type(p).__name__} for {name!r}")
        if not p.requires_grad:
            continue
        if p.dim() >= 2 and "embed" not in name:
            mname = name[: -len(".weight")] if name.endswith(".weight") else None
            ltype = (layer_types or {}).get(mname) if mname else None
            mats.append(MatrixParam(name, p, mname, ltype))
        else:
            rest.append((name, p))
    return mats, rest


class HybridOptimizer(torch.optim.Optimizer):
    """Base: one param group per matrix parameter (updated by :meth:`_matrix_step`) + an internal AdamW.

    Subclasses build ``matrix_groups`` (dicts with ``params=[p]``, ``name``, ``layer_type`` and their
    hyper-parameters) and implement :meth:`_matrix_step` (all matrix groups at once, so that same-shape
    layers can be batched).
    """

    kind = "matrix"

    def __init__(
        self,
        matrix_groups: list[dict[str, Any]],
        defaults: dict[str, Any],
        rest: list[tuple[str, nn.Parameter]],
        *,
        adamw_lr: float,
        adamw_betas: tuple[float, float] = (0.9, 0.999),
        adamw_eps: float = 1e-8,
        adamw_weight_decay: float = 0.0,
        nonfinite: str = "raise",
    ) -> None:
        if nonfinite not in NONFINITE:
            raise ValueError(f"nonfinite must be one of {', '.join(NONFINITE)}, got {nonfinite!r}")
        if not matrix_groups and not rest:
            raise ValueError("no trainable parameters")
        for g in matrix_groups:
            g.setdefault("kind", self.kind)
        placeholder = [torch.zeros(0, requires_grad=True)] if not matrix_groups else None
        super().__init__(matrix_groups or [{"params": placeholder}], defaults)
        if placeholder is not None:
            self.param_groups.clear()
        self.nonfinite = nonfinite
        self.nonfinite_skips = 0
        self._n_matrix = len(self.param_groups)
        groups = [{"params": [p], "name": n, "kind": "adamw"} for n, p in rest]
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
        ok = torch.isfinite(torch.stack([g.sum() for _, g in named]))
        if bool(ok.all()):
            return []
        return [n for (n, _), good in zip(named, ok.tolist(), strict=True) if not good]

    def _matrix_step(self, groups: list[dict[str, Any]]) -> None:
        raise NotImplementedError

    @torch.no_grad()
    def step(self, closure: Callable[[], float] | None = None) -> float | None:  # type: ignore[override]
        """One step of every part; see the class docstring for non-finite gradients."""
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
            self.adamw.step()
        return loss

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
        """Inverse of :meth:`state_dict`; the param groups stay shared with the internal AdamW."""
        groups = self.param_groups
        self.param_groups = groups[: self._n_matrix]
        try:
            super().load_state_dict(state_dict["matrix"])
        except BaseException:
            self.param_groups = groups
            raise
        matrix = self.param_groups
        if self.adamw is not None:
            self.adamw.load_state_dict(state_dict["adamw"])
            self.param_groups = matrix + self.adamw.param_groups
        else:
            self.param_groups = matrix
        self.nonfinite_skips = int(state_dict.get("nonfinite_skips", 0))
