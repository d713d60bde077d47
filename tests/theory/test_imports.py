"""Import hygiene: `import theory.fits` stays light (no sympy), `import theory` is lazy, no torch in theory/.

(That running every check imports no torch is asserted in tests/theory/test_cli.py, in the one subprocess that
runs them all.)
"""

from __future__ import annotations

import re
import subprocess
import sys

from tests import paths

ROOT = paths.ROOT


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)


def test_theory_fits_does_not_import_sympy_or_torch():
    p = _run(
        "import sys, theory.fits; assert 'sympy' not in sys.modules, 'sympy'; assert 'torch' not in sys.modules, 'torch'"
    )
    assert p.returncode == 0, p.stderr


def test_import_theory_is_lazy_then_attribute_access_works():
    p = _run(
        "import sys, theory; assert 'sympy' not in sys.modules; "
        "t = theory.theorem1; assert 'sympy' in sys.modules; print(t.name)"
    )
    assert p.returncode == 0, p.stderr
    assert p.stdout.strip() == "Theorem 1"


def test_no_torch_in_theory_sources():
    pat = re.compile(r"^\s*(import torch|from torch)", re.M)
    offenders = [f.name for f in (ROOT / "theory").glob("*.py") if pat.search(f.read_text())]
    assert offenders == []
