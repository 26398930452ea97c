"""Compartments: where each object lies (which cell, inside or outside the nucleus) and
how much of the cell and of its cytoplasm each organelle class takes.

The cytoplasm is the cell without the nucleus. Both tables are made block by block
(`_blocks`) from voxel counts, so they do not depend on the chunking. Volumes are in µm³, shares in percent.
"""

from __future__ import annotations

import math
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from vemprof.errors import VemprofError
from vemprof.measure._blocks import blocks
from vemprof.ops._validate import as_spacing, check_labels, check_objects, check_same_shape

_NM3_PER_UM3 = 1e9


def object_parents(labels: Any, *, cell: Any, nucleus: Any) -> pd.DataFrame:
    """Each object's cell and its share inside the nucleus.

    Parameters
    ----------
    labels : (Z, Y, X) integer array, numpy or dask
        Objects, 0 = background.
    cell : (Z, Y, X) bool or integer array
        The cell mask, or a label image of several cells.
    nucleus : (Z, Y, X) bool or integer array
        The nucleus (or nuclei), non-zero = inside.

    Returns
    -------
    pandas.DataFrame
        ``label``; ``cell`` (the cell id most of the object's voxels lie in, 1 for a
        mask, 0 if most lie outside every cell); ``nucleus_fraction`` (share of its
        voxels inside the nucleus, 0–1); ``in_nucleus`` (that share above one half).
    """
    labels, cell, nucleus = _checked(labels, cell=cell, nucleus=nucleus)
    pairs, inside = [], []
    for block, cells, nuclei in blocks(labels, cell, nucleus):
        objects = block != 0
        ids = block[objects]
        if ids.size:
            pairs.append(pd.DataFrame({"label": ids, "cell": cells[objects].astype(np.int64)}).value_counts())
            inside.append(pd.Series(nuclei[objects] != 0).groupby(ids).agg(["sum", "size"]))
    if not pairs:
        raise VemprofError("the label image holds no object (all 0); segment or label something first")
    counts = pd.concat(pairs).groupby(level=[0, 1]).sum()
    majority = counts.reset_index().sort_values(["label", "count", "cell"], ascending=[True, False, True])
    cells = majority.drop_duplicates("label").set_index("label")["cell"]
    nucleus_counts = pd.concat(inside).groupby(level=0).sum()
    fraction = nucleus_counts["sum"] / nucleus_counts["size"]
    return pd.DataFrame({"label": cells.index.to_numpy(), "cell": cells.to_numpy(),
                         "nucleus_fraction": fraction.loc[cells.index].to_numpy(),
                         "in_nucleus": (fraction.loc[cells.index] > 0.5).to_numpy()})


def compartment_table(classes: Mapping[str, Any], *, cell: Any, nucleus: Any,
                      spacing: Sequence[float]) -> pd.DataFrame:
    """Per organelle class: its objects, its volume inside the cell, and that volume as a
    share of the cell and of the cytoplasm.

    Parameters
    ----------
    classes : mapping of class name → (Z, Y, X) label image or mask
        E.g. ``{"mitochondria": labels}``.
    cell, nucleus : (Z, Y, X) bool or integer arrays, non-zero = inside
    spacing : (z, y, x) voxel size, nm

    Returns
    -------
    pandas.DataFrame
        One row per class: ``class``, ``count`` (objects with a voxel in the cell),
        ``volume_um3`` (its voxels in the cell), ``cell_volume_um3``,
        ``cytoplasm_volume_um3`` (cell without nucleus), ``pct_of_cell``,
        ``pct_of_cytoplasm`` (its voxels in the cytoplasm over the cytoplasm).
    """
    spacing = as_spacing(spacing)
    voxel_um3 = math.prod(spacing) / _NM3_PER_UM3
    rows = []
    for name, labels in classes.items():
        labels, cell_mask, nucleus_mask = _checked(labels, cell=cell, nucleus=nucleus)
        totals = {"in_cell": 0, "in_cytoplasm": 0, "cell": 0, "cytoplasm": 0, "nucleus": 0, "nucleus_outside": 0}
        present = set()
        for block, cells, nuclei in blocks(labels, cell_mask, nucleus_mask):
            in_cell, in_nucleus = cells != 0, nuclei != 0
            cytoplasm = in_cell & ~in_nucleus
            totals["cell"] += int(np.count_nonzero(in_cell))
            totals["cytoplasm"] += int(np.count_nonzero(cytoplasm))
            totals["nucleus"] += int(np.count_nonzero(in_nucleus))
            totals["nucleus_outside"] += int(np.count_nonzero(in_nucleus & ~in_cell))
            totals["in_cell"] += int(np.count_nonzero((block != 0) & in_cell))
            totals["in_cytoplasm"] += int(np.count_nonzero((block != 0) & cytoplasm))
            present.update(np.unique(block[in_cell]).tolist())
        if totals["cell"] == 0:
            raise VemprofError("the cell mask is empty; give the cell's label image (e.g. --cell cell)")
        if totals["nucleus_outside"] > totals["nucleus"] / 2:
            raise VemprofError("most of the nucleus lies outside the cell; check that --cell and --nucleus are "
                               "the cell and its nucleus (the same volume and voxel grid)")
        present.discard(0)
        rows.append({
            "class": name, "count": len(present), "volume_um3": totals["in_cell"] * voxel_um3,
            "cell_volume_um3": totals["cell"] * voxel_um3, "cytoplasm_volume_um3": totals["cytoplasm"] * voxel_um3,
            "pct_of_cell": 100 * totals["in_cell"] / totals["cell"],
            "pct_of_cytoplasm": 100 * totals["in_cytoplasm"] / totals["cytoplasm"] if totals["cytoplasm"] else math.nan,
        })
    return pd.DataFrame(rows)


def _checked(labels, *, cell, nucleus):
    labels = check_labels(labels)
    cell = check_objects(cell, what="cell")
    nucleus = check_objects(nucleus, what="nucleus")
    check_same_shape(labels, cell, what="cell", reference_what="labels")
    check_same_shape(labels, nucleus, what="nucleus", reference_what="labels")
    return labels, cell, nucleus

