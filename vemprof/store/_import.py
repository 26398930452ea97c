"""Import a volume from any supported format into a new dataset store.

The store is built in ``DEST.partial`` beside the destination and moved into place only
when complete: an interrupted import leaves ``DEST.partial``, and repeating the same
command resumes it from the finished chunks (a different command or a changed source
discards it). Bad data found while reading (a corrupt chunk, NaNs) removes it. Nothing
is ever loaded whole: the source is read and written one batch of chunks at a time.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.store._provenance import fingerprint
from vemprof.store._store import DEFAULT_CHUNKS, Store, _replace_folder, is_store
from vemprof.volume import Volume, looks_like_labels, open_volume

IMPORT_STEP = "import"
JOB_FILE = "vemprof-import-job.json"


@dataclass(frozen=True)
class ImportResult:
    """What an import did: ``status`` is 'imported', 'resumed' or 'up to date'."""

    store: Store
    status: str
    volume: Volume


def import_volume(
    source: str | os.PathLike,
    destination: str | os.PathLike,
    *,
    key: str | None = None,
    voxel_size_nm: tuple[float, float, float] | None = None,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    overwrite: bool = False,
    progress: ProgressReporter = no_progress,
) -> ImportResult:
    """Import the EM image at ``source`` into a new dataset store at ``destination``.

    Parameters
    ----------
    source : path of an OME-Zarr, TIFF (file or folder of slices), MRC, HDF5 or N5 volume
    destination : path of the store to create (``*.zarr``)
    key : dataset inside an HDF5/N5 file
    voxel_size_nm : (z, y, x) voxel size in nm; overrides the file's, required when the
        file does not record one
    chunks : chunk shape of the stored arrays, voxels
    overwrite : replace a destination that holds a different dataset
    progress : reporter for the chunk-writing progress
    """
    destination = Path(destination)
    volume = _open_image(source, key=key, voxel_size_nm=voxel_size_nm)
    parameters = {
        "source": str(Path(source).resolve()),
        "key": key,
        "voxel_size_nm": list(volume.spacing),
        "chunks": list(chunks),
        "shape": list(volume.shape),
        "dtype": str(volume.dtype),
    }
    job = {"parameters": parameters, "source_fingerprint": fingerprint(source)}
    job_key = hashlib.sha256(json.dumps(job, sort_keys=True).encode()).hexdigest()

    if _holds_same_import(destination, job_key):
        return ImportResult(Store(destination), "up to date", volume)
    if destination.exists() and any(destination.iterdir()) and not overwrite:
        raise VemprofError(f"{destination} already holds {_describe(destination)}; "
                           "choose another path or pass --overwrite to replace it")

    partial = destination.with_name(destination.name + ".partial")
    resumed = _resumable(partial, job_key)
    if not resumed:
        shutil.rmtree(partial, ignore_errors=True)
        Store.create(partial)
        (partial / JOB_FILE).write_text(json.dumps({"job_key": job_key, **job}, indent=2))
    store = Store(partial)
    started = dt.datetime.now(dt.timezone.utc)
    total = store.chunks_to_write(volume.shape, chunks, spacing=volume.spacing)
    try:
        with progress(f"importing {volume.name}", total) as advance:
            store.write_raw(_checked_finite(volume, chunks), spacing=volume.spacing, chunks=chunks, progress=advance,
                            resume_key=job_key)
    except VemprofError:
        # bad input (a corrupt chunk, NaNs): mending the source changes its fingerprint,
        # so nothing written so far could be resumed
        shutil.rmtree(partial, ignore_errors=True)
        raise
    store.record(IMPORT_STEP, outputs=["raw"], parameters={**parameters, "job_key": job_key}, inputs=[source],
                 started=started)
    (partial / JOB_FILE).unlink()
    _replace_folder(partial, destination)
    return ImportResult(Store(destination), "resumed" if resumed else "imported", volume)


def import_labels(
    source: str | os.PathLike,
    store: Store,
    name: str,
    *,
    key: str | None = None,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    progress: ProgressReporter = no_progress,
) -> Volume:
    """Import a label image (integer ids, 0 = background) as ``labels/<name>`` of ``store``.

    It must cover the same voxels as the store's raw image; where the file records a
    voxel size it must match the raw image's.
    """
    volume = open_volume(source, key=key)
    raw = store.raw()
    if not np.issubdtype(volume.dtype, np.integer) and volume.dtype != bool:
        raise VemprofError(f"{source} holds {volume.dtype} values, not integer labels; "
                           "threshold or round it to object ids (uint8…uint64) first")
    if volume.shape != raw.shape:
        raise VemprofError(f"{source} has shape {volume.shape} but the raw image of {store.path} is {raw.shape}; "
                           "labels must cover the same voxels")
    if volume.spacing is not None and not np.allclose(volume.spacing, raw.spacing, rtol=1e-3):
        raise VemprofError(f"{source} has voxel size {volume.spacing} nm but the raw image has {raw.spacing} nm; "
                           "labels must be on the same grid")
    data = volume.data
    if np.issubdtype(data.dtype, np.signedinteger):
        data = data.map_blocks(_unsigned_ids, dtype=np.dtype(f"uint{data.dtype.itemsize * 8}"), source=str(source))
    started = dt.datetime.now(dt.timezone.utc)
    with progress(f"importing labels {name}", store.chunks_to_write(volume.shape, chunks, averaged=False)) as advance:
        store.write_labels(name, data, chunks=chunks, progress=advance, resume_key=fingerprint(source))
    store.record("import-labels", outputs=[f"labels/{name}"],
                 parameters={"source": str(Path(source).resolve()), "key": key, "name": name}, inputs=[source],
                 started=started)
    return store.labels(name)


def _open_image(source, *, key, voxel_size_nm) -> Volume:
    volume = open_volume(source, key=key)
    if voxel_size_nm is not None:
        volume = volume.with_spacing(voxel_size_nm)
    volume.require_spacing()
    if volume.is_labels or looks_like_labels(volume):
        raise VemprofError(
            f"{source} looks like a label image (object ids), not an EM image; import the image first, "
            "then add this with 'vemprof import SRC STORE --as-labels NAME'"
        )
    if volume.dtype == bool or not np.issubdtype(volume.dtype, np.number) or np.issubdtype(volume.dtype,
                                                                                           np.complexfloating):
        raise VemprofError(f"{source} holds {volume.dtype} values; an EM image must be integer or real grey values")
    return volume


def _checked_finite(volume: Volume, chunks: tuple[int, int, int]) -> da.Array:
    """The image data in store chunks, raising a clear error at the first chunk holding NaN or inf."""
    if not np.issubdtype(volume.dtype, np.floating):
        return volume.data
    return volume.data.rechunk(chunks).map_blocks(_finite_block, dtype=volume.dtype,
                                                  source=volume.source or volume.name)


def _finite_block(block: np.ndarray, *, source: str, block_info=None) -> np.ndarray:
    if not np.isfinite(block).all():
        (z, y, x) = block_info[0]["array-location"] if block_info else ((0, 0),) * 3
        raise VemprofError(f"{source} holds NaN or infinite values near z {z[0]}:{z[1]}, y {y[0]}:{y[1]}, "
                           f"x {x[0]}:{x[1]}; replace them (e.g. with the background grey) before importing")
    return block


def _unsigned_ids(block: np.ndarray, *, source: str) -> np.ndarray:
    if block.size and block.min() < 0:
        raise VemprofError(f"{source} holds negative label ids; labels must be 0 (background) or positive")
    return block.astype(f"uint{block.dtype.itemsize * 8}")


def _holds_same_import(destination: Path, job_key: str) -> bool:
    if not (destination.exists() and is_store(destination)):
        return False
    steps = Store(destination).provenance
    return any(s["step"] == IMPORT_STEP and s["parameters"].get("job_key") == job_key for s in steps)


def _resumable(partial: Path, job_key: str) -> bool:
    job = partial / JOB_FILE
    return job.exists() and json.loads(job.read_text()).get("job_key") == job_key


def _describe(path: Path) -> str:
    if is_store(path):
        imports = [s for s in Store(path).provenance if s["step"] == IMPORT_STEP]
        if imports:
            return f"a dataset imported from {imports[-1]['parameters']['source']}"
        steps = [s["step"] for s in Store(path).provenance]
        return f"a dataset made by '{steps[0]}'" if steps else "a different dataset"
    return "other files"
