r"""What a curvature method returns, and the caches one measurement keeps.

:class:`CurvatureResult` is a frozen record per layer: the values :math:`h_k` (one per direction), the
method that computed them, the chunk size, the wall time and, for ``method="auto"``, the trial timings
that decided. :class:`EngineCache` holds what is worth reusing *within one measurement* (activation sizes,
auto decisions, piecewise-linearity verdicts, passed adjoint checks); it is owned by a
:class:`~empirics.curvature.engine.CurvatureEngine`, never by a module.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import torch

__all__ = ["CurvatureResult", "EngineCache", "GN_EXACT_LABEL", "one_line"]

#: the ``method`` of a result (and a record's ``curvature_method``) when the Gauss–Newton shortcut was exact
GN_EXACT_LABEL = "gn_exact (piecewise-linear downstream: exact Hessian block = GN)"


@dataclass(frozen=True)
class CurvatureResult:
    r"""One layer's directional curvatures :math:`(h_k)_k` and how they were obtained.

    ``method``: ``fwd_adj``/``fwd_fwd``/``fwd_rev``/``rev_rev``/:data:`GN_EXACT_LABEL`/``gn``/``fd``/``paper``;
    ``decided``: how ``auto`` chose (``timed``, ``cached``, ``small k``); ``trial_seconds``: the per-method
    trial cost; ``gn_form``: how a ``gn_exact`` (or ``fwd_adj``) layer was computed; ``note``: why a layer is
    not ``gn_exact`` (the detector's reason); ``failed``: the methods that were tried and raised (their
    errors); ``gn_values``: :math:`h^{\rm GN}_k` where the method gave it on the way (``fwd_adj``)."""

    values: torch.Tensor
    method: str
    chunk_size: int | None = None
    seconds: float = 0.0
    decided: str = ""
    trial_seconds: dict[str, float] = field(default_factory=dict)
    trial_directions: int | None = None
    gn_form: str = ""
    note: str = ""
    failed: dict[str, str] = field(default_factory=dict)
    gn_values: torch.Tensor | None = None

    def with_values(self, values: torch.Tensor, **changes: Any) -> CurvatureResult:
        """A copy with other values (e.g. after an all-reduce) and optional field changes."""
        from dataclasses import replace

        return replace(self, values=values, **changes)


@dataclass
class EngineCache:
    """Per-measurement caches (keys: module structure, layer set, per-sample input shape/dtype/device)."""

    activation_bytes: dict[tuple, int] = field(default_factory=dict)
    auto_choice: dict[tuple, str] = field(default_factory=dict)
    warmed: set[str] = field(default_factory=set)
    verdicts: dict[tuple, dict] = field(default_factory=dict)
    adjoint_checks: dict[tuple, float] = field(default_factory=dict)


def one_line(exc: BaseException, limit: int = 240) -> str:
    """``Type: first line of the message`` (for notes and soft failures)."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    return f"{type(exc).__name__}: {text[:limit]}" if text else type(exc).__name__
