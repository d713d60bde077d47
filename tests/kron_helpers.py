"""Shared by the Kronecker tests: the per-sample cross-entropy loss (the float64 fixture is in conftest.py)."""

from __future__ import annotations

import torch.nn.functional as F


def ce(o, t):
    """Per-sample cross-entropy (the empirics loss convention: reduction='none')."""
    return F.cross_entropy(o, t, reduction="none")
