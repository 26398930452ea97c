"""The overlap (contingency) table of two label images, built block by block."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.evaluate._blocks import block_summaries
from vemprof.evaluate._inputs import check_label_pair

_LOW_BITS = np.uint64(32)


def overlap_table(truth: Any, prediction: Any, *, progress: ProgressReporter = no_progress) -> pd.DataFrame:
    """Voxel counts of every (truth id, prediction id) pair that occurs, background included.

    Parameters
    ----------
    truth, prediction : arrays of one shape, numpy or dask
        Masks or label images; ids <= 0 are background (0 in the table).

    Returns
    -------
    pandas.DataFrame
        Columns ``truth``, ``prediction`` (uint64 ids) and ``voxels``, one row per pair
        that occurs with at least one of the two ids > 0; (0, 0) is left out. Object
        sizes follow: a truth object's voxels are the sum of its rows.
    """
    truth, prediction = check_label_pair(truth, prediction)
    parts = block_summaries(_block_pairs, truth, prediction, progress=progress, description="counting overlaps")
    table = pd.concat(parts, ignore_index=True)
    return table.groupby(["truth", "prediction"], as_index=False, sort=True)["voxels"].sum()


def _block_pairs(truth: np.ndarray, prediction: np.ndarray) -> pd.DataFrame:
    """The pairs of one block: ids packed two to a uint64 and counted with np.unique."""
    foreground = (truth > 0) | (prediction > 0)
    truth, prediction = _ids(truth[foreground]), _ids(prediction[foreground])
    if max(truth.max(initial=0), prediction.max(initial=0)) >= 2**32:  # ids that do not pack: pairs as rows
        pairs, voxels = np.unique(np.stack([truth, prediction], axis=1), axis=0, return_counts=True)
        truth, prediction = pairs[:, 0], pairs[:, 1]
    else:
        keys, voxels = np.unique((truth << _LOW_BITS) | prediction, return_counts=True)
        truth, prediction = keys >> _LOW_BITS, keys & np.uint64(0xFFFFFFFF)
    return pd.DataFrame({"truth": truth, "prediction": prediction, "voxels": voxels.astype(np.int64)})


def _ids(values: np.ndarray) -> np.ndarray:
    """Ids as uint64, anything <= 0 as 0."""
    if np.issubdtype(values.dtype, np.signedinteger):
        values = np.maximum(values, 0)
    return values.astype(np.uint64, copy=False)
