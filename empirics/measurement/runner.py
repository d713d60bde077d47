r"""Measure layers into ``sad-results/1`` LAYER records (docs/theory-reference.md §1.3–§1.6).

Per layer: :math:`G` and its top-k SVD, then every enabled quantity of :mod:`empirics.quantities` in
registry order (exact curvatures, Gauss–Newton, finite differences, Kronecker sub-record, extras, window
fits), each adding its record fragment or declining with a note. Nothing is dropped: non-positive and
non-finite curvatures are counted in ``diagnostics``; too few directions, rank-deficient gradients and
clamped k are noted. The model is put in eval mode (BatchNorm running statistics, no dropout).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import torch
from torch import nn

from empirics import distributed as dist
from empirics.curvature import CurvatureEngine, layer_directions, leading
from empirics.curvature.result import one_line
from empirics.layers import locate
from empirics.measurement.progress import NullProgress, make_progress
from empirics.quantities import Decline, LayerContext, LayerPlan, MeasureSettings, Quantity, registered
from empirics.quantities.base import count_bad
from theory.fits import MIN_POINTS

__all__ = ["measure_layers", "KTooLarge", "check_k", "LayerFailed"]


class KTooLarge(ValueError):
    """The requested k exceeds a layer's min(m, n) or the numerical rank of its gradient."""


class LayerFailed(RuntimeError):
    """A layer could not be measured; ``layer`` names it, the message says why."""

    def __init__(self, layer: str, message: str):
        super().__init__(f"layer {layer!r}: {message}")
        self.layer = layer


def check_k(name: str, shape: tuple[int, int], rank: int, k: int, clamp_k: bool, *, flags: bool = True) -> int:
    """Directions to measure for one layer: ``k``, or min(k, rank) with ``clamp_k``; else raise
    :class:`KTooLarge` (naming the CLI flags ``--k``/``--clamp-k``, or with ``flags=False`` the Python
    arguments ``k=``/``clamp_k=True``)."""
    m, n = shape
    limit = min(m, n, rank)
    if k <= limit:
        return k
    if clamp_k:
        return limit
    use = f"--k <= {limit} or --clamp-k" if flags else f"k <= {limit} or clamp_k=True"
    raise KTooLarge(
        f"{'--k' if flags else 'k'} {k} exceeds layer {name!r}: its gradient ({m}x{n}) has numerical rank {rank}"
        f"{'' if rank == min(m, n) else f' < min(m, n) = {min(m, n)}'}; use {use}"
    )


def _core(plan: LayerPlan, weight_shape: tuple[int, ...], d, requested_k: int) -> tuple[dict[str, Any], list[str]]:
    m, n = plan.G.shape
    kk = plan.k
    notes: list[str] = []
    if kk < requested_k:
        notes.append(f"k clamped from {requested_k} to {kk} (numerical rank {d.rank}, min(m, n) = {min(m, n)})")
    if d.rank < min(m, n):
        notes.append(f"rank-deficient gradient: numerical rank {d.rank} < min(m, n) = {min(m, n)}")
    if kk < MIN_POINTS:
        notes.append(f"too few directions for the log fits: k = {kk} < {MIN_POINTS}")
    if kk == 0:
        notes.append("zero gradient (numerical rank 0): no direction measured")
    if plan.layer.tied:
        notes.append(f"tied weight: one parameter used as {', '.join(plan.layer.uses)}; h_k includes every use")
    rec = {
        "name": plan.name,
        "layer_type": plan.layer_type,
        "shape": [int(m), int(n)],
        "weight_shape": [int(s) for s in weight_shape],
        "k": int(kk),
        "rank": int(d.rank),
        "rank_rtol": float(d.rtol),
        "sigma": [float(v) for v in d.sigma.detach().double().cpu().tolist()],
    }
    return rec, notes


def measure_one(
    engine: CurvatureEngine,
    plan: LayerPlan,
    quantities: list[Quantity],
    settings: MeasureSettings,
    t_grad: float,
    *,
    soft: bool = False,
) -> dict[str, Any]:
    """One layer's record: the core fields, then each quantity's fragment (or its decline note)."""
    model = engine.model
    module = model.get_submodule(plan.layer.module)
    weight = model.get_parameter(plan.layer.key)
    d = leading(plan.full, plan.k)
    rec, notes = _core(plan, tuple(weight.shape), d, settings.k)
    ctx = LayerContext(engine, plan, module, d, layer_directions(model, plan.name, d), settings, rec, notes)
    ctx.timing["gradient_s"] = t_grad
    for q in quantities:
        if plan.k == 0 and not q.on_empty:
            continue
        try:
            rec.update(q.measure(ctx))
        except Decline as exc:
            notes.append(str(exc))
        except (KeyboardInterrupt, KTooLarge):
            raise
        except Exception as exc:
            if q.name in ("exact", "fits") or not soft:
                raise
            notes.append(f"{q.name} not computed: {one_line(exc)}")
    for q in quantities:
        q.finish(ctx)
    h = ctx.results["exact"].values
    n_nonpos, n_nonfin = count_bad(h)
    n_nonfin += int((~torch.isfinite(d.sigma)).sum())
    fit_notes = [s for s in notes if s.startswith("fits: ")]
    rec["diagnostics"] = {
        "n_nonpositive_h": n_nonpos,
        "n_nonfinite": n_nonfin,
        "notes": [s for s in notes if not s.startswith("fits: ")] + fit_notes,
    }
    rec["timing"] = ctx.timing
    rec["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return rec


def measure_layers(
    model: nn.Module,
    loss_fn,
    inputs,
    targets,
    layer_types: dict[str, str],
    settings: MeasureSettings | None = None,
    *,
    skip: frozenset[str] = frozenset(),
    on_layer: Callable[[dict], None] | None = None,
    on_error: Callable[[str, BaseException], None] | None = None,
    progress: bool | NullProgress = True,
    flags: bool = True,
    directions_out: dict | None = None,
) -> list[dict]:
    """Measure every layer of ``layer_types`` (name → type) not in ``skip``; return their LAYER records.

    ``settings.k`` is checked against every selected layer's min(m, n) and numerical gradient rank
    **before** anything is measured (:class:`KTooLarge`, or min(k, rank) with ``clamp_k``).
    ``on_layer(record)`` is called after each layer (the CLI rewrites its results file there, so an
    interrupted run resumes layer by layer). ``on_error(name, exc)``: when given, a layer that fails is
    reported there and the next layer is measured (optional quantities then fail softly, as notes);
    otherwise the error propagates. ``flags``: error messages name CLI flags (else Python arguments).
    ``directions_out``: a dict that receives each measured layer's top-k
    :class:`~empirics.curvature.Directions` (σ, U, W).
    """
    settings = settings or MeasureSettings()
    if len(targets) == 0:
        raise ValueError("empty batch: no samples to measure")
    model.eval()
    names = [n for n in layer_types if n not in skip]
    if not names:
        return []
    bar = make_progress(progress, dist.is_main())
    engine = CurvatureEngine(
        model,
        loss_fn,
        inputs,
        targets,
        chunk_size=settings.chunk_size,
        on_chunk=bar.chunk,
        max_memory=settings.max_memory,
    )
    t0 = time.perf_counter()
    grads = engine.gradients(names)
    t_grad = (time.perf_counter() - t0) / len(names)
    plans = {}
    for name in names:
        full = engine.directions(grads[name], min(grads[name].shape))
        m, n = grads[name].shape
        kk = check_k(name, (int(m), int(n)), full.rank, settings.k, settings.clamp_k, flags=flags)
        plans[name] = LayerPlan(name, layer_types[name], locate(model, name), grads[name], full, kk)
    quantities = [cls() for cls in registered() if cls().enabled(settings)]
    soft = on_error is not None
    bar.start(len(names))  # before the shared work: the exact stage of all layers reports its progress too
    for q in quantities:
        try:
            q.prepare(engine, plans, settings)
        except Exception:  # noqa: BLE001 - shared work failing: every layer is then measured on its own
            if not soft:
                raise
    records = []
    try:
        for i, name in enumerate(names):
            bar.layer(i, name)
            try:
                rec = measure_one(engine, plans[name], quantities, settings, t_grad, soft=soft)
            except (KeyboardInterrupt, KTooLarge):
                raise
            except Exception as exc:
                if on_error is None:
                    raise
                on_error(name, exc)
                bar.layer_done()
                continue
            records.append(rec)
            if directions_out is not None:
                directions_out[name] = leading(plans[name].full, plans[name].k)
            if on_layer is not None:
                on_layer(rec)
            bar.layer_done()
    finally:
        bar.close()
    return records
