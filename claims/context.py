r"""The settings one evaluation runs with: the law bands (CLAIMS.md §3.2), passed to every measure and test.

Nothing here is module-level mutable state: a :class:`Context` is built once per ``verify`` / ``show`` /
``report`` run (from ``--band NAME=VALUE`` where given) and handed to :func:`claims.evaluate.evaluate`,
which passes it to the claim's measure and test and stores it on the outcome, so that the table, the JSON
row and ``show`` print the bands a verdict was judged with. A later setting of the evaluation (for example
a per-claim interval) belongs here as another field.

Bands (suggestions, not derived from data; printed with every law verdict):

* ``exponent`` — :math:`|x-v|\le b` for "α ≈ v" and for slopes ≈ 0 (default 0.15, the half-width of the
  paper's Fig. 5 band [1.85, 2.15]); a finite number > 0;
* ``ratio`` — :math:`|r-1|\le b` for ratios ≈ 1 (default 0.05); a finite number > 0;
* ``most`` — "most" means strictly more than this fraction (default 0.5); a number in [0.5, 1).

Claim texts (tolerance, printed value) may name a band as ``{exponent}``, ``{ratio}`` or ``{most}``;
:meth:`Context.render` fills in the values of this evaluation. The registry's defaults are fixed before any
data are read; a band given with ``--band`` is an override, and the output says so (:meth:`Bands.overrides`).

The bootstrap behind the intervals of law verdicts on the project's data (:class:`Bootstrap`; the scheme is
:mod:`claims.uncertainty.resample`): 2000 draws, a 95 % level, seed 0 — fixed, so that the output is
deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, replace

from .errors import InputError


@dataclass(frozen=True)
class Bands:
    """The law bands of one evaluation (see the module docstring for their meaning and valid ranges)."""

    exponent: float = 0.15
    ratio: float = 0.05
    most: float = 0.5

    def __post_init__(self) -> None:
        for f in fields(self):
            problem = band_problem(f.name, getattr(self, f.name))
            if problem:
                raise InputError("--band", "", f"{f.name}={getattr(self, f.name)!r}: {problem}")

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @classmethod
    def parse(cls, items: Iterable[str]) -> Bands:
        """Bands from ``NAME=VALUE`` items (``--band``); unknown names, repeats, non-numbers and values outside
        a band's range raise :class:`InputError` (exit 2, one line)."""
        given: dict[str, float] = {}
        for item in items:
            name, sep, text = item.partition("=")
            name = name.strip()
            if not sep:
                raise InputError("--band", "", f"{item!r}: expected NAME=VALUE, NAME one of {', '.join(cls.names())}")
            if name not in cls.names():
                raise InputError("--band", "", f"unknown band {name!r}; one of {', '.join(cls.names())}")
            if name in given:
                raise InputError("--band", "", f"{name} given twice")
            try:
                value = float(text)
            except ValueError:
                raise InputError("--band", "", f"{name}: not a number: {text!r}") from None
            problem = band_problem(name, value)
            if problem:
                raise InputError("--band", "", f"{name}={text}: {problem}")
            given[name] = value
        return replace(cls(), **given)

    def describe(self) -> str:
        return ", ".join(f"{f.name}={getattr(self, f.name):g}" for f in fields(self))

    def overrides(self) -> list[tuple[str, float, float]]:
        """``(name, value, registry default)`` of every band that differs from the registry's default."""
        d = type(self)()
        return [
            (f.name, getattr(self, f.name), getattr(d, f.name))
            for f in fields(self)
            if getattr(self, f.name) != getattr(d, f.name)
        ]

    def override_text(self) -> str:
        """One phrase naming the overridden bands ("" when none)."""
        o = self.overrides()
        return "; ".join(f"--band {n}={v:g} overrides the registry's {d:g}" for n, v, d in o)


def band_problem(name: str, value: float) -> str:
    """Why ``value`` is not a valid setting of band ``name`` ("" when it is)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return "must be a finite number"
    if name == "most":
        return "" if 0.5 <= value < 1 else "must lie in [0.5, 1) ('most' = strictly more than this fraction)"
    return "" if value > 0 else "must be > 0"


@dataclass(frozen=True)
class Bootstrap:
    """The nested bootstrap of the project's measurements: draws, interval level, base seed."""

    draws: int = 2000
    level: float = 0.95
    seed: int = 0


@dataclass(frozen=True)
class Context:
    """Everything a measure or a test may depend on besides the data: one per evaluation run."""

    bands: Bands = field(default_factory=Bands)
    bootstrap: Bootstrap = field(default_factory=Bootstrap)

    def render(self, text: str) -> str:
        """``text`` with ``{exponent}``, ``{ratio}`` and ``{most}`` replaced by this evaluation's bands."""
        for f in fields(self.bands):
            text = text.replace("{" + f.name + "}", f"{getattr(self.bands, f.name)}")
        return text


#: the evaluation settings when none are given (the defaults of CLAIMS.md §3.2)
DEFAULT = Context()
