"""Multiscale pyramids: which axes to halve at each level, and lazy downsampling.

Anisotropic stacks (e.g. 8 × 5 × 5 nm) are first halved along the finer axes only, until
the voxels are close to isotropic, then along all three, as viewers expect.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

import dask.array as da
import numpy as np

MAX_LEVELS = 8


@dataclass(frozen=True)
class PyramidLevel:
    """One level: its shape (voxels), voxel size (nm), offset of its first voxel (nm) and
    the per-axis factor relative to the level above it."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    offset: tuple[float, float, float]
    factors: tuple[int, int, int]


def plan_pyramid(
    shape: tuple[int, int, int], spacing: tuple[float, float, float], *, chunk_shape: tuple[int, int, int],
    averaged: bool,
) -> list[PyramidLevel]:
    """Levels from full resolution down to the first that fits in one chunk per axis.

    Parameters
    ----------
    shape : (Z, Y, X) of level 0, voxels.
    spacing : (z, y, x) voxel size of level 0, nm.
    chunk_shape : chunk edge lengths, voxels.
    averaged : True for images (2×2×2 means, shifting voxel centres by half a voxel),
        False for labels (every second voxel, no shift).
    """
    levels = [PyramidLevel(tuple(shape), tuple(spacing), (0.0, 0.0, 0.0), (1, 1, 1))]
    while len(levels) < MAX_LEVELS:
        last = levels[-1]
        if all(n <= c for n, c in zip(last.shape, chunk_shape)):
            break
        coarsest = max(last.spacing)
        finer = [s * 1.5 <= coarsest for s in last.spacing]
        halve = finer if any(finer) else [True, True, True]
        factors = tuple(2 if h and n > 1 else 1 for h, n in zip(halve, last.shape))
        if factors == (1, 1, 1):
            break
        shape_next = tuple(math.ceil(n / f) for n, f in zip(last.shape, factors))
        spacing_next = tuple(s * f for s, f in zip(last.spacing, factors))
        shift = tuple((f - 1) * s / 2 if averaged else 0.0 for s, f in zip(last.spacing, factors))
        offset_next = tuple(o + d for o, d in zip(last.offset, shift))
        levels.append(PyramidLevel(shape_next, spacing_next, offset_next, factors))
    return levels


def downsample(array: da.Array, factors: tuple[int, int, int], *, averaged: bool) -> da.Array:
    """Halve ``array`` along the axes whose factor is 2.

    Images are block means (edges padded by replication, result cast back to the input
    dtype with rounding); labels take every ``factor``-th voxel so ids stay ids.
    """
    if not averaged:
        return array[tuple(slice(None, None, f) for f in factors)]
    padding = [(0, (-n) % f) for n, f in zip(array.shape, factors)]
    if any(after for _, after in padding):
        array = da.pad(array, padding, mode="edge")
    return da.coarsen(_rounded_mean, array, dict(enumerate(factors)))


def _rounded_mean(blocks: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """Mean over ``axis`` (all when None) in the input dtype; integers are summed exactly
    and rounded half up."""
    if axis is None:
        return _rounded_mean(blocks.reshape(1, -1), axis=(1,))[0]
    accumulator = np.float64 if not np.issubdtype(blocks.dtype, np.integer) else (
        np.int64 if np.issubdtype(blocks.dtype, np.signedinteger) else np.uint64)
    # adding the few strided sub-grids is several times faster than numpy's sum over
    # interleaved axes
    kept = tuple(slice(None) if a not in axis else 0 for a in range(blocks.ndim))
    sums = np.zeros(blocks[kept].shape, dtype=accumulator)
    for offsets in itertools.product(*(range(blocks.shape[a]) for a in axis)):
        index = list(kept)
        for a, offset in zip(axis, offsets):
            index[a] = offset
        sums += blocks[tuple(index)]
    count = int(np.prod([blocks.shape[a] for a in axis]))
    if accumulator is np.float64:
        return (sums / count).astype(blocks.dtype)
    return ((sums + count // 2) // count).astype(blocks.dtype)
