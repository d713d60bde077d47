"""Where the tests find the repository and the authors' frozen data (``../shared`` beside the checkout)."""

from __future__ import annotations

from pathlib import Path

#: the repository root (the folder holding ``pyproject.toml``)
ROOT = Path(__file__).resolve().parents[1]
#: the authors' 15 frozen result files, read in place, never copied into the project
PAPER = ROOT.parent / "shared" / "paper-results"
#: the shipped results of the project's own measurements
RESULTS = ROOT / "results"
