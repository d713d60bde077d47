r"""The forward's *prefix* in ``fwd_adj``'s tangent passes: the ops that run before any tangent exists.

Every group of directions re-runs the forward (:mod:`~empirics.curvature.forward_adjoint`, pass 2), but until
the first op that reads a tensor with a tangent nothing depends on the directions: those ops compute the same
outputs in every group. :class:`PrefixCache` keeps them from the first group and hands them back, op by op, in
the later ones — for a layer deep in the network measured in several groups (a memory budget, many
directions) the forward up to it is computed once instead of once per group.

At most ``limit`` bytes are kept (the tensors of a longer prefix are not). Safe by construction: views are
made afresh (no data computed), a prefix that writes in place is not cached,
and an output is replayed only for an op none of whose arguments has a tangent, only while
the ops arrive in the recorded order (another op raises :class:`~empirics.curvature.tangents.Unsupported`:
the forward is not the same program in every group), and only while no recorded output has been written in
place after the prefix (version counters compared at the end of every group; a write empties the cache). Rows
are ordered by first use, so a later group's prefix contains the first group's; past its end the ops are
computed.
"""

from __future__ import annotations

from functools import cache

from empirics.curvature.row_budget import StorageBytes
from empirics.curvature.tangents import Unsupported, tensors_of

__all__ = ["PrefixCache"]


@cache
def _alias(func) -> str | None:
    """``"inplace"`` (writes into an argument), ``"view"`` (returns an alias of one) or ``None``."""
    rets = [r.alias_info for r in func._schema.returns if r.alias_info is not None]
    if not rets:
        return None
    return "inplace" if any(a.is_write for a in rets) else "view"


class PrefixCache:
    """The prefix's op outputs, recorded in the first group (:meth:`run` computes and keeps them) and replayed
    in the later ones (:meth:`run` returns them). Call :meth:`end_prefix` when the first tangent appears in a
    group and :meth:`end_group` after each group."""

    def __init__(self, limit: int | None = None) -> None:
        self.limit = limit  # most bytes kept (distinct storages); beyond it nothing is kept
        self.kept = StorageBytes()
        self.ops: list[tuple[object, object]] = []  # (op, its output) in forward order
        self.recording = True
        self.replaying = False
        self.pos = 0
        self.versions: list[int] | None = None
        self.replayed = 0  # ops handed back, over all groups (for tests and reports)

    def run(self, func, args, kwargs):
        """``func(*args, **kwargs)``, or its recorded output when the ops so far match the first group's."""
        alias = _alias(func)
        if self.replaying:
            if self.pos < len(self.ops):
                op, out = self.ops[self.pos]
                if op is not func:
                    raise Unsupported(f"the forward differs between tangent groups at op {self.pos}: {func} vs {op}")
                self.pos += 1
                if alias == "view":  # a fresh view (autograd's view metadata is per tensor): no data computed
                    return func(*args, **kwargs)
                self.replayed += 1
                return out
            self.replaying = False  # past the first group's prefix: compute the rest of this group's
        out = func(*args, **kwargs)
        if self.recording:
            if alias == "inplace":  # replaying would skip or repeat the write: no cache for this forward
                self._give_up()
                return out
            if alias != "view":
                try:
                    for t in tensors_of(out):
                        self.kept.hold(t)
                except (RuntimeError, NotImplementedError):  # no plain storage (sparse, nested, …)
                    self._give_up()
                    return out
                if self.limit is not None and self.kept.live > self.limit:
                    self._give_up()
                    return out
            self.ops.append((func, None if alias == "view" else out))
        return out

    def _give_up(self) -> None:
        """Keep nothing, for good (a stopped recording is not started again)."""
        self.ops, self.recording, self.versions = [], False, []

    def _versions(self) -> list[int]:
        """The version counters of the kept outputs (an in-place write bumps them)."""
        return [t._version for _, out in self.ops for t in tensors_of(out)]

    def end_prefix(self) -> None:
        """The first op with a tangent: stop recording (first group) or replaying (later groups)."""
        if self.recording:
            self.recording = False
            self.versions = self._versions()
        self.replaying = False

    def end_group(self) -> None:
        """After a group: empty the cache if a recorded output was written in place after the prefix; else
        replay from the start in the next group."""
        if self.recording:  # no op of the group had a tangent: the whole forward is the prefix
            self.end_prefix()
        if self._versions() != self.versions:
            self._give_up()
        self.replaying, self.pos = bool(self.ops), 0
