"""The results folder: the authors' 15 files by name (CLAIMS.md §1, "File keys") and the project's own files,
recognised by their top-level ``"schema"``: ``sad-results/1`` measurements (:mod:`empirics.schema`) and
``sad-optim/1`` optimizer comparisons (:mod:`empirics.compare_schema`).

Validate before judging: every ``*.json`` of the folder must be a regular file holding strict JSON
(:mod:`claims.jsonload`); the authors' files must pass :func:`claims.validation.validate_author` and the
project's files their schema and :func:`claims.validation.validate_project` / ``validate_optim``; a file whose
``schema`` names an unknown version of the project's formats (``"sad-results/2"``) is refused, never skipped.
Files are parsed lazily, once, on first use; :meth:`Bundle.load_all` reads and validates everything up front
(``verify`` does, so that bad input is reported before any verdict). Unusable input raises :class:`InputError`.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

from empirics import compare_schema
from empirics.schema import SCHEMA_VERSION, SchemaError, validate

from .errors import InputError
from .jsonload import kind_of, read_json
from .jsonpath import Node
from .validation import validate_author, validate_optim, validate_project, validate_replicates

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
#: the project's formats this verifier reads; any other ``"sad-…"`` schema is an unknown version (refused)
KNOWN_SCHEMAS = (SCHEMA_VERSION, compare_schema.SCHEMA_VERSION)


def _listing(folder: Path) -> list[str]:
    """The ``*.json`` names of the folder, sorted; every one must be a regular file (checked with stat, never opened)."""
    shown = str(folder).rstrip("/") + "/"
    try:
        names = sorted(n for n in os.listdir(folder) if n.endswith(".json"))
    except PermissionError:
        raise InputError(shown, "", "cannot list the results folder: permission denied") from None
    except OSError as e:
        raise InputError(shown, "", f"cannot list the results folder: {e.strerror or e}") from None
    out = []
    for n in names:
        try:
            what = kind_of(folder / n)
        except FileNotFoundError:  # removed while listing
            continue
        except OSError as e:
            raise InputError(n, "", f"cannot examine: {e.strerror or e}") from None
        if what:
            raise InputError(n, "", f"is {what}, not a regular file; not read")
        out.append(n)
    return out


class Bundle:
    """One results folder. ``node(key)`` gives an author file (or None if absent); ``project`` the own files."""

    def __init__(self, folder: str | Path):
        self.folder = Path(folder)
        try:
            st = os.stat(self.folder)
        except FileNotFoundError:
            raise InputError(str(folder), "", "results folder does not exist") from None
        except OSError as e:
            raise InputError(str(folder), "", f"cannot access the results folder: {e.strerror or e}") from None
        if not stat.S_ISDIR(st.st_mode):
            raise InputError(str(folder), "", "is not a folder")
        self._cache: dict[str, object] = {}
        self._docs: dict[str, Any] = {}
        self._project: list[Node] | None = None
        self._optim: list[Node] | None = None
        #: derived data of this folder (networks, refits, integrity), computed once per run by the modules that own them
        self.memo: dict[str, Any] = {}
        names = _listing(self.folder)
        self.present = {k for k, n in FILE_KEYS.items() if n in names}
        self.other_json = [self.folder / n for n in names if n not in AUTHOR_NAMES]

    # -- the authors' files ------------------------------------------------------------------
    def has(self, key: str) -> bool:
        return key in self.present

    def node(self, key: str) -> Node | None:
        if key not in FILE_KEYS:
            raise KeyError(key)
        if key not in self.present:
            return None
        if key not in self._cache:
            doc = read_json(self.folder / FILE_KEYS[key])
            validate_author(key, Node(doc, FILE_KEYS[key]))
            self._cache[key] = doc
        return Node(self._cache[key], FILE_KEYS[key])

    def need(self, key: str) -> Node:
        n = self.node(key)
        if n is None:  # callers check presence first; reaching here is a registry bug
            raise InputError(FILE_KEYS[key], "", "file missing")
        return n

    # -- the project's files -----------------------------------------------------------------
    def _doc(self, p: Path) -> Any:
        """The parsed content of one non-author file; a ``sad-…`` schema this verifier does not know is refused."""
        if p.name not in self._docs:
            doc = read_json(p)
            schema = doc.get("schema") if isinstance(doc, dict) else None
            if isinstance(schema, str) and schema.startswith("sad-") and schema not in KNOWN_SCHEMAS:
                raise InputError(
                    p.name, "$.schema", f"unknown schema {schema!r}; this verifier reads {' and '.join(KNOWN_SCHEMAS)}"
                )
            self._docs[p.name] = doc
        return self._docs[p.name]

    def _of_schema(self, version: str) -> list[tuple[Path, Any]]:
        out = []
        for p in self.other_json:
            doc = self._doc(p)
            if isinstance(doc, dict) and doc.get("schema") == version:
                out.append((p, doc))
        return out

    @property
    def project(self) -> list[Node]:
        """Every ``sad-results/1`` file of the folder (validated); JSON files of no project schema are ignored."""
        if self._project is None:
            out = []
            for p, doc in self._of_schema(SCHEMA_VERSION):
                try:
                    validate(doc)
                except SchemaError as e:
                    raise InputError(p.name, e.path, e.message) from None
                node = Node(doc, p.name)
                validate_project(node)
                out.append(node)
            validate_replicates(out)
            self._project = out
        return self._project

    @property
    def optim(self) -> list[Node]:
        """Every ``sad-optim/1`` optimizer-comparison file of the folder (validated), complete or not."""
        if self._optim is None:
            out = []
            for p, doc in self._of_schema(compare_schema.SCHEMA_VERSION):
                try:
                    compare_schema.validate(doc)
                except SchemaError as e:
                    raise InputError(p.name, e.path, e.message) from None
                node = Node(doc, p.name)
                validate_optim(node)
                out.append(node)
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
        """Read and validate every file now (so that unusable input is reported before any verdict)."""
        for k in sorted(self.present):
            self.node(k)
        for p in self.other_json:
            self._doc(p)
        _ = self.project
        _ = self.optim
