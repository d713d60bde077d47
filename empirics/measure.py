r"""Measure a model layer by layer into ``sad-results/1`` LAYER records (THEORY.md §1.3–§1.6).

Per layer: :math:`G` and its top-k SVD (:func:`empirics.curvature.top_k_directions`), the exact
directional curvatures :math:`h^{\rm exact}_k=v_k^\top Hv_k`, optionally the Gauss–Newton ones
:math:`v_k^\top H_{\rm GN}v_k` and their gap :math:`h^{\rm exact}_k-h^{\rm GN}_k`, the finite-difference
ones, the Kronecker sub-record (:func:`empirics.kron.kron_record`) and the window fits
(:func:`theory.fits.summarize_layer`). Nothing is dropped: non-positive and non-finite curvatures are
counted in ``diagnostics``; too few directions, rank-deficient gradients and clamped k are noted.

The model is put in eval mode (BatchNorm running statistics, no dropout): ``settings.bn_mode = "eval"``.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

import torch
from torch import nn

from empirics import curvature as C
from empirics import distributed as dist
from empirics.layers import get_module
from empirics.piecewise import piecewise_linear_layers
from theory.fits import MIN_POINTS, summarize_layer

__all__ = ["measure_model", "KTooLarge", "check_k"]


class KTooLarge(ValueError):
    """The requested k exceeds a layer's min(m, n) or the numerical rank of its gradient."""


def check_k(name: str, shape: tuple[int, int], rank: int, k: int, clamp_k: bool) -> int:
    """Directions to measure for one layer: ``k``, or min(k, rank) with ``clamp_k``; else raise :class:`KTooLarge`."""
    m, n = shape
    limit = min(m, n, rank)
    if k <= limit:
        return k
    if clamp_k:
        return limit
    raise KTooLarge(
        f"--k {k} exceeds layer {name!r}: its gradient ({m}x{n}) has numerical rank {rank}"
        f"{'' if rank == min(m, n) else f' < min(m, n) = {min(m, n)}'}; use --k <= {limit} or --clamp-k"
    )


def _floats(t: torch.Tensor | None) -> list | None:
    if t is None:
        return None
    return [float(v) if math.isfinite(v) else None for v in t.detach().double().cpu().tolist()]


def _count(t: torch.Tensor) -> tuple[int, int]:
    finite = torch.isfinite(t)
    return int((finite & (t <= 0)).sum()), int((~finite).sum())


def measure_model(
    model: nn.Module,
    loss_fn,
    inputs,
    targets,
    *,
    layer_types: dict[str, str],
    k: int = 20,
    gn: bool = True,
    kron: bool = True,
    fd: bool = False,
    clamp_k: bool = False,
    chunk_size: int | None = None,
    progress: bool = True,
    skip: frozenset[str] = frozenset(),
    on_layer: Callable[[dict], None] | None = None,
    method: str = "auto",
    fd_eps: float = 1e-3,
    fd_dtype: torch.dtype | None = None,
    kron_kwargs: dict | None = None,
) -> list[dict]:
    """Measure every layer of ``layer_types`` (name → type) not in ``skip``; return their LAYER records.

    ``k`` is checked against every selected layer's min(m, n) and numerical gradient rank **before**
    anything is measured (:class:`KTooLarge`, or measured as min(k, rank) with ``clamp_k``).
    ``on_layer(record)`` is called after each layer (the CLI rewrites the results file there, so an
    interrupted run resumes layer by layer). ``method``: exact-curvature method (see
    :func:`empirics.curvature.exact_curvatures`); ``fd_eps``/``fd_dtype``: finite differences.
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if len(targets) == 0:
        raise ValueError("empty batch: no samples to measure")
    model.eval()
    names = [n for n in layer_types if n not in skip]
    if not names:
        return []
    t0 = time.perf_counter()
    grads = C.gradient_matrices(model, loss_fn, inputs, targets, names)
    t_grad = time.perf_counter() - t0
    plan = {}
    for name in names:
        d_full = C.top_k_directions(grads[name], min(grads[name].shape))
        plan[name] = (d_full, check_k(name, tuple(grads[name].shape), d_full.rank, k, clamp_k))

    together = _gn_exact_together(model, loss_fn, inputs, targets, plan, chunk_size) if method in GROUPED else {}

    kron_mod = None
    if kron:
        try:
            import empirics.kron as kron_mod
        except ImportError:  # pragma: no cover - the module ships with the package
            kron_mod = None

    bar = None
    if progress and dist.is_main():
        from tqdm.auto import tqdm

        bar = tqdm(total=len(names), desc="measure", unit="layer", leave=False, dynamic_ncols=True)
    records = []
    try:
        for name in names:
            if bar is not None:
                bar.set_postfix_str(name)
            rec = _measure_layer(
                model,
                loss_fn,
                inputs,
                targets,
                name,
                layer_types[name],
                grads[name],
                *plan[name],
                requested_k=k,
                gn=gn,
                kron_mod=kron_mod if kron else None,
                kron_requested=kron,
                fd=fd,
                chunk_size=chunk_size,
                method=method,
                fd_eps=fd_eps,
                fd_dtype=fd_dtype,
                kron_kwargs=kron_kwargs or {},
                t_grad=t_grad / len(names),
                precomputed=together.get(name),
            )
            records.append(rec)
            if on_layer is not None:
                on_layer(rec)
            if bar is not None:
                bar.update(1)
    finally:
        if bar is not None:
            bar.close()
    return records


def _leading(d_full: C.Directions, kk: int) -> C.Directions:
    """The top ``kk`` of a full set of singular directions (rank and its tolerance kept)."""
    return C.Directions(d_full.sigma[:kk], d_full.U[:, :kk], d_full.W[:, :kk], d_full.rank, d_full.rtol)


#: methods under which the piecewise-linear layers are measured together before the per-layer loop
GROUPED = ("auto", "gn_exact")


def _gn_exact_together(model, loss_fn, inputs, targets, plan, chunk_size) -> dict[str, tuple]:
    r"""The layers whose output is piecewise linear in their weight (:math:`h^{\rm exact}=h^{\rm GN}`), all in
    one :func:`~empirics.curvature.exact_curvatures` call, so that they share the output adjoints
    (:mod:`empirics.gn_reverse`). Returns ``name -> (h, choice, seconds)``, the call's time split over the
    layers in proportion to their directions; the other layers are measured one by one as before."""
    verdicts = piecewise_linear_layers(model, inputs, list(plan))
    D = {}
    for name, (d_full, kk) in plan.items():
        if kk and verdicts[name].piecewise_linear:
            d = _leading(d_full, kk)
            D[name] = C.direction_tensors(d, get_module(model, name))
    if not D:
        return {}
    t = time.perf_counter()
    h = C.exact_curvatures(model, loss_fn, inputs, targets, D, chunk_size=chunk_size, method="gn_exact")
    elapsed = time.perf_counter() - t
    total = sum(v.shape[0] for v in D.values())
    return {n: (h[n], dict(C.LAST_CHOICES.get(n, {})), elapsed * D[n].shape[0] / total) for n in D}


def _measure_layer(
    model,
    loss_fn,
    inputs,
    targets,
    name,
    layer_type,
    G,
    d_full,
    kk,
    *,
    requested_k,
    gn,
    kron_mod,
    kron_requested,
    fd,
    chunk_size,
    method,
    fd_eps,
    fd_dtype,
    kron_kwargs,
    t_grad,
    precomputed=None,
) -> dict:
    module = get_module(model, name)
    m, n = G.shape
    d = _leading(d_full, kk)
    notes: list[str] = []
    if kk < requested_k:
        notes.append(f"k clamped from {requested_k} to {kk} (numerical rank {d.rank}, min(m, n) = {min(m, n)})")
    if d.rank < min(m, n):
        notes.append(f"rank-deficient gradient: numerical rank {d.rank} < min(m, n) = {min(m, n)}")
    if kk < MIN_POINTS:
        notes.append(f"too few directions for the log fits: k = {kk} < {MIN_POINTS}")
    timing = {"gradient_s": t_grad}
    D = {name: C.direction_tensors(d, module)}
    if kk == 0:  # zero gradient (rank 0) with clamp_k: nothing to measure, said so explicitly
        notes.append("zero gradient (numerical rank 0): no direction measured")
        gn, fd = False, False

    t = time.perf_counter()
    if precomputed is not None:  # gn_exact layers measured together (see _gn_exact_together)
        h, choice, timing["exact_s"] = precomputed
    else:
        if kk:
            h = C.exact_curvatures(model, loss_fn, inputs, targets, D, chunk_size=chunk_size, method=method)[name]
        else:
            h = d.sigma.new_zeros(0)
        timing["exact_s"] = time.perf_counter() - t
        choice = dict(C.LAST_CHOICES.get(name, {}))
    rec: dict = {
        "name": name,
        "layer_type": layer_type,
        "shape": [int(m), int(n)],
        "weight_shape": [int(s) for s in module.weight.shape],
        "k": int(kk),
        "rank": int(d.rank),
        "rank_rtol": float(d.rtol),
        "sigma": _floats(d.sigma),
        "h_exact": _floats(h),
        "curvature_method": choice.get("method", method),
        "chunk_size": choice.get("chunk_size"),
    }
    if choice.get("gn_form"):
        notes.append(f"gn_exact form: {choice['gn_form']}")
    n_nonpos, n_nonfin = _count(h)
    n_nonfin += int((~torch.isfinite(d.sigma)).sum())
    if n_nonpos:
        notes.append(f"{n_nonpos} non-positive exact curvature(s) (kept in h_exact, excluded from log fits)")
    if n_nonfin:
        notes.append(f"{n_nonfin} non-finite value(s) in sigma/h_exact (written as null)")

    if gn:
        t = time.perf_counter()
        if rec["curvature_method"] == C.GN_EXACT_LABEL:  # h_exact was computed as the GN form (exact here)
            hg = h
            notes.append("h_gn = h_exact: the output is piecewise linear in this layer's weight (gn_exact)")
        else:
            hg = C.gn_curvatures(model, loss_fn, inputs, targets, D, chunk_size=chunk_size)[name]
        timing["gn_s"] = time.perf_counter() - t
        rec["h_gn"] = _floats(hg)
        rec["gn_gap"] = _floats(h - hg)
        p, f = _count(hg)
        if p:
            notes.append(f"{p} non-positive Gauss-Newton curvature(s)")
        if f:
            notes.append(f"{f} non-finite Gauss-Newton curvature(s)")
    if fd:
        t = time.perf_counter()
        hf = C.fd_curvatures(model, loss_fn, inputs, targets, D, eps=fd_eps, dtype=fd_dtype)[name]
        timing["fd_s"] = time.perf_counter() - t
        rec["h_fd"] = _floats(hf)
        rec["fd_settings"] = {"eps": fd_eps, "dtype": str(fd_dtype or module.weight.dtype).replace("torch.", "")}
        p, f = _count(hf)
        notes.append(f"finite differences: {p} non-positive, {f} non-finite of {kk}")
    if kron_mod is not None and kk > 0:
        t = time.perf_counter()
        io = kron_mod.collect_layer_io(model, loss_fn, inputs, targets, name, **kron_kwargs)
        rec["kron"] = kron_mod.kron_record(io, d.sigma, d.U, d.W, h)
        timing["kron_s"] = time.perf_counter() - t
    elif kron_requested:
        notes.append("kron sub-record not computed" + (" (k = 0)" if kk == 0 else " (empirics.kron unavailable)"))

    fits = summarize_layer(rec["sigma"], rec["h_exact"]).as_dict()
    rec["fits"] = fits
    rec["diagnostics"] = {
        "n_nonpositive_h": n_nonpos,
        "n_nonfinite": n_nonfin,
        "notes": notes + [f"fits: {s}" for s in fits.get("notes", [])],
    }
    if choice.get("trial_seconds"):
        timing["method_trial_s"] = choice["trial_seconds"]
    rec["timing"] = timing
    rec["measured_at"] = datetime.now(UTC).isoformat(timespec="seconds")
    return rec
