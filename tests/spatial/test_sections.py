"""A nucleus split into two sections: at the bridge between two lobes, by a plane, and on
the phantom, where the automatic split agrees with the designed sections."""

import dask.array as da
import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.spatial import (
    nearest_sections,
    section_of_points,
    split_at_invagination,
    split_by_plane,
    split_each_nucleus,
    split_nucleus,
)
from vemprof.spatial._sections import NoInvagination
from vemprof.store import write_dataset
from vemprof.synth import make_phantom

SPACING = (40.0, 20.0, 20.0)


def lobes(*, bridge_voxels: int) -> np.ndarray:
    """Two balls side by side along X (radius 16 and 24 voxels in Y and X, the small
    one on the left), with a cleft between them closed by a square bridge."""
    z, y, x = np.ogrid[:40, :64, :128]
    small = ((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 36) ** 2 <= 16 ** 2
    large = ((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 80) ** 2 <= 24 ** 2
    nucleus = small | large
    nucleus[:, :, 54:58] = False
    half = bridge_voxels // 2
    nucleus[20 - half // 2:20 + half // 2 + 1, 32 - half:32 + half + 1, 50:62] = True
    return nucleus


def test_the_split_runs_through_the_bridge_between_two_lobes():
    nucleus = lobes(bridge_voxels=6)
    split = split_at_invagination(nucleus, spacing=SPACING)
    assert set(np.unique(split.sections)) == {0, 1, 2}
    assert np.array_equal(split.sections > 0, nucleus)
    # section 1 is the smaller lobe (left), 2 the larger (right); the cut lies in the bridge
    assert split.sections[20, 32, 36] == 1 and split.sections[20, 32, 80] == 2
    assert (split.sections[:, :, :50][nucleus[:, :, :50]] == 1).all()
    assert (split.sections[:, :, 62:][nucleus[:, :, 62:]] == 2).all()
    assert split.neck_ratio < 0.4


def test_lobes_apart_are_the_sections_and_crumbs_join_the_nearer():
    nucleus = lobes(bridge_voxels=0)
    nucleus[:, :, 50:62] = False
    nucleus[20, 32, 52] = True  # a crumb near the small lobe
    split = split_at_invagination(nucleus, spacing=SPACING)
    assert split.neck_ratio == 0 and split.sections[20, 32, 52] == 1
    assert split.sections[20, 32, 80] == 2


def test_lobes_that_meet_only_at_an_edge_are_split_there():
    """Touching diagonally, one piece (26-connected) but with no face between them: the
    two lobes are the sections, with a neck of 0 (a 10⁹-voxel field's nucleus stopped the
    profile here)."""
    nucleus = lobes(bridge_voxels=0)
    nucleus[:, :, 50:62] = False
    nucleus[20, 32, 50:56] = True  # a rod from the small lobe
    nucleus[21, 33, 56:62] = True  # and one to the large, meeting it at an edge only
    split = split_at_invagination(nucleus, spacing=SPACING)
    assert split.neck_ratio == 0
    assert split.sections[20, 32, 36] == 1 and split.sections[20, 32, 80] == 2


def test_a_round_nucleus_has_no_invagination_to_split_at():
    z, y, x = np.ogrid[:40, :64, :64]
    ball = ((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 32) ** 2 <= 20 ** 2
    with pytest.raises(VemprofError, match="no invagination to split at: it is one round lobe.*--plane"):
        split_at_invagination(ball, spacing=SPACING)


def test_a_bump_is_not_a_section(tmp_path):
    """A ball with a small knob on a narrow stalk (its clearest neck, but 1.7 % of the volume):
    no invagination, as for a round nucleus; in a store it is one section, and the warning
    says why."""
    z, y, x = np.ogrid[:40, :64, :96]
    nucleus = ((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 40) ** 2 <= 20 ** 2
    nucleus |= ((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 68) ** 2 <= 5 ** 2
    nucleus[19:22, 31:34, 58:66] = True
    with pytest.raises(NoInvagination, match=r"cuts off 1\.7% of it, a bump, not a lobe.*--plane"):
        split_at_invagination(nucleus, spacing=SPACING)
    store = write_dataset(tmp_path / "knob.zarr", raw=np.zeros(nucleus.shape, np.uint8), spacing=SPACING,
                          labels={"nucleus": nucleus.astype(np.uint8)}, tables={}, step="test", parameters={})
    with pytest.warns(UserWarning, match=r"it is one section, 1 \(.*cuts off 1\.7% of it, a bump"):
        split_nucleus(store, nucleus="nucleus", out="sections")
    assert set(np.unique(np.asarray(store.labels("sections").data))) == {0, 1}


def test_a_wide_neck_splits_with_a_warning():
    z, y, x = np.ogrid[:40, :64, :96]
    # two balls of radius 20 voxels whose centres are 16 apart: a waist of 18.3
    nucleus = (((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 40) ** 2 <= 400) | (
        ((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 56) ** 2 <= 400)
    with pytest.warns(UserWarning, match="no clear invagination"):
        split = split_at_invagination(nucleus, spacing=SPACING)
    assert split.neck_ratio >= 0.8


def test_an_empty_nucleus_or_three_nuclei_are_refused():
    with pytest.raises(VemprofError, match="empty"):
        split_at_invagination(np.zeros((8, 8, 8), bool), spacing=SPACING)
    three = np.zeros((10, 10, 40), bool)
    three[2:8, 2:8, 2:10] = three[2:8, 2:8, 15:23] = three[2:8, 2:8, 28:36] = True
    with pytest.raises(VemprofError, match="3 separate large pieces"):
        split_at_invagination(three, spacing=SPACING)


def test_each_of_several_nuclei_is_split_on_its_own():
    two_lobed = lobes(bridge_voxels=6)
    z, y, x = np.ogrid[:40, :64, :64]
    round_one = ((z - 20) * 2) ** 2 + (y - 32) ** 2 + (x - 32) ** 2 <= 20 ** 2
    cells = np.concatenate([two_lobed, round_one, two_lobed], axis=2)  # three nuclei along X
    cells[20, 32, 0] = True  # a crumb: not a nucleus
    # nuclei are numbered in the order their first voxels come (C order): the round one
    # begins two planes deeper than the two-lobed ones, so it is the third
    with pytest.warns(UserWarning, match="nucleus 3 has no invagination to split at: it is one section, 5"):
        sections, necks = split_each_nucleus(cells, spacing=SPACING)
    assert np.array_equal(sections > 0, cells)
    # nucleus k: 2k - 1 the smaller lobe, 2k the larger; the round one is one section
    assert sections[20, 32, 36] == 1 and sections[20, 32, 80] == 2
    assert sections[20, 32, 192 + 36] == 3 and sections[20, 32, 192 + 80] == 4
    assert set(np.unique(sections[:, :, 128:192])) == {0, 5}
    assert sections[20, 32, 0] == 1  # the crumb joined the nearest section
    assert necks[0] < 0.4 and necks[1] == pytest.approx(necks[0]) and np.isnan(necks[2])


def test_a_plane_splits_numpy_and_dask_alike():
    nucleus = lobes(bridge_voxels=6)
    # the plane x = 1.1 µm (voxel 55), normal along +X: left is section 1
    whole = split_by_plane(nucleus, spacing=SPACING, point_um=(0, 0, 1.1), normal=(0, 0, 1))
    assert (whole[:, :, :56][nucleus[:, :, :56]] == 1).all() and (whole[:, :, 56:][nucleus[:, :, 56:]] == 2).all()
    blocks = split_by_plane(da.from_array(nucleus, chunks=(16, 32, 40)), spacing=SPACING, point_um=(0, 0, 1.1),
                            normal=(0, 0, 1))
    np.testing.assert_array_equal(blocks.compute(), whole)
    with pytest.raises(VemprofError, match="normal must be 3 finite numbers"):
        split_by_plane(nucleus, spacing=SPACING, point_um=(0, 0, 1), normal=(0, 0, 0))


def test_points_outside_the_nucleus_take_the_nearest_section():
    sections = np.zeros((10, 10, 10), np.uint8)
    sections[4:6, 4:6, 1:3], sections[4:6, 4:6, 7:9] = 1, 2
    spacing = (100.0, 100.0, 100.0)
    assert nearest_sections(sections, spacing=spacing)[0, 0, 0] == 1
    points_um = np.array([[0.5, 0.5, 0.0], [0.5, 0.5, 0.9], [0.5, 0.5, 5.0]])  # the last beyond the volume
    np.testing.assert_array_equal(section_of_points(points_um, sections, spacing=spacing), [1, 2, 2])


@pytest.mark.parametrize("seed", [0, 5])
def test_the_phantoms_nucleus_splits_as_designed(seed):
    phantom = make_phantom(shape=(96, 192, 192), spacing=(60, 50, 50), seed=seed)
    split = split_at_invagination(phantom.labels["nucleus"], spacing=phantom.spacing)
    designed = phantom.labels["nucleus_sections"]
    for section in (1, 2):
        found, truth = split.sections == section, designed == section
        assert np.count_nonzero(found & truth) / np.count_nonzero(found | truth) >= 0.95, section
