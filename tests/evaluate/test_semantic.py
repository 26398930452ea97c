"""Voxel scores on masks whose answer is counted by hand."""

import contextlib
import json
import math

import dask.array as da
import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.evaluate import semantic_scores, semantic_scores_per_class


def two_bars() -> tuple[np.ndarray, np.ndarray]:
    """Truth: rows 0–1 of a 4×4 plane (8 voxels); prediction: rows 1–2 (8 voxels, 4 shared)."""
    truth = np.zeros((1, 4, 4), bool)
    truth[0, :2] = True
    prediction = np.zeros((1, 4, 4), bool)
    prediction[0, 1:3] = True
    return truth, prediction


def test_overlapping_bars_score_as_counted_by_hand():
    scores = semantic_scores(*two_bars())

    assert (scores["true_positives"], scores["false_positives"], scores["false_negatives"]) == (4, 4, 4)
    assert scores["iou"] == pytest.approx(4 / 12)
    assert scores["dice"] == pytest.approx(8 / 16)
    assert scores["precision"] == scores["recall"] == 0.5
    assert (scores["truth_voxels"], scores["predicted_voxels"]) == (8, 8)
    json.dumps(scores)  # plain Python numbers, ready for JSON


def test_any_id_above_zero_is_foreground():
    truth, prediction = two_bars()
    labels = truth.astype(np.int16) * 7
    labels[0, 0, 0] = 3
    labels[0, 3, 3] = -1  # negative ids are background

    assert semantic_scores(labels, prediction.astype(np.uint32) * 9) == semantic_scores(truth, prediction)


def test_a_box_shifted_by_one_voxel_keeps_three_quarters():
    truth = np.zeros((6, 8, 8), np.uint8)
    truth[1:5, 2:6, 2:6] = 1  # 4×4×4 = 64 voxels
    shifted = np.roll(truth, 1, axis=2)  # 48 shared, union 80

    scores = semantic_scores(truth, shifted)

    assert scores["iou"] == pytest.approx(48 / 80)
    assert scores["dice"] == pytest.approx(96 / 128)
    assert semantic_scores(truth, truth)["iou"] == 1.0


def test_dask_blocks_give_the_whole_array_answer():
    rng = np.random.default_rng(0)
    truth = rng.random((16, 48, 48)) > 0.6
    prediction = rng.integers(0, 4, (16, 48, 48), dtype=np.uint16)

    whole = semantic_scores(truth, prediction)
    blocked = semantic_scores(da.from_array(truth, chunks=(5, 16, 13)), da.from_array(prediction, chunks=(7, 9, 48)))

    assert blocked == whole
    assert semantic_scores(da.from_array(truth, chunks=(4, 8, 8)), prediction) == whole


@pytest.mark.parametrize(
    "truth_filled, predicted_filled, expected",
    [
        # (iou, dice, precision, recall): undefined where the denominator is 0, as in COCO's cocoeval
        (False, False, (math.nan, math.nan, math.nan, math.nan)),
        (False, True, (0.0, 0.0, 0.0, math.nan)),
        (True, False, (0.0, 0.0, math.nan, 0.0)),
    ],
)
def test_empty_masks_give_undefined_scores_not_perfect_ones(truth_filled, predicted_filled, expected):
    truth = np.full((2, 3, 3), truth_filled)
    prediction = np.full((2, 3, 3), predicted_filled)

    scores = semantic_scores(truth, prediction)

    got = (scores["iou"], scores["dice"], scores["precision"], scores["recall"])
    np.testing.assert_equal(got, expected)


def test_per_class_scores_score_each_class_as_its_own_mask():
    truth = np.array([[[1, 1, 1, 2, 2, 0]]], np.uint8)
    prediction = np.array([[[1, 1, 2, 2, 0, 3]]], np.uint8)

    table = semantic_scores_per_class(da.from_array(truth, chunks=(1, 1, 2)), prediction)

    assert table["class"].tolist() == [1, 2, 3]
    assert table["iou"].tolist()[:2] == [pytest.approx(2 / 3), pytest.approx(1 / 3)]
    assert table["true_positives"].tolist() == [2, 1, 0]
    assert math.isnan(table.loc[2, "recall"])  # class 3 is absent from the truth
    for class_id in (1, 2):
        row = table[table["class"] == class_id].iloc[0]
        expected = semantic_scores(truth == class_id, prediction == class_id)
        assert row["iou"] == pytest.approx(expected["iou"]) and row["dice"] == pytest.approx(expected["dice"])


@pytest.mark.parametrize(
    "truth, prediction, fragment",
    [
        (np.zeros((2, 4, 4), bool), np.zeros((2, 4, 5), bool), "same grid"),
        (np.zeros((2, 4, 4), bool), np.zeros((2, 4, 4), np.float32), "threshold a probability map first"),
        (np.zeros((0, 4, 4), bool), np.zeros((0, 4, 4), bool), "is empty"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(truth, prediction, fragment):
    with pytest.raises(VemprofError, match=fragment):
        semantic_scores(truth, prediction)


def test_progress_advances_once_per_block():
    reported = []

    @contextlib.contextmanager
    def record(description, total):
        reported.append([description, total, 0])
        yield lambda finished: reported[-1].__setitem__(2, reported[-1][2] + finished)

    truth, prediction = two_bars()
    semantic_scores(da.from_array(np.tile(truth, (4, 1, 1)), chunks=(1, 2, 4)), np.tile(prediction, (4, 1, 1)),
                    progress=record)

    assert reported == [["scoring voxels", 8, 8]]  # 4 planes × 2 blocks of rows
