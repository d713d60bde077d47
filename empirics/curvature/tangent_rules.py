r"""Tangents and source terms of single ATen ops (for :mod:`~empirics.curvature.forward_adjoint`).

Along a path :math:`t\mapsto x(t)` an op :math:`y=\varphi(x^{(1)},x^{(2)},\dots)` has

.. math::  \dot y=\textstyle\sum_a\partial_a\varphi\,\dot x^{(a)},\qquad
           \ddot y=\textstyle\sum_a\partial_a\varphi\,\ddot x^{(a)}+s,\quad
           s=\textstyle\sum_{a,b}\partial_{ab}\varphi[\dot x^{(a)},\dot x^{(b)}],

:math:`s` the op's *source term*. :func:`apply_rule` returns :math:`\dot y` and, where :math:`s\ne0`, a
*contraction* ``lam -> (row_start, per-row values)`` of :math:`\langle\lambda,s\rangle` with the output's
adjoint :math:`\lambda` — formed without materialising :math:`s` where the rule allows (the adjoint and the
primal factors have no row dimension, so they are combined first). Closed forms for products, matmuls,
division, the common activations, softmax, log-softmax and variance; any other op by ``torch.func``'s
forward-mode AD on that op alone (nested once for :math:`s`). Linear and piecewise-linear ops:
:mod:`~empirics.curvature.tangent_linear`.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import torch
from torch.func import jvp, vmap
from torch.utils._pytree import tree_flatten, tree_unflatten

from empirics.curvature.tangent_linear import linear_rule, piecewise_rule
from empirics.curvature.tangents import (
    Tan,
    Unsupported,
    base_name,
    bc,
    category,
    linear_sum,
    overlap,
    qsum,
    rowdot,
    rows_of,
    span,
    tdim,
    widen,
)

__all__ = ["apply_rule", "Source", "mm_left", "mm_right"]

#: ``lam -> (first row, per-row values of <lam, s>)``
Source = Callable[[torch.Tensor], tuple[int, torch.Tensor]]


# ---------------------------------------------------------------------------------------------------------
# generic rule: torch.func on the single op


def _generic(func, args, kwargs, flat, spec, tans: dict[int, Tan], want_source: bool):
    if spec is None:
        flat, spec = tree_flatten((args, kwargs))
    idx = sorted(tans)
    start, stop = span(tans.values())
    vals = [widen(tans[i], start, stop) for i in idx]
    prims = tuple(flat[i] for i in idx)

    def f(*xs):
        fl = list(flat)
        for i, x in zip(idx, xs, strict=True):
            fl[i] = x
        a, k = tree_unflatten(fl, spec)
        return func(*a, **k)

    try:
        y1 = vmap(lambda *t: jvp(f, prims, t)[1])(*vals)
        s = vmap(lambda *t: jvp(lambda *p: jvp(f, p, t)[1], prims, t)[1])(*vals) if want_source else None
    except Exception as exc:  # noqa: BLE001 - an op without forward-mode AD (or batching rule)
        raise Unsupported(f"{func}: no forward-mode rule ({type(exc).__name__}: {str(exc)[:120]})") from exc
    return start, y1, s


def _wrap(start, y1):
    if isinstance(y1, torch.Tensor):
        return Tan(start, y1)
    if isinstance(y1, (tuple, list)):
        return [Tan(start, v) if isinstance(v, torch.Tensor) and v.is_floating_point() else None for v in y1]
    return None


# ---------------------------------------------------------------------------------------------------------
# unary elementwise ops: (φ'(x, y), φ''(x, y))

_INV_SQRT_2PI = 1 / math.sqrt(2 * math.pi)


def _gelu_d(x, y):
    pdf = torch.exp(-0.5 * x * x) * _INV_SQRT_2PI
    cdf = 0.5 * (1 + torch.erf(x / math.sqrt(2)))
    return cdf + x * pdf, pdf * (2 - x * x)


def _silu_d(x, y):
    s = torch.sigmoid(x)
    return s * (1 + x * (1 - s)), s * (1 - s) * (2 + x * (1 - 2 * s))


def _erf_d(x, y):
    e = 2 / math.sqrt(math.pi) * torch.exp(-x * x)
    return e, -2 * x * e


_UNARY: dict[str, Callable] = {
    "exp": lambda x, y: (y, y),
    "log": lambda x, y: (1 / x, -1 / (x * x)),
    "tanh": lambda x, y: (1 - y * y, -2 * y * (1 - y * y)),
    "sigmoid": lambda x, y: (y * (1 - y), y * (1 - y) * (1 - 2 * y)),
    "rsqrt": lambda x, y: (-0.5 * y / x, 0.75 * y / (x * x)),
    "sqrt": lambda x, y: (0.5 / y, -0.25 / (y * x)),
    "reciprocal": lambda x, y: (-y * y, 2 * y * y * y),
    "erf": _erf_d,
    "silu": _silu_d,
}


def _unary(base, func, args, kwargs, out, t0: Tan, lam=None, kernels=None):
    x0 = args[0]
    if base == "gelu":
        if kwargs.get("approximate", "none") != "none":
            return None
        d1, d2 = _gelu_d(x0, out)
    elif base == "pow":
        if func._overloadname != "Tensor_Scalar":
            return None
        p = args[1]
        d1, d2 = (2 * x0, torch.full_like(x0, 2.0)) if p == 2 else (p * x0 ** (p - 1), p * (p - 1) * x0 ** (p - 2))
    elif base in _UNARY:
        d1, d2 = _UNARY[base](x0, out)
    else:
        return None
    v = t0.val
    if kernels is not None and lam is not None and v.shape[1:] == out.shape == lam.shape == d1.shape == d2.shape:
        y1, vals = kernels.unary(d1, lam * d2, v)  # one fused pass over the rows (empirics.curvature.fused)
        return Tan(t0.start, y1), (lambda _lam: (t0.start, vals))
    return Tan(t0.start, d1 * v), (lambda lam: (t0.start, qsum(lam * d2, v, v)))


def _softmax(base, args, out, t0: Tan):
    if args[2]:  # half_to_float
        return None
    v, y0 = t0.val, out
    d = tdim(args[1], args[0].dim())
    dim = args[1]
    if base == "_log_softmax":
        p = torch.exp(y0)
        m = (p * v).sum(d, keepdim=True)

        def src_log(lam):  # s = -(Σ p v² - m²), constant along dim
            q = (p * v * v).sum(d, keepdim=True) - m * m
            return t0.start, -rowdot(q, lam.sum(dim, keepdim=True))

        return Tan(t0.start, v - m), src_log
    c = v - (y0 * v).sum(d, keepdim=True)
    y1 = y0 * c

    def src(lam):  # s = ẏ c - y Σ(ẏ v)
        w = lam * y0
        return t0.start, qsum(w, c, c) - rowdot((y1 * v).sum(d, keepdim=True), w.sum(dim, keepdim=True))

    return Tan(t0.start, y1), src


def _var(args, kwargs, out, t0: Tan):
    x0 = args[0]
    nd = x0.dim()
    dims = args[1] if len(args) > 1 else kwargs.get("dim")
    corr = kwargs.get("correction")
    corr = 1 if corr is None else corr
    keep = kwargs.get("keepdim", False)
    dims = list(range(nd)) if dims is None or len(dims) == 0 else [d % nd for d in dims]
    n = math.prod(x0.shape[d] for d in dims)
    td = [d + 1 for d in dims]
    xc = x0 - x0.mean(dims, keepdim=True)
    vc = t0.val - t0.val.mean(td, keepdim=True)
    y1 = 2 * (xc * vc).sum(td, keepdim=keep) / (n - corr)
    return Tan(t0.start, y1), (lambda lam: (t0.start, rowdot(2 * (vc * vc).sum(td, keepdim=keep) / (n - corr), lam)))


def _layer_norm(args, out, tans: dict[int, Tan], nd: int):
    r"""``native_layer_norm(x, shape, γ, β, ε) -> (y, μ, r)``, :math:`y=\hat x\gamma+\beta`, :math:`\hat x=(x-\mu)r`,
    :math:`r=(\mathrm{var}+\epsilon)^{-1/2}` over the trailing dims (μ and r are not differentiable outputs: no
    tangents). With :math:`\dot c=\dot x-\overline{\dot x}`, :math:`a=\overline{\hat x\dot c}`,
    :math:`q=\overline{\dot c^2}` (means over the normalised dims): :math:`\dot{\hat x}=r(\dot c-a\hat x)` and the
    source :math:`s_{\hat x}=r^2\big((3a^2-q)\hat x-2a\dot c\big)`; :math:`s_y=s_{\hat x}\gamma+2\dot{\hat x}\dot\gamma`."""
    if len(args) != 5:
        raise Unsupported(f"native_layer_norm with {len(args)} positional arguments")
    x, shape, weight = args[0], args[1], args[2]
    wi = 1 + len(shape)  # flat index of γ (the normalised shape's ints are flattened before it)
    stat = (*x.shape[: x.dim() - len(shape)], *([1] * len(shape)))
    mean, rstd = out[1].reshape(stat).to(x.dtype), out[2].reshape(stat).to(x.dtype)
    xhat = (x - mean) * rstd
    td = list(range(nd - len(shape) + 1, nd + 1))
    tx, tg, tb = tans.get(0), tans.get(wi), tans.get(wi + 1)
    parts: list = []
    if tx is not None:
        v = tx.val
        c = v - v.mean(td, keepdim=True)
        a = (c * xhat).mean(td, keepdim=True)
        xd = Tan(tx.start, rstd * (c - a * xhat))
        parts.append((xd, (lambda u: u * weight) if weight is not None else (lambda u: u)))
    if tg is not None:
        parts.append((tg, lambda u: xhat * bc(u, nd)))
    if tb is not None:
        parts.append((tb, lambda u: bc(u, nd)))
    yt = [linear_sum(parts, nd) if parts else None, None, None]
    if tx is None:
        return yt, None

    def src(lam):  # <λ, s_y>: the row-free factors (λγ, x̂, r²) reduced first
        w = lam * weight if weight is not None else lam
        r2 = rstd * rstd
        q = (c * c).mean(td, keepdim=True)
        w1 = (w * xhat).sum([d - 1 for d in td], keepdim=True)
        wc = (w * c).sum(td, keepdim=True)
        per = r2 * ((3 * a * a - q) * w1 - 2 * a * wc)
        h = per.reshape(per.shape[0], -1).sum(1)
        if tg is not None and (ov := overlap(xd, tg)) is not None:
            h = h.clone()
            h[ov[0] - tx.start : ov[1] - tx.start] += 2 * qsum(lam, rows_of(xd, *ov), rows_of(tg, *ov))
        return tx.start, h

    return yt, src


# ---------------------------------------------------------------------------------------------------------
# bilinear ops


def _products(ta, tb, nd, fa, fb, cross):
    """ẏ = fa(ȧ) + fb(ḃ); source from ``cross(ȧ rows, ḃ rows, lam)`` on the shared rows."""
    parts = []
    if ta is not None:
        parts.append((ta, fa))
    if tb is not None:
        parts.append((tb, fb))
    y = linear_sum(parts, nd) if parts else None
    src = None
    if ta is not None and tb is not None and (ov := overlap(ta, tb)) is not None:
        ra, rb = rows_of(ta, *ov), rows_of(tb, *ov)
        src = lambda lam: (ov[0], cross(ra, rb, lam))  # noqa: E731
    return y, src


def mm_left(v: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """``v @ b`` for a tangent ``v`` (rows, *batch, M, K) and a primal ``b`` (*batch, K, N): the rows are folded
    into M (one matmul per batch entry with rows·M rows) instead of repeating ``b`` per row; a view back."""
    if b.dim() == 2:
        return torch.matmul(v, b)
    n, m = v.shape[0], v.shape[-2]
    x = v.movedim(0, -3).reshape(*b.shape[:-2], n * m, v.shape[-1])
    return torch.matmul(x, b).unflatten(-2, (n, m)).movedim(-3, 0)


def mm_right(a: torch.Tensor, v: torch.Tensor) -> torch.Tensor:
    """``a @ v`` for a primal ``a`` (*batch, M, K) and a tangent ``v`` (rows, *batch, K, N): the rows are folded
    into N; a view back."""
    if a.dim() == 2 and v.dim() == 3:
        return torch.matmul(a, v)
    n, k, c = v.shape[0], v.shape[-2], v.shape[-1]
    x = v.movedim(0, -2).reshape(*v.shape[1:-2], k, n * c)
    return torch.matmul(a, x).unflatten(-1, (n, c)).movedim(-2, 0)


def _mm(a, b, ta, tb, nd, alpha=1.0):
    mm = torch.matmul
    return _products(
        ta,
        tb,
        nd,
        lambda v: alpha * mm_left(v, b) if alpha != 1 else mm_left(v, b),
        lambda v: alpha * mm_right(a, v) if alpha != 1 else mm_right(a, v),
        lambda ra, rb, lam: 2 * alpha * rowdot(mm(ra, rb), lam),
    )


def _conv(args, tans, nd):
    x, w = args[0], args[1]
    stride, padding, dilation, transposed, out_pad, groups = args[3:9]

    def conv(inp, weight):
        return torch.ops.aten.convolution(inp, weight, None, stride, padding, dilation, transposed, out_pad, groups)

    def f_in(v):
        return conv(v.flatten(0, 1), w).unflatten(0, (v.shape[0], x.shape[0]))

    def f_w(v):
        if groups == 1 and not transposed:
            return conv(x, v.flatten(0, 1)).unflatten(1, (v.shape[0], w.shape[0])).movedim(1, 0)
        return vmap(lambda d: conv(x, d))(v)

    y, src = _products(tans.get(0), tans.get(1), nd, f_in, f_w, lambda ra, rb, lam: 2 * rowdot(vmap(conv)(ra, rb), lam))
    if 2 in tans:
        tb = tans[2]
        parts = [(tb, lambda v: v.reshape(v.shape[0], -1, *([1] * (nd - 2))))]
        if y is not None:
            parts.append((y, lambda v: v))
        y = linear_sum(parts, nd)
    return y, src


def _div(args, tans, nd):
    a, b = args[0], args[1]
    ta, tb = tans.get(0), tans.get(1)
    parts = []
    if ta is not None:
        parts.append((ta, lambda v: bc(v, nd) / b))
    if tb is not None:
        c = -a / (b * b)
        parts.append((tb, lambda v: bc(v, nd) * c))
    y = linear_sum(parts, nd)
    if tb is None:
        return y, None

    def src(lam):  # s = 2 a ḃ²/b³ - 2 ȧ ḃ/b²
        vb = tb.val
        h = 2 * qsum(lam * a / (b * b * b), vb, vb)
        if ta is not None and (ov := overlap(ta, tb)) is not None:
            h = h.clone()
            h[ov[0] - tb.start : ov[1] - tb.start] -= 2 * qsum(lam / (b * b), rows_of(ta, *ov), rows_of(tb, *ov))
        return tb.start, h

    return y, src


def _bilinear(base, func, args, kwargs, tans, nd):
    if base == "mul":
        a, b = args[0], args[1]
        return _products(
            tans.get(0),
            tans.get(1),
            nd,
            lambda v: bc(v, nd) * b,
            lambda v: a * bc(v, nd),
            lambda ra, rb, lam: 2 * qsum(lam, ra, rb),
        )
    if base == "div":
        if func._overloadname != "Tensor":
            raise Unsupported(f"{func}: rounding division")
        return _div(args, tans, nd)
    if base in ("mm", "bmm"):
        return _mm(args[0], args[1], tans.get(0), tans.get(1), nd)
    if base in ("addmm", "baddbmm"):
        beta, alpha = kwargs.get("beta", 1), kwargs.get("alpha", 1)
        y, src = _mm(args[1], args[2], tans.get(1), tans.get(2), nd, alpha)
        if 0 in tans:
            parts = [(tans[0], lambda v: beta * bc(v, nd) if beta != 1 else bc(v, nd))]
            if y is not None:
                parts.append((y, lambda v: v))
            y = linear_sum(parts, nd)
        return y, src
    if base == "addcmul":
        value = kwargs.get("value", 1)
        a, b = args[1], args[2]
        y, src = _products(
            tans.get(1),
            tans.get(2),
            nd,
            lambda v: value * bc(v, nd) * b,
            lambda v: value * a * bc(v, nd),
            lambda ra, rb, lam: 2 * value * qsum(lam, ra, rb),
        )
        if 0 in tans:
            parts = [(tans[0], lambda v: bc(v, nd))]
            if y is not None:
                parts.append((y, lambda v: v))
            y = linear_sum(parts, nd)
        return y, src
    if base == "convolution" and set(tans) <= {0, 1, 2}:
        return _conv(args, tans, nd)
    return NotImplemented


# ---------------------------------------------------------------------------------------------------------


def apply_rule(func, args, kwargs, out, tans: dict[int, Tan], flat, spec, lam=None, kernels=None):
    """``(out_tangents, source)`` of one op. ``tans``: flat-argument index → :class:`Tan` (only varying
    arguments; ``flat``/``spec`` the flattened ``(args, kwargs)``, ``spec=None`` when they hold no container). ``out_tangents``: a :class:`Tan`, a list of
    them (list outputs) or ``None``; ``source``: ``None`` or a :data:`Source`. Raises :class:`Unsupported`.
    ``lam``, ``kernels``: the output's adjoint (when known) and :class:`~empirics.curvature.fused.FusedKernels`
    (``None``: eager), for the fused unary rule."""
    base = base_name(func)
    cat = category(func)
    if cat == "constant":
        return None, None
    nd = out.dim() if isinstance(out, torch.Tensor) else 0
    if cat == "linear":
        r = linear_rule(base, func, args, kwargs, out, tans, nd)
        if r is not NotImplemented:
            return r, None
        start, y1, _ = _generic(func, args, kwargs, flat, spec, tans, want_source=False)
        return _wrap(start, y1), None
    if cat == "piecewise":
        r = piecewise_rule(base, args, out, tans[0]) if set(tans) == {0} else None
        if r is not None:
            return r, None
        start, y1, _ = _generic(func, args, kwargs, flat, spec, tans, want_source=False)
        return _wrap(start, y1), None
    if cat == "bilinear":
        r = _bilinear(base, func, args, kwargs, tans, nd)
        if r is not NotImplemented:
            return r
    if set(tans) == {0} and isinstance(out, torch.Tensor):
        r = None
        if base in ("_softmax", "_log_softmax"):
            r = _softmax(base, args, out, tans[0])
        elif base == "var" and func._overloadname == "correction":
            r = _var(args, kwargs, out, tans[0])
        else:
            r = _unary(base, func, args, kwargs, out, tans[0], lam, kernels)
        if r is not None:
            return r
    if base == "native_layer_norm":
        return _layer_norm(args, out, tans, out[0].dim())
    if not isinstance(out, torch.Tensor):
        raise Unsupported(f"{func}: a nonlinear op with several outputs")
    start, y1, s = _generic(func, args, kwargs, flat, spec, tans, want_source=True)
    return _wrap(start, y1), (lambda lam: (start, rowdot(s, lam)))
