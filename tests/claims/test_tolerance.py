"""The precision rules of docs/claims-reference.md §3.1 and checked JSON access (claims.tolerance, claims.jsonpath)."""

from __future__ import annotations

import math

import pytest

from claims import tolerance as tol
from claims.errors import InputError
from claims.jsonpath import Node


@pytest.mark.parametrize(
    "x,v,d,ok",
    [
        (1.9349, 1.93, 2, True),
        (1.9351, 1.93, 2, False),
        (1.925, 1.93, 2, True),
        (2.0951, 1.9, 1, False),
        (1.253, 2.0, 0, False),
        (1.5001, 2.0, 0, True),
        (math.nan, 1.0, 1, False),
    ],
)
def test_point_is_round_to_printed_decimals(x, v, d, ok):
    assert tol.point(x, v, d) is ok


def test_inequalities_are_one_sided():
    assert tol.at_least(0.8836, 0.88, 2) and tol.at_least(0.9999, 0.88, 2)
    assert not tol.at_least(0.8749, 0.88, 2)
    assert not tol.at_least(
        0.388, 0.97, 2
    )  # the authors' |min − 0.97| ≤ 0.01 would also fail here, but 0.99 would pass both
    assert tol.at_least(0.99, 0.97, 2)
    assert tol.above(0.9447, 0.88, 2) and not tol.above(0.8849, 0.88, 2)


def test_into_range_of_group_statistics():
    assert tol.into(1.974, 1.97, 2.17, 2) and tol.into(2.174, 1.97, 2.17, 2)
    assert not tol.into(2.1751, 1.97, 2.17, 2) and not tol.into(2.42, 1.97, 2.17, 2)


def test_node_errors_name_file_and_path():
    n = Node({"results": [{"alpha": "x"}, {}]}, "f.json")
    with pytest.raises(InputError, match=r"f.json: \$.results\[1\].alpha: missing"):
        n["results"][1]["alpha"]
    with pytest.raises(InputError, match=r"f.json: \$.results\[0\].alpha: expected a number, got str"):
        n["results"][0]["alpha"].num()
    with pytest.raises(InputError, match=r"empty selection"):
        n["results"].select(lambda r: r.has("beta"), "beta present")
    with pytest.raises(InputError, match=r"0 elements with name == 'conv1'"):
        n["results"].where("name", "conv1")
    assert math.isnan(Node(None, "f.json").num())  # JSON null is NaN, reported by the fits as non-finite
