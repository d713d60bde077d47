"""The results folder: the authors' 15 files by name (CLAIMS.md §1, "File keys") and the project's
own ``sad-results/1`` files (any ``*.json`` whose top-level ``"schema"`` is
:data:`empirics.schema.SCHEMA_VERSION`, validated with :func:`empirics.schema.validate`) and
``sad-optim/1`` optimizer-comparison files (:mod:`empirics.compare_schema`, validated the same way).

Files are parsed lazily, once, on first use. Unusable input raises :class:`InputError`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from empirics import compare_schema
from empirics.schema import SCHEMA_VERSION, SchemaError, validate

from .errors import InputError
from .jsonpath import Node

#: file key → file name (CLAIMS.md §1).
FILE_KEYS: dict[str, str] = {
    "alpha_triangle": "results_alpha_triangle.json",
    "tiny": "results_tiny_imagenet_alpha_map.json",
    "in1k": "results_imagenet1k_pretrained.json",
    "hypothesis": "results_hypothesis.json",
    "predictions": "results_predictions.json",
    "intrinsic_dim": "results_intrinsic_dim.json",
    "conv_gap": "results_conv_gap.json",
    "conv_gap_v2": "results_conv_gap_v2.json",
    "kfac_prediction": "results_kfac_prediction.json",
    "kronecker": "results_kronecker_spectral.json",
    "model_fit": "results_model_fit_comparison.json",
    "rmt": "results_rmt_gamma_spectrum.json",
    "vgg16": "results_vgg16_trajectory.json",
    "depth_scaling": "results_depth_scaling.json",
    "precond": "results_preconditioner_summary.json",
}
AUTHOR_NAMES = frozenset(FILE_KEYS.values())


def _parse(path: Path) -> object:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(path.name, "", f"cannot read: {e}") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        raise InputError(path.name, "$", f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None


class Bundle:
    """One results folder. ``node(key)`` gives an author file (or None if absent); ``project`` the own files."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        if not self.folder.is_dir():
            raise InputError(str(folder), "", "results folder does not exist")
        self._cache: dict[str, object] = {}
        #: derived data of this folder (networks, refits), computed once per run by the modules that own them
        self.memo: dict[str, Any] = {}
        self._project: list[Node] | None = None
        self._optim: list[Node] | None = None
        self.present = {k for k, n in FILE_KEYS.items() if (self.folder / n).is_file()}
        self.other_json = sorted(p for p in self.folder.glob("*.json") if p.name not in AUTHOR_NAMES)

    # -- the authors' files ------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.present

    def node(self, key: str) -> Node | None:
        if key not in FILE_KEYS:
            raise KeyError(key)
        if key not in self.present:
            return None
        if key not in self._cache:
            self._cache[key] = _parse(self.folder / FILE_KEYS[key])
        return Node(self._cache[key], FILE_KEYS[key])

    def need(self, key: str) -> Node:
        n = self.node(key)
        if n is None:  # callers check presence first; reaching here is a registry bug
            raise InputError(FILE_KEYS[key], "", "file missing")
        return n

    # -- the project's files -----------------------------------------------------------------
    @property
    def project(self) -> list[Node]:
        """Every ``sad-results/1`` file of the folder (validated); other JSON files are ignored."""
        if self._project is None:
            out = []
            for p in self.other_json:
                doc = _parse(p)
                if not (isinstance(doc, dict) and doc.get("schema") == SCHEMA_VERSION):
                    continue
                try:
                    validate(doc)
                except SchemaError as e:
                    raise InputError(p.name, e.path, e.message) from None
                out.append(Node(doc, p.name))
            self._project = out
        return self._project

    @property
    def optim(self) -> list[Node]:
        """Every ``sad-optim/1`` optimizer-comparison file of the folder (validated), complete or not."""
        if self._optim is None:
            out = []
            for p in self.other_json:
                doc = _parse(p)
                if not (isinstance(doc, dict) and doc.get("schema") == compare_schema.SCHEMA_VERSION):
                    continue
                try:
                    compare_schema.validate(doc)
                except SchemaError as e:
                    raise InputError(p.name, e.path, e.message) from None
                out.append(Node(doc, p.name))
            self._optim = out
        return self._optim

    @property
    def incomplete(self) -> set[str]:
        """File names of the project's ``sad-results/1`` files still in progress (``complete: false``)."""
        return {d.file for d in self.project if d.value.get("complete") is not True}

    def check_usable(self) -> None:
        """Unusable input: no author file and no project file at all (exit 2)."""
        if not self.present and not self.project and not self.optim:
            raise InputError(
                str(self.folder).rstrip("/") + "/",
                "",
                "holds no results file: run `python -m empirics run --preset cpu` first",
            )

    def load_all(self) -> None:
        """Parse every present file now (so malformed input is reported before any verdict)."""
        for k in self.present:
            self.node(k)
        _ = self.project
        _ = self.optim
