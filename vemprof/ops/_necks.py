"""Merge the parts of an over-split object that meet at a wide neck.

A watershed of the distance map splits a mask at its necks, but a long tube whose
radius wavers has a maximum at every bulge, and an absolute depth (the h of h-maxima)
cannot tell such a waist from the contact of two touching objects: the depth of both
grows with the objects' size. Their shapes differ in proportion. Where two convex
objects touch, the neck is much narrower than either (its distance to the background
falls towards 0); along a tube it stays close to the tube's radius. So two parts are
one object when the neck between them — the highest distance on their common
boundary, the *saddle* — is at least ``ratio`` times the peak distance (the radius) of
the thinner part.

The parts are merged greedily from the widest neck down (union–find), each merged
group taking the larger peak, as in a merge tree of the distance map. On the phantom's
predicted mitochondria (docs/unet.md) the necks of touching pairs were at most 0.54 of
the thinner radius and those inside one mitochondrion at least 0.69 bar a few branch
points: ``ratio`` 0.6 lies between.

Block-wise, each chunk's table of peaks and necks is made with one voxel of its
neighbours around it (so necks across chunk borders count), the tables are combined
(maxima, which do not depend on the chunking), and the merged ids are a lookup table
applied chunk by chunk: the merge equals the whole-array one exactly.
"""

from __future__ import annotations

from typing import Any

import dask.array as da
import numpy as np
import pandas as pd

from vemprof.ops._validate import is_dask


def merge_wide_necks(labels: Any, distance: Any, *, ratio: float) -> Any:
    """``labels`` with neighbouring parts merged where their neck is wide.

    Parameters
    ----------
    labels : (Z, Y, X) integer array, numpy or dask
        Parts, 0 = background (e.g. a watershed of the distance map).
    distance : (Z, Y, X) float array of the same shape (and chunks)
        Distance to the background, nm (capped or not).
    ratio : float
        Two touching parts merge when the largest distance on their common boundary
        is at least ``ratio`` × the smaller of their peak distances; 0 merges every
        touching pair, above 1 none.

    Returns
    -------
    (Z, Y, X) labels of ``labels``' dtype, numbered 1…K; lazy for dask input (the
    table of necks is computed when this is called).
    """
    if is_dask(labels):
        grown = [da.overlap.overlap(array, depth=1, boundary="none")
                 for array in (labels, distance.rechunk(labels.chunks))]
        tables = da.map_blocks(_neck_table_block, *grown, dtype=object, chunks=(1,) * labels.ndim).compute()
        peaks = pd.concat([table[0] for table in tables.ravel()]).groupby(level=0).max()
        necks = pd.concat([table[1] for table in tables.ravel()]).groupby(["a", "b"])["neck"].max().reset_index()
    else:
        labels = np.asarray(labels)
        peaks, necks = _neck_table(labels, np.asarray(distance))
    lookup = _merged_ids(peaks, necks, ratio=ratio).astype(labels.dtype)
    if is_dask(labels):
        return labels.map_blocks(_relabel, lookup, dtype=labels.dtype)
    return lookup[labels]


def _relabel(block: np.ndarray, lookup: np.ndarray) -> np.ndarray:
    return lookup[block]


def _neck_table_block(labels: np.ndarray, distance: np.ndarray) -> np.ndarray:
    """`_neck_table` of one grown chunk, as a 1 × 1 × 1 object array (one per chunk)."""
    table = np.empty((1,) * labels.ndim, object)
    table[(0,) * labels.ndim] = _neck_table(labels, distance)
    return table


def _neck_table(labels: np.ndarray, distance: np.ndarray) -> tuple[pd.Series, pd.DataFrame]:
    """Each part's peak distance (a Series by id) and each touching pair's neck (columns
    ``a`` < ``b``, ``neck``: the largest of the smaller distance of two face neighbours)."""
    labels, distance = np.asarray(labels), np.asarray(distance)
    inside = labels > 0
    peaks = pd.Series(distance[inside]).groupby(labels[inside]).max()
    pairs = []
    for axis in range(labels.ndim):
        near = tuple(slice(None, -1) if a == axis else slice(None) for a in range(labels.ndim))
        far = tuple(slice(1, None) if a == axis else slice(None) for a in range(labels.ndim))
        first, second = labels[near], labels[far]
        touching = (first > 0) & (second > 0) & (first != second)
        first, second = first[touching], second[touching]
        pairs.append(pd.DataFrame({"a": np.minimum(first, second), "b": np.maximum(first, second),
                                   "neck": np.minimum(distance[near][touching], distance[far][touching])}))
    necks = pd.concat(pairs).groupby(["a", "b"])["neck"].max().reset_index()
    return peaks, necks


def _merged_ids(peaks: pd.Series, necks: pd.DataFrame, *, ratio: float) -> np.ndarray:
    """Lookup table old id → new id (0 → 0, the rest 1…K), merging from the widest neck down."""
    size = int(max(peaks.index.max() if len(peaks) else 0, 0)) + 1
    parent = np.arange(size)
    top = np.zeros(size, np.float64)
    top[peaks.index.to_numpy()] = peaks.to_numpy()

    def root(i: int) -> int:
        while parent[i] != i:
            parent[i] = parent[parent[i]]
            i = parent[i]
        return i

    for a, b, neck in necks.sort_values("neck", ascending=False).itertuples(index=False):
        first, second = root(int(a)), root(int(b))
        if first != second and neck >= ratio * min(top[first], top[second]):
            parent[second] = first
            top[first] = max(top[first], top[second])
    while True:  # every id straight to its root
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            break
        parent = jumped
    present = np.zeros(size, bool)
    present[peaks.index.to_numpy()] = True
    roots = np.unique(parent[present])
    renumbered = np.zeros(size, np.int64)
    renumbered[roots] = np.arange(1, len(roots) + 1)
    lookup = renumbered[parent]
    lookup[0] = 0
    return lookup
