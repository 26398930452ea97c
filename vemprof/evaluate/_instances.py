"""Object-level scores of an instance segmentation: matching, F1, average precision."""

from __future__ import annotations

import math
from typing import Any, Mapping

import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.evaluate._counts import detection_scores
from vemprof.evaluate._matching import match_one_to_one
from vemprof.evaluate._overlap import overlap_table

#: IoU thresholds of COCO's AP@[.50:.95] (0.50, 0.55, …, 0.95).
IOU_THRESHOLDS = np.round(np.linspace(0.5, 0.95, 10), 2)
#: COCO's 101 recall points (0, 0.01, …, 1) at which the interpolated precision is read.
RECALL_THRESHOLDS = np.linspace(0.0, 1.0, 101)


def instance_scores(
    truth_labels: Any, predicted_labels: Any, *, iou_threshold: float = 0.5,
    scores: Mapping[int, float] | pd.Series | None = None, progress: ProgressReporter = no_progress,
) -> dict:
    """Match predicted objects to true objects one to one by IoU; F1, precision, recall, AP.

    The IoU of two objects is their common voxels over the voxels of either. Only
    overlapping pairs with IoU >= ``iou_threshold`` can match; among those the
    matching has the most pairs and then the largest total IoU (the Hungarian method,
    `scipy.optimize.linear_sum_assignment`, on each group of objects that overlap).
    A matched prediction is a true positive, an unmatched one a false positive, an
    unmatched true object a false negative.

    Average precision follows COCO's ``cocoeval`` (Lin et al. 2014; pycocotools
    ``COCOeval.accumulate``) as the MitoEM challenge applies it to 3D volumes (Wei et
    al., MICCAI 2020; github.com/ygCoconut/mAP_3Dvolume): predictions ranked by
    descending score; at each rank precision and recall of the predictions so far;
    precision made non-increasing from the right (the interpolated envelope); read at
    the 101 recalls 0, 0.01, …, 1 (0 beyond the highest recall reached) and averaged.
    ``ap_50`` and ``ap_75`` at IoU 0.50 and 0.75, ``ap_50_95`` the mean over 0.50,
    0.55, …, 0.95 (COCO's "AP"). Every object counts (no size ranges, no limit on
    the number of detections). Matches at each threshold are one to one as above;
    COCO matches greedily in score order instead, which picks the same pairs at
    these thresholds: a pair with IoU above 0.5 is each object's only such partner.
    Predictions with equal scores share one rank (COCO would order them by id), so
    without ``scores`` all predictions tie and the curve is one point (precision P,
    recall R): AP = P × (⌊100 R⌋ + 1) / 101, about P × R.

    Parameters
    ----------
    truth_labels, predicted_labels : arrays of one shape, numpy or dask
        Label images (integer ids, <= 0 = background; a bool mask is one object).
        Dask arrays are read block by block into the overlap table (voxels of each
        pair of ids), so memory holds a few blocks and the table, never the volume.
    iou_threshold : float, default 0.5
        Least IoU of a match for the counts, F1 and ``mean_matched_iou``; in (0, 1].
    scores : mapping or pandas.Series, optional
        Confidence of each predicted object, by id (higher = more confident), for
        ranking in AP; every predicted id needs one.
    progress : ProgressReporter
        Advanced by one per block.

    Returns
    -------
    dict
        ``truth_objects``, ``predicted_objects``, ``iou_threshold``,
        ``true_positives``, ``false_positives``, ``false_negatives``, ``precision``,
        ``recall``, ``f1``, ``mean_matched_iou`` (mean IoU of the matched pairs),
        ``ap_50``, ``ap_75``, ``ap_50_95``. Undefined scores are NaN: precision
        without predictions, recall and AP without true objects (COCO's -1), F1
        without either, ``mean_matched_iou`` without matches. With true objects but
        no predictions AP is 0.

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((1, 1, 10), np.uint8); truth[0, 0, :4] = 1; truth[0, 0, 6:] = 2
    >>> predicted = np.zeros_like(truth); predicted[0, 0, 1:4] = 5
    >>> result = instance_scores(truth, predicted)
    >>> result["true_positives"], result["false_negatives"], result["mean_matched_iou"]
    (1, 1, 0.75)
    """
    iou_threshold = _check_threshold(iou_threshold)
    table = overlap_table(truth_labels, predicted_labels, progress=progress)
    truth_sizes = table[table["truth"] > 0].groupby("truth")["voxels"].sum()
    predicted_sizes = table[table["prediction"] > 0].groupby("prediction")["voxels"].sum()
    pairs = table[(table["truth"] > 0) & (table["prediction"] > 0)]
    truth_ids, predicted_ids = pairs["truth"].to_numpy(), pairs["prediction"].to_numpy()
    common = pairs["voxels"].to_numpy()
    iou = common / (truth_sizes.loc[truth_ids].to_numpy() + predicted_sizes.loc[predicted_ids].to_numpy() - common)

    def matches(threshold: float) -> np.ndarray:
        candidates = np.flatnonzero(iou >= threshold)
        return candidates[match_one_to_one(truth_ids[candidates], predicted_ids[candidates], iou[candidates])]

    matched = matches(iou_threshold)
    predictions = predicted_sizes.index.to_numpy()
    ranking = _ranking(predictions, scores)
    precisions = {
        threshold: average_precision(np.isin(predictions, predicted_ids[matches(threshold)]), ranking,
                                     truth_objects=len(truth_sizes))
        for threshold in IOU_THRESHOLDS
    }
    return {
        "truth_objects": len(truth_sizes),
        "predicted_objects": len(predicted_sizes),
        "iou_threshold": iou_threshold,
        **detection_scores(len(matched), len(predicted_sizes) - len(matched), len(truth_sizes) - len(matched)),
        "mean_matched_iou": float(iou[matched].mean()) if len(matched) else math.nan,
        "ap_50": precisions[0.5],
        "ap_75": precisions[0.75],
        "ap_50_95": float(np.mean(list(precisions.values()))),
    }


def average_precision(matched: np.ndarray, scores: np.ndarray, *, truth_objects: int) -> float:
    """COCO's 101-point interpolated average precision of ranked predictions.

    Parameters
    ----------
    matched : (n,) bool array
        Whether each prediction is a true positive.
    scores : (n,) float array
        Each prediction's score; higher ranks first, equal scores share a rank.
    truth_objects : int
        Number of true objects (the recall's denominator).

    Returns
    -------
    float
        NaN without true objects, 0 without predictions.
    """
    matched, scores = np.asarray(matched, dtype=bool), np.asarray(scores, dtype=float)
    if matched.shape != scores.shape or matched.ndim != 1:
        raise VemprofError(f"matched and scores must be two 1D arrays of one length (one entry per prediction), got "
                           f"shapes {matched.shape} and {scores.shape}")
    if truth_objects == 0:
        return math.nan
    if len(matched) == 0:
        return 0.0
    order = np.argsort(-scores, kind="stable")
    ranked = scores[order]
    rank_ends = np.append(ranked[1:] != ranked[:-1], True)
    found = np.cumsum(matched[order])[rank_ends]
    recall = found / truth_objects
    precision = np.maximum.accumulate((found / (np.flatnonzero(rank_ends) + 1))[::-1])[::-1]
    at = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
    return float(np.where(at < len(precision), precision[np.minimum(at, len(precision) - 1)], 0.0).mean())


def _ranking(predicted_ids: np.ndarray, scores: Mapping[int, float] | pd.Series | None) -> np.ndarray:
    """The score of each predicted id (all 0 without ``scores``)."""
    if scores is None:
        return np.zeros(len(predicted_ids))
    try:
        by_id = {int(key): value for key, value in dict(scores).items()}
    except (TypeError, ValueError):
        raise VemprofError("scores must map each predicted id to a number: a dict {id: score} or a pandas "
                           "Series indexed by id") from None
    missing = [int(i) for i in predicted_ids if int(i) not in by_id]
    if missing:
        shown = ", ".join(map(str, missing[:5])) + (", …" if len(missing) > 5 else "")
        raise VemprofError(f"no score for predicted objects {shown} ({len(missing)} in all); give a score for every "
                           "predicted id")
    try:
        values = np.array([float(by_id[int(i)]) for i in predicted_ids])
    except (TypeError, ValueError):
        raise VemprofError("the scores must be numbers, one per predicted id (higher = more confident)") from None
    if not np.isfinite(values).all():
        raise VemprofError("the scores contain NaN or infinite values; give every predicted object a finite score")
    return values


def _check_threshold(value: Any) -> float:
    try:
        threshold = float(value)
    except (TypeError, ValueError):
        threshold = math.nan
    if not 0 < threshold <= 1:
        raise VemprofError(f"iou_threshold must be in (0, 1] (e.g. 0.5), got {value!r}")
    return threshold
