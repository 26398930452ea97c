"""The blocks the measurements read: a dask array's chunks, a numpy array's slabs.

Every table of `vemprof.measure` is summed over blocks, so memory holds a block or two,
and the same volume gives the same table as a numpy or a dask array of any chunking.
"""

from __future__ import annotations

from typing import Any, Iterator

import dask.array as da
import numpy as np

from vemprof.ops._validate import is_dask

#: Voxels read at once from a numpy array (whole planes, stacked).
SLAB_VOXELS = 2 ** 21


def block_regions(array: Any) -> list[tuple[slice, slice, slice]]:
    """The regions of ``array``'s blocks: its chunks (dask), or slabs of whole planes of
    about `SLAB_VOXELS` (numpy), in order."""
    if is_dask(array):
        chunks = array.chunks
    else:
        slab = max(1, SLAB_VOXELS // max(1, array.shape[1] * array.shape[2]))
        chunks = da.core.normalize_chunks((slab, -1, -1), array.shape)
    starts = [np.cumsum((0, *c[:-1])) for c in chunks]
    return [tuple(slice(int(s[i]), int(s[i] + c[i])) for s, c, i in zip(starts, chunks, index))
            for index in np.ndindex(*[len(c) for c in chunks])]


def blocks(*arrays: Any) -> Iterator[tuple[np.ndarray, ...]]:
    """The arrays (of one shape) side by side, block by block of the first, as numpy."""
    for region in block_regions(arrays[0]):
        yield tuple(np.asarray(array[region]) for array in arrays)
