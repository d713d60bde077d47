"""The README's "What holds and what does not" table agrees with the registry (statement → verdict).

Only the statement and verdict columns are compared (the evidence column carries live numbers). The test is
skipped, with that reason, until the README has the section.
"""

from __future__ import annotations

import pytest

from tests import paths
from theory.registry import PAPER_STATEMENTS

README = paths.ROOT / "README.md"
HEADING = "What holds and what does not"


def _table_rows(text: str) -> dict[str, str]:
    section = text.split(HEADING, 1)[1]
    rows = {}
    for line in section.splitlines()[1:]:
        if line.startswith("#"):
            break
        if line.startswith("|") and not line.startswith("|---"):
            cells = [c.strip() for c in line.strip().strip("|").split("|")]
            if len(cells) >= 2 and cells[0] != "statement":
                rows[cells[0]] = cells[1]
    return rows


def test_readme_table_matches_registry():
    text = README.read_text(encoding="utf-8") if README.exists() else ""
    if HEADING not in text:
        pytest.skip(f"README has no '{HEADING}' section yet")
    rows = _table_rows(text)
    for st in PAPER_STATEMENTS:
        assert st.name in rows, f"README table lacks {st.name!r} (regenerate with `python -m theory --markdown`)"
        assert rows[st.name] == st.verdict_label, (
            f"{st.name}: README says {rows[st.name]!r}, registry {st.verdict_label!r}"
        )


def test_table_parser_reads_the_generated_row_format():
    # the row format of `python -m theory --markdown` (checked in test_cli.py), without recomputing evidence
    rows = [f"| {st.name} | {st.verdict_label} | evidence / with a slash |" for st in PAPER_STATEMENTS]
    text = (
        f"## {HEADING}\n\n| statement | verdict | evidence |\n|---|---|---|\n"
        + "\n".join(rows)
        + "\n## next\n| x | y |\n"
    )
    parsed = _table_rows(text)
    assert parsed == {st.name: st.verdict_label for st in PAPER_STATEMENTS}
