"""JSON documents in and out: strict parsing of files read back, validated serialisation of files written.

Reading (:func:`loads_strict`): ``NaN``/``Infinity`` literals, numbers that overflow to infinity, duplicate
object keys (where ``json`` would silently keep the last) and nesting too deep for the parser are refused
with one line naming the file. Writing (:func:`dumps_validated`): non-finite floats become ``null``
(:func:`empirics.schema.to_jsonable`), the document is validated, then serialised to a string before the
disk is touched. Torch-free.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

from empirics.output.target import OutputError
from empirics.schema import to_jsonable

__all__ = ["loads_strict", "dumps_validated"]


class _Invalid(ValueError):
    pass


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in pairs:
        if k in out:
            raise _Invalid(f"duplicate key {k!r}")
        out[k] = v
    return out


def _constant(name: str) -> Any:
    raise _Invalid(f"non-finite number {name}")


def _float(text: str) -> float:
    v = float(text)
    if not math.isfinite(v):
        raise _Invalid(f"number {text[:40]} overflows to infinity")
    return v


def loads_strict(text: str, where: str) -> Any:
    """Parse ``text`` (the content of file ``where``); :class:`OutputError` (one line) on anything not clean JSON."""
    try:
        return json.loads(text, object_pairs_hook=_pairs, parse_constant=_constant, parse_float=_float)
    except _Invalid as exc:
        raise OutputError(f"{where}: invalid JSON ({exc})") from None
    except json.JSONDecodeError as exc:
        raise OutputError(f"{where}: invalid JSON ({exc.msg} at line {exc.lineno} column {exc.colno})") from None
    except RecursionError:
        raise OutputError(f"{where}: JSON nested too deeply; not a results file") from None


def dumps_validated(doc: Any, validator: Callable[[Any], None]) -> str:
    """``doc`` as JSON text (non-finite floats as ``null``) after ``validator`` accepted it."""
    clean = to_jsonable(doc)
    validator(clean)
    return json.dumps(clean, indent=1, allow_nan=False) + "\n"
