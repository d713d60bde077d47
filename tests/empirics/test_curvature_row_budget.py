"""Group sizes of ``fwd_adj`` from measured bytes (:mod:`empirics.curvature.row_budget`), the byte accounting
of the tangent table, and the flattening of op arguments the dispatch modes rely on."""

from __future__ import annotations

import pytest
import torch
from torch.utils._pytree import tree_flatten

from empirics.curvature import row_budget as RB
from empirics.curvature import tangent_modes as TM
from empirics.curvature.tangents import Tan

MiB = 2**20
CPU = torch.device("cpu")
CUDA = torch.device("cuda")


def test_a_budget_sets_the_rows_from_the_measured_bytes():
    b = RB.PassBytes(saved=4 * MiB, adjoints=2 * MiB, per_row=0.25 * MiB, forward=1 * MiB)
    assert b.row == RB.TEMPORARIES * 0.25 * MiB  # one row: 0.5 MiB with temporaries
    assert b.fixed == 2 * MiB + RB.FORWARD_TEMPORARIES * MiB
    fixed = b.fixed / MiB
    assert RB.plan_rows(b, 1000, 22 * MiB, CPU, 0) == int((22 - fixed) / 0.5)  # (M - fixed) / row
    assert RB.plan_rows(b, 7, 22 * MiB, CPU, 0) == 7  # never more rows than there are
    # without a budget: within the default working memory, at most CPU_ROWS on CPU, not on CUDA
    assert RB.plan_rows(b, 1000, None, CPU, 1 << 40) == RB.CPU_ROWS
    assert RB.plan_rows(b, 1000, None, CUDA, 21 * MiB) == int((21 - fixed) / 0.5)
    assert RB.plan_rows(b, 1000, None, CPU, 21 * MiB) == int((21 - fixed) / 0.5) < RB.CPU_ROWS
    assert RB.plan_rows(b, 1000, None, CUDA, 0) == 1


def test_a_budget_below_the_least_is_refused_with_the_least():
    b = RB.PassBytes(saved=4 * MiB, adjoints=2 * MiB, per_row=1 * MiB, forward=0)
    least = RB.minimum_bytes(b)
    assert least == max(6 * MiB, 2 * MiB + 2 * MiB) == 6 * MiB  # pass 1 decides here
    assert RB.plan_rows(b, 10, least, CPU, 0) == 2
    with pytest.raises(RB.MemoryBudgetError, match=r"max_memory 5\.0 MiB is below what fwd_adj needs here: 6\.0 MiB"):
        RB.plan_rows(b, 10, least - 1 * MiB, CPU, 0)
    wide = RB.PassBytes(saved=1 * MiB, adjoints=1 * MiB, per_row=2 * MiB, forward=0)  # pass 2's one row decides
    assert RB.minimum_bytes(wide) == 5 * MiB
    with pytest.raises(RB.MemoryBudgetError, match="one direction's tangents 4.0 MiB"):
        RB.check_budget(wide, 5 * MiB - 1)


def test_the_tangent_table_counts_each_storage_once_and_releases_it():
    count = RB.StorageBytes()
    table = TM.IdTable(count)
    x, y = torch.zeros(3), torch.zeros(3)
    v = torch.zeros(4, 3, dtype=torch.float64)
    table.set(x, Tan(0, v))
    table.set(y, Tan(0, v[:2]))  # a view: the same storage
    assert count.live == v.nbytes and count.peak == v.nbytes
    table.set(y, Tan(0, torch.zeros(2, 3, dtype=torch.float64)))  # replaced: one more storage
    assert count.live == v.nbytes + 48
    del x  # its tensor freed: its tangent released
    assert count.live == 48 and count.peak == v.nbytes + 48
    table.pop(y)
    assert count.live == 0 and not count.held
    outputs = TM.IdTable(count)  # a None value: the tensor's own storage
    z = torch.zeros(10, dtype=torch.float64)
    count.exclude(w := torch.zeros(5))
    outputs.set(z, None)
    outputs.set(w, None)
    assert count.live == 80
    del z
    assert count.live == 0 and count.peak == v.nbytes + 48


@pytest.mark.parametrize(
    "args, kwargs",
    [
        ((torch.ones(2), [2, 1]), {}),
        ((torch.ones(2), torch.Size([1, 2])), {"dim": 0}),
        (([torch.ones(2), torch.zeros(2)], 0), {}),
        ((torch.ones(2), [None, torch.ones(1)]), {}),
        ((torch.ones(2), [[1, 2], [3]]), {}),
        ((torch.ones(2),), {"size": [1, 2], "out": torch.ones(2)}),
        ((torch.ones(2),), {"spec": {"a": 1}}),
    ],
)
def test_argument_leaves_follow_tree_flatten(args, kwargs):
    flat, spec = TM.flat_arguments(args, kwargs)
    want, _ = tree_flatten((args, kwargs))
    assert len(flat) == len(want) and all(a is b or a == b for a, b in zip(flat, want, strict=True))
    assert spec is None or flat == want
