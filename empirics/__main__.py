"""``python -m empirics <command>``: measure (engine), train, run (zoo presets) and compare.

A stop signal (Ctrl-C, SIGTERM) arriving while the command line is still being read is exit 3 with one line;
once a command runs, its own handlers (:class:`empirics.output.Interrupts`) take over.
"""

import signal
import sys


def _early_stop(signum, frame):
    sys.stderr.write("interrupted: stopped before any work started\n")
    raise SystemExit(3)


if __name__ == "__main__":
    for _sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(_sig, _early_stop)
    from empirics.cli import main

    code = main()
    for _sig in (signal.SIGINT, signal.SIGTERM):  # the command has finished: a late signal changes nothing
        signal.signal(_sig, signal.SIG_IGN)
    sys.exit(code)
