"""The record every encoded statement is: name, printed form, hypotheses, identities, verdict, live evidence.

A :class:`Statement` is a frozen dataclass. Its ``check`` is a zero-argument callable that *computes*
the evidence (recipes, sympy, mpmath) every time it is asked; :meth:`Statement.evidence` caches the
result per process. ``Evidence.confirms`` says whether the live computation supports the verdict
(for *refuted* statements: whether the counterexample really contradicts the printed claim).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Verdict", "Hypothesis", "Evidence", "Statement", "Group"]


class Verdict(enum.StrEnum):
    IDENTITY = "identity (proved symbolically)"
    HOLDS = "holds under stated hypotheses (checked numerically)"
    REFUTED = "refuted as printed"
    NOT_FORMALIZABLE = "not formalizable"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Hypothesis:
    """One explicit assumption: a short name, its meaning, and whether the tex states it."""

    name: str
    text: str
    stated_in_tex: bool = True

    def __str__(self) -> str:
        tag = "" if self.stated_in_tex else " [not in the tex]"
        return f"{self.name}: {self.text}{tag}"


@dataclass(frozen=True)
class Evidence:
    """What a check computed: a one-line summary, the numbers, and whether they support the verdict."""

    summary: str
    values: dict[str, Any]
    confirms: bool
    details: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "confirms", bool(self.confirms))  # numpy booleans → bool


_CACHE: dict[str, Evidence] = {}


@dataclass(frozen=True)
class Statement:
    """One statement of the paper (or one named part of it), encoded."""

    key: str
    name: str
    printed: Any
    printed_text: str
    hypotheses: tuple[Hypothesis, ...]
    rests_on: tuple[str, ...]
    verdict: Verdict
    check: Callable[[], Evidence] = field(repr=False, compare=False)
    aliases: tuple[str, ...] = ()
    why: str = ""
    corrected: Any = None

    def evidence(self, refresh: bool = False) -> Evidence:
        """Run the check (cached per process unless ``refresh``)."""
        if refresh or self.key not in _CACHE:
            _CACHE[self.key] = self.check()
        return _CACHE[self.key]

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.name, *self.aliases)

    def __repr__(self) -> str:
        return f"<{self.name}: {self.printed_text} — {self.verdict.value}>"

    def __str__(self) -> str:
        return self.describe(run=False)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython
        p.text(self.describe(run=False))

    def pretty(self) -> str:
        """The printed statement, sympy-pretty-printed where it is a sympy object."""
        if self.printed is None:
            return self.printed_text
        try:
            import sympy

            return sympy.pretty(self.printed, use_unicode=True)
        except Exception:  # a plain string or a non-sympy object
            return str(self.printed)

    def describe(self, run: bool = True) -> str:
        """Statement, hypotheses, identities, verdict and (if ``run``) the live evidence."""
        lines = [f"{self.name}" + (f"  (also: {', '.join(self.aliases)})" if self.aliases else ""), ""]
        lines += ["As printed:", _indent(self.pretty()), f"  [{self.printed_text}]", ""]
        lines.append("Hypotheses:")
        lines += [f"  - {h}" for h in self.hypotheses] or ["  (none)"]
        if self.rests_on:
            lines += ["", "Rests on:"] + [f"  - {r}" for r in self.rests_on]
        if self.corrected is not None:
            lines += ["", "Corrected form:", _indent(_pretty(self.corrected))]
        lines += ["", f"Verdict: {self.verdict.value}"]
        if self.why:
            lines.append(f"  why: {self.why}")
        if run:
            ev = self.evidence()
            lines += ["", "Check (computed now):", f"  {ev.summary}"]
            lines += [f"  {d}" for d in ev.details]
            lines += [f"  {k} = {_fmt(v)}" for k, v in ev.values.items()]
            lines.append(f"  confirms verdict: {'yes' if ev.confirms else 'NO'}")
        return "\n".join(lines)


@dataclass(frozen=True)
class Group:
    """A numbered result with several parts (Theorem 1), indexable by part."""

    name: str
    parts: tuple[Statement, ...]

    def __getitem__(self, i: int) -> Statement:
        return self.parts[i]

    def __iter__(self):
        return iter(self.parts)

    def __repr__(self) -> str:
        return f"<{self.name}: " + "; ".join(repr(s) for s in self.parts) + ">"

    def _repr_pretty_(self, p, cycle) -> None:
        p.text("\n\n".join(s.describe(run=False) for s in self.parts))


def _pretty(obj: Any) -> str:
    try:
        import sympy

        return sympy.pretty(obj, use_unicode=True)
    except Exception:
        return str(obj)


def _indent(text: str) -> str:
    return "\n".join("  " + line for line in text.splitlines())


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, float) for x in v):
        return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"
    return str(v)
