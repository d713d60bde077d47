"""empirics — measure curvature along gradient singular directions on real networks.

``from empirics import measure`` is the public entry point (:func:`measure`); importing the package loads
neither torch nor the engine: ``measure`` imports them when called. ``empirics.schema`` (the results-file
contract) is torch-free so that ``claims`` can read results without importing torch. The measurement
engine, model zoo, data and training live in submodules that import torch on their own.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from empirics.measurement.result import Measurement

__all__ = ["measure"]


def measure(model: Any, batch: Any, loss: Any, k: int = 10, **options: Any) -> Measurement:
    r"""Measure the directional curvatures :math:`h_k=v_k^\top Hv_k` of every matrix weight of ``model``
    along its gradient's top-``k`` singular directions, on ``batch = (inputs, targets)`` under ``loss`` (a
    torch loss module or ``callable(output, target)`` with its usual mean reduction).

    Returns a :class:`~empirics.measurement.result.Measurement`: ``m.to_dataframe()``, ``m["layer"].sigma``,
    ``.h_exact``, ``.U``, ``.V``, ``m.plot()``, ``m.save("run.json")``. Options (all keyword):
    ``layers``, ``layer_types``, ``output``, ``dtype``, ``device``, ``per_sample``, ``method``, ``gn``,
    ``kron``, ``fd``, ``clamp_k``, ``chunk_size``, ``extras``, ``progress``, ``run_info`` — see
    :func:`empirics.measurement.api.measure`.
    """
    from empirics.measurement.api import measure as run

    return run(model, batch, loss, k, **options)
