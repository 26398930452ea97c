"""A store's nucleus split into sections (``labels/sections``, ``tables/sections``), the
envelope mesh by section, and objects assigned to sections: the library calls behind
`vemprof sections` and `vemprof points --surface --regions`.

The automatic split runs on a coarser pyramid level (`working_level`: the coarsest
with voxels of at most `SECTION_VOXEL_NM`, coarser still while the nucleus's box holds
more than `SECTION_VOXELS`), cropped to the nucleus: an invagination 100–500 nm wide
stays open there and a nucleus of 20 µm fits in memory. The sections are carried to
full resolution chunk by chunk: each nucleus voxel takes the section of the nearest
voxel of the coarse split (`nearest_sections`), so the full-resolution sections cover
the full-resolution nucleus exactly. A plane split runs at full resolution directly.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from typing import Sequence

import dask.array as da
import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.spatial._sections import (
    NoInvagination,
    nearest_sections,
    nucleus_of_section,
    section_of_points,
    split_at_invagination,
    split_by_plane,
    split_each_nucleus,
)
from vemprof.store import Store

#: Largest voxel edge, nm, of the pyramid level the automatic split runs on.
SECTION_VOXEL_NM = 50.0
#: Most voxels of the nucleus's box at that level (coarser levels are taken beyond).
SECTION_VOXELS = 2 ** 24
_NM_PER_UM = 1000.0


def split_nucleus(store: Store, *, nucleus: str = "nucleus", out: str = "sections",
                  plane: tuple[Sequence[float], Sequence[float]] | None = None, each_nucleus: bool = False,
                  progress: ProgressReporter = no_progress) -> pd.DataFrame:
    """Write ``labels/<out>`` (1 the smaller section, 2 the larger; or 1 behind and 2 in
    front of ``plane`` = (point Z,Y,X µm, normal Z,Y,X)) and ``tables/<out>`` (`section`,
    `nucleus`, `volume_um3`, `envelope_um2`, `neck_ratio`) for the nucleus
    ``labels/<nucleus>``; with ``each_nucleus``, every nucleus of it split on its own,
    nucleus k's sections 2k − 1 and 2k (`split_each_nucleus`). Returns the table."""
    started = dt.datetime.now(dt.timezone.utc)
    full = store.labels(nucleus).data
    if plane is not None:
        sections, necks = split_by_plane(full, spacing=store.spacing, point_um=plane[0], normal=plane[1]), [np.nan]
    else:
        level = working_level(store, nucleus)
        crop, offset, spacing = _crop(store, nucleus, level)
        if each_nucleus:
            coarse, necks = split_each_nucleus(crop > 0, spacing=spacing)
        else:
            coarse, necks = _split_one(crop > 0, spacing=spacing)
        sections = da.map_blocks(_carried_block, full, dtype=coarse.dtype, filled=nearest_sections(
            coarse, spacing=spacing), offset=offset, scale=np.asarray(store.spacing) / spacing)
    with progress(f"writing labels/{out}", store.chunks_to_write(full.shape, full.chunksize, averaged=False)) as step:
        store.write_labels(out, sections, chunks=full.chunksize, progress=step)
    table = _section_table(store, nucleus=nucleus, sections=out)
    table["neck_ratio"] = np.asarray(necks)[table["nucleus"] - 1]
    store.write_table(out, table)
    store.record("sections", outputs=[f"labels/{out}", f"tables/{out}"], started=started,
                 parameters={"nucleus": nucleus, "each_nucleus": each_nucleus,
                             "plane": None if plane is None else [list(map(float, p)) for p in plane]})
    return table


def _split_one(nucleus: np.ndarray, *, spacing: np.ndarray) -> tuple[np.ndarray, list[float]]:
    """The sections of one nucleus (`split_at_invagination`) and its neck ratio; a nucleus
    of one round lobe is one section, 1 (neck NaN), with a warning: a whole profile must
    not stop at its last steps for a nucleus that cannot be split (many are round)."""
    try:
        split = split_at_invagination(nucleus, spacing=spacing)
    except NoInvagination as error:
        warnings.warn(f"the nucleus has no invagination to split at: it is one section, 1 ({error.reason}); to split "
                      "it by a plane instead, run vemprof sections with --plane Z,Y,X:NZ,NY,NX (µm)", stacklevel=3)
        return nucleus.astype(np.uint8), [np.nan]
    return split.sections, [split.neck_ratio]


def working_level(store: Store, name: str) -> int:
    """The pyramid level of ``labels/<name>`` the nucleus is split and meshed on (module note)."""
    store.labels(name)  # a one-line error if there is none
    levels = store.pyramid(f"labels/{name}")
    level = max([k for k, (_, spacing) in enumerate(levels) if max(spacing) <= SECTION_VOXEL_NM], default=0)
    while level + 1 < len(levels) and math.prod(_box(store, name, level)[1]) > SECTION_VOXELS:
        level += 1
    return level


def _box(store: Store, name: str, level: int) -> tuple[np.ndarray, np.ndarray]:
    """First voxel and size of the box around the objects of ``labels/<name>`` at
    ``level`` (two voxels of margin), found on the coarsest level."""
    levels = store.pyramid(f"labels/{name}")
    coarsest = np.asarray(store.labels(name, level=len(levels) - 1).data) > 0
    if not coarsest.any():
        raise VemprofError(f"labels/{name} is empty; segment the nucleus first")
    where = np.argwhere(coarsest)
    ratio = np.asarray(levels[-1][1]) / np.asarray(levels[level][1])
    shape = np.asarray(levels[level][0])
    low = np.maximum(np.floor(where.min(axis=0) * ratio).astype(int) - 2, 0)
    high = np.minimum(np.ceil((where.max(axis=0) + 1) * ratio).astype(int) + 2, shape)
    return low, high - low


def _crop(store: Store, name: str, level: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``labels/<name>`` at ``level`` cropped to its objects' box (`_box`), the box's
    first voxel, and the level's voxel size (nm)."""
    low, size = _box(store, name, level)
    box = tuple(slice(a, a + n) for a, n in zip(low, size))
    spacing = np.asarray(store.pyramid(f"labels/{name}")[level][1], np.float64)
    return np.asarray(store.labels(name, level=level).data[box]), low, spacing


def _carried_block(nucleus: np.ndarray, *, filled: np.ndarray, offset: np.ndarray, scale: np.ndarray,
                   block_info=None) -> np.ndarray:
    """The sections of a full-resolution block: each nucleus voxel the section of the
    coarse voxel it lies in (``filled``: every coarse voxel's nearest section; its
    first voxel at ``offset`` of the coarse level; ``scale`` full over coarse voxel size)."""
    location = block_info[0]["array-location"]
    index = [np.clip(np.floor((np.arange(a, b) + 0.5) * s).astype(np.int64) - o, 0, n - 1)
             for (a, b), s, o, n in zip(location, scale, offset, filled.shape)]
    return np.where(nucleus > 0, filled[np.ix_(*index)], 0).astype(filled.dtype)


def envelope_mesh(store: Store, *, nucleus: str, sections: str | None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The nuclear envelope as the smoothed surface of ``labels/<nucleus>`` at the
    working level: vertices (n, 3) in µm (Z, Y, X, from the first full-resolution
    voxel's centre), triangles (m, 3), and each triangle's section of ``labels/<sections>``
    (all 1 without ``sections``)."""
    from vemprof.measure import mask_mesh

    level = working_level(store, nucleus)
    mask, offset, spacing = _crop(store, nucleus, level)
    vertices, faces = mask_mesh(mask > 0, spacing=spacing)
    if sections is None:
        face_sections = np.ones(len(faces), np.int64)
    else:
        if store.labels(sections).data.shape != store.labels(nucleus).data.shape:
            raise VemprofError(f"labels/{sections} and labels/{nucleus} differ in shape; split this nucleus again "
                               f"(vemprof sections STORE --nucleus {nucleus})")
        box = tuple(slice(a, a + n) for a, n in zip(offset, mask.shape))
        filled = nearest_sections(_labels_at(store, sections, spacing=spacing, box=box), spacing=spacing)
        centres = np.rint(vertices[faces].mean(axis=1) / spacing).astype(np.int64)
        face_sections = filled[tuple(np.clip(centres, 0, np.array(mask.shape) - 1).T)].astype(np.int64)
    return (vertices + _origin_nm(store, spacing, offset)) / _NM_PER_UM, faces, face_sections


def _labels_at(store: Store, name: str, *, spacing: np.ndarray, box: tuple[slice, ...]) -> np.ndarray:
    """``labels/<name>`` at voxel size ``spacing`` (nm), in ``box`` (voxel slices at that
    size): its pyramid level of that voxel size or, where it has none (its pyramid is
    shallower, written in larger chunks), the same voxels taken from level 0 (a label
    pyramid keeps every second voxel, from the first)."""
    for level, (_, level_spacing) in enumerate(store.pyramid(f"labels/{name}")):
        if np.allclose(level_spacing, spacing):
            return np.asarray(store.labels(name, level=level).data[box])
    steps = np.rint(np.asarray(spacing) / np.asarray(store.spacing)).astype(int)
    return np.asarray(store.labels(name).data[tuple(slice(b.start * n, b.stop * n, n) for b, n in zip(box, steps))])


def _origin_nm(store: Store, spacing: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """Where the centre of voxel ``offset`` of a level of voxel size ``spacing`` (nm)
    lies, nm from the centre of the first full-resolution voxel (a coarse voxel spans
    whole full-resolution voxels)."""
    return (offset + 0.5) * spacing - 0.5 * np.asarray(store.spacing, np.float64)


def _section_table(store: Store, *, nucleus: str, sections: str) -> pd.DataFrame:
    """Per section with voxels: its volume (full resolution) and its envelope's area
    (`envelope_mesh`)."""
    from vemprof.measure import triangle_areas

    counts = da.bincount(store.labels(sections).data.ravel(), minlength=3).compute()
    vertices, faces, face_sections = envelope_mesh(store, nucleus=nucleus, sections=sections)
    areas = np.bincount(face_sections, weights=triangle_areas(vertices, faces), minlength=len(counts))
    voxel_um3 = math.prod(store.spacing) / _NM_PER_UM ** 3
    ids = np.flatnonzero(counts[1:]) + 1  # a nucleus without an invagination has one section
    return pd.DataFrame({"section": ids, "nucleus": nucleus_of_section(ids), "volume_um3": counts[ids] * voxel_um3,
                         "envelope_um2": areas[ids]})


def assign_sections(store: Store, table: pd.DataFrame, *, sections: str) -> pd.DataFrame:
    """``table`` with a ``section`` column: the section of ``labels/<sections>`` nearest
    each object's centroid (`section_of_points`, on the working level)."""
    from vemprof.spatial._points import CENTROIDS

    missing = [c for c in CENTROIDS if c not in table.columns]
    if missing:
        raise VemprofError(f"the table has no {', '.join(missing)}; measure the objects first (vemprof measure)")
    crop, offset, spacing = _crop(store, sections, working_level(store, sections))
    points_nm = table[list(CENTROIDS)].to_numpy(np.float64) * _NM_PER_UM
    crop_points_um = (points_nm - _origin_nm(store, spacing, offset)) / _NM_PER_UM
    assigned = table.copy()
    assigned["section"] = section_of_points(crop_points_um, crop, spacing=spacing).astype(np.int64)
    return assigned
