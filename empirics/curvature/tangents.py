r"""Forward tangents with a row dimension, and the op categories of the forward-adjoint method.

A :class:`Tan` is the first-order tangent :math:`\dot x` of one tensor along several directions at once:
``val`` has shape (rows, *x.shape), covering rows ``start .. stop`` of the directions (rows outside are
zero). Helpers combine tangents over different row ranges and contract source terms with an adjoint
(:func:`qsum`: :math:`\sum_x\lambda(x)\,p_n(x)\,q_n(x)` per row :math:`n`, reducing broadcast dimensions
before anything of full size is formed).

Categories of ATen ops (:func:`category`): ``linear`` (views, sums, adds, selections, pads, casts,
embeddings: no source term), ``piecewise`` (ReLU, max-pooling, clamps: second derivative 0), ``bilinear``
(products, matmuls, convolutions, division: a source term only when two factors vary along the same
rows), ``constant`` (masks, indices) and ``nonlinear`` (everything else).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch.utils._pytree import tree_flatten

__all__ = [
    "Tan",
    "Unsupported",
    "span",
    "widen",
    "bc",
    "overlap",
    "rows_of",
    "tdim",
    "linear_sum",
    "rowdot",
    "qsum",
    "base_name",
    "category",
    "BILINEAR_FACTORS",
    "RELAYOUT",
    "FIRST_OUTPUT_ONLY",
    "tensors_of",
]


class Unsupported(Exception):
    """An op (or a use of one) the forward-adjoint method does not cover; the message names it."""


@dataclass
class Tan:
    """A tangent: rows ``start .. start + val.shape[0]`` of the directions, ``val`` of shape (rows, *primal shape)."""

    start: int
    val: torch.Tensor

    @property
    def stop(self) -> int:
        """One past the last direction row this tangent holds."""
        return self.start + self.val.shape[0]


def tensors_of(out) -> list[torch.Tensor]:
    """The tensors among an op's outputs (one tensor, or the tensor leaves of a tuple or list)."""
    if isinstance(out, torch.Tensor):
        return [out]
    return [t for t in tree_flatten(out)[0] if isinstance(t, torch.Tensor)]


def span(tans) -> tuple[int, int]:
    """The smallest row range covering every tangent."""
    return min(t.start for t in tans), max(t.stop for t in tans)


def widen(t: Tan, start: int, stop: int) -> torch.Tensor:
    """``t.val`` over rows ``start .. stop`` (zeros outside its own rows)."""
    if t.start == start and t.stop == stop:
        return t.val
    out = t.val.new_zeros((stop - start, *t.val.shape[1:]))
    out[t.start - start : t.stop - start] = t.val
    return out


def bc(v: torch.Tensor, ndim: int) -> torch.Tensor:
    """(rows, *s) -> (rows, 1, …, *s) with ``ndim`` primal dims, to broadcast against (rows, *out)."""
    extra = ndim - (v.dim() - 1)
    return v.reshape(v.shape[0], *([1] * extra), *v.shape[1:]) if extra > 0 else v


def overlap(a: Tan, b: Tan) -> tuple[int, int] | None:
    """The rows two tangents share, or ``None``."""
    lo, hi = max(a.start, b.start), min(a.stop, b.stop)
    return (lo, hi) if lo < hi else None


def rows_of(t: Tan, lo: int, hi: int) -> torch.Tensor:
    """Rows ``lo .. hi`` of a tangent (within its range)."""
    return t.val[lo - t.start : hi - t.start]


def tdim(dim: int, nd: int) -> int:
    """A primal dim index as the tangent's (one leading row dim)."""
    return (dim % max(nd, 1)) + 1


def linear_sum(parts: list[tuple[Tan, Callable[[torch.Tensor], torch.Tensor]]], ndim: int) -> Tan:
    """Σ f_a(ẋ_a) over the given tangents (each f_a linear, applied to the tangent's own rows); a fresh
    tensor wherever rows are combined (a tangent's own tensor is never written to)."""
    start, stop = span([t for t, _ in parts])
    out = None
    partial = []
    for t, f in parts:
        v = bc(f(t.val), ndim)
        if t.start == start and t.stop == stop:
            out = v if out is None else out + v
        else:
            partial.append((t, v))
    if partial:
        shapes = [v.shape[1:] for _, v in partial] + ([out.shape[1:]] if out is not None else [])
        shape = torch.broadcast_shapes(*shapes)
        ref = partial[0][1]
        new = ref.new_zeros((stop - start, *shape)) if out is None else out.expand(stop - start, *shape).clone()
        for t, v in partial:
            new[t.start - start : t.stop - start] += v
        out = new
    return Tan(start, out)  # type: ignore[arg-type]


def rowdot(s: torch.Tensor, lam: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_x s_n(x)\lambda(x)` per row; ``s`` (rows, *shape) broadcastable to (rows, *lam.shape)."""
    n = s.shape[0]
    s = bc(s, lam.dim())
    if s.shape[1:] != lam.shape:
        dims = [i for i in range(1, s.dim()) if s.shape[i] == 1 and lam.shape[i - 1] != 1]
        lam = lam.sum([d - 1 for d in dims], keepdim=True) if dims else lam
        s = s.expand(n, *lam.shape)
    return s.reshape(n, -1) @ lam.reshape(-1)


def qsum(lam: torch.Tensor, p: torch.Tensor, q: torch.Tensor) -> torch.Tensor:
    r""":math:`\sum_x\lambda(x)\,p_n(x)\,q_n(x)` per row :math:`n`; ``p``, ``q`` (rows, …) broadcast against
    ``lam`` (the output's shape). Dimensions where both factors are broadcast are summed out of ``lam``
    first; where only the smaller factor is, they are summed out of ``lam·p`` before the last product."""
    nd = lam.dim()
    p, q = bc(p, nd), bc(q, nd)
    if q.numel() > p.numel():
        p, q = q, p
    both = [i for i in range(1, nd + 1) if p.shape[i] == 1 and q.shape[i] == 1 and lam.shape[i - 1] != 1]
    if both:
        lam = lam.sum([i - 1 for i in both], keepdim=True)
    t = p * lam
    dims = [i for i in range(1, t.dim()) if q.shape[i] == 1 and t.shape[i] != 1]
    if dims:
        t = t.sum(dims, keepdim=True)
    n = t.shape[0]
    q = q.expand(n, *t.shape[1:])
    return torch.bmm(t.reshape(n, 1, -1), q.reshape(n, -1, 1)).reshape(n)


# ---------------------------------------------------------------------------------------------------------
# op tables (ATen packet names, in-place variants without their trailing underscore)

#: ops whose output is the input's elements in the same row-major order
RELAYOUT = frozenset(
    """view _unsafe_view reshape _reshape_alias unsqueeze squeeze flatten unflatten clone contiguous alias
    lift_fresh lift_fresh_copy view_copy _reshape_copy""".split()
)
_LINEAR = RELAYOUT | frozenset(
    """_to_copy expand permute transpose t slice select split split_with_sizes unbind chunk cat stack sum
    mean neg add sub rsub masked_fill where embedding index_select constant_pad_nd copy_ detach fill zero
    tril triu flip roll repeat avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d
    _adaptive_avg_pool2d adaptive_avg_pool3d im2col col2im pixel_shuffle pixel_unshuffle expand_as
    new_zeros zeros_like empty_like ones_like full_like nll_loss_forward nll_loss nll_loss2d_forward gather
    diagonal movedim""".split()
)
_PIECEWISE = frozenset(
    """relu threshold hardtanh clamp clamp_min clamp_max leaky_relu abs max_pool2d_with_indices
    max_pool1d_with_indices max_pool3d_with_indices maximum minimum amax amin max min""".split()
)
#: bilinear ops: positions of the factors
BILINEAR_FACTORS = {
    "mul": (0, 1),
    "div": (0, 1),
    "mm": (0, 1),
    "bmm": (0, 1),
    "addmm": (1, 2),
    "baddbmm": (1, 2),
    "addcmul": (1, 2),
    "convolution": (0, 1),
}
#: nonlinear ops with several outputs of which only the first is differentiable (the others: statistics that
#: autograd treats as constants)
FIRST_OUTPUT_ONLY = frozenset({"native_layer_norm"})
#: ops whose output is not differentiable (masks, indices, shapes)
_CONSTANT = frozenset(
    """eq ne gt ge lt le sign argmax argmin isnan isinf isfinite logical_not logical_and logical_or arange
    bitwise_not bitwise_and bitwise_or scalar_tensor full zeros ones empty empty_strided randn rand""".split()
)


def base_name(func) -> str:
    """The op's name without the in-place underscore (``relu_`` -> ``relu``; ``copy_`` stays)."""
    n = func.overloadpacket.__name__
    return n if n == "copy_" or not n.endswith("_") else n[:-1]


def category(func) -> str:
    """``linear``, ``piecewise``, ``bilinear``, ``constant`` or ``nonlinear``."""
    b = base_name(func)
    if b in _CONSTANT:
        return "constant"
    if b in BILINEAR_FACTORS:
        return "linear" if func._overloadname.startswith("Scalar") else "bilinear"
    if b in _LINEAR:
        return "linear"
    if b in _PIECEWISE:
        return "piecewise"
    return "nonlinear"
