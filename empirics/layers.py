r"""Which layers are measured, and the matrix view of their weights (THEORY.md §1.1, §1.2, §1.5).

* Linear weight :math:`W\in\mathbb R^{m\times n}` is used as is.
* Conv weight :math:`(c_{\rm out}, c_{\rm in}, k_h, k_w)` is viewed as :math:`m=c_{\rm out}` by
  :math:`n=c_{\rm in}k_hk_w` by a **row-major** reshape; a direction :math:`D_k=u_kw_k^\top` is reshaped back.
* Vec convention: row-major, :math:`\mathrm{vec}(uw^\top)=u\otimes w` (``D.reshape(-1)``), so the
  Kronecker model reads :math:`H_K=C_\delta\otimes C_A`. The bias is never measured.
"""

from __future__ import annotations

import torch
from torch import nn

from empirics.schema import LAYER_TYPES

__all__ = ["resolve_layers", "weight_matrix", "matrix_to_weight", "get_module", "MEASURABLE"]

#: Module classes whose ``weight`` has a matrix view.
MEASURABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d)


def get_module(model: nn.Module, name: str) -> nn.Module:
    return model.get_submodule(name)


def _default_table(model: nn.Module) -> dict[str, str]:
    tagged = {n: m.sad_layer_type for n, m in model.named_modules() if hasattr(m, "sad_layer_type")}
    if tagged:
        try:
            from empirics.zoo import layer_table
        except ImportError:
            return tagged
        return dict(layer_table(model))
    table: dict[str, str] = {}
    last_linear = None
    for n, m in model.named_modules():
        if isinstance(m, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
            table[n] = "conv"
        elif isinstance(m, nn.Linear):
            table[n] = "dense"
            last_linear = n
    if last_linear is not None:
        table[last_linear] = "head"
    return table


def resolve_layers(
    model: nn.Module, layer_types: dict[str, str] | None = None, names: list[str] | None = None
) -> dict[str, str]:
    """Map module name -> layer type for every layer to measure, in model order.

    ``layer_types`` overrides the default table (``zoo.layer_table`` when the model carries
    ``sad_layer_type`` tags, else Conv→conv, Linear→dense, the last Linear→head); ``names`` selects a
    subset. Unknown names or types raise ``ValueError`` listing the valid ones.
    """
    table = dict(layer_types) if layer_types is not None else _default_table(model)
    modules = dict(model.named_modules())
    for n, t in table.items():
        if n not in modules:
            raise ValueError(f"layer {n!r} is not a module of the model")
        if not isinstance(getattr(modules[n], "weight", None), torch.Tensor) or modules[n].weight.dim() < 2:
            raise ValueError(f"layer {n!r} has no matrix weight")
        if t not in LAYER_TYPES:
            raise ValueError(f"layer {n!r}: unknown layer type {t!r}; one of {', '.join(LAYER_TYPES)}")
    order = [n for n in modules if n in table]
    if names is not None:
        unknown = [n for n in names if n not in table]
        if unknown:
            raise ValueError(f"unknown layer(s) {', '.join(unknown)}; valid: {', '.join(order)}")
        chosen = set(names)
        order = [n for n in order if n in chosen]
    return {n: table[n] for n in order}


def weight_matrix(module: nn.Module) -> torch.Tensor:
    """The (m, n) matrix view of ``module.weight`` (row-major reshape of the trailing dims)."""
    w = module.weight
    return w.reshape(w.shape[0], -1)


def matrix_to_weight(D: torch.Tensor, module: nn.Module) -> torch.Tensor:
    """Reshape a direction (m, n), or a stack (k, m, n), back to the weight's shape (or (k, *shape))."""
    shape = tuple(module.weight.shape)
    if D.dim() == 2:
        return D.reshape(shape)
    return D.reshape((D.shape[0], *shape))
