"""Writing a run's output file safely: one writer per output, no lost work, no half-written file.

* :mod:`~empirics.output.target` — the ``--out`` path checked before any work (a writable regular file or a
  new one; never a folder, device, FIFO or socket), regular-file reads, temp-file names, file modes.
* :mod:`~empirics.output.lock` — :class:`~empirics.output.lock.OutputLock`, an exclusive lock on the output
  (a second run exits naming the holder; a lock left by a dead process is taken over).
* :mod:`~empirics.output.interrupts` — :class:`~empirics.output.interrupts.Interrupts`: Ctrl-C / SIGTERM
  become one :class:`KeyboardInterrupt`, later signals are ignored, writes are never cut in half.
* :mod:`~empirics.output.writer` — :class:`~empirics.output.writer.RunWriter`, the one pipeline used by
  ``measure``, ``run`` and ``compare``: check, lock, resume check, settings re-checked before each atomic
  write, completion flag, orphaned temp files removed.
"""

from empirics.output.interrupts import Interrupts
from empirics.output.lock import LockHeld, OutputLock
from empirics.output.target import OutputError, check_output_path, read_regular_text
from empirics.output.writer import OutputConflict, ResumeError, RunWriter, settings_diff

__all__ = [
    "Interrupts",
    "LockHeld",
    "OutputConflict",
    "OutputError",
    "OutputLock",
    "ResumeError",
    "RunWriter",
    "check_output_path",
    "read_regular_text",
    "settings_diff",
]
