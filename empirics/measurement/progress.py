"""Progress of a measurement: per layer and per chunk of a layer's directions.

On a terminal a ``tqdm`` bar (redrawn in place); otherwise plain lines on stderr, never carriage-return
frames: one when a layer starts and one per chunk of directions when a layer takes several chunks.
"""

from __future__ import annotations

import sys
from typing import TextIO

__all__ = ["Progress", "NullProgress", "make_progress"]


class NullProgress:
    """Reports nothing."""

    def start(self, total: int) -> None:
        """A measurement of ``total`` layers starts."""

    def layer(self, index: int, name: str) -> None:
        """Layer ``index`` (0-based) starts."""

    def chunk(self, name: str, done: int, total: int) -> None:
        """``done`` of ``total`` directions of a layer are measured."""

    def layer_done(self) -> None:
        """The current layer is finished."""

    def close(self) -> None:
        """The measurement is over."""


class Progress(NullProgress):
    """Plain-line progress on ``stream`` (default stderr), or a tqdm bar when it is a terminal."""

    def __init__(self, stream: TextIO | None = None, desc: str = "measure"):
        self.stream = stream if stream is not None else sys.stderr
        self.desc = desc
        self.total = 0
        self.index = 0
        self.bar = None
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())

    def start(self, total: int) -> None:
        """Open the bar (terminal) for ``total`` layers, or remember the count for the plain lines."""
        self.total = total
        if self.tty:
            from tqdm.auto import tqdm

            self.bar = tqdm(
                total=total, desc=self.desc, unit="layer", leave=False, dynamic_ncols=True, file=self.stream
            )

    def layer(self, index: int, name: str) -> None:
        """Show the layer's name on the bar, or print a ``layer i/total NAME`` line."""
        self.index = index
        if self.bar is not None:
            self.bar.set_postfix_str(name)
        else:
            print(f"{self.desc}: layer {index + 1}/{self.total} {name}", file=self.stream, flush=True)

    def chunk(self, name: str, done: int, total: int) -> None:
        """Show ``done/total directions`` of a layer measured in several chunks (nothing for a single chunk)."""
        if done >= total and done <= 1:
            return
        if self.bar is not None:
            self.bar.set_postfix_str(f"{name} {done}/{total} directions")
        elif total > 1 and done < total:
            print(f"{self.desc}:   {name}: {done}/{total} directions", file=self.stream, flush=True)

    def layer_done(self) -> None:
        """Advance the bar by one layer."""
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        """Close the bar, if one is open."""
        if self.bar is not None:
            self.bar.close()
            self.bar = None


def make_progress(progress: bool | NullProgress, main_process: bool = True) -> NullProgress:
    """``True`` -> :class:`Progress` (on the main process only), ``False`` -> :class:`NullProgress`."""
    if isinstance(progress, NullProgress):
        return progress
    return Progress() if progress and main_process else NullProgress()
