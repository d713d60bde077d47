"""Integrity of the results files: every stored field that can be recomputed, cross-checked (placeholder)."""

from __future__ import annotations

from ..bundle import Bundle
from ..model import Claim


def integrity_claims(b: Bundle) -> list[Claim]:
    return []
