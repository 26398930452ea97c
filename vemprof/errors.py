"""The one exception vemprof raises for problems a user can fix.

Its message is a single line that names the problem and the fix; the command line
prints it as ``error: <message>`` and exits with status 2, never with a traceback.
Options are named as on the command line (``--channel 0…2``, ``--level 0``, ``--key``,
``--allow-missing-chunks``); in Python each is the keyword argument of the same name
(``channel=``, ``level=``, ``key=``, ``allow_missing_chunks=True``).
"""


class VemprofError(Exception):
    """Bad input or a state the user can fix; the message says what and how."""
