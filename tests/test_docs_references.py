r"""Every reference that the code makes to the reference pages resolves inside the repository.

Docstrings and comments cite ``docs/theory-reference.md`` and ``docs/claims-reference.md`` by section
("docs/theory-reference.md §1.4", "§3.12 (iv)", "§"Transfer function"", "docs/claims-reference.md §5 requirement 3"),
and cite the paper's problems by id ("G6", "G1–G3"). The older form, which named the two external documents the
pages were written from (``THEORY`` and ``CLAIMS`` with the ``.md`` suffix, or followed by ``§``), is no longer
accepted: those documents are not in the repository, so a citation of them is reported wherever it occurs in the
project's ``*.py`` files, README.md or docs/.

A section exists when the page has a Markdown heading whose text starts with ``§<number>``; a name cited as
``§"Name"`` must occur in a heading; a G-id must have a heading ``G<n>`` in the theory page. This file is left out
of the scan (its own examples are not citations).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests import paths

ROOT = paths.ROOT
DOCS = ROOT / "docs"
PAGES = {"theory": DOCS / "theory-reference.md", "claims": DOCS / "claims-reference.md"}
SKIP_DIRS = {"__pycache__", "build", "dist", "results", "node_modules"}

# -- the pages ---------------------------------------------------------------------------------------

_HEADING = re.compile(r"^(#{1,6})[ \t]+(.+?)[ \t]*#*[ \t]*$", re.M)
_SECTION_NO = re.compile(r"^§\s*(\d+(?:\.\d+)*)(?!\.?\d)")
_G_HEADING = re.compile(r"^G(\d+)\b")


@dataclass(frozen=True)
class Page:
    """A reference page: its numbered sections (number → body text), heading texts and G-ids."""

    sections: dict[str, str]
    headings: tuple[str, ...]
    g_ids: frozenset[int]


def parse_page(text: str) -> Page:
    """Sections are the headings starting with ``§n(.m)*``; a body runs to the next heading of the same or a higher level."""
    heads = [(m.start(), len(m.group(1)), m.group(2)) for m in _HEADING.finditer(text)]
    sections: dict[str, str] = {}
    for i, (start, level, title) in enumerate(heads):
        m = _SECTION_NO.match(title)
        if not m:
            continue
        end = next((s for s, lv, _ in heads[i + 1 :] if lv <= level), len(text))
        sections[m.group(1)] = text[start:end]
    g_ids = frozenset(int(m.group(1)) for _, _, t in heads if (m := _G_HEADING.match(t)))
    return Page(sections, tuple(t for _, _, t in heads), g_ids)


# -- the citations -----------------------------------------------------------------------------------

#: a mention of a reference page: its docs path
_MENTION = re.compile(r"docs/(?P<page>theory|claims)-reference\.md")
#: the old form, which names an external document as the source: its name with the ``.md`` suffix, or followed by ``§`` or a G-id
_OLD_MENTION = re.compile(r"\b(?:THEORY|CLAIMS)(?:\.md\b|(?=[ \t]*(?:§|G\d)))")
_NUM = r"\d+(?:\.\d+)*"
#: ``§1.4``, ``§1.4–1.6``, ``§1.3–§1.6``, each optionally followed by ``(iv)`` or ``, "quoted term"``
_SECTION_REF = re.compile(
    rf"§\s*(?P<a>{_NUM})(?:\s*[–-]\s*§?\s*(?P<b>{_NUM}))?"
    r"(?:\s*\((?P<roman>[ivx]+)\))?"
    r"(?:\s*,?\s*\"(?P<term>[^\"\n]+)\")?"
    r"(?:\s+(?:req\.|requirement)\s*(?P<req>\d+))?"
)
_NAMED_REF = re.compile(r"§\s*\"(?P<name>[^\"\n]+)\"")
_RECIPE_REF = re.compile(r"\b[Rr]ecipes?\s+(?P<a>[A-H])\b(?:\s*[–-]\s*(?P<b>[A-H])\b)?")
_G_REF = re.compile(r"\bG(?P<a>\d+)\b(?:\s*[–-]\s*G?(?P<b>\d+)\b)?")


@dataclass(frozen=True)
class Citation:
    """One reference found in a source file: which page, what it points at, and where it was found."""

    page: str  # "theory" | "claims"
    what: str  # "section" | "name" | "roman" | "term" | "requirement" | "recipe" | "G"
    target: str  # "1.4" | "Transfer function" | "3.12 (iv)" | "1 x-ref" | "5 3" | "E" | "6"
    where: str  # "path:line"


def expand(a: str, b: str | None) -> list[str]:
    """``1.4``–``1.6`` → 1.4, 1.5, 1.6 (same parent); otherwise both ends."""
    if b is None:
        return [a]
    pa, pb = a.split("."), b.split(".")
    if len(pa) == len(pb) and pa[:-1] == pb[:-1] and int(pa[-1]) <= int(pb[-1]):
        return [".".join([*pa[:-1], str(i)]) for i in range(int(pa[-1]), int(pb[-1]) + 1)]
    return [a, b]


def citations_in_line(line: str, where: str) -> list[Citation]:
    """The page references of one line: each mention's scope runs to the next mention or the end of the line."""
    out: list[Citation] = []
    mentions = list(_MENTION.finditer(line))
    for i, m in enumerate(mentions):
        page = m.group("page")
        scope = line[m.end() : mentions[i + 1].start() if i + 1 < len(mentions) else len(line)]
        for n in _NAMED_REF.finditer(scope):
            out.append(Citation(page, "name", n.group("name"), where))
        for s in _SECTION_REF.finditer(scope):
            for num in expand(s.group("a"), s.group("b")):
                out.append(Citation(page, "section", num, where))
            if s.group("roman"):
                out.append(Citation(page, "roman", f"{s.group('a')} ({s.group('roman')})", where))
            if s.group("term"):
                out.append(Citation(page, "term", f"{s.group('a')} {s.group('term')}", where))
            if s.group("req"):
                out.append(Citation(page, "requirement", f"{s.group('a')} {s.group('req')}", where))
        if page == "theory":
            for r in _RECIPE_REF.finditer(scope):
                last = r.group("b") or r.group("a")
                for c in range(ord(r.group("a")), ord(last) + 1):
                    out.append(Citation(page, "recipe", chr(c), where))
    for g in _G_REF.finditer(line):
        lo, hi = int(g.group("a")), int(g.group("b") or g.group("a"))
        for gid in range(lo, max(lo, hi) + 1):
            out.append(Citation("theory", "G", str(gid), where))
    return out


def source_files(root: Path) -> list[Path]:
    """The project's ``*.py`` files (hidden folders, build outputs, results and this file left out)."""
    me = Path(__file__).resolve()
    files = []
    for p in sorted(root.rglob("*.py")):
        rel = p.relative_to(root).parts
        if any(part.startswith(".") or part in SKIP_DIRS for part in rel[:-1]) or p.resolve() == me:
            continue
        files.append(p)
    return files


def text_files(root: Path) -> list[Path]:
    """The files whose citations must name the repository's pages: the ``*.py`` files, README.md and docs/*.md."""
    return [*source_files(root), root / "README.md", *sorted((root / "docs").rglob("*.md"))]


def old_mentions(text: str, name: str) -> list[str]:
    """``name:line: text`` for each line of ``text`` that cites an external document instead of a docs page."""
    return [
        f"{name}:{no}: {line.strip()}"
        for no, line in enumerate(text.splitlines(), start=1)
        if _OLD_MENTION.search(line)
    ]


def all_citations(root: Path) -> list[Citation]:
    """Every page citation and G-id in the project's ``*.py`` files."""
    out: list[Citation] = []
    for p in source_files(root):
        rel = p.relative_to(root)
        for no, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1):
            out += citations_in_line(line, f"{rel}:{no}")
    return out


def unresolved(c: Citation, pages: dict[str, Page]) -> str | None:
    """Why ``c`` does not resolve in its page, or None if it does."""
    page = pages[c.page]
    name = PAGES[c.page].relative_to(ROOT)
    if c.what == "section":
        return None if c.target in page.sections else f"{name} has no section §{c.target}"
    if c.what == "name":
        hit = any(c.target.lower() in h.lower() for h in page.headings)
        return None if hit else f"{name} has no heading containing {c.target!r}"
    if c.what in ("roman", "term", "requirement"):
        num, rest = c.target.split(" ", 1)
        body = page.sections.get(num)
        if body is None:
            return f"{name} has no section §{num}"
        needle = {"roman": rest, "term": rest, "requirement": f"\n{rest}. "}[c.what]
        return None if needle.lower() in body.lower() else f"{name} §{num} does not contain {needle.strip()!r}"
    if c.what == "recipe":
        body = page.sections.get("3.0", "")
        return None if f"**{c.target}**" in body else f"{name} §3.0 does not define recipe {c.target}"
    if c.what == "G":
        return None if int(c.target) in page.g_ids else f"{name} has no heading G{c.target}"
    raise AssertionError(c.what)


# -- tests ---------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def pages() -> dict[str, Page]:
    return {k: parse_page(p.read_text(encoding="utf-8")) for k, p in PAGES.items()}


@pytest.mark.parametrize("key", sorted(PAGES))
def test_reference_page_exists_and_has_sections(key):
    assert PAGES[key].is_file(), f"{PAGES[key].relative_to(ROOT)} is missing"
    page = parse_page(PAGES[key].read_text(encoding="utf-8"))
    top = {s for s in page.sections if "." not in s}
    assert top >= {"1", "2", "3", "4", "5"}, f"{key}: top-level sections {sorted(top)}"


def test_every_citation_in_the_code_resolves(pages):
    cites = all_citations(ROOT)
    assert any(c.what == "section" for c in cites), "no section citation found: is the scan looking at the code?"
    problems = sorted({f"{c.where}: {why}" for c in cites if (why := unresolved(c, pages))})
    assert not problems, "unresolved references:\n" + "\n".join(problems)


def test_no_citation_names_the_external_documents():
    """Citations name docs/theory-reference.md and docs/claims-reference.md, never the documents they were written from."""
    files = text_files(ROOT)
    assert ROOT / "README.md" in files and any(f.suffix == ".py" for f in files)
    found = [hit for f in files for hit in old_mentions(f.read_text(encoding="utf-8"), str(f.relative_to(ROOT)))]
    assert not found, "cite docs/theory-reference.md or docs/claims-reference.md instead:\n" + "\n".join(found)


def test_g_ids_are_numbered_without_gaps(pages):
    g = pages["theory"].g_ids
    assert g and g == frozenset(range(1, max(g) + 1)), sorted(g)


#: the old external names, built so that a text replacement of them does not rewrite the test cases
T_OLD, C_OLD = "THEORY" + ".md", "CLAIMS" + ".md"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("(docs/theory-reference.md §1.4–1.6, §3.3, G1–G3)", {"1.4", "1.5", "1.6", "3.3", "G1", "G2", "G3"}),
        ("see docs/theory-reference.md §1.3–§1.5.", {"1.3", "1.4", "1.5"}),
        ('docs/claims-reference.md §1 "File keys"', {"1", "1 File keys"}),
        ("docs/claims-reference.md §5 requirement 3", {"5", "5 3"}),
        ('(docs/theory-reference.md §"Transfer function", §3.12 (iv))', {"Transfer function", "3.12", "3.12 (iv)"}),
        ("docs/theory-reference.md recipe E and docs/claims-reference.md §3.2", {"E", "3.2"}),
        (f"({T_OLD} §1.4, G6)", {"G6"}),  # the old form is no page citation (the G-id still is one)
        ("CLAIMS = []  # not a citation", set()),
    ],
)
def test_citation_parser(line, expected):
    got = {("G" + c.target) if c.what == "G" else c.target for c in citations_in_line(line, "x:1")}
    assert got == expected


@pytest.mark.parametrize(
    ("line", "is_old"),
    [
        (f"({T_OLD} §1.4)", True),
        (f"the bands of {C_OLD} §3.2", True),
        (f"see {T_OLD}", True),
        ("THEORY §1.2", True),
        ("THEORY G21", True),
        ("docs/theory-reference.md §1.4 and docs/claims-reference.md §3.2", False),
        ("CLAIMS = []  # not a citation", False),
        ("CLAIMS += [", False),
        ("THEORY_NAMES = {}", False),
    ],
)
def test_old_form_is_recognised(line, is_old):
    assert bool(old_mentions(line, "x")) is is_old


def test_a_missing_section_is_reported(pages):
    """The check can fail: sections, names, terms, recipes and G-ids that do not exist are each reported."""
    bad = citations_in_line(
        'docs/theory-reference.md §9.9 §"No such heading" recipe Z G99; docs/claims-reference.md §3.1 "no such term"',
        "x:1",
    )
    reasons = [unresolved(c, pages) for c in bad]
    assert sum(r is not None for r in reasons) == 4, reasons  # §9.9, the name, G99, the term ("Z" is no recipe letter)
    ok = citations_in_line("docs/theory-reference.md §1.4 recipe E G6", "x:1")
    assert [unresolved(c, pages) for c in ok] == [None, None, None]


def test_relative_links_between_docs_resolve():
    """Markdown links in docs/*.md to local files point at files that exist."""
    link = re.compile(r"\]\((?!https?:|#|mailto:)([^)#\s]+)(?:#[^)]*)?\)")
    broken = [
        f"{md.relative_to(ROOT)} → {target}"
        for md in sorted(DOCS.glob("*.md"))
        for target in link.findall(md.read_text(encoding="utf-8"))
        if not (md.parent / target).exists()
    ]
    assert not broken, broken
