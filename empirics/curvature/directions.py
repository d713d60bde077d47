r"""The gradient of each layer and its singular directions (docs/theory-reference.md §1.3).

:func:`gradient_matrices` — :math:`G=\nabla_W\mathcal L=\frac1B\sum_i\delta_ia_i^\top` in the matrix view
(:mod:`empirics.layerkinds`); :func:`top_k_directions` — :math:`G=\sum_k\sigma_ku_kw_k^\top` with the
numerical rank; :func:`direction_tensors` — :math:`D_k=u_kw_k^\top` in the parameter's own shape,
:math:`v_k=\mathrm{vec}(D_k)` (row-major).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from empirics import distributed as dist
from empirics import layerkinds as LK
from empirics.curvature.functional import LossFn
from empirics.layers import locate

__all__ = ["Directions", "gradient_matrices", "top_k_directions", "direction_tensors", "leading", "layer_directions"]


@dataclass(frozen=True)
class Directions:
    r"""Top-k SVD of :math:`G`: ``sigma`` (k,), ``U`` (m, k), ``W`` (n, k); ``rank`` = #{σ_i > rtol·σ_1}."""

    sigma: torch.Tensor
    U: torch.Tensor
    W: torch.Tensor
    rank: int
    rtol: float = 0.0


def gradient_matrices(model: nn.Module, loss_fn: LossFn, inputs, targets, names) -> dict[str, torch.Tensor]:
    r""":math:`G=\nabla_W\mathcal L` of every named layer, in matrix view (m, n), from one backward (all-reduced)."""
    names = list(names)
    layers = [locate(model, n) for n in names]
    params = [model.get_parameter(ly.key) for ly in layers]
    n_global = dist.global_count(len(targets), device=params[0].device)
    flags = [p.requires_grad for p in params]
    for p in params:
        p.requires_grad_(True)
    try:
        with torch.enable_grad():
            loss = loss_fn(model(inputs), targets).sum() / n_global
            grads = torch.autograd.grad(loss, params, allow_unused=True)
    finally:
        for p, flag in zip(params, flags, strict=True):
            p.requires_grad_(flag)
    out = {}
    for n, ly, p, g in zip(names, layers, params, grads, strict=True):
        g = torch.zeros_like(p) if g is None else g.detach()
        out[n] = dist.all_reduce_sum(ly.kind.to_matrix(g).contiguous())
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


def leading(d_full: Directions, kk: int) -> Directions:
    """The top ``kk`` of a full set of singular directions (rank and its tolerance kept)."""
    return Directions(d_full.sigma[:kk], d_full.U[:, :kk], d_full.W[:, :kk], d_full.rank, d_full.rtol)


def direction_tensors(d: Directions, module: nn.Module, param: str = "weight") -> torch.Tensor:
    r"""Stack of :math:`D_k=u_kw_k^\top` in the shape of ``module``'s parameter ``param``: (k, *shape)."""
    D = torch.einsum("mk,nk->kmn", d.U, d.W)
    return LK.matrix_to_param(D, module, param)


def layer_directions(model: nn.Module, name: str, d: Directions) -> torch.Tensor:
    r"""Stack of :math:`D_k` for layer ``name`` (any kind of :mod:`empirics.layerkinds`): (k, *shape)."""
    ly = locate(model, name)
    shape = tuple(model.get_parameter(ly.key).shape)
    return ly.kind.from_matrix(torch.einsum("mk,nk->kmn", d.U, d.W), shape)
