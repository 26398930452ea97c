"""The exact anisotropic Euclidean distance transform, in nanometres (``edt``).

``edt`` (seung-lab) computes the exact transform with the voxel size per axis, an order
of magnitude faster than ``scipy.ndimage.distance_transform_edt`` and in a fraction of
its memory (benchmarks/bench_ops.py, docs/ops.md). The volume edge is not background
(``black_border=False``), as in scipy.

Block-wise, a voxel's distance up to ``max_distance_nm`` depends only on the mask within
that distance, which the halo of ``max_distance_nm`` contains; larger distances are
reported as inf, on numpy and dask alike, so the two results are identical.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import edt
import numpy as np

from vemprof.errors import VemprofError
from vemprof.ops._blockwise import LENGTH_RTOL, map_with_halo
from vemprof.ops._validate import as_spacing, check_length, check_mask, is_dask


def distance_squared(mask: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Squared nm distance from each True voxel to the nearest False voxel (float32; inf if none).

    The in-memory kernel of `distance_transform`, also used by morphology and object
    features, which compare squared distances with squared radii.
    """
    return edt.edtsq(np.ascontiguousarray(mask, dtype=np.uint8), anisotropy=tuple(spacing), black_border=False)


def _distance_block(mask: np.ndarray, *, spacing: tuple[float, ...], max_distance_nm: float) -> np.ndarray:
    squared = distance_squared(mask, spacing)
    squared[squared > max_distance_nm * max_distance_nm * (1 + LENGTH_RTOL)] = np.inf
    return np.sqrt(squared, out=squared)


def distance_transform(mask: Any, *, spacing: Sequence[float], max_distance_nm: float | None = None) -> Any:
    """Distance in nm from each mask voxel to the nearest voxel outside the mask.

    Exact and anisotropic: the distance between voxel centres in nm, with the voxel
    size on each axis, as ``scipy.ndimage.distance_transform_edt(mask, sampling=spacing)``.
    For the distance *to* a mask (e.g. from every voxel to the nucleus), pass the
    inverted mask (`invert`).

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
        Integer masks are read as ``mask != 0``.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    max_distance_nm : float, optional
        Distances larger than this are reported as inf. Required for dask input,
        where it is the halo (keep it as small as the question allows); without it a
        numpy input gets every distance.

    Returns
    -------
    (Z, Y, X) float32 array
        0 outside the mask, the distance in nm inside it; inf inside the mask where
        there is no voxel outside it (in the volume, or within ``max_distance_nm``).
        A dask input gives a lazy result identical to the numpy result.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.ones((1, 1, 5), bool); mask[0, 0, 0] = False
    >>> distance_transform(mask, spacing=(8, 5, 5)).ravel().tolist()
    [0.0, 5.0, 10.0, 15.0, 20.0]
    """
    spacing = as_spacing(spacing)
    mask = check_mask(mask)
    if max_distance_nm is None:
        if is_dask(mask):
            raise VemprofError(
                "distance_transform on a dask array needs max_distance_nm=<the largest distance you need, nm>; "
                "it sets the halo"
            )
        max_distance_nm = np.inf
    else:
        max_distance_nm = check_length(max_distance_nm, name="max_distance_nm")
    block = partial(_distance_block, spacing=spacing, max_distance_nm=max_distance_nm)
    if is_dask(mask):
        return map_with_halo(block, mask, reach_nm=max_distance_nm, spacing=spacing, dtype=np.float32)
    return block(np.asarray(mask))
