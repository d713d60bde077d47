r"""``fits``: the window fits of the layer (:func:`theory.fits.summarize_layer`: α, γ, s, r², PR…), from
the record's ``sigma`` and ``h_exact``; readers recompute them and report drift."""

from __future__ import annotations

from typing import Any

from empirics.quantities.base import LayerContext, Quantity
from empirics.quantities.settings import MeasureSettings
from theory.fits import summarize_layer

__all__ = ["WindowFits"]


class WindowFits(Quantity):
    """Always measured (last): its notes are prefixed ``fits:``."""

    name = "fits"
    schema = {"fits": "object"}
    on_empty = True

    def enabled(self, settings: MeasureSettings) -> bool:
        """Always on."""
        return True

    def measure(self, ctx: LayerContext) -> dict[str, Any]:
        r"""``fits``: :func:`theory.fits.summarize_layer` of the record's ``sigma`` and ``h_exact`` (:math:`\alpha`,
        :math:`\gamma`, :math:`s`, :math:`R^2`, BIC rank models, PR), its notes prefixed ``fits:``."""
        fits = summarize_layer(ctx.record["sigma"], ctx.record["h_exact"]).as_dict()
        ctx.notes.extend(f"fits: {s}" for s in fits.get("notes", []))
        return {"fits": fits}
