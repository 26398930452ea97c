"""Scores of a segmentation or detection against ground truth.

* `semantic_scores`, `semantic_scores_per_class`: voxel-wise IoU, Dice, precision,
  recall and counts of masks or class images.
* `instance_scores`: objects matched one to one by IoU (Hungarian method), F1,
  precision, recall, mean IoU of the matches and COCO/MitoEM average precision.
* `point_scores`, `centroids_nm`: points (e.g. nuclear pores, in nm) matched one to
  one within a distance tolerance, overall and per region.

Inputs may be numpy or dask arrays of any size: a volume is reduced block by block
(counts, the overlap table of ids, sums per id), never held whole, and the numpy and
dask answers are the same computation. A score whose denominator is 0 is undefined
and reported as NaN (two empty masks have IoU NaN; recall and AP without true objects
are NaN), as COCO's ``cocoeval`` reports -1 for them and leaves them out of its means.
"""

from vemprof.evaluate._instances import average_precision, instance_scores
from vemprof.evaluate._overlap import overlap_table
from vemprof.evaluate._points import centroids_nm, point_scores
from vemprof.evaluate._semantic import semantic_scores, semantic_scores_per_class

__all__ = [
    "average_precision", "centroids_nm", "instance_scores", "overlap_table", "point_scores", "semantic_scores",
    "semantic_scores_per_class",
]
