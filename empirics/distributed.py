r"""Rank/world helpers for data-parallel measurement (torch.distributed; identity when not initialised).

Convention (shared by every sum over samples in ``empirics``): each process holds a slice of the
fixed batch; the measured objective is :math:`\mathcal L=\frac1{B_{\rm global}}\sum_i \ell_i` with
:math:`B_{\rm global}` the all-reduced sample count, so a process contributes
:math:`\frac1{B_{\rm global}}\sum_{i\in\text{local}}(\cdot)` and :func:`all_reduce_sum` adds the
contributions. Results then equal the single-process ones up to summation order.

Launch: ``torchrun --nproc_per_node=2 -m empirics measure ...`` (gloo on CPU, NCCL on CUDA).
"""

from __future__ import annotations

import os

import torch
import torch.distributed as dist

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
    if backend == "nccl":
        torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    dist.init_process_group(backend=backend)
    return True


def shutdown() -> None:
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()
