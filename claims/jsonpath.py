"""Checked access into a parsed JSON document: every lookup knows its file and JSON path.

A missing key, an index out of range, a wrong type or an empty selection raises
:class:`claims.errors.InputError` naming the file and the path (docs/claims-reference.md §5 requirement 3):
never a silent skip.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np

from .errors import InputError

_NUMBER_TYPES = {int, float}


class Node:
    """A value inside a JSON file, with the file name and the JSON path that reach it."""

    __slots__ = ("value", "file", "path")

    def __init__(self, value: Any, file: str, path: str = "$"):
        self.value, self.file, self.path = value, file, path

    def error(self, message: str, path: str | None = None) -> InputError:
        """An :class:`InputError` naming this node's file and JSON path (or ``path``) with ``message``, to raise."""
        return InputError(self.file, path or self.path, message)

    def _need(self, typ: type | tuple, what: str) -> None:
        if not isinstance(self.value, typ) or isinstance(self.value, bool) and typ is not bool:
            raise self.error(f"expected {what}, got {type(self.value).__name__}")

    def __getitem__(self, key: str | int) -> Node:
        if isinstance(key, int):
            self._need(list, "a list")
            if not -len(self.value) <= key < len(self.value):
                raise self.error(f"index {key} out of range (length {len(self.value)})", f"{self.path}[{key}]")
            return Node(self.value[key], self.file, f"{self.path}[{key}]")
        self._need(dict, "an object")
        if key not in self.value:
            raise self.error("missing", f"{self.path}.{key}")
        return Node(self.value[key], self.file, f"{self.path}.{key}")

    def has(self, key: str) -> bool:
        """Whether the value is an object with key ``key``."""
        return isinstance(self.value, dict) and key in self.value

    def get(self, key: str) -> Node | None:
        """The child node under ``key``, or None when the value is not an object or lacks the key."""
        return self[key] if self.has(key) else None

    def opt(self, key: str | int) -> Node | None:
        """``self[key]``, or None when this object has no such key (a field the file chose not to store)."""
        if isinstance(key, int):
            return self[key]
        return self[key] if self.has(key) else None

    def items(self) -> Iterator[Node]:
        """The elements of a list value as nodes (paths ``…[i]``); raises :class:`InputError` when it is not a list."""
        self._need(list, "a list")
        for i, v in enumerate(self.value):
            yield Node(v, self.file, f"{self.path}[{i}]")

    def keys(self) -> list[str]:
        """The keys of an object value; raises :class:`InputError` when it is not an object."""
        self._need(dict, "an object")
        return list(self.value)

    def where(self, key: str, value: Any) -> Node:
        """The unique list element whose ``key`` equals ``value`` (e.g. a block by ``experiment``)."""
        hits = [n for n in self.items() if isinstance(n.value, dict) and n.value.get(key) == value]
        if len(hits) != 1:
            raise self.error(
                f"{len(hits)} elements with {key} == {value!r} (expected exactly 1)", f"{self.path}[{key}={value!r}]"
            )
        return hits[0]

    def select(self, pred: Callable[[Node], bool], what: str) -> list[Node]:
        """All list elements satisfying ``pred``; an empty selection is an error."""
        hits = [n for n in self.items() if pred(n)]
        if not hits:
            raise self.error(f"empty selection ({what})", f"{self.path}[{what}]")
        return hits

    def num(self) -> float:
        """A finite number (``null`` → NaN); an infinite or overflowing one is refused (JSON has none)."""
        v = self.value
        if v is None:
            return math.nan
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise self.error(f"expected a number, got {type(v).__name__}")
        try:
            x = float(v)
        except OverflowError:
            raise self.error("number too large for a float") from None
        if math.isinf(x):
            raise self.error(f"number {v!r} is not finite")
        return x

    def int(self) -> int:
        """The value as an integer (booleans refused); raises :class:`InputError` naming file and path otherwise."""
        if isinstance(self.value, bool) or not isinstance(self.value, int):
            raise self.error(f"expected an integer, got {type(self.value).__name__}")
        return self.value

    def str(self) -> str:
        """The value as a string; raises :class:`InputError` naming file and path otherwise."""
        self._need(str, "a string")
        return self.value

    def arr(self) -> np.ndarray:
        """A list of finite numbers (``null`` → NaN) as a float array."""
        self._need(list, "a list of numbers")
        if not set(map(type, self.value)) <= _NUMBER_TYPES:
            for i, v in enumerate(self.value):
                if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                    raise self.error(f"expected a number, got {type(v).__name__}", f"{self.path}[{i}]")
        try:
            a = np.array(
                [math.nan if v is None else v for v in self.value] if None in self.value else self.value, float
            )
        except OverflowError:
            i = next(i for i, v in enumerate(self.value) if isinstance(v, int) and abs(v) > 2**1024)
            raise self.error("number too large for a float", f"{self.path}[{i}]") from None
        bad = np.flatnonzero(np.isinf(a))
        if bad.size:
            raise self.error(f"number {self.value[bad[0]]!r} is not finite", f"{self.path}[{bad[0]}]")
        return a
