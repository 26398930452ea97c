"""Import a volume from any supported format into a new dataset store.

The store is built in ``DEST.partial`` beside the destination and moved into place only
when complete: an interrupted import leaves ``DEST.partial``, and repeating the same
command resumes it from the finished chunks (a different command or a changed source
discards it). Bad data found while reading (a corrupt chunk, NaNs) removes it. Nothing
is ever loaded whole: the source is read and written one batch of chunks at a time.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from pathlib import Path

import dask.array as da
import numpy as np

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.store._annotations import check_classes
from vemprof.store._destination import begin_partial, discard_partial, finish_partial, job_key, refuse_existing
from vemprof.store._provenance import fingerprint
from vemprof.store._store import DEFAULT_CHUNKS, Store, check_name, is_store
from vemprof.volume import Volume, looks_like_labels, open_volume

IMPORT_STEP = "import"
LABELS_STEP = "import-labels"
ANNOTATIONS_STEP = "import-annotations"


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
    level: int = 0,
    channel: int | None = None,
    voxel_size_nm: tuple[float, float, float] | None = None,
    as_image: bool = False,
    allow_missing_chunks: bool = False,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    overwrite: bool = False,
    progress: ProgressReporter = no_progress,
    memory_mib: float | None = None,
) -> ImportResult:
    """Import the EM image at ``source`` into a new dataset store at ``destination``.

    Parameters
    ----------
    source : path of an OME-Zarr, TIFF (file or folder of slices), MRC, HDF5 or N5 volume
    destination : path of the store to create (``*.zarr``)
    key : dataset inside an HDF5/N5/zarr container
    level : pyramid level of the source (0 = full resolution)
    channel : channel to keep where the source has several (RGB, multi-channel)
    voxel_size_nm : (z, y, x) voxel size in nm; overrides the file's, required when the
        file does not record one
    as_image : import an integer stack that looks like a label image (few grey values,
        large flat regions) as an image all the same
    allow_missing_chunks : read chunks missing from a zarr/N5/HDF5 source as its fill
        value (for sources whose writer leaves empty chunks out) instead of refusing them
    chunks : chunk shape of the stored arrays, voxels
    overwrite : replace a destination that holds a different dataset
    progress : reporter for the chunk-writing progress
    memory_mib : memory for the data being imported, MiB, beyond the interpreter's own
        (about 230 MiB); default 640, which keeps the whole import under 1 GiB whatever
        the stack's size. The source is read in tiles of one chunk-row in Z, as wide as
        this allows; a smaller budget reads a stack of pages in bands (each band reads its
        pages again). It changes how the data is read, not the result, so a resumed
        import may use another.
    """
    destination = Path(destination)
    volume = _open_image(source, key=key, level=level, channel=channel, voxel_size_nm=voxel_size_nm,
                         as_image=as_image, allow_missing_chunks=allow_missing_chunks)
    parameters = {
        "source": str(Path(source).resolve()),
        "key": key,
        "level": level,
        "channel": channel,
        "allow_missing_chunks": allow_missing_chunks,
        "voxel_size_nm": list(volume.spacing),
        "chunks": list(chunks),
        "shape": list(volume.shape),
        "dtype": str(volume.dtype),
    }
    job = {"step": IMPORT_STEP, "parameters": parameters, "source_fingerprint": fingerprint(source)}
    key_of_job = job_key(job)
    if _holds_same_import(destination, key_of_job):
        return ImportResult(Store(destination), "up to date", volume)
    refuse_existing(destination, overwrite=overwrite, holds=_describe(destination))

    store, resumed = begin_partial(destination, job)
    started = dt.datetime.now(dt.timezone.utc)
    total = store.chunks_to_write(volume.shape, chunks, spacing=volume.spacing)
    try:
        with progress(f"importing {volume.name}", total) as advance:
            store.write_raw(_checked_finite(volume, chunks), spacing=volume.spacing, chunks=chunks, progress=advance,
                            resume_key=key_of_job, memory_mib=memory_mib)
    except VemprofError:
        # bad input (a corrupt chunk, NaNs): mending the source changes its fingerprint,
        # so nothing written so far could be resumed
        discard_partial(store)
        raise
    store.record(IMPORT_STEP, outputs=["raw"], parameters={**parameters, "job_key": key_of_job}, inputs=[source],
                 started=started)
    return ImportResult(finish_partial(store, destination), "resumed" if resumed else "imported", volume)


def import_labels(
    source: str | os.PathLike,
    store: Store,
    name: str,
    *,
    key: str | None = None,
    level: int = 0,
    channel: int | None = None,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    memory_mib: float | None = None,
    progress: ProgressReporter = no_progress,
) -> Volume:
    """Import a label image (integer ids, 0 = background) as ``labels/<name>`` of ``store``.

    It must cover the same voxels as the store's raw image; where the file records a
    voxel size it must match the raw image's. An interrupted import resumes when it is
    repeated with the same source, options and name; anything else starts afresh.
    ``key``, ``level``, ``channel``, ``chunks`` and ``memory_mib`` are as for
    `import_volume`.
    """
    check_name(name)
    volume = open_volume(source, key=key, level=level, channel=channel)
    if not np.issubdtype(volume.dtype, np.integer) and volume.dtype != bool:
        raise VemprofError(f"{source} holds {volume.dtype} values, not integer labels; "
                           "threshold or round it to object ids (uint8…uint64) first")
    _require_raw_grid(volume, store, source=source)
    data = volume.data
    if np.issubdtype(data.dtype, np.signedinteger):
        data = data.map_blocks(_unsigned_ids, dtype=np.dtype(f"uint{data.dtype.itemsize * 8}"), source=str(source))
    parameters = {"source": str(Path(source).resolve()), "key": key, "level": level, "channel": channel,
                  "name": name}
    job = {"step": LABELS_STEP, "parameters": parameters, "chunks": list(chunks), "shape": list(volume.shape),
           "dtype": str(data.dtype), "source_fingerprint": fingerprint(source)}
    started = dt.datetime.now(dt.timezone.utc)
    with progress(f"importing labels {name}", store.chunks_to_write(volume.shape, chunks, averaged=False)) as advance:
        store.write_labels(name, data, chunks=chunks, progress=advance, resume_key=job_key(job),
                           memory_mib=memory_mib)
    store.record(LABELS_STEP, outputs=[f"labels/{name}"], parameters=parameters, inputs=[source], started=started)
    return store.labels(name)


def import_annotations(
    source: str | os.PathLike,
    store: Store,
    name: str,
    *,
    classes,
    key: str | None = None,
    level: int = 0,
    channel: int | None = None,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    memory_mib: float | None = None,
    progress: ProgressReporter = no_progress,
) -> Volume:
    """Import sparse annotations painted elsewhere (a napari Labels layer saved as TIFF,
    an OME-Zarr, an HDF5 dataset) as annotation image ``labels/<name>`` of ``store``.

    Parameters
    ----------
    source : path of the annotation image (Z, Y, X), integer values 0 (not annotated),
        1 (background), k + 2 (``classes[k]``), on the raw image's grid
    store : the store holding the raw image
    name : name of the annotation image
    classes : class names of the values 2, 3, … (a list, or one string split at commas)
    key, level, channel, chunks, memory_mib, progress : as for `import_labels`

    A float image, a value outside 0…len(classes)+1 or an image without an annotated
    voxel is refused in one line, and nothing is written. An interrupted import resumes
    when repeated with the same source, options, name and classes.
    """
    classes = check_classes(classes)
    check_name(name)
    volume = open_volume(source, key=key, level=level, channel=channel)
    if not np.issubdtype(volume.dtype, np.integer):
        raise VemprofError(f"{source} holds {volume.dtype} values, not painted classes; annotations are integers "
                           "(0 not annotated, 1 background, 2… the classes), round or convert them first")
    _require_raw_grid(volume, store, source=source)
    parameters = {"source": str(Path(source).resolve()), "key": key, "level": level, "channel": channel,
                  "name": name, "classes": classes}
    job = {"step": ANNOTATIONS_STEP, "parameters": parameters, "chunks": list(chunks), "shape": list(volume.shape),
           "dtype": str(volume.dtype), "source_fingerprint": fingerprint(source)}

    def refuse_unannotated(voxels: dict[str, int]) -> None:
        if not any(voxels.values()):
            raise VemprofError(f"{source} holds no annotated voxel (every value is 0, not annotated); paint some "
                               "background (1) and classes (2…) first")

    started = dt.datetime.now(dt.timezone.utc)
    total = store.chunks_to_write(volume.shape, chunks, averaged=False)
    with progress(f"importing annotations {name}", total) as advance:
        store.write_annotations(name, volume.data, classes=classes, chunks=chunks, progress=advance,
                                resume_key=job_key(job), memory_mib=memory_mib, check=refuse_unannotated)
    store.record(ANNOTATIONS_STEP, outputs=[f"labels/{name}"], parameters=parameters, inputs=[source],
                 started=started)
    return store.labels(name)


def _require_raw_grid(volume: Volume, store: Store, *, source) -> None:
    """A one-line error unless ``volume`` covers the voxels of the store's raw image (and,
    where it records a voxel size, on the same grid)."""
    raw = store.raw()
    if volume.shape != raw.shape:
        raise VemprofError(f"{source} has shape {volume.shape} but the raw image of {store.path} is {raw.shape}; "
                           "labels must cover the same voxels")
    if volume.spacing is not None and not np.allclose(volume.spacing, raw.spacing, rtol=1e-3):
        raise VemprofError(f"{source} has voxel size {volume.spacing} nm but the raw image has {raw.spacing} nm; "
                           "labels must be on the same grid")


def _open_image(source, *, key, level, channel, voxel_size_nm, as_image, allow_missing_chunks) -> Volume:
    volume = open_volume(source, key=key, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)
    if voxel_size_nm is not None:
        volume = volume.with_spacing(voxel_size_nm)
    volume.require_spacing()
    if not as_image and (volume.is_labels or looks_like_labels(volume)):
        raise VemprofError(
            f"{source} looks like a label image (object ids), not an EM image; import the image first, then add "
            "this with 'vemprof import SRC STORE --as-labels NAME' — or, if it is an image, pass --as-image"
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


def _describe(path: Path) -> str:
    if is_store(path):
        imports = [s for s in Store(path).provenance if s["step"] == IMPORT_STEP]
        if imports:
            return f"a dataset imported from {imports[-1]['parameters']['source']}"
        steps = [s["step"] for s in Store(path).provenance]
        return f"a dataset made by '{steps[0]}'" if steps else "a different dataset"
    return "other files"
