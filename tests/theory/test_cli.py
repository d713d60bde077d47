"""`python -m theory`: the table, `show NAME`, `--markdown`, and the exit statuses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from theory.__main__ import EXIT_USAGE, main
from theory.registry import PAPER_STATEMENTS, STATEMENTS

_SPLIT = "=====8<====="
_CLI = (
    "import sys\n"
    "from theory.__main__ import main\n"
    "rc_table = main([])\n"
    f"print({_SPLIT!r})\n"
    "rc_md = main(['--markdown'])\n"
    "assert 'torch' not in sys.modules, 'running every check imported torch'\n"
    "sys.exit(rc_table or rc_md)\n"
)


@pytest.fixture(scope="module")
def cli_outputs() -> tuple[str, list[str]]:
    """One fresh interpreter runs the table and the markdown (every check computed once) and must not import torch."""
    proc = subprocess.run([sys.executable, "-c", _CLI], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    table, markdown = proc.stdout.split(_SPLIT + "\n")
    return table, markdown.splitlines()


def test_table_lists_every_statement_with_a_verdict_and_confirms(cli_outputs):
    out, _ = cli_outputs
    for st in STATEMENTS:
        assert st.name in out
    for verdict in (
        "identity (proved symbolically)",
        "holds under stated hypotheses",
        "refuted as printed",
        "not formalizable",
    ):
        assert verdict in out
    assert f"{len(STATEMENTS)} statements; {len(STATEMENTS)} checks confirm their verdict" in out
    # the headline counterexample is computed, not hard-coded
    assert "Eq. (3) predicts 3.5000, alpha_exact = 0.5000" in out


def test_markdown_table(cli_outputs):
    _, lines = cli_outputs
    assert lines[0].startswith("| statement | verdict |") and lines[1] == "|---|---|---|"
    assert len(lines) == 2 + len(PAPER_STATEMENTS) + 1  # paper statements + one row for the derived identities
    assert all(line.count("|") == 4 for line in lines[2:])
    assert (
        lines[-1].startswith("| derived identities (9) | identity (proved symbolically) |")
        and "9/9 confirmed" in lines[-1]
    )
    for st in PAPER_STATEMENTS:
        assert f"| {st.name} | {st.verdict.value} |" in "\n".join(lines)


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        (["Theorem", "1", "part", "3"], "Theorem 1 part 3"),
        (["theorem9"], "Proposition 9"),
        (["Theorem", "3"], "Proposition 3"),
        (["Theorem 7"], "Proposition 7"),
        (["I2"], "Identity I2"),
    ],
)
def test_show_accepts_printed_names_and_aliases(capsys, name, expected):
    main(["show", *name])
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith(expected)
    for section in ("As printed:", "Hypotheses:", "Verdict:", "Check (computed now):", "confirms verdict: yes"):
        assert section in out


def test_show_group_prints_every_part(capsys):
    assert main(["show", "Theorem", "1"]) == 0
    out = capsys.readouterr().out
    for part in ("Theorem 1 part 1", "Theorem 1 part 2", "Theorem 1 part 3"):
        assert part in out
    assert out.count("Verdict:") == 4


def test_show_unknown_name_is_one_line_error_exit_2():
    proc = subprocess.run([sys.executable, "-m", "theory", "show", "Theorem", "42"], capture_output=True, text=True)
    assert proc.returncode == EXIT_USAGE == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "unknown statement 'Theorem 42'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_option_is_one_line_error_exit_2():
    proc = subprocess.run([sys.executable, "-m", "theory", "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
