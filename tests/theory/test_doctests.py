"""The REPL sessions in the docs run: every `theory` module's doctests (one per statement family at least) and the
README's "Theory in a REPL" session, in the default `python -m pytest` run (testpaths are tests/ and
property_tests/, so doctests are run from here rather than by --doctest-modules)."""

from __future__ import annotations

import doctest
import importlib
import pkgutil
import re

import pytest

import theory
from tests import paths

FLAGS = doctest.NORMALIZE_WHITESPACE | doctest.ELLIPSIS
MODULES = sorted(m.name for m in pkgutil.iter_modules(theory.__path__) if m.name != "__main__")
#: a doctest per statement family (and for the objects a REPL session meets)
MUST_HAVE_EXAMPLES = {
    "alignment",
    "baseline",
    "layernorm",
    "residual",
    "softmax",
    "conv",
    "transfer",
    "htsr",
    "zeta",
    "spectral_newton",
    "rank_models",
    "appendix_l",
    "statement",
    "symbolic",
    "recipes",
}


def _run(test: doctest.DocTest) -> doctest.TestResults:
    runner = doctest.DocTestRunner(optionflags=FLAGS)
    runner.run(test)
    return runner.summarize(verbose=False)


@pytest.mark.parametrize("name", MODULES)
def test_module_doctests(name):
    module = importlib.import_module(f"theory.{name}")
    tests = doctest.DocTestFinder().find(module, f"theory.{name}")
    attempted = failed = 0
    for t in tests:
        r = _run(t)
        attempted, failed = attempted + r.attempted, failed + r.failed
    assert failed == 0, f"theory.{name}: {failed} of {attempted} doctest examples failed (run python -m doctest -v)"
    if name in MUST_HAVE_EXAMPLES:
        assert attempted > 0, f"theory.{name} has no doctest example"


def test_package_doctest():
    tests = doctest.DocTestFinder().find(theory, "theory")
    results = [_run(t) for t in tests]
    assert sum(r.attempted for r in results) > 0 and sum(r.failed for r in results) == 0


def readme_repl_session() -> str:
    text = (paths.ROOT / "README.md").read_text(encoding="utf-8")
    section = text.split("**Theory in a REPL.**", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.S)
    assert match, "README's 'Theory in a REPL' has no ```python block"
    return match.group(1)


def test_readme_repl_session_runs_as_a_doctest():
    session = readme_repl_session()
    test = doctest.DocTestParser().get_doctest(session, {}, "README: Theory in a REPL", "README.md", 0)
    assert len(test.examples) >= 8
    r = _run(test)
    assert r.failed == 0, f"{r.failed} of {r.attempted} README REPL examples failed"
