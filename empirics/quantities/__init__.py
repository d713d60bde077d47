r"""Measured quantities as plug-ins, and their registry.

Each quantity is one module with one :class:`~empirics.quantities.base.Quantity` subclass that declares
its record fragment (:meth:`~empirics.quantities.base.Quantity.measure`) and schema fragment
(:attr:`~empirics.quantities.base.Quantity.schema`) and may decline a layer with a reason. The registry
order is the order in which they run (and in which their keys appear in a layer record): ``exact``,
``gn``, ``fd``, ``kron``, then registered extras, then ``fits`` (last: its notes close the record).
Adding a quantity = one module + one :func:`register` call (docs/extending.md).
"""

from __future__ import annotations

from empirics.quantities.base import Decline, LayerContext, LayerPlan, Quantity
from empirics.quantities.energy import GradientEnergy
from empirics.quantities.exact import ExactCurvature
from empirics.quantities.finite_differences import FiniteDifferenceCurvature
from empirics.quantities.fits import WindowFits
from empirics.quantities.gauss_newton import GaussNewtonCurvature
from empirics.quantities.kronecker import KroneckerRecord
from empirics.quantities.settings import MeasureSettings

__all__ = [
    "Decline",
    "LayerContext",
    "LayerPlan",
    "MeasureSettings",
    "Quantity",
    "register",
    "registered",
    "schema_fragments",
]

_BUILTIN_FIRST: tuple[type[Quantity], ...] = (
    ExactCurvature,
    GaussNewtonCurvature,
    FiniteDifferenceCurvature,
    KroneckerRecord,
)
_EXTRAS: list[type[Quantity]] = [GradientEnergy]
_LAST: tuple[type[Quantity], ...] = (WindowFits,)


def register(quantity: type[Quantity]) -> type[Quantity]:
    """Add a quantity class (runs after the built-ins, before ``fits``); usable as a class decorator."""
    if not quantity.name:
        raise ValueError(f"{quantity.__name__}: a quantity needs a name")
    if quantity.name in {q.name for q in registered()}:
        raise ValueError(f"a quantity named {quantity.name!r} is already registered")
    _EXTRAS.append(quantity)
    return quantity


def registered() -> tuple[type[Quantity], ...]:
    """Every registered quantity class, in run order."""
    return (*_BUILTIN_FIRST, *_EXTRAS, *_LAST)


def schema_fragments() -> dict[str, str]:
    """Union of the schema fragments: record key -> JSON kind."""
    out: dict[str, str] = {}
    for q in registered():
        out.update(q.schema)
    return out
