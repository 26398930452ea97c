"""The ``vemprof`` command line.

`main` is the entry point. It imports the commands only inside its guard, so that a
Ctrl-C at any moment after Python has started, even while the heavy libraries load,
ends with exit status 130 and one line, never a traceback or status 0 (or 134 from a
library's threads torn down at exit).
"""

import os
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
        sys.stdout.flush()
        sys.stderr.flush()
        # no interpreter teardown: onnxruntime's worker threads, stopped mid-task, abort
        # it ("terminate called without an active exception", status 134)
        os._exit(status)
    sys.exit(status)


__all__ = ["INTERRUPTED", "main"]
