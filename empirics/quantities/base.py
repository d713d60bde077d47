r"""The plug-in contract of a measured quantity.

A :class:`Quantity` turns one layer's :class:`LayerContext` (the engine, the layer, its gradient, its
directions :math:`D_k`, the record so far) into a *record fragment* — a dict merged into the layer's
``sad-results/1`` record — and declares the keys it may write with their JSON kinds (its *schema
fragment*, :attr:`Quantity.schema`). It may decline a layer by raising :class:`Decline` with a reason: the
reason becomes a note of that layer's record and the other quantities are measured as usual.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import nn

from empirics.curvature import CurvatureEngine, CurvatureResult, Directions
from empirics.layers import Layer
from empirics.quantities.settings import MeasureSettings

__all__ = ["Quantity", "LayerContext", "LayerPlan", "Decline", "floats", "count_bad"]


class Decline(Exception):
    """A quantity does not apply to a layer; the message (one line) is recorded as a note."""


@dataclass(frozen=True)
class LayerPlan:
    """A layer to measure: its name and type, resolved :class:`~empirics.layers.Layer`, gradient
    :math:`G` (m, n), all its singular directions and the ``k`` to measure."""

    name: str
    layer_type: str
    layer: Layer
    G: torch.Tensor
    full: Directions
    k: int


@dataclass
class LayerContext:
    """What a quantity sees for one layer. ``directions``: the top-``k`` :class:`Directions`; ``D``: their
    stack :math:`D_k` in the parameter's shape; ``results``: the :class:`CurvatureResult` of the quantities
    measured before (``results["exact"]``); ``record``: the record so far; ``notes``, ``timing``: appended
    to by each quantity."""

    engine: CurvatureEngine
    plan: LayerPlan
    module: nn.Module
    directions: Directions
    D: torch.Tensor
    settings: MeasureSettings
    record: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    timing: dict[str, Any] = field(default_factory=dict)
    results: dict[str, CurvatureResult] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """The layer's record name."""
        return self.plan.name

    @property
    def k(self) -> int:
        """The number of directions measured in this layer."""
        return self.plan.k


class Quantity:
    """Base class of a measured quantity (subclass, set :attr:`name` and :attr:`schema`, implement
    :meth:`measure`; register with :func:`empirics.quantities.register`)."""

    #: registry key (also what ``MeasureSettings.extras`` names)
    name: ClassVar[str] = ""
    #: schema fragment: record key -> JSON kind (``numbers``, ``numbers_or_null``, ``number``, ``string``,
    #: ``integer``, ``object``); the keys :meth:`measure` may write
    schema: ClassVar[dict[str, str]] = {}
    #: measured even when ``k = 0`` (a zero gradient)
    on_empty: ClassVar[bool] = False

    def enabled(self, settings: MeasureSettings) -> bool:
        """Whether the settings ask for this quantity (default: named in ``settings.extras``)."""
        return self.name in settings.extras

    def prepare(self, engine: CurvatureEngine, plans: dict[str, LayerPlan], settings: MeasureSettings) -> None:
        """Work shared by all layers, before the per-layer loop (default: nothing)."""

    def measure(self, ctx: LayerContext) -> dict[str, Any]:
        """The record fragment of one layer; raise :class:`Decline` when the quantity does not apply."""
        raise NotImplementedError

    def finish(self, ctx: LayerContext) -> None:
        """After every quantity measured the layer (default: nothing)."""


def floats(t: torch.Tensor | None) -> list | None:
    """A tensor as a JSON list of floats, non-finite values as ``None``."""
    if t is None:
        return None
    return [float(v) if math.isfinite(v) else None for v in t.detach().double().cpu().tolist()]


def count_bad(t: torch.Tensor) -> tuple[int, int]:
    """(number of finite values <= 0, number of non-finite values)."""
    finite = torch.isfinite(t)
    return int((finite & (t <= 0)).sum()), int((~finite).sum())
