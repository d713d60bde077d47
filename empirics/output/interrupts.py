"""Ctrl-C and SIGTERM as one clean stop: the first signal raises :class:`KeyboardInterrupt`, later ones are
ignored, and a signal arriving while a file is being written is held until the write has finished.

Used as ``with Interrupts() as stop: ...`` around a command. Inside :meth:`Interrupts.deferred` (the writer's
atomic replace) a signal is recorded and raised when the block ends, so a finished layer is never lost to a
half-done write. After a signal has been received the handlers stay installed as "ignore" when the block
ends: the process is about to exit, and a second Ctrl-C during clean-up (closing files, releasing the
process group, interpreter shutdown) must not print a traceback. Outside the main thread (where Python
cannot install handlers) the object does nothing.
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

__all__ = ["Interrupts", "SIGNALS"]

SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Interrupts:
    """Signal handling for one command (see the module doc)."""

    def __init__(self) -> None:
        self.received: list[str] = []
        self._defer = 0
        self._pending = False
        self._previous: dict[int, Any] = {}
        self._installed = False

    @property
    def interrupted(self) -> bool:
        """Whether a stop signal has been received."""
        return bool(self.received)

    def _handle(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signal.Signals(signum).name)
        if len(self.received) > 1:
            return  # the first one is being handled: ignore the rest
        if self._defer:
            self._pending = True
            return
        raise KeyboardInterrupt(signal.Signals(signum).name)

    def __enter__(self) -> Interrupts:
        if threading.current_thread() is threading.main_thread():
            for s in SIGNALS:
                self._previous[s] = signal.signal(s, self._handle)
            self._installed = True
        return self

    def __exit__(self, *exc: object) -> None:
        if not self._installed:
            return
        for s, previous in self._previous.items():
            signal.signal(s, signal.SIG_IGN if self.received else previous)
        self._installed = False

    @contextlib.contextmanager
    def deferred(self) -> Iterator[None]:
        """A block a signal does not cut: one arriving inside is raised when the block ends."""
        self._defer += 1
        try:
            yield
        finally:
            self._defer -= 1
        if not self._defer and self._pending:
            self._pending = False
            raise KeyboardInterrupt(self.received[0])
