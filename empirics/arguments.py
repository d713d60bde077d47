"""Command-line helpers of ``python -m empirics``: value types and one-line error text.

A bad value is one argparse error line (``argument --width: must be an integer >= 1, got '0'``) and exit
status 2, before any work starts. :func:`first_line` turns any exception into one line, also one with an
empty message (a 0-byte checkpoint's ``EOFError()``) or a multi-line one.

``positive_int`` / ``nonnegative_int`` reject booleans-as-text, floats and out-of-range integers;
``positive_float`` / ``nonnegative_float`` / ``finite_float`` reject ``nan`` and ``inf``; ``fraction`` is a
finite number in [0, 1]; ``byte_size`` is a positive number of bytes with an optional binary unit
(``512M``, ``2G``, ``1.5GiB``).
"""

from __future__ import annotations

import argparse
import math

__all__ = [
    "positive_int",
    "nonnegative_int",
    "positive_float",
    "nonnegative_float",
    "finite_float",
    "fraction",
    "byte_size",
    "first_line",
]

_UNITS = {"": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}


def byte_size(text: str) -> int:
    """``"512M"``, ``"2G"``, ``"1.5GiB"``, ``"1048576"`` -> bytes (binary units), a positive whole number."""
    t = str(text).strip().upper().removesuffix("IB").removesuffix("B")
    unit = t[-1] if t and t[-1] in _UNITS else ""
    try:
        value = float(t[: len(t) - len(unit)])
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected bytes, e.g. 512M or 2G, got {text!r}") from None
    if not math.isfinite(value) or value * _UNITS[unit] < 1:
        raise argparse.ArgumentTypeError(f"must be a positive number of bytes, got {text!r}")
    return int(value * _UNITS[unit])


def _int(text: str, lo: int) -> int:
    try:
        value = int(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {text!r}") from None
    if value < lo:
        raise argparse.ArgumentTypeError(f"must be an integer >= {lo}, got {text!r}")
    return value


def positive_int(text: str) -> int:
    """An integer >= 1."""
    return _int(text, 1)


def nonnegative_int(text: str) -> int:
    """An integer >= 0."""
    return _int(text, 0)


def finite_float(text: str) -> float:
    """A finite number (no ``nan``, ``inf``)."""
    try:
        value = float(text)
    except (TypeError, ValueError):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"must be a finite number, got {text!r}")
    return value


def positive_float(text: str) -> float:
    """A finite number > 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number > 0, got {text!r}")
    return value


def nonnegative_float(text: str) -> float:
    """A finite number >= 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number >= 0, got {text!r}")
    return value


def fraction(text: str) -> float:
    """A finite number in [0, 1]."""
    value = finite_float(text)
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be a number in [0, 1], got {text!r}")
    return value


def first_line(exc: BaseException, with_type: bool = False, limit: int = 200) -> str:
    """The first non-empty line of ``exc``'s message (at most ``limit`` characters), prefixed by its type name
    when ``with_type``; just the type name when the message is empty."""
    lines = [line for line in str(exc).splitlines() if line.strip()]
    if not lines:
        return type(exc).__name__
    text = lines[0].strip()[:limit]
    return f"{type(exc).__name__}: {text}" if with_type else text
