r"""``h_exact``: the exact directional curvatures :math:`h_k=v_k^\top Hv_k` (always measured).

Under ``method="auto"``/``"fwd_adj"`` every layer is measured in one call before the per-layer loop
(:meth:`ExactCurvature.prepare`): the piecewise-linear ones share output adjoints
(:mod:`empirics.curvature.adjoint`), the others one backward and their forward tangents
(:mod:`empirics.curvature.forward_adjoint`). Under ``"gn_exact"`` the piecewise-linear layers are measured
together; under a per-layer method each layer on its own.
"""

from __future__ import annotations

from typing import Any

from empirics.curvature import CurvatureEngine, CurvatureResult, leading
from empirics.quantities.base import LayerContext, LayerPlan, Quantity, count_bad, floats
from empirics.quantities.settings import MeasureSettings

__all__ = ["ExactCurvature", "GROUPED"]

#: methods under which layers are measured together before the per-layer loop
GROUPED = ("auto", "fwd_adj", "gn_exact")


class ExactCurvature(Quantity):
    """``h_exact``, ``curvature_method``, ``chunk_size``; timing ``exact_s`` (and ``method_trial_s``).

    :meth:`prepare` measures the layers in one call (all of them under ``auto``/``fwd_adj``, the certified
    piecewise-linear ones under ``gn_exact``); a method that raises for a layer under ``auto`` falls back
    to the next, the error kept as a note."""

    name = "exact"
    schema = {"h_exact": "numbers_or_null", "curvature_method": "string", "chunk_size": "integer_or_null"}
    on_empty = True

    def __init__(self) -> None:
        self.together: dict[str, CurvatureResult] = {}

    def enabled(self, settings: MeasureSettings) -> bool:
        """Always on."""
        return True

    def prepare(self, engine: CurvatureEngine, plans: dict[str, LayerPlan], settings: MeasureSettings) -> None:
        """Under ``auto``/``gn_exact``, measure every certified piecewise-linear layer in one engine call (shared output
        adjoints)."""
        if settings.method not in GROUPED:
            return
        if settings.method == "gn_exact":
            verdicts = engine.piecewise(list(plans))
            chosen = [n for n, p in plans.items() if p.k and verdicts[n].piecewise_linear]
        else:
            chosen = [n for n, p in plans.items() if p.k]
        D = {n: engine.direction_tensors(n, leading(plans[n].full, plans[n].k)) for n in chosen}
        if D:
            self.together = engine.exact(D, method=settings.method, gn_form=settings.gn_form)

    def measure(self, ctx: LayerContext) -> dict[str, Any]:
        r"""``h_exact`` :math:`h_k=v_k^\top Hv_k` of the layer (from :meth:`prepare` when measured there), the method
        and chunk size used; notes for the GN-exact form and for methods that failed."""
        if ctx.k == 0:
            r = CurvatureResult(ctx.directions.sigma.new_zeros(0), ctx.settings.method, None, 0.0)
        elif ctx.name in self.together:
            r = self.together[ctx.name]
        else:
            r = ctx.engine.exact({ctx.name: ctx.D}, method=ctx.settings.method, gn_form=ctx.settings.gn_form)[ctx.name]
        ctx.results["exact"] = r
        ctx.timing["exact_s"] = r.seconds
        if r.gn_form:
            ctx.notes.append(f"{'fwd_adj' if r.method == 'fwd_adj' else 'gn_exact'} form: {r.gn_form}")
        if r.method == "fwd_adj" and r.note:
            ctx.notes.append(f"fwd_adj: {r.note}")
        if r.failed:
            ctx.notes.append("exact method(s) that failed here: " + "; ".join(f"{m}: {e}" for m, e in r.failed.items()))
        n_nonpos, n_nonfin = count_bad(r.values)
        n_nonfin += int((~ctx.directions.sigma.isfinite()).sum())
        if n_nonpos:
            ctx.notes.append(f"{n_nonpos} non-positive exact curvature(s) (kept in h_exact, excluded from log fits)")
        if n_nonfin:
            ctx.notes.append(f"{n_nonfin} non-finite value(s) in sigma/h_exact (written as null)")
        return {"h_exact": floats(r.values), "curvature_method": r.method, "chunk_size": r.chunk_size}

    def finish(self, ctx: LayerContext) -> None:
        """Record the auto-timing trials of the methods (``method_trial_s``), when there were any."""
        r = ctx.results.get("exact")
        if r is not None and r.trial_seconds:
            ctx.timing["method_trial_s"] = dict(r.trial_seconds)
