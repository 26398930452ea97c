"""Watershed: markers from h-maxima, seeded flooding, splitting touching objects.

Block-wise, each chunk is flooded together with a halo of ``halo_nm`` around it, using
markers numbered globally (so the same basin has the same id in every chunk), and only
the chunk's own voxels are kept. This is *not* guaranteed to equal the whole-array
watershed: a voxel can flood differently when the basin that would reach it first
lies beyond the halo, or where plateaus are broken in a different order. With a halo
larger than the objects the differences are rare; docs/ops.md gives measurements.
Maxima found block-wise can likewise differ where a plateau or dome is wider than the
halo; their numbering is exact (global connected components).

Memory on dask: a chain of block-wise steps computed as one graph holds intermediate
blocks until every step that reads them is done, and the global numbering reads its
input twice. With ``staging`` (a folder), `find_maxima` and `split_touching` write each
intermediate (the mask, the distance map, the maxima, the parts) to zarr there and read it
back, so memory stays that of a few blocks whatever the volume: `split_touching` of a
1.25·10⁸-voxel mask held 6.3 GiB in one graph (growing with the volume; 2.7 GiB staged),
and a 10⁹-voxel one was killed at 24 GiB.
"""

from __future__ import annotations

import os
from functools import partial
from typing import Any, Sequence

import cc3d
import dask.array as da
import numpy as np
from scipy import ndimage
from scipy.ndimage import generate_binary_structure
from skimage.morphology import h_maxima
from skimage.segmentation import watershed as skimage_watershed

from vemprof.ops._blockwise import map_with_halo
from vemprof.ops._distance import distance_squared
from vemprof.ops._label import connected_components, label_dtype
from vemprof.ops._necks import merge_wide_necks
from vemprof.ops._validate import (
    as_spacing,
    check_connectivity,
    check_image,
    check_labels,
    check_length,
    check_mask,
    check_same_shape,
    is_dask,
    same_kind,
)

DEFAULT_HALO_NM = 500.0
_FOOTPRINT_RANK = {6: 1, 18: 2, 26: 3}


def _footprint(connectivity: int) -> np.ndarray:
    return generate_binary_structure(3, _FOOTPRINT_RANK[connectivity])


def _extrema_block(image: np.ndarray, mask: np.ndarray | None, *, h: float, minima: bool, connectivity: int,
                   core: tuple[slice, ...] | None = None) -> np.ndarray:
    """The h-maxima (h-minima) of ``image`` in ``mask``; block-wise, only those in the
    chunk's ``core`` of the padded block are found (the rest is cut off)."""
    if mask is not None and core is not None:
        mask = _within(mask, core)
    if mask is not None and not mask.any():  # nothing to keep: skip the costly reconstruction
        return np.zeros(image.shape, bool)
    values = image.astype(np.float64)
    if minima:  # the h-minima of an image are the h-maxima of its negative
        values = -values
    if mask is None:
        return h_maxima(values, h, footprint=_footprint(connectivity)).astype(bool)
    return _masked_h_maxima(values, mask, h=h, connectivity=connectivity)


def _masked_h_maxima(values: np.ndarray, mask: np.ndarray, *, h: float, connectivity: int) -> np.ndarray:
    """The h-maxima of ``values`` that lie in ``mask``, each found on its own region.

    Whether a voxel of value v is an h-maximum depends only on its connected region of
    values above v - h (scikit-image's reconstruction); for the voxels of ``mask`` those
    regions lie in the pieces of ``values > min(values[mask]) - h``. Each piece is
    reconstructed in its bounding box with the rest of the box lowered below every such
    region: the same maxima as the whole array's, at the cost of the pieces, not of the
    block (for a distance map, the objects; for the pockets' contrast, the bright spots).
    """
    floor = float(values[mask].min()) - h
    pieces = cc3d.connected_components(values > floor, connectivity=connectivity)
    found = np.zeros(values.shape, bool)
    for index, piece in enumerate(ndimage.find_objects(pieces), start=1):
        if piece is None:
            continue
        box = tuple(slice(max(0, s.start - 1), s.stop + 1) for s in piece)
        inside = pieces[box] == index
        if not (inside & mask[box]).any():
            continue
        region = np.where(inside, values[box], floor - 2 * h)
        found[box] |= h_maxima(region, h, footprint=_footprint(connectivity)).astype(bool) & inside
    return found & mask


def _within(mask: np.ndarray, core: tuple[slice, ...]) -> np.ndarray:
    """``mask`` inside ``core`` only."""
    kept = np.zeros_like(mask)
    kept[core] = mask[core]
    return kept


def _staged(array: Any, staging: str | os.PathLike | None, name: str) -> Any:
    """``array`` written to ``staging``/``name``.zarr and read back (dask, with a folder),
    else as it is."""
    if staging is None or not is_dask(array):
        return array
    path = os.path.join(os.fspath(staging), f"{name}.zarr")
    array.rechunk(array.chunksize).to_zarr(path, overwrite=True)  # zarr wants even chunks
    return da.from_zarr(path)


def find_maxima(
    image: Any, *, h: float, spacing: Sequence[float], mask: Any = None, minima: bool = False,
    halo_nm: float = DEFAULT_HALO_NM, connectivity: int = 26, staging: str | os.PathLike | None = None,
) -> Any:
    """Markers: the regional maxima (or minima) at least ``h`` high, labelled 1..K.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    h : float
        Minimal height of a maximum above its surroundings, in intensity units (> 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    mask : (Z, Y, X) bool array, optional
        Keep only maxima inside it.
    minima : bool
        Find h-minima instead (dark spots, watershed basins).
    halo_nm : float
        Block-wise only: how far each chunk looks beyond itself; larger than the
        widest dome or plateau.
    connectivity : {6, 18, 26}
        Which neighbours form one plateau or maximum.
    staging : folder, optional
        Dask only: the maxima are written there before they are numbered, so they are
        found once and not held in memory (module note).

    Returns
    -------
    (Z, Y, X) uint32 marker labels; a lazy dask array for dask input.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    h = check_length(h, name="h", allow_zero=False)
    halo_nm = check_length(halo_nm, name="halo_nm")
    connectivity = check_connectivity(connectivity)
    block = partial(_extrema_block, h=h, minima=bool(minima), connectivity=connectivity)
    if mask is not None:
        mask = check_mask(mask)
        check_same_shape(image, mask, what="mask")
        mask = same_kind(image, mask)
    if is_dask(image):
        arrays = (image,) if mask is None else (image, mask)
        function = block if mask is not None else partial(_single, block)
        peaks = _staged(map_with_halo(function, *arrays, reach_nm=halo_nm, spacing=spacing, dtype=bool,
                                      core=mask is not None), staging, "maxima")
    else:
        peaks = block(np.asarray(image), None if mask is None else np.asarray(mask))
    return connected_components(peaks, connectivity=connectivity)


def _single(block_function, image: np.ndarray) -> np.ndarray:
    return block_function(image, None)


def _watershed_block(
    image: np.ndarray, markers: np.ndarray, mask: np.ndarray | None = None, *, connectivity: int, compactness: float
) -> np.ndarray:
    return skimage_watershed(
        image, markers=markers, mask=mask, connectivity=_FOOTPRINT_RANK[connectivity], compactness=compactness
    ).astype(markers.dtype, copy=False)


def watershed(
    image: Any, *, markers: Any, spacing: Sequence[float], mask: Any = None, connectivity: int = 6,
    compactness: float = 0.0, halo_nm: float = DEFAULT_HALO_NM,
) -> Any:
    """Seeded watershed: flood ``image`` from low to high values, starting at the markers.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
        The relief; basins are low (pass ``-distance`` or an inverted image to grow
        from bright centres).
    markers : (Z, Y, X) integer array
        Seeds, 0 = none; their ids become the object ids (e.g. from `find_maxima`).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    mask : (Z, Y, X) bool array, optional
        Only voxels inside it are flooded; the rest stay 0.
    connectivity : {6, 18, 26}
        Neighbours a basin floods into.
    compactness : float
        scikit-image's compact watershed (0 = classic).
    halo_nm : float
        Block-wise only: how far each chunk floods beyond itself; larger than the
        largest object's diameter for seam-free results.

    Returns
    -------
    (Z, Y, X) labels with the markers' dtype; lazy for dask input.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    markers = same_kind(image, check_labels(markers, what="markers"))
    check_same_shape(image, markers, what="markers")
    connectivity = check_connectivity(connectivity)
    halo_nm = check_length(halo_nm, name="halo_nm")
    block = partial(_watershed_block, connectivity=connectivity, compactness=float(compactness))
    arrays = [image, markers]
    if mask is not None:
        mask = check_mask(mask)
        check_same_shape(image, mask, what="mask")
        arrays.append(same_kind(image, mask))
    if is_dask(image):
        return map_with_halo(block, *arrays, reach_nm=halo_nm, spacing=spacing, dtype=markers.dtype)
    return block(*[np.asarray(a) for a in arrays])


def _capped_distance_block(mask: np.ndarray, *, spacing: tuple[float, ...], cap_nm: float) -> np.ndarray:
    distance = np.sqrt(distance_squared(mask, spacing))
    return np.minimum(distance, np.float32(cap_nm)).astype(np.float32)


def _negate(block: np.ndarray) -> np.ndarray:
    return -block


def split_touching(
    mask: Any, *, spacing: Sequence[float], h_nm: float = 10.0, max_radius_nm: float = 250.0, connectivity: int = 6,
    neck_ratio: float | None = None, staging: str | os.PathLike | None = None,
) -> Any:
    """Split touching objects: watershed of the distance map from its h-maxima.

    The distance from each mask voxel to the background (nm, capped at
    ``max_radius_nm``) peaks at object centres; peaks at least ``h_nm`` above the
    necks between them become markers, and the watershed of the negated distance
    within the mask gives one label per object. With ``neck_ratio``, neighbouring
    parts are then merged where the neck between them is at least that share of the
    thinner part's radius (`vemprof.ops._necks`): a tube whose radius wavers stays
    whole while objects that touch, whose necks are narrow, stay apart; pass a small
    ``h_nm`` then (over-split first, merge after).

    Parameters
    ----------
    mask : (Z, Y, X) bool array, numpy or dask
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    h_nm : float
        How much deeper than a neck a centre must be, in nm (> 0); larger merges more.
    max_radius_nm : float
        Radius of the largest object, in nm; distances are capped there, and on dask
        it sets the halo (twice this).
    connectivity : {6, 18, 26}
        Of the flooding.
    neck_ratio : float, optional
        Merge neighbouring parts whose neck radius is at least this share of the
        thinner part's radius (e.g. 0.6); None keeps the h-maxima split as it is.
    staging : folder, optional
        Dask only: each intermediate is written there and read back, for volumes
        larger than memory (module note).

    Returns
    -------
    (Z, Y, X) uint32 labels; lazy for dask input (see the module note on seams).
    """
    spacing = as_spacing(spacing)
    mask = check_mask(mask)
    h_nm = check_length(h_nm, name="h_nm", allow_zero=False)
    cap = check_length(max_radius_nm, name="max_radius_nm", allow_zero=False)
    if neck_ratio is not None:
        neck_ratio = check_length(neck_ratio, name="neck_ratio")
    distance_block = partial(_capped_distance_block, spacing=spacing, cap_nm=cap)
    if is_dask(mask):
        mask = _staged(mask, staging, "mask")
        distance = _staged(map_with_halo(distance_block, mask, reach_nm=cap, spacing=spacing, dtype=np.float32),
                           staging, "distance")
        relief = distance.map_blocks(_negate, dtype=np.float32)
    else:
        distance = distance_block(np.asarray(mask))
        relief = -distance
    markers = find_maxima(distance, h=h_nm, spacing=spacing, mask=mask, halo_nm=2 * cap, connectivity=26,
                          staging=staging)
    markers = _staged(markers.astype(label_dtype(mask.shape)), staging, "markers")
    parts = _staged(watershed(relief, markers=markers, spacing=spacing, mask=mask, connectivity=connectivity,
                              halo_nm=2 * cap), staging, "parts")
    if neck_ratio is None:
        return parts
    return merge_wide_necks(parts, distance, ratio=neck_ratio)
