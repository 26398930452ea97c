"""Ratios of counts, with the convention for empty inputs.

A score whose denominator is 0 is undefined and reported as NaN (``None`` in JSON): the
precision of no predictions, the recall of an empty truth, the IoU of two empty masks.
This is what COCO's ``cocoeval`` does (-1, "absent", left out of its means) and what
the MitoEM evaluation (a port of it) inherits; a perfect 1.0 for "nothing predicted,
nothing there" would let empty volumes inflate an average.
"""

from __future__ import annotations

import math


def ratio(numerator: float, denominator: float) -> float:
    """``numerator / denominator``, NaN when the denominator is 0."""
    return float(numerator) / float(denominator) if denominator else math.nan


def detection_scores(true_positives: int, false_positives: int, false_negatives: int) -> dict:
    """Counts with precision, recall and F1 (= 2 TP / (2 TP + FP + FN), the Dice of the sets)."""
    tp, fp, fn = int(true_positives), int(false_positives), int(false_negatives)
    return {
        "true_positives": tp,
        "false_positives": fp,
        "false_negatives": fn,
        "precision": ratio(tp, tp + fp),
        "recall": ratio(tp, tp + fn),
        "f1": ratio(2 * tp, 2 * tp + fp + fn),
    }
