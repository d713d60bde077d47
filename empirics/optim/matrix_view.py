r"""Is a module's parameter a matrix, and what is its :math:`(m, n)` view: :func:`matrix_view`.

The one place in :mod:`empirics.optim` that knows layer kinds; which (module, parameter) pairs are matrix
weights, and of which kind, is decided by the engine's table :mod:`empirics.layerkinds` (one table for the
measurement and the optimizers); this module adds the update view of each kind. A matrix optimizer (Spectral Newton, Muon)
works on :math:`G\in\mathbb R^{m\times n}` with :math:`m` = outputs and :math:`n` = inputs of the layer's
linear map :math:`y = Wx`; :func:`matrix_view` returns the pair ``(to_matrix, from_matrix)`` that maps a
weight-shaped tensor (the weight, its gradient, an update) to that matrix and back, or ``None`` for a
parameter that is not a matrix.

===============================================  ==========================  ====================================
module, parameter                                stored shape                matrix view
===============================================  ==========================  ====================================
``nn.Linear`` (and subclasses) ``weight``        :math:`(m, n)`              as stored
``nn.Conv1d/2d/3d`` ``weight``, groups = 1       :math:`(c_o, c_i, k\dots)`  row-major :math:`c_o\times c_i\prod k`
``nn.Conv1d/2d/3d`` ``weight``, groups = g > 1   :math:`(c_o, c_i/g, k\dots)`  g blocks
                                                                             :math:`c_o/g\times(c_i/g)\prod k`
HF ``transformers.pytorch_utils.Conv1D``         :math:`(n, m)`,             the transpose: :math:`m` = out,
``weight``                                       :math:`y=xW+b`              :math:`n` = in
``nn.MultiheadAttention`` ``in_proj_weight``     :math:`(3E, E)` etc.        as stored (``F.linear``; Q, K, V
(and ``q/k/v_proj_weight``)                                                  stacked as one matrix, like the
                                                                             zoo's fused ``attn.qkv``)
``nn.Embedding`` / ``nn.EmbeddingBag``           :math:`(V, E)`              ``None``: a lookup table
``weight`` (:data:`EMBEDDING_MODULES`)
any parameter with fewer than 2 dimensions       biases, norm gains          ``None``
any other parameter with ≥ 2 dimensions whose                                ``ValueError`` (no supported view:
name contains ``weight`` (``nn.ConvTranspose*``,                             never a silent fallback)
``nn.Bilinear``, ``nn.LSTM``'s ``weight_ih_l0``,
a custom module's raw ``weight``)
any other parameter with ≥ 2 dimensions                                      ``None``: a free tensor, added or
(a ViT ``pos_embed``, ``cls_token``, ...)                                    concatenated, not a layer's map
===============================================  ==========================  ====================================

**Grouped convolutions: per-group blocks.** A conv with :math:`g` groups is the linear map whose full
im2col matrix (:math:`c_o\times c_i\prod k`) is **block diagonal**: block :math:`j` is the weight
rows :math:`jc_o/g,\dots,(j+1)c_o/g-1` read row-major, acting on input channels
:math:`jc_i/g,\dots,(j+1)c_i/g-1`; the off-diagonal blocks are structurally zero and are not parameters.
The SVD of a block-diagonal matrix is the union of its blocks' SVDs, so every spectral matrix function
:math:`F(G)=\sum_kT(\sigma_k)u_kw_k^\top` of the layer's operator is block diagonal with blocks
:math:`F(G_j)`: applying :math:`F` per block *is* :math:`F` of the layer's map, and the update stays in the
parameter space (zero off-diagonal blocks). The row-major view of the stored weight,
:math:`c_o\times(c_i/g)\prod k`, would put the inputs of different groups into the same columns and mix, in
its singular vectors, coordinates that the layer never combines (for a depthwise conv: channels that never
interact) — a function of a matrix that is not the layer's map. So ``to_matrix`` returns a stack
``(g, c_o/g, (c_i/g)·Πk)`` (every route of :mod:`empirics.optim.transfer` accepts a batch); ``groups = 1``
is the plain row-major matrix of docs/theory-reference.md §1.5 / :func:`empirics.layers.weight_matrix`.

``to_matrix`` returns a view where it can (no copy); ``from_matrix`` takes a tensor of the matrix shape
(any dtype) and returns the weight's shape. Both are ``functools.partial`` objects, so a view pickles.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import torch
from torch import Tensor, nn

from empirics import layerkinds as LK

__all__ = ["EMBEDDING_MODULES", "MatrixView", "matrix_view", "row_major_view"]

#: Modules whose ``weight`` is a lookup table (never a matrix; see the routing rule in :mod:`~empirics.optim.routing`).
EMBEDDING_MODULES = (nn.Embedding, nn.EmbeddingBag)

#: MHA projections stored separately when ``kdim``/``vdim`` differ from ``embed_dim`` (not in the engine's
#: measured table, which has the fused ``in_proj_weight``): optimised as stored
_MHA_MATRICES = ("q_proj_weight", "k_proj_weight", "v_proj_weight")


class MatrixView(NamedTuple):
    """``to_matrix``: weight-shaped tensor → ``(m, n)`` (or a stack ``(g, m, n)``); ``from_matrix``: back."""

    to_matrix: partial[Tensor]
    from_matrix: partial[Tensor]


def _same(t: Tensor) -> Tensor:
    return t


def _transpose(t: Tensor) -> Tensor:
    return t.mT


def _rows(t: Tensor, groups: int) -> Tensor:
    return t.reshape(t.shape[0], -1) if groups == 1 else t.reshape(groups, t.shape[0] // groups, -1)


def _reshape(D: Tensor, shape: tuple[int, ...]) -> Tensor:
    return D.reshape(shape)


def row_major_view(shape: tuple[int, ...] | torch.Size, groups: int = 1) -> MatrixView:
    """Row-major view of a weight of ``shape``: :math:`m` = ``shape[0]``, :math:`n` = the rest (``groups``
    > 1: ``groups`` blocks of ``shape[0] / groups`` rows, see the module docstring)."""
    shape = tuple(shape)
    if len(shape) < 2 or groups < 1 or shape[0] % groups:
        raise ValueError(f"no row-major matrix view of shape {shape} with {groups} groups")
    return MatrixView(partial(_rows, groups=groups), partial(_reshape, shape=shape))


def matrix_view(module: nn.Module, param_name: str) -> MatrixView | None:
    """The matrix view of ``module``'s direct parameter ``param_name``, ``None`` if it is not a matrix.

    See the module docstring for the table. Raises ``ValueError`` (one line naming the module type, the
    parameter and its shape) for a ≥ 2-D parameter called ``*weight*`` that has no supported view, and for an
    uninitialised lazy parameter.
    """
    p = dict(module.named_parameters(recurse=False)).get(param_name)
    if p is None:
        raise ValueError(f"{type(module).__name__} has no parameter {param_name!r}")
    kind = type(module).__name__
    if isinstance(p, nn.parameter.UninitializedParameter):
        raise ValueError(f"{kind}.{param_name} is an uninitialised lazy parameter (run one forward pass first)")
    if isinstance(module, EMBEDDING_MODULES) and param_name == "weight":
        return None
    if p.dim() < 2:
        return None
    lk = LK.kind_of(module, param_name)  # the engine's layer-kind table decides what a matrix weight is
    if lk is not None and lk is not LK.EMBEDDING:
        if lk.transposed:  # HF Conv1D: stored (in, out)
            return MatrixView(partial(_transpose), partial(_transpose))
        if lk.name.startswith("conv"):
            return row_major_view(p.shape, module.groups)  # type: ignore[arg-type]
        return MatrixView(partial(_same), partial(_same))
    if isinstance(module, nn.MultiheadAttention) and param_name in _MHA_MATRICES and p.dim() == 2:
        return MatrixView(partial(_same), partial(_same))
    if "weight" in param_name:
        raise ValueError(f"{kind}.{param_name} of shape {tuple(p.shape)} has no supported matrix view")
    return None
