"""The one place where an operation's physical reach becomes a halo and a `map_overlap`.

Every local operation states how far (in nm) an output voxel can "see" into its input:
its *reach*. `halo_voxels` turns that reach into a halo per axis
(``ceil(reach_nm / spacing)``), and `map_with_halo` runs the operation's in-memory
function on each chunk padded by that halo, with ``boundary='none'``: a chunk on the
edge of the volume is *not* padded on that side, so the in-memory function applies its
own scipy boundary mode at exactly the same place as on the whole array. Inside the
volume a voxel's answer depends only on input within its reach, which the halo
contains, so the block-wise result equals the whole-array result voxel for voxel.

Chunks thinner than the halo are merged with a neighbour first (dask's overlap can only
borrow from the adjacent chunk); where the halo reaches across the whole volume along
an axis, that axis becomes a single chunk and needs no halo.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Callable, Sequence

import dask
import dask.array as da
import numpy as np
from dask.array.overlap import ensure_minimum_chunksize

from vemprof.ops._validate import as_spacing, check_image, check_length, is_dask

#: Relative slack when a length in nm is compared with distances between voxel centres,
#: so that a radius that is an exact multiple of the voxel size includes the voxels at
#: exactly that distance despite floating-point rounding (see `_morphology.ball`).
LENGTH_RTOL = 1e-6


def halo_voxels(reach_nm: float, spacing: Sequence[float]) -> tuple[int, int, int]:
    """The halo, in voxels per axis (Z, Y, X), that covers a physical reach.

    Parameters
    ----------
    reach_nm : float
        How far from an output voxel its input can matter, in nm (>= 0).
    spacing : sequence of 3 floats
        Voxel size in nm along (Z, Y, X).

    Returns
    -------
    tuple of 3 ints
        ``ceil(reach_nm / spacing)`` per axis (with `LENGTH_RTOL` slack, never less).

    Examples
    --------
    >>> halo_voxels(18, (8, 5, 5))
    (3, 4, 4)
    """
    reach_nm = check_length(reach_nm, name="reach_nm")
    spacing = as_spacing(spacing)
    return tuple(int(math.ceil(reach_nm * (1 + LENGTH_RTOL) / s)) for s in spacing)  # type: ignore[return-value]


def _chunks_and_depth(
    chunks: tuple[tuple[int, ...], ...], depth: Sequence[int]
) -> tuple[tuple[tuple[int, ...], ...], tuple[int, ...]]:
    """Chunks where every chunk is at least the halo, and the halo actually needed."""
    new_chunks, new_depth = [], []
    for axis_chunks, axis_depth in zip(chunks, depth):
        size = sum(axis_chunks)
        if axis_depth == 0 or len(axis_chunks) == 1:
            new_chunks.append(axis_chunks)
            new_depth.append(0)
        elif axis_depth >= size:
            new_chunks.append((size,))
            new_depth.append(0)
        else:
            new_chunks.append(tuple(ensure_minimum_chunksize(axis_depth, axis_chunks)))
            new_depth.append(axis_depth)
    return tuple(new_chunks), tuple(new_depth)


def map_with_halo(
    function: Callable[..., np.ndarray],
    *arrays: da.Array,
    reach_nm: float,
    spacing: Sequence[float],
    dtype: Any,
    core: bool = False,
) -> da.Array:
    """Run ``function`` on each chunk of ``arrays`` padded by the halo of ``reach_nm``.

    Parameters
    ----------
    function : callable
        The operation's in-memory function with its options bound
        (``functools.partial``): takes the padded blocks of ``arrays`` (numpy, same
        shape) and returns an array of that shape.
    *arrays : dask.array.Array
        3D arrays of one shape; all are chunked like the first.
    reach_nm : float
        The operation's physical reach in nm (from its parameters).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    dtype : numpy dtype
        The output's dtype.
    core : bool
        Also pass ``core=``, the slices of the padded block that the chunk itself covers
        (only they are kept), so the function can skip work that reaches only the halo.

    Returns
    -------
    dask.array.Array
        Lazy result with the same shape; chunks as the first input's, except where
        chunks thinner than the halo had to be merged.
    """
    depth = halo_voxels(reach_nm, spacing)
    chunks, depth = _chunks_and_depth(arrays[0].chunks, depth)
    blocks = [array.rechunk(chunks) for array in arrays]
    if core:
        function = partial(_with_core, function, depth=depth, counts=[len(axis_chunks) for axis_chunks in chunks])
    return da.map_overlap(
        function,
        *blocks,
        depth=[dict(enumerate(depth))] * len(blocks),
        boundary=[dict.fromkeys(range(3), "none")] * len(blocks),
        trim=True,
        align_arrays=False,
        allow_rechunk=False,
        dtype=dtype,
        meta=np.empty((0, 0, 0), dtype=dtype),
    )


def _core(shape: Sequence[int], *, depth: Sequence[int], block_id: Sequence[int],
          counts: Sequence[int]) -> tuple[slice, ...]:
    """The slices of a padded block (``shape``) that its chunk covers: no halo beyond the volume."""
    return tuple(slice(d if index > 0 else 0, size - (d if index < count - 1 else 0))
                 for size, d, index, count in zip(shape, depth, block_id, counts))


def _with_core(function: Callable[..., np.ndarray], *padded_blocks: np.ndarray, depth: Sequence[int],
               counts: Sequence[int], block_id: tuple[int, ...]) -> np.ndarray:
    return function(*padded_blocks, core=_core(padded_blocks[0].shape, depth=depth, block_id=block_id,
                                                counts=counts))


def map_channels_with_halo(
    function: Callable[..., np.ndarray],
    image: Any,
    *,
    halo: Sequence[int],
    channels: int,
    dtype: Any,
) -> Any:
    """Run ``function`` on each chunk of ``image`` padded by ``halo``; it returns channels for the chunk.

    For operations with many output channels (the pixel classifier's feature bank): the
    function gets the padded block and ``core``, the slices of that block which the
    chunk itself covers, and returns only the core, with a trailing channel axis, so no
    padded multi-channel block is ever held. Padding and merging of thin chunks are as
    in `map_with_halo` (``boundary='none'``: exact at the volume's faces).

    Parameters
    ----------
    function : callable
        ``function(padded_block, core=tuple_of_3_slices) -> (*core_shape, channels) array``.
    image : (Z, Y, X) array, numpy or dask
        The input; a numpy image is one block with no halo.
    halo : sequence of 3 ints
        Voxels per axis that a chunk needs around it (e.g. summed kernel radii, or
        `halo_voxels` of a reach in nm).
    channels : int
        Length of the output's trailing axis.
    dtype : numpy dtype
        The output's dtype.

    Returns
    -------
    (Z, Y, X, channels) array, numpy or lazy dask like ``image``
        A dask result is chunked like ``image`` (one chunk along channels), except where
        chunks thinner than the halo had to be merged.
    """
    image = check_image(image)
    if not is_dask(image):
        return function(image, core=tuple(slice(0, n) for n in image.shape))
    chunks, depth = _chunks_and_depth(image.chunks, halo)
    padded = da.overlap.overlap(
        image.rechunk(chunks),
        depth=dict(enumerate(depth)),
        boundary=dict.fromkeys(range(3), "none"),
        allow_rechunk=False,
    )
    counts = [len(axis_chunks) for axis_chunks in chunks]

    def block(padded_block: np.ndarray, block_id: tuple[int, ...]) -> np.ndarray:
        return function(padded_block, core=_core(padded_block.shape, depth=depth, block_id=block_id, counts=counts))

    return da.map_blocks(
        block,
        padded,
        new_axis=3,
        chunks=(*chunks, (channels,)),
        dtype=dtype,
        meta=np.empty((0, 0, 0, 0), dtype=dtype),
    )


def map_elementwise(function: Callable[..., np.ndarray], *arrays: Any, dtype: Any, **kwargs: Any) -> Any:
    """Apply a voxel-wise function to numpy arrays directly or to dask arrays per chunk."""
    if isinstance(arrays[0], da.Array):
        blocks = [da.asarray(a).rechunk(arrays[0].chunks) for a in arrays]
        return da.map_blocks(function, *blocks, dtype=dtype, meta=np.empty((0, 0, 0), dtype=dtype), **kwargs)
    return function(*arrays, **kwargs)


def reduce_with_halo(
    function: Callable[..., Any],
    *arrays: Any,
    reach_nm: float,
    spacing: Sequence[float],
) -> list[Any]:
    """Summarise every chunk of ``arrays``, padded by the halo of ``reach_nm``, lazily.

    For global measurements (object tables) rather than images: ``function`` gets the
    padded numpy blocks, ``core`` (the slices of the padded block that the chunk itself
    covers) and ``offset`` (where the padded block starts in the volume), and returns a
    small summary. A numpy input is one block.

    Parameters
    ----------
    function : callable
        ``function(*padded_blocks, core=tuple_of_slices, offset=tuple_of_ints) -> summary``.
    *arrays : numpy or dask arrays of one shape (None entries are passed through)
        All are chunked like the first.
    reach_nm : float
        Physical reach of the measurement in nm.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    list
        One summary per chunk (``dask.delayed`` objects for dask input, values otherwise).
    """
    first = arrays[0]
    if not isinstance(first, da.Array):
        full = tuple(slice(0, n) for n in first.shape)
        return [function(*arrays, core=full, offset=(0, 0, 0))]
    chunks, depth = _chunks_and_depth(first.chunks, halo_voxels(reach_nm, spacing))
    padded = [
        None if a is None
        else da.overlap.overlap(da.asarray(a).rechunk(chunks), depth=dict(enumerate(depth)),
                                boundary=dict.fromkeys(range(3), "none"), allow_rechunk=False).to_delayed()
        for a in arrays
    ]
    starts = [np.concatenate([[0], np.cumsum(c)]) for c in chunks]
    summaries = []
    for position in np.ndindex(*(len(c) for c in chunks)):
        core, offset = [], []
        for axis, index in enumerate(position):
            begin, end = int(starts[axis][index]), int(starts[axis][index + 1])
            low = begin - depth[axis] if index > 0 else begin  # no halo beyond the volume
            core.append(slice(begin - low, end - low))
            offset.append(low)
        blocks = [None if p is None else p[position] for p in padded]
        summaries.append(dask.delayed(function, pure=True)(*blocks, core=tuple(core), offset=tuple(offset)))
    return summaries
