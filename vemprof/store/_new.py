"""Write a whole dataset (raw image, labels, tables) as a new store in one go."""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.store._destination import begin_partial, finish_partial, job_key, refuse_existing
from vemprof.store._store import DEFAULT_CHUNKS, Store


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
    memory_mib: float | None = None,
    progress: ProgressReporter = no_progress,
) -> Store:
    """Create the store at ``destination`` holding ``raw`` (Z, Y, X), ``labels`` and ``tables``.

    It is built in ``DEST.partial`` and moved into place when complete; an existing
    ``destination`` is replaced only with ``overwrite``. ``step`` and ``parameters``
    must determine the content (a generator's name, its parameters and seed): an
    interrupted write repeated with the same ones resumes from its finished chunks.
    ``memory_mib`` bounds the memory for the data being written (see `Store.write_raw`).
    """
    destination = Path(destination)
    refuse_existing(destination, overwrite=overwrite)
    job = {"step": step, "parameters": parameters, "chunks": list(chunks), "spacing": list(spacing)}
    store, _ = begin_partial(destination, job)
    started = dt.datetime.now(dt.timezone.utc)
    write_arrays(store, raw, labels, spacing=spacing, chunks=chunks, resume_key=job_key(job), memory_mib=memory_mib,
                 progress=progress, description=f"writing {destination.name}")
    return finish_dataset(store, destination, label_names=list(labels), tables=tables, step=step,
                          parameters=parameters, started=started)


def write_arrays(
    store: Store, raw: np.ndarray | da.Array, labels: dict[str, np.ndarray | da.Array], *, spacing, chunks,
    resume_key: str, memory_mib: float | None, progress: ProgressReporter, description: str,
) -> None:
    """Write the raw image and the label images (each with its pyramid) that ``store``
    does not hold yet, resuming their finished chunks; one progress task over all."""
    write_raw = not store.has_raw  # a resumed store may hold the raw image and some labels already
    pending = {name: label_image for name, label_image in labels.items() if name not in store.label_names}
    total = (store.chunks_to_write(raw.shape, chunks, spacing=spacing) if write_raw else 0) + sum(
        store.chunks_to_write(raw.shape, chunks, spacing=spacing, averaged=False) for _ in pending)
    with progress(description, total) as advance:
        if write_raw:
            store.write_raw(raw, spacing=spacing, chunks=chunks, progress=advance, resume_key=resume_key,
                            memory_mib=memory_mib)
        for name, label_image in pending.items():
            store.write_labels(name, label_image, chunks=chunks, progress=advance, resume_key=resume_key,
                               memory_mib=memory_mib)


def finish_dataset(store: Store, destination: Path, *, label_names: list[str], tables: dict[str, pd.DataFrame],
                   step: str, parameters: dict, started: dt.datetime) -> Store:
    """Write ``tables``, record the step's provenance and move the partial ``store`` to
    ``destination``."""
    for name, table in tables.items():
        store.write_table(name, table)
    outputs = ["raw"] + [f"labels/{name}" for name in label_names] + [f"tables/{name}" for name in tables]
    store.record(step, outputs=outputs, parameters=parameters, started=started)
    return finish_partial(store, destination)
