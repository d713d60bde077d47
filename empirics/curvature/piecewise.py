r"""Is the network output piecewise linear in a layer's weight? (the ``gn_exact`` shortcut's detector)

Exactly, :math:`H=H_{\rm GN}+\frac1B\sum_i\sum_j\frac{\partial\ell_i}{\partial f_{ij}}\nabla^2_Wf_{ij}`. When every
operation between the layer's weight :math:`W` and the network output :math:`f` is linear or piecewise
linear in the tensors that depend on :math:`W` (conv/linear with one dependent operand, add, reshapes,
pads, pools, ReLU, max-pool, eval BatchNorm as affine, …), :math:`\nabla^2_Wf=0` almost everywhere, and
autograd's second derivatives of those ops are 0 too, so :math:`h^{\rm exact}_k=h^{\rm GN}_k` up to round-off.

:func:`piecewise_linear_layers` decides this conservatively from one forward of a small slice of the batch
under a :class:`~torch.utils._python_dispatch.TorchDispatchMode`: each measured weight is replaced by a
fresh copy (its own storage), every ATen op propagates the set of layers its tensor arguments depend on
(keyed by storage, so views and in-place writes are covered), and a layer is declared piecewise linear only
if every op touching one of its dependent tensors is in an explicit allowlist — products (mul, mm, bmm,
matmul, conv, …) only with at most one dependent operand, division only by an independent divisor,
BatchNorm only in eval form with independent statistics. Anything else (softmax, exp, log, tanh, gelu,
sigmoid, layer_norm's var/rsqrt, dependent×dependent products, unknown ops) names the layer's first
offending op. The loss is not traced: its Hessian in the outputs is part of :math:`H_{\rm GN}`.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn
from torch.func import functional_call
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils._pytree import tree_flatten

from empirics.curvature.forms import exact_forms, structure
from empirics.layers import locate

__all__ = ["PLVerdict", "piecewise_linear_layers"]

#: linear (or affine) in every tensor argument: sums, reshapes/views, copies, selections, pads, average pools
_LINEAR = frozenset(
    """
    add add_ sub sub_ rsub neg neg_ sum mean cat stack clone contiguous view _unsafe_view reshape _reshape_alias
    t t_ transpose transpose_ permute expand expand_as squeeze squeeze_ unsqueeze unsqueeze_ flatten unflatten
    slice select narrow split split_with_sizes unsafe_split chunk unbind as_strided alias detach _to_copy to
    copy_ lift_fresh constant_pad_nd pad reflection_pad1d reflection_pad2d reflection_pad3d replication_pad1d
    replication_pad2d replication_pad3d avg_pool1d avg_pool2d avg_pool3d adaptive_avg_pool1d adaptive_avg_pool2d
    adaptive_avg_pool3d _adaptive_avg_pool2d _adaptive_avg_pool3d unfold im2col col2im flip roll repeat
    diagonal tril triu cumsum pixel_shuffle pixel_unshuffle channel_shuffle upsample_nearest1d
    upsample_nearest2d upsample_nearest3d _upsample_nearest_exact2d upsample_bilinear2d upsample_linear1d
    embedding index_select gather index masked_fill masked_fill_ where zero_ fill_ new_zeros zeros_like empty_like
    """.split()
)
#: piecewise linear (second derivative 0 a.e., and 0 in autograd)
_PIECEWISE = frozenset(
    """
    relu relu_ leaky_relu leaky_relu_ hardtanh hardtanh_ abs abs_ threshold threshold_ clamp clamp_ clamp_min
    clamp_min_ clamp_max clamp_max_ maximum minimum max min amax amin max_pool1d max_pool2d max_pool3d
    max_pool1d_with_indices max_pool2d_with_indices max_pool3d_with_indices adaptive_max_pool1d
    adaptive_max_pool2d adaptive_max_pool3d
    """.split()
)
#: piecewise constant (non-differentiable outputs: masks, comparisons, indices); outputs are independent
_CONSTANT = frozenset("eq ne gt ge lt le sign argmax argmin isnan isinf isfinite logical_not".split())
#: bilinear: positions of the factors (at most one may depend on the layer); other positions are added
_PRODUCTS = {
    "mul": (0, 1),
    "mul_": (0, 1),
    "mm": (0, 1),
    "bmm": (0, 1),
    "matmul": (0, 1),
    "mv": (0, 1),
    "dot": (0, 1),
    "vdot": (0, 1),
    "outer": (0, 1),
    "linear": (0, 1),
    "addmm": (1, 2),
    "addmm_": (1, 2),
    "addmv": (1, 2),
    "baddbmm": (1, 2),
    "addbmm": (1, 2),
    "addcmul": (1, 2),
    "convolution": (0, 1),
    "_convolution": (0, 1),
    "conv1d": (0, 1),
    "conv2d": (0, 1),
    "conv3d": (0, 1),
    "mkldnn_convolution": (0, 1),
    "convolution_overrideable": (0, 1),
    "cudnn_convolution": (0, 1),
    "conv_transpose2d": (0, 1),
}
#: linear in argument 0 only, every other tensor argument must be independent (divisor; eval BatchNorm stats)
_FIRST_ONLY = frozenset("div div_ _native_batch_norm_legit_no_training _prelu_kernel".split())


@dataclass(frozen=True)
class PLVerdict:
    """``piecewise_linear``: the layer passed; ``reason``: the first offending op otherwise (one line)."""

    piecewise_linear: bool
    reason: str = ""


class _DependenceTracer(TorchDispatchMode):
    """Propagates, per storage, the set of measured layers a tensor depends on, and checks each op."""

    def __init__(self, sources: dict[str, torch.Tensor]):
        super().__init__()
        self.dep: dict[int, frozenset[str]] = {}
        self.keep: list[torch.Tensor] = []  # keep dependent storages alive: no address reuse during the trace
        self.offence: dict[str, str] = {}
        for name, t in sources.items():
            self._mark(t, frozenset({name}))

    @staticmethod
    def _key(t: torch.Tensor) -> int | None:
        try:
            return t.untyped_storage().data_ptr() if t.numel() else None
        except (RuntimeError, NotImplementedError):
            return None

    def _deps(self, t) -> frozenset[str]:
        if not isinstance(t, torch.Tensor):
            return frozenset()
        key = self._key(t)
        return self.dep.get(key, frozenset()) if key is not None else frozenset()

    def _mark(self, t: torch.Tensor, names: frozenset[str]) -> None:
        key = self._key(t)
        if key is None or not (t.is_floating_point() or t.is_complex()):
            return
        self.dep[key] = self.dep.get(key, frozenset()) | names
        self.keep.append(t)

    def _any_dep(self, value, name: str) -> bool:
        return any(name in self._deps(t) for t in tree_flatten(value)[0])

    def _check(self, op: str, args, kwargs, name: str) -> str | None:
        dependent = [i for i, a in enumerate(args) if self._any_dep(a, name)]
        kw_dependent = [k for k, v in kwargs.items() if self._any_dep(v, name)]
        if op in _LINEAR or op in _PIECEWISE or op in _CONSTANT:
            return None
        if op in _PRODUCTS:
            factors = _PRODUCTS[op]
            if sum(i in factors for i in dependent) <= 1 and not kw_dependent:
                return None
            return "multiplies two tensors that depend on the weight"
        if op in _FIRST_ONLY:
            if all(i == 0 for i in dependent) and not kw_dependent:
                return None
            what = "divisor" if op.startswith("div") else "slope" if op == "_prelu_kernel" else "statistics"
            return f"weight-dependent {what}"
        if op == "einsum":  # einsum(equation, [operands])
            operands = args[1] if len(args) > 1 else []
            if sum(bool(self._deps(t) & {name}) for t in operands) <= 1:
                return None
            return "multiplies two tensors that depend on the weight"
        if op == "native_batch_norm":  # (input, weight, bias, running_mean, running_var, training, ...)
            if len(args) > 5 and args[5] is False and all(i == 0 for i in dependent):
                return None
            return "batch norm with batch statistics (training mode) or weight-dependent statistics"
        return "not in the allowlist of linear / piecewise-linear ops"

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        op = func.overloadpacket.__name__
        leaves = tree_flatten((args, kwargs))[0]
        names = frozenset().union(*(self._deps(t) for t in leaves))
        for name in names:
            if name not in self.offence:
                reason = self._check(op, args, kwargs, name)
                if reason is not None:
                    self.offence[name] = f"{func}: {reason}"
        if names and op not in _CONSTANT:
            for t in tree_flatten(out)[0]:
                if isinstance(t, torch.Tensor):
                    self._mark(t, names)
        return out


def piecewise_linear_layers(
    model: nn.Module, inputs, names, *, n_samples: int = 2, cache: dict | None = None
) -> dict[str, PLVerdict]:
    r"""Per layer name: is the model output piecewise linear in the layer's weight? One traced forward of
    ``inputs[:n_samples]`` (the model in its current mode, with the engine's exact module forms) decides for
    all layers at once; the loss is not traced. With a ``cache`` dict (an engine's), the verdicts are reused
    per module structure and modes, layer names and per-sample input shape/dtype (ops, not values, decide
    them; a forward whose Python control flow depends on the data values is outside what one trace can
    certify)."""
    names = list(names)
    key = (structure(model), tuple(names), tuple(inputs.shape[1:]), inputs.dtype, str(inputs.device))
    if cache is not None and key in cache:
        return dict(cache[key])
    keys = {n: locate(model, n).key for n in names}
    params = dict(model.named_parameters())
    state = {keys[n]: params[keys[n]].detach().clone() for n in names}
    x = inputs[:n_samples]
    tracer = _DependenceTracer({n: state[keys[n]] for n in names})
    with torch.no_grad(), exact_forms(model), tracer:
        out = functional_call(model, state, (x,))
    verdicts = {n: PLVerdict(n not in tracer.offence, tracer.offence.get(n, "")) for n in names}
    if not isinstance(out, torch.Tensor):
        verdicts = {n: PLVerdict(False, "the model output is not a single tensor") for n in names}
    if cache is not None:
        cache[key] = verdicts
    return dict(verdicts)
