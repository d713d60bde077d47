"""``python -m theory`` — the table of statements, verdicts and live evidence, judged by one standard.

python -m theory                 table: statement | verdict | one-line evidence (exit 1 if a check does not confirm)
python -m theory --markdown      the README's "What holds and what does not" table
python -m theory show NAME       one statement (or every part of a group): printed form, hypotheses, verdict with the
                                 standard's rule, evidence with the hypotheses checked on its instance
                                 (unknown NAME: one-line error, exit 2)
python -m theory standard        the verdict standard (theory.statement; docs/verdict-standard.md)
"""

from __future__ import annotations

import argparse
import sys
from typing import NoReturn

EXIT_OK, EXIT_CHECK_FAILED, EXIT_USAGE = 0, 1, 2


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, exit 2, no usage dump
        print(f"python -m theory: {message}", file=sys.stderr)
        raise SystemExit(EXIT_USAGE)


def _parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m theory", description="Statements of the paper, encoded and checked.")
    p.add_argument("--markdown", action="store_true", help="emit the README table in markdown")
    sub = p.add_subparsers(dest="command")
    show = sub.add_parser("show", help="show one statement")
    show.add_argument("name", nargs="+", help="e.g. 'Theorem 1 part 3', proposition9, I2, 'Theorem 9'")
    show.error = p.error  # type: ignore[method-assign]
    standard = sub.add_parser("standard", help="print the verdict standard")
    standard.error = p.error  # type: ignore[method-assign]
    return p


def _standard_text() -> str:
    from theory.statement import STANDARD_DOC, HypothesisKind, Verdict

    lines = [f"The verdict standard (theory/statement.py; {STANDARD_DOC})", "", "Hypotheses:"]
    kinds = {
        HypothesisKind.STATED: "the tex states it for this result, or for the result it is a part or corollary of",
        HypothesisKind.READING: "a convention the tex leaves silent that only makes the statement well posed "
        "(excludes no instance the statement speaks about; the reading most favourable to the paper)",
        HypothesisKind.ADDED: "a condition the tex does not state that excludes instances on which the statement is "
        "meaningful",
    }
    lines += [f"  {k.value:<8} {t}" for k, t in kinds.items()]
    lines += ["", "Verdicts (judged in this order):"]
    order = (Verdict.REFUTED, Verdict.IDENTITY, Verdict.HOLDS, Verdict.HOLDS_ADDED, Verdict.NOT_FORMALIZABLE)
    lines += [f"  {v.value}: {v.rule}" for v in order]
    return "\n".join(lines)


def _table(markdown: bool) -> int:
    from theory.registry import DERIVED_IDENTITIES, PAPER_STATEMENTS, STATEMENTS, verdict_counts
    from theory.statement import STANDARD_DOC

    rows, failed = [], []
    for st in STATEMENTS:
        ev = st.evidence()
        if not ev.confirms:
            failed.append(st.name)
        rows.append((st.name, st.verdict_label, ("" if ev.confirms else "CHECK DOES NOT CONFIRM: ") + ev.summary))
    if markdown:
        # the paper's statements one per row; the derived identities (THEORY.md §1.4, §3) in one summary row
        print("| statement | verdict | evidence (computed by `python -m theory`) |")
        print("|---|---|---|")
        for name, verdict, evidence in rows[: len(PAPER_STATEMENTS)]:
            print(f"| {name} | {verdict} | {evidence.replace('|', '/')} |")
        derived = list(DERIVED_IDENTITIES)
        ok = sum(s.evidence().confirms for s in derived)
        names = ", ".join(s.name for s in derived)
        print(
            f"| derived identities ({len(derived)}) | identity (proved symbolically) | {names}: sympy + numeric, {ok}/{len(derived)} confirmed |"
        )
    else:
        print(f"Verdicts follow one standard: `python -m theory standard` ({STANDARD_DOC}).\n")
        w0 = max(len(r[0]) for r in rows)
        w1 = max(len(r[1]) for r in rows)
        print(f"{'statement':<{w0}}  {'verdict':<{w1}}  evidence")
        print(f"{'-' * w0}  {'-' * w1}  {'-' * 8}")
        for name, verdict, evidence in rows:
            print(f"{name:<{w0}}  {verdict:<{w1}}  {evidence}")
        counts = verdict_counts()
        print(
            f"\n{len(rows)} statements; {len(rows) - len(failed)} checks confirm their verdict"
            + (f"; NOT confirmed: {', '.join(failed)}" if failed else "")
        )
        print("by verdict: " + "; ".join(f"{v.value}: {n}" for v, n in counts.items()))
    return EXIT_CHECK_FAILED if failed else EXIT_OK


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    if args.command == "standard":
        print(_standard_text())
        return EXIT_OK
    if args.command == "show":
        from theory.registry import get, get_group

        name = " ".join(args.name)
        group = get_group(name)
        if group is not None:
            print(group.describe(run=True))
            return EXIT_OK if group.evidence().confirms else EXIT_CHECK_FAILED
        try:
            st = get(name)
        except KeyError:
            print(
                f"python -m theory show: unknown statement {name!r} (run `python -m theory` for the list)",
                file=sys.stderr,
            )
            return EXIT_USAGE
        print(st.describe(run=True))
        return EXIT_OK if st.evidence().confirms else EXIT_CHECK_FAILED
    return _table(args.markdown)


if __name__ == "__main__":
    raise SystemExit(main())
