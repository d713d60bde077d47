r"""Tangent rules of the linear and piecewise-linear ATen ops (no source term).

Each rule maps the input tangents (:class:`~empirics.curvature.tangents.Tan`, one leading row dimension) to
the output tangent by the op itself with the dimension indices shifted by one, or by its derivative mask
(ReLU, clamps, max-pooling: the same subgradient conventions as autograd's backward formulas). A rule that
does not apply returns ``NotImplemented`` and the caller uses forward-mode AD on the op.
"""

from __future__ import annotations

import torch

from empirics.curvature.tangents import RELAYOUT, Tan, bc, linear_sum, span, tdim, widen

__all__ = ["linear_rule", "piecewise_rule"]

_BATCH_FIRST = frozenset(
    """avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d _adaptive_avg_pool2d
    adaptive_avg_pool3d pixel_shuffle pixel_unshuffle im2col""".split()
)
_NO_TANGENT = frozenset("detach fill zero new_zeros zeros_like empty_like ones_like full_like".split())


def _reduce(base, func, args, kwargs, out, t0: Tan) -> Tan:
    n0 = args[0].dim()
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    keep = args[2] if len(args) > 2 else kwargs.get("keepdim", False)
    v = t0.val
    if func._overloadname == "default" or dims is None or len(dims) == 0:
        flat = v.reshape(v.shape[0], -1)
        r = flat.sum(1) if base == "sum" else flat.mean(1)
        return Tan(t0.start, r.reshape(v.shape[0], *out.shape).to(out.dtype))
    f = torch.sum if base == "sum" else torch.mean
    return Tan(t0.start, f(v, [tdim(d, n0) for d in dims], keepdim=keep).to(out.dtype))


def _add(base, func, args, kwargs, out, tans, nd) -> Tan:
    if func._overloadname.startswith("Scalar"):
        t0 = tans[0]
        return Tan(t0.start, -t0.val if base == "rsub" else t0.val)
    alpha = kwargs.get("alpha", 1)
    sa, sb = (1, alpha) if base == "add" else (1, -alpha) if base == "sub" else (-alpha, 1)
    parts = []
    if 0 in tans:
        parts.append((tans[0], (lambda v: v) if sa == 1 else (lambda v: sa * v)))
    if 1 in tans:
        parts.append((tans[1], (lambda v: v) if sb == 1 else (lambda v: sb * v)))
    y = linear_sum(parts, nd)
    if y.val.shape[1:] != out.shape:
        y = Tan(y.start, y.val.expand(y.val.shape[0], *out.shape))
    return y


def _cat(base, args, kwargs, tans) -> Tan:
    tensors = args[0]
    start, stop = span(tans.values())
    dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
    vals = []
    for i, x in enumerate(tensors):
        if i in tans:
            vals.append(widen(tans[i], start, stop))
        elif base == "cat" and x.dim() == 1 and x.numel() == 0:
            continue
        else:
            vals.append(x.new_zeros((stop - start, *x.shape)))
    if base == "cat":
        ref = next(x for x in tensors if x.dim() > 1 or x.numel() > 0)
        return Tan(start, torch.cat(vals, tdim(dim, ref.dim())))
    return Tan(start, torch.stack(vals, (dim % (tensors[0].dim() + 1)) + 1))


def _split(base, args, kwargs, t0: Tan) -> list[Tan]:
    n0 = args[0].dim()
    if base == "unbind":
        dim = args[1] if len(args) > 1 else kwargs.get("dim", 0)
        return [Tan(t0.start, v) for v in t0.val.unbind(tdim(dim, n0))]
    dim = args[2] if len(args) > 2 else kwargs.get("dim", 0)
    if base == "chunk":
        return [Tan(t0.start, v) for v in t0.val.chunk(args[1], tdim(dim, n0))]
    return [Tan(t0.start, v) for v in torch.split(t0.val, args[1], tdim(dim, n0))]


def _relayout(base, func, args, kwargs, out, t0: Tan, nd: int):
    v = t0.val
    n0 = args[0].dim()
    if base in RELAYOUT:
        return Tan(t0.start, v.reshape(v.shape[0], *out.shape))
    if base == "_to_copy":
        return Tan(t0.start, v.to(dtype=out.dtype, device=out.device)) if out.is_floating_point() else None
    if base == "expand":
        return Tan(t0.start, bc(v, nd).expand(v.shape[0], *out.shape))
    if base == "permute":
        return Tan(t0.start, v.permute(0, *[tdim(d, n0) for d in args[1]]))
    if base == "transpose":
        return Tan(t0.start, v.transpose(tdim(args[1], n0), tdim(args[2], n0)))
    if base == "t":
        return Tan(t0.start, v.transpose(1, 2) if n0 == 2 else v)
    if base == "slice":
        rest = list(args[1:]) + [None] * (4 - len(args[1:]))
        dim = rest[0] if rest[0] is not None else 0
        step = rest[3] if rest[3] is not None else 1
        return Tan(t0.start, torch.ops.aten.slice.Tensor(v, tdim(dim, n0), rest[1], rest[2], step))
    if base == "select":
        return Tan(t0.start, v.select(tdim(args[1], n0), args[2]))
    if base in ("split", "split_with_sizes", "unbind", "chunk"):
        return _split(base, args, kwargs, t0)
    if base in ("sum", "mean"):
        return _reduce(base, func, args, kwargs, out, t0)
    if base == "neg":
        return Tan(t0.start, -v)
    if base == "masked_fill":
        return Tan(t0.start, v.masked_fill(args[1], 0))
    if base == "embedding":
        return Tan(t0.start, v[:, args[1]])
    if base == "index_select":
        return Tan(t0.start, v.index_select(tdim(args[1], n0), args[2]))
    if base == "constant_pad_nd":
        return Tan(t0.start, torch.nn.functional.pad(v, list(args[1])))
    if base in ("tril", "triu"):
        k = args[1] if len(args) > 1 else 0
        return Tan(t0.start, v.tril(k) if base == "tril" else v.triu(k))
    if base in _BATCH_FIRST and n0 >= 3 and out.shape[0] == args[0].shape[0]:
        y = func(v.flatten(0, 1), *args[1:], **kwargs)
        return Tan(t0.start, y.unflatten(0, (v.shape[0], args[0].shape[0])))
    return NotImplemented


def _nll(args, out, t0: Tan):
    """``nll_loss_forward(x, target, weight, reduction, ignore_index)`` -> (loss, total weight): linear in x."""
    x, target, weight, reduction, ignore = args[:5]
    v = t0.val
    n = v.shape[0]
    if x.dim() == 1:
        v, target = v.unsqueeze(1), target.reshape(1)
    elif x.dim() != 2:
        return NotImplemented
    keep = target != ignore
    idx = target.clamp(min=0) * keep
    g = v.gather(2, idx.reshape(1, -1, 1).expand(n, -1, 1)).squeeze(2)  # (rows, N)
    w = keep.to(v.dtype) if weight is None else weight[idx] * keep
    vals = -g * w
    if reduction == 0:
        res = vals.reshape(n, *out[0].shape)
    elif reduction == 1:
        res = (vals.sum(1) / out[1]).reshape(n, *out[0].shape)
    else:
        res = vals.sum(1).reshape(n, *out[0].shape)
    return [Tan(t0.start, res), None]


def linear_rule(base, func, args, kwargs, out, tans: dict[int, Tan], nd: int):
    """The output tangent(s) of a linear op, ``None`` (constant output) or ``NotImplemented``."""
    if base in _NO_TANGENT:
        return None
    if set(tans) == {0}:
        r = _relayout(base, func, args, kwargs, out, tans[0], nd)
        if r is not NotImplemented:
            return r
    if base == "nll_loss_forward" and set(tans) == {0}:
        return _nll(args, out, tans[0])
    if base in ("add", "sub", "rsub") and set(tans) <= {0, 1}:
        return _add(base, func, args, kwargs, out, tans, nd)
    if base == "where" and set(tans) <= {1, 2}:
        start, stop = span(tans.values())
        a = bc(widen(tans[1], start, stop), nd) if 1 in tans else 0.0
        b = bc(widen(tans[2], start, stop), nd) if 2 in tans else 0.0
        v = torch.where(args[0], a, b)  # type: ignore[arg-type]
        return Tan(start, v.expand(stop - start, *out.shape))
    if base in ("cat", "stack"):
        return _cat(base, args, kwargs, tans)
    if base == "copy_":
        if 1 not in tans:
            return None
        t1 = tans[1]
        return Tan(t1.start, bc(t1.val, nd).expand(t1.val.shape[0], *out.shape).to(out.dtype).clone())
    return NotImplemented


def piecewise_rule(base, args, out, t0: Tan):
    """The output tangent of a piecewise-linear op of one varying input (autograd's masks), or ``None``."""
    x0, v = args[0], t0.val
    if base in ("relu", "threshold"):
        th = 0.0 if base == "relu" else args[1]
        return Tan(t0.start, v * (x0 > th))
    if base in ("hardtanh", "clamp", "clamp_min", "clamp_max"):
        if base == "hardtanh":
            lo, hi = (args[1] if len(args) > 1 else -1.0), (args[2] if len(args) > 2 else 1.0)
        elif base == "clamp":
            lo, hi = (args[1] if len(args) > 1 else None), (args[2] if len(args) > 2 else None)
        else:
            lo, hi = (args[1], None) if base == "clamp_min" else (None, args[1])
        if isinstance(lo, torch.Tensor) or isinstance(hi, torch.Tensor):
            return None
        mask = torch.ones_like(x0, dtype=torch.bool)
        if lo is not None:
            mask &= (x0 > lo) if base == "hardtanh" else (x0 >= lo)
        if hi is not None:
            mask &= (x0 < hi) if base == "hardtanh" else (x0 <= hi)
        return Tan(t0.start, v * mask)
    if base == "leaky_relu":
        slope = args[1] if len(args) > 1 else 0.01
        return Tan(t0.start, torch.where(x0 > 0, v, slope * v))
    if base == "abs":
        return Tan(t0.start, v * torch.sign(x0))
    if base == "max_pool2d_with_indices":
        idx = out[1].flatten(-2)
        n = v.shape[0]
        g = v.flatten(-2).gather(-1, idx.unsqueeze(0).expand(n, *idx.shape))
        return [Tan(t0.start, g.reshape(n, *out[1].shape)), None]
    return None
