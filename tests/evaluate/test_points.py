"""Point detection scores on points placed by hand, in nm."""

import json
import math

import dask.array as da
import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.evaluate import centroids_nm, point_scores


def on_x(*x_nm: float) -> np.ndarray:
    """Points at Z = Y = 0 nm along X."""
    return np.array([[0.0, 0.0, x] for x in x_nm]).reshape(-1, 3)


def test_near_points_match_far_ones_do_not():
    truth = on_x(0, 1000)
    predicted = np.array([[0, 30, 40], [0, 0, 1200], [500, 0, 0]])  # 50 nm, 200 nm and 500 nm off

    scores = point_scores(truth, predicted, tolerance_nm=60)

    assert (scores["true_positives"], scores["false_positives"], scores["false_negatives"]) == (1, 2, 1)
    assert scores["precision"] == pytest.approx(1 / 3) and scores["recall"] == 0.5
    assert scores["f1"] == pytest.approx(2 / 5)
    assert scores["mean_distance_nm"] == 50.0
    assert (scores["truth_points"], scores["predicted_points"], scores["tolerance_nm"]) == (2, 3, 60.0)


def test_a_point_exactly_at_the_tolerance_matches():
    assert point_scores(on_x(0), on_x(60), tolerance_nm=60)["true_positives"] == 1
    assert point_scores(on_x(0), on_x(60.001), tolerance_nm=60)["true_positives"] == 0


def test_the_matching_has_the_most_pairs_not_the_nearest_pair():
    # the nearest pair (0, 10) would leave 60 and -50 without partners; 0–(-50) and 60–10 match both
    scores = point_scores(on_x(0, 60), on_x(10, -50), tolerance_nm=60)

    assert scores["true_positives"] == 2
    assert scores["mean_distance_nm"] == 50.0


@pytest.mark.parametrize(
    "truth, predicted, expected",
    [
        # (precision, recall, f1)
        (on_x(), on_x(), (math.nan, math.nan, math.nan)),
        (on_x(), on_x(5), (0.0, math.nan, 0.0)),
        (on_x(5), [], (math.nan, 0.0, 0.0)),
    ],
)
def test_no_points_on_either_side(truth, predicted, expected):
    scores = point_scores(truth, predicted, tolerance_nm=60)

    np.testing.assert_equal((scores["precision"], scores["recall"], scores["f1"]), expected)


def nucleus_sections() -> np.ndarray:
    """Section 1 at X 0–120 nm, section 2 at X 200–320 nm, nothing at 160 nm (40 nm voxels)."""
    sections = np.zeros((2, 4, 9), np.uint8)
    sections[..., :4] = 1
    sections[..., 5:] = 2
    return sections


def test_scores_per_region_count_each_point_in_the_region_at_its_voxel():
    truth = on_x(0, 80, 280)
    predicted = on_x(20, 120, 300, 320)  # 0↔20, 80↔120 in section 1; 280↔300 in 2, 320 spurious

    scores = point_scores(truth, predicted, tolerance_nm=60, regions=da.from_array(nucleus_sections(), chunks=2),
                          spacing=(40, 40, 40))

    assert scores["true_positives"] == 3
    one, two = scores["regions"][1], scores["regions"][2]
    assert (one["truth_points"], one["predicted_points"], one["recall"], one["precision"]) == (2, 2, 1.0, 1.0)
    assert (two["truth_points"], two["predicted_points"], two["recall"], two["precision"]) == (1, 2, 1.0, 0.5)
    assert point_scores(truth, predicted, tolerance_nm=60, regions=nucleus_sections(), spacing=(40, 40, 40)) == scores
    json.dumps(scores)  # plain Python numbers, ready for JSON


def test_a_match_across_a_border_counts_in_its_true_points_region():
    truth = on_x(120, 160)  # 160 nm lies between the sections: counted overall only
    predicted = on_x(170, 200)  # 120↔170 and 160↔200 (the matching with most pairs)

    scores = point_scores(truth, predicted, tolerance_nm=60, regions=nucleus_sections(), spacing=(40, 40, 40))

    assert scores["true_positives"] == 2
    assert list(scores["regions"]) == [1]
    assert (scores["regions"][1]["true_positives"], scores["regions"][1]["predicted_points"]) == (1, 1)


def test_centroids_are_mean_voxel_positions_times_the_voxel_size():
    labels = np.zeros((4, 6, 6), np.uint16)
    labels[0:2, 1:3, 1:3] = 3  # centre (0.5, 1.5, 1.5) voxels
    labels[3, 5, 5] = 1

    expected = [[3 * 8, 5 * 5, 5 * 5], [0.5 * 8, 1.5 * 5, 1.5 * 5]]  # by id: 1, then 3
    assert centroids_nm(labels, spacing=(8, 5, 5)).tolist() == expected
    assert centroids_nm(da.from_array(labels, chunks=(1, 2, 4)), spacing=(8, 5, 5)).tolist() == expected
    assert centroids_nm(np.zeros((2, 2, 2), np.uint8), spacing=(8, 5, 5)).shape == (0, 3)


@pytest.mark.parametrize(
    "call, fragment",
    [
        (lambda: point_scores(on_x(0), on_x(1), tolerance_nm=0), "tolerance_nm must be a positive length"),
        (lambda: point_scores(on_x(0), on_x(1), tolerance_nm=-5), "tolerance_nm must be a positive length"),
        (lambda: point_scores([[0, 0]], on_x(1), tolerance_nm=60), r"\(n, 3\) array"),
        (lambda: point_scores([[0, 0, np.nan]], on_x(1), tolerance_nm=60), "NaN"),
        (lambda: point_scores(on_x(0), on_x(1), tolerance_nm=60, regions=np.ones((2, 2, 2), np.uint8)),
         "pass spacing="),
        (lambda: point_scores(on_x(0), on_x(500), tolerance_nm=60, regions=np.ones((2, 2, 2), np.uint8),
                              spacing=(40, 40, 40)), "outside the regions image"),
        (lambda: centroids_nm(np.ones((2, 2, 2), np.float32), spacing=(8, 5, 5)), "integer label image"),
        (lambda: centroids_nm(np.ones((2, 2, 2), np.uint8), spacing=(0, 5, 5)), "positive nanometres"),
    ],
)
def test_bad_input_is_one_line_naming_the_fix(call, fragment):
    with pytest.raises(VemprofError, match=fragment):
        call()
