"""Voxel-wise scores of a segmentation: IoU, Dice, precision, recall."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.evaluate._blocks import block_summaries
from vemprof.evaluate._counts import detection_scores, ratio
from vemprof.evaluate._inputs import check_label_pair
from vemprof.evaluate._overlap import overlap_table


def semantic_scores(truth: Any, prediction: Any, *, progress: ProgressReporter = no_progress) -> dict:
    """Voxel-wise agreement of two masks: IoU, Dice, precision, recall and the counts.

    Parameters
    ----------
    truth, prediction : arrays of one shape, numpy or dask
        Masks or label images (bool or integer); a voxel is foreground where the value
        is > 0. Dask arrays are read block by block and reduced to three counts per
        block, so memory holds a few blocks, never the volume.
    progress : ProgressReporter
        Advanced by one per block.

    Returns
    -------
    dict
        ``iou`` = TP / (TP + FP + FN), ``dice`` = 2 TP / (2 TP + FP + FN),
        ``precision`` = TP / (TP + FP), ``recall`` = TP / (TP + FN), and the voxel
        counts ``true_positives``, ``false_positives``, ``false_negatives``,
        ``truth_voxels``, ``predicted_voxels``. A score whose denominator is 0 is NaN
        (two empty masks have IoU NaN, not 1; see `vemprof.evaluate`).

    Examples
    --------
    >>> import numpy as np
    >>> truth = np.zeros((1, 4, 4), bool); truth[0, :2] = True        # 8 voxels
    >>> prediction = np.zeros((1, 4, 4), bool); prediction[0, 1:3] = True
    >>> scores = semantic_scores(truth, prediction)
    >>> scores["iou"], scores["dice"], scores["true_positives"]
    (0.3333333333333333, 0.5, 4)
    """
    truth, prediction = check_label_pair(truth, prediction)
    parts = block_summaries(_count_block, truth, prediction, progress=progress, description="scoring voxels")
    return _voxel_scores(*(int(n) for n in np.sum(parts, axis=0)))


def _voxel_scores(tp: int, truth_voxels: int, predicted_voxels: int) -> dict:
    counts = detection_scores(tp, predicted_voxels - tp, truth_voxels - tp)
    return {
        "iou": ratio(tp, truth_voxels + predicted_voxels - tp),
        "dice": counts["f1"],
        "precision": counts["precision"],
        "recall": counts["recall"],
        "true_positives": tp,
        "false_positives": counts["false_positives"],
        "false_negatives": counts["false_negatives"],
        "truth_voxels": truth_voxels,
        "predicted_voxels": predicted_voxels,
    }


def _count_block(truth: np.ndarray, prediction: np.ndarray) -> np.ndarray:
    """[both foreground, truth foreground, prediction foreground] voxel counts of a block."""
    truth, prediction = truth > 0, prediction > 0
    return np.array([np.count_nonzero(truth & prediction), np.count_nonzero(truth), np.count_nonzero(prediction)],
                    dtype=np.int64)


def semantic_scores_per_class(truth: Any, prediction: Any, *, progress: ProgressReporter = no_progress
                              ) -> pd.DataFrame:
    """`semantic_scores` for each class id: class ``c`` is the mask ``image == c``.

    Parameters
    ----------
    truth, prediction : integer arrays of one shape, numpy or dask
        Class images (0 = background, 1, 2, … = classes); read block by block.

    Returns
    -------
    pandas.DataFrame
        One row per class id > 0 present in either image, sorted: ``class``, ``iou``,
        ``dice``, ``precision``, ``recall``, ``true_positives``, ``false_positives``,
        ``false_negatives``, ``truth_voxels``, ``predicted_voxels``. Class 0 is
        background in both images (not "not annotated" as in sparse annotations).
    """
    table = overlap_table(truth, prediction, progress=progress)
    truth_voxels = table.groupby("truth")["voxels"].sum()
    predicted_voxels = table.groupby("prediction")["voxels"].sum()
    agreeing = table[table["truth"] == table["prediction"]].set_index("truth")["voxels"]
    classes = np.union1d(truth_voxels.index, predicted_voxels.index)
    rows = [{"class": int(c), **_voxel_scores(int(agreeing.get(c, 0)), int(truth_voxels.get(c, 0)),
                                               int(predicted_voxels.get(c, 0)))}
            for c in classes[classes > 0]]
    return pd.DataFrame(rows, columns=["class", *_voxel_scores(0, 0, 0)])
