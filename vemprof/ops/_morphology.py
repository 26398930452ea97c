"""Binary morphology in nanometres: balls, erosion, dilation, opening, closing, shells.

The structuring element is a *physical ball*: the voxel offsets whose centre lies at
most ``radius_nm`` from the centre, measured in nm with the voxel size (so it is an
ellipsoid in voxels on an anisotropic grid). Distances are compared with a relative
slack of 1e-6 so a radius that is an exact multiple of the voxel size includes the
voxels at exactly that distance.

Three exact routes give the identical mask. On the CPU, balls of up to `MAX_BALL_ROWS`
rows along X are applied row by row: the ball is a set of centred runs along X, one per
(dz, dy), so the dilation is the OR of a few 1D running maxima (one per run width,
``maximum_filter1d``, whose cost does not grow with the width) shifted by each (dz, dy).
Larger balls threshold the exact anisotropic Euclidean distance transform (``edt``),
whose cost does not grow with the radius: dilation of M by the ball is
``{v : distance(v, M) <= r}`` and erosion is ``{v : distance(v, not M) > r}``. On the
GPU, balls of up to `SCIPY_MAX_BALL_VOXELS` voxels go to ``binary_dilation`` with the
ball as structure. The crossovers were measured (docs/ops.md).

Border convention (as scikit-image): outside the volume counts as background for
dilation and as foreground for erosion, so masks touching the volume edge do not
erode away from it.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import numpy as np
from scipy import ndimage

from vemprof.errors import VemprofError
from vemprof.ops._backend import gpu_enabled, ndimage_call
from vemprof.ops._blockwise import LENGTH_RTOL, map_elementwise, map_with_halo
from vemprof.ops._distance import distance_squared
from vemprof.ops._validate import (
    as_spacing,
    check_choice,
    check_image,
    check_length,
    check_mask,
    check_same_shape,
    is_dask,
    same_kind,
)

#: On the CPU, balls of at most this many runs along X use the row route, larger ones the
#: distance-transform route (measured crossover on one core, see benchmarks/bench_ops.py).
MAX_BALL_ROWS = 220
#: On the GPU, balls with at most this many voxels go to ``binary_dilation``/``binary_erosion``.
SCIPY_MAX_BALL_VOXELS = 123


def ball(radius_nm: float, *, spacing: Sequence[float]) -> np.ndarray:
    """The physical ball as a boolean structuring element.

    Parameters
    ----------
    radius_nm : float
        Radius in nm (>= 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (2a+1, 2b+1, 2c+1) bool array
        True where the voxel centre offset ``o`` satisfies
        ``sum((o * spacing)**2) <= radius_nm**2`` (with 1e-6 relative slack);
        a single True voxel when the radius is below the voxel size.

    Examples
    --------
    >>> ball(10, spacing=(10, 5, 5)).shape
    (3, 5, 5)
    """
    spacing = as_spacing(spacing)
    radius_nm = check_length(radius_nm, name="radius_nm")
    limit = radius_nm * radius_nm * (1 + LENGTH_RTOL)
    half = [int(np.floor(radius_nm * (1 + LENGTH_RTOL) / s)) for s in spacing]
    grids = np.ogrid[tuple(slice(-h, h + 1) for h in half)]
    squared = sum((g * s) ** 2 for g, s in zip(grids, spacing))
    return np.asarray(squared <= limit)


def _squared_limit(radius_nm: float) -> float:
    return radius_nm * radius_nm * (1 + LENGTH_RTOL)


def _ball_rows(footprint: np.ndarray) -> dict[tuple[int, int], int]:
    """The ball as runs along X: ``{(dz, dy): run length}`` for every (dz, dy) it reaches."""
    a, b = footprint.shape[0] // 2, footprint.shape[1] // 2
    lengths = footprint.sum(axis=2)
    return {(dz - a, dy - b): int(lengths[dz, dy]) for dz, dy in zip(*np.nonzero(lengths))}


def _dilate_by_rows(mask: np.ndarray, rows: dict[tuple[int, int], int]) -> np.ndarray:
    """Dilation by the ball given as centred runs along X (outside the volume: background)."""
    depth, height = mask.shape[:2]
    source = np.ascontiguousarray(mask, dtype=bool).view(np.uint8)
    dilated = np.zeros(mask.shape, bool)
    for length in sorted(set(rows.values())):  # one running maximum alive at a time
        run = ndimage.maximum_filter1d(source, size=length, axis=2, mode="constant", cval=0).view(bool)
        for (dz, dy) in (offset for offset, row_length in rows.items() if row_length == length):
            if abs(dz) >= depth or abs(dy) >= height:  # reaches past the volume: nothing to carry
                continue
            dilated[max(0, -dz): depth - max(0, dz), max(0, -dy): height - max(0, dy)] |= run[
                max(0, dz): depth - max(0, -dz), max(0, dy): height - max(0, -dy)]
    return dilated


def _dilate_block(mask: np.ndarray, *, radius_nm: float, spacing: tuple[float, ...]) -> np.ndarray:
    footprint = ball(radius_nm, spacing=spacing)
    if gpu_enabled() and footprint.sum() <= SCIPY_MAX_BALL_VOXELS:
        return ndimage_call("binary_dilation", mask, structure=footprint, border_value=0)
    rows = _ball_rows(footprint)
    if len(rows) <= MAX_BALL_ROWS:
        return _dilate_by_rows(mask, rows)
    return distance_squared(~mask, spacing) <= _squared_limit(radius_nm)


def _erode_block(mask: np.ndarray, *, radius_nm: float, spacing: tuple[float, ...]) -> np.ndarray:
    footprint = ball(radius_nm, spacing=spacing)
    if gpu_enabled() and footprint.sum() <= SCIPY_MAX_BALL_VOXELS:
        return ndimage_call("binary_erosion", mask, structure=footprint, border_value=1)
    rows = _ball_rows(footprint)
    if len(rows) <= MAX_BALL_ROWS:  # outside counts as mask: the dilated complement is background there
        return ~_dilate_by_rows(~mask, rows)
    return distance_squared(mask, spacing) > _squared_limit(radius_nm)


def _open_block(mask: np.ndarray, *, radius_nm: float, spacing: tuple[float, ...]) -> np.ndarray:
    return _dilate_block(_erode_block(mask, radius_nm=radius_nm, spacing=spacing), radius_nm=radius_nm, spacing=spacing)


def _close_block(mask: np.ndarray, *, radius_nm: float, spacing: tuple[float, ...]) -> np.ndarray:
    return _erode_block(_dilate_block(mask, radius_nm=radius_nm, spacing=spacing), radius_nm=radius_nm, spacing=spacing)


def _apply(block_function, mask: Any, radius_nm: Any, spacing: Any, *, reach_factor: int) -> Any:
    spacing = as_spacing(spacing)
    mask = check_mask(mask)
    radius_nm = check_length(radius_nm, name="radius_nm")
    block = partial(block_function, radius_nm=radius_nm, spacing=spacing)
    if is_dask(mask):
        return map_with_halo(block, mask, reach_nm=reach_factor * radius_nm, spacing=spacing, dtype=bool)
    return block(np.asarray(mask))


def dilate(mask: Any, *, radius_nm: float, spacing: Sequence[float]) -> Any:
    """Grow a mask by a physical radius: every voxel within ``radius_nm`` of the mask.

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
        Integer masks are read as ``mask != 0``.
    radius_nm : float
        Radius in nm (>= 0); below the voxel size on every axis nothing changes; a
        radius larger than the volume is allowed.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) bool array, numpy or lazy dask like ``mask``.

    Examples
    --------
    >>> import numpy as np
    >>> seed = np.zeros((5, 5, 5), bool); seed[2, 2, 2] = True
    >>> int(dilate(seed, radius_nm=5, spacing=(5, 5, 5)).sum())
    7
    """
    return _apply(_dilate_block, mask, radius_nm, spacing, reach_factor=1)


def erode(mask: Any, *, radius_nm: float, spacing: Sequence[float]) -> Any:
    """Shrink a mask: keep voxels whose whole ball of ``radius_nm`` lies in the mask.

    Outside the volume counts as mask, so the volume edge does not erode.

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
    radius_nm : float
        Radius in nm (>= 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) bool array, numpy or lazy dask like ``mask``.
    """
    return _apply(_erode_block, mask, radius_nm, spacing, reach_factor=1)


def opening(mask: Any, *, radius_nm: float, spacing: Sequence[float]) -> Any:
    """Erode then dilate: removes parts thinner than the ball, keeps the rest's shape.

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
    radius_nm : float
        Ball radius in nm (>= 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) bool array, numpy or lazy dask like ``mask``.
    """
    return _apply(_open_block, mask, radius_nm, spacing, reach_factor=2)


def closing(mask: Any, *, radius_nm: float, spacing: Sequence[float]) -> Any:
    """Dilate then erode: bridges gaps and fills dents narrower than the ball.

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
    radius_nm : float
        Ball radius in nm (>= 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) bool array, numpy or lazy dask like ``mask``.
    """
    return _apply(_close_block, mask, radius_nm, spacing, reach_factor=2)


def _shell_block(
    mask: np.ndarray, *, inner_nm: float, outer_nm: float, side: str, spacing: tuple[float, ...]
) -> np.ndarray:
    source = mask if side == "inside" else ~mask
    squared = distance_squared(source, spacing)
    return (squared > _squared_limit(inner_nm)) & (squared <= _squared_limit(outer_nm))


def shell(
    mask: Any, *, inner_nm: float, outer_nm: float, side: str = "inside", spacing: Sequence[float]
) -> Any:
    """A band at a depth range from a mask's surface, inside or outside it.

    ``side='inside'``: mask voxels whose nearest non-mask voxel lies in
    ``(inner_nm, outer_nm]`` — the mask eroded by ``inner_nm`` minus the mask eroded by
    ``outer_nm`` (so ``inner_nm=0`` starts at the mask's own boundary voxels).
    ``side='outside'``: non-mask voxels whose nearest mask voxel lies in
    ``(inner_nm, outer_nm]`` — the dilation by ``outer_nm`` minus the dilation by
    ``inner_nm``. The volume edge is not a surface (as for `erode`/`dilate`).

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
    inner_nm, outer_nm : float
        Depth range in nm, ``0 <= inner_nm < outer_nm``.
    side : {'inside', 'outside'}
        Which side of the mask's surface the band lies on.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) bool array, numpy or lazy dask like ``mask``.

    Examples
    --------
    >>> import numpy as np
    >>> cube = np.zeros((9, 9, 9), bool); cube[2:7, 2:7, 2:7] = True
    >>> int(shell(cube, inner_nm=0, outer_nm=10, spacing=(10, 10, 10)).sum())  # 5³ - 3³
    98
    """
    spacing = as_spacing(spacing)
    mask = check_mask(mask)
    inner_nm = check_length(inner_nm, name="inner_nm")
    outer_nm = check_length(outer_nm, name="outer_nm")
    side = check_choice(side, name="side", allowed=("inside", "outside"))
    if outer_nm <= inner_nm:
        raise VemprofError(f"shell needs inner_nm < outer_nm, got inner_nm={inner_nm:g}, outer_nm={outer_nm:g}")
    block = partial(_shell_block, inner_nm=inner_nm, outer_nm=outer_nm, side=side, spacing=spacing)
    if is_dask(mask):
        return map_with_halo(block, mask, reach_nm=outer_nm, spacing=spacing, dtype=bool)
    return block(np.asarray(mask))


def _mask_block(image: np.ndarray, mask: np.ndarray, *, fill_value: Any) -> np.ndarray:
    return np.where(mask, image, np.asarray(fill_value, dtype=image.dtype))


def mask_image(image: Any, mask: Any, *, fill_value: float = 0) -> Any:
    """Keep the image inside the mask and set every other voxel to ``fill_value``.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    mask : (Z, Y, X) bool array of the same shape
    fill_value : number
        Value outside the mask, cast to the image's dtype.

    Returns
    -------
    (Z, Y, X) array of the image's dtype.
    """
    image = check_image(image)
    mask = same_kind(image, check_mask(mask))
    check_same_shape(image, mask, what="mask")
    return map_elementwise(_mask_block, image, mask, dtype=image.dtype, fill_value=fill_value)


def _invert_block(image: np.ndarray) -> np.ndarray:
    if image.dtype == bool:
        return ~image
    if np.issubdtype(image.dtype, np.unsignedinteger):
        return np.iinfo(image.dtype).max - image
    if np.issubdtype(image.dtype, np.signedinteger):
        return -1 - image
    return -image


def invert(image: Any) -> Any:
    """Invert a mask or image so dark structures become bright.

    Masks: logical not. Unsigned integers: ``max(dtype) - image`` (uint8: 255 - v).
    Signed integers: ``-1 - image``. Floats: ``-image``. Voxel-wise, so a dask input
    gives the same answer chunk by chunk.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask

    Returns
    -------
    (Z, Y, X) array of the same dtype.
    """
    image = check_image(image)
    return map_elementwise(_invert_block, image, dtype=image.dtype)
