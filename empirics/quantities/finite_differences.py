r"""``h_fd``: central second differences :math:`(\mathcal L(W+\epsilon D)-2\mathcal L(W)+\mathcal L(W-\epsilon D))/\epsilon^2`."""

from __future__ import annotations

import time
from typing import Any

from empirics.quantities.base import LayerContext, Quantity, count_bad, floats
from empirics.quantities.settings import MeasureSettings

__all__ = ["FiniteDifferenceCurvature"]


class FiniteDifferenceCurvature(Quantity):
    """``h_fd`` and ``fd_settings`` (``eps``, ``dtype``); a note counts non-positive/non-finite values."""

    name = "fd"
    schema = {"h_fd": "numbers_or_null", "fd_settings": "object"}

    def enabled(self, settings: MeasureSettings) -> bool:
        """On when ``settings.fd``."""
        return settings.fd

    def measure(self, ctx: LayerContext) -> dict[str, Any]:
        r"""``h_fd``: central second differences of :math:`\mathcal L` along each :math:`D_k` (step ``fd_eps``, dtype
        ``fd_dtype``), with the settings used."""
        s = ctx.settings
        t = time.perf_counter()
        r = ctx.engine.finite_differences({ctx.name: ctx.D}, eps=s.fd_eps, dtype=s.fd_dtype)[ctx.name]
        ctx.timing["fd_s"] = time.perf_counter() - t
        ctx.results["fd"] = r
        dtype = s.fd_dtype or ctx.D.dtype
        p, f = count_bad(r.values)
        ctx.notes.append(f"finite differences: {p} non-positive, {f} non-finite of {ctx.k}")
        return {"h_fd": floats(r.values), "fd_settings": {"eps": s.fd_eps, "dtype": str(dtype).replace("torch.", "")}}
