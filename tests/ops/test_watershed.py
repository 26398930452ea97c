import dask.array as da
import numpy as np
import pytest
from scipy import ndimage
from scipy.sparse import coo_matrix
from skimage.morphology import h_maxima, h_minima

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import as_dask, ball_mask

SPACING = (8.0, 5.0, 5.0)


def touching_balls(shape=(40, 64, 64), count=14, seed=3):
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    for _ in range(count):
        centre = [rng.uniform(5, n - 5) for n in shape]
        mask |= ball_mask(shape, centre, rng.uniform(40, 70), SPACING)
    return mask


def disagreement(a, b, foreground):
    """Fraction of foreground voxels not in the best-matching object (up to renumbering)."""
    overlap = coo_matrix((np.ones(foreground.sum()), (a[foreground], b[foreground]))).tocsr()
    matched = np.asarray(overlap.max(axis=1).todense()).ravel().sum()
    return 1 - matched / foreground.sum()


@pytest.fixture(scope="module")
def balls():
    return touching_balls()


@pytest.fixture(scope="module")
def whole_split(balls):
    return ops.split_touching(balls, spacing=SPACING, h_nm=5, max_radius_nm=80)


@pytest.mark.parametrize("chunks", [(20, 32, 32), (13, 21, 21), (8, 10, 10)])
def test_split_touching_blockwise_matches_whole_array(chunks, balls, whole_split):
    lazy = ops.split_touching(as_dask(balls, chunks), spacing=SPACING, h_nm=5, max_radius_nm=80)
    assert isinstance(lazy, da.Array)
    blockwise = lazy.compute()
    assert len(np.unique(blockwise)) == len(np.unique(whole_split))
    assert disagreement(whole_split, blockwise, balls) <= 0.005
    assert ((blockwise > 0) == balls).all()


def test_split_touching_staged_on_disk_gives_the_same_labels(balls, tmp_path):
    """For volumes larger than memory each intermediate goes through zarr in ``staging``;
    the labels are those of the same split computed in one graph."""
    lazy = as_dask(balls, (13, 21, 21))
    in_memory = ops.split_touching(lazy, spacing=SPACING, h_nm=5, max_radius_nm=80, neck_ratio=0.6).compute()
    staged = ops.split_touching(lazy, spacing=SPACING, h_nm=5, max_radius_nm=80, neck_ratio=0.6,
                                staging=tmp_path)
    np.testing.assert_array_equal(staged.compute(), in_memory)
    assert sorted(path.name for path in tmp_path.iterdir()) == [
        "distance.zarr", "markers.zarr", "mask.zarr", "maxima.zarr", "parts.zarr"]


@pytest.mark.parametrize("minima", [False, True])
@pytest.mark.parametrize("connectivity", [6, 26])
def test_maxima_in_a_mask_are_scikit_images_found_region_by_region(minima, connectivity):
    """In a mask each maximum is sought on its own region of the image (the pieces above
    the mask's lowest value less h), not on the whole block: the same maxima as
    scikit-image's over the whole image, plateaus included."""
    rng = np.random.default_rng(7)
    footprint = ndimage.generate_binary_structure(3, {6: 1, 26: 3}[connectivity])
    for plateaus in (False, True):
        image = ndimage.gaussian_filter(rng.normal(size=(30, 40, 40)), 2)
        image = np.round(image, 2) if plateaus else image  # steps of 0.01: flat tops and saddles
        mask = image > np.quantile(image, 0.6)
        h = 0.05 * image.std()
        expected = (h_minima if minima else h_maxima)(image, h, footprint=footprint).astype(bool) & mask
        found = ops.find_maxima(image, h=h, mask=mask, minima=minima, spacing=SPACING, connectivity=connectivity)
        np.testing.assert_array_equal(found > 0, expected)


def test_maxima_in_a_mask_block_by_block_are_the_whole_arrays():
    rng = np.random.default_rng(8)
    image = ndimage.gaussian_filter(rng.normal(size=(30, 40, 40)), 2)
    mask = rng.random(image.shape) > 0.5  # scattered: many small regions, many cut by a chunk's edge
    whole = ops.find_maxima(image, h=0.01, mask=mask, spacing=SPACING)
    blockwise = ops.find_maxima(as_dask(image, (10, 13, 13)), h=0.01, mask=as_dask(mask, (10, 13, 13)),
                                spacing=SPACING, halo_nm=60).compute()
    np.testing.assert_array_equal(blockwise > 0, whole > 0)


def test_split_touching_separates_two_touching_balls():
    shape = (30, 40, 70)
    two = ball_mask(shape, (15, 20, 22), 80, SPACING) | ball_mask(shape, (15, 20, 48), 80, SPACING)
    labels = ops.split_touching(two, spacing=SPACING, h_nm=5, max_radius_nm=100)
    assert labels.max() == 2 and labels[15, 20, 15] != labels[15, 20, 55]


def wavy_tube(shape=(24, 40, 120), *, centre_y=20, radius=lambda x: 70 + 12 * np.sin(x / 6)):
    """A tube along X whose radius (nm) wavers along its length: bulges and waists."""
    z, y, x = np.ogrid[tuple(slice(0, n) for n in shape)]
    squared = ((z - shape[0] / 2) * SPACING[0]) ** 2 + ((y - centre_y) * SPACING[1]) ** 2
    inside = squared <= radius(x) ** 2
    return inside & (x > 5) & (x < shape[2] - 5)


def test_neck_ratio_keeps_a_wavering_tube_whole_that_h_maxima_cut():
    tube = wavy_tube()
    assert ops.split_touching(tube, spacing=SPACING, h_nm=5, max_radius_nm=100).max() >= 3
    whole = ops.split_touching(tube, spacing=SPACING, h_nm=5, max_radius_nm=100, neck_ratio=0.6)
    assert whole.max() == 1 and ((whole > 0) == tube).all()


def test_neck_ratio_separates_tubes_that_touch_side_by_side():
    steady = lambda x: 60 + 0 * x  # noqa: E731
    pair = wavy_tube(centre_y=12, radius=steady) | wavy_tube(centre_y=36, radius=steady)  # 120 nm apart
    labels = ops.split_touching(pair, spacing=SPACING, h_nm=5, max_radius_nm=100, neck_ratio=0.6)
    assert labels.max() == 2 and labels[12, 12, 60] != labels[12, 36, 60]


@pytest.mark.parametrize("chunks", [(12, 20, 30), (7, 9, 11)])
def test_neck_ratio_blockwise_matches_whole_array(chunks):
    shape = (24, 48, 120)
    tubes = wavy_tube(shape, centre_y=12) | wavy_tube(shape, centre_y=36, radius=lambda x: 60 + 10 * np.cos(x / 5))
    whole = ops.split_touching(tubes, spacing=SPACING, h_nm=5, max_radius_nm=100, neck_ratio=0.6)
    lazy = ops.split_touching(as_dask(tubes, chunks), spacing=SPACING, h_nm=5, max_radius_nm=100, neck_ratio=0.6)
    assert isinstance(lazy, da.Array)
    blockwise = lazy.compute()
    assert whole.max() == blockwise.max() == 2
    assert disagreement(whole, blockwise, tubes) <= 0.005


def test_merge_wide_necks_known_answer():
    """Parts 1–2 meet at a neck of 8 nm (0.8 of the thinner radius 10): merged; parts
    2–3 at 3 nm (0.3 of 10): kept apart; ids renumbered 1…K."""
    from vemprof.ops._necks import merge_wide_necks

    labels = np.array([[[1, 1, 2, 2, 5, 5]]], np.uint32)
    distance = np.array([[[12, 8, 9, 10, 3, 10]]], np.float32)
    np.testing.assert_array_equal(merge_wide_necks(labels, distance, ratio=0.6), [[[1, 1, 1, 1, 2, 2]]])
    np.testing.assert_array_equal(merge_wide_necks(labels, distance, ratio=0.9), [[[1, 1, 2, 2, 3, 3]]])


def test_neck_ratio_must_be_a_number_at_least_0(balls):
    with pytest.raises(VemprofError, match="neck_ratio"):
        ops.split_touching(balls, spacing=SPACING, neck_ratio=-0.5)


@pytest.mark.parametrize("chunks", [(20, 32, 32), (9, 11, 13)])
def test_seeded_watershed_on_intensity_blockwise(chunks, balls):
    rng = np.random.default_rng(0)
    relief = ops.gaussian(rng.random(balls.shape).astype(np.float32), sigma_nm=10, spacing=SPACING)
    markers = ops.find_maxima(relief, h=0.002, spacing=SPACING, minima=True, mask=balls)
    assert markers.max() > 10
    whole = ops.watershed(relief, markers=markers, mask=balls, spacing=SPACING)
    lazy_markers = ops.find_maxima(as_dask(relief, chunks), h=0.002, spacing=SPACING, minima=True, mask=balls, halo_nm=200)
    np.testing.assert_array_equal(lazy_markers.compute(), markers)
    lazy = ops.watershed(as_dask(relief, chunks), markers=markers, mask=balls, spacing=SPACING, halo_nm=200)
    blockwise = lazy.compute()
    assert len(np.unique(blockwise)) == len(np.unique(whole))
    assert disagreement(whole, blockwise, balls) <= 0.005


def test_watershed_bad_markers(balls):
    with pytest.raises(VemprofError, match="markers"):
        ops.watershed(balls.astype(np.float32), markers=balls.astype(np.float32), spacing=SPACING)
    with pytest.raises(VemprofError, match="shape"):
        ops.watershed(balls.astype(np.float32), markers=np.zeros((2, 2, 2), np.uint32), spacing=SPACING)


def test_grow_regions_known_answer():
    shape = (5, 5, 30)
    image = np.zeros(shape, np.float32)
    image[:, :, 10:20] = 1  # the bright band seeds may grow through
    image[:, :, 14] = 0  # a wall: the region cannot cross it
    seeds = np.zeros(shape, np.uint32)
    seeds[2, 2, 11] = 7
    grown = ops.grow_regions(seeds, image=image, low=0.5, high=2, max_distance_nm=100, spacing=(5, 5, 5))
    assert set(np.unique(grown)) == {0, 7}
    assert (grown[:, :, 10:14] == 7).all() and not grown[:, :, 14:].any()
    near = ops.grow_regions(seeds, image=image, low=0.5, high=2, max_distance_nm=5, spacing=(5, 5, 5))
    assert (near == 7).sum() == 7  # the seed and its 6 face neighbours within 5 nm


@pytest.mark.parametrize("chunks", [(13, 21, 21), (5, 6, 7)])
def test_grow_regions_blockwise_is_exact(chunks, balls):
    rng = np.random.default_rng(1)
    image = (rng.random(balls.shape) * 100).astype(np.float32)
    seeds = np.zeros(balls.shape, np.uint32)
    for label, position in enumerate([(10, 10, 10), (30, 40, 41), (20, 33, 21), (5, 60, 3)], start=1):
        seeds[position] = label
    options = {"low": 20, "high": 100, "max_distance_nm": 60, "spacing": SPACING}
    whole = ops.grow_regions(seeds, image=image, **options)
    lazy = ops.grow_regions(as_dask(seeds, chunks), image=image, **options)
    np.testing.assert_array_equal(lazy.compute(), whole)
