"""The claim registry: every catalog module's ``CLAIMS``, by id (ids are unique)."""

from __future__ import annotations

import importlib

from .model import Claim

MODULES = (
    "setup",
    "table1",
    "resnet50",
    "triangle",
    "section3",
    "section7",
    "laws",
    "convgap",
    "appendix_b",
    "appendix_c",
    "appendix_h",
    "appendix_l",
    "appendix_m",
    "optim",
    "bic",
    "discussion",
    "nodata",
)


def _load() -> dict[str, Claim]:
    out: dict[str, Claim] = {}
    for m in MODULES:
        mod = importlib.import_module(f"claims.catalog.{m}")
        for c in mod.CLAIMS:
            c.module = f"claims/catalog/{m}.py"
            if c.id in out:
                raise ValueError(f"duplicate claim id {c.id!r}")
            out[c.id] = c
    return out


REGISTRY: dict[str, Claim] = _load()


def get(claim_id: str) -> Claim | None:
    return REGISTRY.get(claim_id)
