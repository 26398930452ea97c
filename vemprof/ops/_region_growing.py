"""Region growing from seeds within an intensity range and a physical distance.

Definition (exact, and exactly reproduced block-wise): a voxel joins seed label L when

1. its intensity lies in ``[low, high]`` (seed voxels always belong to their label),
2. its nearest seed voxel (Euclidean, in nm) has label L and lies within
   ``max_distance_nm``, and
3. it is connected (``connectivity``) to a seed voxel through voxels given label L.

Steps 1-2 are local within ``max_distance_nm`` (one halo); step 3 is the exact
block-wise connected-component merge. The only block-dependence left is which seed
wins for a voxel *exactly* equidistant from two differently-labelled seeds.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import numpy as np
from scipy.ndimage import distance_transform_edt

from vemprof.errors import VemprofError
from vemprof.ops._blockwise import LENGTH_RTOL, map_elementwise, map_with_halo
from vemprof.ops._label import Components, analyse_components
from vemprof.ops._validate import (
    as_spacing,
    check_connectivity,
    check_image,
    check_labels,
    check_length,
    check_same_shape,
    is_dask,
    same_kind,
)


def _candidate_block(
    seeds: np.ndarray, image: np.ndarray, *, low: float, high: float, max_distance_nm: float,
    spacing: tuple[float, ...],
) -> np.ndarray:
    if not seeds.any():
        return np.zeros(seeds.shape, seeds.dtype)
    distance, nearest = distance_transform_edt(seeds == 0, sampling=spacing, return_indices=True)
    nearest_label = seeds[tuple(nearest)]
    in_range = (image >= low) & (image <= high)
    near = distance <= max_distance_nm * (1 + LENGTH_RTOL)
    return np.where((in_range & near) | (seeds > 0), nearest_label, 0).astype(seeds.dtype)


def _keep_seeded(block: np.ndarray, labels: np.ndarray, components: Components) -> np.ndarray:
    return np.where(components.marked[labels], block, 0)


def _is_seed(block: np.ndarray) -> np.ndarray:
    return block > 0


def grow_regions(
    seeds: Any, *, image: Any, low: float, high: float, max_distance_nm: float, spacing: Sequence[float],
    connectivity: int = 6,
) -> Any:
    """Grow each seed into connected voxels whose intensity lies in a range, up to a distance.

    Parameters
    ----------
    seeds : (Z, Y, X) integer array, numpy or dask
        Seed labels (0 = none), e.g. watershed cores or markers.
    image : (Z, Y, X) array
        Intensities tested against ``[low, high]``.
    low, high : float
        Inclusive intensity range of voxels that may join.
    max_distance_nm : float
        No voxel farther than this (nm) from its seed joins.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    connectivity : {6, 18, 26}
        How grown voxels must connect to their seed.

    Returns
    -------
    (Z, Y, X) labels with the seeds' dtype; lazy for dask input, equal to the numpy
    result except for voxels equidistant from two different seeds.
    """
    spacing = as_spacing(spacing)
    seeds = check_labels(seeds, what="seeds")
    image = same_kind(seeds, check_image(image))
    check_same_shape(seeds, image, what="image", reference_what="seeds")
    if float(low) > float(high):
        raise VemprofError(f"grow_regions needs low <= high, got low={low}, high={high}")
    max_distance_nm = check_length(max_distance_nm, name="max_distance_nm")
    connectivity = check_connectivity(connectivity)
    block = partial(
        _candidate_block, low=float(low), high=float(high), max_distance_nm=max_distance_nm, spacing=spacing
    )
    if is_dask(seeds):
        candidates = map_with_halo(block, seeds, image, reach_nm=max_distance_nm, spacing=spacing, dtype=seeds.dtype)
    else:
        candidates = block(np.asarray(seeds), np.asarray(image))
    return analyse_components(
        candidates, connectivity=connectivity, finish=_keep_seeded, dtype=seeds.dtype,
        marked=map_elementwise(_is_seed, seeds, dtype=bool),
    )
