"""Objects in label images: features, filters by any feature, largest, nearest, relabel.

Features are reduced block by block (each chunk padded by the halo its features need)
and summed per label, so a dask label image gives the same table as the whole array:
counts, surfaces and distances exactly; intensity means up to float rounding of the
sum order for float images (exact for integer images). Filters return label images in
which the rejected objects are 0 and the kept objects keep their ids.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import dask
import dask.array as da
import fastremap
import numpy as np
import pandas as pd

from vemprof.errors import VemprofError
from vemprof.ops._blockwise import LENGTH_RTOL, map_elementwise, reduce_with_halo
from vemprof.ops._distance import distance_squared
from vemprof.ops._label import connected_components, label_dtype
from vemprof.ops._validate import (
    as_spacing,
    check_image,
    check_labels,
    check_length,
    check_mask,
    check_objects,
    check_same_shape,
    is_dask,
    same_kind,
)

#: Feature columns of `object_features`; the distance columns need ``mask``,
#: ``mean_intensity`` needs ``image``.
FEATURES = {
    "voxels": "voxel count",
    "volume_nm3": "volume in nm³",
    "surface_nm2": "area of the voxel faces between the object and anything else, in nm²",
    "sv_ratio_per_nm": "surface_nm2 / volume_nm3, in 1/nm",
    "mean_intensity": "mean image value over the object (needs image)",
    "distance_to_mask_nm": "nm from the object's nearest voxel centre to the nearest mask voxel centre, 0 if they overlap (needs mask)",
    "distance_to_surface_nm": "nm from the object to the mask's surface: to the nearest voxel on the other side of it (needs mask)",
    "touches_border": "1 if the object reaches a face of the volume, else 0",
}
#: Distances beyond this are reported as inf unless ``max_distance_nm`` says otherwise.
DEFAULT_MAX_DISTANCE_NM = 1000.0


def _neighbour(labels: np.ndarray, axis: int, step: int) -> np.ndarray:
    """labels shifted by one voxel along ``axis`` (value of the neighbour at +step), 0 outside."""
    shifted = np.zeros_like(labels)
    source = [slice(None)] * 3
    target = [slice(None)] * 3
    if step > 0:
        source[axis], target[axis] = slice(1, None), slice(None, -1)
    else:
        source[axis], target[axis] = slice(None, -1), slice(1, None)
    shifted[tuple(target)] = labels[tuple(source)]
    return shifted


def _block_table(
    labels: np.ndarray, image: np.ndarray | None, mask: np.ndarray | None, *,
    core: tuple[slice, ...], offset: tuple[int, ...], shape: tuple[int, ...],
    spacing: tuple[float, ...], max_distance_nm: float,
) -> pd.DataFrame:
    """Per-label partial counts, sums and minima over the core of one padded block."""
    core_labels = labels[core]
    ids, dense = fastremap.unique(core_labels, return_inverse=True)
    dense = dense.reshape(-1)
    n = len(ids)
    table = {"label": ids.astype(np.uint64), "voxels": np.bincount(dense, minlength=n)}
    for axis in range(3):
        faces = sum((_neighbour(labels, axis, step)[core] != core_labels).astype(np.int64) for step in (-1, 1))
        table[f"faces_{axis}"] = np.bincount(dense, weights=faces.ravel(), minlength=n).astype(np.int64)
    if image is not None:
        table["intensity_sum"] = np.bincount(dense, weights=image[core].ravel().astype(np.float64), minlength=n)
    if mask is not None:
        to_mask, inside = distance_squared(~mask, spacing), distance_squared(mask, spacing)
        limit = max_distance_nm * max_distance_nm * (1 + LENGTH_RTOL)
        for name, squared in (("mask_sq", to_mask), ("surface_sq", np.where(mask, inside, to_mask))):
            values = squared[core].astype(np.float64).ravel()
            values[values > limit] = np.inf
            minima = np.full(n, np.inf)
            np.minimum.at(minima, dense, values)
            table[name] = minima
    on_border = np.zeros(n, bool)
    dense = dense.reshape(core_labels.shape)
    for axis in range(3):
        begin = offset[axis] + core[axis].start
        for index, at_face in ((0, begin == 0), (-1, begin + core_labels.shape[axis] == shape[axis])):
            if at_face:
                plane = [slice(None)] * 3
                plane[axis] = index
                on_border[np.unique(dense[tuple(plane)])] = True
    table["border"] = on_border
    return pd.DataFrame(table)


def _combine(tables: list[pd.DataFrame], *, spacing: tuple[float, ...]) -> pd.DataFrame:
    """Sum the per-block partial tables per label and derive the feature columns."""
    parts = pd.concat(tables, ignore_index=True)
    parts = parts[parts["label"] != 0]
    how = {c: "min" if c.endswith("_sq") else "max" if c == "border" else "sum" for c in parts.columns if c != "label"}
    merged = parts.groupby("label", sort=True).agg(how).reset_index()
    z, y, x = spacing
    result = pd.DataFrame({"label": merged["label"].to_numpy(np.uint64), "voxels": merged["voxels"].to_numpy(np.int64)})
    result["volume_nm3"] = result["voxels"] * (z * y * x)
    result["surface_nm2"] = merged["faces_0"] * (y * x) + merged["faces_1"] * (z * x) + merged["faces_2"] * (z * y)
    result["sv_ratio_per_nm"] = result["surface_nm2"] / result["volume_nm3"]
    if "intensity_sum" in merged:
        result["mean_intensity"] = merged["intensity_sum"] / merged["voxels"]
    if "mask_sq" in merged:
        result["distance_to_mask_nm"] = np.sqrt(merged["mask_sq"].to_numpy(np.float64))
        result["distance_to_surface_nm"] = np.sqrt(merged["surface_sq"].to_numpy(np.float64))
    result["touches_border"] = merged["border"].to_numpy(np.int64)
    return result


def _prepare(labels, image, mask, spacing, max_distance_nm):
    spacing = as_spacing(spacing)
    labels = check_labels(labels)
    if image is not None:
        image = check_image(image)
        check_same_shape(labels, image, what="image", reference_what="labels")
        image = same_kind(labels, image)
    if mask is not None:
        mask = check_mask(mask)
        check_same_shape(labels, mask, what="mask", reference_what="labels")
        mask = same_kind(labels, mask)
    max_distance_nm = check_length(
        DEFAULT_MAX_DISTANCE_NM if max_distance_nm is None else max_distance_nm, name="max_distance_nm"
    )
    return labels, image, mask, spacing, max_distance_nm


def _lazy_table(labels, image, mask, spacing, max_distance_nm):
    """The feature table: a DataFrame for numpy input, a dask.delayed DataFrame for dask.

    The object filters compute it at once (`_computed_table`), so that their lazy
    result, written batch by batch, does not reduce the whole volume again per batch."""
    shape = tuple(int(n) for n in labels.shape)
    # faces look one voxel beyond the core, distances up to max_distance_nm
    reach = max(max(spacing), max_distance_nm if mask is not None else 0.0)
    block = partial(_block_table, shape=shape, spacing=spacing, max_distance_nm=max_distance_nm)
    parts = reduce_with_halo(block, labels, image, mask, reach_nm=reach, spacing=spacing)
    combine = partial(_combine, spacing=spacing)
    return dask.delayed(combine, pure=True)(parts) if is_dask(labels) else combine(parts)


def object_features(
    labels: Any, *, spacing: Sequence[float], image: Any = None, mask: Any = None,
    max_distance_nm: float | None = None,
) -> pd.DataFrame:
    """One row per object with its size, shape, intensity and distance features.

    Parameters
    ----------
    labels : (Z, Y, X) integer array, numpy or dask
        Object ids, 0 = background. An object is all voxels of one id.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    image : (Z, Y, X) array, optional
        Intensities for ``mean_intensity``.
    mask : (Z, Y, X) bool array, optional
        A reference region (e.g. the nucleus) for the distance features.
    max_distance_nm : float, optional
        Distances larger than this are reported as inf (default 1000 nm); on dask it
        is also the halo, so keep it as small as the question allows.

    Returns
    -------
    pandas.DataFrame
        Columns ``label`` and the features in `FEATURES` that the inputs allow, sorted
        by label; computed now (also for dask input), identical for numpy and dask.
    """
    labels, image, mask, spacing, max_distance_nm = _prepare(labels, image, mask, spacing, max_distance_nm)
    return _computed_table(labels, image, mask, spacing, max_distance_nm)


def _keep_block(block: np.ndarray, kept: np.ndarray) -> np.ndarray:
    return fastremap.mask_except(np.ascontiguousarray(block), [int(k) for k in kept], in_place=False)


def _computed_table(labels, image, mask, spacing, max_distance_nm) -> pd.DataFrame:
    """The feature table, computed now (for dask input: block by block, in bounded memory)."""
    table = _lazy_table(labels, image, mask, spacing, max_distance_nm)
    return table.compute() if is_dask(labels) else table


def _keep_labels(labels: Any, kept: np.ndarray) -> Any:
    """Zero every object whose id is not in ``kept``; lazy for dask ``labels``."""
    if is_dask(labels):
        kept = dask.delayed(kept, pure=True)  # one shared graph key, not an array to broadcast
        return da.map_blocks(_keep_block, labels, kept, dtype=labels.dtype, meta=np.empty((0, 0, 0), labels.dtype))
    return _keep_block(labels, kept)


def _select_range(table: pd.DataFrame, *, feature: str, min_value: float, max_value: float) -> np.ndarray:
    values = table[feature]
    return table["label"][(values >= min_value) & (values <= max_value)].to_numpy()


def _check_feature(feature: str, image: Any, mask: Any) -> None:
    if feature not in FEATURES:
        raise VemprofError(f"unknown feature {feature!r}; choose one of: {', '.join(FEATURES)}")
    if feature == "mean_intensity" and image is None:
        raise VemprofError("feature 'mean_intensity' needs image=<intensity volume>")
    if feature.startswith("distance_") and mask is None:
        raise VemprofError(f"feature {feature!r} needs mask=<reference mask>")


def filter_objects(
    labels: Any, *, feature: str, spacing: Sequence[float], min_value: float = -np.inf,
    max_value: float = np.inf, image: Any = None, mask: Any = None, max_distance_nm: float | None = None,
) -> Any:
    """Keep the objects whose feature lies in ``[min_value, max_value]``; zero the rest.

    Parameters
    ----------
    labels : (Z, Y, X) integer array, numpy or dask
    feature : str
        A column of `object_features` (see `FEATURES`), e.g. ``'volume_nm3'``,
        ``'sv_ratio_per_nm'``, ``'mean_intensity'``, ``'distance_to_mask_nm'``,
        ``'touches_border'`` (0/1: ``max_value=0`` removes objects on the volume edge).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    min_value, max_value : float
        Inclusive range to keep, in the feature's unit.
    image, mask, max_distance_nm : optional
        As for `object_features` (needed by the intensity and distance features).

    Returns
    -------
    (Z, Y, X) array like ``labels`` (same dtype, ids kept); lazy for dask input.
    """
    _check_feature(feature, image, mask)
    labels, image, mask, spacing, max_distance_nm = _prepare(labels, image, mask, spacing, max_distance_nm)
    table = _computed_table(labels, image, mask, spacing, max_distance_nm)
    select = partial(_select_range, feature=feature, min_value=float(min_value), max_value=float(max_value))
    kept = select(table)
    return _keep_labels(labels, kept)


def _select_top(table: pd.DataFrame, *, feature: str, count: int, largest: bool) -> np.ndarray:
    """Labels of the ``count`` objects with the largest (or smallest) finite feature; ties kept."""
    values = table[feature].to_numpy(np.float64)
    finite = np.isfinite(values)
    if count == 0 or not finite.any():
        return np.zeros(0, np.uint64)
    ordered = np.sort(values[finite])
    cut = ordered[::-1][min(count, len(ordered)) - 1] if largest else ordered[min(count, len(ordered)) - 1]
    chosen = finite & ((values >= cut) if largest else (values <= cut))
    return table["label"].to_numpy()[chosen]


def _as_labels(objects: Any, connectivity: int) -> tuple[Any, bool]:
    """Label a mask (and remember to return a mask), or pass labels through."""
    objects = check_objects(objects)
    if objects.dtype == bool:
        return connected_components(objects, connectivity=connectivity), True
    return objects, False


def _back(labels: Any, was_mask: bool) -> Any:
    return map_elementwise(_nonzero, labels, dtype=bool) if was_mask else labels


def _nonzero(block: np.ndarray) -> np.ndarray:
    return block != 0


def keep_largest(objects: Any, *, count: int = 1, connectivity: int = 26) -> Any:
    """Keep the ``count`` largest objects (by voxel count); objects tied with the last are kept too.

    Parameters
    ----------
    objects : (Z, Y, X) bool mask or integer labels, numpy or dask
        A mask is first split into connected components (``connectivity``).
    count : int
        How many objects to keep (>= 0).
    connectivity : {6, 18, 26}
        For masks only.

    Returns
    -------
    Array of the input's kind: a mask for a mask, labels (ids kept) for labels.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((1, 1, 6), bool); mask[0, 0, [0, 2, 3, 4]] = True
    >>> keep_largest(mask).ravel().astype(int).tolist()
    [0, 0, 1, 1, 1, 0]
    """
    if int(count) != count or count < 0:
        raise VemprofError(f"count must be a whole number >= 0, got {count!r}")
    labels, was_mask = _as_labels(objects, connectivity)
    labels, _, _, spacing, distance = _prepare(labels, None, None, (1.0, 1.0, 1.0), None)
    table = _computed_table(labels, None, None, spacing, distance)
    select = partial(_select_top, feature="voxels", count=int(count), largest=True)
    kept = select(table)
    return _back(_keep_labels(labels, kept), was_mask)


def keep_nearest(
    objects: Any, *, mask: Any, spacing: Sequence[float], count: int | None = 1,
    max_distance_nm: float = DEFAULT_MAX_DISTANCE_NM, connectivity: int = 26,
) -> Any:
    """Keep the objects nearest to a mask's surface (e.g. pockets under the nuclear envelope).

    The distance of an object to the surface is ``distance_to_surface_nm`` of
    `object_features`: from its nearest voxel to the nearest voxel on the other side of
    the mask's boundary.

    Parameters
    ----------
    objects : (Z, Y, X) bool mask or integer labels, numpy or dask
    mask : (Z, Y, X) bool array
        The region whose surface counts (e.g. the nucleus).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    count : int or None
        Keep this many nearest objects (ties kept); None keeps every object within
        ``max_distance_nm``.
    max_distance_nm : float
        Objects farther than this from the surface are never kept.
    connectivity : {6, 18, 26}
        For masks only.

    Returns
    -------
    Array of the input's kind; lazy for dask input.
    """
    if count is not None and (int(count) != count or count < 0):
        raise VemprofError(f"count must be a whole number >= 0 or None, got {count!r}")
    check_length(max_distance_nm, name="max_distance_nm")  # before labelling a mask
    labels, was_mask = _as_labels(objects, connectivity)
    labels, _, mask, spacing, max_distance_nm = _prepare(labels, None, mask, spacing, max_distance_nm)
    table = _computed_table(labels, None, mask, spacing, max_distance_nm)
    if count is None:
        select = partial(_select_range, feature="distance_to_surface_nm", min_value=0.0, max_value=max_distance_nm)
    else:
        select = partial(_select_top, feature="distance_to_surface_nm", count=int(count), largest=False)
    kept = select(table)
    return _back(_keep_labels(labels, kept), was_mask)


def _unique_block(block: np.ndarray) -> np.ndarray:
    return fastremap.unique(block)


def _renumber_block(block: np.ndarray, ids: np.ndarray, dtype: Any) -> np.ndarray:
    mapping = {int(v): i for i, v in enumerate(ids)}
    return fastremap.remap(np.ascontiguousarray(block), mapping, preserve_missing_labels=False).astype(dtype, copy=False)


def _sorted_ids(parts: list[np.ndarray]) -> np.ndarray:
    """All ids present, sorted, with 0 first so that background maps to 0."""
    return np.unique(np.concatenate(parts + [np.zeros(1, parts[0].dtype)]))


def relabel_sequential(labels: Any) -> Any:
    """Renumber object ids to 1..K keeping their order (0 stays background).

    Parameters
    ----------
    labels : (Z, Y, X) integer array, numpy or dask

    Returns
    -------
    (Z, Y, X) uint32 array (uint64 above 2³²−1 objects); identical for numpy and dask.

    Examples
    --------
    >>> import numpy as np
    >>> relabel_sequential(np.array([[[0, 7, 7, 42]]])).ravel().tolist()
    [0, 1, 1, 2]
    """
    labels = check_labels(labels)
    dtype = label_dtype(labels.shape)
    if is_dask(labels):
        parts = [dask.delayed(_unique_block, pure=True)(b) for b in labels.to_delayed().ravel()]
        ids = dask.delayed(dask.delayed(_sorted_ids, pure=True)(parts).compute(), pure=True)  # the ids now
        renumber = partial(_renumber_block, dtype=dtype)
        return da.map_blocks(renumber, labels, ids, dtype=dtype, meta=np.empty((0, 0, 0), dtype))
    return _renumber_block(labels, _sorted_ids([_unique_block(labels)]), dtype)
