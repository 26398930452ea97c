import dask.array as da
import numpy as np
import pytest

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import CHUNKS, as_dask, ball_mask

FILTERS = {
    "gaussian": lambda x, s: ops.gaussian(x, sigma_nm=12, spacing=s),
    "median": lambda x, s: ops.median(x, radius_nm=10, spacing=s),
    "dog": lambda x, s: ops.enhance_particles(x, particle_radius_nm=20, spacing=s),
    "log": lambda x, s: ops.enhance_particles(x, particle_radius_nm=20, spacing=s, method="log"),
    "tophat": lambda x, s: ops.white_tophat(x, radius_nm=12, spacing=s),
    "background": lambda x, s: ops.subtract_background(x, radius_nm=30, spacing=s),
    "contrast": lambda x, s: ops.normalize_local_contrast(x, window_nm=60, spacing=s),
}


@pytest.mark.parametrize("name", FILTERS)
@pytest.mark.parametrize("chunks", CHUNKS)
def test_blockwise_equals_whole_array(name, chunks, image, spacing):
    whole = FILTERS[name](image, spacing)
    lazy = FILTERS[name](as_dask(image, chunks), spacing)
    assert isinstance(lazy, da.Array)
    blockwise = lazy.compute()
    assert blockwise.dtype == whole.dtype
    np.testing.assert_array_equal(blockwise, whole)


@pytest.mark.parametrize("name", FILTERS)
def test_float_image_blockwise(name, spacing):
    values = np.random.default_rng(3).normal(size=(10, 14, 18)).astype(np.float32)
    np.testing.assert_array_equal(
        FILTERS[name](as_dask(values, (4, 5, 6)), spacing).compute(), FILTERS[name](values, spacing)
    )


def test_gaussian_keeps_a_constant_and_its_mean(spacing):
    constant = np.full((6, 8, 8), 7.0)
    np.testing.assert_allclose(ops.gaussian(constant, sigma_nm=20, spacing=spacing), 7.0, rtol=1e-6)
    spike = np.zeros((21, 21, 21), np.float32)
    spike[10, 10, 10] = 1
    smooth = ops.gaussian(spike, sigma_nm=10, spacing=spacing)
    assert smooth.sum() == pytest.approx(1.0, rel=1e-4)
    # anisotropy: the same physical width is fewer voxels along Z (8 nm) than along X (5 nm)
    assert smooth[11, 10, 10] < smooth[10, 10, 11]


def test_gaussian_zero_sigma_is_identity(image, spacing):
    np.testing.assert_array_equal(ops.gaussian(image, sigma_nm=0, spacing=spacing), image.astype(np.float32))


def test_median_removes_a_single_bright_voxel(spacing):
    volume = np.zeros((9, 9, 9), np.uint8)
    volume[4, 4, 4] = 255
    assert ops.median(volume, radius_nm=10, spacing=spacing).max() == 0


def test_median_below_voxel_size_changes_nothing(image, spacing):
    np.testing.assert_array_equal(ops.median(image, radius_nm=2, spacing=spacing), image)


@pytest.mark.parametrize("method", ["dog", "log"])
def test_particle_enhancement_peaks_at_particles_of_that_size(method):
    spacing = (5.0, 5.0, 5.0)
    shape = (40, 40, 40)
    volume = (ball_mask(shape, (20, 12, 20), 20, spacing) * 100.0).astype(np.float32)
    volume += ball_mask(shape, (20, 30, 20), 60, spacing) * 30.0  # a big, dimmer region
    response = ops.enhance_particles(volume, particle_radius_nm=20, spacing=spacing, method=method)
    assert np.unravel_index(np.argmax(response), shape) == (20, 12, 20)


def test_tophat_keeps_small_bright_particles_and_drops_large_ones():
    spacing = (5.0, 5.0, 5.0)
    shape = (40, 40, 40)
    small = ball_mask(shape, (20, 10, 20), 10, spacing)
    large = ball_mask(shape, (20, 28, 20), 40, spacing)
    volume = (50 + 100 * (small | large)).astype(np.uint8)
    kept = ops.white_tophat(volume, radius_nm=20, spacing=spacing)
    assert (kept[small] == 100).all()
    # the digital large ball is not exactly open under the digital small ball: allow a rim
    assert (kept[large & ~small] > 0).mean() < 0.05


def test_background_subtraction_removes_a_gradient(spacing):
    ramp = np.broadcast_to(np.linspace(0, 100, 40, dtype=np.float32), (20, 30, 40)).copy()
    flat = ops.subtract_background(ramp, radius_nm=20, spacing=spacing)
    assert np.abs(flat[:, :, 10:30]).max() < 0.05  # of a 0..100 ramp; the reflected edges bend it slightly


def test_local_contrast_evens_out_two_contrast_regimes(spacing):
    rng = np.random.default_rng(0)
    volume = rng.normal(0, 1, (20, 30, 60)).astype(np.float32)
    volume[:, :, 30:] *= 20
    normalised = ops.normalize_local_contrast(volume, window_nm=80, spacing=spacing)
    left, right = normalised[:, :, 8:22].std(), normalised[:, :, 38:52].std()
    assert right == pytest.approx(left, rel=0.1)
    assert ops.normalize_local_contrast(np.ones((5, 5, 5)), window_nm=30, spacing=spacing).max() == 0


def test_contrast_in_a_mask_is_against_the_mask_alone(spacing):
    # a band, dark but for one bright spot, beside a much brighter region outside it
    volume = np.full((20, 30, 60), 100.0, np.float32)
    volume[:, :, 30:] = 250
    band = np.zeros(volume.shape, bool)
    band[:, :, 20:30] = True
    volume += np.random.default_rng(0).normal(0, 2, volume.shape).astype(np.float32)
    volume[8:12, 13:17, 23:27] += 30
    inside = ops.normalize_in_mask(volume, band, window_nm=200, spacing=spacing)
    plain = ops.normalize_local_contrast(volume, window_nm=200, spacing=spacing)
    assert inside[10, 15, 25] > 3 and plain[10, 15, 25] < 0  # the plain window sees the bright side
    assert (inside[~band] == 0).all()
    blocks = ops.normalize_in_mask(as_dask(volume, (7, 11, 13)), as_dask(band, (7, 11, 13)), window_nm=200,
                                   spacing=spacing)
    np.testing.assert_allclose(blocks.compute(), inside, atol=1e-5)


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda x: ops.gaussian(x, sigma_nm=-1, spacing=(8, 5, 5)), "sigma_nm must be a finite length in nm >= 0"),
        (lambda x: ops.gaussian(x, sigma_nm=5, spacing=None), "the voxel size is missing: pass spacing="),
        (lambda x: ops.gaussian(x, sigma_nm=5, spacing=(5, 5)), "the voxel size needs 3 values"),
        (lambda x: ops.median(x, radius_nm=float("nan"), spacing=(8, 5, 5)), "radius_nm must be a finite length"),
        (lambda x: ops.enhance_particles(x, particle_radius_nm=0, spacing=(8, 5, 5)), "particle_radius_nm must be .* > 0"),
        (
            lambda x: ops.enhance_particles(x, particle_radius_nm=5, spacing=(8, 5, 5), method="blob"),
            "method must be one of 'dog', 'log', got 'blob'",
        ),
        (lambda x: ops.gaussian(x[0], sigma_nm=5, spacing=(8, 5, 5)), "the image must be 3D"),
    ],
)
def test_bad_parameters_are_one_line_errors(call, message, image):
    with pytest.raises(VemprofError, match=message) as info:
        call(image)
    assert "\n" not in str(info.value)


def test_nan_in_image_is_an_error_now_or_at_compute(spacing):
    values = np.zeros((6, 6, 6), np.float32)
    values[3, 3, 3] = np.nan
    with pytest.raises(VemprofError, match="NaN"):
        ops.gaussian(values, sigma_nm=5, spacing=spacing)
    lazy = ops.gaussian(as_dask(values, 3), sigma_nm=5, spacing=spacing)
    with pytest.raises(VemprofError, match="NaN"):
        lazy.compute()


def test_single_voxel_and_radius_larger_than_volume(spacing):
    voxel = np.full((1, 1, 1), 9.0, np.float32)
    assert ops.gaussian(voxel, sigma_nm=50, spacing=spacing)[0, 0, 0] == pytest.approx(9.0)
    small = np.random.default_rng(0).random((4, 5, 6)).astype(np.float32)
    whole = ops.median(small, radius_nm=100, spacing=spacing)
    np.testing.assert_array_equal(ops.median(as_dask(small, 2), radius_nm=100, spacing=spacing).compute(), whole)
