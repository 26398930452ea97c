"""The plasma membrane and the nuclear envelope, drawn in thin bands around their surfaces.

Both are layered profiles of a signed distance (see `_profiles`). The envelope band also
carries what the envelope does to its surroundings: the two membranes fused into a pore
membrane around each pore complex, the complex itself (a ring around a lighter central
channel, taller than the envelope), the heterochromatin lining the inner membrane except
in a zone ~200 nm across under each pore, and the low-density pocket filling the top of
that zone. The same local pore coordinates give the ground-truth labels of the envelope,
the pores and the pockets.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree
from scipy.stats import norm

from vemprof.synth import _stain as stain_of
from vemprof.synth._grid import Box, Grid
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._pores import Pores
from vemprof.synth._profiles import (
    band_gradient,
    gaussian_cdf,
    layered,
    sigma_along,
    unit_normals,
)
from vemprof.synth._textures import Textures

#: Profiles reach their plateau within this many blur sigmas.
_PLATEAU_SIGMAS = 4.0
#: Radius of the hole in the membranes (the pore membrane) relative to the pore radius.
_HOLE_RADIUS_FRACTION = 0.75
#: Radius of the central channel relative to the pore radius.
_CHANNEL_RADIUS_FRACTION = 0.4
#: Heterochromatin grows from nothing to full thickness over this range of its field.
_HETEROCHROMATIN_RAMP = 1.2
#: Largest heterochromatin thickness relative to the mean parameter.
_HETEROCHROMATIN_PEAK = 1.8
#: Softness of the edge of the heterochromatin exclusion zone under a pore, nm.
_EXCLUSION_EDGE_NM = 15.0
#: A pore draws and labels only the voxels whose surface normal is within 60° of its own: of
#: its own wall of the envelope, not of the facing wall across a cleft between two lobes.
_OWN_WALL_COSINE = 0.5
#: Pores within reach of a point in a cleft, at most: the nearest of its own wall is among them.
_CANDIDATE_PORES = 8


def envelope_band_depth_nm(params: PhantomParameters, axis_variance: np.ndarray) -> float:
    """How far below the nuclear surface (nm) the envelope band reaches: the envelope, the
    thicker of the heterochromatin lining and the pockets, and the blur."""
    envelope = 2 * params.nuclear_membrane_thickness_nm + params.perinuclear_space_nm
    lining = _HETEROCHROMATIN_PEAK * params.heterochromatin_thickness_nm
    return envelope + max(lining, params.pocket_depth_nm) + _PLATEAU_SIGMAS * float(np.sqrt(axis_variance.max()))


def _label_missing(labels: np.ndarray, centers_nm: np.ndarray, drawn: np.ndarray, label: np.ndarray, grid: Grid) -> None:
    """Give the voxel nearest its centre to each object too small to hold a voxel centre
    (possible only at voxel sizes near half the pore diameter)."""
    missing = np.setdiff1d(np.arange(1, len(centers_nm) + 1), label[drawn])
    if len(missing):
        labels[grid.index_of(centers_nm[missing - 1])] = missing


def _nearest_pore_on_own_wall(points: np.ndarray, normals: np.ndarray, pores: Pores, *, reach: float) -> np.ndarray:
    """The index of the nearest pore within ``reach`` (nm) of each point (n, 3) whose normal
    is within 60° of the point's surface normal, ``len(pores.centers_nm)`` where none is.

    Across a cleft between two lobes, the pores of the facing wall lie within reach but point
    the other way: without the test they would draw a second pore complex, hole and pocket
    into the facing wall and label them as theirs."""
    tree = cKDTree(pores.centers_nm)
    count = len(pores.centers_nm)
    _, nearest = tree.query(points, distance_upper_bound=reach)
    off_wall = nearest < count
    off_wall[off_wall] = (pores.normals[nearest[off_wall]] * normals[off_wall]).sum(axis=1) < _OWN_WALL_COSINE
    if off_wall.any():
        neighbours = min(_CANDIDATE_PORES, count)
        _, candidates = tree.query(points[off_wall], k=neighbours, distance_upper_bound=reach)
        candidates = candidates.reshape(-1, neighbours)
        facing = np.einsum("nkd,nd->nk", pores.normals[np.minimum(candidates, count - 1)], normals[off_wall])
        own_wall = (candidates < count) & (facing >= _OWN_WALL_COSINE)
        first = own_wall.argmax(axis=1)
        nearest[off_wall] = np.where(own_wall.any(axis=1), candidates[np.arange(len(candidates)), first], count)
    return nearest


def _band(phi: np.ndarray, low: float, high: float) -> tuple[np.ndarray, ...]:
    return np.nonzero((phi > low) & (phi < high))


def _points(index: tuple[np.ndarray, ...], box: Box, grid: Grid) -> np.ndarray:
    start = np.array([b.start for b in box])
    return (np.stack(index, axis=1) + start) * np.asarray(grid.spacing)


def draw_plasma_membrane(
    stain: np.ndarray, phi: np.ndarray, box: Box, grid: Grid, params: PhantomParameters, textures: Textures,
    axis_variance: np.ndarray,
) -> None:
    """Draw resin | membrane | cytosol across the plasma membrane into ``stain[box]``.

    ``phi`` is the cell's signed distance (nm) over ``box``.
    """
    thickness = params.plasma_membrane_thickness_nm
    reach = thickness + _PLATEAU_SIGMAS * float(np.sqrt(axis_variance.max()))
    index = _band(phi, -1.25 * reach, 1.25 * reach)
    normals, magnitude = unit_normals(band_gradient(phi, index, grid.spacing))
    psi = phi[index] / np.maximum(magnitude, 0.5)
    sigma = sigma_along(normals, axis_variance)
    cytosol = textures.cytosol_at(_points(index, box, grid))
    stain[box][index] = layered(psi, [0.0, -thickness], [stain_of.RESIN, stain_of.MEMBRANE, cytosol], sigma)


def draw_nuclear_envelope(
    stain: np.ndarray,
    labels: dict[str, np.ndarray],
    phi: np.ndarray,
    box: Box,
    grid: Grid,
    params: PhantomParameters,
    pores: Pores,
    textures: Textures,
    axis_variance: np.ndarray,
) -> None:
    """Draw the double membrane, pores, pockets and peripheral heterochromatin into
    ``stain[box]`` and write the ``nuclear_envelope``, ``pores`` and ``pockets`` labels.

    Parameters
    ----------
    stain : ndarray (Z, Y, X) float32
        Stain volume, written in the band around the nuclear surface.
    labels : dict of ndarray (Z, Y, X)
        Holds the full-size label arrays ``nuclear_envelope`` (uint8), ``pores`` and
        ``pockets`` (uint32), written in the same band.
    phi : ndarray
        The nucleus signed distance (nm) over ``box``.
    """
    membrane = params.nuclear_membrane_thickness_nm
    gap = params.perinuclear_space_nm
    envelope = 2 * membrane + gap
    middle = -envelope / 2
    pore_radius = params.pore_diameter_nm / 2
    pocket_radius = params.pocket_diameter_nm / 2
    pocket_depth = params.pocket_depth_nm
    plateau = _PLATEAU_SIGMAS * float(np.sqrt(axis_variance.max()))
    heterochromatin_peak = _HETEROCHROMATIN_PEAK * params.heterochromatin_thickness_nm
    inner_reach = envelope_band_depth_nm(params, axis_variance)
    outer_reach = max(params.pore_height_nm / 2 + middle, 0.0) + plateau
    index = _band(phi, -1.1 * inner_reach, 1.1 * outer_reach + 1.0)
    normals, magnitude = unit_normals(band_gradient(phi, index, grid.spacing))
    psi = phi[index] / np.maximum(magnitude, 0.5)
    sigma = sigma_along(normals, axis_variance)
    points = _points(index, box, grid)

    # local coordinates of the nearest pore: distance from its axis, and depth below the
    # inner membrane
    radial = np.full(len(psi), np.inf, dtype=np.float32)
    if len(pores.centers_nm):
        reach = np.hypot(pocket_radius + plateau, envelope / 2 + pocket_depth + plateau)
        nearest = _nearest_pore_on_own_wall(points, normals, pores, reach=reach)
        near = nearest < len(pores.centers_nm)
        offset = points[near] - pores.centers_nm[nearest[near]]
        along = (offset * pores.normals[nearest[near]]).sum(axis=1)
        radial[near] = np.sqrt(np.clip((offset**2).sum(axis=1) - along**2, 0, None))
    else:
        nearest = np.zeros(len(psi), dtype=np.intp)
    depth = -envelope - psi

    # labels
    start = np.array([b.start for b in box])
    full_index = tuple(index[axis] + start[axis] for axis in range(3))
    voxel_extent = (np.abs(normals) * np.asarray(grid.spacing, dtype=np.float32)).sum(axis=1)
    on_envelope = np.abs(psi - middle) <= np.maximum(envelope / 2, voxel_extent / 2)
    in_pore = (radial <= pore_radius) & (np.abs(psi - middle) <= params.pore_height_nm / 2)
    in_pocket = ~in_pore & (depth >= 0) & ((radial / pocket_radius) ** 2 + (depth / pocket_depth) ** 2 <= 1)
    labels["nuclear_envelope"][full_index] = on_envelope
    pore_label = (nearest + 1).astype(np.uint32)
    labels["pores"][full_index] = np.where(in_pore, pore_label, 0)
    labels["pockets"][full_index] = np.where(in_pocket, pore_label, 0)
    _label_missing(labels["pores"], pores.centers_nm, in_pore, pore_label, grid)
    pocket_centers = pores.centers_nm - (envelope / 2 + pocket_depth / 2) * pores.normals
    _label_missing(labels["pockets"], pocket_centers, in_pocket, pore_label, grid)

    # stain: the two membranes, opened into a hole at each pore
    hole = gaussian_cdf((radial - _HOLE_RADIUS_FRACTION * pore_radius) / sigma)
    membrane_density = stain_of.MEMBRANE * hole + stain_of.PORE_COMPLEX * (1 - hole)
    space_density = stain_of.PERINUCLEAR_SPACE * hole + stain_of.PORE_COMPLEX * (1 - hole)
    nucleoplasm = textures.nucleoplasm_at(points)
    out = layered(
        psi,
        [0.0, -membrane, -membrane - gap, -envelope],
        [textures.cytosol_at(points), membrane_density, space_density, membrane_density, nucleoplasm],
        sigma,
    )
    # heterochromatin lining the inner membrane, kept out of a zone under each pore
    lining = textures.heterochromatin_at(points)
    threshold = norm.ppf(1 - params.heterochromatin_coverage) if params.heterochromatin_coverage > 0 else np.inf
    thickness = heterochromatin_peak * np.clip((lining - threshold) / _HETEROCHROMATIN_RAMP, 0, 1)
    layer = gaussian_cdf((-envelope - psi) / sigma) - gaussian_cdf((-envelope - thickness - psi) / sigma)
    kept = gaussian_cdf((radial - pocket_radius) / _EXCLUSION_EDGE_NM)
    # the lining shares the euchromatin's mottle
    heterochromatin = stain_of.HETEROCHROMATIN * nucleoplasm / stain_of.NUCLEOPLASM
    out += (heterochromatin - nucleoplasm) * layer * kept
    # the low-density pocket under each pore
    pocket_excess = np.sqrt((radial / pocket_radius) ** 2 + (np.clip(depth, 0, None) / pocket_depth) ** 2) - 1
    pocket = gaussian_cdf(-pocket_excess * min(pocket_radius, pocket_depth) / sigma) * gaussian_cdf(depth / sigma)
    out += (stain_of.POCKET - nucleoplasm) * pocket
    # the pore complex: a ring around a lighter channel, as tall as the complex
    across = gaussian_cdf((pore_radius - radial) / sigma) * (
        gaussian_cdf((middle + params.pore_height_nm / 2 - psi) / sigma)
        - gaussian_cdf((middle - params.pore_height_nm / 2 - psi) / sigma)
    )
    ring = gaussian_cdf((radial - _CHANNEL_RADIUS_FRACTION * pore_radius) / sigma)
    complex_density = stain_of.PORE_CHANNEL + (stain_of.PORE_COMPLEX - stain_of.PORE_CHANNEL) * ring
    out += across * (complex_density - out)
    stain[box][index] = out
