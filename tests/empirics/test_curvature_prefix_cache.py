"""``PrefixCache`` on its own: what it replays, what it refuses (a byte limit, a different op order)."""

from __future__ import annotations

import pytest
import torch

from empirics.curvature.prefix_cache import PrefixCache
from empirics.curvature.tangents import Unsupported

ADD, MUL, VIEW = torch.ops.aten.add.Tensor, torch.ops.aten.mul.Tensor, torch.ops.aten.view.default


def _prefix(cache: PrefixCache, x: torch.Tensor) -> list:
    a = cache.run(ADD, (x, x), {})
    v = cache.run(VIEW, (a, [-1]), {})
    return [a, v, cache.run(MUL, (v, v), {})]


def test_outputs_are_replayed_and_views_made_afresh():
    x = torch.arange(6.0).reshape(2, 3)
    cache = PrefixCache(limit=1 << 20)
    first = _prefix(cache, x)
    cache.end_prefix()
    cache.end_group()
    again = _prefix(cache, x)
    assert again[0] is first[0] and again[2] is first[2]  # computed once
    assert again[1] is not first[1] and torch.equal(again[1], first[1])  # a view is a fresh tensor
    assert cache.replayed == 2


def test_a_prefix_above_the_limit_is_not_kept():
    x = torch.ones(100)
    cache = PrefixCache(limit=100 * 4)  # the first output (400 B) fits, the second one does not
    first = _prefix(cache, x)
    cache.end_prefix()
    cache.end_group()
    again = _prefix(cache, x)
    assert cache.replayed == 0 and cache.ops == [] and again[0] is not first[0]


def test_another_op_order_is_refused():
    x = torch.ones(3)
    cache = PrefixCache()
    _prefix(cache, x)
    cache.end_prefix()
    cache.end_group()
    with pytest.raises(Unsupported, match="differs between tangent groups"):
        cache.run(MUL, (x, x), {})
