"""How long-running library calls report progress without depending on a terminal.

A call that takes ``progress: ProgressReporter`` opens one task per stage with
``progress(description, total)`` and advances it by the units finished. The command line
passes a rich progress bar; the default reports nothing.
"""

from __future__ import annotations

import contextlib
from typing import Callable, ContextManager, Iterator, Protocol

Advance = Callable[[int], None]


class ProgressReporter(Protocol):
    def __call__(self, description: str, total: int) -> ContextManager[Advance]: ...


@contextlib.contextmanager
def no_progress(description: str, total: int) -> Iterator[Advance]:
    """A reporter that reports nothing."""
    yield lambda finished: None
