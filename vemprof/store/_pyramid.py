"""Multiscale pyramids: which axes to halve at each level, and lazy downsampling.

Anisotropic stacks (e.g. 8 × 5 × 5 nm) are first halved along the finer axes only, until
the voxels are close to isotropic, then along all three, as viewers expect.
"""

from __future__ import annotations

import itertools
import math
from concurrent.futures import Executor
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


def downsample_block(
    block: np.ndarray, factors: tuple[int, int, int], *, averaged: bool, out: np.ndarray | None = None,
    pool: Executor | None = None, parts: int = 1,
) -> np.ndarray:
    """`downsample` of an in-memory (Z, Y, X) block, identical to the lazy one voxel for voxel.

    The block is a piece of a level whose edges lie on even coordinates (or at the end of
    the level, where the last plane, row or column is replicated, as `downsample` pads).
    It works one output plane at a time, so ``out`` may share memory with ``block`` (it
    is then overwritten from its start: output plane ``z`` only covers input planes
    already read), which lets a writer downsample a buffer in place.

    Parameters
    ----------
    block : array (Z, Y, X)
    factors : 1 or 2 per axis
    averaged : block means (images; integers summed exactly and rounded half up) or every
        second voxel (labels)
    out : array of shape ``ceil(block.shape / factors)`` and ``block``'s dtype, optional
    pool, parts : an executor and the number of bands of rows each plane is split into
        for it (numpy releases the GIL, so threads share the work)

    Returns
    -------
    The downsampled block (``out`` when given).
    """
    shape = tuple(-(-n // f) for n, f in zip(block.shape, factors))
    if out is None:
        out = np.empty(shape, block.dtype)
    elif out.shape != shape:
        raise ValueError(f"out has shape {out.shape}, expected {shape}")
    fz, fy, fx = factors
    step = -(-shape[1] // max(1, parts if pool is not None else 1))
    bands = [(start, min(start + step, shape[1])) for start in range(0, shape[1], step)]

    def band(z: int, start: int, stop: int) -> np.ndarray:
        rows = slice(start * fy, min(stop * fy, block.shape[1]))
        if not averaged:
            return block[z * fz, rows.start:rows.stop:fy, ::fx].copy()
        planes = [block[min(z * fz + dz, block.shape[0] - 1), rows] for dz in range(fz)]
        return _plane_mean(planes, fy, fx)

    for z in range(shape[0]):
        if len(bands) == 1:
            out[z] = band(z, 0, shape[1])
            continue
        # every band of plane z is computed before any is stored: the stores may overwrite
        # input rows of plane z that another band still reads
        results = [pool.submit(band, z, start, stop) for start, stop in bands]
        for (start, stop), result in zip(bands, results):
            out[z, start:stop] = result.result()
    return out


def _plane_mean(planes: list[np.ndarray], fy: int, fx: int) -> np.ndarray:
    """Rounded mean of ``len(planes)`` planes over ``fy`` × ``fx`` blocks (edges replicated)."""
    dtype = planes[0].dtype
    accumulator = _accumulator(dtype)
    count = len(planes) * fy * fx
    if accumulator is np.float64:
        # the same order of additions as `_rounded_mean`, so both give the same floats
        height, width = planes[0].shape
        padding = ((0, height % fy), (0, width % fx))
        sums = np.zeros((-(-height // fy), -(-width // fx)), np.float64)
        for plane in planes:
            plane = np.pad(plane, padding, mode="edge") if any(after for _, after in padding) else plane
            for dy in range(fy):
                for dx in range(fx):
                    sums += plane[dy::fy, dx::fx]
        return sums / count
    if len(planes) == 2:
        sums = np.add(planes[0], planes[1], dtype=accumulator)
        sums = _pair_sums(sums, 0, accumulator) if fy == 2 else sums
    else:
        sums = _pair_sums(planes[0], 0, accumulator) if fy == 2 else planes[0].astype(accumulator)
    if fx == 2:
        sums = _pair_sums(sums, 1, accumulator)
    sums += count // 2
    return sums // count if count & (count - 1) else sums >> (count.bit_length() - 1)


def _pair_sums(array: np.ndarray, axis: int, dtype) -> np.ndarray:
    """Sums of neighbouring pairs along ``axis`` of a 2D array, in ``dtype``; an odd last
    element is paired with itself."""
    n = array.shape[axis]
    half = n // 2
    shape = list(array.shape)
    shape[axis] = -(-n // 2)
    sums = np.empty(shape, dtype)

    def take(index):
        return (index, slice(None)) if axis == 0 else (slice(None), index)

    np.add(array[take(slice(0, 2 * half, 2))], array[take(slice(1, 2 * half, 2))], out=sums[take(slice(0, half))],
           dtype=dtype)
    if n % 2:
        np.multiply(array[take(n - 1)], 2, out=sums[take(half)], dtype=dtype)
    return sums


def _accumulator(dtype: np.dtype):
    """A dtype that holds the exact sum of 8 values of ``dtype`` (floats: float64)."""
    dtype = np.dtype(dtype)
    if not np.issubdtype(dtype, np.integer):
        return np.float64
    wider = {1: 2, 2: 4, 4: 8, 8: 8}[dtype.itemsize]
    return np.dtype(f"{'int' if np.issubdtype(dtype, np.signedinteger) else 'uint'}{wider * 8}").type


def _rounded_mean(blocks: np.ndarray, axis: tuple[int, ...] | None = None) -> np.ndarray:
    """Mean over ``axis`` (all when None) in the input dtype; integers are summed exactly
    and rounded half up."""
    if axis is None:
        return _rounded_mean(blocks.reshape(1, -1), axis=(1,))[0]
    count = int(np.prod([blocks.shape[a] for a in axis]))
    accumulator = _accumulator(blocks.dtype) if count <= 8 else (
        np.float64 if not np.issubdtype(blocks.dtype, np.integer)
        else np.int64 if np.issubdtype(blocks.dtype, np.signedinteger) else np.uint64)
    # adding the few strided sub-grids is several times faster than numpy's sum over
    # interleaved axes
    kept = tuple(slice(None) if a not in axis else 0 for a in range(blocks.ndim))
    sums = np.zeros(blocks[kept].shape, dtype=accumulator)
    for offsets in itertools.product(*(range(blocks.shape[a]) for a in axis)):
        index = list(kept)
        for a, offset in zip(axis, offsets):
            index[a] = offset
        sums += blocks[tuple(index)]
    if accumulator is np.float64:
        return (sums / count).astype(blocks.dtype)
    return ((sums + count // 2) // count).astype(blocks.dtype)
