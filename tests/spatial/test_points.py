"""Crowding of points: k nearest neighbours and kernel density on known layouts."""

import numpy as np
import pandas as pd
import pytest

from vemprof.errors import VemprofError
from vemprof.spatial import point_scores


def grid_points(step_um: float, count: int = 6, offset=(0.0, 0.0, 0.0)) -> pd.DataFrame:
    """``count`` × ``count`` points on a square grid in a Z plane, ``step_um`` apart."""
    y, x = np.meshgrid(np.arange(count) * step_um, np.arange(count) * step_um, indexing="ij")
    return pd.DataFrame({"centroid_z_um": offset[0], "centroid_y_um": y.ravel() + offset[1],
                         "centroid_x_um": x.ravel() + offset[2]})


def test_nearest_neighbours_on_a_grid():
    scored = point_scores(grid_points(0.2), k=4, bandwidth_um=0.3)
    centre = scored.iloc[2 * 6 + 2]  # an inner point: its 4 nearest are 0.2 µm away
    assert centre["knn4_mean_um"] == pytest.approx(0.2)
    corner = scored.iloc[0]  # a corner: 2 at 0.2 µm, the diagonal at 0.2·√2, then one at 0.4
    assert corner["knn4_mean_um"] == pytest.approx((0.2 + 0.2 + 0.2 * np.sqrt(2) + 0.4) / 4)


def test_a_dense_patch_scores_higher_than_a_sparse_one():
    dense, sparse = grid_points(0.1), grid_points(0.3, offset=(0.0, 5.0, 5.0))
    scored = point_scores(pd.concat([dense, sparse], ignore_index=True), k=8, bandwidth_um=0.3)
    assert scored["kde_score"].iloc[:36].mean() > scored["kde_score"].iloc[36:].mean()
    assert scored["knn8_mean_um"].iloc[:36].mean() < scored["knn8_mean_um"].iloc[36:].mean()
    assert list(scored.columns[:3]) == ["centroid_z_um", "centroid_y_um", "centroid_x_um"]  # the table, added to


def test_a_bandwidth_below_the_spacing_is_warned_about():
    with pytest.warns(UserWarning, match="below the points' typical spacing"):
        point_scores(grid_points(0.5), bandwidth_um=0.1)


@pytest.mark.parametrize("table, options, message", [
    (grid_points(0.2, count=2), {}, "4 points are too few for the mean distance to 8 nearest neighbours"),
    (grid_points(0.2).drop(columns="centroid_x_um"), {}, "has no centroid_x_um"),
    (grid_points(0.2), {"k": 0}, "k must be a whole number"),
    (grid_points(0.2), {"bandwidth_um": 0}, "bandwidth must be a length"),
])
def test_bad_input_fails_in_one_line(table, options, message):
    with pytest.raises(VemprofError, match=message):
        point_scores(table, **options)
