"""A guard between dask and a file reader: lazy (re)opening and clear read errors.

Every reader in this package hands dask a `GuardedSource` rather than the library's own
array object. It

* opens the file lazily in each process from a picklable ``opener`` (so a graph can be
  shipped to Dask distributed workers; open handles are never pickled),
* turns any decode or I/O error while reading a block into a one-line `VemprofError`
  naming the source and the block's voxel ranges,
* turns a storage chunk that is missing from the file (`MissingChunk`, raised by the
  readers through `require_chunks`) into a one-line error naming the chunk's ranges, and
* checks that each block has the shape and dtype the file's metadata promised.
"""

from __future__ import annotations

import itertools
import math
import os
import threading
from typing import Any, Callable, Sequence

import dask.array as da
import numpy as np
from dask.base import tokenize

from vemprof.errors import VemprofError

MIN_BLOCK_BYTES = 2**20
GROUPED_BLOCK_BYTES = 32 * 2**20

Opener = Callable[[], Any]


class MissingChunk(LookupError):
    """A storage chunk that is not in the file, so it would read as the fill value.

    Parameters
    ----------
    bounds : sequence of (start, stop)
        The chunk's voxel ranges, one per axis in the file's order.
    fill_value : scalar
        What the chunk would read as.
    """

    def __init__(self, bounds: Sequence[tuple[int, int]], fill_value: object):
        super().__init__(bounds, fill_value)
        self.bounds, self.fill_value = list(bounds), fill_value


def require_chunks(key: tuple[slice | int, ...], *, shape: Sequence[int], grid: Sequence[int],
                   is_stored: Callable[[tuple[int, ...]], bool], fill_value: object) -> None:
    """Raise `MissingChunk` for the first storage chunk under ``key`` that the file lacks.

    Parameters
    ----------
    key : tuple of slices (and integers)
        The block about to be read, in the file's axis order.
    shape : tuple of int
        The dataset's shape.
    grid : tuple of int
        The unit of storage (a zarr chunk or shard, an N5 block, an HDF5 chunk), voxels.
    is_stored : callable
        Grid coordinates of a chunk → whether the file holds it (one stat or index lookup).
    fill_value : scalar
        What a missing chunk would read as, for the message.
    """
    bounds, _ = _extent(key, shape)
    ranges = [range(start // size, -(-stop // size)) for (start, stop), size in zip(bounds, grid)]
    for coords in itertools.product(*ranges):
        if not is_stored(coords):
            raise MissingChunk([(c * g, min((c + 1) * g, n)) for c, g, n in zip(coords, grid, shape)], fill_value)


class GuardedSource:
    """Array-like view of an N-D dataset in a file, for `dask.array.from_array`.

    Parameters
    ----------
    opener : callable
        Picklable, no arguments; returns an object whose ``__getitem__`` takes a tuple
        of slices and returns the numpy block (a zarr array, an h5py dataset…).
    shape : tuple of int
        Shape of the dataset, in the file's own axis order.
    dtype : numpy dtype
        Element type of the blocks.
    chunks : tuple of int
        The file's storage chunk (or page, strip, plane) shape, in voxels.
    axes : str
        One letter per axis (``"zyx"``, ``"czyx"``, ``"xyz"``…), for error messages.
    source : str
        Path (and key) of the dataset, for error messages.
    reader : object, optional
        An already opened reader, to avoid opening the file twice in this process.
    """

    def __init__(self, opener: Opener, *, shape: Sequence[int], dtype: np.dtype, chunks: Sequence[int],
                 axes: str, source: str, reader: Any = None):
        self.opener = opener
        self.shape = tuple(int(n) for n in shape)
        self.dtype = np.dtype(dtype)
        self.chunks = tuple(max(1, min(int(c), n)) for c, n in zip(chunks, self.shape))
        self.axes = axes
        self.source = source
        self._reader = reader
        self._lock = threading.Lock()

    @property
    def ndim(self) -> int:
        return len(self.shape)

    def __getstate__(self) -> dict:
        state = self.__dict__.copy()
        state["_reader"] = None
        del state["_lock"]
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def __getitem__(self, key: tuple[slice | int, ...]) -> np.ndarray:
        bounds, expected = _extent(key, self.shape)
        try:
            block = np.asarray(self._open()[key])
        except (VemprofError, MemoryError):
            raise
        except MissingChunk as missing:
            raise VemprofError(
                f"chunk missing in {self.source} at {self._where(missing.bounds)}; restore it, or pass "
                f"--allow-missing-chunks if empty regions are meant to read as "
                f"{missing.fill_value}") from None
        except Exception as exc:  # any decode or I/O failure of the library underneath
            raise VemprofError(self._message(bounds, _short(exc))) from exc
        if block.shape != expected or block.dtype != self.dtype:
            raise VemprofError(self._message(
                bounds, f"got a {block.dtype} block of shape {block.shape}, expected {self.dtype} {expected}"))
        return block

    def _open(self) -> Any:
        with self._lock:
            if self._reader is None:
                self._reader = self.opener()
            return self._reader

    def _message(self, bounds: list[tuple[int, int]], cause: str) -> str:
        return (f"corrupt or unreadable data in {self.source} at {self._where(bounds)} ({cause}); "
                "restore the file or re-export it")

    def _where(self, bounds: list[tuple[int, int]]) -> str:
        """``z a:b, y c:d, x e:f`` (then any other axes) from ranges in the file's axis order."""
        ranges = dict(zip(self.axes, bounds))
        order = [a for a in "zyx" if a in ranges] + [a for a in self.axes if a not in "zyx"]
        return ", ".join(f"{a} {ranges[a][0]}:{ranges[a][1]}" for a in order)


def guarded_array(opener: Opener, *, shape: Sequence[int], dtype: np.dtype, chunks: Sequence[int], axes: str,
                  source: str, reader: Any = None, stamp: str = "") -> da.Array:
    """A lazy dask array over a file dataset, its blocks aligned to the storage chunks.

    Each dask block is one storage chunk (page, tile, chunk) where that holds at least
    `MIN_BLOCK_BYTES`, so block-wise work holds no more than the file's own chunks;
    smaller ones (strips, tiny chunks) are grouped into blocks of up to
    `GROUPED_BLOCK_BYTES`. No storage chunk is ever decoded twice.

    Parameters
    ----------
    opener, shape, dtype, chunks, axes, source, reader
        As for `GuardedSource`.
    stamp : str
        Extra text for the dask name (the file's size and modification time), so that
        a changed file gets a new name.

    Returns
    -------
    dask.array.Array
        Shape ``shape`` in the file's axis order; nothing is read until it is computed.
    """
    guard = GuardedSource(opener, shape=shape, dtype=dtype, chunks=chunks, axes=axes, source=source,
                          reader=reader)
    if math.prod(guard.chunks) * guard.dtype.itemsize >= MIN_BLOCK_BYTES:
        blocks = guard.chunks  # block-wise work then holds as little as the file allows
    else:
        blocks = da.core.normalize_chunks("auto", guard.shape, dtype=guard.dtype, previous_chunks=guard.chunks,
                                          limit=GROUPED_BLOCK_BYTES)
    name = "vemprof-read-" + tokenize(source, guard.shape, str(guard.dtype), guard.chunks, stamp)
    return da.from_array(guard, chunks=blocks, name=name, fancy=False,
                         meta=np.empty((0,) * guard.ndim, guard.dtype))


def file_stamp(path: str | os.PathLike) -> str:
    """Size and modification time of ``path``, for `guarded_array`'s ``stamp``."""
    info = os.stat(path)
    return f"{info.st_size}-{info.st_mtime_ns}"


def _extent(key: tuple[slice | int, ...], shape: tuple[int, ...]) -> tuple[list[tuple[int, int]], tuple[int, ...]]:
    """(start, stop) per axis and the block shape that ``key`` (slices and integers) selects."""
    key = key if isinstance(key, tuple) else (key,)
    key = key + (slice(None),) * (len(shape) - len(key))
    bounds, block = [], []
    for index, size in zip(key, shape):
        if isinstance(index, slice):
            picked = range(*index.indices(size))
            bounds.append((picked[0], picked[-1] + 1) if picked else (picked.start, picked.start))
            block.append(len(picked))
        else:  # an integer, fused into the read by dask: that axis is dropped
            position = int(index) % size
            bounds.append((position, position + 1))
    return bounds, tuple(block)


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return text if len(text) <= 160 else text[:157] + "..."
