r"""``h_gn``, ``gn_gap``: Gauss–Newton curvatures :math:`v_k^\top H_{\rm GN}v_k` and :math:`h^{\rm exact}_k-h^{\rm GN}_k`."""

from __future__ import annotations

import time
from typing import Any

from empirics.curvature import GN_EXACT_LABEL, NotSingleTensor
from empirics.quantities.base import Decline, LayerContext, Quantity, count_bad, floats
from empirics.quantities.settings import MeasureSettings

__all__ = ["GaussNewtonCurvature"]


class GaussNewtonCurvature(Quantity):
    r"""Reuses ``h_exact`` where it was computed as the (then exact) GN form, and the Gauss–Newton part the
    ``fwd_adj`` method computes on the way (its loss terms :math:`\dot f^\top\nabla_f^2\mathcal L\dot f`);
    else the jvp form. Declines when the model's output is not one tensor."""

    name = "gn"
    schema = {"h_gn": "numbers_or_null", "gn_gap": "numbers_or_null"}

    def enabled(self, settings: MeasureSettings) -> bool:
        """On when ``settings.gn``."""
        return settings.gn

    def measure(self, ctx: LayerContext) -> dict[str, Any]:
        r"""``h_gn`` :math:`v_k^\top H_{\rm GN}v_k` and ``gn_gap`` :math:`h^{\rm exact}_k-h^{\rm GN}_k` (``h_exact``
        reused where the output is piecewise linear in the weight); declines a model whose output is not a single
        tensor."""
        t = time.perf_counter()
        exact = ctx.results["exact"]
        if exact.method == GN_EXACT_LABEL:
            hg = exact.values
            ctx.notes.append("h_gn = h_exact: the output is piecewise linear in this layer's weight (gn_exact)")
        elif exact.gn_values is not None:
            hg = exact.gn_values  # the loss terms of the same forward-adjoint pass
        else:
            try:
                hg = ctx.engine.gauss_newton({ctx.name: ctx.D})[ctx.name].values
            except NotSingleTensor as exc:
                raise Decline(f"h_gn not computed: {exc}") from None
        ctx.timing["gn_s"] = time.perf_counter() - t
        ctx.results["gn"] = exact.with_values(hg, method="gn")
        p, f = count_bad(hg)
        if p:
            ctx.notes.append(f"{p} non-positive Gauss-Newton curvature(s)")
        if f:
            ctx.notes.append(f"{f} non-finite Gauss-Newton curvature(s)")
        return {"h_gn": floats(hg), "gn_gap": floats(exact.values - hg)}
