"""Triangle meshes of label images: marching cubes with the voxel size, Taubin smoothing, areas.

A binary mask's raw marching-cubes surface is a staircase 4–15 % larger than the smooth
surface it samples. `taubin_smooth` takes the staircase off without shrinking the
shape: each step moves every vertex ``shrink`` of the way to the mean of its neighbours,
then ``inflate`` (negative) of the way, i.e. away from it. `SMOOTHING_ITERATIONS` steps
bring spheres, ellipsoids and cylinders of 1 µm at 5–25 nm voxels within 2 % of their
analytic areas (tests/measure/test_shape.py).
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: Taubin smoothing steps (each a shrink by λ 0.5 and an inflation by μ −0.53) before a
#: mesh's area is taken: the staircase of 1-µm shapes at 5–25 nm voxels (+4–15 %) falls
#: to +0.2–1.7 % at 40, +0.8–2.7 % at 20 (balls of 5 voxels' radius: +1.9 %).
SMOOTHING_ITERATIONS = 40


def mask_mesh(mask: np.ndarray, *, spacing: Sequence[float], smooth: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """The closed surface of a (Z, Y, X) boolean ``mask`` (numpy): vertices (n, 3) in nm
    (Z, Y, X, from the first voxel's centre) and triangles (m, 3), smoothed by
    `taubin_smooth` unless ``smooth`` is False. Empty arrays for an empty mask."""
    import zmesh

    mesher = zmesh.Mesher(tuple(float(s) for s in spacing))
    mesher.mesh(np.asarray(mask).astype(np.uint8), close=True)
    if 1 not in mesher.ids():
        return np.zeros((0, 3)), np.zeros((0, 3), np.int64)
    mesh = mesher.get(1, normals=False, reduction_factor=0)
    vertices, faces = mesh.vertices.astype(np.float64), mesh.faces.astype(np.int64)
    return (taubin_smooth(vertices, faces) if smooth else vertices), faces


def taubin_smooth(vertices: np.ndarray, faces: np.ndarray, *, iterations: int = SMOOTHING_ITERATIONS,
                  shrink: float = 0.5, inflate: float = -0.53) -> np.ndarray:
    """The vertices (n, 3) after ``iterations`` of Taubin's filter on the triangles
    ``faces`` (m, 3); several meshes at once if they share no vertex."""
    from scipy import sparse

    vertices = np.asarray(vertices, np.float64)
    edges = np.asarray(faces, np.int64)[:, [0, 1, 1, 2, 2, 0]].reshape(-1, 2)
    edges = np.concatenate([edges, edges[:, ::-1]])
    neighbours = sparse.coo_matrix((np.ones(len(edges)), (edges[:, 0], edges[:, 1])),
                                   shape=(len(vertices),) * 2).tocsr()
    neighbours.data[:] = 1  # an edge shared by two triangles counts once
    degree = np.asarray(neighbours.sum(axis=1)).ravel()
    mean_of_neighbours = sparse.diags(1 / np.maximum(degree, 1)) @ neighbours
    identity = sparse.identity(len(vertices), format="csr")
    steps = [((1 - factor) * identity + factor * mean_of_neighbours).tocsr() for factor in (shrink, inflate)]
    for _ in range(iterations):
        for step in steps:  # v + f (mean of neighbours − v), as one matrix product
            vertices = step @ vertices
    return vertices


def triangle_areas(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """The area of each triangle (m,), in the square of the vertices' unit."""
    corners = np.asarray(vertices)[np.asarray(faces)]
    return 0.5 * np.linalg.norm(np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]), axis=1)


def smoothed_areas(meshes: list[tuple[np.ndarray, np.ndarray]], **smoothing) -> np.ndarray:
    """The area of each mesh (vertices (n, 3), triangles (m, 3)) after `taubin_smooth`
    (options passed on); all smoothed at once as one mesh of many parts."""
    sizes = np.array([len(v) for v, _ in meshes])
    offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    vertices = np.concatenate([v for v, _ in meshes]).astype(np.float64)
    faces = np.concatenate([f.astype(np.int64) + o for (_, f), o in zip(meshes, offsets)])
    owner = np.repeat(np.arange(len(meshes)), [len(f) for _, f in meshes])
    areas = triangle_areas(taubin_smooth(vertices, faces, **smoothing), faces)
    return np.bincount(owner, weights=areas, minlength=len(meshes))
