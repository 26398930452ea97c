"""Nuclear pore centres: uniform on the envelope, a hard core apart, a density per section.

The envelope's mid-surface (half-way between the outer face of the outer membrane and the
inner face of the inner membrane) is meshed by marching cubes; the mesh gives the area of
each section (by which side of the junction plane a face lies) and a way to draw points
uniformly by area. Each section gets round(density × area) pores, placed by random
sequential adsorption: candidates are drawn by area, projected exactly onto the
mid-surface by Newton steps on the analytic signed distance, and kept only if no kept
pore lies within the minimum spacing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree
from skimage.measure import marching_cubes

from vemprof.errors import VemprofError
from vemprof.synth._grid import Box, Grid
from vemprof.synth._nucleus import Nucleus
from vemprof.synth._parameters import PhantomParameters

#: Area fraction covered by hard disks at the jamming limit of random sequential adsorption.
_RSA_JAMMING_COVERAGE = 0.547
#: Fraction of that limit that we accept to reach by dart throwing in reasonable time.
_REACHABLE_FRACTION = 0.75
#: Mesh the envelope on every second voxel: the surface is smooth at that scale.
_MESH_STEP = 2
#: Step for the finite-difference normals of the analytic signed distance, nm.
_NORMAL_STEP_NM = 5.0
_MAX_ROUNDS = 200


@dataclass(frozen=True)
class Pores:
    """Pore centres on the envelope mid-surface.

    Attributes
    ----------
    centers_nm : ndarray, shape (P, 3)
        Centres in nm (Z, Y, X); pore k has label k + 1.
    normals : ndarray, shape (P, 3)
        Outward unit normals of the envelope at the centres.
    sections : ndarray, shape (P,)
        1 on the small section, 2 on the large.
    section_area_um2 : tuple of 2 floats
        Mid-surface area of the envelope of sections 1 and 2, µm².
    """

    centers_nm: np.ndarray
    normals: np.ndarray
    sections: np.ndarray
    section_area_um2: tuple[float, float]

    def table(self) -> pd.DataFrame:
        """One row per pore: ``label``, ``section``, centre ``z_um``, ``y_um``, ``x_um`` and the
        outward normal ``normal_z``, ``normal_y``, ``normal_x``."""
        centers = self.centers_nm / 1000
        return pd.DataFrame(
            {
                "label": np.arange(1, len(self.sections) + 1, dtype=np.uint32),
                "section": self.sections.astype(np.uint8),
                "z_um": centers[:, 0],
                "y_um": centers[:, 1],
                "x_um": centers[:, 2],
                "normal_z": self.normals[:, 0],
                "normal_y": self.normals[:, 1],
                "normal_x": self.normals[:, 2],
            }
        )


def envelope_mid_level_nm(params: PhantomParameters) -> float:
    """Signed distance (nm) of the envelope's mid-surface from the nuclear surface."""
    return -(2 * params.nuclear_membrane_thickness_nm + params.perinuclear_space_nm) / 2


def sample_pores(
    nucleus: Nucleus, phi: np.ndarray, box: Box, grid: Grid, params: PhantomParameters, rng: np.random.Generator
) -> Pores:
    """Place pores on the envelope of ``nucleus``.

    Parameters
    ----------
    nucleus : Nucleus
        The analytic nucleus.
    phi : ndarray
        Its signed distance (nm) over ``box``, used for the mesh.
    box : tuple of slices
        Where ``phi`` lies in the grid.
    grid : Grid
    params : PhantomParameters
    rng : numpy.random.Generator

    Raises
    ------
    VemprofError
        If a requested density cannot be reached with the minimum spacing.
    """
    level = envelope_mid_level_nm(params)
    step = np.asarray(grid.spacing) * _MESH_STEP
    verts, faces, _, _ = marching_cubes(phi[::_MESH_STEP, ::_MESH_STEP, ::_MESH_STEP], level=level, spacing=tuple(step))
    verts += np.array([b.start for b in box]) * np.asarray(grid.spacing)
    corners = verts[faces]
    areas = 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)
    face_sections = np.where(nucleus.small_side_at(corners.mean(axis=1)), 1, 2)
    section_area = tuple(float(areas[face_sections == s].sum()) * 1e-6 for s in (1, 2))
    densities = (params.pore_density_small_per_um2, params.pore_density_large_per_um2)
    _check_reachable(densities, params.pore_min_spacing_nm)
    wanted = np.array([round(d * a) for d, a in zip(densities, section_area)])

    kept: list[np.ndarray] = []
    kept_sections: list[int] = []
    counts = np.zeros(2, dtype=int)
    for _ in range(_MAX_ROUNDS):
        missing = wanted - counts
        if not missing.any():
            break
        weights = areas * np.where(face_sections == 1, missing[0] > 0, missing[1] > 0)
        candidates = _points_on_faces(corners, weights, 2 * int(missing.sum()) + 16, rng)
        candidates = _project(nucleus, candidates, level)
        sections = np.where(nucleus.small_side_at(candidates), 1, 2)
        free = np.ones(len(candidates), dtype=bool)
        if kept:
            distance, _ = cKDTree(np.asarray(kept)).query(candidates, distance_upper_bound=params.pore_min_spacing_nm)
            free = ~np.isfinite(distance)
        neighbours = _earlier_neighbours(candidates, params.pore_min_spacing_nm)
        accepted_now: set[int] = set()
        for i in np.flatnonzero(free):
            section = sections[i]
            if counts[section - 1] >= wanted[section - 1] or neighbours[i] & accepted_now:
                continue
            accepted_now.add(int(i))
            kept.append(candidates[i])
            kept_sections.append(int(section))
            counts[section - 1] += 1
    if (counts < wanted).any():
        raise VemprofError(
            f"could place only {counts.tolist()} of {wanted.tolist()} pores on sections 1 and 2 with "
            f"{params.pore_min_spacing_nm:g} nm spacing; lower the pore densities or pore_min_spacing_nm"
        )
    centers = np.asarray(kept, dtype=np.float64).reshape(-1, 3)
    return Pores(centers, _normals(nucleus, centers), np.asarray(kept_sections, dtype=np.uint8), section_area)


def _check_reachable(densities, spacing_nm: float) -> None:
    disk_area_um2 = np.pi * (spacing_nm / 2000) ** 2
    limit = _REACHABLE_FRACTION * _RSA_JAMMING_COVERAGE / disk_area_um2
    for name, density in zip(("pore_density_small_per_um2", "pore_density_large_per_um2"), densities):
        if density > limit:
            raise VemprofError(
                f"{name}={density:g} /µm² cannot be reached with pores at least {spacing_nm:g} nm apart "
                f"(at most {limit:.1f} /µm²); lower the density or pore_min_spacing_nm"
            )


def _points_on_faces(corners: np.ndarray, weights: np.ndarray, count: int, rng: np.random.Generator) -> np.ndarray:
    """``count`` points uniform by area on the faces with nonzero weight."""
    face = rng.choice(len(corners), size=count, p=weights / weights.sum())
    a, b = rng.random((2, count))
    root = np.sqrt(a)
    c0, c1, c2 = corners[face, 0], corners[face, 1], corners[face, 2]
    return (1 - root)[:, None] * c0 + (root * (1 - b))[:, None] * c1 + (root * b)[:, None] * c2


def _gradient(nucleus: Nucleus, points: np.ndarray) -> np.ndarray:
    gradient = np.empty_like(points)
    for axis in range(3):
        offset = np.zeros(3)
        offset[axis] = _NORMAL_STEP_NM
        gradient[:, axis] = (nucleus.sdf_at(points + offset) - nucleus.sdf_at(points - offset)) / (2 * _NORMAL_STEP_NM)
    return gradient


def _project(nucleus: Nucleus, points: np.ndarray, level: float) -> np.ndarray:
    """Newton steps onto the level set ``level`` of the nucleus signed distance."""
    for _ in range(3):
        gradient = _gradient(nucleus, points)
        excess = nucleus.sdf_at(points) - level
        points = points - (excess / np.maximum((gradient**2).sum(axis=1), 1e-6))[:, None] * gradient
    return points


def _normals(nucleus: Nucleus, points: np.ndarray) -> np.ndarray:
    if len(points) == 0:
        return np.zeros((0, 3))
    gradient = _gradient(nucleus, points)
    return gradient / np.linalg.norm(gradient, axis=1, keepdims=True)


def _earlier_neighbours(points: np.ndarray, radius: float) -> list[set[int]]:
    """For each point, the earlier points of the batch closer than ``radius``."""
    neighbours: list[set[int]] = [set() for _ in range(len(points))]
    for i, j in cKDTree(points).query_pairs(radius):
        neighbours[max(i, j)].add(min(i, j))
    return neighbours
