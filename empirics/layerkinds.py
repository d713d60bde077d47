r"""The one table of layer kinds the engine measures: how each kind's weight is a matrix, how a direction
acts on the layer's input, and whether it has a Kronecker factor pair.

A measured *layer* is one weight parameter :math:`W` that acts as a matrix :math:`m\times n` (outputs by
inputs) on its input :math:`a`:

============================  =====================  ==================================  ==================
kind (module, parameter)      weight shape           matrix view :math:`(m, n)`          Kronecker factors
============================  =====================  ==================================  ==================
``Linear`` ``weight``         :math:`(m, n)`         as is                               yes
``Conv{1,2,3}d`` ``weight``   :math:`(c_o,c_i/g,k…)` row-major ``reshape(c_o, -1)``      Conv2d, groups = 1
HF ``Conv1D`` ``weight``      :math:`(n, m)`         transpose (stored in×out)           yes
MHA ``in_proj_weight``        :math:`(3d, d)`        as is (:math:`[W_Q;W_K;W_V]`)       no (inside the op)
MHA ``out_proj.weight``       :math:`(d, d)`         as is                               no (inside the op)
``Embedding`` ``weight``      :math:`(V, d)`         as is (rows = tokens)               no (index input)
============================  =====================  ==================================  ==================

Vec convention: row-major, :math:`\mathrm{vec}(uw^\top)=u\otimes w`; a direction :math:`D=uw^\top` in the
matrix view is mapped back to the parameter's own shape by :meth:`LayerKind.from_matrix`. The *tangent map*
:math:`(a, D)\mapsto D\star a` is the layer's own linear map with weight :math:`D` and no bias (used by the
output-adjoint form of the Gauss–Newton curvature). This table is the single source used by layer
resolution (:mod:`empirics.layers`), the zoo's tags, the adjoint form and the Kronecker collector.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

__all__ = [
    "LayerKind",
    "KINDS",
    "kind_of",
    "matrix_view",
    "matrix_to_param",
    "is_measurable",
    "measurable_params",
    "tangent_map",
    "kron_decline",
    "conv_geometry",
    "ConvGeometry",
    "default_type",
    "hf_conv1d_class",
]

Tangent = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]


def hf_conv1d_class() -> type | None:
    """``transformers.pytorch_utils.Conv1D`` when transformers is already imported, else ``None``.

    Never imports transformers itself: a model built from it has imported it already."""
    import sys

    mod = sys.modules.get("transformers.pytorch_utils")
    return getattr(mod, "Conv1D", None) if mod is not None else None


def _is_hf_conv1d(module: nn.Module) -> bool:
    cls = hf_conv1d_class()
    if cls is not None and isinstance(module, cls):
        return True
    # duck type (a vendored copy): nf/nx attributes and an (nx, nf) weight
    w = getattr(module, "weight", None)
    return (
        type(module).__name__ == "Conv1D"
        and isinstance(w, torch.Tensor)
        and w.dim() == 2
        and tuple(w.shape) == (getattr(module, "nx", -1), getattr(module, "nf", -1))
    )


@dataclass(frozen=True)
class LayerKind:
    """One row of the table: which (module, parameter) it matches and what the engine needs of it."""

    name: str
    param: str
    transposed: bool = False
    kron: str | None = None  # None: Kronecker factors supported; else the reason they are not
    tangent: bool = True  # whether D ⋆ a is the module's own map (hookable once per forward)

    def to_matrix(self, w: torch.Tensor, *, stacked: bool = False) -> torch.Tensor:
        """Matrix view (m, n) of a parameter-shaped tensor, or (k, m, n) of a stack (k, *shape) (``stacked``)."""
        if self.transposed:
            return w.transpose(-1, -2)
        if stacked:
            return w.reshape(w.shape[0], w.shape[1], -1)
        return w.reshape(w.shape[0], -1)

    def from_matrix(self, D: torch.Tensor, shape: tuple[int, ...]) -> torch.Tensor:
        """A direction (m, n), or a stack (k, m, n), back to the parameter's ``shape`` (or (k, *shape))."""
        if self.transposed:
            return D.transpose(-1, -2).contiguous()
        if D.dim() == 2:
            return D.reshape(shape)
        return D.reshape((D.shape[0], *shape))


LINEAR = LayerKind("linear", "weight")
CONV = {d: LayerKind(f"conv{d}d", "weight", kron=None if d == 2 else f"Conv{d}d has no im2col here") for d in (1, 2, 3)}
HF_CONV1D = LayerKind("hf_conv1d", "weight", transposed=True)
MHA_IN = LayerKind("mha_in_proj", "in_proj_weight", kron="the weight is applied inside the attention op", tangent=False)
MHA_OUT = LayerKind("mha_out_proj", "weight", kron="the weight is applied inside the attention op", tangent=False)
EMBEDDING = LayerKind("embedding", "weight", kron="the input is an index, not a vector")

#: every kind, in the table's order
KINDS: tuple[LayerKind, ...] = (LINEAR, *CONV.values(), HF_CONV1D, MHA_IN, MHA_OUT, EMBEDDING)


def _mha_out_projs(model: nn.Module) -> set[int]:
    return {id(m.out_proj) for m in model.modules() if isinstance(m, nn.MultiheadAttention)}


def kind_of(module: nn.Module, param: str = "weight", *, inside_mha: bool = False) -> LayerKind | None:
    """The kind of ``module``'s parameter ``param``, or ``None`` when it is not a measured matrix weight.

    ``inside_mha``: the module is the ``out_proj`` of an ``nn.MultiheadAttention`` (its forward never runs)."""
    if isinstance(module, nn.MultiheadAttention):
        if param == "in_proj_weight" and module.in_proj_weight is not None:
            return MHA_IN
        return None
    if param != "weight" or not isinstance(getattr(module, "weight", None), torch.Tensor):
        return None
    if isinstance(module, nn.Linear):
        return MHA_OUT if inside_mha else LINEAR
    if isinstance(module, (nn.Conv1d, nn.Conv2d, nn.Conv3d)):
        return CONV[module.weight.dim() - 2]
    if _is_hf_conv1d(module):
        return HF_CONV1D
    if isinstance(module, nn.Embedding):
        return EMBEDDING
    return None


def _kind_or_raise(module: nn.Module, param: str) -> LayerKind:
    kind = kind_of(module, param)
    if kind is None:
        raise ValueError(f"{type(module).__name__}.{param} is not a matrix weight the engine measures")
    return kind


def matrix_view(module: nn.Module, param_name: str = "weight") -> torch.Tensor:
    r"""The :math:`(m, n)` matrix view of ``module``'s parameter ``param_name`` (a view where possible).

    Linear/MHA/Embedding: as is; Conv: ``weight.reshape(c_out, -1)`` (row-major); HF ``Conv1D``: the
    transpose of its (in, out) weight. The same view serves a gradient or an update: apply it to any
    tensor of the parameter's shape with :meth:`LayerKind.to_matrix`."""
    kind = _kind_or_raise(module, param_name)
    return kind.to_matrix(getattr(module, param_name))


def matrix_to_param(D: torch.Tensor, module: nn.Module, param_name: str = "weight") -> torch.Tensor:
    """A direction (m, n), or a stack (k, m, n), in the matrix view back to the parameter's shape."""
    kind = _kind_or_raise(module, param_name)
    return kind.from_matrix(D, tuple(getattr(module, param_name).shape))


def is_measurable(module: nn.Module) -> bool:
    """Whether ``module`` owns a matrix weight of the table (any kind, Embedding included)."""
    if isinstance(module, nn.MultiheadAttention):
        return module.in_proj_weight is not None
    return kind_of(module) is not None


def measurable_params(model: nn.Module) -> Iterator[tuple[str, str, LayerKind]]:
    """``(module name, parameter name, kind)`` of every matrix weight, in ``named_modules()`` order (each
    use of a tied parameter is listed; :mod:`empirics.layers` merges them)."""
    outs = _mha_out_projs(model)
    for name, module in model.named_modules():
        if isinstance(module, nn.MultiheadAttention):
            if module.in_proj_weight is not None:
                yield name, "in_proj_weight", MHA_IN
            continue
        kind = kind_of(module, "weight", inside_mha=id(module) in outs)
        if kind is not None:
            yield name, "weight", kind


def tangent_map(module: nn.Module, param: str = "weight") -> Tangent | str:
    r"""``(a, D) -> D ⋆ a``: the module's own map with weight ``D`` (parameter-shaped) and no bias, or the
    reason there is none (a string)."""
    kind = kind_of(module, param)
    if kind is None:
        return f"{type(module).__name__} is not in the layer-kind table"
    if not kind.tangent:
        return f"{type(module).__name__}.{param}: the weight is applied inside a fused op, not by a module forward"
    if kind is LINEAR or kind is MHA_OUT:
        return lambda a, D: F.linear(a, D)
    if kind.name.startswith("conv"):
        conv = module
        return lambda a, D: conv._conv_forward(a, D, None)  # type: ignore[operator]
    if kind is HF_CONV1D:
        return lambda a, D: torch.matmul(a, D)
    if kind is EMBEDDING:
        emb = module
        return lambda a, D: F.embedding(a, D, emb.padding_idx, emb.max_norm, emb.norm_type, False, emb.sparse)  # type: ignore[arg-type]
    return f"{kind.name}: no tangent map"


def kron_decline(module: nn.Module, param: str = "weight", *, inside_mha: bool = False) -> str | None:
    """``None`` when the Kronecker factors apply to this layer, else the reason they do not."""
    kind = kind_of(module, param, inside_mha=inside_mha)
    if kind is None:
        return f"{type(module).__name__} is not in the layer-kind table"
    if kind.kron is not None:
        return f"no Kronecker factor pair: {kind.kron}"
    groups = getattr(module, "groups", 1)
    if kind.name.startswith("conv") and groups != 1:
        return f"no Kronecker factor pair: grouped conv (groups={groups})"
    return None


@dataclass(frozen=True)
class ConvGeometry:
    """What ``F.unfold`` needs to rebuild a Conv2d's im2col patches."""

    kernel_size: tuple[int, int]
    stride: tuple[int, int]
    dilation: tuple[int, int]
    pad: tuple[int, ...]  # F.pad order (left, right, top, bottom)
    padding_mode: str


def conv_geometry(module: nn.Module) -> ConvGeometry | None:
    """The im2col geometry of a Conv2d (``None`` for the other kinds: their inputs are used as they are)."""
    if not isinstance(module, nn.Conv2d):
        return None
    return ConvGeometry(
        kernel_size=tuple(module.kernel_size),  # type: ignore[arg-type]
        stride=tuple(module.stride),  # type: ignore[arg-type]
        dilation=tuple(module.dilation),  # type: ignore[arg-type]
        pad=tuple(int(p) for p in module._reversed_padding_repeated_twice),
        padding_mode=module.padding_mode,
    )


def im2col(x: torch.Tensor, g: ConvGeometry) -> torch.Tensor:
    """Conv2d input (b, c_in, H, W) -> patches (b, L, c_in·k_h·k_w) in the weight's row-major order."""
    mode = "constant" if g.padding_mode == "zeros" else g.padding_mode
    if any(g.pad):
        x = F.pad(x, g.pad, mode=mode)
    cols = F.unfold(x, g.kernel_size, dilation=g.dilation, padding=0, stride=g.stride)
    return cols.transpose(1, 2)


__all__ += ["im2col"]


#: default layer type per kind (the last Linear-like layer of a model becomes ``head``)
_DEFAULT_TYPES = {
    "linear": "dense",
    "conv1d": "conv",
    "conv2d": "conv",
    "conv3d": "conv",
    "hf_conv1d": "dense",
    "mha_in_proj": "attn_qkv",
    "mha_out_proj": "attn_proj",
    "embedding": "embedding",
}

#: dotted path fragments -> layer type (most specific first; checked on the lower-cased module path)
_PATH_HINTS: tuple[tuple[str, str], ...] = (
    ("attention.output.dense", "attn_proj"),
    ("attn.c_proj", "attn_proj"),
    ("attn.proj", "attn_proj"),
    ("mlp.c_proj", "mlp_down"),
    ("intermediate.dense", "mlp_up"),
    ("output.dense", "mlp_down"),
    ("patch_embed", "patch_embed"),
)
#: last path component -> layer type
_LAST_HINTS: dict[str, str] = {
    **dict.fromkeys(
        "q k v qkv query key value q_proj k_proj v_proj c_attn in_proj in_proj_weight query_key_value wq wk wv".split(),
        "attn_qkv",
    ),
    **dict.fromkeys("out_proj o_proj attn_proj wo".split(), "attn_proj"),
    **dict.fromkeys("up fc1 c_fc up_proj gate_proj w1 w3 mlp_up linear1".split(), "mlp_up"),
    **dict.fromkeys("down fc2 down_proj w2 mlp_down linear2".split(), "mlp_down"),
    **dict.fromkeys("lm_head head classifier logits score".split(), "head"),
}


def default_type(name: str, kind: LayerKind) -> str:
    """A layer type inferred from the module path and the kind (overridable by the caller)."""
    if kind.name in ("mha_in_proj", "mha_out_proj"):
        return _DEFAULT_TYPES[kind.name]
    low = name.lower()
    parts = low.split(".")
    if kind.name.startswith("conv") and any(p in ("downsample", "shortcut") for p in parts):
        return "downsample"
    for frag, t in _PATH_HINTS:
        if frag in low:
            return t
    if parts and parts[-1] in _LAST_HINTS:
        return _LAST_HINTS[parts[-1]]
    return _DEFAULT_TYPES[kind.name]
