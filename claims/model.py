"""What a claim is, and what evaluating it gives (CLAIMS.md §1, §3)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from .context import DEFAULT, Context

HOLDS, FAILS, NO_DATA = "holds", "fails", "no data"
#: a law judged on the project's measurements whose 95 % interval straddles its band: decided by noise, neither
#: a pass nor a fail (docs/claims-reference.md §3.5)
INCONCLUSIVE = "inconclusive"
#: claim kinds: a printed number, a law (a predicate over every measured network), and the integrity check of
#: one results file (its stored fields against their recomputation; built per folder by :mod:`claims.integrity`)
NUMBER, LAW, INTEGRITY = "number", "law", "integrity"


@dataclass
class Candidate:
    """The value of the claim's statistic under one candidate selection rule (CLAIMS.md §2.11)."""

    rule: str
    value: Any
    n: int | None = None
    holds: bool | None = None
    same: bool = False  # an alternative rule for the same statistic: `show` says whether it would hold


@dataclass
class Outcome:
    """The verdict of one claim on one folder, with what it was measured from and judged with."""

    verdict: str
    measured: Any = None
    source: str = ""
    proxy: bool = False
    records: list[str] = field(default_factory=list)
    candidates: list[Candidate] = field(default_factory=list)
    violators: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    context: Context = DEFAULT  # the evaluation settings (bands) the verdict was judged with
    partial_inputs: list[str] = field(default_factory=list)  # incomplete files (``complete: false``) it used
    uncertainty: Any = None  # claims.uncertainty.judge.Uncertainty: the interval verdict on project data
    point_verdict: str = ""  # the verdict of the point value alone, where an interval decided `verdict`
    replication: Any = None  # claims.replication.Replication: the verdict on the project's re-measurement

    @property
    def label(self) -> str:
        if self.verdict == NO_DATA:
            return self.verdict
        return self.verdict + (" (proxy)" if self.proxy else "") + (" (partial)" if self.partial_inputs else "")


Check = Callable[[Any, Context], Outcome]  # (Bundle, Context) -> Outcome
Perturb = Callable[[Any, Outcome], None]  # (Docs, original outcome) -> None, mutates the docs


def printed_display(p: Any, decimals: int | None) -> str:
    """The printed value as the paper prints it: ranges as a–b, count tuples as a / b / c."""
    if isinstance(p, tuple) and all(isinstance(x, (int, float)) for x in p):
        parts = [f"{x:.{decimals}f}" if isinstance(x, float) and decimals is not None else str(x) for x in p]
        return "–".join(parts) if len(p) == 2 else " / ".join(parts)
    if isinstance(p, float) and decimals is not None:
        return f"{p:.{decimals}f}"
    return str(p)


@dataclass
class Claim:
    """One printed claim of the paper (or a file's integrity check): where, what, how it is judged."""

    id: str
    kind: str  # NUMBER, LAW or INTEGRITY
    location: str
    statement: str
    printed: Any  # the value as printed: a number where it is one, else the printed text
    decimals: int | None
    tolerance: str  # may name a band as {exponent}, {ratio}, {most}: filled in per evaluation (Context.render)
    files: tuple[str, ...]  # backing file keys: if any is missing the claim is `no data`
    selection: str  # the rule the paper states (used for the verdict)
    check: Check | None = None  # None: NO DATA register
    perturb: Perturb | None = None
    data: str = "data"  # data | partial | proxy | analytic (no data involved) | no data
    nearest: str = ""  # for NO DATA: the nearest data, labelled as a diagnostic
    module: str = ""  # where the claim is defined (set by the registry)
    experiment: str = ""  # number claims: the empirics.experiments id it is about (set by the registry)
    experiment_note: str = ""  # why it has no experiment, or why no replication is computed for it
    replicate: Any = None  # claims.replication.spec.Spec: the claim's statistic on one project run (or None)

    def __post_init__(self) -> None:
        # labels are generated from the registry's printed value, never typed twice
        self.statement = self.statement.replace("{printed}", printed_display(self.printed, self.decimals))
        assert self.kind in (NUMBER, LAW, INTEGRITY), self.kind
        assert self.data in ("data", "partial", "proxy", "analytic", "no data"), self.data
        assert (self.check is None) == (self.data == "no data"), self.id
