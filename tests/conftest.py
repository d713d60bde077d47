"""Fixtures shared by the unit tests."""

from __future__ import annotations

import pytest
import torch


@pytest.fixture
def float64_one_thread():
    """float64 throughout; one intra-op thread (tiny ops thrash on a shared 2-core machine). Opt in with
    ``pytestmark = pytest.mark.usefixtures("float64_one_thread")``."""
    old, threads = torch.get_default_dtype(), torch.get_num_threads()
    torch.set_default_dtype(torch.float64)
    torch.set_num_threads(1)
    yield
    torch.set_default_dtype(old)
    torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _seeded_torch():
    """Each test starts from the same torch random state, whatever ran before it: a test's random inputs depend on
    the test alone, not on the order or selection of the tests around it (``pytest -k`` reproduces CI)."""
    torch.manual_seed(0)
