r"""Rank/world helpers for data-parallel measurement (torch.distributed; identity when not initialised).

Convention (shared by every sum over samples in ``empirics``): each process holds a slice of the
fixed batch; the measured objective is :math:`\mathcal L=\frac1{B_{\rm global}}\sum_i \ell_i` with
:math:`B_{\rm global}` the all-reduced sample count, so a process contributes
:math:`\frac1{B_{\rm global}}\sum_{i\in\text{local}}(\cdot)` and :func:`all_reduce_sum` adds the
contributions. Results then equal the single-process ones up to summation order.

Launch: ``torchrun --nproc_per_node=2 -m empirics measure ...`` (gloo on CPU, NCCL on CUDA).

Clean exit. ``torch.func``'s ``jvp``/``grad`` import ``torch._dynamo`` on first use, which imports modules that
keep a reference to the default process group if one exists at that moment; ``destroy_process_group`` then
cannot free it and its backend threads (gloo: ``gloo_tcp_loop``, ``pt_gloo_runloop``) stay alive, and a
process exiting with them alive aborts at random (``terminate called without an active exception``,
SIGABRT). :func:`init_from_env` therefore imports ``torch._dynamo`` *before* creating the group, and
:func:`shutdown` destroys it, collects garbage and returns the names of any backend threads still alive
(:func:`backend_threads`), so callers and tests can check that nothing is left.
"""

from __future__ import annotations

import gc
import os
from typing import TypeVar

import torch
import torch.distributed as dist

T = TypeVar("T")

__all__ = [
    "is_distributed",
    "rank",
    "world_size",
    "is_main",
    "all_reduce_sum",
    "broadcast_",
    "global_count",
    "shard",
    "init_from_env",
    "shutdown",
    "backend_threads",
    "broadcast_object",
    "first_error",
    "global_offset",
]


def is_distributed() -> bool:
    """True when a torch.distributed process group is initialised with more than one process."""
    return dist.is_available() and dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    return dist.get_rank() if is_distributed() else 0


def world_size() -> int:
    return dist.get_world_size() if is_distributed() else 1


def is_main() -> bool:
    """Rank 0 (or the only process): the one that writes files and shows progress."""
    return rank() == 0


def all_reduce_sum(t: torch.Tensor) -> torch.Tensor:
    """Sum ``t`` over all processes (returns a new tensor; identity when not distributed)."""
    if not is_distributed():
        return t
    out = t.detach().clone().contiguous()
    dist.all_reduce(out, op=dist.ReduceOp.SUM)
    return out


def broadcast_(t: torch.Tensor, src: int = 0) -> torch.Tensor:
    """Overwrite ``t`` in place with rank ``src``'s copy (used for the SVD directions); returns ``t``."""
    if is_distributed():
        buf = t.contiguous()
        dist.broadcast(buf, src=src)
        if buf.data_ptr() != t.data_ptr():
            t.copy_(buf)
    return t


def global_count(n_local: int, device: torch.device | str = "cpu") -> int:
    r""":math:`B_{\rm global}`: the number of samples summed over all processes."""
    if not is_distributed():
        return int(n_local)
    return int(all_reduce_sum(torch.tensor([n_local], dtype=torch.int64, device=device)).item())


def global_offset(n_local: int, device: torch.device | str = "cpu") -> int:
    """Global index of this process's first sample: the local counts of the lower ranks, summed (0 when not
    distributed). Every rank must call it (a collective)."""
    if not is_distributed():
        return 0
    counts = torch.zeros(world_size(), dtype=torch.int64, device=device)
    counts[rank()] = int(n_local)
    return int(all_reduce_sum(counts)[: rank()].sum().item())


def broadcast_object(obj: T, src: int = 0) -> T:
    """Rank ``src``'s ``obj`` (picklable) on every process; ``obj`` itself when not distributed."""
    if not is_distributed():
        return obj
    box = [obj]
    dist.broadcast_object_list(box, src=src)
    return box[0]


def first_error(message: str | None) -> str | None:
    """The error message of the lowest rank that has one (``None`` if no process has), on every process: lets
    all processes stop together when any of them hit a bad input, instead of the others waiting forever."""
    if not is_distributed():
        return message
    every: list[str | None] = [None] * world_size()
    dist.all_gather_object(every, message)
    return next((m for m in every if m), None)


def shard(n: int) -> slice:
    """This process's contiguous slice of a batch of ``n`` samples (the first ``n % world`` ranks get one more)."""
    w, r = world_size(), rank()
    base, extra = divmod(n, w)
    start = r * base + min(r, extra)
    return slice(start, start + base + (1 if r < extra else 0))


def init_from_env(device: str) -> bool:
    """Initialise the process group when launched by torchrun (``WORLD_SIZE`` > 1); returns whether it did."""
    if int(os.environ.get("WORLD_SIZE", "1")) <= 1 or (dist.is_available() and dist.is_initialized()):
        return is_distributed()
    backend = "nccl" if str(device).startswith("cuda") else "gloo"
    import torch._dynamo  # noqa: F401 - before the group exists (module doc: clean exit)

    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return True


_BACKEND_THREADS = ("gloo", "pt_gloo", "pt_tcpstore", "pt_nccl", "nccl")


def backend_threads() -> list[str]:
    """Names of this process's threads that belong to a process-group backend (Linux ``/proc``; ``[]`` elsewhere)."""
    out: list[str] = []
    try:
        tasks = os.listdir("/proc/self/task")
    except OSError:
        return out
    for t in tasks:
        try:
            with open(f"/proc/self/task/{t}/comm", encoding="utf-8") as fh:
                name = fh.read().strip()
        except OSError:
            continue
        if name.startswith(_BACKEND_THREADS):
            out.append(name)
    return sorted(out)


def shutdown() -> list[str]:
    """Destroy the process group (if any), collect garbage, and return the backend threads still alive
    (``[]`` when it was fully released, see the module doc)."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
        gc.collect()
        return backend_threads()
    return []
