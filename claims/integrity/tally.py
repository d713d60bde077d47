r"""Comparing stored fields with their recomputation, one results file at a time.

A :class:`Tally` counts every stored field it compares and keeps the disagreements. Tolerances:

* a scalar that is O(1) by nature (an exponent, a slope, an R², a correlation, a ratio, a percentage):
  :math:`|x_{\rm stored}-x_{\rm re}|\le 10^{-6}\max(1,|x_{\rm stored}|)` (:data:`REL`);
* a dimensional scalar or an array of curvatures, products or times: relative,
  :math:`|x_{\rm stored}-x_{\rm re}|\le 10^{-6}\max(|x_{\rm stored}|,|x_{\rm re}|, s)` with ``s`` the scale of the
  operands where a difference is recomputed;
* labels, counts and lists of them: exact;
* a stored ``null`` agrees with a recomputed NaN (an undefined value) and with nothing else.

A field whose stored value was rounded by its writer (or computed in single precision) declares its own
tolerance where it is compared; docs/integrity.md lists each one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..jsonpath import Node

#: default tolerance factor (see the module docstring)
REL = 1e-6


def _is_nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def show(x: Any) -> str:
    """A stored or recomputed value for a disagreement line."""
    if isinstance(x, float):
        return f"{x:.10g}"
    if isinstance(x, (list, tuple)) and len(x) > 8:
        return "[" + ", ".join(show(v) for v in x[:8]) + f", … ({len(x)} values)]"
    if isinstance(x, (list, tuple)):
        return "[" + ", ".join(show(v) for v in x) + "]"
    return repr(x)


@dataclass
class Tally:
    """The comparisons of one file: ``n`` stored fields compared, ``bad`` the disagreements (one line each)."""

    file: str
    declared: dict[str, str]  # pattern → the recomputation rule (docs/integrity.md)
    n: int = 0
    bad: list[str] = field(default_factory=list)
    used: set[str] = field(default_factory=set)
    skipped: list[str] = field(default_factory=list)

    def _count(self, pattern: str) -> None:
        assert pattern in self.declared, f"{self.file}: undeclared integrity check {pattern!r}"
        self.n += 1
        self.used.add(pattern)

    def _disagree(self, node: Node | str, stored: Any, recomputed: Any, detail: str = "") -> None:
        path = node.path if isinstance(node, Node) else node
        self.bad.append(f"{path}: stored {show(stored)}, recomputed {show(recomputed)}{detail}")

    def num(
        self,
        pattern: str,
        node: Node | None,
        recomputed: float,
        tol: float = REL,
        relative: bool = False,
        absolute: float = 0,
    ) -> None:
        """A stored number against its recomputation (``relative``: no floor of 1 on the scale; ``absolute``: an
        absolute allowance, for a value the writer rounded). ``node`` None: the field is not stored (no check)."""
        if node is None:
            return
        self._count(pattern)
        stored = node.value
        if isinstance(stored, bool) or not (stored is None or isinstance(stored, (int, float))):
            self._disagree(node, stored, recomputed, " (not a number)")
            return
        if _is_nan(stored) or _is_nan(recomputed):
            if not (_is_nan(stored) and _is_nan(recomputed)):
                self._disagree(node, stored, recomputed)
            return
        s, r = float(stored if stored is not None else math.nan), float(recomputed)
        scale = max(abs(s), abs(r)) if relative else max(1.0, abs(s))
        if not abs(s - r) <= tol * scale + absolute:
            self._disagree(node, stored, recomputed)

    def same(self, pattern: str, node: Node | None, recomputed: Any) -> None:
        """A stored label, count or list of them, exactly (``node`` None: not stored, no check)."""
        if node is None:
            return
        self._count(pattern)
        stored = node.value
        if isinstance(recomputed, tuple):
            recomputed = list(recomputed)
        if stored != recomputed or isinstance(stored, bool) != isinstance(recomputed, bool):
            self._disagree(node, stored, recomputed)

    def array(
        self, pattern: str, node: Node | None, recomputed: Any, tol: float = REL, scale: Any = None, skip: Any = None
    ) -> None:
        """A stored array against its elementwise recomputation (relative; ``scale``: per-entry operand size;
        ``skip``: a boolean mask of entries not compared; ``node`` None: not stored, no check)."""
        if node is None:
            return
        self._count(pattern)
        s = node.arr()
        r = np.asarray(recomputed, dtype=float)
        if s.shape != r.shape:
            self._disagree(node, f"{s.size} values", f"{r.size} values")
            return
        nan_s, nan_r = np.isnan(s), np.isnan(r)
        size = np.maximum(np.abs(np.nan_to_num(s)), np.abs(np.nan_to_num(r)))
        if scale is not None:
            size = np.maximum(size, np.abs(np.nan_to_num(np.asarray(scale, dtype=float))))
        with np.errstate(invalid="ignore"):
            off = (nan_s != nan_r) | (~nan_s & ~nan_r & ~(np.abs(s - r) <= tol * size))
        if skip is not None and np.shape(skip) == off.shape:
            off &= ~np.asarray(skip, dtype=bool)
        if off.any():
            i = int(np.flatnonzero(off)[0])
            self._disagree(
                f"{node.path}[{i}]", float(s[i]), float(r[i]), f" ({int(off.sum())} of {s.size} entries disagree)"
            )

    def skip(self, why: str) -> None:
        """A cross-check that could not run (a cross-file check whose other file is absent)."""
        self.skipped.append(why)
