r"""Where a layer's tangent enters the forward-adjoint pass: at its module's output, from the factors of
:math:`D_k=u_kw_k^\top`.

For a layer whose module computes :math:`z=W\star a+b` once per forward, with :math:`W` used nowhere else,
:math:`z(W+tD)=z+t\,D\star a` exactly, so the tangent can start at :math:`z` as :math:`\dot z=D\star a`.
With :math:`D=uw^\top` (the matrix view, :mod:`empirics.layerkinds`) that is

* Linear / HF ``Conv1D``: :math:`\dot z=(a\cdot w)\,u` — :math:`O(B(m+n))` per direction instead of the
  :math:`O(Bmn)` of a matmul with a dense :math:`D`;
* Conv (``groups = 1``): :math:`\dot z=u\otimes(w\star a)`, one convolution with a single output channel;
* Embedding: :math:`\dot z=u[\mathrm{idx}]\,w`.

Other kinds, or a :math:`D` that is not rank one, use the kind's dense tangent map
(:func:`empirics.layerkinds.tangent_map`). :func:`eligible` decides from the pass-1 record (module calls,
the ops that read the weight) whether output injection is exact; otherwise the tangent starts at the weight.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn
from torch.func import vmap

from empirics import layerkinds as LK

__all__ = ["factor_rank_one", "output_tangent", "eligible"]

Tangent = Callable[[torch.Tensor], torch.Tensor]


def factor_rank_one(Dm: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor] | None:
    """(U (k, m), W (k, n)) with ``Dm[i] = U[i] W[i]ᵀ`` to round-off, or ``None`` when some ``Dm[i]`` is not
    rank one. ``Dm``: (k, m, n) directions in the matrix view. Three matrix-vector products per direction:
    ``u ∝ D r₁``, ``w = Dᵀu``, and the check ``D r₂ = u (w·r₂)`` with fixed pseudo-random ``r₁, r₂`` (a matrix
    of rank > 1 passes it only for ``r₂`` in a set of measure zero)."""
    k, m, n = Dm.shape
    gen = torch.Generator().manual_seed(17)
    r = torch.randn(2, n, generator=gen, dtype=torch.float64).to(device=Dm.device, dtype=Dm.dtype)
    Dr = torch.einsum("kmn,jn->jkm", Dm, r)  # (2, k, m)
    tiny = torch.finfo(Dm.dtype).tiny
    u = Dr[0] / Dr[0].norm(dim=1, keepdim=True).clamp_min(tiny)
    w = torch.einsum("km,kmn->kn", u, Dm)
    err = (Dr[1] - u * (w @ r[1])[:, None]).norm(dim=1)
    scale = w.norm(dim=1) * r[1].norm()
    if not bool((err <= 1e3 * torch.finfo(Dm.dtype).eps * scale.clamp_min(tiny)).all()):
        return None
    return u, w


def _factored(module: nn.Module, kind: LK.LayerKind, a: torch.Tensor, u, w) -> torch.Tensor | None:
    if kind is LK.LINEAR or kind is LK.HF_CONV1D:
        s = torch.movedim(a @ w.T, -1, 0).contiguous()  # (k, ...)
        return s.unsqueeze(-1) * u.reshape(u.shape[0], *([1] * (s.dim() - 1)), u.shape[1])
    if kind.name.startswith("conv") and getattr(module, "groups", 1) == 1:
        weight = module.get_parameter(kind.param)
        wk = w.reshape(w.shape[0], *weight.shape[1:])
        s = module._conv_forward(a, wk, None).movedim(1, 0).contiguous().unsqueeze(2)  # type: ignore[operator]
        return s * u.reshape(u.shape[0], 1, u.shape[1], *([1] * (s.dim() - 3)))
    if kind is LK.EMBEDDING and getattr(module, "max_norm", None) is None:
        return u[:, a].unsqueeze(-1) * w.reshape(w.shape[0], *([1] * a.dim()), w.shape[1])
    return None


def output_tangent(module: nn.Module, kind: LK.LayerKind, D: torch.Tensor) -> Tangent:
    """``a -> Ż`` (rows, *z.shape) for the module's input ``a``: from the rank-one factors of ``D`` (rows,
    *weight shape) where the kind allows, else the kind's dense tangent map."""
    shape = tuple(D.shape[1:])
    factors = factor_rank_one(kind.to_matrix(D, stacked=True)) if D.dim() >= 3 else None
    dense = LK.tangent_map(module, kind.param)

    def run(a: torch.Tensor) -> torch.Tensor:
        if factors is not None:
            z = _factored(module, kind, a, *factors)
            if z is not None:
                return z
        if isinstance(dense, str):
            raise ValueError(dense)
        return vmap(lambda d: dense(a, d.reshape(shape)))(D)

    return run


def eligible(module: nn.Module, kind: LK.LayerKind, tied: bool, calls: int, uses: list[int], window) -> bool:
    """Whether the tangent may start at the module's output: one call per forward, a tangent map for the
    kind, the weight not tied and read by no op outside that call (``window`` = its op-index range)."""
    if tied or calls != 1 or window is None or isinstance(LK.tangent_map(module, kind.param), str):
        return False
    lo, hi = window
    if kind is LK.EMBEDDING and getattr(module, "max_norm", None) is not None:
        return False
    return all(lo <= i < hi for i in uses) and bool(uses)
