"""Orthogonal-plane views: the volume seen along Z, Y or X planes (Z resampled to the
in-plane pixel where the voxels are anisotropic) and the way back to (Z, Y, X)."""

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage

from vemprof.learn._orthogonal import PlaneView, interpolated
from vemprof.learn._tiles import predict_region

ANISOTROPIC = (25.0, 10.0, 10.0)  # nm: Z planes 2.5 pixels apart


def smooth_volume(shape=(20, 40, 36)) -> np.ndarray:
    """Grey values in [0, 1] that change over several voxels (so interpolation is close)."""
    noise = np.random.default_rng(0).random(shape).astype(np.float32)
    volume = ndimage.gaussian_filter(noise, 3)
    return (volume - volume.min()) / (volume.max() - volume.min())


def pixelwise(tiles: np.ndarray) -> np.ndarray:
    """A stand-in network that classifies each pixel by its own grey value (2 classes)."""
    return np.concatenate([1 - tiles, tiles], axis=1)


def test_interpolated_is_linear_between_neighbours_and_flat_beyond_the_ends():
    line = np.array([0.0, 10.0, 20.0])
    np.testing.assert_allclose(interpolated(line, np.array([-1, 0, 0.25, 1.5, 2, 3.5]), axis=0),
                               [0, 0, 2.5, 15, 20, 20])


@pytest.mark.parametrize("axis, shape", [("z", (20, 40, 36)), ("y", (40, 50, 36)), ("x", (36, 50, 40))])
def test_a_view_has_the_planes_first_and_z_stretched_to_the_pixel(axis, shape):
    view = PlaneView(da.from_array(smooth_volume(), chunks=8), axis=axis, spacing=ANISOTROPIC)
    assert view.shape == shape  # 20 Z planes of 25 nm are 50 rows of 10 nm
    assert view[(slice(0, 3), slice(5, 9), slice(0, 7))].shape == (3, 4, 7)


@pytest.mark.parametrize("axis", ["z", "y", "x"])
@pytest.mark.parametrize("spacing", [ANISOTROPIC, (10.0, 10.0, 10.0)])
def test_predicting_along_each_axis_and_back_gives_the_volume(axis, spacing):
    """With a network that returns each pixel's grey value, every orientation must give
    the volume back in (Z, Y, X) — exactly where no resampling is needed."""
    volume = smooth_volume()
    view = PlaneView(volume, axis=axis, spacing=spacing)
    everything = (slice(0, 20), slice(0, 40), slice(0, 36))
    probabilities = predict_region(view, view.region(everything), run=pixelwise, classes=2, tile=16, overlap=4)
    back = view.back(probabilities, depth=20)
    assert back.shape == (2, 20, 40, 36)
    tolerance = 0.02 if view.stretch != 1 else 1e-6
    np.testing.assert_allclose(back[1], volume, atol=tolerance)


def test_a_block_of_y_planes_is_the_same_part_of_the_whole():
    volume = smooth_volume()
    view = PlaneView(volume, axis="y", spacing=ANISOTROPIC)
    whole = view.back(predict_region(view, view.region((slice(0, 20), slice(0, 40), slice(0, 36))), run=pixelwise,
                                     classes=2, tile=16, overlap=4), depth=20)
    block = (slice(0, 20), slice(8, 24), slice(10, 30))
    part = view.back(predict_region(view, view.region(block), run=pixelwise, classes=2, tile=16, overlap=4), depth=20)
    np.testing.assert_allclose(part, whole[(slice(None), *block)], atol=1e-6)


@pytest.mark.parametrize("axis", ["y", "x"])
@pytest.mark.parametrize("spacing", [ANISOTROPIC, (10.0, 10.0, 10.0), (6.0, 10.0, 10.0)])
def test_a_region_predicted_only_near_a_band_is_the_whole_prediction_on_the_band(axis, spacing):
    """Prediction near a band (a few scattered voxels) along Y or X planes, Z stretched,
    squeezed or neither: the tiles run are those the band's voxels read back from, so on
    the band it equals the prediction of every tile, and far from it nothing ran."""
    volume = smooth_volume()
    band = np.zeros(volume.shape, bool)
    band[[3, 11, 12], [5, 20, 21], [30, 7, 7]] = True
    view = PlaneView(volume, axis=axis, spacing=spacing)
    everything = (slice(0, 20), slice(0, 40), slice(0, 36))
    whole = view.back(predict_region(view, view.region(everything), run=pixelwise, classes=2, tile=8, overlap=2),
                      depth=20)
    near = view.back(predict_region(view, view.region(everything), run=pixelwise, classes=2, tile=8, overlap=2,
                                    where=view.mask(band)), depth=20)
    np.testing.assert_allclose(near[:, band], whole[:, band], atol=1e-6)
    assert (near[1] == 0).mean() > 0.3  # the tiles that hold no band voxel did not run
