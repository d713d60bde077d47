r"""How many directions (rows) one ``fwd_adj`` tangent pass carries, from bytes measured in the same call.

The method (:mod:`~empirics.curvature.forward_adjoint`) holds, beside the model, its input and the directions:

* pass 1 — the autograd graph of one forward (its saved tensors, :math:`S` bytes), then the adjoints
  :math:`\lambda_j` (:math:`A` bytes), kept through pass 2;
* pass 2 — per group of :math:`r` rows, the forward's own outputs alive at once (:math:`F`) and the forward
  tangents alive at once, :math:`r\,T` bytes. A probe group of :data:`PROBE_ROWS` row measures :math:`F`
  and :math:`T` (tables of the tensors alive count the distinct storages they hold); :math:`T` is taken
  :data:`TEMPORARIES` times (:math:`T'`) for the rules' temporaries (products of tangents, source terms).

Per-op temporaries (an activation function's derivatives, products with the adjoint, source terms) scale
with the forward's outputs and with the tangents: :math:`F` is taken :data:`FORWARD_TEMPORARIES` times and
:math:`T` :data:`TEMPORARIES` times (:math:`F'`, :math:`T'`; margins set from the tensor peaks the tests and
benchmarks measure, not derived). So the working memory — tensor bytes, what ``torch.cuda.max_memory_allocated``
counts on a GPU — is about :math:`\max\bigl(S+A,\;A+F'+r\,T'\bigr)`. Given a budget :math:`M`
(``max_memory``) the group size is :math:`r=\lfloor (M-A-F')/T'\rfloor`; a budget below the least
(:func:`minimum_bytes`, :math:`r=1`) raises :class:`MemoryBudgetError` naming that least — found from pass 1's
and the probe's bytes, before the part that grows with the number of directions. Without a budget there is no probe: each row is
taken as large as pass 1's graph (:math:`T=S`, an upper bound of one row's tangents), groups take the default
working memory (:func:`~empirics.curvature.memory.default_budget`: a quarter of the free memory, at most 2 GiB on
CPU), at most :data:`CPU_ROWS` rows on CPU (where bigger groups only stream through memory) — the speed default.

Outside the budget: the one-time certification of the method on the first call of a measurement (one
direction of double backward, :func:`~empirics.curvature.forward_adjoint.fwd_adj_curvatures`' check) — the
memory of one direction of the paper's own loop, which no exact method goes below.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

import torch

__all__ = [
    "StorageBytes",
    "GraphBytes",
    "PassBytes",
    "MemoryBudgetError",
    "plan_rows",
    "minimum_bytes",
    "check_budget",
    "size_text",
    "TEMPORARIES",
    "FORWARD_TEMPORARIES",
    "CPU_ROWS",
    "PROBE_ROWS",
]

#: rule temporaries per row, as a multiple of the tangents alive (products, source terms)
TEMPORARIES = 2.0
#: per-op temporaries that scale with the forward's outputs, as a multiple of them
FORWARD_TEMPORARIES = 3.5
#: default rows per group on CPU at most: a group's tangents should stay in cache, not stream through memory
CPU_ROWS = 64
#: rows of the probe group that measures the tangent bytes per row
PROBE_ROWS = 1


class MemoryBudgetError(ValueError):
    """A ``max_memory`` budget below the least the method needs here (the message gives that least; ``least``
    holds it in bytes)."""

    def __init__(self, message: str, least: int = 0):
        super().__init__(message)
        self.least = int(least)


class StorageBytes:
    """Bytes of the distinct storages some tables hold (``live``) and their maximum so far (``peak``); a
    storage counts once however many entries hold it, and until the last of them goes."""

    def __init__(self) -> None:
        self.held: dict[int, list[int]] = {}  # storage address -> [bytes, entries holding it]
        self.live = 0
        self.peak = 0

    def hold(self, x: torch.Tensor) -> int:
        """Count ``x``'s storage (once); returns its address, the key for :meth:`release`."""
        st = x.untyped_storage()
        ptr = st.data_ptr()
        e = self.held.get(ptr)
        if e is not None:
            e[1] += 1
            return ptr
        n = st.nbytes()
        self.held[ptr] = [n, 1]
        self.live += n
        self.peak = max(self.peak, self.live)
        return ptr

    def release(self, ptr: int) -> None:
        """One entry holding the storage at ``ptr`` went."""
        e = self.held.get(ptr)
        if e is None:
            return
        e[1] -= 1
        if e[1] == 0:
            self.live -= e[0]
            del self.held[ptr]

    def exclude(self, x: torch.Tensor) -> None:
        """Count ``x``'s storage (and views of it) as 0 bytes: memory that exists anyway."""
        self.held[x.untyped_storage().data_ptr()] = [0, 1 << 62]


class GraphBytes:
    """Within ``with GraphBytes(exclude) as g:`` the tensors autograd saves for backward are counted, each storage
    once, those of ``exclude`` (parameters, the input: memory that exists anyway) left out; ``g.total`` is their
    bytes (a ``saved_tensors_hooks`` pack hook that returns the tensor as it is)."""

    def __init__(self, exclude: Iterable[torch.Tensor]) -> None:
        self.own = {t.untyped_storage().data_ptr() for t in exclude}
        self.saved: dict[int, int] = {}
        self.hooks = torch.autograd.graph.saved_tensors_hooks(self.pack, self.unpack)

    def pack(self, t: torch.Tensor) -> torch.Tensor:
        """Count ``t``'s storage (once) unless excluded; keep ``t`` itself."""
        st = t.untyped_storage()
        if st.data_ptr() not in self.own:
            self.saved[st.data_ptr()] = st.nbytes()
        return t

    @staticmethod
    def unpack(t: torch.Tensor) -> torch.Tensor:
        """The saved tensor, as packed."""
        return t

    @property
    def total(self) -> int:
        """Bytes of the distinct storages saved so far."""
        return sum(self.saved.values())

    def __enter__(self) -> GraphBytes:
        self.hooks.__enter__()
        return self

    def __exit__(self, *exc) -> None:
        self.hooks.__exit__(*exc)


@dataclass(frozen=True)
class PassBytes:
    """Bytes measured in one call: ``saved`` (pass 1's autograd graph), ``adjoints`` (held through pass 2),
    ``per_row`` (most tangent bytes alive at once per row) and ``forward`` (most bytes of the forward's own
    outputs alive at once), both in the probe group."""

    saved: int
    adjoints: int
    per_row: float
    forward: int = 0

    @property
    def row(self) -> float:
        """One row's working memory in pass 2: the tangents times :data:`TEMPORARIES`."""
        return max(TEMPORARIES * self.per_row, 1.0)

    @property
    def fixed(self) -> int:
        """Pass 2's working memory besides the rows: the adjoints, the forward times :data:`FORWARD_TEMPORARIES`."""
        return int(self.adjoints + FORWARD_TEMPORARIES * self.forward)


def minimum_bytes(b: PassBytes) -> int:
    """The least working memory of the method on this call: pass 1, or pass 2 with one row."""
    return int(max(b.saved + b.adjoints, b.fixed + b.row))


def size_text(n: float) -> str:
    """Bytes as text in the largest binary unit that keeps the value ≥ 1 (``512 B``, ``3.5 KiB``, ``21.0 MiB``)."""
    for unit, size in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n:.0f} B"


def check_budget(b: PassBytes, max_memory: int) -> None:
    """Raise :class:`MemoryBudgetError` when ``max_memory`` is below :func:`minimum_bytes`."""
    least = minimum_bytes(b)
    if max_memory < least:
        raise MemoryBudgetError(
            f"max_memory {size_text(max_memory)} is below what fwd_adj needs here: {size_text(least)} (pass 1: graph "
            f"{size_text(b.saved)} + adjoints {size_text(b.adjoints)}; pass 2: adjoints, the forward and its temporaries "
            f"{size_text(b.fixed)} + one direction's tangents {size_text(b.row)})",
            least,
        )


def plan_rows(
    b: PassBytes, n_rows: int, max_memory: int | None, device: torch.device, default: int | None = None
) -> int:
    """Rows per pass-2 group (1 .. ``n_rows``) within ``max_memory`` bytes (see the module doc), else within
    ``default`` bytes (:func:`~empirics.curvature.memory.default_budget`; needed only without ``max_memory``).
    Raises :class:`MemoryBudgetError` for a budget below :func:`minimum_bytes`."""
    if max_memory is not None:
        check_budget(b, max_memory)
        return int(max(1, min(n_rows, (max_memory - b.fixed) // b.row)))
    if default is None:
        raise ValueError("plan_rows: neither max_memory nor the default budget given")
    rows = int(max(1, min(n_rows, (default - b.fixed) // b.row)))
    return rows if device.type == "cuda" else min(rows, CPU_ROWS)
