"""``python -m claims report``: a self-contained HTML report of one results folder (and optionally a second).

One job per module: :mod:`.figdata` pulls the six figure types' data out of a results folder (numpy only,
nothing is drawn and nothing is invented: a figure without data says which files/fields it needs);
:mod:`.plots` draws them with matplotlib (Agg backend, imported only here); :mod:`.tables` builds the
per-claim rows (the same in-process evaluation as ``verify --json``) and the per-layer rows;
:mod:`.page` writes the HTML (inline CSS, a few lines of inline JS for column sorting, no external URLs);
:mod:`.build` ties them together and replaces the output folder only once everything is written.

Nothing in :mod:`claims` imports this package except the ``report`` sub-command, so ``verify`` never loads
matplotlib.
"""

from __future__ import annotations

__all__ = ["build_report"]


def build_report(results: str, out: str, compare: str | None = None):  # type: ignore[no-untyped-def]
    """Build the report (see :func:`claims.htmlreport.build.build`)."""
    from .build import build

    return build(results, out, compare)
