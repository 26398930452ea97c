"""Detection scores of points (e.g. nuclear pores) matched within a distance tolerance."""

from __future__ import annotations

import math
from typing import Any, Sequence

import dask.array as da
import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.evaluate._blocks import block_summaries
from vemprof.evaluate._counts import detection_scores
from vemprof.evaluate._inputs import check_length, check_points
from vemprof.evaluate._matching import match_one_to_one
from vemprof.volume import validate_spacing


def point_scores(
    truth_points_nm: Any, predicted_points_nm: Any, *, tolerance_nm: float, regions: Any = None,
    spacing: Sequence[float] | None = None,
) -> dict:
    """Match predicted points to true points one to one within a distance; precision, recall, F1.

    A predicted point and a true point can match when they are at most
    ``tolerance_nm`` apart; the matching has the most pairs and, among those, the
    smallest total distance (the Hungarian method on the pairs within reach). A
    matched prediction is a true positive, an unmatched one a false positive, an
    unmatched true point a false negative.

    Parameters
    ----------
    truth_points_nm, predicted_points_nm : (n, 3) and (m, 3) arrays
        Z, Y, X positions in nm (voxel (i, j, k) is at (i, j, k) × spacing, as
        `centroids_nm` gives them); either may be empty.
    tolerance_nm : float
        Largest distance of a match, nm (> 0).
    regions : (Z, Y, X) label image, numpy or dask, optional
        Also score each region (id > 0, e.g. the two nucleus sections). Each point
        belongs to the region at its nearest voxel. The matching stays the overall
        one: a match counts in its true point's region (even if the prediction lies
        across a border), an unmatched point in its own region, so a region's true
        positives plus false negatives are its true points, and the regions' counts
        add up to the overall counts of the points inside regions. Needs ``spacing``.
    spacing : sequence of 3 floats, optional
        Voxel size of ``regions`` in nm (Z, Y, X).

    Returns
    -------
    dict
        ``truth_points``, ``predicted_points``, ``tolerance_nm``, ``true_positives``,
        ``false_positives``, ``false_negatives``, ``precision``, ``recall``, ``f1``,
        ``mean_distance_nm`` (of the matched pairs); with ``regions`` also
        ``regions``: {region id: the same scores} for each region that holds a
        point, where ``predicted_points`` are the predictions counted there (true
        plus false positives). Undefined scores are NaN (precision without predictions, recall
        without true points, as in `vemprof.evaluate`).

    Examples
    --------
    >>> truth = [[0, 0, 0], [0, 0, 1000]]
    >>> predicted = [[0, 30, 40], [0, 0, 1200], [500, 0, 0]]
    >>> result = point_scores(truth, predicted, tolerance_nm=60)
    >>> result["true_positives"], result["recall"], result["mean_distance_nm"]
    (1, 0.5, 50.0)
    """
    truth = check_points(truth_points_nm, "true points")
    predicted = check_points(predicted_points_nm, "predicted points")
    tolerance_nm = check_length(tolerance_nm, "tolerance_nm")
    pairs = matched_points(truth, predicted, tolerance_nm=tolerance_nm)
    result = _scores(len(truth), len(predicted), pairs["v"], tolerance_nm)
    if regions is None:
        return result
    truth_regions, predicted_regions = (_regions_at(points, regions, spacing) for points in (truth, predicted))
    found_in = truth_regions[pairs["i"]]  # a match counts in its true point's region
    unmatched_in = np.delete(predicted_regions, pairs["j"])
    present = np.union1d(truth_regions, unmatched_in)
    result["regions"] = {
        int(region): _scores(np.count_nonzero(truth_regions == region),
                             np.count_nonzero(found_in == region) + np.count_nonzero(unmatched_in == region),
                             pairs["v"][found_in == region], tolerance_nm)
        for region in present[present > 0]
    }
    return result


def matched_points(truth_nm: np.ndarray, predicted_nm: np.ndarray, *, tolerance_nm: float) -> np.ndarray:
    """The one-to-one matches of `point_scores` between points (n, 3) and (m, 3), nm: a
    record array of the pairs' true index ``i``, predicted index ``j`` and distance ``v``."""
    within = cKDTree(truth_nm).sparse_distance_matrix(cKDTree(predicted_nm), tolerance_nm, output_type="ndarray")
    return within[match_one_to_one(within["i"], within["j"], 1 - within["v"] / tolerance_nm)]


def _scores(truth_points: int, predicted_points: int, distances: np.ndarray, tolerance_nm: float) -> dict:
    """The scores of ``len(distances)`` matches among the given numbers of points."""
    found = len(distances)
    return {
        "truth_points": int(truth_points),
        "predicted_points": int(predicted_points),
        "tolerance_nm": tolerance_nm,
        **detection_scores(found, predicted_points - found, truth_points - found),
        "mean_distance_nm": float(distances.mean()) if found else math.nan,
    }


def _regions_at(points: np.ndarray, regions: Any, spacing: Sequence[float] | None) -> np.ndarray:
    """The region id at each point's nearest voxel."""
    if spacing is None:
        raise VemprofError("scoring per region needs the voxel size of the regions: pass spacing=(z, y, x) in nm")
    spacing = validate_spacing(spacing)
    shape = tuple(regions.shape)
    if len(shape) != 3:
        raise VemprofError(f"the regions must be a 3D (Z, Y, X) label image, got shape {shape}")
    voxels = np.rint(points / spacing).astype(np.int64)
    outside = ((voxels < 0) | (voxels >= shape)).any(axis=1)
    if outside.any():
        raise VemprofError(
            f"{outside.sum()} point(s) lie outside the regions image (e.g. {points[outside][0].round(1).tolist()} nm; "
            f"the image spans {np.multiply(np.subtract(shape, 1), spacing).tolist()} nm); give points inside it"
        )
    if isinstance(regions, da.Array):
        return np.asarray(regions.vindex[tuple(voxels.T)].compute()) if len(voxels) else np.empty(0, regions.dtype)
    return np.asarray(regions)[tuple(voxels.T)]


def centroids_nm(labels: Any, *, spacing: Sequence[float], progress: ProgressReporter = no_progress) -> np.ndarray:
    """The centroid of each object of a label image, in nm.

    Parameters
    ----------
    labels : (Z, Y, X) label image, numpy or dask
        Integer ids, <= 0 = background; read block by block (sums per id).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (n, 3) float array
        Z, Y, X in nm of the mean voxel position of each object, one row per id in
        increasing order; voxel (i, j, k) is at (i, j, k) × spacing.

    Examples
    --------
    >>> import numpy as np
    >>> labels = np.zeros((1, 4, 4), np.uint8); labels[0, 1:3, 1:3] = 1
    >>> centroids_nm(labels, spacing=(8, 5, 5)).tolist()
    [[0.0, 7.5, 7.5]]
    """
    spacing = validate_spacing(spacing)
    if not isinstance(labels, da.Array):
        labels = np.asarray(labels)
    if labels.ndim != 3 or 0 in labels.shape or not np.issubdtype(labels.dtype, np.integer):
        raise VemprofError(f"centroids need a non-empty 3D (Z, Y, X) integer label image, got shape "
                           f"{tuple(labels.shape)} and dtype {labels.dtype}")
    parts = block_summaries(_block_sums, labels, offsets=True, progress=progress, description="finding centroids")
    sums = pd.concat(parts).groupby(level=0).sum().sort_index()
    return sums[["z", "y", "x"]].to_numpy() / sums[["voxels"]].to_numpy() * np.asarray(spacing)


def _block_sums(labels: np.ndarray, *, offset: tuple[int, ...]) -> pd.DataFrame:
    """Voxel count and sum of voxel positions per id (index) in one block."""
    inside = labels > 0
    ids, index, voxels = np.unique(labels[inside], return_inverse=True, return_counts=True)
    positions = np.nonzero(inside)
    sums = {axis: np.bincount(index, weights=positions[i] + offset[i], minlength=len(ids))
            for i, axis in enumerate("zyx")}
    return pd.DataFrame({"voxels": voxels, **sums}, index=ids.astype(np.uint64))
