r"""``kron``: the Kronecker sub-record along the same directions (:func:`empirics.kron.kron_record`).

Declines (with the reason as a note) where a layer has no Kronecker factor pair
(:func:`empirics.layerkinds.kron_decline`: grouped conv, Conv1d/3d, MHA weights, Embedding), for tied
weights, and where the collector cannot apply (e.g. a module run more than once per forward).
"""

from __future__ import annotations

import time
from typing import Any

from empirics import layerkinds as LK
from empirics.quantities.base import Decline, LayerContext, Quantity
from empirics.quantities.settings import MeasureSettings

__all__ = ["KroneckerRecord"]

NOT_COMPUTED = "kron sub-record not computed"


class KroneckerRecord(Quantity):
    """The ``kron`` object of the schema (see :mod:`empirics.kron.record`); timing ``kron_s``."""

    name = "kron"
    schema = {"kron": "object"}
    on_empty = True

    def enabled(self, settings: MeasureSettings) -> bool:
        """On when ``settings.kron``."""
        return settings.kron

    def measure(self, ctx: LayerContext) -> dict[str, Any]:
        r"""The ``kron`` sub-record: the layer's inputs and errors collected with hooks, the factors :math:`C_A`,
        :math:`C_\delta` and the alignment quantities along the same :math:`u_k, w_k`; declines layers without a
        factor pair, tied weights and layers the collector cannot handle."""
        if ctx.k == 0:
            raise Decline(f"{NOT_COMPUTED} (k = 0)")
        layer = ctx.plan.layer
        if layer.tied:
            raise Decline(f"{NOT_COMPUTED}: tied weight used as {', '.join(layer.uses)}")
        inside = layer.kind.name == "mha_out_proj"
        reason = LK.kron_decline(ctx.module, layer.param, inside_mha=inside)
        if reason is not None:
            raise Decline(f"{NOT_COMPUTED}: {reason}")
        from empirics import kron

        t = time.perf_counter()
        eng = ctx.engine
        try:
            io = kron.collect_layer_io(
                eng.model, eng.loss_fn, eng.inputs, eng.targets, ctx.name, **ctx.settings.kron_kwargs
            )
        except ValueError as exc:
            raise Decline(f"{NOT_COMPUTED}: {exc}") from None
        d = ctx.directions
        rec = kron.kron_record(io, d.sigma, d.U, d.W, ctx.results["exact"].values)
        ctx.timing["kron_s"] = time.perf_counter() - t
        return {"kron": rec}
