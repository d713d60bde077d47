r"""The two dispatch modes of the forward-adjoint method (:mod:`~empirics.curvature.forward_adjoint`).

* :class:`AdjointRecorder` (pass 1, with autograd): which measured weights each tensor depends on, where
  each weight is first used, the op sequence, and the outputs that need an adjoint :math:`\lambda_j` (a
  nonlinear op of a dependent tensor; a product of two factors that depend on one common weight);
* :class:`TangentPropagator` (pass 2, without autograd): the forward tangent :math:`\dot x` (rows × tensor)
  of every dependent tensor and :math:`\sum_j\langle\lambda_j,s_j\rangle` per row.

Tensors are tracked by identity with weak references (:class:`IdTable`): a tangent lives as long as its
tensor. An in-place write is followed when it is into a tensor no other tracked tensor aliases; a write
into a view or aliased storage raises :class:`~empirics.curvature.tangents.Unsupported`.
"""

from __future__ import annotations

import weakref
from functools import cache

import torch
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from empirics.curvature.prefix_cache import PrefixCache
from empirics.curvature.row_budget import StorageBytes
from empirics.curvature.tangent_rules import apply_rule
from empirics.curvature.tangents import (
    BILINEAR_FACTORS,
    FIRST_OUTPUT_ONLY,
    RELAYOUT,
    Tan,
    Unsupported,
    base_name,
    category,
    linear_sum,
    tensors_of,
)

__all__ = ["IdTable", "AdjointRecorder", "TangentPropagator", "op_info", "flat_arguments"]

_EMPTY: frozenset[int] = frozenset()
#: view ops besides the pure relayouts (a weight read through them is still read by that op's reader)
_VIEWS = frozenset("t transpose permute expand _to_copy slice select".split())


class IdTable:
    """tensor -> value by identity, the entry dropped when the tensor is freed. With a ``counter``, each
    entry holds in it the storage of its value's tangent (a :class:`~empirics.curvature.tangents.Tan`) or,
    for a ``None`` value, of the tensor itself."""

    def __init__(self, counter: StorageBytes | None = None) -> None:
        self.d: dict[int, tuple[weakref.ref, object, int | None]] = {}
        self.counter = counter

    def get(self, t, default=None):
        """The value stored for tensor ``t`` itself (not a recycled id), else ``default``."""
        e = self.d.get(id(t))
        return e[1] if e is not None and e[0]() is t else default

    def set(self, t: torch.Tensor, value) -> None:
        """Store ``value`` for ``t``; the entry goes when ``t`` is freed."""
        k, d, counter = id(t), self.d, self.counter
        ptr = None
        if counter is not None:
            old = d.get(k)
            if old is not None and old[2] is not None:
                counter.release(old[2])
            ptr = counter.hold(t if value is None else value.val)

        def gone(r, k=k, d=d, counter=counter):
            e = d.get(k)
            if e is not None and e[0] is r:
                del d[k]
                if counter is not None and e[2] is not None:
                    counter.release(e[2])

        d[k] = (weakref.ref(t, gone), value, ptr)

    def pop(self, t) -> None:
        """Drop ``t``'s entry, if any."""
        e = self.d.get(id(t))
        if e is not None and e[0]() is t:
            del self.d[id(t)]
            if self.counter is not None and e[2] is not None:
                self.counter.release(e[2])

    def clear(self) -> None:
        """Drop every entry (their tensors may outlive the table: a cycle through the weak references'
        callbacks would otherwise keep the values until the garbage collector runs)."""
        if self.counter is not None:
            for _, _, ptr in self.d.values():
                if ptr is not None:
                    self.counter.release(ptr)
        self.d.clear()

    def tensors(self) -> list[torch.Tensor]:
        """The tensors still alive that have an entry."""
        return [t for r, _, _ in list(self.d.values()) if (t := r()) is not None]


@cache
def op_info(func) -> tuple[str, str, bool]:
    """(base name, category, in-place) of an op."""
    a = func._schema.arguments
    inplace = bool(a) and a[0].alias_info is not None and a[0].alias_info.is_write
    return base_name(func), category(func), inplace


def _same(v):
    return v


def _differentiable(base: str, out) -> tuple:
    """The op's differentiable outputs: all of them, or the first one of an op in
    :data:`~empirics.curvature.tangents.FIRST_OUTPUT_ONLY`."""
    if isinstance(out, torch.Tensor):
        return (out,)
    if base in FIRST_OUTPUT_ONLY:
        return (out[0],)
    return tuple(tree_flatten(out)[0])


def _counted(base: str, out) -> torch.Tensor | None:
    """The output an op's adjoint and source term refer to (``None``: several differentiable outputs)."""
    outs = _differentiable(base, out)
    return outs[0] if len(outs) == 1 and isinstance(outs[0], torch.Tensor) else None


def _keys(*names: str):
    out = torch._C.DispatchKeySet(torch._C.DispatchKey.Python)
    for n in names:
        out = out | torch._C.DispatchKeySet(getattr(torch._C.DispatchKey, n))
    return out


#: what stays excluded while a rule runs: this mode's own key and autocast (the op reached here already cast;
#: a rule's matmuls must keep the dtypes they are given — with autocast active a float32 matmul would run in
#: bfloat16 on CPU and float16 on CUDA)
_RULE_EXCLUDE = _keys(*(k for k in torch._C.DispatchKey.__members__ if k.startswith("Autocast")))


def _transforms_enabled():
    """Inside ``__torch_dispatch__`` the dispatch keys of ``torch.func`` (and forward AD) are excluded; a rule
    that uses ``vmap``/``jvp`` on one op runs with them restored (this mode's own key and autocast stay
    excluded)."""
    include = torch._C._dispatch_tls_local_include_set()
    return torch._C._ForceDispatchKeyGuard(include, _RULE_EXCLUDE)


_CONTAINERS = (list, tuple, dict)


def flat_arguments(args, kwargs):
    """Leaves of (args, kwargs) as ``tree_flatten`` orders them, and its spec (``None``: not built — the
    leaves of one level of lists/tuples are expanded here, the spec made only where a rule needs it)."""
    if not any(isinstance(a, _CONTAINERS) for a in args) and not any(
        isinstance(v, _CONTAINERS) for v in kwargs.values()
    ):
        return [*args, *kwargs.values()], None
    flat: list = []
    for a in (*args, *kwargs.values()):
        if type(a) in (list, tuple, torch.Size):
            if any(isinstance(x, _CONTAINERS) for x in a):
                return tree_flatten((args, kwargs))
            flat.extend(a)
        elif isinstance(a, _CONTAINERS):
            return tree_flatten((args, kwargs))
        else:
            flat.append(a)
    return flat, None


def _functional(func):
    """The out-of-place overload of an in-place op (``relu_`` -> ``relu``)."""
    name = base_name(func)
    packet = getattr(torch.ops.aten, "copy" if name == "copy_" else name, None)
    f = getattr(packet, func._overloadname, None) if packet is not None else None
    if f is None:
        raise Unsupported(f"{func}: in-place op without an out-of-place overload")
    return f


def _check_alias(table: IdTable, t: torch.Tensor, func) -> None:
    if t._is_view():
        raise Unsupported(f"{func}: in-place write into a view of a weight-dependent tensor")
    ptr = t.untyped_storage().data_ptr()
    for other in table.tensors():
        if other is not t and other.untyped_storage().data_ptr() == ptr:
            raise Unsupported(f"{func}: in-place write into a tensor that shares storage with another")


class AdjointRecorder(TorchDispatchMode):
    """Pass 1 (see the module doc). After the forward, ``need`` holds the outputs to differentiate (or
    ``None``) in op-sequence order, ``seq`` each counted op's (name, output shape)."""

    def __init__(self, weights: list[torch.Tensor]):
        super().__init__()
        self.dep = IdTable()
        for i, w in enumerate(weights):
            self.dep.set(w, frozenset({i}))
        self.first_use: dict[int, int] = {}
        self.uses: dict[int, list[int]] = {i: [] for i in range(len(weights))}
        self.alias = IdTable()  # the weights and their views: whose ops read a weight directly
        for i, w in enumerate(weights):
            self.alias.set(w, i)
        self.seq: list[tuple[str, tuple]] = []
        self.need: list = []
        self.version: list[int] = []
        self.n_ops = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        base, cat, inplace = op_info(func)
        flat, _ = flat_arguments(args, kwargs)
        deps = [self.dep.get(a, _EMPTY) if isinstance(a, torch.Tensor) else _EMPTY for a in flat]
        union = frozenset().union(*deps)
        if inplace and union:
            _check_alias(self.dep, args[0], func)
        out = func(*args, **kwargs)
        for i in union:
            self.first_use.setdefault(i, self.n_ops)
        read = {j for a in flat if isinstance(a, torch.Tensor) and (j := self.alias.get(a)) is not None}
        for j in read:
            self.uses[j].append(self.n_ops)
        if len(read) == 1 and (base in RELAYOUT or base in _VIEWS) and isinstance(out, torch.Tensor):
            self.alias.set(out, next(iter(read)))
        self.n_ops += 1
        if cat in ("bilinear", "nonlinear"):
            need = bool(union)
            if cat == "bilinear" and need:
                fd = [deps[p] for p in BILINEAR_FACTORS[base] if p < len(deps)]
                need = any(fd[a] & fd[b] for a in range(len(fd)) for b in range(a + 1, len(fd)))
            o = _counted(base, out)
            if need and o is None:
                raise Unsupported(f"{func}: a nonlinear op with several outputs")
            self.seq.append((base, tuple(o.shape) if o is not None else ()))
            self.need.append(o if need else None)  # its autograd history is set after this returns
            self.version.append(o._version if need and o is not None else 0)
        if union and cat != "constant" and base != "detach":
            for t in _differentiable(base, out):
                if isinstance(t, torch.Tensor) and (t.is_floating_point() or t.is_complex()):
                    self.dep.set(t, self.dep.get(t, _EMPTY) | union)
        return out


class TangentPropagator(TorchDispatchMode):
    """Pass 2 (see the module doc): ``h`` accumulates the adjoint-weighted source terms per row, ``h_gn``
    those of the ops from op ``n_model`` on (the loss's: the Gauss–Newton part); the tangent of a tensor
    is ``tan.get(t)``."""

    def __init__(
        self,
        tangents: list[tuple[torch.Tensor, Tan]],
        seq,
        need,
        lambdas,
        n_rows: int,
        like,
        n_model: int,
        kernels=None,
        measure: list[torch.Tensor] | None = None,
        prefix: PrefixCache | None = None,
    ):
        super().__init__()
        self.prefix, self.live = prefix, False  # live: a tangent has appeared (the prefix is over)
        self.kernels = kernels  # FusedKernels (empirics.curvature.fused) or None: eager rules
        self.pending = IdTable()  # module outputs whose layer's rows join when they are first read
        # ``measure`` (the tensors that exist anyway: parameters, buffers, inputs): count the bytes of the
        # tangents (``tan_bytes``) and of the forward's own outputs (``fwd_bytes``) alive, and their largest
        # sum at any op (``peak``)
        self.tan_bytes = StorageBytes() if measure is not None else None
        self.fwd_bytes = StorageBytes() if measure is not None else None
        self.peak = 0
        self.tan = IdTable(self.tan_bytes)
        self.outputs = IdTable(self.fwd_bytes)
        if self.tan_bytes is not None and self.fwd_bytes is not None:
            for _, t in tangents:  # the directions are the caller's memory: they and their views count 0 bytes
                self.tan_bytes.exclude(t.val)
            for x in measure or ():
                self.fwd_bytes.exclude(x)
        for w, t in tangents:
            self.tan.set(w, t)
        self.seq, self.need, self.lam = seq, need, lambdas
        self.h = like.new_zeros(n_rows)
        self.h_gn = like.new_zeros(n_rows)
        self.n_model = n_model
        self.i = 0

    def _next(self, base, out) -> int:
        i = self.i
        self.i += 1
        o = _counted(base, out)
        seen = (base, tuple(o.shape) if o is not None else ())
        if i >= len(self.seq) or self.seq[i] != seen:
            want = self.seq[i] if i < len(self.seq) else "nothing"
            raise Unsupported(f"the forward differs between the two passes at op {i}: {seen} vs {want}")
        return i

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        base, cat, inplace = op_info(func)
        flat, spec = flat_arguments(args, kwargs)
        tans = {}
        for i, a in enumerate(flat):
            if not isinstance(a, torch.Tensor):
                continue
            if self.pending.d and (p := self.pending.get(a)) is not None:
                self._join(a, p)
            if (t := self.tan.get(a)) is not None:
                tans[i] = t
        counted = cat in ("bilinear", "nonlinear")
        if not tans:
            out = func(*args, **kwargs) if self.live or self.prefix is None else self.prefix.run(func, args, kwargs)
            if counted:
                self._next(base, out)
            if self.fwd_bytes is not None:
                self._count(out)
            return out
        if not self.live:
            self.live = True
            if self.prefix is not None:
                self.prefix.end_prefix()
        rule_func, rule_args = func, args
        if inplace:
            _check_alias(self.tan, args[0], func)
            rule_func = _functional(func)
            rule_args = (args[0].clone(), *args[1:])
            flat, spec = flat_arguments(rule_args, kwargs)
        out = func(*args, **kwargs)
        idx = self._next(base, out) if counted else None
        lam0 = None
        if self.kernels is not None:
            lam0 = self.lam[idx] if idx is not None and self.need[idx] else None
            self.kernels.keys = (torch._C._dispatch_tls_local_include_set(), torch._C._dispatch_tls_local_exclude_set())
        with _transforms_enabled():
            yt, src = apply_rule(rule_func, rule_args, kwargs, out, tans, flat, spec, lam0, self.kernels)
        self._register(out, yt, inplace)
        if self.fwd_bytes is not None:
            self._count(out)
        if src is not None:
            if idx is None or not self.need[idx]:
                raise Unsupported(f"{func}: a source term where pass 1 kept no adjoint (op {idx})")
            lam = self.lam[idx]
            if lam is not None:  # None: the loss does not depend on this op's output
                start, vals = src(lam)
                self.h[start : start + vals.shape[0]] += vals
                if idx >= self.n_model:
                    self.h_gn[start : start + vals.shape[0]] += vals
        return out

    def close(self) -> None:
        """Release the tangents and tables now (after the pass; tensors kept for later groups outlive them)."""
        for table in (self.tan, self.outputs, self.pending):
            table.clear()

    def _count(self, out) -> None:
        """Count the op's outputs and note the bytes of outputs and tangents alive together."""
        assert self.tan_bytes is not None and self.fwd_bytes is not None
        for o in tensors_of(out):
            if self.outputs.get(o, False) is False:
                self.outputs.set(o, None)
        self.peak = max(self.peak, self.tan_bytes.live + self.fwd_bytes.live)

    def inject(self, output: torch.Tensor, start: int, tangent, a: torch.Tensor) -> None:
        """Rows ``start ..`` join at a module's ``output``: ``tangent(a)`` is their ż (computed when read)."""
        self.pending.set(output, (start, tangent, a))

    def _join(self, z: torch.Tensor, p) -> None:
        start, tangent, a = p
        self.pending.pop(z)
        with _transforms_enabled():
            new = Tan(start, tangent(a))
            old = self.tan.get(z)
            self.tan.set(z, new if old is None else linear_sum([(old, _same), (new, _same)], z.dim()))

    def _register(self, out, yt, inplace: bool) -> None:
        if inplace or isinstance(out, torch.Tensor):
            if isinstance(yt, Tan):
                self.tan.set(out, yt)
            elif inplace:
                self.tan.pop(out)
            return
        tl = yt if isinstance(yt, list) else [yt]
        for o, t in zip(tree_flatten(out)[0], tl, strict=False):
            if isinstance(o, torch.Tensor) and isinstance(t, Tan):
                self.tan.set(o, t)
