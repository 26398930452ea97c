"""Each object's nearest neighbour and the count within a radius, surface to surface:
equal to the brute-force answer over all voxel pairs, whole or block by block."""

import dask.array as da
import numpy as np
import pytest
from scipy.spatial.distance import cdist

from vemprof.errors import VemprofError
from vemprof.measure import nearest_objects

SPACING = (8.0, 5.0, 5.0)


def balls(count: int, *, seed: int, shape=(48, 80, 80)) -> np.ndarray:
    rng = np.random.default_rng(seed)
    labels = np.zeros(shape, np.uint16)
    z, y, x = np.ogrid[tuple(slice(0, n) for n in shape)]
    for label in range(1, count + 1):
        radius = rng.uniform(2, 6)
        cz, cy, cx = rng.uniform(0, 1, 3) * shape
        labels[((z - cz) * SPACING[0]) ** 2 + ((y - cy) * SPACING[1]) ** 2 + ((x - cx) * SPACING[2]) ** 2
               <= (radius * SPACING[1]) ** 2] = label
    return labels


def brute_force(labels, others, *, radius_nm, same):
    """Per object: the distance (nm) to each other object, the nearest's, and the count
    within the radius, from every voxel pair."""
    points = {i: np.argwhere(others == i) * SPACING for i in np.unique(others) if i}
    rows = {}
    for label in np.unique(labels)[1:]:
        own = np.argwhere(labels == label) * SPACING
        gaps = {j: 0.0 if (not same and np.any(labels[others == j] == label)) else cdist(own, p).min()
                for j, p in points.items() if not (same and j == label)}
        rows[label] = (gaps, min(gaps.values()), sum(g <= radius_nm for g in gaps.values()))
    return rows


@pytest.mark.parametrize("same", [True, False])
def test_nearest_and_within_equal_the_brute_force_answer(same):
    labels = balls(25, seed=1)
    others = labels if same else balls(30, seed=2)
    table = nearest_objects(labels, others, spacing=SPACING, other_name="b", radius_um=0.05)
    expected = brute_force(labels, others, radius_nm=50, same=same)
    assert list(table["label"]) == sorted(expected)
    for row in table.itertuples(index=False):
        gaps, nearest, within = expected[row.label]
        assert row.dist_nearest_b_um == pytest.approx(nearest / 1000)
        assert gaps[row.nearest_b_label] == pytest.approx(nearest)  # the nearest, or one as near
        assert row[3] == within


def test_block_by_block_equals_whole():
    labels, others = balls(25, seed=3), balls(30, seed=4)
    whole = nearest_objects(labels, others, spacing=SPACING, other_name="b")
    blocks = nearest_objects(da.from_array(labels, chunks=(16, 32, 24)), da.from_array(others, chunks=(16, 32, 24)),
                             spacing=SPACING, other_name="b")
    np.testing.assert_array_equal(whole.to_numpy(), blocks.to_numpy())


def test_an_object_inside_another_is_at_distance_0():
    labels, others = np.zeros((20, 20, 20), np.uint8), np.zeros((20, 20, 20), np.uint8)
    others[2:18, 2:18, 2:18] = 7  # a big box around …
    labels[9:11, 9:11, 9:11] = 1  # … a small one, away from its faces
    row = nearest_objects(labels, others, spacing=SPACING, other_name="box").iloc[0]
    assert row["nearest_box_label"] == 7 and row["dist_nearest_box_um"] == 0


def test_no_other_object_gives_inf_and_an_empty_image_is_refused():
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[2:4, 2:4, 2:4] = 1
    row = nearest_objects(labels, labels, spacing=SPACING, other_name="a").iloc[0]
    assert row["nearest_a_label"] == 0 and np.isinf(row["dist_nearest_a_um"]) and row["n_a_within_1_um"] == 0
    with pytest.raises(VemprofError, match="holds no object"):
        nearest_objects(np.zeros_like(labels), labels, spacing=SPACING, other_name="a")
    with pytest.raises(VemprofError, match="radius must be a length"):
        nearest_objects(labels, labels, spacing=SPACING, other_name="a", radius_um=-1)
