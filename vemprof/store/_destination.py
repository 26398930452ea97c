"""Where a command writes: checks on the destination, and new stores built beside it.

A command that makes a new store (``vemprof import``, ``vemprof synth``) builds it in
``DEST.partial/`` and moves it to ``DEST`` only when it is complete. The partial store
holds a job file with the key of the job that began it (a hash of everything that
determines the result); the same job run again resumes from its finished chunks, any
other job discards it and starts afresh. Before anything is written, the destination
is checked, so that a mistake costs nothing and leaves nothing behind.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

from vemprof.errors import VemprofError
from vemprof.store._provenance import write_json_atomic
from vemprof.store._store import Store, replace_folder

JOB_FILE = "vemprof-job.json"


def check_destination(path: str | os.PathLike) -> Path:
    """``path`` as a `Path`, or a one-line error where a file stands in the way of the
    folders that creating it needs."""
    path = Path(path)
    for place in (path, *path.parents):
        if place.exists():
            if place != path and not place.is_dir():
                raise VemprofError(f"{place} is a file, not a folder, so {path} cannot be created there; "
                                   "choose a destination in a folder")
            return path
    return path


def check_output_file(path: str | os.PathLike) -> Path:
    """``path`` as a `Path`, or a one-line error where its folder is missing or not a folder."""
    path = check_destination(path)
    folder = path.parent
    if not folder.exists():
        raise VemprofError(f"{folder} does not exist; create it first (mkdir -p {folder}) or write elsewhere")
    if path.is_dir():
        raise VemprofError(f"{path} is a folder; give a file name inside it, e.g. {path / 'out'}{path.suffix}")
    return path


def refuse_existing(destination: Path, *, overwrite: bool, holds: str = "") -> None:
    """A one-line error when ``destination`` holds anything and ``overwrite`` is not set.

    ``holds`` describes what is there (default: "files")."""
    check_destination(destination)
    if destination.is_file():
        raise VemprofError(f"{destination} is a file, and a store is a folder; choose another path")
    if destination.exists() and any(destination.iterdir()) and not overwrite:
        raise VemprofError(f"{destination} already holds {holds or 'files'}; "
                           "choose another path or pass --overwrite to replace it")


def job_key(job: dict) -> str:
    """A hash of everything that determines a job's result."""
    return hashlib.sha256(json.dumps(job, sort_keys=True, default=str).encode()).hexdigest()


def begin_partial(destination: Path, job: dict) -> tuple[Store, bool]:
    """The store in ``DEST.partial`` for ``job``, and whether it resumes one that the same
    job began (True) or is new (False, any other partial store there is discarded)."""
    partial = destination.with_name(destination.name + ".partial")
    key = job_key(job)
    if _key_of(partial) == key:
        return Store(partial), True
    shutil.rmtree(partial, ignore_errors=True)
    store = Store.create(partial)
    write_json_atomic(partial / JOB_FILE, {"job_key": key, **job})
    return store, False


def discard_partial(store: Store) -> None:
    """Remove a partial store that cannot be resumed (its input turned out to be bad)."""
    shutil.rmtree(store.path, ignore_errors=True)


def finish_partial(store: Store, destination: Path) -> Store:
    """Move the complete partial ``store`` to ``destination``, replacing what is there."""
    (store.path / JOB_FILE).unlink()
    replace_folder(store.path, destination)
    return Store(destination)


def _key_of(partial: Path) -> str | None:
    try:
        return json.loads((partial / JOB_FILE).read_text()).get("job_key")
    except (OSError, ValueError, AttributeError):  # no partial store, or a job file cut short
        return None
