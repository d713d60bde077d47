"""Hypothesis profiles: ``default`` (CI budget: the whole ``pytest property_tests`` < 60 s on 2 cores) and
``thorough`` (10× the examples), chosen by ``SAD_HYPOTHESIS_PROFILE=thorough``; ``mutation`` (no shrinking) is
what the mutation check uses."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

_COMMON = dict(
    deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much], derandomize=False
)
settings.register_profile("default", max_examples=25, **_COMMON)
settings.register_profile("thorough", max_examples=250, **_COMMON)
# used by property_tests.mutation_check: a mutant only has to fail, so no shrinking and no example database
settings.register_profile(
    "mutation", max_examples=25, phases=[Phase.explicit, Phase.generate], database=None, **_COMMON
)
settings.load_profile(os.environ.get("SAD_HYPOTHESIS_PROFILE", "default"))
