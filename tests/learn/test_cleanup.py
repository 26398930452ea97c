"""Cleaning predicted class masks: mitochondria become separate instances without specks,
the nucleus one filled component; defaults can be overridden key by key, and a key that
means nothing is refused."""

import dask.array as da
import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.learn._cleanup import CLEANUP_DEFAULTS, clean_mask, cleanup_parameters

SPACING = (20.0, 10.0, 10.0)


def ball(shape, centre_nm, radius_nm):
    """Voxels whose centre lies within ``radius_nm`` of ``centre_nm`` (Z, Y, X in nm)."""
    z, y, x = np.indices(shape)
    return sum((axis * s - c) ** 2 for axis, s, c in zip((z, y, x), SPACING, centre_nm)) <= radius_nm**2


def mitochondria():
    """Two touching balls 500 nm across (centres 450 nm apart) and a speck 140 nm across
    (0.0014 µm³): thick enough to survive the opening, too small to be a mitochondrion."""
    shape = (32, 64, 128)
    touching = ball(shape, (320, 320, 300), 250) | ball(shape, (320, 320, 750), 250)
    speck = ball(shape, (320, 320, 1150), 70)
    return touching | speck, speck


def test_touching_mitochondria_become_two_instances_and_the_speck_goes():
    mask, speck = mitochondria()

    instances = clean_mask(mask, name="mitochondria", spacing=SPACING)

    assert instances.dtype == np.uint32
    assert np.unique(instances).tolist() == [0, 1, 2]
    assert not instances[speck].any()
    left, right = instances[16, 32, 30], instances[16, 32, 75]  # the two centres
    assert {int(left), int(right)} == {1, 2}


def test_an_override_keeps_the_speck():
    mask, speck = mitochondria()

    instances = clean_mask(mask, name="mitochondria", spacing=SPACING, parameters={"min_volume_um3": 0})

    assert np.unique(instances).tolist() == [0, 1, 2, 3]
    assert np.count_nonzero(instances[speck]) > 0.5 * np.count_nonzero(speck)  # the opening rounds it a little


def test_the_nucleus_is_one_component_with_its_hole_filled():
    shape = (40, 96, 128)
    nucleus = ball(shape, (400, 480, 480), 400)
    cavity = ball(shape, (400, 480, 480), 120)
    blob = ball(shape, (400, 480, 1100), 80)

    cleaned = clean_mask(nucleus & ~cavity | blob, name="nucleus", spacing=SPACING)

    assert cleaned.dtype == np.uint8 and set(np.unique(cleaned)) == {0, 1}
    assert cleaned[nucleus].all()
    assert not cleaned[blob].any()


def test_the_nuclei_of_many_cells_are_all_kept_with_their_holes_filled():
    shape = (40, 96, 256)
    first, second = ball(shape, (400, 480, 480), 400), ball(shape, (400, 480, 1700), 350)
    cavity = ball(shape, (400, 480, 480), 120)
    speck = ball(shape, (400, 480, 1100), 80)  # 0.002 µm³: under the 1 µm³ of a nucleus
    mask = first & ~cavity | second | speck
    settings = {"kind": "nuclei", "min_volume_um3": 0.1}  # the balls here are 0.27 and 0.18 µm³

    cleaned = clean_mask(mask, name="nucleus", spacing=SPACING, parameters=settings)

    assert cleaned.dtype == np.uint8
    assert cleaned[first].all() and cleaned[second].all() and not cleaned[speck].any()
    assert not clean_mask(mask, name="nucleus", spacing=SPACING)[second].any()  # the default keeps one
    lazy = clean_mask(da.from_array(mask, chunks=(20, 48, 64)), name="nucleus", spacing=SPACING,
                      parameters=settings)
    np.testing.assert_array_equal(lazy.compute(), cleaned)


def test_a_dask_mask_gives_the_same_nucleus_lazily():
    shape = (24, 48, 48)
    mask = ball(shape, (240, 240, 240), 200) & ~ball(shape, (240, 240, 240), 60)

    lazy = clean_mask(da.from_array(mask, chunks=(8, 24, 24)), name="nucleus", spacing=SPACING)

    assert isinstance(lazy, da.Array)
    np.testing.assert_array_equal(lazy.compute(), clean_mask(mask, name="nucleus", spacing=SPACING))


def test_any_other_class_keeps_its_mask_as_0_and_1():
    mask = np.zeros((4, 8, 8), np.uint16)
    mask[1:3, 2:5, 2:5] = 7

    cleaned = clean_mask(mask, name="golgi", spacing=SPACING)

    np.testing.assert_array_equal(cleaned, (mask > 0).astype(np.uint8))


def test_parameters_start_from_the_class_defaults_and_can_change_kind():
    assert cleanup_parameters("nucleus") == CLEANUP_DEFAULTS["nucleus"]
    assert cleanup_parameters("nucleus", {"closing_nm": 0})["closing_nm"] == 0.0
    assert cleanup_parameters("lipid_droplets", {"kind": "instances"}) == CLEANUP_DEFAULTS["mitochondria"]


@pytest.mark.parametrize("parameters, message", [
    ({"radius_nm": 30}, "unknown clean-up parameter radius_nm .*valid: kind, opening_nm, min_volume_um3"),
    ({"kind": "blobs"}, "unknown clean-up kind 'blobs'.*largest, instances, nuclei, mask"),
    ({"opening_nm": -5}, "opening_nm .* must be a number >= 0"),
    ({"split_h_nm": 0}, "split_h_nm .* must be a number > 0"),
])
def test_bad_parameters_are_refused_with_the_valid_ones(parameters, message):
    mask, _ = mitochondria()
    with pytest.raises(VemprofError, match=message):
        clean_mask(mask, name="mitochondria", spacing=SPACING, parameters=parameters)


def test_a_probability_map_is_refused_until_thresholded():
    with pytest.raises(VemprofError, match="must be boolean or integer, got dtype float64; threshold a probability map first"):
        clean_mask(np.full((2, 4, 4), 0.7), name="mitochondria", spacing=SPACING)


def test_seams_found_between_touching_objects_separate_them_and_nothing_else():
    """Two tubes 1 µm long side by side, touching along their length (no neck for a
    distance map), and the seam between them marked: two instances; one long tube of
    varying thickness with no seam stays one."""
    shape = (16, 48, 128)
    z, y, x = np.indices(shape)
    pair = (np.abs(z * 20 - 160) <= 100) & (np.abs(y * 10 - 240) <= 200) & (x * 10 >= 100) & (x * 10 <= 1100)
    seam = pair & (np.abs(y * 10 - 240) <= 10)
    instances = clean_mask(pair, name="mitochondria", spacing=SPACING, cores=pair & ~seam)
    assert np.unique(instances).tolist() == [0, 1, 2]
    assert all(np.count_nonzero(instances == i) > 0.4 * np.count_nonzero(pair) for i in (1, 2))
    assert (instances[~pair] == 0).all()

    tube = ball(shape, (160, 240, 300), 120) | ball(shape, (160, 240, 900), 120)
    tube |= (np.abs(z * 20 - 160) <= 60) & (np.abs(y * 10 - 240) <= 60) & (x * 10 >= 300) & (x * 10 <= 900)
    assert np.unique(clean_mask(tube, name="mitochondria", spacing=SPACING, cores=tube)).tolist() == [0, 1]
    assert clean_mask(tube, name="mitochondria", spacing=SPACING).max() == 2  # the distance map splits it
