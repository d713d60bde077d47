r"""The timed computations and the agreement metric.

* :func:`plain_gradient` — the unit of cost: one forward + backward of the batch loss
  :math:`\mathcal L=\frac1B\sum_i\ell_i` w.r.t. every parameter;
* :func:`paper_curvatures` — the paper's protocol, :func:`empirics.curvature.paper_protocol_curvatures`:
  per layer a forward, ``autograd.grad(L, W, create_graph=True)``, then one backward of
  :math:`\langle g, D_k\rangle` per direction in a Python loop, :math:`h_k=\langle D_k, Hv_k\rangle`;
* :func:`engine_curvatures` — the project's engine, :func:`empirics.curvature.exact_curvatures`
  (all layers' :math:`h_k=v_k^\top Hv_k`, batched over directions);
* :func:`whole_measurement` — gradient matrices of all layers (one backward), top-k SVD per layer,
  directions, then one of the two curvature stages: the SVDs are included for both methods, by the
  same code, so the two differ only in the curvature stage;
* :func:`max_relative_difference` — :math:`\max_{\ell,k}|h^{\rm eng}_{\ell k}-h^{\rm pap}_{\ell k}|/\max_k|h^{\rm pap}_{\ell k}|`
  over the directions within each layer's numerical gradient rank (the others reported, not compared).
"""

from __future__ import annotations

import math

import torch

from benchmarks.workloads import Workload

__all__ = [
    "plain_gradient",
    "paper_curvatures",
    "engine_curvatures",
    "whole_measurement",
    "measure_layers_stage",
    "engine_results",
    "values_of",
    "max_relative_difference",
    "TOLERANCE",
]

#: agreement required between the two methods, per dtype
TOLERANCE = {torch.float64: 1e-10, torch.float32: 1e-4}


def plain_gradient(work: Workload) -> list[torch.Tensor]:
    r"""One plain gradient, the unit of cost: :math:`\nabla\mathcal L` with :math:`\mathcal L=\frac1B\sum_i\ell_i`,
    one tensor per trainable parameter (in ``parameters()`` order)."""
    params = [p for p in work.model.parameters() if p.requires_grad]
    with torch.enable_grad():
        loss = work.loss_fn(work.model(work.inputs), work.targets).mean()
        return list(torch.autograd.grad(loss, params))


def values_of(results) -> dict[str, torch.Tensor]:
    """``name -> h`` from the engine's per-layer result records (tensors pass through)."""
    return {n: getattr(r, "values", r) for n, r in results.items()}


def paper_curvatures(work: Workload, directions: dict[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    """The paper's loop (:func:`empirics.curvature.paper_protocol_curvatures`): ``name -> h``."""
    from empirics.curvature import paper_protocol_curvatures

    return values_of(paper_protocol_curvatures(work.model, work.loss_fn, work.inputs, work.targets, directions))


def engine_results(
    work: Workload,
    directions: dict[str, torch.Tensor],
    *,
    chunk_size: int | None = None,
    method: str | None = None,
    cache=None,
    max_memory: int | None = None,
    compile_kernels: bool = False,
):
    """The engine's :func:`empirics.curvature.exact_curvatures`: ``name -> CurvatureResult`` (values, method, …).

    ``cache``: an :class:`empirics.curvature.EngineCache` kept across repeated calls on the same workload (what
    one measurement's engine keeps: piecewise-linearity verdicts, adjoint checks, ``auto`` decisions); ``None``
    pays that detection in every call."""
    from empirics.curvature import exact_curvatures

    kw = {} if method is None else {"method": method}
    return exact_curvatures(
        work.model,
        work.loss_fn,
        work.inputs,
        work.targets,
        directions,
        chunk_size=chunk_size,
        cache=cache,
        max_memory=max_memory,
        compile_kernels=compile_kernels,
        **kw,
    )


def engine_curvatures(
    work: Workload,
    directions: dict[str, torch.Tensor],
    *,
    chunk_size: int | None = None,
    method: str | None = None,
    cache=None,
) -> dict[str, torch.Tensor]:
    """The engine's exact curvatures: ``name -> h``."""
    return values_of(engine_results(work, directions, chunk_size=chunk_size, method=method, cache=cache))


def whole_measurement(work: Workload, names, k: int, stage: str, **engine_kw):
    """G (one backward, all layers) → top-k SVD per layer → D_k → curvature stage ``paper``/``engine``."""
    from empirics.curvature import gradient_matrices, layer_directions, top_k_directions

    G = gradient_matrices(work.model, work.loss_fn, work.inputs, work.targets, list(names))
    dirs = {n: layer_directions(work.model, n, top_k_directions(g, k)) for n, g in G.items()}
    if stage == "paper":
        return paper_curvatures(work, dirs)
    return engine_results(work, dirs, **engine_kw)


def measure_layers_stage(
    work: Workload, layer_types: dict[str, str], k: int, chunk_size: int | None = None, max_memory: int | None = None
):
    """The engine's full record pipeline, curvature only (:func:`empirics.measurement.runner.measure_layers`
    with ``gn``, ``kron``, ``fd`` off; ``clamp_k``: a layer of lower rank measures fewer directions)."""
    from empirics.measurement.runner import measure_layers
    from empirics.quantities import MeasureSettings

    settings = MeasureSettings(
        k=k, gn=False, kron=False, fd=False, chunk_size=chunk_size, max_memory=max_memory, clamp_k=True
    )
    return measure_layers(work.model, work.loss_fn, work.inputs, work.targets, layer_types, settings, progress=False)


def max_relative_difference(
    reference: dict[str, torch.Tensor], other: dict[str, torch.Tensor], ranks: dict[str, int] | None = None
) -> dict:
    r"""Agreement of two methods' :math:`h_k`, relative to each layer's scale :math:`\max_k|h^{\rm ref}_k|`.

    The metric that decides (``max_rel_to_layer_scale``) is :math:`\max_{\ell,k}|h^{\rm other}_{\ell k}-h^{\rm
    ref}_{\ell k}|/\max_k|h^{\rm ref}_{\ell k}|` over the directions **within the numerical rank** of each
    layer's gradient (``ranks``: name -> rank; ``None``: all directions). A direction beyond the rank is not a
    singular direction of :math:`G` (σ ≈ 0; any unit vector of the null space) and its :math:`h\approx0` is
    round-off in both methods: it is excluded and listed in ``excluded`` (layer -> indices, with both values).
    Also returned: the pointwise :math:`\max|\Delta h|/|h^{\rm ref}|` (``max_rel``, same directions; large when
    some :math:`h_k` is near zero by cancellation), the location of the worst entry, and the counts of
    non-positive and non-finite :math:`h_k` (reported, never dropped). A pair of exact zeros agrees; a zero
    reference against a non-zero value is ``inf``; a layer whose scale is 0 uses the absolute difference.
    """
    if set(reference) != set(other):
        raise ValueError(f"layer sets differ: {sorted(set(reference) ^ set(other))}")
    worst, where, per_layer, excluded = 0.0, None, {}, {}
    n_nonpos = n_nonfinite = 0
    for name, ref in reference.items():
        a = ref.detach().double().cpu()
        b = other[name].detach().double().cpu()
        if a.shape != b.shape:
            raise ValueError(f"layer {name}: {tuple(a.shape)} vs {tuple(b.shape)} curvatures")
        n_nonfinite += int((~torch.isfinite(a)).sum() + (~torch.isfinite(b)).sum())
        n_nonpos += int((a <= 0).sum())
        r = a.numel() if ranks is None else min(int(ranks[name]), a.numel())
        if r < a.numel():
            excluded[name] = {"k": list(range(r, a.numel())), "reference": a[r:].tolist(), "other": b[r:].tolist()}
        a, b = a[:r], b[:r]
        diff = (a - b).abs()
        rel = torch.where(diff == 0, torch.zeros_like(diff), diff / a.abs())
        rel = torch.where(torch.isnan(rel), torch.full_like(rel, math.inf), rel)
        diff = torch.where(torch.isnan(diff), torch.full_like(diff, math.inf), diff)
        scale = a.abs().max() if a.numel() else torch.tensor(0.0)
        layer_rel = float(rel.max()) if rel.numel() else 0.0
        per_layer[name] = {
            "max_rel": layer_rel,
            "max_rel_to_layer_scale": float(diff.max() / scale)
            if a.numel() and scale > 0
            else float(diff.max() if a.numel() else 0.0),
            "directions_compared": r,
        }
        if where is None or layer_rel > worst:
            worst, where = layer_rel, (name, int(rel.argmax()) if rel.numel() else -1)
    scaled = max((v["max_rel_to_layer_scale"] for v in per_layer.values()), default=0.0)
    worst_scaled = max(per_layer, key=lambda n: per_layer[n]["max_rel_to_layer_scale"]) if per_layer else None
    return {
        "max_rel": worst,
        "max_rel_to_layer_scale": scaled,
        "worst": where,
        "worst_layer_scaled": worst_scaled,
        "per_layer": per_layer,
        "excluded": excluded,
        "n_excluded": sum(len(v["k"]) for v in excluded.values()),
        "n_nonpositive_ref": n_nonpos,
        "n_nonfinite": n_nonfinite,
    }
