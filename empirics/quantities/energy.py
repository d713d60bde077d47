r"""``sigma_energy``: the share of the gradient the measured window covers (the worked example of
docs/extending.md; off unless ``MeasureSettings(extras=("energy",))``).

.. math:: E_k=\frac{\sum_{j\le k}\sigma_j^2}{\|G\|_F^2}\in[0,1],

with :math:`\sigma_j` the singular values of the layer's gradient :math:`G` and :math:`k` the directions
measured. :math:`E_k` close to 1 means the curvatures :math:`h_1..h_k` probe almost all of the gradient;
a small :math:`E_k` warns that the fitted exponents describe only its leading part.
"""

from __future__ import annotations

from typing import Any

from empirics.quantities.base import Decline, LayerContext, Quantity

__all__ = ["GradientEnergy"]


class GradientEnergy(Quantity):
    """One number per layer; declines a zero gradient (:math:`\\|G\\|_F=0`)."""

    name = "energy"
    schema = {"sigma_energy": "number"}
    on_empty = True  # a zero gradient is declined with a note, not skipped silently

    def measure(self, ctx: LayerContext) -> dict[str, Any]:
        r"""``sigma_energy`` :math:`E_k=\sum_{j\le k}\sigma_j^2/\|G\|_F^2`; declines a zero gradient."""
        total = float((ctx.plan.G.double() ** 2).sum())
        if total == 0.0:
            raise Decline("sigma_energy not computed: zero gradient")
        top = float((ctx.directions.sigma.double() ** 2).sum())
        return {"sigma_energy": top / total}
