import json

import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from vemprof.errors import VemprofError
from vemprof.learn import KINDS, FeatureBank, compute_features, features_dask

#: Anisotropic: scale 6 nm is under 0.3 voxels along Z (no smoothing there), 24 nm is 0.8.
SPACING = (30.0, 8.0, 8.0)
BANK = FeatureBank((6, 24))


@pytest.fixture(scope="module")
def image():
    """An odd-shaped uint8 volume: blobs in noise."""
    rng = np.random.default_rng(0)
    blobs = ndi.gaussian_filter(rng.normal(size=(17, 50, 47)), 2) > 0.05
    return np.clip(90 + 80 * blobs + rng.normal(0, 20, blobs.shape), 0, 255).astype(np.uint8)


def ball(shape, centre, radius_nm, spacing):
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    return sum(((g - c) * s) ** 2 for g, c, s in zip(grids, centre, spacing)) <= radius_nm**2


def channel(features, bank, name):
    return features[..., bank.names().index(name)]


def test_default_bank_scales_with_the_largest_voxel_and_names_every_channel():
    bank = FeatureBank.default((25, 20, 20))
    assert bank.scales_nm == (17.5, 40.0, 87.5, 125.0)
    assert bank.kinds == tuple(KINDS)
    assert bank.count == 1 + 4 * 10 == 41
    names = bank.names()
    assert len(names) == len(set(names)) == bank.count
    assert names[:3] == ["intensity", "gaussian_17.5nm", "gaussian_40nm"]
    assert {"log_40nm", "dog_40nm", "gradient_40nm", "hessian_40nm_2", "structure_125nm_0"} <= set(names)
    features = compute_features(np.zeros((4, 6, 5), np.uint16), spacing=(25, 20, 20), bank=bank)
    assert features.shape == (4, 6, 5, 41) and features.dtype == np.float32


def test_kinds_and_scales_are_stored_in_canonical_order():
    bank = FeatureBank([50, 20], kinds=["hessian", "gaussian"])
    assert bank.scales_nm == (20.0, 50.0)
    assert bank.kinds == ("gaussian", "hessian")
    assert bank.names() == ["intensity", "gaussian_20nm", "gaussian_50nm"] + [
        f"hessian_{s}nm_{i}" for s in (20, 50) for i in range(3)
    ]


def test_a_bright_ball_has_its_laplacian_minimum_and_negative_curvatures_at_its_centre():
    spacing, centre = (20.0, 10.0, 10.0), (8, 16, 16)
    image = np.where(ball((17, 33, 33), centre, 60, spacing), 200, 50).astype(np.uint8)
    bank = FeatureBank((35,), kinds=("log", "dog", "hessian"))  # about radius / sqrt(3)
    features = compute_features(image, spacing=spacing, bank=bank)
    log = channel(features, bank, "log_35nm")
    assert np.unravel_index(np.argmin(log), log.shape) == centre
    assert log[centre] < -50
    assert channel(features, bank, "dog_35nm")[centre] < 0  # DoG has the sign of LoG
    assert all(channel(features, bank, f"hessian_35nm_{i}")[centre] < 0 for i in range(3))
    dark = compute_features(255 - image, spacing=spacing, bank=bank)
    assert channel(dark, bank, "log_35nm")[centre] == pytest.approx(-log[centre], rel=1e-5)


def test_smoothing_is_the_same_width_in_nm_on_every_axis():
    spacing = (30.0, 10.0, 10.0)
    point = np.zeros((21, 41, 41), np.float32)
    point[10, 20, 20] = 1
    bank = FeatureBank((30,), kinds=("gaussian",))
    blur = channel(compute_features(point, spacing=spacing, bank=bank), bank, "gaussian_30nm")
    profiles = blur[:, 20, 20], blur[10, :, 20], blur[10, 20, :]
    variance_voxels = [(np.arange(len(p)) - len(p) // 2) ** 2 @ p / p.sum() for p in profiles]
    assert variance_voxels == pytest.approx([1.0, 9.0, 9.0], rel=0.02)  # sigma 30 nm = 1 and 3 voxels
    np.testing.assert_allclose(blur, ndi.gaussian_filter(point, (1, 3, 3), mode="reflect", truncate=3), atol=1e-6)


def test_an_axis_under_a_third_of_a_voxel_is_not_smoothed():
    point = np.zeros((5, 21, 21), np.float32)
    point[2, 10, 10] = 1
    bank = FeatureBank((6,), kinds=("gaussian",))  # 0.2 voxels along Z, 0.75 along Y and X
    blur = channel(compute_features(point, spacing=SPACING, bank=bank), bank, "gaussian_6nm")
    assert blur[2].sum() == pytest.approx(1, rel=1e-6)
    assert not blur[[0, 1, 3, 4]].any()


def test_a_subset_of_kinds_gives_the_same_channels_as_the_full_bank(image):
    full = compute_features(image, spacing=SPACING, bank=BANK)
    hessian = FeatureBank(BANK.scales_nm, kinds=("hessian",))
    part = compute_features(image, spacing=SPACING, bank=hessian)
    for index, name in enumerate(hessian.names()):
        np.testing.assert_array_equal(part[..., index], channel(full, BANK, name))


@pytest.mark.parametrize("dtype", [np.uint8, np.float64])
@pytest.mark.parametrize("chunks", [(6, 25, 24), (5, 18, 47), (3, 7, 5), (17, 50, 47)])
def test_blockwise_is_exactly_the_whole_array(image, dtype, chunks):
    values = image.astype(dtype) * (1.37 if dtype == np.float64 else 1)
    whole = compute_features(values, spacing=SPACING, bank=BANK)
    lazy = features_dask(da.from_array(values, chunks=chunks), spacing=SPACING, bank=BANK)
    assert lazy.shape == whole.shape and lazy.dtype == np.float32
    np.testing.assert_array_equal(lazy.compute(scheduler="threads"), whole)


def test_halo_counts_the_voxels_each_axis_needs():
    # Kernels reach 3 sigma, plus half a sigma per derivative order; 24 nm is 0.8 voxels along Z, 3 along Y and X.
    assert FeatureBank((24,), kinds=("gaussian",)).halo(SPACING) == (2, 9, 9)
    assert FeatureBank((24,), kinds=("hessian",)).halo(SPACING) == (3, 12, 12)
    # Structure tensor: the gradient (3.5 sigma) then its products smoothed at half the scale (1.5 sigma).
    assert BANK.halo(SPACING) == (4, 16, 16)


def test_bank_round_trips_through_json():
    bank = FeatureBank((12.5, 40), kinds=("gradient", "structure"))
    description = json.loads(json.dumps(bank.to_dict()))
    assert FeatureBank.from_dict(description) == bank
    assert FeatureBank.from_dict(description).names() == bank.names()


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: FeatureBank(()), "scales_nm is empty"),
        (lambda: FeatureBank((20, -5)), "positive finite"),
        (lambda: FeatureBank((20, 20.0)), "twice"),
        (lambda: FeatureBank((20,), kinds=("gaussian", "sobel")), "unknown feature kind"),
        (lambda: FeatureBank.from_dict({"kinds": ["log"]}), "needs 'scales_nm'"),
        (lambda: FeatureBank.from_dict({"version": 99, "scales_nm": [20]}), "retrain"),
        (lambda: BANK.halo((0, 8, 8)), "positive nanometres"),
        (lambda: compute_features(np.zeros((8, 8)), spacing=SPACING, bank=BANK), "3D"),
        (lambda: compute_features(np.zeros((0, 8, 8)), spacing=SPACING, bank=BANK), "non-empty"),
        (lambda: compute_features(np.full((4, 8, 8), np.nan), spacing=SPACING, bank=BANK), "NaN"),
        (lambda: compute_features(np.zeros((4, 8, 8), complex), spacing=SPACING, bank=BANK), "real"),
        (lambda: compute_features(np.zeros((4, 8, 8)), spacing=(8, 0, 8), bank=BANK), "positive nanometres"),
        (lambda: compute_features(da.zeros((4, 8, 8)), spacing=SPACING, bank=BANK), "features_dask"),
        (lambda: features_dask(da.full((4, 8, 8), np.nan, chunks=2), spacing=SPACING, bank=BANK).compute(), "NaN"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(make, message):
    with pytest.raises(VemprofError, match=message) as error:
        make()
    assert "\n" not in str(error.value)
