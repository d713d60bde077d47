"""Layer-type tags: which modules are measured, and as what.

A measured layer carries ``module.sad_layer_type`` (one of :data:`empirics.schema.LAYER_TYPES`);
:func:`layer_table` lists them by their ``model.named_modules()`` name. Any module of the layer-kind table
(:mod:`empirics.layerkinds`) can be tagged. A fused QKV Linear is one layer of type ``attn_qkv`` (its
weight W = [W_Q; W_K; W_V] is measured as one matrix).
"""

from __future__ import annotations

from torch import nn

from empirics.layerkinds import is_measurable
from empirics.schema import LAYER_TYPES

__all__ = ["tag", "layer_table"]


def tag(module: nn.Module, layer_type: str) -> nn.Module:
    """Mark ``module`` (a module with a matrix weight of the layer-kind table) as a measured layer of
    ``layer_type``; returns it."""
    if layer_type not in LAYER_TYPES:
        raise ValueError(f"unknown layer type {layer_type!r}; choose from {', '.join(LAYER_TYPES)}")
    if not is_measurable(module):
        raise TypeError(
            f"only modules with a matrix weight are measured (empirics.layerkinds), got {type(module).__name__}"
        )
    module.sad_layer_type = layer_type
    return module


def layer_table(model: nn.Module) -> dict[str, str]:
    """``{module name: layer type}`` for every tagged layer, in ``named_modules()`` order."""
    return {name: m.sad_layer_type for name, m in model.named_modules() if hasattr(m, "sad_layer_type")}
