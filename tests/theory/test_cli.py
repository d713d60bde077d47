"""`python -m theory`: the table, `show NAME`, `--markdown`, and the exit statuses."""

from __future__ import annotations

import subprocess
import sys

import pytest

from theory.__main__ import EXIT_USAGE, main
from theory.registry import DERIVED_IDENTITIES, PAPER_STATEMENTS, STATEMENTS
from theory.statement import Verdict

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
    for verdict in Verdict:
        assert verdict.value in out
    assert f"{len(STATEMENTS)} statements; {len(STATEMENTS)} checks confirm their verdict" in out
    assert "Verdicts follow one standard: `python -m theory standard` (docs/verdict-standard.md)" in out
    # the headline counterexamples are computed, not hard-coded
    assert "Eq. (3) predicts 3.5000, alpha_exact = 0.5000" in out
    assert "PR = 2.936 > zeta(s)^2/zeta(2s) = 2.665" in out


def test_markdown_table(cli_outputs):
    _, lines = cli_outputs
    assert lines[0].startswith("| statement | verdict |") and lines[1] == "|---|---|---|"
    assert len(lines) == 2 + len(PAPER_STATEMENTS) + 1  # paper statements + one row for the derived identities
    assert all(line.count("|") == 4 for line in lines[2:])
    n = len(DERIVED_IDENTITIES)
    assert lines[-1].startswith(f"| derived identities ({n}) | identity (proved symbolically) |")
    assert f"{n}/{n} confirmed" in lines[-1]
    for st in PAPER_STATEMENTS:
        assert f"| {st.name} | {st.verdict_label} |" in "\n".join(lines)
    assert "| Corollary 4 (second sentence) | holds under added hypotheses: flat A side |" in "\n".join(lines)


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
    assert main(["show", "Corollary", "4"]) == 0
    out = capsys.readouterr().out
    assert "Verdict: refuted as printed" in out and "Verdict: holds under added hypotheses: flat A side" in out


def test_show_cites_the_standard_and_the_hypotheses_checked_on_the_instance(capsys):
    assert main(["show", "Proposition", "6"]) == 0
    out = capsys.readouterr().out
    assert f"standard (docs/verdict-standard.md): {Verdict.REFUTED.rule}" in out
    assert "hypotheses on the instance:" in out and "alignment ✓" in out


def test_standard_subcommand_prints_every_verdict_rule(capsys):
    assert main(["standard"]) == 0
    out = capsys.readouterr().out
    for v in Verdict:
        assert f"{v.value}: {v.rule}" in out
    for kind in ("stated", "reading", "added"):
        assert f"  {kind}" in out


def test_show_unknown_name_is_one_line_error_exit_2():
    proc = subprocess.run([sys.executable, "-m", "theory", "show", "Theorem", "42"], capture_output=True, text=True)
    assert proc.returncode == EXIT_USAGE == 2
    assert proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "unknown statement 'Theorem 42'" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_bad_option_is_one_line_error_exit_2():
    proc = subprocess.run([sys.executable, "-m", "theory", "--bogus"], capture_output=True, text=True)
    assert proc.returncode == 2 and len(proc.stderr.strip().splitlines()) == 1 and "Traceback" not in proc.stderr
