"""Point patterns: how crowded each point is (e.g. a nuclear pore among its neighbours).

For points in µm (the centroids of an object table), `point_scores` gives each point

* ``knn{k}_mean_um``: the mean distance to its ``k`` nearest other points (a k-d tree,
  scikit-learn's ``KDTree``);
* ``kde_score``: the log of a Gaussian kernel density estimate at the point, with
  bandwidth ``bandwidth_um`` (scikit-learn's ``KernelDensity.score_samples``; larger =
  more crowded). The density is a 3D one: points on a surface all get the same
  constant offset from the surface's thinness, which cancels in comparisons.

A bandwidth below the typical spacing of the points (the median distance to the nearest
neighbour) makes every point its own island; the scores then say little, and a warning
says so.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd

from vemprof.errors import VemprofError

CENTROIDS = ("centroid_z_um", "centroid_y_um", "centroid_x_um")


def point_scores(table: pd.DataFrame, *, k: int = 8, bandwidth_um: float = 0.1) -> pd.DataFrame:
    """``table`` (with ``centroid_{z,y,x}_um`` columns, one row per point) with the
    columns ``knn{k}_mean_um`` and ``kde_score`` added (a new DataFrame)."""
    from sklearn.neighbors import KDTree, KernelDensity

    missing = [c for c in CENTROIDS if c not in table.columns]
    if missing:
        raise VemprofError(f"the table has no {', '.join(missing)}; measure the objects first (vemprof measure)")
    if isinstance(k, bool) or not isinstance(k, (int, np.integer)) or k < 1:
        raise VemprofError(f"k must be a whole number of neighbours >= 1, got {k!r}")
    if not bandwidth_um > 0:
        raise VemprofError(f"the bandwidth must be a length in µm > 0, got {bandwidth_um!r}")
    points = table[list(CENTROIDS)].to_numpy(float)
    if len(points) < k + 1:
        raise VemprofError(f"{len(points)} points are too few for the mean distance to {k} nearest neighbours; "
                           f"give at least {k + 1} or a smaller k")
    tree = KDTree(points)
    distances, _ = tree.query(points, k=k + 1)  # the first is the point itself
    spacing = float(np.median(distances[:, 1]))
    if bandwidth_um < spacing:
        warnings.warn(f"the KDE bandwidth {bandwidth_um:g} µm is below the points' typical spacing "
                      f"({spacing:.3g} µm, median nearest-neighbour distance); each point's density is "
                      "mostly its own", stacklevel=2)
    density = KernelDensity(kernel="gaussian", bandwidth=bandwidth_um).fit(points)
    scored = table.copy()
    scored[f"knn{k}_mean_um"] = distances[:, 1:].mean(axis=1)
    scored["kde_score"] = density.score_samples(points)
    return scored
