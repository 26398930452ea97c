import dask.array as da
import numpy as np
import pandas as pd
import pytest

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import CHUNKS, as_dask, ball_mask, make_blobs

SPACING = (8.0, 5.0, 5.0)


@pytest.fixture
def labels(blobs):
    return ops.connected_components(blobs, connectivity=6)


@pytest.fixture
def reference():
    return make_blobs(count=3, seed=5)


@pytest.mark.parametrize("chunks", CHUNKS)
def test_feature_table_blockwise_equals_whole_array(chunks, labels, image, reference):
    whole = ops.object_features(labels, spacing=SPACING, image=image, mask=reference, max_distance_nm=60)
    assert set(ops.FEATURES) <= set(whole.columns)
    lazy = ops.object_features(
        as_dask(labels, chunks), spacing=SPACING, image=as_dask(image, 5), mask=reference, max_distance_nm=60
    )
    pd.testing.assert_frame_equal(lazy, whole)


def test_features_of_a_known_box():
    labels = np.zeros((6, 6, 6), np.uint32)
    labels[1:3, 1:4, 1:5] = 9  # 2 x 3 x 4 voxels
    table = ops.object_features(labels, spacing=(2.0, 3.0, 4.0), image=np.full((6, 6, 6), 5, np.uint8))
    row = table.iloc[0]
    assert row["label"] == 9 and row["voxels"] == 24
    assert row["volume_nm3"] == pytest.approx(24 * 24)
    # box of 4 x 9 x 16 nm: surface 2 (4*9 + 4*16 + 9*16)
    assert row["surface_nm2"] == pytest.approx(2 * (4 * 9 + 4 * 16 + 9 * 16))
    assert row["mean_intensity"] == 5 and row["touches_border"] == 0


def test_distances_to_mask_and_surface():
    shape = (5, 5, 30)
    mask = np.zeros(shape, bool)
    mask[:, :, :10] = True
    labels = np.zeros(shape, np.uint32)
    labels[2, 2, 14] = 1  # 5 voxels beyond the mask's last column -> 5 * 5 nm
    labels[2, 2, 5] = 2  # inside, 5 voxels from the first outside column
    labels[2, 2, 28] = 3  # too far
    table = ops.object_features(labels, spacing=(5, 5, 5), mask=mask, max_distance_nm=60).set_index("label")
    assert table.loc[1, "distance_to_mask_nm"] == 25
    assert table.loc[2, "distance_to_mask_nm"] == 0 and table.loc[2, "distance_to_surface_nm"] == 25
    assert np.isinf(table.loc[3, "distance_to_mask_nm"])
    kept = ops.keep_nearest(labels, mask=mask, spacing=(5, 5, 5), count=None, max_distance_nm=60)
    assert set(np.unique(kept)) == {0, 1, 2}
    nearest = ops.keep_nearest(labels, mask=mask, spacing=(5, 5, 5), count=1, max_distance_nm=60)
    assert set(np.unique(nearest)) == {0, 1, 2}  # tied at 25 nm: both kept


# (5, 6, 6): thinner than the 40 nm distance halo (8 voxels in Y and X)
@pytest.mark.parametrize("chunks", [(7, 9, 11), (5, 6, 6)])
def test_filters_blockwise_equal_whole_array(chunks, labels, image, reference):
    calls = [
        lambda x: ops.filter_objects(x, feature="volume_nm3", min_value=1e5, spacing=SPACING),
        lambda x: ops.filter_objects(x, feature="sv_ratio_per_nm", max_value=0.2, spacing=SPACING),
        lambda x: ops.filter_objects(x, feature="mean_intensity", min_value=120, spacing=SPACING, image=image),
        lambda x: ops.filter_objects(x, feature="touches_border", max_value=0, spacing=SPACING),
        lambda x: ops.filter_objects(
            x, feature="distance_to_mask_nm", max_value=30, spacing=SPACING, mask=reference, max_distance_nm=40
        ),
        lambda x: ops.keep_largest(x, count=2),
        lambda x: ops.keep_largest(x > 0, count=2),
        lambda x: ops.keep_nearest(x, mask=reference, spacing=SPACING, count=2, max_distance_nm=40),
        lambda x: ops.relabel_sequential(x * 7),
    ]
    for call in calls:
        whole = call(labels)
        lazy = call(as_dask(labels, chunks))
        assert isinstance(lazy, da.Array)
        np.testing.assert_array_equal(lazy.compute(), whole)


def test_filter_keeps_ids_and_removes_out_of_range(labels):
    table = ops.object_features(labels, spacing=SPACING)
    big = set(table.loc[table["volume_nm3"] >= 1e5, "label"])
    kept = ops.filter_objects(labels, feature="volume_nm3", min_value=1e5, spacing=SPACING)
    assert set(np.unique(kept)) - {0} == big
    assert kept.dtype == labels.dtype


def test_keep_largest_on_a_mask_keeps_the_cell():
    shape = (20, 20, 40)
    cell = ball_mask(shape, (10, 10, 12), 40, (5, 5, 5))
    debris = ball_mask(shape, (10, 10, 34), 15, (5, 5, 5))
    np.testing.assert_array_equal(ops.keep_largest(cell | debris), cell)
    assert not ops.keep_largest(np.zeros(shape, bool)).any()
    assert not ops.keep_largest(cell, count=0).any()


def test_relabel_sequential_preserves_order():
    labels = np.array([[[0, 50, 3, 3, 1000, 50]]], np.uint32)
    np.testing.assert_array_equal(ops.relabel_sequential(labels), [[[0, 2, 1, 1, 3, 2]]])


@pytest.mark.parametrize(
    "call, message",
    [
        (lambda l: ops.filter_objects(l, feature="roundness", spacing=SPACING), "unknown feature 'roundness'; choose"),
        (lambda l: ops.filter_objects(l, feature="mean_intensity", spacing=SPACING), "needs image="),
        (lambda l: ops.filter_objects(l, feature="distance_to_mask_nm", spacing=SPACING), "needs mask="),
        (
            lambda l: ops.filter_objects(l.astype(np.float32), feature="voxels", spacing=SPACING),
            "the labels must be an integer label image",
        ),
        (
            lambda l: ops.object_features(l, spacing=SPACING, image=np.zeros((2, 2, 2))),
            r"the image has shape \(2, 2, 2\) but the labels",
        ),
        (lambda l: ops.keep_largest(l, count=-1), "count must be a whole number >= 0"),
    ],
)
def test_bad_object_requests(call, message, labels):
    with pytest.raises(VemprofError, match=message) as info:
        call(labels)
    assert "\n" not in str(info.value)
