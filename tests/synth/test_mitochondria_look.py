"""Mitochondria look like HeLa mitochondria in FIB-SEM and vary from one to the next:
a matrix a little darker than cytosol with its darkness drawn per mitochondrion, faint
irregular cristae with a light lumen, a dark double membrane; the looks never move the
labels, and the 'simple' preset keeps the previous, regular look.

Single straight tubes are drawn with `draw_mitochondrion` on a fine grid (no blur beyond
the voxel box, no noise); the label test uses small phantoms.
"""

import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.synth import PhantomParameters, make_phantom
from vemprof.synth import _stain as stain_of
from vemprof.synth._grid import Grid
from vemprof.synth._profiles import normal_blur_variance
from vemprof.synth._tubes import draw_mitochondrion, rasterise_tubes

SMALL = {"shape": (64, 128, 128), "spacing": (40.0, 40.0, 40.0)}
RADIUS = 250.0


def _tube(seed: int, **overrides):
    """Stain of one straight mitochondrion (radius 250 nm, 2 µm long, along X) over cytosol,
    and its shape."""
    params = PhantomParameters(spacing=(10.0, 10.0, 10.0), psf_sigma_nm=(1.0, 1.0, 1.0), **overrides)
    grid = Grid((64, 64, 256), params.spacing)
    stain = np.full(grid.shape, stain_of.CYTOSOL, dtype=np.float32)
    centreline = np.array([[323.0, 317.0, 300.0 + x] for x in np.arange(0, 2001, 125.0)])
    variance = normal_blur_variance(params.spacing, params.psf_sigma_nm)
    shape = rasterise_tubes((centreline,), (RADIUS,), grid, 40.0)
    rng = np.random.default_rng(seed)
    draw_mitochondrion(stain, shape, params, variance, rng, rng.spawn(1)[0])
    return stain[shape.box], shape


def test_matrix_darkness_is_drawn_per_mitochondrion_within_its_range():
    low, high = 0.36, 0.52
    matrices = []
    for seed in range(8):
        stain, shape = _tube(seed, mitochondria_matrix_stain_range=(low, high), crista_contrast_range=(0.0, 0.0))
        matrix = stain[shape.phi < -60]
        assert np.ptp(matrix) < 1e-5  # no cristae at zero contrast: a uniform matrix
        matrices.append(float(matrix.mean()))
    assert all(low - 1e-6 <= m <= high + 1e-6 for m in matrices)
    assert np.ptp(matrices) > 0.03  # they differ from one to the next
    assert min(matrices) > stain_of.CYTOSOL  # darker than cytosol in the EM display


def test_cristae_have_a_light_lumen_and_are_fainter_than_the_membranes():
    stain, shape = _tube(3, crista_contrast_range=(0.5, 0.5), mitochondria_matrix_stain_range=(0.45, 0.45))
    inside = stain[shape.phi < -40]
    assert inside.min() < 0.45 - 0.02  # lumens lighter than the matrix
    assert inside.max() < stain_of.MEMBRANE / 2  # cristae well below the limiting membranes
    rim = stain[(shape.phi > -10) & (shape.phi < -2)]
    assert rim.max() > 1.0  # the dark double membrane is still there


def test_crista_spacing_varies_and_stays_physical():
    # along the axis: the lumen minima of the profile through the middle, at full contrast
    gaps = []
    for seed in range(6):
        stain, shape = _tube(seed, crista_contrast_range=(1.0, 1.0), crista_width_range=(1.0, 1.0),
                             crista_tilt_deg=0.0, crista_sag_nm=0.0)
        profile = stain[stain.shape[0] // 2, stain.shape[1] // 2]
        inner = profile[(shape.phi[stain.shape[0] // 2, stain.shape[1] // 2] < -100)]
        dips = np.flatnonzero((inner[1:-1] < inner[:-2]) & (inner[1:-1] <= inner[2:]) & (inner[1:-1] < 0.3))
        gaps.extend(np.diff(dips) * 10.0)
    gaps = np.asarray(gaps)
    assert len(gaps) > 20
    assert 35 <= np.median(gaps) <= 110 and gaps.std() > 10


def test_looks_do_not_move_the_labels_and_simple_keeps_the_old_look():
    plain = dict(
        crista_spacing_variation=0.0, crista_spacing_spread=0.25, crista_tilt_deg=0.0, crista_sag_nm=0.0,
        crista_width_range=(1.0, 1.0), crista_contrast_range=(1.0, 1.0), mitochondria_matrix_stain_range=(0.62, 0.62),
    )
    assert all(getattr(PhantomParameters(preset="simple"), k) == v for k, v in plain.items())
    real = make_phantom(**SMALL, n_mitochondria=12)
    regular = make_phantom(**SMALL, n_mitochondria=12, **plain)
    assert np.array_equal(real.labels["mitochondria"], regular.labels["mitochondria"])
    assert not np.array_equal(real.image, regular.image)


@pytest.mark.parametrize(
    "overrides",
    [
        {"crista_contrast_range": (0.8, 0.2)},
        {"crista_contrast_range": (0.2, 1.5)},
        {"mitochondria_matrix_stain_range": (-0.1, 0.5)},
        {"crista_width_range": (0.0, 1.0)},
        {"crista_tilt_deg": 60},
    ],
)
def test_bad_look_parameters_raise_a_clear_error(overrides):
    name = next(iter(overrides))
    with pytest.raises(VemprofError, match=name):
        PhantomParameters(**overrides)
