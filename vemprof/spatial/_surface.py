"""Point patterns on a surface: nuclear pores on the nuclear envelope, vesicles on a membrane.

The surface is a triangle mesh: ``vertices`` (V, 3) in µm, ZYX, and ``faces`` (F, 3), the
indices of each triangle's corners (e.g. from ``skimage.measure.marching_cubes`` with the
voxel size as ``spacing``). Points are (n, 3) positions in µm on (or very near) that mesh.

* `sample_surface` draws points uniformly by area: a triangle with probability
  proportional to its area, then uniform barycentric coordinates inside it.
* `region_densities` gives the points per µm² of surface in each region (e.g. the
  sections of a nucleus) and, as region 0, on the whole surface.
* `ripley_on_surface` gives Ripley's K and L against complete spatial randomness (CSR)
  on the same surface, with a Monte Carlo envelope and a global test.

Why the envelope is simulated rather than compared to πr²: Ripley's

    K(r) = A / (n (n − 1)) · Σ_{i≠j} 1[d_ij ≤ r],    L(r) = √(K(r) / π),

with A the surface area and d_ij the straight (chord) distance in 3D, equals πr² for CSR
only on a plane (and, by Archimedes' hat-box theorem, on a sphere). On any other curved
surface CSR gives another curve: on a cylinder-like stretch of envelope more surface lies
within a chord r than πr² (L > r: it looks clustered); near a sharply curved tip, and on a
small closed surface at radii near its size, less (L < r: it looks regular). Points
uniform on the same mesh carry exactly the same geometry, and the same edge effect on an
open patch (``faces_mask``), so the observed L is compared with the L of ``simulations``
such point sets rather than with r; no edge correction is needed.

The envelope is the pointwise minimum and maximum of the simulated L at each radius
(with 99 simulations, a pointwise two-sided test at about 2 %). Because many radii are
looked at, the global answer is the maximum absolute deviation test (Baddeley et al.
2014): the statistic is max_r |L(r) − L̄(r)|, each curve's deviation measured from the
mean of the other ``simulations`` curves (so observed and simulated curves are
exchangeable under CSR), and p = (1 + #simulations with a statistic ≥ the observed) /
(1 + simulations). Pairs are counted with ``scipy.spatial.cKDTree.count_neighbors``, the
simulations in threads.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from functools import partial

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from vemprof.errors import VemprofError
from vemprof.measure import triangle_areas

WHOLE_SURFACE = 0  # the region label of the row for the whole surface in `region_densities`
DEFAULT_RADII = 20  # default radii: this many steps up to a quarter of √(area)
ALPHA = 0.05  # the p-value at or below which the global test's verdict is "clustered" or "regular"


def sample_surface(vertices: np.ndarray, faces: np.ndarray, n: int, *,
                   rng: np.random.Generator | int | None = None) -> np.ndarray:
    """``n`` points (n, 3) in µm drawn uniformly by area on the mesh ``vertices`` (V, 3) µm,
    ``faces`` (F, 3); ``rng`` is a numpy Generator or a seed."""
    vertices, faces = _mesh(vertices, faces)
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 0:
        raise VemprofError(f"the number of points must be a whole number >= 0, got {n!r}")
    return _sample(vertices, faces, triangle_areas(vertices, faces), n, np.random.default_rng(rng))


def region_densities(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                     point_regions: np.ndarray, face_regions: np.ndarray) -> pd.DataFrame:
    """Points per µm² of surface in each region: one row per region of ``face_regions`` (F,)
    in increasing order, then region 0 for the whole surface, with the columns ``region``,
    ``points`` (of ``point_regions`` (n,)), ``area_um2`` (of the region's faces) and
    ``per_um2`` (points / area). Regions are whole numbers other than 0."""
    points = _points(points)
    vertices, faces = _mesh(vertices, faces)
    point_regions = _labels(point_regions, len(points), "point_regions", "points")
    face_regions = _labels(face_regions, len(faces), "face_regions", "faces")
    if np.any(face_regions == WHOLE_SURFACE) or np.any(point_regions == WHOLE_SURFACE):
        raise VemprofError("region 0 stands for the whole surface; number the regions from 1")
    regions, face_index = np.unique(face_regions, return_inverse=True)
    strays = np.setdiff1d(point_regions, regions)
    if strays.size:
        raise VemprofError(f"points lie in region(s) {', '.join(map(str, strays))} that no face belongs to; "
                           "give face_regions for every region of point_regions")
    areas = np.bincount(face_index, weights=triangle_areas(vertices, faces), minlength=len(regions))
    counts = np.bincount(np.searchsorted(regions, point_regions), minlength=len(regions))
    table = pd.DataFrame({"region": np.append(regions, WHOLE_SURFACE), "points": np.append(counts, len(points)),
                          "area_um2": np.append(areas, areas.sum())})
    table["per_um2"] = table["points"] / table["area_um2"]
    return table


def ripley_on_surface(points: np.ndarray, vertices: np.ndarray, faces: np.ndarray, *,
                      radii_um: np.ndarray | None = None, simulations: int = 99, seed: int = 0,
                      faces_mask: np.ndarray | None = None) -> pd.DataFrame:
    """Ripley's K and L of ``points`` (n, 3) µm on the mesh ``vertices`` (V, 3) µm, ``faces``
    (F, 3), or on the patch of faces where ``faces_mask`` (F,) is True, against
    ``simulations`` sets of n points uniform on the same mesh (drawn with ``seed``).

    One row per radius (``radii_um``, sorted; by default 20 steps up to a quarter of
    √(area)): ``r_um``, ``k_um2``, ``l_um``; the simulated ``l_csr_mean_um``, ``l_low_um``
    and ``l_high_um`` (pointwise minimum and maximum); ``pattern``: "clustered" where L is
    above the envelope, "regular" where below, else "csr". ``attrs`` holds the global
    test: ``p_value``, ``statistic_um`` (max |L − mean simulated L|), ``r_at_max_um``,
    ``verdict`` ("clustered" or "regular" when p <= 0.05, by the sign at that radius,
    else "csr"), and ``points``, ``area_um2``, ``simulations``.
    """
    points = _points(points)
    if len(points) < 2:
        raise VemprofError(f"Ripley's K counts pairs of points: give at least 2, got {len(points)}")
    vertices, faces = _mesh(vertices, faces, faces_mask)
    if isinstance(simulations, bool) or not isinstance(simulations, (int, np.integer)) or simulations < 1:
        raise VemprofError(f"simulations must be a whole number >= 1 (99 is usual), got {simulations!r}")
    areas = triangle_areas(vertices, faces)
    area = float(areas.sum())
    radii = _radii(radii_um, area)
    n = len(points)
    observed = _l_curve(points, radii, area)
    simulated = _l_curves(_sample(vertices, faces, areas, simulations * n, np.random.default_rng(seed))
                          .reshape(simulations, n, 3), radii, area)
    curve = pd.DataFrame({"r_um": radii, "k_um2": np.pi * observed ** 2, "l_um": observed,
                          "l_csr_mean_um": simulated.mean(axis=0), "l_low_um": simulated.min(axis=0),
                          "l_high_um": simulated.max(axis=0)})
    curve["pattern"] = np.select([curve["l_um"] > curve["l_high_um"], curve["l_um"] < curve["l_low_um"]],
                                 ["clustered", "regular"], "csr")
    curve.attrs.update(_deviation_test(observed, simulated, radii))
    curve.attrs.update(points=n, area_um2=area, simulations=int(simulations))
    return curve


def _l_curves(point_sets: np.ndarray, radii: np.ndarray, area: float) -> np.ndarray:
    """L(r) in µm (s, R) of each of the point sets (s, n, 3), counted in threads (the k-d tree releases the GIL)."""
    with ThreadPoolExecutor() as pool:
        return np.array(list(pool.map(partial(_l_curve, radii=radii, area=area), point_sets)))


def _l_curve(points: np.ndarray, radii: np.ndarray, area: float) -> np.ndarray:
    """L(r) in µm (R,) of the points (n, 3) at the radii (R,) on a surface of ``area`` µm²."""
    n = len(points)
    tree = cKDTree(points)
    ordered_pairs = tree.count_neighbors(tree, radii) - n  # every pair twice, and each point with itself
    return np.sqrt(area * ordered_pairs / (n * (n - 1)) / np.pi)


def _deviation_test(observed: np.ndarray, simulated: np.ndarray, radii: np.ndarray) -> dict:
    """The maximum absolute deviation test of L (R,) against the simulated L (s, R)."""
    count = len(simulated)
    total = simulated.sum(axis=0)
    deviation = observed - total / count
    others = (total - simulated + observed) / count  # for each simulation: the mean of the others and the observed
    simulated_statistics = np.abs(simulated - others).max(axis=1)
    statistic = float(np.abs(deviation).max())
    p_value = (1 + int(np.sum(simulated_statistics >= statistic))) / (1 + count)
    at_max = int(np.argmax(np.abs(deviation)))
    verdict = "csr" if p_value > ALPHA else ("clustered" if deviation[at_max] > 0 else "regular")
    return {"p_value": p_value, "statistic_um": statistic, "r_at_max_um": float(radii[at_max]), "verdict": verdict}


def _sample(vertices: np.ndarray, faces: np.ndarray, areas: np.ndarray, n: int,
            rng: np.random.Generator) -> np.ndarray:
    """``n`` points (n, 3) uniform by area on the triangles with these areas (F,)."""
    chosen = faces[rng.choice(len(faces), size=n, p=areas / areas.sum())]
    u, v = rng.random((2, n, 1))
    outside = u + v > 1  # fold the far half of the parallelogram back onto the triangle
    u[outside], v[outside] = 1 - u[outside], 1 - v[outside]
    corner, one, other = vertices[chosen[:, 0]], vertices[chosen[:, 1]], vertices[chosen[:, 2]]
    return corner + u * (one - corner) + v * (other - corner)


def _mesh(vertices, faces, faces_mask=None) -> tuple[np.ndarray, np.ndarray]:
    """Checked float vertices (V, 3) and int faces (F, 3), only the masked faces if a mask is given."""
    vertices, faces = np.asarray(vertices, dtype=float), np.asarray(faces)
    if vertices.ndim != 2 or vertices.shape[1] != 3 or faces.ndim != 2 or faces.shape[1] != 3:
        raise VemprofError(f"a mesh needs vertices (V, 3) and faces (F, 3), got {vertices.shape} and {faces.shape}; "
                           "pass the verts and faces of a triangle mesh")
    if faces.size and (not np.issubdtype(faces.dtype, np.integer) or faces.min() < 0 or faces.max() >= len(vertices)):
        raise VemprofError(f"faces must be whole-number indices into the {len(vertices)} vertices; "
                           "pass the faces of the same mesh as the vertices")
    if faces_mask is not None:
        faces_mask = np.asarray(faces_mask, dtype=bool)
        if faces_mask.shape != (len(faces),):
            raise VemprofError(f"faces_mask has {faces_mask.size} values for {len(faces)} faces; give one per face")
        faces = faces[faces_mask]
    if len(faces) == 0 or not triangle_areas(vertices, faces).sum() > 0:
        raise VemprofError("the mesh (or the faces selected by faces_mask) has no area; "
                           "pass a surface with triangles of non-zero size")
    return vertices, faces


def _points(points) -> np.ndarray:
    """Checked points (n, 3) in µm."""
    points = np.asarray(points, dtype=float)
    if points.ndim != 2 or points.shape[1] != 3 or not np.all(np.isfinite(points)):
        raise VemprofError(f"points must be an (n, 3) array of finite ZYX positions in µm, got shape {points.shape}")
    return points


def _labels(labels, count: int, name: str, of: str) -> np.ndarray:
    """Checked whole-number region labels, one for each of ``count`` points or faces."""
    labels = np.asarray(labels)
    if labels.shape != (count,):
        raise VemprofError(f"{name} has {labels.size} values for {count} {of}; give one region per {of[:-1]}")
    if labels.size and not np.issubdtype(labels.dtype, np.integer):
        raise VemprofError(f"{name} must be whole numbers (region labels), got {labels.dtype}")
    return labels


def _radii(radii_um, area: float) -> np.ndarray:
    """The radii in µm, sorted; by default 20 steps up to a quarter of √(area)."""
    if radii_um is None:
        largest = np.sqrt(area) / 4
        return np.linspace(largest / DEFAULT_RADII, largest, DEFAULT_RADII)
    radii = np.sort(np.atleast_1d(np.asarray(radii_um, dtype=float)))
    if radii.ndim != 1 or radii.size == 0 or not np.all(np.isfinite(radii)) or radii[0] <= 0:
        raise VemprofError(f"radii_um must be lengths in µm > 0, got {radii_um!r}; give e.g. [0.05, 0.1, 0.2]")
    return radii
