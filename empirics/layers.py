r"""Which layers are measured, under which name, and as which type (docs/theory-reference.md §1.1, §1.2, §1.5).

A layer is one matrix weight of :mod:`empirics.layerkinds`' table. Its *name* is the owning module's path
when the parameter is the module's ``weight`` (``"layer2.0.conv1"``), else the parameter's path
(``"attn.in_proj_weight"``). A parameter shared by several modules (tied weights, e.g. an embedding that
is also the output head) is one layer: it takes the name under which ``model.named_parameters()`` lists it
first, and :attr:`Layer.uses` lists every path; its directional curvature includes every use.
The bias is never measured.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from empirics import layerkinds as LK
from empirics.schema import LAYER_TYPES

__all__ = [
    "Layer",
    "locate",
    "discover",
    "resolve_layers",
    "weight_matrix",
    "matrix_to_weight",
    "get_module",
    "layer_name",
    "infer_types",
    "default_layer_types",
    "MEASURABLE",
]

#: module classes whose ``weight`` has a matrix view (HF ``Conv1D`` and MHA's ``in_proj_weight`` are
#: recognised through :func:`empirics.layerkinds.kind_of`)
MEASURABLE = (nn.Linear, nn.Conv1d, nn.Conv2d, nn.Conv3d, nn.Embedding)


@dataclass(frozen=True)
class Layer:
    """A resolved layer: its record ``name``, the canonical parameter path ``key`` (the name that
    ``functional_call`` and ``named_parameters()`` use), the owning ``module`` and ``param``, its
    :class:`~empirics.layerkinds.LayerKind`, and every parameter path sharing the tensor (``uses``)."""

    name: str
    key: str
    module: str
    param: str
    kind: LK.LayerKind
    uses: tuple[str, ...]

    @property
    def tied(self) -> bool:
        """Whether the weight tensor is shared by more than one parameter path (tied weights)."""
        return len(self.uses) > 1


def layer_name(module: str, param: str) -> str:
    """The record name of a module's parameter: the module path for ``weight``, else the parameter path."""
    if not module:  # the model itself is the layer (e.g. a bare nn.Linear)
        return param
    return module if param == "weight" else f"{module}.{param}"


def get_module(model: nn.Module, name: str) -> nn.Module:
    """The module that owns layer ``name``'s weight."""
    return model.get_submodule(locate(model, name).module)


def _aliases(model: nn.Module) -> dict[int, list[str]]:
    """id(parameter) -> every path of it, canonical (first listed) first."""
    out: dict[int, list[str]] = {}
    for path, p in model.named_parameters(remove_duplicate=False):
        out.setdefault(id(p), []).append(path)
    return out


def _mha_outs(model: nn.Module) -> set[int]:
    return {id(m.out_proj) for m in model.modules() if isinstance(m, nn.MultiheadAttention)}


def locate(model: nn.Module, name: str) -> Layer:
    """Resolve a layer name (module path, or ``module.param`` path) to a :class:`Layer`; ``ValueError``
    naming the layer when it is not a matrix weight of the table."""
    modules = dict(model.named_modules())
    if name in modules:
        mod_name, param = name, "in_proj_weight" if isinstance(modules[name], nn.MultiheadAttention) else "weight"
    elif "." in name and name.rsplit(".", 1)[0] in modules:
        mod_name, param = name.rsplit(".", 1)
    elif name in ("weight", "in_proj_weight") and "" in modules:
        mod_name, param = "", name
    else:
        raise ValueError(f"layer {name!r} is not a module or parameter of the model")
    module = modules[mod_name]
    kind = LK.kind_of(module, param, inside_mha=id(module) in _mha_outs(model))
    if kind is None:
        raise ValueError(f"layer {name!r} ({type(module).__name__}.{param}) has no matrix weight")
    tensor = getattr(module, param)
    paths = _aliases(model).get(id(tensor), [f"{mod_name}.{param}" if mod_name else param])
    return Layer(layer_name(mod_name, param), paths[0], mod_name, param, kind, tuple(paths))


def discover(model: nn.Module, *, embeddings: bool = False) -> dict[str, Layer]:
    """Every matrix weight of the model once, in model order: Linear, Conv1d/2d/3d (grouped and depthwise
    too), HF ``Conv1D``, MHA ``in_proj_weight`` and ``out_proj``; an Embedding only when ``embeddings``
    or when its weight is tied to one of the others (then it is that one layer, with all its uses)."""
    aliases = _aliases(model)
    mha_outs = _mha_outs(model)
    modules = dict(model.named_modules(remove_duplicate=False))
    seen: dict[int, Layer] = {}
    for mod_name, param, kind in LK.measurable_params(model):
        tensor = getattr(modules[mod_name], param)
        if not isinstance(tensor, torch.Tensor) or id(tensor) in seen:
            continue
        paths = aliases.get(id(tensor), [])
        if not paths:  # a frozen buffer-like weight that is not a parameter
            continue
        canon_mod, canon_param = paths[0].rsplit(".", 1) if "." in paths[0] else ("", paths[0])
        canon = modules[canon_mod]
        canon_kind = LK.kind_of(canon, canon_param, inside_mha=id(canon) in mha_outs) or kind
        seen[id(tensor)] = Layer(
            layer_name(canon_mod, canon_param), paths[0], canon_mod, canon_param, canon_kind, tuple(paths)
        )
    out = {}
    for layer in seen.values():
        only_embedding = all(
            isinstance(modules[p.rsplit(".", 1)[0] if "." in p else ""], nn.Embedding) for p in layer.uses
        )
        if only_embedding and not embeddings:
            continue
        out[layer.name] = layer
    order = {n: i for i, n in enumerate(dict(model.named_parameters()))}
    return dict(sorted(out.items(), key=lambda kv: order.get(kv[1].key, len(order))))


def infer_types(model: nn.Module, layers: dict[str, Layer]) -> dict[str, str]:
    """Layer types from kinds and names (:func:`empirics.layerkinds.default_type`); a tied weight takes the
    type of its most specific use (``head`` wins); with no name hint, the last Linear-like layer is ``head``."""
    types: dict[str, str] = {}
    for name, layer in layers.items():
        candidates = [LK.default_type(p.rsplit(".", 1)[0] if "." in p else "", layer.kind) for p in layer.uses]
        types[name] = "head" if "head" in candidates else candidates[0]
    if "head" not in types.values():
        linear_like = [n for n, ly in layers.items() if ly.kind.name in ("linear", "hf_conv1d")]
        if linear_like:
            types[linear_like[-1]] = "head"
    return types


def default_layer_types(model: nn.Module) -> dict[str, str]:
    """The zoo's ``sad_layer_type`` tags when the model carries them, else every matrix weight of
    :func:`discover` with :func:`infer_types`."""
    tagged = {n: m.sad_layer_type for n, m in model.named_modules() if hasattr(m, "sad_layer_type")}
    if tagged:
        return tagged
    return infer_types(model, discover(model))


def resolve_layers(
    model: nn.Module, layer_types: dict[str, str] | None = None, names: list[str] | None = None
) -> dict[str, str]:
    """Map layer name -> layer type for every layer to measure, in model order.

    ``layer_types`` overrides the default table (the zoo's ``sad_layer_type`` tags when the model carries
    them, else every matrix weight of :func:`discover` with types inferred from kinds and names);
    ``names`` selects a subset. Unknown names or types raise ``ValueError`` listing the valid ones.
    """
    table = dict(layer_types) if layer_types is not None else default_layer_types(model)
    for n, t in table.items():
        locate(model, n)  # raises for a name that is not a matrix weight
        if t not in LAYER_TYPES:
            raise ValueError(f"layer {n!r}: unknown layer type {t!r}; one of {', '.join(LAYER_TYPES)}")
    position = {n: i for i, (n, _m) in enumerate(model.named_modules())}
    params = {n: i for i, (n, _p) in enumerate(model.named_parameters())}

    def where(n: str) -> tuple[int, int]:
        return (position.get(n, position.get(n.rsplit(".", 1)[0], len(position))), params.get(n, 0))

    order = sorted(table, key=where)
    if names is not None:
        unknown = [n for n in names if n not in table]
        if unknown:
            raise ValueError(f"unknown layer(s) {', '.join(unknown)}; valid: {', '.join(order)}")
        chosen = set(names)
        order = [n for n in order if n in chosen]
    return {n: table[n] for n in order}


def weight_matrix(module: nn.Module) -> torch.Tensor:
    """The (m, n) matrix view of ``module.weight`` (:func:`empirics.layerkinds.matrix_view`)."""
    if LK.kind_of(module) is None:
        w = module.weight
        assert isinstance(w, torch.Tensor)
        return w.reshape(w.shape[0], -1)
    return LK.matrix_view(module, "weight")


def matrix_to_weight(D: torch.Tensor, module: nn.Module) -> torch.Tensor:
    """Reshape a direction (m, n), or a stack (k, m, n), back to the weight's shape (or (k, *shape))."""
    return LK.matrix_to_param(D, module, "weight")
