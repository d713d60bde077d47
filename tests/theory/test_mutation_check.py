"""The mutation check kills a mutant: swapping the Kronecker factor order makes the property tests fail."""

from __future__ import annotations

from property_tests.mutation_check import MUTANTS, check

TARGET = "property_tests/test_identities.py::test_kronecker_rayleigh_quotient_factorises_in_both_vec_conventions"


def test_one_mutant_is_killed_on_a_small_subset():
    mutant = next(m for m in MUTANTS if m.name == "kron_swap_row_factor_order")
    res = check((mutant,), [TARGET], verbose=False)
    assert res["(baseline)"]["rc"] == 0, res["(baseline)"]  # the unmutated copy passes
    assert res[mutant.name]["rc"] == 1 and res[mutant.name]["killed"], res[mutant.name]
