"""Block-wise, resumable writing of a lazy array into a zarr v3 array.

The array is computed one batch of chunks at a time, so memory stays bounded by the
batch (not the volume). After each batch the finished chunk indices are appended to a
log beside the array (``<name>.done.log``); a rerun after an interruption skips them.
The log is created before the array and removed once every chunk is written, so an
array without a log is complete.
"""

from __future__ import annotations

import ctypes
import itertools
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Callable, Iterator

import dask
import dask.array as da
import numpy as np
import zarr
from zarr.codecs import BloscCodec, BloscShuffle

ProgressCallback = Callable[[int], None]
"""Called with the number of chunks just finished."""

DEFAULT_BATCH_BYTES = 512 * 2**20


def create_zarr_array(path: Path, *, shape, dtype, chunks) -> zarr.Array:
    """An empty zarr v3 array (zstd-compressed, dimension names z, y, x) at ``path``."""
    shuffle = BloscShuffle.bitshuffle if np.dtype(dtype).itemsize == 1 else BloscShuffle.shuffle
    return zarr.create_array(
        store=str(path),
        shape=shape,
        dtype=dtype,
        chunks=tuple(min(c, n) for c, n in zip(chunks, shape)),
        compressors=[BloscCodec(cname="zstd", clevel=3, shuffle=shuffle)],
        fill_value=0,
        dimension_names=("z", "y", "x"),
        overwrite=True,
    )


def progress_log_path(path: Path) -> Path:
    """The log of finished chunks kept beside the zarr array at ``path`` while it is written."""
    return path.with_name(path.name + ".done.log")


def is_complete(path: Path) -> bool:
    """True when the zarr array at ``path`` exists and no write to it is unfinished."""
    return (path / "zarr.json").exists() and not progress_log_path(path).exists()


def chunk_count(shape, chunks) -> int:
    """How many chunks of shape ``chunks`` tile an array of ``shape``."""
    return int(np.prod([-(-n // c) for n, c in zip(shape, chunks)]))


def write_resumable(
    array: da.Array,
    path: Path,
    *,
    chunks: tuple[int, int, int],
    progress: ProgressCallback | None = None,
    batch_bytes: int | None = None,
) -> zarr.Array:
    """Write ``array`` to a zarr v3 array at ``path``, resuming an interrupted write.

    Parameters
    ----------
    array : dask array (Z, Y, X)
    path : directory of the zarr array (created, or reused when a previous write to it
        left a progress log)
    chunks : chunk shape on disk, voxels
    progress : called with the number of chunks finished after each batch
    batch_bytes : uncompressed bytes computed per batch (default `DEFAULT_BATCH_BYTES`);
        bounds the memory used
    """
    chunks = tuple(min(c, n) for c, n in zip(chunks, array.shape))
    log_path = progress_log_path(path)
    if log_path.exists() and (path / "zarr.json").exists():
        target = zarr.open_array(str(path), mode="r+")
        done = _read_log(log_path)
    else:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text("")
        target = create_zarr_array(path, shape=array.shape, dtype=array.dtype, chunks=chunks)
        done = set()
    if done and progress:
        progress(len(done))

    blocks = array.rechunk(chunks).to_delayed()
    pending = [index for index in np.ndindex(*blocks.shape) if index not in done]
    block_bytes = int(np.prod(chunks)) * array.dtype.itemsize
    batch_bytes = batch_bytes or DEFAULT_BATCH_BYTES
    pool = ThreadPoolExecutor(os.cpu_count())
    try:
        with open(log_path, "a") as log:
            for batch in _batches(pending, max(1, batch_bytes // block_bytes)):
                tasks = [dask.delayed(_store_block)(blocks[index], target, _region(index, chunks)) for index in batch]
                dask.compute(*tasks, scheduler="threads", pool=pool)
                log.write("".join(f"{z} {y} {x}\n" for z, y, x in batch))
                log.flush()
                os.fsync(log.fileno())
                _return_freed_memory()
                if progress:
                    progress(len(batch))
    finally:
        # wait for blocks still being written, so none is written after an error or an
        # interruption has propagated (and, say, its staging folder was removed)
        pool.shutdown(wait=True, cancel_futures=True)
    log_path.unlink()
    return target


def _return_freed_memory() -> None:
    """Hand the heap memory freed by the last batch back to the system (glibc keeps it in
    per-thread arenas otherwise, and the process's footprint creeps up batch by batch)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows, musl): nothing to trim
        return None


_LIBC = _load_libc()


def _store_block(block: np.ndarray, target: zarr.Array, region: tuple[slice, ...]) -> None:
    target[region] = block


def _region(index: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, chunks))


def _batches(items: list, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _read_log(log_path: Path) -> set[tuple[int, int, int]]:
    done = set()
    for line in log_path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:  # a line cut short by the interruption is simply redone
            done.add(tuple(int(p) for p in parts))
    return done
