"""The ``vemprof`` command line.

`main` is the entry point. It imports the commands only inside its guard, so that a
Ctrl-C at any moment after Python has started, even while the heavy libraries load,
ends with exit status 130 and one line, never a traceback or status 0.
"""

import sys

INTERRUPTED = "interrupted; run the same command again to resume"
INTERRUPTED_STATUS = 130


def main() -> None:
    """Run ``vemprof`` with ``sys.argv`` and exit with its status (2 for user errors,
    130 when interrupted)."""
    try:
        from vemprof.cli._app import run

        status = run()
    except KeyboardInterrupt:
        status = INTERRUPTED_STATUS
    if status == INTERRUPTED_STATUS:
        print(INTERRUPTED, file=sys.stderr)
    sys.exit(status)


__all__ = ["INTERRUPTED", "main"]
