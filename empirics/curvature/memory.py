r"""Memory budgeting: how many directions one ``vmap`` chunk may hold.

One direction's working memory is taken as a multiple (:data:`MEM_FACTOR`, per method) of the bytes of
every module output of one plain forward; a chunk may use ``fraction`` of the free memory (at most 2 GiB
on CPU, where bigger chunks buy nothing but page faults). On CUDA out-of-memory a chunk is halved and
retried (:func:`chunked`). :func:`default_budget` is that rule for every method's default working memory
(the output-adjoint blocks and ``fwd_adj``'s groups take a quarter, :data:`DEFAULT_FRACTION`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import nn

__all__ = [
    "available_bytes",
    "default_budget",
    "activation_bytes",
    "auto_chunk_size",
    "chunked",
    "MEM_FACTOR",
    "CPU_BUDGET",
    "DEFAULT_FRACTION",
]

#: working-memory multiple of one forward's activations per direction (tangent + saved tensors), per method
MEM_FACTOR = {"fwd_fwd": 4.0, "fwd_rev": 8.0, "rev_rev": 8.0, "gn": 3.0}
#: upper bound of a method's default working memory on CPU
CPU_BUDGET = 2 * 1024**3
#: share of the free memory a method takes by default (no ``max_memory``)
DEFAULT_FRACTION = 0.25


def available_bytes(device: torch.device) -> int:
    """Free memory of ``device`` (CUDA: ``mem_get_info``; CPU: ``MemAvailable``, else 4 GiB)."""
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return int(free)
    try:
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 4 * 1024**3


def default_budget(device: torch.device, fraction: float = DEFAULT_FRACTION) -> int:
    """Bytes a method works within when no budget is given: ``fraction`` of ``device``'s free memory
    (:func:`available_bytes`), at most :data:`CPU_BUDGET` on CPU."""
    budget = int(fraction * available_bytes(device))
    return min(budget, CPU_BUDGET) if device.type == "cpu" else budget


def _measure_activation_bytes(model: nn.Module, inputs) -> int:
    total = 0

    def hook(_m, _i, out):
        nonlocal total
        if isinstance(out, torch.Tensor):
            total += out.numel() * out.element_size()

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model(inputs)
    finally:
        for h in handles:
            h.remove()
    return max(total, 1)


def activation_bytes(model: nn.Module, inputs, cache: dict | None = None) -> int:
    """Bytes of every module output of one plain forward (a proxy for one direction's working memory);
    measured once per (input shape, dtype, parameter count) when a ``cache`` dict is given."""
    key = (tuple(inputs.shape), str(inputs.dtype), sum(p.numel() for p in model.parameters()))
    if cache is None:
        return _measure_activation_bytes(model, inputs)
    if key not in cache:
        cache[key] = _measure_activation_bytes(model, inputs)
    return cache[key]


def auto_chunk_size(
    model: nn.Module, inputs, k: int, method: str = "fwd_rev", fraction: float = 0.5, cache: dict | None = None
) -> int:
    """Directions per vmap chunk so that a chunk uses at most ``fraction`` of the free memory (≥ 1, ≤ k)."""
    device = next(model.parameters()).device
    per_dir = MEM_FACTOR.get(method, 8.0) * activation_bytes(model, inputs, cache)
    return int(max(1, min(k, default_budget(device, fraction) // per_dir)))


def chunked(
    fn: Callable[[torch.Tensor], torch.Tensor],
    V: torch.Tensor,
    chunk: int,
    on_chunk: Callable[[int, int], None] | None = None,
) -> torch.Tensor:
    """Apply a vmapped ``fn`` to ``V`` (k, ...) in chunks; on CUDA out-of-memory the chunk is halved and
    retried. ``on_chunk(done, total)`` is called after each chunk (progress)."""
    outs, i = [], 0
    while i < V.shape[0]:
        try:
            outs.append(fn(V[i : i + chunk]))
            i += chunk
            if on_chunk is not None:
                on_chunk(min(i, V.shape[0]), V.shape[0])
        except torch.cuda.OutOfMemoryError:
            if chunk == 1:
                raise
            chunk = max(1, chunk // 2)
            torch.cuda.empty_cache()
    return torch.cat(outs) if outs else V.new_zeros(0)
