"""The claim registry: every catalog module's ``CLAIMS`` (in :data:`claims.catalog.MODULES` order), by id.

Claims read the law bands from the evaluation's :class:`~claims.context.Context`, never at import: the
registry can be imported at any time, before or after the command line is parsed. Every number claim gets the
paper experiment it is about, and the statistic a re-measurement computes for it (or the reason there is
none), from :mod:`claims.replication.catalog`.
"""

from __future__ import annotations

import importlib

from .catalog import MODULES
from .model import NUMBER, Claim
from .replication.catalog import assignment
from .replication.spec import Spec


def _load() -> dict[str, Claim]:
    out: dict[str, Claim] = {}
    for m in MODULES:
        mod = importlib.import_module(f"claims.catalog.{m}")
        for c in mod.CLAIMS:
            c.module = f"claims/catalog/{m.replace('.', '/')}.py"
            if c.id in out:
                raise ValueError(f"duplicate claim id {c.id!r}")
            if c.kind == NUMBER:  # the experiment it is about (claims.replication.catalog)
                c.experiment, what = assignment(c.id)
                c.replicate = what if isinstance(what, Spec) else None
                c.experiment_note = "" if isinstance(what, Spec) else what
            out[c.id] = c
    return out


REGISTRY: dict[str, Claim] = _load()


def get(claim_id: str) -> Claim | None:
    return REGISTRY.get(claim_id)
