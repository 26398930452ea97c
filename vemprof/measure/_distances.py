"""Exact distances from every object to the nuclear envelope and to the plasma membrane.

The envelope is the nucleus's surface, the plasma membrane the cell's. A voxel outside
the nucleus is at the distance of the nearest nucleus voxel, one inside it at the
distance of the nearest voxel outside (exact anisotropic Euclidean distances between
voxel centres, as `scipy.ndimage.distance_transform_edt` of each side gives them; no
meshes). Per object:

* surface to surface (``dist_envelope_um``, ``dist_plasma_membrane_um``): the smallest
  such distance over the object's voxels — the gap between the object's nearest voxel
  and the surface's (one voxel size for an object that touches the nucleus from outside);
* centroid to surface (``centroid_dist_*``): the distance at the object's centroid,
  interpolated linearly between the eight voxels around it;
* the nearer of the two membranes (``dist_nearer_membrane_um``,
  ``centroid_dist_nearer_membrane_um``): the smaller of the two.

Numpy input (a volume that fits in memory) is one exact distance transform of each side
of each surface (`vemprof.ops.exact_distance_transform`: the ``edt`` package), read at
the objects' voxels and centroids. Dask input (any size) makes no distance field, so
its cost follows the surfaces, not the volume: the nearest voxel across a surface always
lies on it (a voxel of the mask with a face-neighbour outside it, or the other way round:
from any other voxel a step towards the point is nearer), and an object's voxel nearest
to the surface lies on the object's own boundary on that side, so one pass over the
blocks (and the planes either side of each face between them) collects the surface
voxels of the mask and the boundary voxels of the objects, and a k-d tree of each side of
the surface gives their distances (`scipy.spatial.cKDTree`); memory follows the
surfaces' voxel counts and one block. Both give the same distances (tested, and against
scipy's transforms). The k-d trees are slowest where many surface voxels lie at nearly
the same distance from an object (an object at the centre of a round cell): there the
whole-array transform wins, where the volume fits in memory.
"""

from __future__ import annotations

import math
import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import dask
import dask.array as da
import numpy as np
import pandas as pd
from scipy import ndimage
from scipy.spatial import cKDTree

from vemprof import ops
from vemprof.measure._shape import object_table
from vemprof.ops._validate import (
    as_spacing,
    check_labels,
    check_length,
    check_objects,
    check_same_shape,
    is_dask,
)

_NM_PER_UM = 1000.0
#: Surfaces measured to, by the column name's middle part.
SURFACES = ("envelope", "plasma_membrane")
#: Points per k-d tree query on one thread (a second or less each).
QUERY_SLICE = 100_000


def membrane_distances(labels: Any, *, cell: Any, nucleus: Any, spacing: Sequence[float],
                       centroids_um: pd.DataFrame | None = None, max_distance_nm: float | None = None
                       ) -> pd.DataFrame:
    """Each object's distances to the nuclear envelope, the plasma membrane and the nearer of the two.

    Parameters
    ----------
    labels : (Z, Y, X) integer array, numpy or dask
        Objects, 0 = background.
    cell, nucleus : (Z, Y, X) bool or integer arrays, non-zero = inside
    spacing : (z, y, x) voxel size, nm
    centroids_um : DataFrame, optional
        ``label`` and ``centroid_{z,y,x}_um`` (e.g. from `object_table`); computed here
        when not given.
    max_distance_nm : float, optional
        The largest distance wanted; larger ones come out as inf. Without it every
        distance is exact (a mask with no surface in the volume: inf).

    Returns
    -------
    pandas.DataFrame
        ``label``, ``dist_envelope_um``, ``centroid_dist_envelope_um``,
        ``dist_plasma_membrane_um``, ``centroid_dist_plasma_membrane_um``,
        ``dist_nearer_membrane_um``, ``centroid_dist_nearer_membrane_um``; sorted by label.
    """
    spacing = as_spacing(spacing)
    labels = check_labels(labels)
    surfaces = {"envelope": check_objects(nucleus, what="nucleus"), "plasma_membrane": check_objects(cell, what="cell")}
    for name, mask in surfaces.items():
        check_same_shape(labels, mask, what=name.replace("_", " "), reference_what="labels")
    if centroids_um is None:
        centroids_um = object_table(labels, spacing=spacing)[["label", "centroid_z_um", "centroid_y_um",
                                                              "centroid_x_um"]]
    table = pd.DataFrame({"label": centroids_um["label"].to_numpy()})
    points = centroids_um[["centroid_z_um", "centroid_y_um", "centroid_x_um"]].to_numpy() * _NM_PER_UM / spacing
    reach = np.inf if max_distance_nm is None else check_length(max_distance_nm, name="max_distance_nm",
                                                                allow_zero=False)
    for name, mask in surfaces.items():
        if is_dask(labels):
            mask = da.asarray(mask).rechunk(labels.chunks)
            minima, at_centroids = _distances_to_surface(labels, mask, spacing=spacing, points=points, reach=reach)
        else:
            minima, at_centroids = _read_field(np.asarray(labels), _field(np.asarray(mask) != 0, spacing=spacing,
                                                                          reach=reach), points)
        table[f"dist_{name}_um"] = minima.reindex(table["label"], fill_value=np.inf).to_numpy(np.float64) / _NM_PER_UM
        table[f"centroid_dist_{name}_um"] = np.asarray(at_centroids, np.float64) / _NM_PER_UM
    table["dist_nearer_membrane_um"] = table[[f"dist_{n}_um" for n in SURFACES]].min(axis=1)
    table["centroid_dist_nearer_membrane_um"] = table[[f"centroid_dist_{n}_um" for n in SURFACES]].min(axis=1)
    return table[["label", *[f"{kind}dist_{n}_um" for n in (*SURFACES, "nearer_membrane")
                             for kind in ("", "centroid_")]]]


def _field(mask: np.ndarray, *, spacing: np.ndarray, reach: float) -> np.ndarray:
    """Every voxel's distance to the surface of ``mask``, nm (float32; inf beyond ``reach``)."""
    field = ops.exact_distance_transform(mask, spacing=spacing)
    field += ops.exact_distance_transform(~mask, spacing=spacing)  # one of the two is 0 at every voxel
    field[field > reach] = np.inf
    return field


def _read_field(labels: np.ndarray, field: np.ndarray, points: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """The field's smallest value over each object's voxels (a Series by label), and its
    value at ``points`` (n, 3; voxel coordinates), trilinear."""
    objects = labels != 0
    minima = pd.Series(field[objects]).groupby(labels[objects]).min()
    at = ndimage.map_coordinates(np.asarray(field, np.float64), points.T, order=1, mode="nearest")
    return minima, np.where(np.isnan(at), np.inf, at)  # 0 × inf: a corner beyond the reach


def _distances_to_surface(labels: da.Array, mask: da.Array, *, spacing: np.ndarray, points: np.ndarray,
                          reach: float) -> tuple[pd.Series, np.ndarray]:
    """The smallest distance to the mask's surface over each object's voxels (a Series by
    label, nm), and the distance at ``points`` (n, 3; voxel coordinates), trilinear."""
    inner, outer, boundary, ids, boundary_inside = _surface_voxels(labels, mask)
    corners, weights = _corners(points, labels.shape)
    corners_inside = (np.asarray(mask.vindex[tuple(corners.reshape(-1, 3).T)].compute()) != 0 if len(points)
                      else np.zeros(0, bool))
    at_boundary = np.full(len(boundary), np.inf)
    at_corners = np.full(corners_inside.shape, np.inf)
    for inside, across in ((False, inner), (True, outer)):  # outside the mask: to the nearest mask voxel
        mine, corners_mine = boundary_inside == inside, corners_inside == inside
        queries = np.concatenate([boundary[mine], corners.reshape(-1, 3)[corners_mine]])
        if len(queries) and len(across):
            found = _nearest(cKDTree(across * spacing), queries * spacing, reach=reach)
            at_boundary[mine], at_corners[corners_mine] = found[:mine.sum()], found[mine.sum():]
    minima = pd.Series(at_boundary).groupby(ids).min() if len(ids) else pd.Series(dtype=float)
    at_corners = at_corners.reshape(weights.shape)
    with np.errstate(invalid="ignore"):  # 0 × inf: a corner beyond the reach that does not count
        values = np.where(weights > 0, weights * at_corners, 0.0).sum(axis=1)
    return minima, values


def _nearest(tree: cKDTree, points: np.ndarray, *, reach: float) -> np.ndarray:
    """Each point's distance to the tree's nearest point (inf beyond ``reach``), slices of
    `QUERY_SLICE` points on a thread each (the queries release the GIL). Not scipy's own
    ``workers=-1``: Ctrl-C during its join ends the process with a segmentation fault;
    here the running slices finish and the interrupt goes on."""
    slices = np.array_split(points, max(1, math.ceil(len(points) / QUERY_SLICE)))
    pool = ThreadPoolExecutor(max_workers=os.cpu_count() or 1)
    try:
        return np.concatenate(list(pool.map(lambda part: tree.query(part, distance_upper_bound=reach)[0], slices)))
    finally:
        pool.shutdown(wait=True, cancel_futures=True)


def _corners(points: np.ndarray, shape: Sequence[int]) -> tuple[np.ndarray, np.ndarray]:
    """The eight voxels around each point (n, 8, 3; clipped to the volume) and their
    trilinear weights (n, 8)."""
    lower = np.floor(points).astype(np.int64)
    fraction = points - lower
    offsets = np.array(list(np.ndindex(2, 2, 2)))  # (8, 3)
    corners = np.clip(lower[:, None, :] + offsets[None], 0, np.array(shape) - 1)
    weights = np.prod(np.where(offsets[None] == 1, fraction[:, None, :], 1 - fraction[:, None, :]), axis=2)
    return corners, weights


def _surface_voxels(labels: da.Array, mask: da.Array) -> tuple[np.ndarray, ...]:
    """One pass over the blocks, each read once: the mask's voxels with a face-neighbour
    outside it (``inner``, (n, 3) voxel indices), the voxels outside with one inside
    (``outer``), and the objects' boundary voxels on each side (``boundary``, their
    ``ids`` and whether each is inside the mask). Within each block first, then across
    each face between two blocks from the planes either side of it (a voxel may come twice)."""
    starts = [np.cumsum((0, *c[:-1])) for c in labels.chunks]
    indices = list(np.ndindex(*labels.numblocks))
    corners = {index: np.array([s[i] for s, i in zip(starts, index)]) for index in indices}
    blocks = dict(zip(indices, dask.compute(*[
        dask.delayed(_block_surface_voxels)(labels.blocks[index], mask.blocks[index], start=corners[index])
        for index in indices])))
    found = [voxels for voxels, _ in blocks.values()]
    for index in indices:
        for axis in range(3):
            after = tuple(i + (a == axis) for a, i in enumerate(index))
            if after in blocks:
                found.append(_face_voxels(blocks[index][1][axis][1], blocks[after][1][axis][0], axis=axis,
                                          corner=corners[after]))
    return tuple(np.concatenate([part[k] for part in found]) for k in range(5))


def _block_surface_voxels(labels: np.ndarray, mask: np.ndarray, *, start: np.ndarray) -> tuple:
    """`_surface_voxels` within one block (its faces taken as no surface), and the block's
    first and last plane along each axis (labels, mask) for the faces between blocks."""
    mask = mask != 0
    pad = ((1, 1),) * 3
    surface = _differs_from_a_neighbour(np.pad(mask, pad, mode="edge"))
    on_boundary = (labels != 0) & (surface | _differs_from_a_neighbour(np.pad(labels, pad, mode="edge")))
    voxels = _located(labels, mask, surface, on_boundary, start=start)
    planes = [tuple((np.take(labels, [end], axis=axis), np.take(mask, [end], axis=axis)) for end in (0, -1))
              for axis in range(3)]
    return voxels, planes


def _face_voxels(before: tuple, after: tuple, *, axis: int, corner: np.ndarray) -> tuple[np.ndarray, ...]:
    """`_surface_voxels` across one face: ``before`` and ``after`` are the (labels, mask)
    planes either side of it, one voxel thick along ``axis``; ``corner`` is the voxel index
    of the block after the face."""
    mask_differs = before[1] != after[1]
    labels_differ = before[0] != after[0]
    parts = []
    for (labels, mask), shift in ((before, -1), (after, 0)):
        start = corner.copy()
        start[axis] += shift
        parts.append(_located(labels, mask, mask_differs, (labels != 0) & (mask_differs | labels_differ),
                              start=start))
    return tuple(np.concatenate(pair) for pair in zip(*parts))


def _located(labels: np.ndarray, mask: np.ndarray, surface: np.ndarray, on_boundary: np.ndarray, *,
             start: np.ndarray) -> tuple[np.ndarray, ...]:
    """The voxel indices (from ``start``) of the mask's surface inside and outside it and of
    the objects' boundary, with the boundary's ids and sides."""
    located = [np.argwhere(where).astype(np.int32) + start.astype(np.int32)
               for where in (mask & surface, ~mask & surface, on_boundary)]
    return (*located, labels[on_boundary], mask[on_boundary])


def _differs_from_a_neighbour(padded: np.ndarray) -> np.ndarray:
    """Of the array inside a one-voxel frame: where any of the six face-neighbours differs."""
    core = padded[1:-1, 1:-1, 1:-1]
    differs = np.zeros(core.shape, bool)
    for axis in range(3):
        for shift in (0, 2):
            neighbour = [slice(1, -1)] * 3
            neighbour[axis] = slice(shift, shift + core.shape[axis])
            differs |= padded[tuple(neighbour)] != core
    return differs
