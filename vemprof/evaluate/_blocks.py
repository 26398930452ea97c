"""Summaries of aligned blocks of several arrays, computed in bounded memory.

A metric over a volume larger than memory is a sum over blocks: each block of the
inputs is reduced to a few numbers or a small table, and the summaries are combined.
Dask inputs are reduced chunk by chunk in one dask computation (whose scheduler keeps
a few chunks in memory, never the volume); numpy inputs are cut into slabs along the
first axis (views, no copy) and reduced one slab per core at a time. Both call the same
block function, so the numpy and the dask answers are one computation.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import dask.array as da
import numpy as np
from dask.callbacks import Callback

from vemprof._progress import Advance, ProgressReporter, no_progress

#: Size of the slabs a numpy input is cut into, as float64 bytes (4 Mvoxel).
NUMPY_BLOCK_BYTES = 32 * 2**20


def block_summaries(
    function: Callable[..., Any], *arrays: Any, offsets: bool = False,
    progress: ProgressReporter = no_progress, description: str = "evaluating",
) -> list[Any]:
    """``function(*blocks)`` for every block of ``arrays`` (one shape), computed.

    Parameters
    ----------
    function : callable
        Takes the numpy blocks of ``arrays`` at one position (and ``offset=`` the
        block's first voxel index per axis when ``offsets``) and returns a summary.
    *arrays : numpy or dask arrays of one shape
        With any dask array among them, the blocks are the chunks of the first dask
        array (the others rechunked to them); with numpy arrays only, slabs along the
        first axis of about `NUMPY_BLOCK_BYTES` as float64.
    progress : ProgressReporter
        Advanced by one per block.

    Returns
    -------
    list
        One summary per block, in C order of the block positions.
    """
    if any(isinstance(a, da.Array) for a in arrays):
        return _dask_summaries(function, arrays, offsets=offsets, progress=progress, description=description)
    return _numpy_summaries(function, arrays, offsets=offsets, progress=progress, description=description)


def _dask_summaries(function, arrays, *, offsets, progress, description) -> list[Any]:
    chunks = next(a.chunks for a in arrays if isinstance(a, da.Array))
    arrays = [a.rechunk(chunks) if isinstance(a, da.Array) else da.from_array(a, chunks=chunks) for a in arrays]
    ndim = arrays[0].ndim

    def summarise(*blocks: np.ndarray, block_info=None) -> np.ndarray:
        options = {"offset": tuple(start for start, _ in block_info[0]["array-location"])} if offsets else {}
        summary = np.empty((1,) * ndim, dtype=object)
        summary[(0,) * ndim] = function(*blocks, **options)
        return summary

    summaries = da.map_blocks(summarise, *arrays, dtype=object, meta=np.empty((0,) * ndim, dtype=object))
    with progress(description, summaries.npartitions) as advance, _CountFinished(summaries.name, advance):
        return list(summaries.compute().ravel())


class _CountFinished(Callback):
    """Advances the progress by one for each finished task of the dask layer ``name``."""

    def __init__(self, name: str, advance: Advance):
        super().__init__()
        self._name, self._advance = name, advance

    def _posttask(self, key, result, dsk, state, worker_id) -> None:
        if isinstance(key, tuple) and key[0] == self._name:
            self._advance(1)


def _numpy_summaries(function, arrays, *, offsets, progress, description) -> list[Any]:
    shape = arrays[0].shape
    slabs = da.core.normalize_chunks(("auto",) + (-1,) * (len(shape) - 1), shape, limit=NUMPY_BLOCK_BYTES,
                                     dtype=np.float64)[0]
    starts = np.cumsum((0, *slabs[:-1]))

    def summarise(start: int, size: int) -> Any:
        blocks = [a[start:start + size] for a in arrays]
        return function(*blocks, offset=(int(start),) + (0,) * (len(shape) - 1)) if offsets else function(*blocks)

    pool = ThreadPoolExecutor(os.cpu_count() or 1)
    summaries = []
    try:
        with progress(description, len(slabs)) as advance:
            for summary in pool.map(summarise, starts, slabs):
                summaries.append(summary)
                advance(1)
    finally:  # an error or Ctrl-C drops the slabs not started yet
        pool.shutdown(cancel_futures=True)
    return summaries
