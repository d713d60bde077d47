"""Integrity of the results files: every stored field, label and summary that can be recomputed from the data
the file itself (or a file it derives from) holds is recomputed and compared (:mod:`.tally` has the
tolerances). Each file's comparisons form one check of kind ``integrity`` — id ``integrity.<file name>`` —
that holds when every stored field agrees and fails listing each disagreement (JSON path, stored value,
recomputed value). The checks are rows of the verify table and of ``--json`` and count in the exit status.

One module per family of files: :mod:`.alpha_maps`, :mod:`.conv_gap`, :mod:`.rank_models`, :mod:`.training`,
:mod:`.project`. Each declares ``FIELDS`` (file kind → JSON-path pattern → the recomputation) and
``NOT_CHECKED`` (what cannot be recomputed, and why); docs/integrity.md is :func:`fields_markdown`'s output.
"""

from __future__ import annotations

from collections.abc import Callable

from empirics import compare_schema
from empirics.schema import SCHEMA_VERSION

from ..bundle import FILE_KEYS, Bundle
from ..context import Context
from ..jsonpath import Node
from ..model import FAILS, HOLDS, INTEGRITY, Claim, Outcome
from . import alpha_maps, conv_gap, project, rank_models, training
from .tally import REL, Tally

_MODULES = (alpha_maps, conv_gap, rank_models, training, project)
#: file kind (an author file key, or a project schema) → JSON-path pattern → how the field is recomputed
FIELDS: dict[str, dict[str, str]] = {k: v for m in _MODULES for k, v in m.FIELDS.items()}
NOT_CHECKED: dict[str, str] = {k: v for m in _MODULES for k, v in m.NOT_CHECKED.items()}
CHECKS: dict[str, Callable[[Bundle, Node, Tally], None]] = {k: v for m in _MODULES for k, v in m.CHECKS.items()}
TOLERANCE = (
    f"numbers: |stored − recomputed| ≤ {REL:g}·max(1, |stored|) (relative for arrays and dimensional values; "
    "the fields docs/integrity.md names: their own); labels and counts exact"
)


def files(b: Bundle) -> list[tuple[str, Node]]:
    """(file kind, parsed file) of every file of the folder that has an integrity check, in table order."""
    out = [(k, b.need(k)) for k in FILE_KEYS if b.has(k)]
    out += [(SCHEMA_VERSION, d) for d in b.project]
    out += [(compare_schema.SCHEMA_VERSION, d) for d in b.optim]
    return out


def tally(b: Bundle, kind: str, root: Node) -> Tally:
    """The comparisons of one file (computed once per folder; kept on the bundle)."""
    cache = b.memo.setdefault("integrity", {})
    if root.file not in cache:
        t = Tally(root.file, FIELDS[kind])
        CHECKS[kind](b, root, t)
        cache[root.file] = t
    return cache[root.file]


def _check(kind: str, root: Node) -> Callable[[Bundle, Context], Outcome]:
    def check(b: Bundle, ctx: Context) -> Outcome:
        t = tally(b, kind, root)
        return Outcome(
            FAILS if t.bad else HOLDS,
            (t.n - len(t.bad), t.n),
            f"{root.file}: {t.n} stored fields recomputed and compared ({len(t.used)} kinds of field)",
            records=[root.file],
            violators=list(t.bad),
            notes=["value = (stored fields that agree, stored fields compared)"]
            + [f"not cross-checked: {s}" for s in t.skipped],
        )

    return check


def integrity_claims(b: Bundle) -> list[Claim]:
    """One integrity check per results file of the folder (authors' files by key order, then the project's)."""
    out = []
    for kind, root in files(b):
        name = root.file
        c = Claim(
            f"integrity.{name}",
            INTEGRITY,
            name,
            f"every stored field of {name} that can be recomputed agrees with its recomputation",
            "agrees",
            None,
            TOLERANCE,
            (kind,) if kind in FILE_KEYS else (),
            f"every cross-checked field of a {kind} file (docs/integrity.md)",
            _check(kind, root),
        )
        c.module = f"claims/integrity/{_module_of(kind)}.py"
        out.append(c)
    return out


def _module_of(kind: str) -> str:
    return next(m.__name__.rsplit(".", 1)[1] for m in _MODULES if kind in m.FIELDS)


def tally_of(b: Bundle, name: str) -> Tally | None:
    """The comparisons of the folder's file ``name`` (None when it has no integrity check)."""
    for kind, root in files(b):
        if root.file == name:
            return tally(b, kind, root)
    return None


def fields_markdown() -> str:
    """The cross-checked fields of every file kind, as the markdown tables of docs/integrity.md."""
    lines = []
    for kind, fields in FIELDS.items():
        title = FILE_KEYS.get(kind, f"{kind} files")
        lines += [f"### {title}", "", "| stored field (JSON path) | recomputed as |", "|---|---|"]
        lines += ["| `" + p + "` | " + rule.replace("|", "\\|") + " |" for p, rule in fields.items()]
        lines += ["", f"Not cross-checked: {NOT_CHECKED[kind]}.", ""]
    return "\n".join(lines).rstrip() + "\n"
