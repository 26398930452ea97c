"""Write a whole dataset (raw image, labels, tables) as a new store in one go."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.store._store import DEFAULT_CHUNKS, Store, _replace_folder


def refuse_existing(destination: Path, *, overwrite: bool) -> None:
    """A one-line error when ``destination`` holds anything and ``overwrite`` is not set."""
    if destination.exists() and any(destination.iterdir()) and not overwrite:
        raise VemprofError(f"{destination} already exists; choose another path or pass --overwrite to replace it")


def write_dataset(
    destination: str | os.PathLike,
    *,
    raw: np.ndarray,
    spacing: tuple[float, float, float],
    labels: dict[str, np.ndarray],
    tables: dict[str, pd.DataFrame],
    step: str,
    parameters: dict,
    overwrite: bool = False,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    progress: ProgressReporter = no_progress,
) -> Store:
    """Create the store at ``destination`` holding ``raw`` (Z, Y, X), ``labels`` and ``tables``.

    It is built in ``DEST.partial`` and moved into place when complete; an existing
    ``destination`` is replaced only with ``overwrite``.
    """
    destination = Path(destination)
    refuse_existing(destination, overwrite=overwrite)
    partial = destination.with_name(destination.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)
    started = dt.datetime.now(dt.timezone.utc)
    store = Store.create(partial)
    total = store.chunks_to_write(raw.shape, chunks, spacing=spacing) + sum(
        store.chunks_to_write(raw.shape, chunks, spacing=spacing, averaged=False) for _ in labels)
    with progress(f"writing {destination.name}", total) as advance:
        store.write_raw(raw, spacing=spacing, chunks=chunks, progress=advance)
        for name, label_image in labels.items():
            store.write_labels(name, label_image, chunks=chunks, progress=advance)
    for name, table in tables.items():
        store.write_table(name, table)
    outputs = ["raw"] + [f"labels/{name}" for name in labels] + [f"tables/{name}" for name in tables]
    store.record(step, outputs=outputs, parameters=parameters, started=started)
    _replace_folder(partial, destination)
    return Store(destination)
