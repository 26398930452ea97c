"""Exact distances from every object to the nuclear envelope and to the plasma membrane.

The envelope is the nucleus's surface, the plasma membrane the cell's. For each, a
distance field gives every voxel its distance to that surface: outside the nucleus the
distance to the nearest nucleus voxel, inside it the distance to the nearest voxel
outside (exact anisotropic Euclidean distance transforms, `vemprof.ops.distance_transform`,
between voxel centres; no meshes). Per object:

* surface to surface (``dist_envelope_um``, ``dist_plasma_membrane_um``): the field's
  smallest value over the object's voxels — the gap between the object's nearest voxel
  and the surface's (one voxel size for an object that touches the nucleus from outside);
* centroid to surface (``centroid_dist_*``): the field at the object's centroid,
  interpolated linearly between the eight voxels around it;
* the nearer of the two membranes (``dist_nearer_membrane_um``,
  ``centroid_dist_nearer_membrane_um``): the smaller of the two.

Block by block on dask arrays: the fields are exact at every range
(`ops.exact_distance_transform`: in-plane, then along Z, through a zarr array in a
``staging`` folder when given, so memory stays bounded at any volume size), or, with
``max_distance_nm``, computed with that halo (equal to the whole-array fields wherever
the distance is at most that; larger distances come out as inf; faster for short
reaches). The minima are reduced over blocks and each centroid is read in the chunk its
lower corner lies in (with one voxel of the neighbours), each chunk computed once. Numpy
input is one exact transform of the whole array.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path
from typing import Any, Iterator, Sequence

import dask
import dask.array as da
import numpy as np
import pandas as pd
from scipy import ndimage

from vemprof import ops
from vemprof.measure._shape import object_table
from vemprof.ops._validate import as_spacing, check_labels, check_objects, check_same_shape, is_dask

_NM_PER_UM = 1000.0
#: Surfaces measured to, by the column name's middle part.
SURFACES = ("envelope", "plasma_membrane")


def membrane_distances(labels: Any, *, cell: Any, nucleus: Any, spacing: Sequence[float],
                       centroids_um: pd.DataFrame | None = None, max_distance_nm: float | None = None,
                       staging: str | os.PathLike | None = None) -> pd.DataFrame:
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
        For dask input, the largest distance wanted (the halo of the distance fields;
        larger distances are inf); without it every distance is exact. Numpy input
        ignores it.
    staging : folder, optional
        For dask input without ``max_distance_nm``: where the distance transforms stage
        their intermediate (a temporary folder inside it, removed at the end), so memory
        stays bounded; without it the intermediate is held in memory.

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
    for name, mask in surfaces.items():
        with _staging_folder(staging if is_dask(labels) and max_distance_nm is None else None) as folder:
            field = _field(mask, spacing=spacing, dask_input=is_dask(labels), max_distance_nm=max_distance_nm,
                           staging=folder)
            minima, at_centroids = _reduced(labels, field, points)
        table[f"dist_{name}_um"] = minima.reindex(table["label"]).to_numpy() / _NM_PER_UM
        table[f"centroid_dist_{name}_um"] = at_centroids / _NM_PER_UM
    table["dist_nearer_membrane_um"] = table[[f"dist_{n}_um" for n in SURFACES]].min(axis=1)
    table["centroid_dist_nearer_membrane_um"] = table[[f"centroid_dist_{n}_um" for n in SURFACES]].min(axis=1)
    return table[["label", *[f"{kind}dist_{n}_um" for n in (*SURFACES, "nearer_membrane")
                             for kind in ("", "centroid_")]]]


@contextlib.contextmanager
def _staging_folder(parent) -> Iterator[Path | None]:
    """A temporary folder inside ``parent`` (removed afterwards), or None without one."""
    if parent is None:
        yield None
        return
    Path(parent).mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="distances-", dir=parent) as folder:
        yield Path(folder)


def _field(mask, *, spacing, dask_input: bool, max_distance_nm, staging: Path | None) -> Any:
    """Every voxel's distance to the surface of the mask (non-zero = inside), nm (float32;
    numpy or lazy dask): exact, or up to ``max_distance_nm`` on dask when given."""
    mask = mask != 0  # a label image's ids, or a mask
    if dask_input and not is_dask(mask):
        mask = da.from_array(np.asarray(mask), chunks="auto")
    if not dask_input or max_distance_nm is None:
        parts = [ops.exact_distance_transform(m, spacing=spacing, staging=None if staging is None else staging / side)
                 for m, side in ((mask, "inside"), (ops.invert(mask), "outside"))]
    else:
        parts = [ops.distance_transform(m, spacing=spacing, max_distance_nm=max_distance_nm)
                 for m in (mask, ops.invert(mask))]
    return parts[0] + parts[1]  # one of the two is 0 at every voxel


def _reduced(labels, field, points: np.ndarray) -> tuple[pd.Series, np.ndarray]:
    """The field's smallest value over each object's voxels (a Series by label), and its
    value at ``points`` (n, 3; voxel coordinates), trilinear. A dask field is read chunk by
    chunk with one voxel of its neighbours, each chunk once."""
    if not is_dask(labels):
        return _block_reduced(np.asarray(labels), np.asarray(field), points, start=np.zeros(3, int),
                              grown_start=np.zeros(3, int))
    field = field.rechunk(labels.chunks)
    grown = da.overlap.overlap(field, depth=1, boundary="none")
    starts = [np.cumsum((0, *c[:-1])) for c in labels.chunks]
    parts = []
    for index in np.ndindex(*labels.numblocks):
        start = np.array([s[i] for s, i in zip(starts, index)])
        parts.append(dask.delayed(_block_reduced)(labels.blocks[index], grown.blocks[index], points, start=start,
                                                  grown_start=np.maximum(start - 1, 0)))
    results = dask.compute(*parts)
    minima = pd.concat([r[0] for r in results]).groupby(level=0).min()
    values = np.nanmin(np.stack([r[1] for r in results]), axis=0)
    return minima, values


def _block_reduced(labels: np.ndarray, field: np.ndarray, points: np.ndarray, *, start, grown_start
                   ) -> tuple[pd.Series, np.ndarray]:
    """`_reduced` of one chunk: minima of its objects' voxels, and the field at the points
    whose lower corner lies in it (NaN for the others); ``field`` may reach one voxel
    beyond the chunk on each side (it starts at ``grown_start``)."""
    core = field[tuple(slice(a - g, a - g + n) for a, g, n in zip(start, grown_start, labels.shape))]
    objects = labels != 0
    minima = pd.Series(core[objects]).groupby(labels[objects]).min() if objects.any() else pd.Series(dtype=float)
    values = np.full(len(points), np.nan)
    corner = np.floor(points).astype(int)
    mine = np.flatnonzero(np.all((corner >= start) & (corner < start + np.array(labels.shape)), axis=1))
    if len(mine):
        local = points[mine] - grown_start
        at = ndimage.map_coordinates(np.asarray(field, np.float64), local.T, order=1, mode="nearest")
        values[mine] = np.where(np.isnan(at), np.inf, at)  # 0 × inf: a corner beyond the reach
    return minima, values
