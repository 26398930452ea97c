"""A nucleus split into two sections: at its invagination, or by a plane.

**At the invagination** (`split_at_invagination`). A cleft of cytoplasm that runs into
the nucleus leaves the two lobes joined by a bridge narrower than either lobe. The
distance from each nucleus voxel to the background peaks inside each lobe and falls
to a saddle in the bridge. So:

1. Pieces under `MIN_SECTION_FRACTION` of the nucleus are set aside (they join the
   nearer section at the end). Two pieces larger than that are the two sections.
2. One piece is over-split by a watershed of the negated distance map from all its
   maxima (`ops.split_touching`, h of one voxel): every bump and every lobe gets a part.
3. Touching parts are merged, the pair whose neck is widest *relative to the thinner
   part* first (neck = the highest distance on their common boundary, thinner part's
   radius = its highest distance; `ops._necks`), until two remain: a bump's shallow
   saddle goes early, the bridge between the lobes last.
4. Section 1 is the smaller of the two by volume, section 2 the larger. A smaller one
   under `MIN_LOBE_FRACTION` of the nucleus is a bump, not a lobe: the nucleus has no
   invagination (`NoInvagination`; a demo's U-Net that filled most of the cleft left a
   1.8 % knob as the last part, and a section of 4 pores against 270).

The relative neck of that last pair (`SectionSplit.neck_ratio`) says how clear the
split is: the phantom's bridge is about 0.4 of the thinner lobe's radius; a nucleus
without an invagination has a ratio near 1, where the split is arbitrary and a
warning says so.

**Each of several nuclei** (`split_each_nucleus`, for a volume of many cells): every
piece of the mask at least `MIN_NUCLEUS_FRACTION` of the largest is a nucleus, numbered
1.. in C order of its first voxel, and split at its invagination on its own; nucleus k's
sections are 2k − 1 (smaller) and 2k (larger), so a single nucleus keeps 1 and 2. A
nucleus without an invagination is one section, 2k − 1, with a warning: on tissue many
nuclei are round, and one must not stop the others.

**By a plane** (`split_by_plane`): section 1 on the side the normal points away from,
section 2 on the side it points to.

`nearest_sections` extends a section image over the background (each voxel takes the
section of the nearest nucleus voxel), which assigns objects near the envelope (pores,
say) to a section and carries a coarse split to full resolution.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from vemprof.errors import VemprofError
from vemprof.ops._validate import as_spacing, check_mask

#: Pieces of the nucleus smaller than this share of its volume are not sections; they
#: join the nearer section.
MIN_SECTION_FRACTION = 0.1
#: The last two parts leave a smaller one under this share of the nucleus: a bump, not a
#: lobe (the phantoms' smaller lobe is a fifth or more; a short test's U-Net left one
#: of 9.8 % of a poorly found nucleus, the demo's a knob of 1.8 %).
MIN_LOBE_FRACTION = 0.05
#: A split whose last neck is at least this share of the thinner lobe's radius is not
#: at an invagination: warned about.
UNCLEAR_NECK_RATIO = 0.8
#: With several nuclei: pieces of the mask under this share of the largest are crumbs
#: (they join the nearest section), not nuclei.
MIN_NUCLEUS_FRACTION = 0.1


class NoInvagination(VemprofError):
    """The nucleus has a single lobe, no invagination to split it at; ``reason`` says why
    (the message adds the fix)."""

    def __init__(self, reason: str):
        self.reason = reason
        super().__init__(f"the nucleus has no invagination to split at: {reason}; give the section plane with "
                         "--plane Z,Y,X:NZ,NY,NX (µm)")


@dataclass(frozen=True)
class SectionSplit:
    """``sections``: (Z, Y, X) uint8, 0 outside the nucleus, 1 the smaller section, 2 the
    larger; ``neck_ratio``: the neck between them over the thinner one's radius (0 when
    they do not touch)."""

    sections: np.ndarray
    neck_ratio: float


def split_at_invagination(nucleus: np.ndarray, *, spacing: Sequence[float]) -> SectionSplit:
    """Split the nucleus mask (Z, Y, X; numpy, non-zero = nucleus; voxel size ``spacing``
    in nm) into two sections at its invagination (see the module note)."""
    import cc3d

    from vemprof import ops

    spacing = as_spacing(spacing)
    mask = np.asarray(check_mask(nucleus, what="nucleus"))
    total = int(np.count_nonzero(mask))
    if total == 0:
        raise VemprofError("the nucleus label image is empty; segment the nucleus first")
    pieces, count = cc3d.connected_components(mask, connectivity=26, return_N=True)
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)[1:]
    large = np.flatnonzero(sizes >= MIN_SECTION_FRACTION * total) + 1
    if len(large) > 2:
        raise VemprofError(f"the nucleus mask has {len(large)} separate large pieces, not one nucleus with two "
                           "sections; keep one nucleus (ops keep_largest) or give --plane")
    if len(large) == 2:
        parts, neck_ratio = np.where(np.isin(pieces, large), pieces, 0), 0.0
    else:
        body = pieces == large[0]
        distance = np.asarray(ops.distance_transform(body, spacing=spacing))
        widest = float(max(np.array(mask.shape) * spacing))  # no distance is larger: none capped
        split = np.asarray(ops.split_touching(body, spacing=spacing, h_nm=min(spacing), max_radius_nm=widest))
        parts, neck_ratio = _merge_to_two(split, distance)
    ids, volumes = np.unique(parts[parts > 0], return_counts=True)
    if volumes.min() < MIN_LOBE_FRACTION * total:  # only a merge leaves one so small: two pieces are each ≥ 10 %
        raise NoInvagination(f"its clearest neck cuts off {volumes.min() / total:.1%} of it, a bump, not a lobe: a "
                             f"section is at least {MIN_LOBE_FRACTION:.0%}")
    if neck_ratio >= UNCLEAR_NECK_RATIO:
        warnings.warn(f"the nucleus has no clear invagination: the split is at a neck {neck_ratio:.2f} of the "
                      "thinner section's radius; check labels/sections or give --plane", stacklevel=2)
    order = ids[np.argsort(volumes, kind="stable")]  # smaller first
    lookup = np.zeros(int(parts.max()) + 1, np.uint8)
    lookup[order] = np.arange(1, len(order) + 1)
    sections = nearest_sections(lookup[parts], spacing=spacing)
    return SectionSplit(np.where(mask, sections, 0).astype(np.uint8), neck_ratio)


def split_each_nucleus(nuclei: np.ndarray, *, spacing: Sequence[float]) -> tuple[np.ndarray, list[float]]:
    """Split each nucleus of the mask ``nuclei`` (Z, Y, X; numpy, non-zero = nucleus; voxel
    size ``spacing`` nm) at its invagination (module note): the sections (uint16, 0
    outside; nucleus k's are 2k − 1 and 2k) and each nucleus's neck ratio (NaN where it
    has none)."""
    import cc3d

    spacing = as_spacing(spacing)
    mask = np.asarray(check_mask(nuclei, what="nucleus"))
    if not mask.any():
        raise VemprofError("the nucleus label image is empty; segment the nuclei first")
    pieces, count = cc3d.connected_components(mask, connectivity=26, return_N=True)
    sizes = np.bincount(pieces.ravel(), minlength=count + 1)[1:]
    boxes = cc3d.statistics(pieces)["bounding_boxes"][1:]
    chosen = [int(i) for i in np.flatnonzero(sizes >= MIN_NUCLEUS_FRACTION * sizes.max())]  # C order of first voxel
    sections = np.zeros(mask.shape, np.uint16)
    necks = []
    for k, piece in enumerate(chosen, start=1):
        box = boxes[piece]
        alone = pieces[box] == piece + 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # warned below, with the nucleus's number
                split = split_at_invagination(alone, spacing=spacing)
        except NoInvagination as error:  # one round lobe: the whole nucleus is one section
            part, neck = np.where(alone, 2 * k - 1, 0).astype(np.uint16), np.nan
            warnings.warn(f"nucleus {k} has no invagination to split at: it is one section, {2 * k - 1} "
                          f"({error.reason})", stacklevel=2)
        else:
            part, neck = np.where(alone, split.sections.astype(np.uint16) + 2 * (k - 1), 0), split.neck_ratio
            if neck >= UNCLEAR_NECK_RATIO:
                warnings.warn(f"nucleus {k} has no clear invagination: split at a neck {neck:.2f} of the thinner "
                              "section's radius; check labels/sections", stacklevel=2)
        sections[box][alone] = part[alone]
        necks.append(float(neck))
    return np.where(mask, nearest_sections(sections, spacing=spacing), 0).astype(np.uint16), necks


def nucleus_of_section(section):
    """The nucleus k that section ids belong to (`split_each_nucleus`: 2k − 1 and 2k; 0,
    no section, gives 0); an int or an array of them, like ``section``."""
    return (section + 1) // 2


def _merge_to_two(parts: np.ndarray, distance: np.ndarray) -> tuple[np.ndarray, float]:
    """``parts`` merged, the relatively widest neck first, into two; and the relative
    neck of the last pair. A body with a single part cannot be split: an error."""
    from vemprof.ops._necks import _neck_table

    peaks, necks = _neck_table(parts, distance)
    if len(peaks) < 2:
        raise NoInvagination("it is one round lobe")
    group = {int(label): int(label) for label in peaks.index}
    top = {int(label): float(value) for label, value in peaks.items()}
    neck = {(int(a), int(b)): float(n) for a, b, n in necks.itertuples(index=False)}
    while len(top) > 2 and neck:
        (a, b), width = max(neck.items(), key=lambda item: item[1] / min(top[item[0][0]], top[item[0][1]]))
        for label, owner in group.items():  # b joins a
            if owner == b:
                group[label] = a
        top[a] = max(top[a], top.pop(b))
        merged: dict[tuple[int, int], float] = {}
        for (c, d), n in neck.items():
            c, d = (a if c == b else c), (a if d == b else d)
            if c != d:
                key = (min(c, d), max(c, d))
                merged[key] = max(merged.get(key, 0.0), n)
        neck = merged
    if len(top) > 2:
        raise VemprofError(f"the nucleus falls into {len(top)} parts that do not touch; keep one nucleus "
                           "(ops keep_largest) or give --plane")
    a, b = sorted(top)
    width = neck.get((a, b), 0.0)  # no neck: the two meet only at an edge or a corner
    lookup = np.zeros(int(parts.max()) + 1, np.int64)
    for label, owner in group.items():
        lookup[label] = owner
    return lookup[parts], width / min(top[a], top[b])


def split_by_plane(nucleus: Any, *, spacing: Sequence[float], point_um: Sequence[float],
                   normal: Sequence[float]) -> Any:
    """Sections of the nucleus mask (Z, Y, X; numpy or dask, lazy for dask) by the plane
    through ``point_um`` (Z, Y, X, µm from the first voxel's centre) with ``normal``
    (Z, Y, X): 1 where (position − point) · normal ≤ 0, 2 beyond; uint8, 0 outside."""
    import dask.array as da

    spacing = as_spacing(spacing)
    mask = check_mask(nucleus, what="nucleus")
    normal = np.asarray(normal, np.float64)
    if normal.shape != (3,) or not np.all(np.isfinite(normal)) or not np.linalg.norm(normal) > 0:
        raise VemprofError(f"the plane's normal must be 3 finite numbers NZ,NY,NX, not all 0; got {list(normal)}")
    point_nm = np.asarray(point_um, np.float64) * 1000
    if point_nm.shape != (3,) or not np.all(np.isfinite(point_nm)):
        raise VemprofError(f"the plane's point must be 3 finite numbers Z,Y,X in µm; got {list(point_um)}")
    if isinstance(mask, da.Array):
        return da.map_blocks(_plane_block, mask, dtype=np.uint8, spacing=spacing, point_nm=point_nm, normal=normal)
    return _plane_block(np.asarray(mask), spacing=spacing, point_nm=point_nm, normal=normal)


def _plane_block(mask: np.ndarray, *, spacing, point_nm, normal, block_info=None) -> np.ndarray:
    origin = block_info[0]["array-location"] if block_info else [(0, n) for n in mask.shape]
    side = sum(((np.arange(start, stop) * s - p) * n).reshape([-1 if a == axis else 1 for a in range(3)])
               for axis, ((start, stop), s, p, n) in enumerate(zip(origin, spacing, point_nm, normal)))
    return np.where(mask, np.where(side <= 0, 1, 2), 0).astype(np.uint8)


def nearest_sections(sections: np.ndarray, *, spacing: Sequence[float]) -> np.ndarray:
    """Every voxel of ``sections`` (Z, Y, X ids, 0 = none) given the id of the nearest
    non-zero voxel (anisotropic Euclidean; scipy's distance transform's indices)."""
    from scipy import ndimage

    sections = np.asarray(sections)
    if not sections.any():
        raise VemprofError("the section image is empty; split the nucleus first (vemprof sections)")
    nearest = ndimage.distance_transform_edt(sections == 0, sampling=as_spacing(spacing), return_distances=False,
                                             return_indices=True)
    return sections[tuple(nearest)]


def section_of_points(points_um: np.ndarray, sections: np.ndarray, *, spacing: Sequence[float]) -> np.ndarray:
    """The section (from `nearest_sections` of ``sections``, voxel size ``spacing`` nm)
    at each point (n, 3; Z, Y, X µm from the first voxel's centre); points outside the
    volume take the section of the nearest voxel on its face."""
    filled = nearest_sections(sections, spacing=spacing)
    index = np.rint(np.asarray(points_um, np.float64) * 1000 / np.asarray(as_spacing(spacing))).astype(np.int64)
    index = np.clip(index, 0, np.array(filled.shape) - 1)
    return filled[tuple(index.T)]

