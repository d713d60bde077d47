r"""Which parameters a matrix optimizer (Spectral Newton, Muon) takes, and which go to its internal AdamW.

**Routing rule** (:func:`split_parameters`; every trainable tensor is routed **once**, under its first name in
``model.named_parameters()``, even when several modules hold it):

1. ``routes={parameter name: "adamw" | "matrix"}`` (any alias of a tied tensor) decides first; ``"matrix"``
   needs a matrix view, else ``ValueError``.
2. **Embedding-tied** weights — one tensor that is both an embedding table (:data:`EMBEDDING_MODULES`) and a
   matrix layer's weight, e.g. ``lm_head.weight is wte.weight`` in GPT-2 — go to **AdamW** with
   ``tied_embeddings="adamw"`` (default: the embedding side's per-row sparse gradients suit AdamW, and the
   tensor is updated once), or to the matrix optimizer with the matrix layer's view and layer type with
   ``tied_embeddings="matrix"``.
3. Other embedding tables → AdamW.
4. A parameter that :func:`~empirics.optim.matrix_view.matrix_view` reads as a matrix (Linear, Conv1d/2d/3d
   incl. grouped, HF ``Conv1D``, ``nn.MultiheadAttention``'s projections) → the matrix optimizer, with that
   view. A tensor shared by several matrix layers must read as the same matrix in all of them.
5. Fewer than 2 dimensions (biases, norm gains, scalars) → AdamW.
6. Other ≥ 2-D tensors: a name containing ``weight`` (``nn.ConvTranspose2d.weight``, ``nn.LSTM.weight_ih_l0``,
   a custom layer's raw weight) → ``ValueError`` naming the parameter (route it explicitly); any other name
   (a ViT ``pos_embed``/``cls_token``: a free tensor, added or concatenated) → AdamW.

``optimizer.routing`` records every decision (name → :class:`Route`). Given ``(name, parameter)`` pairs
instead of a model, there are no modules: every ≥ 2-D tensor is a matrix read **row-major**
(:math:`m` = ``shape[0]``, :math:`n` = the rest; conv groups and HF ``Conv1D`` orientation unknown) except
names containing ``embed`` (→ AdamW), ``routes`` still decides first, and a tensor passed twice is a
``ValueError``. Layer types come from :func:`empirics.layers.resolve_layers` (the zoo's ``sad_layer_type``
tags, else Conv→conv, Linear→dense, last Linear→head); a matrix outside that table has type ``None``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

import torch
from torch import Tensor, nn

from empirics.optim.matrix_view import EMBEDDING_MODULES, MatrixView, matrix_view, row_major_view

__all__ = ["ROUTES", "NamedParams", "MatrixParam", "Route", "Split", "split_parameters"]

#: Values of ``routes`` and ``tied_embeddings``.
ROUTES = ("adamw", "matrix")

NamedParams = nn.Module | Iterable[tuple[str, nn.Parameter]]


@dataclass(frozen=True)
class MatrixParam:
    """A matrix parameter: name (``"layer1.0.conv1.weight"``), the module whose view is used, its layer type
    (or None), the :class:`~empirics.optim.matrix_view.MatrixView`, and the other names of a tied tensor."""

    name: str
    param: nn.Parameter
    module: str | None
    layer_type: str | None
    view: MatrixView
    aliases: tuple[str, ...] = ()


class Route(NamedTuple):
    """Where a parameter went (``"matrix"`` | ``"adamw"``) and why (one line)."""

    kind: str
    reason: str


class Split(NamedTuple):
    """:func:`split_parameters`' result: matrix parameters, the rest ``(name, parameter)``, and every route."""

    matrix: list[MatrixParam]
    rest: list[tuple[str, nn.Parameter]]
    routing: dict[str, Route]


def _check_choice(what: str, value: object) -> None:
    if value not in ROUTES:
        raise ValueError(f"{what} must be one of {', '.join(ROUTES)}, got {value!r}")


def _forced(names: Iterable[str], routes: Mapping[str, str]) -> str | None:
    given = {routes[n] for n in names if n in routes}
    if len(given) > 1:
        raise ValueError(f"routes gives tied names {', '.join(n for n in names if n in routes)} different routes")
    return given.pop() if given else None


def split_parameters(
    params: NamedParams,
    layer_types: dict[str, str] | None = None,
    *,
    tied_embeddings: str = "adamw",
    routes: Mapping[str, str] | None = None,
) -> Split:
    """Route every trainable parameter to the matrix optimizer or AdamW by the module docstring's rule."""
    _check_choice("tied_embeddings", tied_embeddings)
    routes = dict(routes or {})
    for v in routes.values():
        _check_choice("every value of routes", v)
    if isinstance(params, nn.Module):
        split, known = _split_model(params, layer_types, tied_embeddings, routes)
    else:
        split, known = _split_pairs(params, layer_types, routes)
    unknown = sorted(set(routes) - known)
    if unknown:
        raise ValueError(f"routes names no parameter: {', '.join(unknown)}")
    return split


def _split_model(
    model: nn.Module, layer_types: dict[str, str] | None, tied: str, routes: dict[str, str]
) -> tuple[Split, set[str]]:
    from empirics.layers import resolve_layers

    try:
        table = resolve_layers(model, layer_types)
    except ValueError:
        if layer_types is not None:
            raise
        table = {}
    owners: dict[int, list[tuple[str, str, nn.Module, str]]] = {}  # id → [(full name, module name, module, attr)]
    for mname, mod in model.named_modules():
        for attr, p in mod.named_parameters(recurse=False):
            owners.setdefault(id(p), []).append((f"{mname}.{attr}" if mname else attr, mname, mod, attr))
    known = {full for own in owners.values() for full, *_ in own}
    mats: list[MatrixParam] = []
    rest: list[tuple[str, nn.Parameter]] = []
    routing: dict[str, Route] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        own = owners[id(p)]
        aliases = tuple(full for full, *_ in own if full != name)
        forced = _forced([name, *aliases], routes)
        if forced == "adamw":
            rest.append((name, p))
            routing[name] = Route("adamw", "routes argument")
            continue
        embedding = next(
            (full for full, _, mod, attr in own if isinstance(mod, EMBEDDING_MODULES) and attr == "weight"), None
        )
        views: list[tuple[str, str, MatrixView]] = []
        for full, mname, mod, attr in own:
            if isinstance(mod, EMBEDDING_MODULES) and attr == "weight":
                continue
            try:
                view = matrix_view(mod, attr)
            except ValueError as exc:
                raise ValueError(
                    f"parameter {full!r}: {exc}; route it explicitly, e.g. routes={{{full!r}: 'adamw'}}"
                ) from None
            if view is not None:
                views.append((full, mname, view))
        if views:
            first = views[0][2].to_matrix(p.detach())
            for full, _, view in views[1:]:
                other = view.to_matrix(p.detach())
                if other.shape != first.shape or not torch.equal(other, first):
                    raise ValueError(
                        f"parameter {name!r} is tied between layers that read it as different matrices "
                        f"({views[0][0]} and {full}); route it explicitly with routes={{{name!r}: 'adamw'}}"
                    )
        if views and embedding is not None:
            choice = forced or tied
            partner = next(full for full, *_ in views)
            if choice == "adamw":
                rest.append((name, p))
                routing[name] = Route("adamw", f"embedding tied to {partner} (tied_embeddings='adamw')")
                continue
            reason = "routes argument" if forced else "embedding-tied, tied_embeddings='matrix'"
        elif embedding is not None or not views:
            if forced == "matrix":
                what = "an embedding table" if embedding is not None else "not a matrix"
                raise ValueError(f"routes asks 'matrix' for parameter {name!r}, but it is {what} (no matrix view)")
            if embedding is not None:
                why = "embedding"
            elif p.dim() < 2:
                why = "vector"
            else:
                why = "free tensor (not a layer weight)"
            rest.append((name, p))
            routing[name] = Route("adamw", why)
            continue
        else:
            reason = "routes argument" if forced else "matrix layer"
        _, mname, view = views[0]
        ltype = next((table[m] for m in (mname, *(a.rsplit(".", 1)[0] for a in (name, *aliases))) if m in table), None)
        mats.append(MatrixParam(name, p, mname, ltype, view, aliases))
        routing[name] = Route("matrix", f"{reason} ({type(model.get_submodule(mname)).__name__} {mname or 'model'})")
    return Split(mats, rest, routing), known


def _split_pairs(
    params: Iterable[tuple[str, nn.Parameter]], layer_types: dict[str, str] | None, routes: dict[str, str]
) -> tuple[Split, set[str]]:
    mats: list[MatrixParam] = []
    rest: list[tuple[str, nn.Parameter]] = []
    routing: dict[str, Route] = {}
    seen: dict[int, str] = {}
    known: set[str] = set()
    for name, p in params:
        if not isinstance(p, Tensor):
            raise TypeError(f"expected (name, parameter) pairs, got {type(p).__name__} for {name!r}")
        if id(p) in seen:
            raise ValueError(f"parameter {name!r} is the tensor {seen[id(p)]!r} again: pass each tensor once")
        seen[id(p)] = name
        known.add(name)
        if not p.requires_grad:
            continue
        forced = routes.get(name)
        if forced == "matrix" and p.dim() < 2:
            raise ValueError(f"routes asks 'matrix' for parameter {name!r}, but it has {p.dim()} dimension(s)")
        if forced == "matrix" or (forced is None and p.dim() >= 2 and "embed" not in name):
            mname = name[: -len(".weight")] if name.endswith(".weight") else None
            ltype = (layer_types or {}).get(mname) if mname else None
            mats.append(MatrixParam(name, p, mname, ltype, row_major_view(p.shape)))
            routing[name] = Route("matrix", "routes argument" if forced else "≥ 2 dimensions (row-major)")
        else:
            rest.append((name, p))
            why = "routes argument" if forced else "vector" if p.dim() < 2 else "name contains 'embed'"
            routing[name] = Route("adamw", why)
    return Split(mats, rest, routing), known
