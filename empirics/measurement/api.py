r"""``measure(model, (inputs, targets), loss, k=...)``: every matrix weight of any PyTorch model.

What it does, in order:

1. works on a copy of the model in ``dtype`` (default float64 on CPU, float32 on CUDA), in eval mode, with
   HuggingFace's ``use_cache`` off; the caller's model (mode, dtype, ``requires_grad`` flags) is untouched;
2. picks the measured output tensor (:mod:`~empirics.measurement.outputs`: a tensor, else ``logits``, else
   the only tensor, or ``output=``);
3. derives per-sample losses from the mean-reduction ``loss`` and checks them
   (:mod:`~empirics.measurement.losses`);
4. resolves the layers: ``layers="auto"`` is every matrix weight (:func:`empirics.layers.discover`: Linear,
   Conv1d/2d/3d incl. grouped and depthwise, HF ``Conv1D``, ``nn.MultiheadAttention``'s ``in_proj_weight``
   and ``out_proj``, a tied weight once with all its uses), a list of names, or ``{name: type}``; types are
   inferred from kinds and names unless given (``layer_types=`` overrides some);
5. measures layer by layer (:func:`~empirics.measurement.runner.measure_layers`): a layer that fails
   becomes an entry with ``error`` and a hint, optional records (GN, Kronecker, FD) decline per layer
   with a note, and every finished layer is kept.
"""

from __future__ import annotations

import copy
import traceback
from collections.abc import Callable, Iterable, Mapping
from typing import Any

import torch
from torch import nn

from empirics.curvature import METHODS, AllMethodsFailed, NotSingleTensor
from empirics.curvature.result import one_line
from empirics.layers import discover, infer_types, locate, resolve_layers
from empirics.measurement.losses import per_sample_loss
from empirics.measurement.outputs import select_output
from empirics.measurement.result import LayerResult, Measurement
from empirics.measurement.runner import measure_layers
from empirics.quantities import MeasureSettings
from empirics.schema import LAYER_TYPES

__all__ = ["measure", "auto_layer_types", "hint_for", "working_copy"]


def auto_layer_types(model: nn.Module) -> dict[str, str]:
    """``{name: type}`` of every matrix weight (the zoo's tags win where the model carries them)."""
    inferred = infer_types(model, discover(model))
    tags = {n: m.sad_layer_type for n, m in model.named_modules() if hasattr(m, "sad_layer_type")}
    return {n: tags.get(n, t) for n, t in inferred.items()}


def hint_for(exc: BaseException) -> str:
    """A one-line hint for a layer that failed, in terms of Python arguments."""
    text = str(exc).lower()
    if isinstance(exc, AllMethodsFailed):
        return "no exact method could differentiate twice through this model's ops (each one's error is listed)"
    if isinstance(exc, NotSingleTensor) or "single tensor" in text:
        return "pick the measured output with output=..."
    if "forward ad" in text or "forward-mode" in text or "jvp" in text or "vmap" in text:
        return "an op without forward-mode AD: try method='rev_rev'"
    if isinstance(exc, torch.cuda.OutOfMemoryError) or "out of memory" in text:
        return "out of memory: pass a smaller chunk_size= or batch"
    return "measure it alone with layers=[name] to see the full traceback (LayerResult.traceback)"


def _table(model: nn.Module, layers, layer_types: Mapping[str, str] | None) -> dict[str, str]:
    auto = auto_layer_types(model)
    if isinstance(layers, str):
        if layers != "auto":
            raise ValueError(f"layers={layers!r}: 'auto', a list of layer names or a {{name: type}} dict")
        table = dict(auto)
    elif isinstance(layers, Mapping):
        table = dict(layers)
    elif isinstance(layers, Iterable):
        names = list(layers)
        for n in names:
            try:
                locate(model, n)
            except ValueError as exc:
                raise ValueError(f"layers=: {exc}; matrix weights: {', '.join(auto)}") from None
        table = {n: auto.get(n) or "dense" for n in names}
    else:
        raise ValueError(f"layers={layers!r}: 'auto', a list of layer names or a {{name: type}} dict")
    for n, t in (layer_types or {}).items():
        if n not in table:
            raise ValueError(f"layer_types=: {n!r} is not among the measured layers ({', '.join(table)})")
        table[n] = t
    for n, t in table.items():
        if t not in LAYER_TYPES:
            raise ValueError(f"layer_types=: layer {n!r} has unknown type {t!r}; one of {', '.join(LAYER_TYPES)}")
    try:
        return resolve_layers(model, table)
    except ValueError as exc:
        raise ValueError(f"layers=: {exc}") from None


def _batch(batch) -> tuple[torch.Tensor, torch.Tensor]:
    if not isinstance(batch, (tuple, list)) or len(batch) != 2:
        raise ValueError("batch: expected (inputs, targets)")
    x, y = batch
    if not isinstance(x, torch.Tensor) or not isinstance(y, torch.Tensor):
        raise ValueError(f"batch: inputs and targets must be tensors, got {type(x).__name__}, {type(y).__name__}")
    if len(x) == 0:
        raise ValueError("batch: empty (no samples)")
    if len(x) != len(y):
        raise ValueError(f"batch: {len(x)} inputs but {len(y)} targets")
    return x, y


def working_copy(model: nn.Module, dtype: torch.dtype, device: torch.device) -> nn.Module:
    """A deep copy of ``model`` on ``device`` in ``dtype``, in eval mode, with a HuggingFace model's key/value cache
    switched off; the caller's model is left untouched."""
    work = copy.deepcopy(model).to(device=device, dtype=dtype).eval()
    cfg = getattr(work, "config", None)
    if cfg is not None and getattr(cfg, "use_cache", None):
        cfg.use_cache = False  # no key/value cache objects in the outputs
    return work


def measure(
    model: nn.Module,
    batch: tuple[torch.Tensor, torch.Tensor],
    loss: Callable | nn.Module,
    k: int = 10,
    *,
    layers: str | Iterable[str] | Mapping[str, str] = "auto",
    layer_types: Mapping[str, str] | None = None,
    output: str | int | Callable | None = None,
    dtype: torch.dtype | None = None,
    device: str | torch.device | None = None,
    per_sample: bool = False,
    method: str = "auto",
    gn: bool = True,
    kron: bool = True,
    fd: bool = False,
    clamp_k: bool = True,
    chunk_size: int | None = None,
    max_memory: int | None = None,
    extras: tuple[str, ...] = (),
    progress: bool = True,
    run_info: Mapping[str, Any] | None = None,
) -> Measurement:
    r"""Measure :math:`h_k=v_k^\top Hv_k` along the top-``k`` gradient singular directions of every matrix
    weight of ``model`` on ``batch = (inputs, targets)`` under ``loss`` (its usual mean reduction).

    ``layers``: ``"auto"``, names, or ``{name: type}``; ``layer_types``: override some inferred types.
    ``output``: which tensor of a dict/tuple output (default ``logits`` or the only tensor). ``dtype``:
    default float64 on CPU, float32 on CUDA (applied to a copy). ``per_sample=True``: ``loss`` already
    returns per-sample losses. ``method``: exact-curvature method (``auto`` picks per layer and falls back
    when a candidate fails). ``gn``/``kron``/``fd``: optional per-layer records. ``clamp_k``: a layer of
    rank < k is measured with k = rank (noted). ``max_memory``: a budget in bytes for the shared exact passes
    (below what they need: ``MemoryBudgetError`` naming the least, reported per layer). ``extras``: further registered quantities
    (docs/extending.md). ``run_info``: fields of the saved file's ``run`` record (``dataset``, ...).
    Returns a :class:`~empirics.measurement.result.Measurement`.
    """
    if not isinstance(model, nn.Module):
        raise TypeError(f"model: expected a torch.nn.Module, got {type(model).__name__}")
    if not isinstance(k, int) or isinstance(k, bool) or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    if method not in METHODS:
        raise ValueError(f"method={method!r}: one of {', '.join(METHODS)}")
    x, y = _batch(batch)
    params = list(model.parameters())
    if not params:
        raise ValueError("model: it has no parameters")
    dev = torch.device(device) if device is not None else params[0].device
    dt = dtype or (torch.float32 if dev.type == "cuda" else torch.float64)
    work = working_copy(model, dt, dev)
    x = x.to(device=dev, dtype=dt) if x.is_floating_point() else x.to(dev)
    y = y.to(device=dev, dtype=dt) if y.is_floating_point() else y.to(dev)
    try:
        with torch.no_grad():
            sample = work(x)
    except Exception as exc:  # noqa: BLE001 - the model does not run on these inputs: say so in one line
        raise ValueError(
            f"batch: the model fails on these inputs ({one_line(exc)}); inputs must be one tensor"
        ) from exc
    net = select_output(work, sample, output)
    with torch.no_grad():
        out = net(x)
    loss_fn = per_sample_loss(loss, out, y, per_sample=per_sample)
    table = _table(net, layers, layer_types)
    if not table:
        raise ValueError("layers=: no matrix weight to measure")
    settings = MeasureSettings(
        k=k,
        clamp_k=clamp_k,
        method=method,
        chunk_size=chunk_size,
        max_memory=max_memory,
        gn=gn,
        kron=kron,
        fd=fd,
        extras=tuple(extras),
    )
    failures: dict[str, tuple[str, str, str]] = {}

    def on_error(name: str, exc: BaseException) -> None:
        failures[name] = (one_line(exc, limit=600), hint_for(exc), "".join(traceback.format_exception(exc)))

    directions: dict = {}
    records = measure_layers(
        net,
        loss_fn,
        x,
        y,
        table,
        settings,
        on_error=on_error,
        progress=progress,
        flags=False,
        directions_out=directions,
    )
    by_name = {r["name"]: r for r in records}
    results: dict[str, LayerResult] = {}
    for name, t in table.items():
        if name in by_name:
            d = directions[name]
            results[name] = LayerResult(
                name, t, by_name[name], d.U.detach().cpu().double().numpy(), d.W.detach().cpu().double().numpy()
            )
        else:
            err, hint, tb = failures.get(name, ("not measured", "", ""))
            results[name] = LayerResult(name, t, None, error=f"layer {name!r}: {err}", hint=hint, traceback=tb)
    run = _run_record(model, x, y, out, k, dt, dev, loss_fn.name, run_info)
    settings_doc = {
        "api": "empirics.measure",
        "bn_mode": "eval",
        "bias_measured": False,
        "layers_measured": table,
        "loss_per_sample": loss_fn.how,
        "output": output
        if isinstance(output, (str, int)) or output is None
        else getattr(output, "__name__", "callable"),
        "method": method,
        "clamp_k": clamp_k,
        "max_memory": max_memory,
        "measure": {"gn": gn, "kron": kron, "fd": fd, "extras": list(extras)},
    }
    return Measurement(results, run, settings_doc)


def _run_record(model, x, y, out, k, dtype, device, loss_name, run_info) -> dict[str, Any]:
    is_lm = out.dim() == 3 and y.dim() == 2 and not y.is_floating_point()
    is_cls = not y.is_floating_point() and y.dim() == 1
    run = {
        "model": type(model).__name__,
        "architecture": type(model).__name__.lower(),
        "dataset": "user batch",
        "dataset_kind": "real",
        "n_classes": int(out.shape[-1]) if is_cls else None,
        "task": "lm" if is_lm else "classification" if is_cls else "regression",
        "batch_size": int(len(x)),
        "k": int(k),
        "dtype": str(dtype).replace("torch.", ""),
        "device": torch.device(device).type,
        "seed": 0,
        "loss": loss_name,
    }
    run.update(dict(run_info or {}))
    return run
