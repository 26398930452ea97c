"""Block-wise, resumable writing of lazy arrays (and their pyramids) into zarr v3 arrays.

Memory stays bounded by a budget, not by the volume. After each batch the finished chunk
indices are appended to a log beside the array (``<name>.done.log``); a rerun after an
interruption skips them. The log is created before the array and removed once every
chunk is written, so an array without a log is complete.

`write_pyramid` writes an image and its multiscale levels in one sweep: the source is
read one *tile* at a time — a chunk-row in Z (the chunk depth, e.g. 128 planes), as wide
in Y and X as the memory budget allows, so a stack of pages is read once (each page
holds voxels of every chunk of its chunk-row) — the tile's chunks are compressed in
threads and written, and the tile is downsampled in memory into the next levels, which
are written in turn. No level is read back from disk while there is room for the
coarser levels' rows in the budget.
"""

from __future__ import annotations

import ctypes
import itertools
import math
import os
import threading
from concurrent.futures import FIRST_EXCEPTION, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator, Sequence

import dask
import dask.array as da
import numpy as np
import zarr
from zarr.codecs import BloscCodec, BloscShuffle, BytesCodec

from vemprof.errors import VemprofError
from vemprof.store._pyramid import downsample, downsample_block

ProgressCallback = Callable[[int], None]
"""Called with the number of chunks just finished."""

DEFAULT_BATCH_BYTES = 512 * 2**20
"""`write_resumable`: uncompressed bytes computed per batch."""

DEFAULT_MEMORY_MIB = 640
"""`write_pyramid`: memory for the data being written, MiB (beyond the interpreter and
its libraries, about 230 MiB for vemprof). The default keeps a whole import under 1 GiB
and holds a full chunk-row of 2048 × 2048 uint8 pages (512 MiB), so such a stack is read
once."""


def create_zarr_array(path: Path, *, shape, dtype, chunks) -> zarr.Array:
    """An empty zarr v3 array (zstd-compressed, dimension names z, y, x) at ``path``.

    Every chunk written to it is stored, also one that holds only zeros, so a missing
    chunk always means a damaged array.
    """
    shuffle = BloscShuffle.bitshuffle if np.dtype(dtype).itemsize == 1 else BloscShuffle.shuffle
    return zarr.create_array(
        store=str(path),
        shape=shape,
        dtype=dtype,
        chunks=tuple(min(c, n) for c, n in zip(chunks, shape)),
        compressors=[BloscCodec(cname="zstd", clevel=3, shuffle=shuffle)],
        fill_value=0,
        dimension_names=("z", "y", "x"),
        config={"write_empty_chunks": True},
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
    target, done = _open_for_writing(path, shape=array.shape, dtype=array.dtype, chunks=chunks)
    if done and progress:
        progress(len(done))

    writer = _ChunkTarget(target)
    blocks = array.rechunk(chunks).to_delayed()
    pending = [index for index in np.ndindex(*blocks.shape) if index not in done]
    block_bytes = int(np.prod(chunks)) * array.dtype.itemsize
    batch_bytes = batch_bytes or DEFAULT_BATCH_BYTES
    pool = ThreadPoolExecutor(_thread_count())
    try:
        with open(log_path, "a") as log:
            for batch in _batches(pending, max(1, batch_bytes // block_bytes)):
                tasks = [dask.delayed(_store_block)(blocks[index], writer, _region(index, chunks)) for index in batch]
                dask.compute(*tasks, scheduler="threads", pool=pool)
                log.write(_log_lines(batch))
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


def write_pyramid(
    array: da.Array,
    paths: Sequence[Path],
    factors: Sequence[tuple[int, int, int]],
    *,
    chunks: tuple[int, int, int],
    averaged: bool,
    progress: ProgressCallback | None = None,
    memory_mib: float | None = None,
) -> None:
    """Write ``array`` and its downsampled levels to zarr v3 arrays, resumably, within a
    memory budget.

    Parameters
    ----------
    array : dask array (Z, Y, X), level 0
    paths : directory of each level's zarr array, finest first
    factors : each level's factor (1 or 2 per axis) relative to the level above it; the
        first is ignored
    chunks : chunk shape on disk, voxels (every level)
    averaged : levels are block means (images, see `downsample`) or every second voxel
        (labels)
    progress : called with the number of chunks finished (all levels together)
    memory_mib : memory for the data in flight, MiB (default `DEFAULT_MEMORY_MIB`): the
        tile read from the source, the coarser levels' rows being filled, the blocks
        being read and compressed by each thread. The tile is the largest that fits:
        a full chunk-row in Z (``chunks[0]`` planes of the whole Y/X extent) where it
        can, else bands of it (a stack of full-page blocks is then read once per band).
        Levels whose rows do not fit as well are read back from the level above on disk.

    Each level's finished chunks are logged as for `write_resumable`; a repeated call
    skips them (a level already complete is read back, not recomputed, to make the next).
    """
    budget = int((DEFAULT_MEMORY_MIB if memory_mib is None else memory_mib) * 2**20)
    if budget <= 0:
        raise VemprofError(f"the memory budget (--memory) must be positive MiB, got {memory_mib}")
    shapes = [tuple(array.shape)]
    for level_factors in factors[1:]:
        shapes.append(tuple(-(-n // f) for n, f in zip(shapes[-1], level_factors)))
    levels = [_Level.open(index, Path(path), shape=shape, dtype=array.dtype, chunks=chunks,
                          factors=tuple(level_factors))
              for index, (path, shape, level_factors) in enumerate(zip(paths, shapes, [(1, 1, 1), *factors[1:]]))]
    threads = _thread_count()
    _keep_freed_blocks()
    pool = ThreadPoolExecutor(threads)
    try:
        already = sum(level.finished for level in levels)
        if already and progress:
            progress(already)
        while (pending := [level.index for level in levels if not level.complete]):
            first = pending[0]
            if first == 0:
                plan = _plan_pass(levels, 0, budget, threads, _largest_block_bytes(array))
                source = array
            else:
                # carry on from the finished level above, in memory when its next level fits
                above = da.from_zarr(str(levels[first - 1].path))
                plan = _plan_pass(levels, first - 1, budget, threads, levels[first - 1].chunk_bytes)
                source = above
                if plan.last < first:
                    source = downsample(above, levels[first].factors, averaged=averaged)
                    plan = _plan_pass(levels, first, budget, threads, 2 * levels[first - 1].chunk_bytes)
            _Pass(levels, plan, pool, threads, dtype=array.dtype, averaged=averaged, progress=progress).run(source)
            _return_freed_memory()
            if not all(level.complete for level in levels[plan.first:plan.last + 1]):  # a sweep always finishes
                raise RuntimeError(f"levels {plan.first}…{plan.last} were left incomplete by {plan}")
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
        for level in levels:
            level.close()


# -- writing chunks -------------------------------------------------------------------------


class _ChunkTarget:
    """Stores whole chunks of a zarr array, ``target[region] = block``.

    Where the array is a local zarr v3 array compressed by Blosc (as `create_zarr_array`
    makes them), a chunk is encoded in the calling thread with the array's own Blosc
    settings and stored through the array's store as one file: the same bytes zarr
    writes, at a fraction of the cost of zarr's asynchronous path (which takes longer
    than the compression itself). Anything else goes through zarr.
    """

    def __init__(self, array: zarr.Array):
        self.array = array.with_config({"write_empty_chunks": True})
        self.chunks = tuple(array.chunks)
        self.shape = tuple(array.shape)
        self._codec = _blosc_codec(array)
        self._prefix = f"{array.path}/" if array.path else ""
        self._dtype = np.dtype(array.dtype).newbyteorder("<") if np.dtype(array.dtype).itemsize > 1 else array.dtype
        self._scratch = threading.local()

    def __setitem__(self, region: tuple[slice, ...], block: np.ndarray) -> None:
        index = self._chunk_index(region)
        if self._codec is None or index is None:
            self.array[region] = block
            return
        chunk = getattr(self._scratch, "chunk", None)
        if chunk is None:
            chunk = self._scratch.chunk = np.empty(self.chunks, self._dtype)
        if block.shape == self.chunks:
            np.copyto(chunk, block)
        else:  # an edge chunk is stored whole, the voxels beyond the array holding the fill value
            chunk.fill(self.array.fill_value)
            chunk[tuple(slice(0, n) for n in block.shape)] = block
        encoded = self._codec.encode(chunk.reshape(-1).view(np.uint8))
        key = self._prefix + self.array.metadata.encode_chunk_key(index)
        self.array.store.set_sync(key, _Buffer.from_bytes(encoded))

    def _chunk_index(self, region: tuple[slice, ...]) -> tuple[int, ...] | None:
        """The chunk that ``region`` covers exactly (clipped at the array's end), or None."""
        index = []
        for part, size, extent in zip(region, self.chunks, self.shape):
            start, stop = part.start or 0, min(extent if part.stop is None else part.stop, extent)
            if start % size or stop != min(start + size, extent):
                return None
            index.append(start // size)
        return tuple(index)


def _blosc_codec(array: zarr.Array):
    """The numcodecs Blosc codec that encodes ``array``'s chunks as zarr would, or None
    where the array is not a local zarr v3 array of bytes + Blosc."""
    try:
        from numcodecs import Blosc
        from zarr.core.chunk_grids import RegularChunkGrid
        from zarr.storage import LocalStore
    except ImportError:  # another zarr layout: zarr writes every chunk itself
        return None
    metadata = array.metadata
    codecs = getattr(metadata, "codecs", ())
    if (_Buffer is None or getattr(metadata, "zarr_format", None) != 3 or not isinstance(array.store, LocalStore)
            or not hasattr(array.store, "set_sync") or not isinstance(metadata.chunk_grid, RegularChunkGrid)
            or len(codecs) != 2 or not isinstance(codecs[0], BytesCodec) or not isinstance(codecs[1], BloscCodec)
            or (codecs[0].endian is not None and codecs[0].endian.value != "little")):
        return None
    settings = codecs[1].to_dict()["configuration"]
    shuffle = {"noshuffle": 0, "shuffle": 1, "bitshuffle": 2}[settings["shuffle"]]
    return Blosc(cname=settings["cname"], clevel=settings["clevel"], shuffle=shuffle,
                 blocksize=settings["blocksize"], typesize=settings["typesize"])


try:
    from zarr.core.buffer.cpu import Buffer as _Buffer
except ImportError:  # pragma: no cover - then _blosc_codec finds no LocalStore either
    _Buffer = None


def _store_block(block: np.ndarray, target, region: tuple[slice, ...]) -> None:
    target[region] = block


# -- the pyramid writer ---------------------------------------------------------------------


@dataclass
class _Level:
    """One level's zarr array and its finished chunks."""

    index: int
    path: Path
    shape: tuple[int, int, int]
    chunks: tuple[int, int, int]
    factors: tuple[int, int, int]
    itemsize: int
    target: _ChunkTarget | None
    done: set
    complete: bool
    log: object = None

    @classmethod
    def open(cls, index: int, path: Path, *, shape, dtype, chunks, factors) -> "_Level":
        chunks = tuple(min(c, n) for c, n in zip(chunks, shape))
        itemsize = np.dtype(dtype).itemsize
        if is_complete(path):
            return cls(index, path, shape, chunks, factors, itemsize, None, set(), True)
        target, done = _open_for_writing(path, shape=shape, dtype=dtype, chunks=chunks)
        level = cls(index, path, shape, chunks, factors, itemsize, _ChunkTarget(target), done, False)
        level.complete = len(done) >= level.total
        return level

    @property
    def total(self) -> int:
        return chunk_count(self.shape, self.chunks)

    @property
    def finished(self) -> int:
        return self.total if self.complete else len(self.done)

    @property
    def chunk_bytes(self) -> int:
        return math.prod(self.chunks) * self.itemsize

    @property
    def row_bytes(self) -> int:
        """One chunk-row in Z of the whole level."""
        return self.chunks[0] * self.shape[1] * self.shape[2] * self.itemsize

    def record(self, indices: list[tuple[int, ...]]) -> None:
        """Log ``indices`` as finished (made durable by `sync`)."""
        if not indices:
            return
        if self.log is None:
            self.log = open(progress_log_path(self.path), "a")
        self.log.write(_log_lines(indices))
        self.done.update(indices)

    def sync(self) -> None:
        if self.log is not None:
            self.log.flush()
            os.fsync(self.log.fileno())
        if not self.complete and len(self.done) >= self.total:
            self.close()
            progress_log_path(self.path).unlink()
            self.complete, self.done = True, set()

    def close(self) -> None:
        if self.log is not None:
            self.log.close()
            self.log = None


@dataclass(frozen=True)
class _Plan:
    """One sweep: level ``first`` read from a source in tiles of ``tile`` (Z, Y, X), the
    levels after it down to ``last`` made in memory ('direct': from each tile, in place;
    'row': gathered in a buffer of one chunk-row)."""

    first: int
    last: int
    tile: tuple[int, int, int]
    kinds: tuple[str, ...]
    memory: int


def _plan_pass(levels: list[_Level], first: int, budget: int, threads: int, source_block: int) -> _Plan:
    """The deepest cascade, then the largest tile, whose memory fits ``budget``.

    Counted: the tile; the row buffers of the 'row' levels; per thread one block being
    read from the source (twice: the reader's own buffer and the slice handed on) and one
    chunk being compressed (the chunk and its encoded bytes); the planes summed while
    downsampling.
    """
    base = levels[first]
    depth, height, width = base.chunks
    _, rows, columns = base.shape
    tiles = ([(rows, columns)] + [(h, columns) for h in range((rows - 1) // height * height, 0, -height)]
             + [(height, w) for w in range((columns - 1) // width * width, 0, -width)])
    accumulator = 8 if base.itemsize >= 4 else 2 * base.itemsize
    per_thread = threads * (2 * base.chunk_bytes + 2 * source_block)
    for last in range(len(levels) - 1, first - 1, -1):
        for h, w in tiles:
            kinds = _cascade_kinds(levels, first, last, (depth, h, w))
            if kinds is None:
                continue
            memory = (depth * h * w * base.itemsize + per_thread + (2 * h * w * accumulator if last > first else 0)
                      + sum(levels[first + 1 + i].row_bytes for i, kind in enumerate(kinds) if kind == "row"))
            if memory <= budget:
                return _Plan(first, last, (depth, h, w), kinds, memory)
    # nothing fits (the source's blocks alone take more than the budget): bands one chunk
    # high, so that each block is read as few times as the memory allows
    return _Plan(first, first, (depth, height, columns), (), depth * height * columns * base.itemsize + per_thread)


def _cascade_kinds(levels: list[_Level], first: int, last: int, tile: tuple[int, int, int]) -> tuple[str, ...] | None:
    """How each level after ``first`` down to ``last`` is made from tiles of ``tile``:
    'direct' (each tile's downsampled piece is whole chunks of it), 'row' (pieces are
    gathered into a chunk-row buffer); None where a piece would split a 2-voxel block."""
    kinds: list[str] = []
    piece = tile
    full = tuple(p >= n for p, n in zip(tile, levels[first].shape))
    for k in range(first + 1, last + 1):
        level = levels[k]
        if any(f == 2 and not whole and p % 2 for f, whole, p in zip(level.factors, full, piece)):
            return None
        piece = tuple(n if whole else p // f for n, whole, p, f in zip(level.shape, full, piece, level.factors))
        aligned = all(whole or p % c == 0 for whole, p, c in zip(full, piece, level.chunks))
        if (not kinds or kinds[-1] == "direct") and level.factors[0] == 1 and aligned:
            kinds.append("direct")
        else:
            kinds.append("row")
            piece = (level.chunks[0], level.shape[1], level.shape[2])
            full = (level.chunks[0] >= level.shape[0], True, True)
    return tuple(kinds)


class _Pass:
    """One sweep of a `_Plan`: read tiles, write their chunks, cascade into coarser levels."""

    def __init__(self, levels: list[_Level], plan: _Plan, pool: ThreadPoolExecutor, threads: int, *, dtype,
                 averaged: bool, progress: ProgressCallback | None):
        self.levels, self.plan, self.pool, self.threads = levels, plan, pool, threads
        self.averaged, self.progress = averaged, progress
        self.dtype = np.dtype(dtype)
        self.buffer = np.empty(math.prod(plan.tile) * self.dtype.itemsize, np.uint8)
        self.rows: dict[int, np.ndarray] = {}
        self.filled: dict[int, int] = {}
        self.finished = 0

    def run(self, source: da.Array) -> None:
        plan, base = self.plan, self.levels[self.plan.first]
        later_done = all(level.complete for level in self.levels[plan.first + 1:plan.last + 1])
        for origin in itertools.product(*(range(0, n, t) for n, t in zip(base.shape, plan.tile))):
            shape = tuple(min(t, n - o) for t, n, o in zip(plan.tile, base.shape, origin))
            if later_done and base.complete:
                break
            if later_done and _all_done(base, origin, shape):
                continue
            tile = self._view(shape)
            region = tuple(slice(o, o + n) for o, n in zip(origin, shape))
            da.store(source[region], tile, lock=False, scheduler="threads", pool=self.pool)
            self._write(base, tile, origin)
            self._cascade(plan.first + 1, tile, origin)
            for level in self.levels[plan.first:plan.last + 1]:
                level.sync()
            if self.progress and self.finished:
                self.progress(self.finished)
            self.finished = 0
            _return_freed_memory()

    def _view(self, shape: tuple[int, ...]) -> np.ndarray:
        """The start of the tile buffer as an array of ``shape``."""
        return self.buffer[:math.prod(shape) * self.dtype.itemsize].view(self.dtype).reshape(shape)

    def _cascade(self, index: int, piece: np.ndarray, origin: tuple[int, ...]) -> None:
        """Downsample ``piece`` (of level ``index - 1``, at ``origin``) into level ``index``."""
        if index > self.plan.last:
            return
        level = self.levels[index]
        start = tuple(o // f for o, f in zip(origin, level.factors))
        shape = tuple(-(-n // f) for n, f in zip(piece.shape, level.factors))
        if self.plan.kinds[index - self.plan.first - 1] == "direct":
            out = downsample_block(piece, level.factors, averaged=self.averaged, out=self._view(shape),
                                   pool=self.pool, parts=self.threads)
            self._write(level, out, start)
            self._cascade(index + 1, out, start)
            return
        depth = level.chunks[0]
        row_start = start[0] // depth * depth
        if start[0] + shape[0] > row_start + depth:
            raise RuntimeError(f"a piece of level {index} at {start} {shape} crosses a chunk-row")
        row = self.rows.get(index)
        if row is None:
            row = self.rows[index] = np.empty((depth, level.shape[1], level.shape[2]), self.dtype)
        part = tuple(slice(s - r, s - r + n) for s, r, n in zip(start, (row_start, 0, 0), shape))
        downsample_block(piece, level.factors, averaged=self.averaged, out=row[part], pool=self.pool,
                         parts=self.threads)
        self.filled[index] = self.filled.get(index, 0) + math.prod(shape)
        rows_here = min(depth, level.shape[0] - row_start)
        if self.filled[index] == rows_here * level.shape[1] * level.shape[2]:
            self.filled[index] = 0
            whole = row[:rows_here]
            self._write(level, whole, (row_start, 0, 0))
            self._cascade(index + 1, whole, (row_start, 0, 0))

    def _write(self, level: _Level, piece: np.ndarray, origin: tuple[int, ...]) -> None:
        """Compress and store the chunks of ``level`` that ``piece`` (at ``origin``) holds,
        in the thread pool; log them once all are stored."""
        if level.complete:
            return
        spans = []
        for o, n, c, extent in zip(origin, piece.shape, level.chunks, level.shape):
            if o % c or (n % c and o + n != extent):
                raise RuntimeError(f"a piece of level {level.index} at {origin} {piece.shape} is not whole chunks")
            spans.append(range(o // c, -(-(o + n) // c)))
        futures: list[tuple[tuple[int, ...], Future]] = []
        for index in itertools.product(*spans):
            if index in level.done:
                continue
            region = tuple(slice(i * c, min((i + 1) * c, extent)) for i, c, extent in zip(index, level.chunks,
                                                                                         level.shape))
            local = tuple(slice(r.start - o, r.stop - o) for r, o in zip(region, origin))
            futures.append((index, self.pool.submit(_store_block, piece[local], level.target, region)))
        finished, _ = wait([future for _, future in futures], return_when=FIRST_EXCEPTION)
        for _, future in futures:
            if future in finished and future.exception() is not None:
                for _, other in futures:
                    other.cancel()
                wait([other for _, other in futures])
                raise future.exception()
        level.record([index for index, _ in futures])
        self.finished += len(futures)


def _all_done(level: _Level, origin: tuple[int, ...], shape: tuple[int, ...]) -> bool:
    if level.complete:
        return True
    spans = [range(o // c, -(-(o + n) // c)) for o, n, c in zip(origin, shape, level.chunks)]
    return all(index in level.done for index in itertools.product(*spans))


def _largest_block_bytes(array: da.Array) -> int:
    return math.prod(max(c) if c else 1 for c in array.chunks) * array.dtype.itemsize


def _thread_count() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


# -- helpers ----------------------------------------------------------------------------------


def _keep_freed_blocks() -> None:
    """Let glibc's malloc reuse freed blocks of up to 32 MiB (the pages and chunks read,
    the compressed chunks) instead of returning each to the system and faulting fresh,
    zeroed pages in for the next: an import then spends ~10 % less time. It sets, for the
    process, the values glibc's own adaptive thresholds grow to after the first large
    block is freed (mmap 32 MiB) and keeps at most 16 MiB free at the top of a heap
    (glibc would allow 64 MiB); `_return_freed_memory` still trims after each batch."""
    if _LIBC is not None and hasattr(_LIBC, "mallopt"):
        _LIBC.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
        _LIBC.mallopt(_M_TRIM_THRESHOLD, 16 * 2**20)


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc's malloc.h


def _return_freed_memory() -> None:
    """Hand the heap memory freed by the last batch back to the system (glibc keeps it in
    per-thread arenas otherwise, and the process's footprint creeps up batch by batch)."""
    if _LIBC is not None:
        _LIBC.malloc_trim(0)


def _load_libc():
    try:
        return ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (macOS, Windows, musl): no malloc_trim, mallopt or renameat2
        return None


_LIBC = _load_libc()


def _region(index: tuple[int, ...], chunks: tuple[int, ...]) -> tuple[slice, ...]:
    return tuple(slice(i * c, (i + 1) * c) for i, c in zip(index, chunks))


def _batches(items: list, size: int) -> Iterator[list]:
    iterator = iter(items)
    while batch := list(itertools.islice(iterator, size)):
        yield batch


def _open_for_writing(path: Path, *, shape, dtype, chunks) -> tuple[zarr.Array, set[tuple[int, int, int]]]:
    """The zarr array at ``path`` and its finished chunks: reopened where its log shows an
    unfinished write, else created anew beside an empty log."""
    log_path = progress_log_path(path)
    if log_path.exists() and (path / "zarr.json").exists():
        return zarr.open_array(str(path), mode="r+"), _read_log(log_path)
    log_path.parent.mkdir(parents=True, exist_ok=True)
    log_path.write_text("")
    return create_zarr_array(path, shape=shape, dtype=dtype, chunks=chunks), set()


def _log_lines(indices) -> str:
    """Chunk indices as the log holds them, one ``z y x`` line each."""
    return "".join(f"{z} {y} {x}\n" for z, y, x in indices)


def _read_log(log_path: Path) -> set[tuple[int, int, int]]:
    done = set()
    for line in log_path.read_text().splitlines():
        parts = line.split()
        if len(parts) == 3:  # a line cut short by the interruption is simply redone
            done.add(tuple(int(p) for p in parts))
    return done
