"""Run a chain of `vemprof.ops` operations on a dataset store, out of core and resumable.

The chain's inputs are the store's members by name: ``raw``, any label image, any
probability map. Each step's array result is written to a temporary zarr array in the
store's staging area, one batch of chunks at a time, before the next step reads it, so
that memory stays bounded by a batch whatever the volume size and a global operation
(labelling, hole filling, object filters) reads its input from disk for both of its
passes instead of holding it. An interrupted run keeps the finished steps: repeating
the same chain on unchanged inputs resumes after them.

The chosen outputs are then written as store members: integer or boolean arrays as
label images, float arrays as probability maps, object tables (DataFrames) as Parquet.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import shutil
from pathlib import Path
from typing import Any, Callable, Mapping, Sequence

import dask.array as da
import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.ops import ARRAY_PARAMETERS, check_chain, load_chain, run_chain
from vemprof.store import Store, chunk_count, fingerprint, is_complete, write_resumable

STEP = "ops"


def run_ops_chain(
    store: Store,
    chain: Sequence[Mapping[str, Any]] | str | Path,
    *,
    outputs: Sequence[str] | None = None,
    check: Callable[[Mapping[str, Any]], None] | None = None,
    progress: ProgressReporter = no_progress,
) -> dict[str, str]:
    """Run ``chain`` on ``store`` and write its ``outputs`` (default: the last step's).

    ``check``, if given, is called with every step's (staged) result by name before any
    output is written; a `VemprofError` it raises leaves the store's members as they were
    (the staged steps stay for a rerun).

    Returns
    -------
    dict
        Each written output's name and where it went (``labels/…``, ``probabilities/…``,
        ``tables/…``, or its value for a number).
    """
    steps = load_chain(chain) if isinstance(chain, (str, Path)) else list(chain)
    if not steps:
        raise VemprofError("the chain has no steps; give a YAML list of steps, see 'vemprof ops --list'")
    members = _store_members(store)
    produced = check_chain(steps, list(members))
    outputs = list(outputs or [produced[-1]])
    for name in outputs:
        if name not in produced:
            raise VemprofError(f"output {name!r} is not made by any step; the steps make: {', '.join(produced)}")
        if name == "raw":
            raise VemprofError("the raw image cannot be replaced; name the output differently")

    spacing = store.spacing
    chunks = store.raw().chunks
    chain_key = _chain_key(store, steps, members)
    scratch = store.path / ".staging" / f"ops-{chain_key[:16]}"
    arrays: dict[str, Any] = {}
    started = dt.datetime.now(dt.timezone.utc)
    for index, step in enumerate(steps):
        needed = {name: _load(store, name, members, arrays) for name in _names_read(step) if name}
        result = run_chain([step], needed, spacing=spacing)[produced[index]]
        if isinstance(result, da.Array):
            path = scratch / f"{index}-{produced[index]}"
            description = f"step {index + 1}/{len(steps)} {step['op']}"
            if not is_complete(path):
                with progress(description, chunk_count(result.shape, chunks)) as advance:
                    write_resumable(_as_store_dtype(result), path, chunks=chunks, progress=advance)
            result = da.from_zarr(str(path))
        arrays[produced[index]] = result

    if check is not None:
        check(arrays)
    written = {name: _write_output(store, name, arrays[name], chunks, progress) for name in outputs}
    store.record(STEP, outputs=[w for w in written.values() if "/" in w], started=started,
                 parameters={"chain": steps, "outputs": outputs, "spacing_nm": list(spacing),
                             "values": {n: w for n, w in written.items() if "/" not in w}})
    shutil.rmtree(scratch, ignore_errors=True)
    if not any(scratch.parent.iterdir()):
        scratch.parent.rmdir()
    return written


def _store_members(store: Store) -> dict[str, str]:
    """Every array the chain can read by name, and where it lives in the store."""
    members = {"raw": ""}
    members.update({name: f"labels/{name}" for name in store.label_names})
    for name in store.probability_names:
        members.setdefault(name, f"probabilities/{name}")
    return members


def _names_read(step: Mapping[str, Any]) -> list[str]:
    names = [step["input"]] if "input" in step else list(step.get("inputs", []))
    return names + [step[k] for k in ARRAY_PARAMETERS if isinstance(step.get(k), str)]


def _load(store: Store, name: str, members: dict[str, str], arrays: dict[str, Any]):
    if name in arrays:
        return arrays[name]
    if name not in members:
        return None  # run_chain names what is available
    if name == "raw":
        return store.raw().data
    kind, member = members[name].split("/")
    return (store.labels(member) if kind == "labels" else store.probabilities(member)).data


def _as_store_dtype(array: da.Array) -> da.Array:
    return array.astype(np.uint8) if array.dtype == bool else array


def _write_output(store: Store, name: str, value: Any, chunks, progress: ProgressReporter) -> str:
    if isinstance(value, pd.DataFrame):
        store.write_table(name, value)
        return f"tables/{name}"
    if not isinstance(value, da.Array):
        return repr(value)
    if np.issubdtype(value.dtype, np.floating):
        with progress(f"writing probabilities/{name}", store.chunks_to_write(value.shape, chunks)) as advance:
            store.write_probabilities(name, value, chunks=chunks, progress=advance)
        return f"probabilities/{name}"
    if np.issubdtype(value.dtype, np.signedinteger):
        value = value.astype(np.dtype(f"uint{value.dtype.itemsize * 8}"))
    with progress(f"writing labels/{name}", store.chunks_to_write(value.shape, chunks, averaged=False)) as advance:
        store.write_labels(name, value, chunks=chunks, progress=advance)
    return f"labels/{name}"


def _chain_key(store: Store, steps, members: dict[str, str]) -> str:
    """Changes when the chain or any store member it reads changes."""
    read = {name for step in steps for name in _names_read(step) if name in members}
    content = {"steps": steps, "inputs": {name: fingerprint(store.path / (members[name] or "0")) for name in sorted(read)}}
    return hashlib.sha256(json.dumps(content, sort_keys=True, default=str).encode()).hexdigest()
