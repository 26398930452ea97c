"""Distances between the objects of two label images: each object's nearest neighbour of
the other class and how many lie within a radius, surface to surface, in µm.

The distance between two objects is the smallest distance between the centres of their
voxels (anisotropic, exact; 0 where they overlap). It is attained on their boundary
voxels (those with a face neighbour of another value), so only those are kept: block by
block with one voxel of the neighbours around (memory holds a block and the boundary
points), with the pairs that overlap noted on the way.

Per object ``i`` (centroid of its boundary points ``cᵢ``, radius ``rᵢ`` around it): the
object whose centroid is nearest gives an upper bound ``d₀`` on the nearest distance;
only the other objects' boundary points within ``max(d₀, R) + rᵢ`` of ``cᵢ`` can be
nearer than ``d₀`` or within the radius ``R`` (one ball query of a k-d tree of all of
them), and their exact distances to object ``i`` come from one query of a k-d tree of its
own points. Objects are searched in threads (the k-d tree releases the GIL).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Sequence

import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.measure._blocks import block_regions
from vemprof.ops._validate import as_spacing, check_labels, check_same_shape, same_kind

_NM_PER_UM = 1000.0


def nearest_objects(labels: Any, others: Any, *, spacing: Sequence[float], other_name: str,
                    radius_um: float = 1.0, progress: ProgressReporter = no_progress) -> pd.DataFrame:
    """For each object of ``labels``, its nearest object of ``others`` and the count of
    those within ``radius_um``, surface to surface.

    Parameters
    ----------
    labels, others : (Z, Y, X) integer arrays of one shape, numpy or dask
        Object ids, 0 = background; ``others`` may be ``labels`` itself (an object is
        then not its own neighbour).
    spacing : (z, y, x) voxel size, nm
    other_name : str
        The other class's name, for the column names (e.g. ``mitochondria``).
    radius_um : float
        Objects of ``others`` at most this far (µm) are counted.

    Returns
    -------
    pandas.DataFrame
        ``label``, ``nearest_<other>_label`` (0 if there is none), ``dist_nearest_<other>_um``
        (inf if none) and ``n_<other>_within_<radius>_um``; sorted by label.
    """
    spacing = as_spacing(spacing)
    labels = check_labels(labels)
    same = others is labels
    others = labels if same else same_kind(labels, check_labels(others, what="other labels"))
    check_same_shape(labels, others, what="other labels", reference_what="labels")
    if not radius_um >= 0 or not np.isfinite(radius_um):
        raise VemprofError(f"the radius must be a length in µm >= 0, got {radius_um!r}")
    points, overlaps = _boundaries(labels, None if same else others, spacing=spacing, progress=progress)
    own, theirs = points[0], points[0 if same else 1]
    if len(own.ids) == 0:
        raise VemprofError("the label image holds no object (all 0); segment or label something first")
    found = _search(own, theirs, same=same, radius_nm=radius_um * _NM_PER_UM, overlaps=overlaps, progress=progress)
    return pd.DataFrame({"label": own.ids, f"nearest_{other_name}_label": found[0],
                         f"dist_nearest_{other_name}_um": found[1] / _NM_PER_UM,
                         f"n_{other_name}_within_{radius_um:g}_um": found[2]})


class _Points:
    """Boundary points (nm) grouped by object: ``ids`` (sorted), ``starts`` into
    ``points`` (n, 3), and each object's bounding sphere ``centres`` (nm), ``radii`` (nm)."""

    def __init__(self, points: np.ndarray, owners: np.ndarray):
        order = np.argsort(owners, kind="stable")
        self.points, owners = points[order], owners[order]
        self.ids, self.starts = np.unique(owners, return_index=True)
        self.ends = np.append(self.starts[1:], len(owners))
        sums = np.add.reduceat(self.points, self.starts, axis=0) if len(owners) else np.zeros((0, 3))
        self.centres = sums / (self.ends - self.starts)[:, None]
        offsets = np.linalg.norm(self.points - np.repeat(self.centres, self.ends - self.starts, axis=0), axis=1)
        self.radii = np.maximum.reduceat(offsets, self.starts) if len(owners) else np.zeros(0)

    def of(self, k: int) -> np.ndarray:
        return self.points[self.starts[k]:self.ends[k]]


def _boundaries(labels, others, *, spacing, progress) -> tuple[list[_Points], set[tuple[int, int]]]:
    """The boundary points of ``labels`` (and of ``others`` when given) and the pairs of
    ids (label, other) that share a voxel."""
    arrays = [labels] if others is None else [labels, others]
    found: list[list[tuple[np.ndarray, np.ndarray]]] = [[] for _ in arrays]
    overlaps: set[tuple[int, int]] = set()
    regions = block_regions(labels)
    with progress("finding object boundaries", len(regions)) as advance:
        for region in regions:
            grown = tuple(slice(max(r.start - 1, 0), min(r.stop + 1, n)) for r, n in zip(region, labels.shape))
            inner = tuple(slice(r.start - g.start, r.stop - g.start) for r, g in zip(region, grown))
            blocks = [np.asarray(array[grown]) for array in arrays]
            for block, into in zip(blocks, found):
                into.append(_block_boundary(block, inner, origin=[g.start for g in grown], spacing=spacing))
            if others is not None:
                a, b = (block[inner] for block in blocks)
                both = (a > 0) & (b > 0)
                overlaps.update(map(tuple, np.unique(np.stack([a[both], b[both]], axis=1), axis=0).tolist()))
            advance(1)
    return [_Points(np.concatenate([p for p, _ in parts]), np.concatenate([o for _, o in parts]))
            for parts in found], overlaps


def _block_boundary(block: np.ndarray, inner, *, origin, spacing) -> tuple[np.ndarray, np.ndarray]:
    """Points (nm) and ids of the object voxels of ``block[inner]`` that have a face
    neighbour of another value (``block`` holds a voxel more around where the volume goes
    on). A voxel whose neighbours are all of its object is never nearest to a voxel
    outside: its neighbour towards that voxel is nearer."""
    edge = np.zeros(block.shape, bool)
    for axis in range(3):
        near = tuple(slice(None, -1) if a == axis else slice(None) for a in range(3))
        far = tuple(slice(1, None) if a == axis else slice(None) for a in range(3))
        differs = block[near] != block[far]
        edge[near] |= differs
        edge[far] |= differs
    window = np.zeros(block.shape, bool)
    window[inner] = True
    where = np.nonzero(edge & window & (block > 0))
    points = np.stack([(w + o) * s for w, o, s in zip(where, origin, spacing)], axis=1).astype(np.float64)
    return points, block[where].astype(np.int64)


def _search(own: _Points, theirs: _Points, *, same: bool, radius_nm: float, overlaps: set,
            progress) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Nearest id, its distance (nm) and the count within ``radius_nm`` for each object
    of ``own`` among ``theirs`` (module note)."""
    from scipy.spatial import cKDTree

    n = len(own.ids)
    nearest, distance, within = np.zeros(n, np.int64), np.full(n, np.inf), np.zeros(n, np.int64)
    if len(theirs.ids) - (1 if same else 0) <= 0:
        return nearest, distance, within
    centres, points = cKDTree(theirs.centres), cKDTree(theirs.points)
    owner = np.repeat(np.arange(len(theirs.ids)), theirs.ends - theirs.starts)  # index into theirs.ids
    touching = pd.DataFrame(sorted(overlaps), columns=["a", "b"]).groupby("a")["b"].apply(set) if overlaps else {}

    def search(k: int) -> tuple[int, float, int]:
        label = own.ids[k]
        tree = cKDTree(own.of(k))
        first = _nearest_centre(centres, own.centres[k], exclude=label if same else None, ids=theirs.ids)
        limit = max(tree.query(theirs.of(first), k=1)[0].min(), radius_nm) * (1 + 1e-9)
        near = np.asarray(points.query_ball_point(own.centres[k], limit + own.radii[k], return_sorted=True),
                          np.int64)
        if same:
            near = near[theirs.ids[owner[near]] != label]
        gaps = tree.query(points.data[near], k=1, distance_upper_bound=limit)[0]
        candidates, starts = np.unique(owner[near], return_index=True)
        gaps = np.minimum.reduceat(gaps, starts)
        if label in touching:
            gaps[np.isin(theirs.ids[candidates], list(touching[label]))] = 0.0
        best = int(np.argmin(gaps))
        return theirs.ids[candidates[best]], gaps[best], int(np.count_nonzero(gaps <= radius_nm * (1 + 1e-9)))

    with progress("finding nearest objects", n) as advance, ThreadPoolExecutor(os.cpu_count()) as pool:
        for k, found in enumerate(pool.map(search, range(n))):  # k-d tree queries release the GIL
            nearest[k], distance[k], within[k] = found
            advance(1)
    return nearest, distance, within


def _nearest_centre(centres, centre: np.ndarray, *, exclude: int | None, ids: np.ndarray) -> int:
    """The index of the bounding sphere whose centre is nearest ``centre``, not that of
    the object ``exclude``."""
    found = np.atleast_1d(centres.query(centre, k=min(2, len(ids)))[1])
    return int(next(i for i in found if exclude is None or ids[i] != exclude))
