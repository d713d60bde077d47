"""Hypothesis profiles, chosen by ``SAD_HYPOTHESIS_PROFILE``:

* ``default`` — what CI and a plain ``pytest property_tests`` run: ``DEFAULT_EXAMPLES`` examples per test,
  derandomized (the same examples every run, so a pass or a failure reproduces); large enough that
  ``python -m property_tests.mutation_check`` kills every mutant, small enough that the whole
  ``pytest property_tests`` stays near two minutes on 2 shared cores;
* ``thorough`` — 4× the examples, random (fresh examples each run; ``make thorough``);
* ``mutation`` — the default's examples without shrinking or example database (a mutant only has to fail);
  used by ``python -m property_tests.mutation_check``.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, Phase, settings

DEFAULT_EXAMPLES = 100

_COMMON = dict(deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much])
settings.register_profile("default", max_examples=DEFAULT_EXAMPLES, derandomize=True, **_COMMON)
settings.register_profile("thorough", max_examples=4 * DEFAULT_EXAMPLES, derandomize=False, **_COMMON)
settings.register_profile(
    "mutation",
    max_examples=DEFAULT_EXAMPLES,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    database=None,
    **_COMMON,
)
settings.load_profile(os.environ.get("SAD_HYPOTHESIS_PROFILE", "default"))
