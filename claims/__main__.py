"""``python -m claims``: the command-line interface of :mod:`claims.cli` (verify, list, show, report)."""

import sys

from .cli import main

sys.exit(main())
