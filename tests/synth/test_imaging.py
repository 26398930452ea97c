"""FIB-SEM image formation keeps its promises: Poisson-Gaussian noise at the requested
contrast-to-noise, a point spread wider along Z than across, slices read at their
jittered Z positions, translations that an alignment can recover from the image alone,
the previous phantom under ``preset='simple'``, and results independent of the threads.

Flat and ramp volumes go straight through `form_image`; the rest uses small phantoms.
"""

import hashlib

import numpy as np
import pytest
from scipy import ndimage as ndi
from skimage.registration import phase_cross_correlation

from vemprof.synth import PhantomParameters, make_phantom
from vemprof.synth._grid import Grid
from vemprof.synth._imaging import _SIGNAL_RANGE, _UINT16_BAND, BASELINE, dose_for_contrast, form_image, slice_geometry

SMALL = {"shape": (64, 128, 128), "spacing": (40.0, 40.0, 40.0)}
#: sha256 of make_phantom(**SMALL, seed=0).image before the hard preset existed (numpy 2.4,
#: scipy 1.17), taken again when pores stopped drawing into the facing wall of the cleft: the
#: simple preset must reproduce it byte for byte.
PREVIOUS_IMAGE_SHA256 = "3f5b34631689bdfe6ea2497069fbd8ddd2d4e09548fed657095852498bd87ca1"
#: No drift, curtaining or slice jitter: what is left is the noise.
STEADY = {"brightness_drift": 0.0, "curtaining": 0.0, "slice_position_jitter": 0.0}


def test_the_simple_preset_is_the_previous_phantom():
    image = make_phantom(**SMALL, seed=0, preset="simple").image
    assert hashlib.sha256(image.tobytes()).hexdigest() == PREVIOUS_IMAGE_SHA256


def test_explicit_parameters_override_the_preset_and_a_new_preset_replaces_its_values():
    hard, simple = PhantomParameters(), PhantomParameters(preset="simple")
    assert hard.shot_noise == "poisson" and hard.read_noise_electrons > 0 and hard.slice_position_jitter > 0
    assert hard.psf_sigma_nm[0] > hard.psf_sigma_nm[1] == hard.psf_sigma_nm[2]
    assert simple.psf_sigma_nm == (6.0, 4.0, 4.0) and simple.shot_noise == "gaussian"
    assert simple.read_noise_electrons == 0 and simple.slice_position_jitter == 0 and simple.contrast_to_noise == 4
    assert PhantomParameters(preset="simple", contrast_to_noise=5).contrast_to_noise == 5
    custom = PhantomParameters(preset="simple", read_noise_electrons=1.0).with_changes(preset="hard")
    assert custom.read_noise_electrons == 1.0 and custom.shot_noise == "poisson"
    assert hard.with_changes(preset="simple") == simple


@pytest.mark.parametrize(
    "noise",
    [
        {"shot_noise": "poisson", "read_noise_electrons": 0.0},
        {"shot_noise": "poisson", "read_noise_electrons": 6.0},
        {"shot_noise": "gaussian", "read_noise_electrons": 3.0},
    ],
)
def test_noise_in_flat_regions_meets_the_requested_contrast_to_noise(noise):
    # two flat halves, "cytosol" and a denser "membrane": their difference over the
    # noise of the first is the requested contrast-to-noise, and the noise variance grows
    # with the signal as Poisson-Gaussian noise does (shot variance ∝ signal, plus r²)
    params = PhantomParameters(shape=(32, 64, 64), contrast_to_noise=4.0, **STEADY, **noise)
    grid = Grid(params.shape, params.spacing)
    cytosol, membrane = 0.2, 0.6
    stain = np.full(params.shape, cytosol, dtype=np.float32)
    stain[..., 32:] = membrane
    dose = dose_for_contrast(membrane - cytosol, cytosol, params.contrast_to_noise, params.read_noise_electrons)
    image = form_image(stain, grid=grid, params=params, dose=dose, threads=2).astype(float)
    low, high = image[..., :32], image[..., 32:]
    assert abs(high.mean() - low.mean()) / low.std() == pytest.approx(4.0, rel=0.04)
    r2 = params.read_noise_electrons**2
    expected = ((BASELINE + membrane) * dose + r2) / ((BASELINE + cytosol) * dose + r2)
    assert high.var() / low.var() == pytest.approx(expected, rel=0.06)
    assert expected > 1.3  # the check tells signal-dependent noise from constant noise


def test_slices_are_read_at_their_jittered_z_positions():
    # a stain ramp along Z, read almost without noise: each slice shows the ramp's value
    # at its true face position z + dz, not at z
    params = PhantomParameters(
        shape=(32, 16, 16), slice_position_jitter=0.3, brightness_drift=0.0, curtaining=0.0,
        read_noise_electrons=0.0, dtype="uint16", contrast="backscatter",
    )
    grid = Grid(params.shape, params.spacing)
    slope = 0.02  # stain per slice
    stain = np.broadcast_to(slope * np.arange(32, dtype=np.float32)[:, None, None] + 0.1, params.shape).copy()
    geometry = slice_geometry(grid, params)
    image = form_image(stain, grid=grid, params=params, dose=1e10, threads=2, geometry=geometry)
    (low, high), (bottom, top) = _SIGNAL_RANGE, _UINT16_BAND
    signal = (image.mean(axis=(1, 2)) - bottom) * (high - low) / (top - bottom) + low
    position = np.clip(np.arange(32) + geometry["dz_nm"].to_numpy() / params.spacing[0], 0, 31)
    inner = slice(2, 30)  # the ends are clamped
    np.testing.assert_allclose(signal[inner], BASELINE + 0.1 + slope * position[inner], atol=3e-4)
    assert np.abs(geometry["dz_nm"]).max() > 0.3 * params.spacing[0]  # the jitter is there to see
    assert np.abs(geometry["dz_nm"]).max() <= 3 * 0.3 * params.spacing[0]


def _envelope_edge_widths(phantom, half=7):
    """Edge width (nm) of the nuclear envelope in the image across it along Z where it
    lies flat (normal along Z), and along Y and X where it stands upright: on the mean
    profile (each aligned on the boundary voxel of the nucleus label), the rise from each
    side's level to the peak over the steepest step of that flank (σ·√(2π) for a
    Gaussian-blurred edge), averaged over both flanks."""
    image = 255.0 - phantom.image  # envelope bright
    nucleus = phantom.labels["nucleus"].astype(bool)
    gradient = np.stack(np.gradient(ndi.gaussian_filter(nucleus.astype(np.float32), 2.0)), axis=-1)
    along = gradient / (np.linalg.norm(gradient, axis=-1, keepdims=True) + 1e-9)
    boundary = nucleus & ~ndi.binary_erosion(nucleus)
    widths = []
    for axes in ((0,), (1, 2)):
        profiles = []
        for axis in axes:
            for sign in (1, -1):
                index = np.array(np.nonzero(boundary & (sign * along[..., axis] > 0.97)))
                ends = index[axis] - sign * half, index[axis] + sign * half
                index = index[:, (np.minimum(*ends) >= 0) & (np.maximum(*ends) < image.shape[axis])]
                steps = []
                for u in range(-half, half + 1):
                    at = index.copy()
                    at[axis] += sign * u
                    steps.append(image[tuple(at)])
                profiles.append(np.stack(steps, axis=1))
        profile = np.concatenate(profiles).mean(axis=0)
        assert len(np.concatenate(profiles)) > 300
        peak = int(np.argmax(profile))
        rising = (profile[peak] - profile[:2].mean()) / np.diff(profile[: peak + 1]).max()
        falling = (profile[peak] - profile[-2:].mean()) / -np.diff(profile[peak:]).min()
        widths.append((rising + falling) / 2 * phantom.spacing[0])
    return widths


def test_the_point_spread_widens_the_envelope_along_z_more_than_across():
    # isotropic voxels, so only the point spread differs between the axes; against the same
    # cell with a point spread as narrow along Z as across, the flat envelope (seen along
    # Z) widens, the upright envelope (seen along Y and X) does not
    cell = {
        "shape": (128, 256, 256), "spacing": (20.0, 20.0, 20.0), "n_mitochondria": 6, "er": False,
        "vesicles": False, "heterochromatin_coverage": 0.0,
    }
    default = make_phantom(**cell)
    lateral = default.parameters["psf_sigma_nm"][1]
    narrow = make_phantom(**cell, psf_sigma_nm=(lateral, lateral, lateral))
    (z_wide, across_wide), (z_narrow, across_narrow) = _envelope_edge_widths(default), _envelope_edge_widths(narrow)
    assert z_wide > 1.3 * z_narrow
    assert across_wide == pytest.approx(across_narrow, rel=0.1)
    assert z_wide > 1.3 * across_wide


def test_an_alignment_recovers_the_saved_shifts_and_the_labels_stay_put():
    jittered = make_phantom(**SMALL, slice_shift_jitter_nm=60.0, slice_shift_drift_nm=(8.0, -5.0), n_mitochondria=8)
    aligned = make_phantom(**SMALL, n_mitochondria=8)
    for name, labels in aligned.labels.items():
        assert np.array_equal(jittered.labels[name], labels), name
    assert not np.array_equal(jittered.image, aligned.image)
    shifts = jittered.tables["slice_shifts"]
    assert list(shifts.columns) == ["z", "dz_nm", "dy_nm", "dx_nm"] and len(shifts) == SMALL["shape"][0]
    true = shifts[["dy_nm", "dx_nm"]].to_numpy() / np.asarray(SMALL["spacing"][1:])
    cell = jittered.labels["cell"].mean(axis=(1, 2)) > 0.2  # slices with something to align on
    errors = []
    for z in np.flatnonzero(cell[1:] & cell[:-1]) + 1:
        found, _, _ = phase_cross_correlation(
            jittered.image[z - 1].astype(float), jittered.image[z].astype(float), upsample_factor=10,
            normalization=None,
        )
        # moving slice z by `found` lands it on slice z - 1
        errors.append(found + (true[z] - true[z - 1]))
    errors = np.abs(np.asarray(errors))
    assert len(errors) > 20
    assert errors.max() < 1.0
    assert np.median(errors) < 0.3


def test_threads_do_not_change_the_image_with_every_effect_on():
    effects = {"slice_shift_jitter_nm": 30.0, "slice_shift_drift_nm": (3.0, 2.0), "n_mitochondria": 8}
    one = make_phantom(**SMALL, **effects, threads=1)
    two = make_phantom(**SMALL, **effects, threads=2)
    assert np.array_equal(one.image, two.image)
    assert one.tables["slice_shifts"].equals(two.tables["slice_shifts"])
