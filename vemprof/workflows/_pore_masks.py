"""Pore masks from pockets (automatic ground truth for the pore model): the second step of `vemprof pores`.

A pore sits in the envelope straight above its pocket. For each pocket, the point of the
nucleus's surface nearest its centroid (the envelope mesh, `envelope_mesh`) is the pore's
centre, and the pore's mask is the envelope there: the voxels within `PORE_RADIUS_NM` of
that point and between `OUTSIDE_NM` outside and `INSIDE_NM` inside the nucleus's surface
(a voxel claimed by two pockets goes to the nearer). Each mask keeps its pocket's id.

One pore per pocket, but not two pores closer than a pore: pockets whose points lie
within `JOIN_NM` of each other (two thirds of a pore complex's ~120 nm outer diameter:
the phantoms' own pockets, 150 nm apart at least, give points 91 nm apart at the
closest at 60 × 50 × 50 nm voxels) are pieces of one pocket split by the chain's
watershed, and give one mask, at the point nearest their centroid weighted by their
volumes, with the largest piece's id (docs/pores.md: F1 of the masks +0.011 on two
phantoms of four, the same on the others).

Pore-sized masks matter: grown from the whole pocket (200–300 nm across), masks covered
58 % of the phantom's envelope against the pores' 10 %, and a U-Net trained on them lit up
the whole envelope (F1 0.03); on these (7 %), the same training found 86 % of the pores.

Memory: each pocket's neighbourhood is read on its own (a box of the disc and the reach
of the depths), and the masks are kept as voxel lists until they are written chunk by
chunk.
"""

from __future__ import annotations

import datetime as dt
from typing import Callable

import dask.array as da
import numpy as np
import pandas as pd
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components
from scipy.spatial import cKDTree

from vemprof import ops
from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.evaluate import centroids_nm
from vemprof.spatial import envelope_mesh
from vemprof.store import Store
from vemprof.workflows._pockets import write_voxels

#: The pore mask: radius around the pore's centre, and depth range about the nucleus's
#: surface, nm (a nuclear pore complex is ~100–120 nm across; the envelope ~40 nm thick).
PORE_RADIUS_NM = 60.0
OUTSIDE_NM = 30.0
INSIDE_NM = 60.0
#: Pockets whose points on the surface lie closer than this, nm, are one pocket's pieces.
JOIN_NM = 80.0


def find_pore_masks(store: Store, *, nucleus: str = "nucleus", pockets: str = "pockets", out: str = "pore_masks",
                    radius_nm: float = PORE_RADIUS_NM, progress: ProgressReporter = no_progress) -> int:
    """Write ``labels/<out>``: the mask of the pore above each pocket of
    ``labels/<pockets>`` (module note), with the pocket's id (pieces joined: the largest
    piece's); returns how many."""
    started = dt.datetime.now(dt.timezone.utc)
    mask, seeds = store.labels(nucleus).data, store.labels(pockets).data
    spacing = np.asarray(store.spacing, np.float64)
    ids, sizes = (np.asarray(a) for a in da.compute(*da.unique(seeds, return_counts=True)))
    ids, sizes = ids[ids > 0], sizes[ids > 0]
    if len(ids) == 0:
        raise VemprofError(f"labels/{pockets} holds no pocket; find the pockets first (--steps pockets)")
    vertices, _, _ = envelope_mesh(store, nucleus=nucleus, sections=None)
    surface = cKDTree(vertices * 1000)
    ids, surface_nm = joined_pockets(ids, sizes, centroids_nm(seeds, spacing=spacing), surface=surface)
    voxels = []
    with progress("marking the pore above each pocket", len(ids)) as advance:
        for label, centre in zip(ids, surface_nm):
            voxels.append(envelope_disc(mask, centre, label=int(label), spacing=spacing, radius_nm=radius_nm))
            advance(1)
    claimed = write_discs(store, out, voxels, like=nucleus, dtype=seeds.dtype, progress=progress)
    count = int(claimed["label"].nunique())
    store.record("pores", outputs=[f"labels/{out}"], started=started,
                 parameters={"step": "masks", "nucleus": nucleus, "pockets": pockets, "radius_nm": radius_nm,
                             "outside_nm": OUTSIDE_NM, "inside_nm": INSIDE_NM, "join_nm": JOIN_NM,
                             "pore_masks": count})
    return count


def joined_pockets(ids: np.ndarray, sizes: np.ndarray, centres_nm: np.ndarray, *,
                   surface: cKDTree) -> tuple[np.ndarray, np.ndarray]:
    """The pores of pockets ``ids`` (n,) of ``sizes`` voxels and centroids ``centres_nm``
    (n, 3): each pocket's point, the vertex of ``surface`` (the envelope mesh's, nm)
    nearest its centroid, with pockets whose points lie within `JOIN_NM` of each other
    joined (module note). Returns the pores' ids (the largest piece's) and points (m, 3), nm."""
    points = surface.data[surface.query(centres_nm)[1]]
    pairs = cKDTree(points).query_pairs(JOIN_NM, output_type="ndarray")
    links = coo_matrix((np.ones(len(pairs)), (pairs[:, 0], pairs[:, 1])), shape=(len(ids), len(ids)))
    count, group = connected_components(links, directed=False)
    weight = np.bincount(group, weights=sizes, minlength=count)
    joined = np.stack([np.bincount(group, weights=centres_nm[:, axis] * sizes, minlength=count) / weight
                       for axis in range(3)], axis=1)
    largest = np.lexsort((-sizes, group))  # by group, the largest piece first
    first = largest[np.r_[True, group[largest][1:] != group[largest][:-1]]]
    return ids[first], surface.data[surface.query(joined)[1]]


def envelope_disc(nucleus, centre_nm: np.ndarray, *, label: int, spacing: np.ndarray, radius_nm: float,
                  keep: Callable[[tuple[slice, ...]], np.ndarray] | None = None) -> pd.DataFrame:
    """The voxels (``z``, ``y``, ``x``, ``label``, ``distance_nm`` to the centre) of the
    envelope (`OUTSIDE_NM` outside to `INSIDE_NM` inside the surface of ``nucleus``) within
    ``radius_nm`` of ``centre_nm``, read from a box of ``nucleus`` around it; ``keep(box)``,
    a bool array of the box's shape, narrows them further."""
    reach = radius_nm + max(OUTSIDE_NM, INSIDE_NM) + spacing  # depths need the voxels beyond the disc
    low = np.maximum(np.floor((centre_nm - reach) / spacing).astype(int), 0)
    high = np.minimum(np.ceil((centre_nm + reach) / spacing).astype(int) + 1, nucleus.shape)
    box = tuple(slice(a, b) for a, b in zip(low, high))
    inside_nucleus = np.asarray(nucleus[box]) > 0
    inside = ops.distance_transform(inside_nucleus, spacing=spacing)
    outside = ops.distance_transform(~inside_nucleus, spacing=spacing)
    grids = np.meshgrid(*[np.arange(a, b) for a, b in zip(low, high)], indexing="ij")
    distance = np.sqrt(sum((g * s - c) ** 2 for g, s, c in zip(grids, spacing, centre_nm)))
    chosen = (distance <= radius_nm) & (inside <= INSIDE_NM) & (outside <= OUTSIDE_NM)
    if keep is not None:
        chosen &= keep(box)
    return pd.DataFrame({"z": grids[0][chosen], "y": grids[1][chosen], "x": grids[2][chosen], "label": label,
                         "distance_nm": distance[chosen]})


def write_discs(store: Store, out: str, discs: list[pd.DataFrame], *, like: str, dtype,
                progress: ProgressReporter) -> pd.DataFrame:
    """Write the voxels of ``discs`` (`envelope_disc`) as ``labels/<out>`` in the chunks of
    ``labels/<like>``, chunk by chunk, a voxel claimed twice going to the nearer centre;
    returns the voxels written."""
    claimed = pd.concat(discs, ignore_index=True)
    claimed = claimed.sort_values("distance_nm").drop_duplicates(["z", "y", "x"])
    write_voxels(store, out, claimed, like=like, dtype=dtype, progress=progress)
    return claimed
