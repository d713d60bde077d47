"""Read one results file safely: a regular file only, strict JSON, bounded nesting; one-line errors.

* The file is checked with :func:`os.stat` before it is opened: a directory, a FIFO (never opened: reading one
  would block), a socket or device, or a symbolic link to nothing is refused with a one-line
  :class:`~claims.errors.InputError` naming the file.
* Strict JSON: the literals ``NaN``, ``Infinity`` and ``-Infinity`` and numbers that overflow a float
  (``1e400``) are refused (JSON has no non-finite numbers; the project's writers store ``null``), and so is an
  object with a repeated key (the standard parser silently keeps the last value). The error names the JSON path.
* Nesting deeper than the parser's recursion limit is refused with one line instead of a ``RecursionError``.

The fast path is one :func:`json.loads` with hooks that raise on the first problem (the float hook only when
the text has an exponent of three digits or more, the only way a float literal short of 309 digits can
overflow; a longer literal is caught where it is read, :meth:`claims.jsonpath.Node.num` / ``arr``); only then is
the file parsed a second time, with hooks that mark the problem, to find its JSON path.
"""

from __future__ import annotations

import json
import math
import os
import re
import stat
from pathlib import Path
from typing import Any

from .errors import InputError

#: an exponent of three or more digits (literal first characters keep the search fast)
_LONG_EXPONENT = (re.compile(r"e[-+]?\d{3}"), re.compile(r"E[-+]?\d{3}"))


class _Problem(Exception):
    """Raised by a parse hook on the first non-finite number or repeated key."""


class _Marker:
    """Stands in for a refused value during the second, path-finding parse."""

    def __init__(self, message: str):
        self.message = message


def _refuse_constant(name: str) -> Any:
    raise _Problem(name)


def _finite_float(text: str) -> float:
    v = float(text)
    if math.isinf(v):
        raise _Problem(text)
    return v


def _unique_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    d = dict(pairs)
    if len(d) != len(pairs):
        raise _Problem("repeated key")
    return d


def kind_of(path: Path) -> str:
    """The empty string for a regular file (after following symbolic links), else what it is ("a directory", ...);
    raises :class:`FileNotFoundError` when nothing is there and :class:`PermissionError` when it cannot be examined."""
    try:
        st = os.stat(path)
    except FileNotFoundError:
        if os.path.islink(path):
            return "a symbolic link to a missing file"
        raise
    mode = st.st_mode
    if stat.S_ISREG(mode):
        return ""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a FIFO (named pipe)"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "not a regular file"


def read_json(path: Path) -> Any:
    """The parsed content of the regular file ``path`` (strict JSON), or :class:`InputError` naming it."""
    name = path.name
    try:
        what = kind_of(path)
    except FileNotFoundError:
        raise InputError(name, "", "file not found") from None
    except OSError as e:
        raise InputError(name, "", f"cannot examine: {e.strerror or e}") from None
    if what:
        raise InputError(name, "", f"is {what}, not a regular file; not read")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as e:
        raise InputError(name, "", f"cannot read: not UTF-8 text ({e.reason} at byte {e.start})") from None
    except OSError as e:
        raise InputError(name, "", f"cannot read: {e.strerror or e}") from None
    return parse_json(text, name)


def parse_json(text: str, name: str) -> Any:
    """Strict parse of ``text`` (the content of file ``name``); see the module docstring."""
    floats = _finite_float if any(rx.search(text) for rx in _LONG_EXPONENT) else float
    try:
        return json.loads(text, parse_constant=_refuse_constant, parse_float=floats, object_pairs_hook=_unique_pairs)
    except json.JSONDecodeError as e:
        raise InputError(name, "$", f"malformed JSON: {e.msg} at line {e.lineno} column {e.colno}") from None
    except RecursionError:
        raise InputError(name, "$", "JSON nested too deeply to read") from None
    except _Problem:
        path, message = _locate(text)
        raise InputError(name, path, message) from None


def _locate(text: str) -> tuple[str, str]:
    """The JSON path and description of the first refused value (second parse, with markers)."""

    def constant(name: str) -> _Marker:
        return _Marker(f"non-finite number {name} (JSON has no NaN or infinity; store null)")

    def number(s: str) -> float | _Marker:
        v = float(s)
        return _Marker(f"number {s} overflows to infinity") if math.isinf(v) else v

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        d: dict[str, Any] = {}
        for k, v in items:
            d[k] = _Marker(f"key {k!r} appears more than once in this object") if k in d else v
        return d

    doc = json.loads(text, parse_constant=constant, parse_float=number, object_pairs_hook=pairs)
    stack: list[tuple[str, Any]] = [("$", doc)]
    while stack:  # depth-first, in document order
        path, v = stack.pop()
        if isinstance(v, _Marker):
            return path, v.message
        if isinstance(v, dict):
            stack += [(f"{path}.{k}", x) for k, x in reversed(list(v.items()))]
        elif isinstance(v, list):
            stack += [(f"{path}[{i}]", x) for i, x in reversed(list(enumerate(v)))]
    return "$", "refused value"  # not reached: the first parse found one
