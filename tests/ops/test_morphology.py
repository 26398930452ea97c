import dask.array as da
import numpy as np
import pytest
import scipy.ndimage as ndi

from vemprof import ops
from vemprof.errors import VemprofError
from vemprof.ops import _distance, _morphology

from .conftest import CHUNKS, as_dask, ball_mask

MORPHOLOGY = {
    "dilate_small": lambda m, s: ops.dilate(m, radius_nm=8, spacing=s),
    "dilate_large": lambda m, s: ops.dilate(m, radius_nm=35, spacing=s),
    "erode_small": lambda m, s: ops.erode(m, radius_nm=8, spacing=s),
    "erode_large": lambda m, s: ops.erode(m, radius_nm=30, spacing=s),
    "opening": lambda m, s: ops.opening(m, radius_nm=20, spacing=s),
    "closing": lambda m, s: ops.closing(m, radius_nm=20, spacing=s),
    "shell_inside": lambda m, s: ops.shell(m, inner_nm=5, outer_nm=25, spacing=s),
    "shell_outside": lambda m, s: ops.shell(m, inner_nm=10, outer_nm=40, side="outside", spacing=s),
}


@pytest.mark.parametrize("name", MORPHOLOGY)
@pytest.mark.parametrize("chunks", CHUNKS)
def test_blockwise_equals_whole_array(name, chunks, blobs, spacing):
    whole = MORPHOLOGY[name](blobs, spacing)
    lazy = MORPHOLOGY[name](as_dask(blobs, chunks), spacing)
    assert isinstance(lazy, da.Array) and lazy.dtype == bool
    np.testing.assert_array_equal(lazy.compute(), whole)


def test_ball_holds_voxels_within_the_physical_radius():
    footprint = ops.ball(10, spacing=(10, 5, 5))
    assert footprint.shape == (3, 5, 5)
    assert footprint[0, 2, 2] and footprint[1, 2, 0] and not footprint[0, 2, 0]
    assert ops.ball(2, spacing=(8, 5, 5)).sum() == 1


@pytest.mark.parametrize("spacing", [(5.0, 5.0, 5.0), (8.0, 5.0, 5.0), (7.3, 4.1, 3.3)])
@pytest.mark.parametrize("radius_nm", [4, 5, 8, 10, 12.5, 16, 25, 40])
def test_scipy_and_distance_transform_routes_agree_exactly(radius_nm, spacing, blobs):
    footprint = ops.ball(radius_nm, spacing=spacing)
    limit = _morphology._squared_limit(radius_nm)
    dilated = _distance.distance_squared(~blobs, spacing) <= limit
    eroded = _distance.distance_squared(blobs, spacing) > limit
    np.testing.assert_array_equal(dilated, ndi.binary_dilation(blobs, structure=footprint))
    np.testing.assert_array_equal(eroded, ndi.binary_erosion(blobs, structure=footprint, border_value=1))


@pytest.mark.parametrize("spacing", [(5.0, 5.0, 5.0), (8.0, 5.0, 5.0)])
def test_ball_dilated_by_s_is_the_ball_of_radius_r_plus_s(spacing):
    shape = (31, 41, 41)
    centre = (15, 20, 20)
    point = np.zeros(shape, bool)
    point[centre] = True
    for radius in (10, 40, 55):
        # a point dilated by r is the ball of radius r; a ball of r dilated by s is r + s
        np.testing.assert_array_equal(ops.dilate(point, radius_nm=radius, spacing=spacing), ball_mask(shape, centre, radius, spacing))
    # digital balls: r + s holds up to the grid, within two half voxel diagonals (2h)
    grown = ops.dilate(ball_mask(shape, centre, 40, spacing), radius_nm=15, spacing=spacing)
    two_h = float(np.sqrt(np.sum(np.square(spacing))))
    assert not (grown & ~ball_mask(shape, centre, 55, spacing)).any()
    assert grown[ball_mask(shape, centre, 55 - two_h, spacing)].all()


def test_erosion_undoes_dilation_of_a_ball_and_respects_the_volume_edge(spacing):
    shape = (31, 41, 41)
    ball = ball_mask(shape, (15, 20, 20), 50, spacing)
    closed = ops.erode(ops.dilate(ball, radius_nm=20, spacing=spacing), radius_nm=20, spacing=spacing)
    assert not (ball & ~closed).any()  # closing is extensive
    opened = ops.dilate(ops.erode(ball, radius_nm=20, spacing=spacing), radius_nm=20, spacing=spacing)
    assert not (opened & ~ball).any()  # opening is anti-extensive
    full = np.ones((6, 6, 6), bool)
    assert ops.erode(full, radius_nm=1000, spacing=spacing).all()  # outside counts as mask
    assert not ops.dilate(np.zeros((6, 6, 6), bool), radius_nm=1000, spacing=spacing).any()


def test_opening_removes_small_parts_closing_bridges_gaps():
    spacing = (5.0, 5.0, 5.0)
    shape = (30, 30, 60)
    big = ball_mask(shape, (15, 15, 15), 50, spacing)
    small = ball_mask(shape, (15, 15, 48), 10, spacing)
    opened = ops.opening(big | small, radius_nm=15, spacing=spacing)
    assert not opened[small].any() and opened[15, 15, 15]
    left = ball_mask(shape, (15, 15, 18), 40, spacing)
    right = ball_mask(shape, (15, 15, 36), 40, spacing)
    gap = (15, 15, 27)
    assert not (left | right)[gap]
    assert ops.closing(left | right, radius_nm=20, spacing=spacing)[gap]


def test_shell_of_a_cube_and_of_a_sphere():
    spacing = (10.0, 10.0, 10.0)
    cube = np.zeros((9, 9, 9), bool)
    cube[2:7, 2:7, 2:7] = True
    assert ops.shell(cube, inner_nm=0, outer_nm=10, spacing=spacing).sum() == 5**3 - 3**3
    outside = ops.shell(cube, inner_nm=0, outer_nm=10, side="outside", spacing=spacing)
    assert outside.sum() == 6 * 5 * 5  # only face neighbours lie within 10 nm; edges are 14 nm away
    spacing = (5.0, 5.0, 5.0)
    shape = (41, 41, 41)
    sphere = ball_mask(shape, (20, 20, 20), 80, spacing)
    band = ops.shell(sphere, inner_nm=20, outer_nm=40, spacing=spacing)
    depth = 80 - np.sqrt(sum(((g - 20) * 5.0) ** 2 for g in np.ogrid[:41, :41, :41]))
    assert depth[band].min() >= 20 - 5 and depth[band].max() <= 40 + 5


def test_shell_ignores_the_volume_edge(spacing):
    full = np.ones((8, 8, 8), bool)
    assert not ops.shell(full, inner_nm=0, outer_nm=20, spacing=spacing).any()


def test_mask_image_and_invert(image, blobs):
    masked = ops.mask_image(image, blobs, fill_value=7)
    assert (masked[~blobs] == 7).all() and (masked[blobs] == image[blobs]).all()
    lazy = ops.mask_image(as_dask(image, 7), as_dask(blobs, 5), fill_value=7)
    np.testing.assert_array_equal(lazy.compute(), masked)
    np.testing.assert_array_equal(ops.invert(image), 255 - image)
    np.testing.assert_array_equal(ops.invert(blobs), ~blobs)
    np.testing.assert_array_equal(ops.invert(np.array([[[1.5, -2.0]]])), [[[-1.5, 2.0]]])
    np.testing.assert_array_equal(ops.invert(as_dask(image, 9)).compute(), 255 - image)


def test_single_voxel_and_empty_masks(spacing):
    voxel = np.ones((1, 1, 1), bool)
    assert ops.dilate(voxel, radius_nm=100, spacing=spacing).all()
    assert ops.erode(voxel, radius_nm=100, spacing=spacing).all()
    empty = np.zeros((5, 6, 7), bool)
    for function in (ops.dilate, ops.erode, ops.opening, ops.closing):
        assert not function(empty, radius_nm=20, spacing=spacing).any()


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda m, i: ops.dilate(m.astype(np.float32), radius_nm=5, spacing=(8, 5, 5)), "threshold a probability map"),
        (lambda m, i: ops.dilate(m, radius_nm=-5, spacing=(8, 5, 5)), "radius_nm must be a finite length in nm >= 0"),
        (lambda m, i: ops.erode(m, radius_nm=5, spacing=None), "the voxel size is missing"),
        (lambda m, i: ops.shell(m, inner_nm=30, outer_nm=10, spacing=(8, 5, 5)), "shell needs inner_nm < outer_nm"),
        (
            lambda m, i: ops.shell(m, inner_nm=0, outer_nm=10, side="both", spacing=(8, 5, 5)),
            "side must be one of 'inside', 'outside'",
        ),
        (lambda m, i: ops.mask_image(i, m[:, :5]), r"the mask has shape \(24, 5, 40\) but the image"),
    ],
)
def test_bad_input_is_a_one_line_error(call, message, blobs, image):
    with pytest.raises(VemprofError, match=message) as info:
        call(blobs, image)
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("spacing", [(5.0, 5.0, 5.0), (8.0, 5.0, 5.0), (7.3, 4.1, 3.3)])
@pytest.mark.parametrize("radius_nm", [4, 5, 8, 12.5, 25, 40])
def test_row_route_equals_the_structure_route(radius_nm, spacing, blobs):
    rows = _morphology._ball_rows(ops.ball(radius_nm, spacing=spacing))
    footprint = ops.ball(radius_nm, spacing=spacing)
    np.testing.assert_array_equal(_morphology._dilate_by_rows(blobs, rows), ndi.binary_dilation(blobs, structure=footprint))
    np.testing.assert_array_equal(~_morphology._dilate_by_rows(~blobs, rows),
                                  ndi.binary_erosion(blobs, structure=footprint, border_value=1))


@pytest.mark.parametrize("shape", [(5, 40, 40), (40, 3, 40)])
def test_a_ball_larger_than_a_thin_volume_dilates_and_erodes_as_scipy_does(shape):
    """A 40 nm ball at 5 nm voxels reaches 8 voxels; the volume is 5 (or 3) voxels thin."""
    mask = np.zeros(shape, bool)
    mask[1:4, 1:3, 10:30] = True
    footprint = ops.ball(40, spacing=(5, 5, 5))
    np.testing.assert_array_equal(ops.dilate(mask, radius_nm=40, spacing=(5, 5, 5)),
                                  ndi.binary_dilation(mask, structure=footprint))
    np.testing.assert_array_equal(ops.opening(mask, radius_nm=40, spacing=(5, 5, 5)),
                                  ndi.binary_opening(mask, structure=footprint))
