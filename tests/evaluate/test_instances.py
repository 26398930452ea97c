"""Instance scores on objects laid out along a line, where every IoU is counted by hand."""

import json
import math

import dask.array as da
import numpy as np
import pandas as pd
import pytest

from vemprof.errors import VemprofError
from vemprof.evaluate import average_precision, instance_scores


def line(*objects: tuple[int, int, int], length: int = 20) -> np.ndarray:
    """A (1, 1, length) label image with ``(id, start, stop)`` objects."""
    labels = np.zeros((1, 1, length), np.uint32)
    for object_id, start, stop in objects:
        labels[0, 0, start:stop] = object_id
    return labels


def test_one_found_one_missed_one_spurious():
    truth = line((1, 0, 4), (2, 6, 10))
    predicted = line((5, 1, 4), (9, 14, 18))  # 5 covers 3 of object 1's 4 voxels: IoU 0.75; 9 is spurious

    scores = instance_scores(truth, predicted)

    assert (scores["truth_objects"], scores["predicted_objects"]) == (2, 2)
    assert (scores["true_positives"], scores["false_positives"], scores["false_negatives"]) == (1, 1, 1)
    assert scores["precision"] == scores["recall"] == scores["f1"] == 0.5
    assert scores["mean_matched_iou"] == 0.75
    # without scores all predictions tie: one point (P 0.5, R 0.5), read at recalls 0, 0.01, …, 0.50
    assert scores["ap_50"] == scores["ap_75"] == pytest.approx(0.5 * 51 / 101)
    # the match holds at IoU 0.50 … 0.75 (6 thresholds) and is lost at 0.80 … 0.95
    assert scores["ap_50_95"] == pytest.approx(6 / 10 * 0.5 * 51 / 101)
    json.dumps(scores)  # plain Python numbers, ready for JSON


def test_a_segmentation_against_itself_is_perfect():
    truth = line((1, 0, 4), (2, 6, 10), (3, 12, 19))

    scores = instance_scores(truth, truth)

    assert scores["f1"] == scores["mean_matched_iou"] == 1.0
    assert scores["ap_50"] == scores["ap_75"] == scores["ap_50_95"] == 1.0


def test_the_matching_has_the_most_pairs_not_the_greedy_best_pair():
    truth = line((1, 0, 10), (2, 10, 14))
    predicted = line((7, 0, 3), (8, 3, 12))
    # IoU(1, 8) = 7/12 is the best pair, but taking it leaves 2 and 7 alone;
    # 1–7 (3/10) with 2–8 (2/11) matches both
    scores = instance_scores(truth, predicted, iou_threshold=0.15)

    assert scores["true_positives"] == 2
    assert scores["mean_matched_iou"] == pytest.approx((3 / 10 + 2 / 11) / 2)
    assert instance_scores(truth, predicted)["true_positives"] == 1  # at 0.5 only 1–8 qualifies


def test_scores_rank_predictions_as_coco_does():
    truth = line((1, 0, 4), (2, 6, 10))
    predicted = line((3, 0, 4), (4, 12, 16), (5, 6, 10))
    # ranked 3 (hit), 4 (miss), 5 (hit): precision 1, 1/2, 2/3 at recall 1/2, 1/2, 1;
    # interpolated: 1 up to recall 0.50 (51 points), 2/3 above it (50 points)
    scores = instance_scores(truth, predicted, scores={3: 0.9, 4: 0.8, 5: 0.7})

    assert scores["ap_50"] == pytest.approx((51 + 50 * 2 / 3) / 101)
    ranked_well = instance_scores(truth, predicted, scores=pd.Series([0.9, 0.7, 0.8], index=[3, 4, 5]))
    assert ranked_well["ap_50"] == 1.0


def test_average_precision_reads_the_interpolated_curve_at_101_recalls():
    # hit, miss, hit of 4 objects: precision 1, 1/2, 2/3 at recall 1/4, 1/4, 1/2; interpolated: 1 at
    # recalls 0 … 0.25 (26 points), 2/3 at 0.26 … 0.50 (25 points), 0 beyond the recall reached
    ap = average_precision(np.array([True, False, True]), np.array([3.0, 2.0, 1.0]), truth_objects=4)
    assert ap == pytest.approx((26 + 25 * 2 / 3) / 101)
    assert average_precision(np.array([], bool), np.array([]), truth_objects=3) == 0.0
    assert math.isnan(average_precision(np.array([False]), np.array([1.0]), truth_objects=0))


def test_dask_blocks_give_the_whole_array_answer():
    rng = np.random.default_rng(2)
    truth = np.zeros((16, 48, 48), np.uint32)
    predicted = np.zeros_like(truth)
    for object_id in range(1, 30):
        z, y, x = rng.integers(0, (12, 40, 40))
        truth[z:z + 4, y:y + 8, x:x + 8] = object_id
        dz, dy, dx = rng.integers(-1, 2, 3)
        predicted[max(z + dz, 0):z + dz + 4, max(y + dy, 0):y + dy + 8, max(x + dx, 0):x + dx + 7] = 100 + object_id

    whole = instance_scores(truth, predicted)
    blocked = instance_scores(da.from_array(truth, chunks=(5, 16, 13)), da.from_array(predicted, chunks=(8, 8, 48)))

    assert blocked == pytest.approx(whole)
    assert 0 < whole["f1"] < 1


def test_ids_beyond_32_bits_match_as_small_ones_do():
    truth = line((1, 0, 4), (2, 6, 10)).astype(np.uint64)
    predicted = line((5, 1, 4), (9, 6, 9)).astype(np.uint64)

    big = instance_scores(truth + (truth > 0) * np.uint64(2**40), predicted * np.uint64(2**35))

    assert big == instance_scores(truth, predicted)


@pytest.mark.parametrize(
    "truth_objects, predicted_objects, expected",
    [
        # (precision, recall, f1, ap_50): undefined where the denominator is 0 (COCO: -1)
        ((), (), (math.nan, math.nan, math.nan, math.nan)),
        ((), ((4, 0, 5),), (0.0, math.nan, 0.0, math.nan)),
        (((1, 0, 5),), (), (math.nan, 0.0, 0.0, 0.0)),
    ],
)
def test_empty_truth_or_prediction(truth_objects, predicted_objects, expected):
    scores = instance_scores(line(*truth_objects), line(*predicted_objects))

    np.testing.assert_equal((scores["precision"], scores["recall"], scores["f1"], scores["ap_50"]), expected)
    assert math.isnan(scores["mean_matched_iou"])


@pytest.mark.parametrize(
    "options, fragment",
    [
        ({"iou_threshold": 0}, r"iou_threshold must be in \(0, 1\]"),
        ({"iou_threshold": 1.5}, r"iou_threshold must be in \(0, 1\]"),
        ({"scores": {5: 0.3}}, "no score for predicted objects 9"),
        ({"scores": {5: 0.3, 9: float("nan")}}, "finite score"),
        ({"scores": [0.3, 0.4]}, "scores must map each predicted id to a number"),
    ],
)
def test_bad_options_are_one_line_naming_the_fix(options, fragment):
    with pytest.raises(VemprofError, match=fragment):
        instance_scores(line((1, 0, 4)), line((5, 1, 4), (9, 6, 9)), **options)
