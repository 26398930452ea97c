"""Write a dataset made tile by tile (e.g. a field of phantom cells) with bounded memory.

Two phases, both resumable, in the partial store ``DEST.partial`` (see `begin_partial`):

1. Tiles. Each tile is made, written into level-0 scratch arrays (``.tiles/raw``,
   ``.tiles/labels/<name>``, zarr v3, chunks aligned to the tile where the tile's size
   allows) with its tables (``.tiles/tables/<name>/<tile>.parquet``), and recorded in
   ``.tiles/done.jsonl`` with its ``carry`` (what the next tile needs from it, e.g. the
   largest id so far). Only one tile is in memory at a time; a rerun skips the recorded
   tiles and makes the next from the last carry.
2. Pyramids. The scratch arrays are written into the store as raw image and label images
   with their pyramids by `Store.write_raw` / `Store.write_labels` (memory bounded by
   ``memory_mib``, resumable by chunk); the tables are concatenated; the provenance is
   recorded, the scratch removed and the store moved into place.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import uuid
from pathlib import Path
from typing import Callable, Protocol

import dask.array as da
import numpy as np
import pandas as pd
import zarr

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.store._destination import begin_partial, discard_partial, job_key, refuse_existing
from vemprof.store._new import finish_dataset, write_arrays
from vemprof.store._store import DEFAULT_CHUNKS, Store
from vemprof.store._writer import _return_freed_memory, create_zarr_array

#: The scratch folder inside the partial store.
SCRATCH = ".tiles"


class Tile(Protocol):
    """What `write_tiled_dataset` reads of a tile."""

    @property
    def offset(self) -> tuple[int, int, int]:
        """Voxel offset (Z, Y, X) of the tile's first voxel in the dataset."""

    @property
    def image(self) -> np.ndarray:
        """The tile's raw image (Z, Y, X)."""

    @property
    def labels(self) -> dict[str, np.ndarray]:
        """Label images (Z, Y, X) of the image's shape; the same names and dtypes in every tile."""

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """Object tables in the dataset's ids and coordinates, concatenated over tiles."""

    @property
    def carry(self) -> dict:
        """JSON-serialisable state the next tile is made from (e.g. the largest id so far)."""


MakeTile = Callable[..., Tile]
"""Called as ``make_tile(index, carry=carry)``: tile ``index`` made from the ``carry`` of
tile ``index - 1`` (an empty dict for tile 0)."""


def write_tiled_dataset(
    destination: str | os.PathLike,
    *,
    shape: tuple[int, int, int],
    spacing: tuple[float, float, float],
    count: int,
    make_tile: MakeTile,
    step: str,
    parameters: dict,
    overwrite: bool = False,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    memory_mib: float | None = None,
    progress: ProgressReporter = no_progress,
) -> Store:
    """Create the store at ``destination`` from ``count`` tiles made one at a time.

    Parameters
    ----------
    destination : path
        The store to create (built in ``DEST.partial``, moved into place when complete;
        an existing one is replaced only with ``overwrite``).
    shape : tuple of 3 ints
        The dataset's shape, voxels (Z, Y, X); the tiles cover it.
    spacing : tuple of 3 floats
        Voxel size, nm (Z, Y, X).
    count : int
        Number of tiles.
    make_tile : callable
        ``make_tile(index, carry=carry)`` makes tile ``index`` (see `Tile`, `MakeTile`);
        tiles are made in order, 0 … count − 1.
    step, parameters
        The step's name and parameters, recorded as provenance; they must determine the
        content: an interrupted write repeated with the same ones resumes (finished
        tiles are not made again, finished chunks not written again). A `VemprofError`
        from a tile (bad input) discards the partial store.
    chunks : tuple of 3 ints
        Chunk shape of the store's arrays, voxels.
    memory_mib : float, optional
        Memory for the pyramids being written, MiB (see `Store.write_raw`). Making a tile
        takes what the tile takes (for a phantom, about 27 bytes per voxel of one tile).
    progress : ProgressReporter
        One task over the tiles, then one over the chunks written.

    Returns
    -------
    Store
    """
    destination = Path(destination)
    if count < 1:
        raise VemprofError(f"a tiled dataset needs at least one tile, got count={count}")
    refuse_existing(destination, overwrite=overwrite)
    shape = tuple(int(n) for n in shape)
    job = {"step": step, "parameters": parameters, "chunks": list(chunks), "spacing": list(spacing),
           "shape": list(shape), "tiles": int(count)}
    store, _ = begin_partial(destination, job)
    started = dt.datetime.now(dt.timezone.utc)
    scratch = _Scratch(store.path / SCRATCH, shape=shape, chunks=chunks)
    try:
        with progress(f"making {count} tiles", count) as advance:
            _make_tiles(scratch, make_tile, count=count, advance=advance)
    except VemprofError:
        discard_partial(store)  # bad input: the same job would fail the same way, nothing to resume
        raise
    label_names = scratch.label_names
    labels = {name: da.from_zarr(scratch.labels(name)) for name in label_names}
    write_arrays(store, da.from_zarr(scratch.raw()), labels, spacing=spacing, chunks=chunks,
                 resume_key=job_key(job), memory_mib=memory_mib, progress=progress,
                 description=f"writing {destination.name}")
    tables = scratch.tables()
    scratch.remove()
    return finish_dataset(store, destination, label_names=label_names, tables=tables, step=step,
                          parameters=parameters, started=started)


def _make_tiles(scratch: "_Scratch", make_tile: MakeTile, *, count: int, advance) -> None:
    """Make and write the tiles not yet recorded, in order, one in memory at a time."""
    done, carry = scratch.finished()
    if done:
        advance(done)
    for index in range(done, count):
        tile = make_tile(index, carry=carry)
        scratch.write(index, tile)
        carry = tile.carry
        del tile  # the next tile is made with this one released, and its memory handed back
        _return_freed_memory()
        advance(1)


class _Scratch:
    """The level-0 arrays, tables and log of finished tiles in ``folder``."""

    def __init__(self, folder: Path, *, shape: tuple[int, int, int], chunks: tuple[int, int, int]):
        self.folder, self.shape, self.chunks = folder, shape, chunks
        self.log = folder / "done.jsonl"

    def finished(self) -> tuple[int, dict]:
        """How many tiles (0 … n − 1) are written, and the last one's carry."""
        records = {}
        if self.log.exists():
            for line in self.log.read_text().splitlines():
                try:
                    record = json.loads(line)
                except ValueError:  # a line cut short by the interruption: that tile is redone
                    continue
                records[record["tile"]] = record["carry"]
        done = 0
        while done in records:
            done += 1
        return done, (records[done - 1] if done else {})

    def write(self, index: int, tile: Tile) -> None:
        """Write ``tile``'s arrays and tables, then record it (durably) as finished."""
        region = self._region(index, tile)
        arrays = {"raw": tile.image, **{f"labels/{name}": image for name, image in tile.labels.items()}}
        for name, array in arrays.items():
            target = self._array(name, index, tile.image.shape, array.dtype)
            _check_like(index, name, array, target)
            target[region] = array
        for name, table in tile.tables.items():
            _write_parquet(self.folder / "tables" / name / f"{index}.parquet", table)
        with open(self.log, "a") as log:
            log.write(json.dumps({"tile": index, "carry": tile.carry}) + "\n")
            log.flush()
            os.fsync(log.fileno())

    def raw(self) -> zarr.Array:
        return zarr.open_array(str(self.folder / "raw"), mode="r")

    def labels(self, name: str) -> zarr.Array:
        return zarr.open_array(str(self.folder / "labels" / name), mode="r")

    @property
    def label_names(self) -> list[str]:
        folder = self.folder / "labels"
        return sorted(p.name for p in folder.iterdir() if (p / "zarr.json").exists()) if folder.exists() else []

    def tables(self) -> dict[str, pd.DataFrame]:
        """Each table, its tiles' parts concatenated in tile order."""
        folder = self.folder / "tables"
        if not folder.exists():
            return {}
        return {part.name: _concatenated(sorted(part.glob("*.parquet"), key=lambda p: int(p.stem)))
                for part in sorted(folder.iterdir()) if part.is_dir()}

    def remove(self) -> None:
        shutil.rmtree(self.folder, ignore_errors=True)

    def _region(self, index: int, tile: Tile) -> tuple[slice, ...]:
        offset, size = tuple(int(o) for o in tile.offset), tile.image.shape
        if len(offset) != 3 or len(size) != 3 or any(o < 0 or o + n > m for o, n, m in zip(offset, size, self.shape)):
            raise VemprofError(f"tile {index} of shape {size} at offset {offset} does not lie inside the dataset "
                               f"of shape {self.shape}; give tiles that cover it")
        return tuple(slice(o, o + n) for o, n in zip(offset, size))

    def _array(self, name: str, index: int, tile_shape, dtype) -> zarr.Array:
        """The scratch array ``name``: made anew while writing tile 0, else reopened."""
        path = self.folder / name
        if index == 0:
            return create_zarr_array(path, shape=self.shape, dtype=dtype, chunks=_scratch_chunks(tile_shape, self.chunks))
        if not (path / "zarr.json").exists():
            raise VemprofError(f"tile {index} has {name} that tile 0 has not; every tile must have the same labels")
        return zarr.open_array(str(path), mode="r+")


def _scratch_chunks(tile_shape, chunks) -> tuple[int, ...]:
    """Chunks that tile boundaries fall on where the tile's size allows: per axis the
    chunk size itself where it divides the tile, the whole tile where it is smaller, else
    the largest divisor of the tile between half the chunk size and the chunk size, else
    the chunk size (tiles then share chunks at their edges, written in turn)."""
    return tuple(_aligned_chunk(int(n), int(c)) for n, c in zip(tile_shape, chunks))


def _aligned_chunk(extent: int, chunk: int) -> int:
    if extent % chunk == 0:
        return chunk
    if extent < chunk:
        return extent
    return next((d for d in range(chunk, chunk // 2, -1) if extent % d == 0), chunk)


def _check_like(index: int, name: str, array: np.ndarray, target: zarr.Array) -> None:
    if array.dtype != target.dtype:
        raise VemprofError(f"tile {index}'s {name} is {array.dtype} but the first tile's is {target.dtype}; "
                           "every tile must have the same dtypes")


def _write_parquet(path: Path, table: pd.DataFrame) -> None:
    """``table`` at ``path``, atomically (a cut-short file is never left there)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    table.to_parquet(temporary, index=False)
    os.replace(temporary, path)


def _concatenated(paths: list[Path]) -> pd.DataFrame:
    parts = [pd.read_parquet(path) for path in paths]
    filled = [part for part in parts if len(part)] or parts[:1]  # empty parts would blur the column types
    return pd.concat(filled, ignore_index=True)
