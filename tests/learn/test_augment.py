"""Augmenting a 2D training patch: the same seed gives the same patch, geometry moves
labels without inventing any, intensity changes keep the image finite float32, and the
elastic warp moves things by about the distance asked for."""

import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.learn._augment import augment

PIXEL_NM = 10.0
NO_INTENSITY = {"gamma": None, "contrast": None, "noise_std": None}


def patch(shape=(32, 32), seed=0):
    """A random image and a sparse annotation: 0 (not annotated) on the left half."""
    rng = np.random.default_rng(seed)
    image = rng.random(shape, dtype=np.float32)
    labels = rng.integers(1, 4, shape).astype(np.uint8)
    labels[:, : shape[1] // 2] = 0
    return image, labels


def test_the_same_seed_gives_the_same_patch():
    image, labels = patch()
    options = {"pixel_nm": PIXEL_NM, "elastic_probability": 1.0, "intensity_probability": 1.0}

    first = augment(image, labels, rng=np.random.default_rng(7), **options)
    again = augment(image, labels, rng=np.random.default_rng(7), **options)
    other = augment(image, labels, rng=np.random.default_rng(8), **options)

    np.testing.assert_array_equal(first[0], again[0])
    np.testing.assert_array_equal(first[1], again[1])
    assert not np.array_equal(first[0], other[0])


@pytest.mark.parametrize("shape", [(32, 32), (24, 40)])
def test_flips_and_turns_carry_each_label_with_its_pixel(shape):
    # every pixel has its own grey value, so the output says where each pixel came from
    image = np.arange(np.prod(shape), dtype=np.float32).reshape(shape)
    _, labels = patch(shape)
    arrangements = set()
    for seed in range(40):
        moved_image, moved_labels = augment(image, labels, rng=np.random.default_rng(seed), pixel_nm=PIXEL_NM,
                                            elastic_amplitude_nm=None, **NO_INTENSITY)
        assert moved_image.shape == shape
        source = moved_image.astype(np.int64)
        np.testing.assert_array_equal(np.sort(source, axis=None), np.arange(image.size))  # a permutation
        np.testing.assert_array_equal(moved_labels, labels.ravel()[source])
        arrangements.add(tuple(source[[0, 0, -1], [0, -1, 0]]))  # where three corners went
    # the 8 symmetries of a square; a rectangle keeps its shape: flips and 180° turns only
    assert len(arrangements) == (8 if shape[0] == shape[1] else 4)


def test_the_elastic_warp_never_invents_a_label():
    image, labels = patch((64, 64))
    empty = np.zeros_like(labels)
    for seed in range(10):
        rng = np.random.default_rng(seed)
        _, warped = augment(image, labels, rng=rng, pixel_nm=PIXEL_NM, elastic_probability=1.0)
        _, warped_empty = augment(image, empty, rng=rng, pixel_nm=PIXEL_NM, elastic_probability=1.0)
        assert set(np.unique(warped)) <= set(np.unique(labels))
        assert warped.dtype == labels.dtype
        assert not warped_empty.any()


def test_intensity_changes_keep_a_finite_float32_image_of_the_same_shape():
    image, labels = patch((24, 40))
    image[0, 0], image[0, 1] = -0.2, 1.3  # a little beyond the normalised range
    for seed in range(20):
        changed, same_labels = augment(image.astype(np.float64), labels, rng=np.random.default_rng(seed),
                                       pixel_nm=PIXEL_NM, intensity_probability=1.0)
        assert changed.dtype == np.float32 and changed.shape == image.shape
        assert np.isfinite(changed).all()
        assert changed.flags.c_contiguous and same_labels.flags.c_contiguous


def test_gamma_and_contrast_without_noise_keep_the_order_of_grey_values():
    image = np.linspace(-0.1, 1.1, 64, dtype=np.float32).reshape(8, 8)
    labels = np.ones(image.shape, np.uint8)
    toned, _ = augment(image, labels, rng=np.random.default_rng(3), pixel_nm=PIXEL_NM, flips=False,
                       rotations=False, elastic_amplitude_nm=None, noise_std=None, intensity_probability=1.0)
    assert np.all(np.diff(toned.ravel()) > 0)
    assert not np.allclose(toned, image)


def bright_dot_position(image):
    """Centre of mass of the bright blob, (y, x) in pixels."""
    weights = np.clip(image - 0.5 * image.max(), 0, None)
    y, x = np.indices(image.shape)
    return np.array([(weights * y).sum(), (weights * x).sum()]) / weights.sum()


@pytest.mark.parametrize("amplitude_nm", [30.0, 80.0])
def test_the_elastic_warp_moves_a_dot_by_about_the_amplitude(amplitude_nm):
    y, x = np.indices((96, 96))
    dot = np.exp(-((y - 48.0) ** 2 + (x - 48.0) ** 2) / (2 * 2.0**2)).astype(np.float32)
    labels = np.ones(dot.shape, np.uint8)
    moves_nm = []
    for seed in range(30):
        warped, _ = augment(dot, labels, rng=np.random.default_rng(seed), pixel_nm=PIXEL_NM, flips=False,
                            rotations=False, elastic_amplitude_nm=amplitude_nm, elastic_smoothing_nm=300.0,
                            elastic_probability=1.0, **NO_INTENSITY)
        moves_nm.append(np.linalg.norm(bright_dot_position(warped) - 48.0) * PIXEL_NM)
    # the amplitude is the RMS length of the displacement vectors
    assert 0.6 * amplitude_nm < np.sqrt(np.mean(np.square(moves_nm))) < 1.4 * amplitude_nm


@pytest.mark.parametrize("bad, message", [
    ({"pixel_nm": 0}, "pixel_nm"),
    ({"gamma": (1.5, 0.7)}, "gamma"),
    ({"elastic_probability": 2}, "elastic_probability"),
    ({"rng": 0}, "numpy.random.Generator"),
])
def test_bad_options_are_refused_in_one_line(bad, message):
    image, labels = patch()
    options = {"rng": np.random.default_rng(0), "pixel_nm": PIXEL_NM, **bad}
    with pytest.raises(VemprofError, match=message):
        augment(image, labels, **options)


def test_float_labels_are_refused():
    image, labels = patch()
    with pytest.raises(VemprofError, match="labels must be integers"):
        augment(image, labels.astype(np.float32), rng=np.random.default_rng(0), pixel_nm=PIXEL_NM)
