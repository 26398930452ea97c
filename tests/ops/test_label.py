import cc3d
import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import CHUNKS, as_dask, ball_mask

NOISE = np.random.default_rng(0).random((16, 20, 24)) > 0.7


@pytest.mark.parametrize("connectivity", [6, 18, 26])
@pytest.mark.parametrize("chunks", CHUNKS + [(1, 20, 7)])
@pytest.mark.parametrize("volume", ["blobs", "noise"])
def test_blockwise_labels_are_identical_to_whole_array(volume, chunks, connectivity, blobs):
    mask = blobs if volume == "blobs" else NOISE
    whole = ops.connected_components(mask, connectivity=connectivity)
    np.testing.assert_array_equal(whole, cc3d.connected_components(mask, connectivity=connectivity))
    lazy = ops.connected_components(as_dask(mask, chunks), connectivity=connectivity)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.uint32
    np.testing.assert_array_equal(lazy.compute(), whole)  # same ids, not only up to renumbering


def test_multivalued_labels_keep_touching_objects_apart():
    classes = np.zeros((4, 4, 8), np.uint16)
    classes[:, :, :4], classes[:, :, 4:] = 1, 2
    labels = ops.connected_components(classes, connectivity=6)
    assert labels.max() == 2
    lazy = ops.connected_components(as_dask(classes, (3, 3, 3)), connectivity=6)
    np.testing.assert_array_equal(lazy.compute(), labels)


def test_empty_single_voxel_and_full_volumes():
    assert ops.connected_components(np.zeros((3, 4, 5), bool)).max() == 0
    assert ops.connected_components(as_dask(np.zeros((3, 4, 5), bool), 2)).compute().max() == 0
    assert ops.connected_components(np.ones((1, 1, 1), bool)).tolist() == [[[1]]]
    full = ops.connected_components(as_dask(np.ones((5, 6, 7), bool), 2)).compute()
    assert (full == 1).all()


@pytest.mark.parametrize("chunks", CHUNKS)
def test_fill_holes_matches_scipy_blockwise(chunks, blobs):
    noisy = blobs ^ NOISE_BIG
    whole = ops.fill_holes(noisy)
    np.testing.assert_array_equal(whole, ndi.binary_fill_holes(noisy))
    np.testing.assert_array_equal(ops.fill_holes(as_dask(noisy, chunks)).compute(), whole)


NOISE_BIG = np.random.default_rng(2).random((24, 32, 40)) > 0.8


def test_a_filled_hollow_sphere_is_the_ball(spacing):
    shape = (31, 41, 41)
    outer = ball_mask(shape, (15, 20, 20), 80, spacing)
    hollow = outer & ~ball_mask(shape, (15, 20, 20), 50, spacing)
    np.testing.assert_array_equal(ops.fill_holes(hollow), outer)
    np.testing.assert_array_equal(ops.fill_holes(as_dask(hollow, (7, 8, 9))).compute(), outer)
    # a cavity open to the volume edge is not a hole
    cut = hollow[:16]
    np.testing.assert_array_equal(ops.fill_holes(cut), cut)


@pytest.mark.parametrize("chunks", CHUNKS)
def test_remove_small_objects_and_holes_blockwise(chunks, blobs, spacing):
    noisy = blobs ^ NOISE_BIG
    voxel = float(np.prod(spacing))
    kept = ops.remove_small_objects(noisy, min_volume_nm3=10 * voxel, spacing=spacing)
    labels = cc3d.connected_components(noisy, connectivity=26)
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    np.testing.assert_array_equal(kept, sizes[labels] >= 10)
    np.testing.assert_array_equal(
        ops.remove_small_objects(as_dask(noisy, chunks), min_volume_nm3=10 * voxel, spacing=spacing).compute(), kept
    )
    filled = ops.remove_small_holes(noisy, min_volume_nm3=5 * voxel, spacing=spacing)
    assert not (noisy & ~filled).any()
    np.testing.assert_array_equal(
        ops.remove_small_holes(as_dask(noisy, chunks), min_volume_nm3=5 * voxel, spacing=spacing).compute(), filled
    )
    np.testing.assert_array_equal(
        ops.remove_small_holes(noisy, min_volume_nm3=1e12, spacing=spacing), ops.fill_holes(noisy)
    )


def test_labelling_rejects_float_images():
    with pytest.raises(VemprofError, match="threshold"):
        ops.connected_components(np.zeros((2, 2, 2), np.float32))
    with pytest.raises(VemprofError, match="connectivity"):
        ops.connected_components(np.zeros((2, 2, 2), bool), connectivity=8)
