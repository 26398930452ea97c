"""Points on a curved surface: uniform sampling by area, densities per region, and Ripley's L
against complete spatial randomness (CSR) on the same surface, on meshes built analytically."""

import numpy as np
import pytest
from scipy.spatial import cKDTree
from skimage.measure import marching_cubes

from vemprof.errors import VemprofError
from vemprof.spatial._surface import region_densities, ripley_on_surface, sample_surface


def ellipsoid_mesh(semi_axes_um, step_um: float):
    """Vertices (V, 3) µm and faces (F, 3) of an ellipsoid centred on 0 with these ZYX semi-axes."""
    axes = [np.arange(-a - 2 * step_um, a + 2 * step_um + step_um / 2, step_um) for a in semi_axes_um]
    z, y, x = np.meshgrid(*axes, indexing="ij")
    field = (z / semi_axes_um[0]) ** 2 + (y / semi_axes_um[1]) ** 2 + (x / semi_axes_um[2]) ** 2
    vertices, faces, _, _ = marching_cubes(field, level=1.0, spacing=(step_um,) * 3)
    return vertices + [axis[0] for axis in axes], faces


SPHERE = ellipsoid_mesh((1.0, 1.0, 1.0), 0.05)  # radius 1 µm, area 4π µm²
CIGAR = ellipsoid_mesh((0.4, 0.4, 2.0), 0.04)  # 4 µm long, 0.8 µm thick: tips curved on a 0.08 µm radius


def clustered_points(vertices, faces, parents: int, children: int, spread_um: float, rng) -> np.ndarray:
    """``children`` points on the surface within ``spread_um`` of each of ``parents`` uniform points."""
    candidates = sample_surface(vertices, faces, 200_000, rng=rng)
    near = cKDTree(candidates).query_ball_point(sample_surface(vertices, faces, parents, rng=rng), spread_um)
    return np.concatenate([candidates[rng.choice(close, children, replace=False)] for close in near])


def hard_core_points(vertices, faces, count: int, min_distance_um: float, rng) -> np.ndarray:
    """``count`` points uniform on the surface, each at least ``min_distance_um`` from the others
    (sequential rejection)."""
    kept = np.empty((0, 3))
    for candidate in sample_surface(vertices, faces, 100 * count, rng=rng):
        if np.all(np.linalg.norm(kept - candidate, axis=1) >= min_distance_um):
            kept = np.vstack([kept, candidate])
            if len(kept) == count:
                return kept
    raise AssertionError("the surface is too small for that many points that far apart")


def test_sampling_is_uniform_by_area_on_a_sphere():
    points = sample_surface(*SPHERE, 20_000, rng=0)
    assert points.shape == (20_000, 3)
    assert np.abs(np.linalg.norm(points, axis=1) - 1.0).max() < 0.05  # on the mesh
    assert abs(np.sum(points[:, 0] > 0) - 10_000) < 4 * np.sqrt(20_000 / 4)  # two hemispheres, balanced
    # the cap above z = ½ radius has a quarter of the sphere's area (Archimedes' hat-box theorem)
    assert np.mean(points[:, 0] > 0.5) == pytest.approx(0.25, abs=4 * np.sqrt(0.25 * 0.75 / 20_000))


def test_sampling_chooses_triangles_by_area_and_fills_them_evenly():
    vertices = np.array([[0, 0, 0], [0, 3, 0], [0, 0, 2],  # a triangle of 3 µm² in the plane z = 0
                         [5, 0, 0], [5, 1, 0], [5, 0, 2]], dtype=float)  # one of 1 µm² in z = 5
    points = sample_surface(vertices, np.array([[0, 1, 2], [3, 4, 5]]), 40_000, rng=np.random.default_rng(1))
    on_big = points[:, 0] == 0
    assert on_big.mean() == pytest.approx(0.75, abs=0.01)
    big = points[on_big]
    assert np.all(big[:, 1] / 3 + big[:, 2] / 2 <= 1 + 1e-12)  # inside the triangle
    assert big.mean(axis=0) == pytest.approx([0, 1, 2 / 3], abs=0.02)  # its centroid


def test_densities_per_region_of_a_nucleus():
    vertices, faces = ellipsoid_mesh((3.0, 3.0, 3.0), 0.2)
    face_regions = np.where(vertices[faces].mean(axis=1)[:, 0] > 0, 1, 2)  # upper and lower half
    rng = np.random.default_rng(2)
    area = region_densities(np.empty((0, 3)), vertices, faces, point_regions=np.empty(0, int),
                            face_regions=face_regions).set_index("region")["area_um2"]
    upper = sample_surface(vertices, faces[face_regions == 1], rng.poisson(10 * area[1]), rng=rng)
    lower = sample_surface(vertices, faces[face_regions == 2], rng.poisson(5 * area[2]), rng=rng)
    table = region_densities(np.vstack([upper, lower]), vertices, faces, face_regions=face_regions,
                             point_regions=np.repeat([1, 2], [len(upper), len(lower)]))

    assert list(table.columns) == ["region", "points", "area_um2", "per_um2"]
    assert list(table["region"]) == [1, 2, 0]  # 0: the whole surface
    density = table.set_index("region")["per_um2"]
    assert density[1] == pytest.approx(10, abs=4 * np.sqrt(10 / area[1]))
    assert density[2] == pytest.approx(5, abs=4 * np.sqrt(5 / area[2]))
    whole = table.set_index("region").loc[0]
    assert whole["points"] == len(upper) + len(lower)
    assert whole["area_um2"] == pytest.approx(4 * np.pi * 3.0 ** 2, rel=0.02)


def test_csr_on_a_curved_surface_is_not_mistaken_for_clustering():
    points = sample_surface(*CIGAR, 300, rng=3)
    curve = ripley_on_surface(points, *CIGAR, seed=3)

    assert curve.attrs["p_value"] > 0.05 and curve.attrs["verdict"] == "csr"
    assert np.sum(curve["pattern"] == "csr") >= 18  # inside the envelope at (nearly) every radius
    # the point of the simulations: on this surface even the lowest simulated CSR L lies above the plane's r,
    # so comparing with r would call these uniform points clustered
    assert np.all(curve["l_low_um"].iloc[-5:] > curve["r_um"].iloc[-5:])


def test_csr_is_rarely_rejected_over_several_seeds():
    p_values = [ripley_on_surface(sample_surface(*CIGAR, 300, rng=seed), *CIGAR, seed=seed).attrs["p_value"]
                for seed in range(10, 15)]
    assert sum(p < 0.05 for p in p_values) <= 1


def test_small_clusters_are_flagged_clustered():
    points = clustered_points(*SPHERE, parents=30, children=8, spread_um=0.05, rng=np.random.default_rng(4))
    curve = ripley_on_surface(points, *SPHERE, seed=4)

    assert curve.attrs["verdict"] == "clustered" and curve.attrs["p_value"] <= 0.01
    assert curve["pattern"].iloc[0] == "clustered"  # at the smallest radius
    assert curve["l_um"].iloc[0] > curve["l_high_um"].iloc[0]


def test_points_kept_apart_are_flagged_regular():
    points = hard_core_points(*SPHERE, 150, min_distance_um=0.15, rng=np.random.default_rng(5))
    curve = ripley_on_surface(points, *SPHERE, radii_um=[0.05, 0.1, 0.2, 0.4], seed=5)

    assert curve.attrs["verdict"] == "regular" and curve.attrs["p_value"] <= 0.01
    assert list(curve["pattern"].iloc[:2]) == ["regular", "regular"]  # no pairs closer than 0.15 µm
    assert list(curve["l_um"].iloc[:2]) == [0, 0]


def test_ripley_on_a_patch_of_the_surface():
    upper = SPHERE[0][SPHERE[1]].mean(axis=1)[:, 0] > 0
    points = sample_surface(SPHERE[0], SPHERE[1][upper], 200, rng=6)
    curve = ripley_on_surface(points, *SPHERE, faces_mask=upper, simulations=19, seed=6)

    assert curve.attrs["area_um2"] == pytest.approx(2 * np.pi, rel=0.02)  # a hemisphere
    assert curve.attrs["simulations"] == 19 and curve.attrs["points"] == 200
    assert curve.attrs["p_value"] > 0.05  # its edge is in the simulations too
    assert len(curve) == 20 and curve["r_um"].iloc[-1] == pytest.approx(np.sqrt(2 * np.pi) / 4, rel=0.01)


TRIANGLE = (np.array([[0, 0, 0], [0, 1, 0], [0, 0, 1]], dtype=float), np.array([[0, 1, 2]]))


@pytest.mark.parametrize("call, message", [
    (lambda: ripley_on_surface(np.zeros((1, 3)), *TRIANGLE), "give at least 2, got 1"),
    (lambda: ripley_on_surface(np.zeros((5, 3)), TRIANGLE[0], np.empty((0, 3), int)), "has no area"),
    (lambda: ripley_on_surface(np.zeros((5, 3)), np.zeros((3, 3)), TRIANGLE[1]), "has no area"),
    (lambda: ripley_on_surface(np.zeros((5, 3)), *TRIANGLE, faces_mask=[False]), "has no area"),
    (lambda: ripley_on_surface(np.zeros((5, 3)), *TRIANGLE, faces_mask=[True, True]), "2 values for 1 faces"),
    (lambda: ripley_on_surface(np.zeros((5, 3)), *TRIANGLE, radii_um=[0, 0.1]), "radii_um must be lengths"),
    (lambda: ripley_on_surface(np.zeros((5, 3)), *TRIANGLE, simulations=0), "simulations must be"),
    (lambda: ripley_on_surface(np.zeros((5, 2)), *TRIANGLE), r"\(n, 3\) array"),
    (lambda: ripley_on_surface(np.full((5, 3), np.nan), *TRIANGLE), "finite ZYX positions"),
    (lambda: sample_surface(TRIANGLE[0], np.array([[0, 1, 3]]), 5), "indices into the 3 vertices"),
    (lambda: region_densities(np.zeros((2, 3)), *TRIANGLE, point_regions=[1], face_regions=[1]),
     "point_regions has 1 values for 2 points"),
    (lambda: region_densities(np.zeros((1, 3)), *TRIANGLE, point_regions=[1], face_regions=[1, 1]),
     "face_regions has 2 values for 1 faces"),
    (lambda: region_densities(np.zeros((1, 3)), *TRIANGLE, point_regions=[2], face_regions=[1]),
     r"region\(s\) 2 that no face belongs to"),
    (lambda: region_densities(np.zeros((1, 3)), *TRIANGLE, point_regions=[0], face_regions=[0]),
     "region 0 stands for the whole surface"),
])
def test_bad_input_fails_in_one_line(call, message):
    with pytest.raises(VemprofError, match=message) as error:
        call()
    assert "\n" not in str(error.value)
