import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import CHUNKS, as_dask


def test_distances_are_in_nm_along_each_axis():
    mask = np.ones((5, 5, 5), bool)
    mask[2, 2, 2] = False  # the only voxel outside the mask
    distance = ops.distance_transform(mask, spacing=(8, 5, 5))
    assert distance.dtype == np.float32
    assert distance[2, 2, 2] == 0
    assert distance[3, 2, 2] == 8 and distance[2, 3, 2] == 5 and distance[2, 2, 4] == 10
    assert distance[3, 3, 3] == pytest.approx(np.sqrt(8**2 + 5**2 + 5**2))


@pytest.mark.parametrize("spacing", [(5.0, 5.0, 5.0), (8.0, 5.0, 5.0), (7.3, 4.1, 3.3)])
def test_equals_scipy_with_sampling(spacing, blobs):
    expected = ndi.distance_transform_edt(blobs, sampling=spacing)
    np.testing.assert_allclose(ops.distance_transform(blobs, spacing=spacing), expected, rtol=1e-6)


def test_distances_beyond_the_bound_are_inf(blobs, spacing):
    exact = ops.distance_transform(blobs, spacing=spacing)
    bounded = ops.distance_transform(blobs, spacing=spacing, max_distance_nm=20)
    near = exact <= 20
    np.testing.assert_array_equal(bounded[near], exact[near])
    assert np.isinf(bounded[~near]).all() and (~near).any()


def test_a_mask_with_nothing_outside_it_is_inf_everywhere():
    assert np.isinf(ops.distance_transform(np.ones((2, 3, 4), bool), spacing=(8, 5, 5))).all()
    assert not ops.distance_transform(np.zeros((2, 3, 4), bool), spacing=(8, 5, 5)).any()


@pytest.mark.parametrize("chunks", CHUNKS)
def test_blockwise_is_bit_identical_to_the_whole_array(chunks, blobs, spacing):
    # a 40 nm halo is 5 x 8 x 8 voxels: wider than the 3 x 4 x 5 chunks
    whole = ops.distance_transform(blobs, spacing=spacing, max_distance_nm=40)
    lazy = ops.distance_transform(as_dask(blobs, chunks), spacing=spacing, max_distance_nm=40)
    assert isinstance(lazy, da.Array) and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy.compute(), whole)


def test_dask_input_needs_a_bound(blobs, spacing):
    with pytest.raises(VemprofError, match="needs max_distance_nm="):
        ops.distance_transform(as_dask(blobs, 8), spacing=spacing)
