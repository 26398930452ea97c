"""`exact_distance_transform`: the whole-array EDT of a dask array, chunk by chunk, without a halo."""

import dask.array as da
import edt
import numpy as np
import pytest
import scipy.ndimage as ndi

from vemprof.errors import VemprofError
from vemprof.ops._exact_distance import exact_distance_transform, lower_envelope_squared

from .conftest import ball_mask

SHAPE = (40, 50, 60)
SPACINGS = [(8.0, 5.0, 5.0), (25.0, 20.0, 20.0)]
#: (input chunks, bytes per float32 chunk of the two passes): small budgets split the passes
#: into plane slabs and column tiles (20 kB: slabs of 1 plane, 30 tiles of 11 × 11 columns;
#: 100 kB: slabs of 8 planes, 6 tiles of 25 × 25 columns; 64 MiB: one chunk each)
CHUNKINGS = [((7, 9, 11), 20_000), ((20, 25, 30), 100_000), (SHAPE, 64 * 2**20)]


def random_mask(background_fraction, seed=0):
    """True voxels with a fraction of False (background) voxels at random places."""
    return np.random.default_rng(seed).random(SHAPE) >= background_fraction


def single_background_voxel():
    mask = np.ones(SHAPE, bool)
    mask[3, 40, 7] = False
    return mask


MASKS = {
    "sparse background": lambda: random_mask(0.002),
    "dense background": lambda: random_mask(0.6),
    "single background voxel": single_background_voxel,
}


def whole_array_edt(mask, spacing):
    """The reference: ``edt`` on the whole numpy array, volume edge not background."""
    return edt.edt(mask.astype(np.uint8), anisotropy=spacing, black_border=False)


def assert_same_distances(result, expected):
    assert result.dtype == np.float32
    np.testing.assert_array_equal(np.isinf(result), np.isinf(expected))
    finite = np.isfinite(expected)
    np.testing.assert_allclose(result[finite], expected[finite], rtol=1e-6)


@pytest.mark.parametrize("name", MASKS)
@pytest.mark.parametrize("spacing", SPACINGS)
def test_dask_equals_the_whole_array_edt_and_scipy(name, spacing):
    mask = MASKS[name]()
    expected = whole_array_edt(mask, spacing)
    np.testing.assert_allclose(expected, ndi.distance_transform_edt(mask, sampling=spacing), rtol=1e-6)
    for chunks, chunk_bytes in CHUNKINGS:
        result = exact_distance_transform(da.from_array(mask, chunks=chunks), spacing=spacing, chunk_bytes=chunk_bytes)
        assert result.chunks == da.from_array(mask, chunks=chunks).chunks  # returned in the input's chunks
        assert_same_distances(result.compute(), expected)


def test_distances_far_larger_than_a_chunk():
    """A ball of background in one corner: distances across the whole volume, > 10 chunks away."""
    spacing = (8.0, 5.0, 5.0)
    mask = ~ball_mask(SHAPE, (0, 0, 0), 40, spacing)
    result = exact_distance_transform(da.from_array(mask, chunks=(4, 5, 6)), spacing=spacing, chunk_bytes=20_000)
    expected = ndi.distance_transform_edt(mask, sampling=spacing)
    assert expected.max() > 10 * 6 * 5  # ten chunks' width along X
    assert_same_distances(result.compute(), expected)


def test_oblique_tubes_drop_many_parabolas_at_once():
    """Tubes along Z cut by a slanted plane: up the Z column of a voxel near the cut, the
    in-plane distance falls in steps, and one new plane hides several parabolas at once."""
    z, y, x = np.ogrid[: SHAPE[0], : SHAPE[1], : SHAPE[2]]
    mask = ((y - 15) ** 2 + (x % 30 - 15) ** 2 < 196) & (z < 2 * x)
    result = exact_distance_transform(da.from_array(mask, chunks=8), spacing=(8, 5, 5), chunk_bytes=20_000)
    assert_same_distances(result.compute(), whole_array_edt(mask, (8, 5, 5)))


@pytest.mark.parametrize("spacing", SPACINGS)
def test_no_background_is_inf_everywhere_and_all_background_is_zero(spacing):
    ones = da.ones(SHAPE, dtype=bool, chunks=(7, 9, 11))
    assert np.isinf(exact_distance_transform(ones, spacing=spacing, chunk_bytes=20_000).compute()).all()
    zeros = da.zeros(SHAPE, dtype=bool, chunks=(7, 9, 11))
    assert not exact_distance_transform(zeros, spacing=spacing, chunk_bytes=20_000).compute().any()


def test_numpy_input_equals_dask_input():
    mask = random_mask(0.01, seed=3)
    on_numpy = exact_distance_transform(mask, spacing=(8, 5, 5))
    assert isinstance(on_numpy, np.ndarray) and on_numpy.dtype == np.float32
    on_dask = exact_distance_transform(da.from_array(mask, chunks=(7, 9, 11)), spacing=(8, 5, 5), chunk_bytes=20_000)
    assert isinstance(on_dask, da.Array)
    np.testing.assert_allclose(on_dask.compute(), on_numpy, rtol=1e-6)


def test_integer_masks_are_read_as_nonzero():
    mask = random_mask(0.05, seed=4)
    labels = mask.astype(np.uint16) * 7
    np.testing.assert_array_equal(
        exact_distance_transform(da.from_array(labels, chunks=16), spacing=(8, 5, 5)).compute(),
        exact_distance_transform(da.from_array(mask, chunks=16), spacing=(8, 5, 5)).compute(),
    )


def test_lower_envelope_equals_brute_force_minimum():
    """Pass 2 on arbitrary heights g (nm², some inf): min over z' of g(z') + ((z − z')·step)²."""
    rng = np.random.default_rng(5)
    heights = (rng.random((30, 200)) * rng.choice([1e2, 1e4, 1e6], (1, 200))).astype(np.float32)
    heights[rng.random(heights.shape) < 0.5] = np.inf
    heights[:, 0] = np.inf  # a column with no finite height stays inf
    z = np.arange(30)
    brute = np.min(heights[None].astype(np.float64) + (((z[:, None] - z[None]) * 8.0) ** 2)[..., None], axis=1)
    assert_same_distances(lower_envelope_squared(heights, 8.0), brute)


def test_bad_input_gets_a_message():
    with pytest.raises(VemprofError, match="spacing"):
        exact_distance_transform(np.ones((2, 2, 2), bool), spacing=None)
    with pytest.raises(VemprofError, match="chunk_bytes"):
        exact_distance_transform(np.ones((2, 2, 2), bool), spacing=(8, 5, 5), chunk_bytes=0)


def test_staged_through_disk_equals_in_memory(tmp_path):
    rng = np.random.default_rng(7)
    mask = rng.random((30, 40, 50)) > 0.02
    lazy = da.from_array(mask, chunks=(7, 9, 11))
    staged = exact_distance_transform(lazy, spacing=(8, 5, 5), chunk_bytes=2000, staging=tmp_path)
    assert (tmp_path / "in_plane.zarr").exists()  # pass 1 is on disk, pass 2 reads it
    np.testing.assert_array_equal(staged.compute(), exact_distance_transform(lazy, spacing=(8, 5, 5)).compute())
