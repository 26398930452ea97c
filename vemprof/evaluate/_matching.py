"""One-to-one matching of candidate pairs: most matches first, then the best total quality."""

from __future__ import annotations

import numpy as np
from scipy.optimize import linear_sum_assignment
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components


def match_one_to_one(rows: np.ndarray, columns: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """The candidate pairs of a one-to-one matching, as indices into the arrays.

    Only the given candidate pairs (row id, column id) can be matched; each id is in at
    most one chosen pair. The matching has the most pairs and, among those, the
    largest total ``quality`` (in [0, 1]: IoU, or closeness for points). It is the
    Hungarian method (`scipy.optimize.linear_sum_assignment`) run on each connected
    group of candidates, with weight 1 + quality / (k + 1) for a group of at most k
    matches, so one more match always outweighs any gain in quality. A candidate
    whose ids occur in no other candidate is a group of one and is matched at once.

    Parameters
    ----------
    rows, columns : (n,) integer arrays
        The ids of each candidate pair (each pair at most once).
    quality : (n,) float array
        The value to maximise in total, each in [0, 1].

    Returns
    -------
    (m,) int array
        Indices of the chosen pairs, increasing.
    """
    if len(rows) == 0:
        return np.empty(0, dtype=np.intp)
    row_index = np.unique(rows, return_inverse=True)[1].ravel()
    column_index = np.unique(columns, return_inverse=True)[1].ravel()
    nodes = row_index.max() + 1 + column_index.max() + 1
    graph = coo_matrix((np.ones(len(rows)), (row_index, row_index.max() + 1 + column_index)), shape=(nodes, nodes))
    group = connected_components(graph, directed=False)[1][row_index]
    alone = np.bincount(group)[group] == 1
    chosen = [np.flatnonzero(alone)]
    shared = np.flatnonzero(~alone)
    order = shared[np.argsort(group[shared], kind="stable")]
    for members in np.split(order, np.flatnonzero(np.diff(group[order])) + 1) if len(order) else []:
        chosen.append(_hungarian(members, row_index[members], column_index[members], quality[members]))
    return np.sort(np.concatenate(chosen))


def _hungarian(members: np.ndarray, rows: np.ndarray, columns: np.ndarray, quality: np.ndarray) -> np.ndarray:
    """The chosen ``members`` of one group of candidates."""
    rows = np.unique(rows, return_inverse=True)[1].ravel()
    columns = np.unique(columns, return_inverse=True)[1].ravel()
    shape = (rows.max() + 1, columns.max() + 1)
    weights = np.zeros(shape)
    weights[rows, columns] = 1 + np.asarray(quality, dtype=float) / (min(shape) + 1)
    candidate = np.full(shape, -1, dtype=np.intp)
    candidate[rows, columns] = members
    picked = candidate[linear_sum_assignment(weights, maximize=True)]
    return picked[picked >= 0]
