"""A rich progress bar that fits `vemprof._progress.ProgressReporter`."""

from __future__ import annotations

import contextlib
import sys
from typing import Iterator

from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

from vemprof._progress import Advance


@contextlib.contextmanager
def rich_progress(description: str, total: int) -> Iterator[Advance]:
    """A bar on standard error; hidden when standard error is not a terminal."""
    columns = (TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
               TextColumn("eta"), TimeRemainingColumn())
    with Progress(*columns, transient=False, disable=not sys.stderr.isatty()) as bar:
        task = bar.add_task(description, total=total)
        yield lambda finished: bar.advance(task, finished)
