r"""The record every encoded statement is, and the one standard every verdict follows.

The verdict standard
====================

**Hypotheses come in three kinds** (:class:`HypothesisKind`):

* *stated* — the tex states it for this result, in the statement itself or in the result it is a part or
  corollary of (Corollary 4 inherits Proposition 3's LayerNorm setting; the parts of Theorem 1 its Kronecker model);
* *reading* — a convention the tex leaves silent that only makes the statement well posed: the vec order, which
  :math:`h` is meant, "d/d ln σ" read as an OLS slope on one window, a domain condition such as
  :math:`\lambda_k>0` where :math:`\rho_k` is divided by it. A reading excludes no instance about which the printed
  statement says anything; where the tex admits several, the one most favourable to the paper is taken;
* *added* — a condition the tex does not state that excludes instances on which the printed statement is
  meaningful (a window starting at :math:`k=1`, :math:`\mathrm{slope}(\ln\lambda^\delta_k)=1`, :math:`\delta\perp A`).

**Verdicts** (:class:`Verdict`), judged in this order:

1. *refuted as printed* — a counterexample satisfies every stated hypothesis (and the readings), the evidence
   checks each stated hypothesis on that very instance (:class:`HypothesisCheck`), and the printed conclusion
   fails on it by a stated margin. Needing an added hypothesis is *not* by itself a refutation; the counterexample
   is. Added hypotheses listed on a refuted statement are those under which its ``corrected`` form holds.
2. *identity (proved symbolically)* — exact for every instance meeting the stated hypotheses and readings, proved
   by sympy on general symbols; numbers only cross-check the proof.
3. *holds under stated hypotheses (checked numerically)* — no counterexample is known, the conclusion is checked
   on instances that meet the stated hypotheses (or it is a standard theorem, cited); no added hypothesis is used.
4. *holds under added hypotheses* — no counterexample meeting the stated hypotheses is known, but the conclusion
   is shown only after adding hypotheses, which the verdict names.
5. *not formalizable* — the conclusion has no mathematical content to test ("≈" with no scale, undefined
   quantities, empirical judgements); the evidence checks the nearest exact facts.

A :class:`Statement` enforces the parts of this standard that are structural (a *holds* verdict uses no added
hypothesis; *holds under added hypotheses* names at least one; *refuted* and *not formalizable* say why);
``tests/theory/test_standard.py`` enforces the rest on the live evidence (every *refuted* statement's evidence
checks every stated hypothesis on its instance, and all hold).

A statement's ``check`` is a zero-argument callable that *computes* the evidence (recipes, sympy, mpmath) every
time; :meth:`Statement.evidence` caches it per process. ``Evidence.confirms`` says whether the live computation
supports the verdict (for refuted statements: the counterexample meets the hypotheses *and* contradicts the
printed claim).

In a REPL:

>>> from theory import proposition7
>>> proposition7.verdict
<Verdict.IDENTITY: 'identity (proved symbolically)'>
>>> print(proposition7.verdict.rule)
exact for every instance meeting the stated hypotheses and readings, proved by sympy on general symbols
>>> proposition7.evidence().confirms
True
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from typing import Any

__all__ = [
    "Verdict",
    "HypothesisKind",
    "Hypothesis",
    "HypothesisCheck",
    "met",
    "Evidence",
    "Statement",
    "Group",
    "GroupEvidence",
    "STANDARD_DOC",
]

#: where the standard is written out in prose
STANDARD_DOC = "docs/verdict-standard.md"


class Verdict(enum.StrEnum):
    IDENTITY = "identity (proved symbolically)"
    HOLDS = "holds under stated hypotheses (checked numerically)"
    HOLDS_ADDED = "holds under added hypotheses"
    REFUTED = "refuted as printed"
    NOT_FORMALIZABLE = "not formalizable"

    def __str__(self) -> str:
        return self.value

    @property
    def rule(self) -> str:
        """The standard's rule for this verdict, in one line."""
        return _RULES[self]


_RULES = {
    Verdict.REFUTED: "a counterexample satisfies every stated hypothesis (checked on that instance) "
    "and contradicts the printed conclusion",
    Verdict.IDENTITY: "exact for every instance meeting the stated hypotheses and readings, proved by sympy "
    "on general symbols",
    Verdict.HOLDS: "no counterexample known; checked on instances meeting the stated hypotheses, "
    "no added hypothesis used",
    Verdict.HOLDS_ADDED: "no counterexample meeting the stated hypotheses known, but shown only after adding "
    "the hypotheses named",
    Verdict.NOT_FORMALIZABLE: "the conclusion has no mathematical content to test; the nearest exact facts are checked",
}


class HypothesisKind(enum.StrEnum):
    STATED = "stated"
    READING = "reading"
    ADDED = "added"

    def __str__(self) -> str:
        return self.value


@dataclass(frozen=True)
class Hypothesis:
    """One assumption: a short name, its meaning, and its kind (stated in the tex, a reading, or added)."""

    name: str
    text: str
    kind: HypothesisKind = HypothesisKind.STATED

    @property
    def stated_in_tex(self) -> bool:
        return self.kind is HypothesisKind.STATED

    def __str__(self) -> str:
        return f"[{self.kind}] {self.name}: {self.text}"


@dataclass(frozen=True)
class HypothesisCheck:
    """A hypothesis measured on the evidence instance: its name, whether it holds there, and the number shown."""

    name: str
    holds: bool
    measured: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "holds", bool(self.holds))  # numpy booleans → bool

    def __str__(self) -> str:
        return f"{self.name} {'✓' if self.holds else '✗'}" + (f" ({self.measured})" if self.measured else "")


def met(name: str, holds: Any, measured: str = "") -> HypothesisCheck:
    """Shorthand for :class:`HypothesisCheck`."""
    return HypothesisCheck(name, bool(holds), measured)


@dataclass(frozen=True)
class Evidence:
    """What a check computed: a one-line summary, the numbers, the hypotheses met on the instance, and whether
    all of it supports the verdict (``confirms`` is False if any listed hypothesis fails on the instance)."""

    summary: str
    values: dict[str, Any]
    confirms: bool
    details: tuple[str, ...] = ()
    hypotheses_met: tuple[HypothesisCheck, ...] = ()
    statement: str = ""

    def __post_init__(self) -> None:
        ok = bool(self.confirms) and all(h.holds for h in self.hypotheses_met)
        object.__setattr__(self, "confirms", ok)  # numpy booleans → bool

    def hypothesis(self, name: str) -> HypothesisCheck:
        """The check of one hypothesis by name (``KeyError`` if the evidence does not check it)."""
        for h in self.hypotheses_met:
            if h.name == name:
                return h
        raise KeyError(
            f"evidence does not check hypothesis {name!r}; it checks {[h.name for h in self.hypotheses_met]}"
        )

    def __repr__(self) -> str:
        head = f"Evidence{' for ' + self.statement if self.statement else ''}: "
        head += "confirms the verdict" if self.confirms else "does NOT confirm the verdict"
        lines = [head, f"  {self.summary}"]
        lines += [f"  {d}" for d in self.details]
        if self.hypotheses_met:
            lines.append("  hypotheses on the instance: " + "; ".join(str(h) for h in self.hypotheses_met))
        lines.append(f"  .values: {', '.join(self.values)}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(repr(self))


_CACHE: dict[str, Evidence] = {}


@dataclass(frozen=True)
class Statement:
    """One statement of the paper (or one named part of it), encoded.

    ``printed`` is a sympy expression (no prose in symbol names: ``latex(printed)`` reads like the paper);
    ``printed_text`` is the plain-text transcription; ``corrected`` the form that holds, where there is one.
    """

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

    def __post_init__(self) -> None:
        added = self.added
        if self.verdict in (Verdict.HOLDS, Verdict.IDENTITY) and added:
            raise ValueError(f"{self.name}: verdict {self.verdict.value!r} may not use added hypotheses {added}")
        if self.verdict is Verdict.HOLDS_ADDED and not added:
            raise ValueError(f"{self.name}: 'holds under added hypotheses' must name at least one added hypothesis")
        if self.verdict in (Verdict.REFUTED, Verdict.NOT_FORMALIZABLE, Verdict.HOLDS_ADDED) and not self.why:
            raise ValueError(f"{self.name}: verdict {self.verdict.value!r} needs a 'why'")

    # -- evidence --------------------------------------------------------------------------------------------

    def evidence(self, refresh: bool = False) -> Evidence:
        """Run the check (cached per process unless ``refresh``)."""
        if refresh or self.key not in _CACHE:
            _CACHE[self.key] = replace(self.check(), statement=self.name)
        return _CACHE[self.key]

    # -- names and hypotheses --------------------------------------------------------------------------------

    @property
    def names(self) -> tuple[str, ...]:
        return (self.key, self.name, *self.aliases)

    def hypotheses_of(self, kind: HypothesisKind) -> tuple[Hypothesis, ...]:
        return tuple(h for h in self.hypotheses if h.kind is kind)

    @property
    def stated(self) -> tuple[str, ...]:
        """Names of the hypotheses the tex states."""
        return tuple(h.name for h in self.hypotheses_of(HypothesisKind.STATED))

    @property
    def added(self) -> tuple[str, ...]:
        """Names of the added hypotheses (for a refuted statement: those under which ``corrected`` holds)."""
        return tuple(h.name for h in self.hypotheses_of(HypothesisKind.ADDED))

    @property
    def verdict_label(self) -> str:
        """The verdict as shown in tables: 'holds under added hypotheses' names them."""
        if self.verdict is Verdict.HOLDS_ADDED:
            return f"{self.verdict.value}: {', '.join(self.added)}"
        return self.verdict.value

    # -- printing --------------------------------------------------------------------------------------------

    def pretty(self) -> str:
        """The printed statement, sympy-pretty-printed (unicode, no line wrapping)."""
        return _pretty(self.printed)

    def latex(self) -> str:
        """``sympy.latex`` of the printed statement."""
        import sympy

        return sympy.latex(self.printed)

    def __repr__(self) -> str:
        lines = [f"{self.name} — {self.verdict_label}"]
        if self.aliases:
            lines.append(f"  also: {', '.join(self.aliases)}")
        lines.append(f"  as printed: {self.printed_text}")
        lines += _indent(self.pretty(), 4).splitlines()
        lines.append("  hypotheses:")
        lines += [f"    {h}" for h in self.hypotheses] or ["    (none)"]
        if self.why:
            lines.append(f"  why: {self.why}")
        if self.corrected is not None:
            head = "  corrected" + (f" (under: {', '.join(self.added)})" if self.added else "") + ":"
            lines.append(head)
            lines += _indent(_pretty(self.corrected), 4).splitlines()
        lines.append(f"  evidence: {self.key}.evidence()   full account: print({self.key}.describe())")
        return "\n".join(line.rstrip() for line in lines)

    def __str__(self) -> str:
        return self.describe(run=False)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(repr(self))

    def _repr_latex_(self) -> str:
        import sympy

        label = _tex_escape(f"[{self.name}: {self.verdict_label}]")
        return rf"$\displaystyle {sympy.latex(self.printed)}\qquad\text{{{label}}}$"

    def _repr_markdown_(self) -> str:
        import sympy

        md = _md_escape
        lines = [f"**{md(self.name)}** — *{md(self.verdict_label)}*", "", f"$$ {sympy.latex(self.printed)} $$", ""]
        lines += [f"- *{h.kind}* **{md(h.name)}**: {md(h.text)}" for h in self.hypotheses]
        if self.why:
            lines += ["", f"Why: {md(self.why)}"]
        if self.corrected is not None:
            lines += ["", "Corrected:", "", f"$$ {sympy.latex(self.corrected)} $$"]
        lines += ["", f"Evidence: `{self.key}.evidence()`"]
        return "\n".join(lines)

    def describe(self, run: bool = True) -> str:
        """Statement, hypotheses, verdict with its rule, and (if ``run``) the live evidence."""
        lines = [f"{self.name}" + (f"  (also: {', '.join(self.aliases)})" if self.aliases else ""), ""]
        lines += ["As printed:", _indent(self.pretty(), 2), f"  [{self.printed_text}]", ""]
        lines.append("Hypotheses:")
        lines += [f"  - {h}" for h in self.hypotheses] or ["  (none)"]
        if self.rests_on:
            lines += ["", "Rests on:"] + [f"  - {r}" for r in self.rests_on]
        if self.corrected is not None:
            head = "Corrected form" + (f" (holds under added: {', '.join(self.added)})" if self.added else "") + ":"
            lines += ["", head, _indent(_pretty(self.corrected), 2)]
        lines += ["", f"Verdict: {self.verdict_label}", f"  standard ({STANDARD_DOC}): {self.verdict.rule}"]
        if self.why:
            lines.append(f"  why: {self.why}")
        if run:
            ev = self.evidence()
            lines += ["", "Check (computed now):", f"  {ev.summary}"]
            lines += [f"  {d}" for d in ev.details]
            if ev.hypotheses_met:
                lines.append("  hypotheses on the instance:")
                lines += [f"    {h}" for h in ev.hypotheses_met]
            lines += [f"  {k} = {_fmt(v)}" for k, v in ev.values.items()]
            lines.append(f"  confirms verdict: {'yes' if ev.confirms else 'NO'}")
        return "\n".join(line.rstrip() for line in lines)


@dataclass(frozen=True)
class GroupEvidence:
    """The evidence of every part of a :class:`Group`, in order; index by position or part name."""

    name: str
    parts: tuple[Evidence, ...]

    @property
    def confirms(self) -> bool:
        return all(e.confirms for e in self.parts)

    def __getitem__(self, i: int | str) -> Evidence:
        if isinstance(i, str):
            for e in self.parts:
                if e.statement == i:
                    return e
            raise KeyError(f"{self.name} has no part {i!r}")
        return self.parts[i]

    def __iter__(self) -> Iterator[Evidence]:
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    def __repr__(self) -> str:
        head = f"Evidence for {self.name} ({len(self.parts)} parts): "
        head += "every part confirms its verdict" if self.confirms else "a part does NOT confirm its verdict"
        lines = [head]
        for i, e in enumerate(self.parts):
            lines.append(f"  [{i}] {e.statement}: {'confirms' if e.confirms else 'DOES NOT CONFIRM'}")
            lines.append(f"      {e.summary}")
        return "\n".join(lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(repr(self))


@dataclass(frozen=True)
class Group:
    """A numbered result with several parts (Theorem 1), indexable by part."""

    name: str
    parts: tuple[Statement, ...]

    def __getitem__(self, i: int) -> Statement:
        return self.parts[i]

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.parts)

    def __len__(self) -> int:
        return len(self.parts)

    def evidence(self, refresh: bool = False) -> GroupEvidence:
        """Every part's evidence (each cached per process unless ``refresh``)."""
        return GroupEvidence(self.name, tuple(p.evidence(refresh) for p in self.parts))

    def describe(self, run: bool = True) -> str:
        return "\n\n".join(p.describe(run) for p in self.parts)

    def __repr__(self) -> str:
        lines = [f"{self.name} — {len(self.parts)} parts"]
        for i, p in enumerate(self.parts):
            lines.append(f"  [{i}] {p.name} — {p.verdict_label}")
            lines += _indent(p.pretty(), 6).splitlines()
        lines.append("  evidence: .evidence()   one part: [i]   full account: print(.describe())")
        return "\n".join(line.rstrip() for line in lines)

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:  # IPython
        p.text(repr(self))

    def _repr_markdown_(self) -> str:
        return "\n\n---\n\n".join(p._repr_markdown_() for p in self.parts)


def _tex_escape(text: str) -> str:
    """Escape the LaTeX specials that can occur in names and labels (for ``\\text{...}``)."""
    for ch in "\\{}_#%&$^~":
        text = text.replace(ch, "\\" + ch if ch not in "^~\\" else "")
    return text


def _md_escape(text: str) -> str:
    """Escape markdown emphasis characters in prose (underscores and asterisks in names like ``lambda^delta_k``)."""
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("*", "\\*")


def _pretty(obj: Any) -> str:
    try:
        import sympy

        return sympy.pretty(obj, use_unicode=True, wrap_line=False)
    except Exception:  # a non-sympy object
        return str(obj)


def _indent(text: str, n: int = 2) -> str:
    return "\n".join(" " * n + line for line in text.splitlines())


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, float) for x in v):
        return "[" + ", ".join(f"{x:.4g}" for x in v) + "]"
    return str(v)
