"""s = αγ per layer for the scalar per-layer configs of App. M, measured with the curvature engine."""

from __future__ import annotations

import math

import torch

from empirics.compare.setup import CompareError, build
from empirics.compare.spec import CompareSpec
from empirics.data import Dataset, loss_for
from empirics.train import deterministic

__all__ = ["measure_s"]


def measure_s(spec: CompareSpec, train: Dataset, device: torch.device, progress: bool = False) -> tuple[dict, dict]:
    """Measure α, γ and s = αγ of every layer of the model initialised with the search seed.

    The engine (:func:`empirics.measurement.runner.measure_layers`, exact curvature along the top-``s_k`` gradient
    singular directions, ``k`` clamped to the gradient rank) runs in float64 on the first ``s_batch``
    training samples, after ``s_warmup_steps`` AdamW steps (0: the initial model). A layer whose fits are
    degenerate (too few positive curvatures) gets the mean s of the others, and is listed in ``notes``.
    """
    from empirics.measurement.runner import measure_layers
    from empirics.quantities import MeasureSettings
    from empirics.zoo import layer_table

    model = build(spec, train, spec.search_seed, device)
    if spec.s_warmup_steps:
        with deterministic(spec.search_seed, device):
            opt = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=spec.weight_decay)
            g = torch.Generator().manual_seed(spec.search_seed)
            loss_fn = loss_for(train)
            for _ in range(spec.s_warmup_steps):
                idx = torch.randperm(len(train), generator=g)[: spec.batch_size]
                x = train.inputs[idx].to(device=device, dtype=getattr(torch, spec.dtype))
                opt.zero_grad(set_to_none=True)
                loss_fn(model(x), train.targets[idx].to(device)).mean().backward()
                opt.step()
    model = model.to(dtype=torch.float64).eval()
    n = min(spec.s_batch, len(train))
    x = train.inputs[:n].to(device=device, dtype=torch.float64)
    y = train.targets[:n].to(device)
    types = layer_table(model)
    settings = MeasureSettings(k=spec.s_k, gn=False, kron=False, clamp_k=True)
    recs = measure_layers(model, loss_for(train), x, y, types, settings, progress=progress)
    out: dict[str, dict] = {}
    notes: list[str] = []
    for r in recs:
        f = r.get("fits", {})
        a, g = f.get("alpha"), f.get("gamma")
        s = a * g if a is not None and g is not None and math.isfinite(a * g) else None
        out[r["name"]] = {
            "layer_type": r["layer_type"],
            "k": r["k"],
            "alpha": a,
            "gamma": g,
            "s": s,
            "s_hessian": f.get("s"),
        }
    good = [v["s"] for v in out.values() if v["s"] is not None]
    if not good:
        raise CompareError("s = αγ could not be fitted on any layer (too few positive curvatures)")
    fill = sum(good) / len(good)
    for name, v in out.items():
        if v["s"] is None:
            v["s"] = fill
            notes.append(f"{name}: α·γ not fitted; s set to the mean of the other layers ({fill:.4g})")
    how = {
        "when": "initial model (search seed)"
        if not spec.s_warmup_steps
        else f"after {spec.s_warmup_steps} AdamW steps",
        "model_seed": spec.search_seed,
        "engine": "empirics.measurement.runner.measure_layers (exact curvature; gn, kron off; k clamped to rank)",
        "k": spec.s_k,
        "batch": n,
        "dtype": "float64",
        "s": "alpha * gamma (theory.fits: alpha = slope of log h on log sigma, gamma = -slope of log sigma on log k)",
        "s_bar": "the optimizer's own choice (empirics.optim); the same s for every seed",
        "notes": notes,
    }
    return out, how
