"""Mask clean-up that needs whole objects: small objects, holes (exact block-wise)."""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import numpy as np

from vemprof.ops._blockwise import map_elementwise
from vemprof.ops._label import Components, analyse_components
from vemprof.ops._validate import (
    as_spacing,
    check_connectivity,
    check_length,
    check_mask,
)

#: Holes are components of the background under face connectivity, the complement of
#: the 26-connectivity used for objects (as scipy.ndimage.binary_fill_holes).
HOLE_CONNECTIVITY = 6


def _keep_large(block: np.ndarray, labels: np.ndarray, components: Components, *, min_voxels: float) -> np.ndarray:
    keep = components.voxels >= min_voxels
    keep[0] = False
    return keep[labels]


def remove_small_objects(
    mask: Any, *, min_volume_nm3: float, spacing: Sequence[float], connectivity: int = 26
) -> Any:
    """Drop connected objects smaller than a physical volume.

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
    min_volume_nm3 : float
        Objects with fewer than ``min_volume_nm3 / prod(spacing)`` voxels are removed.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    connectivity : {6, 18, 26}
        How voxels join into objects.

    Returns
    -------
    (Z, Y, X) bool array; a dask input gives a lazy, identical result (objects that
    cross chunk borders are measured whole).
    """
    spacing = as_spacing(spacing)
    mask = check_mask(mask)
    min_voxels = check_length(min_volume_nm3, name="min_volume_nm3") / float(np.prod(spacing))
    return analyse_components(
        mask, connectivity=check_connectivity(connectivity),
        finish=partial(_keep_large, min_voxels=min_voxels), dtype=bool,
    )


def _fill(block: np.ndarray, labels: np.ndarray, components: Components, *, max_voxels: float) -> np.ndarray:
    hole = ~components.on_border & (components.voxels < max_voxels)
    hole[0] = False
    return ~block | hole[labels]


def _invert_mask(block: np.ndarray) -> np.ndarray:
    return ~block


def fill_holes(mask: Any) -> Any:
    """Fill every cavity: background not connected (by faces) to the volume's faces.

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask

    Returns
    -------
    (Z, Y, X) bool array, the same as ``scipy.ndimage.binary_fill_holes``; a dask input
    gives a lazy, identical result.

    Examples
    --------
    >>> import numpy as np
    >>> hollow = np.ones((3, 3, 3), bool); hollow[1, 1, 1] = False
    >>> bool(fill_holes(hollow).all())
    True
    """
    mask = check_mask(mask)
    background = map_elementwise(_invert_mask, mask, dtype=bool)
    return analyse_components(
        background, connectivity=HOLE_CONNECTIVITY, finish=partial(_fill, max_voxels=np.inf), dtype=bool
    )


def remove_small_holes(mask: Any, *, min_volume_nm3: float, spacing: Sequence[float]) -> Any:
    """Fill cavities smaller than a physical volume; larger cavities stay open.

    A cavity is background not connected (by faces) to the volume's faces, so
    background reaching the edge of the volume is never filled.

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
    min_volume_nm3 : float
        Cavities with fewer than ``min_volume_nm3 / prod(spacing)`` voxels are filled.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) bool array; lazy and identical for a dask input.
    """
    spacing = as_spacing(spacing)
    mask = check_mask(mask)
    max_voxels = check_length(min_volume_nm3, name="min_volume_nm3") / float(np.prod(spacing))
    background = map_elementwise(_invert_mask, mask, dtype=bool)
    return analyse_components(
        background, connectivity=HOLE_CONNECTIVITY, finish=partial(_fill, max_voxels=max_voxels), dtype=bool
    )
