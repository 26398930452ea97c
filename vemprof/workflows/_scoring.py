"""Pore detection scored against true pores, overall and by the pore's orientation.

A pore whose envelope normal lies along Z is seen face-on in the XY planes (a ring); one
whose normal lies in the XY plane is cut across (a gap in a line); in between it is
hard to see in any single plane. So recall is broken down by the angle between the
envelope normal at each true pore and the Z axis (`ANGLE_BINS`). The normal is that of
the nearest triangle of the envelope mesh (`vemprof.spatial.envelope_mesh`); the
matching is `vemprof.evaluate`'s (one to one within ``tolerance_nm``, most matches first).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.spatial import cKDTree

from vemprof.evaluate import centroids_nm
from vemprof.evaluate._counts import detection_scores
from vemprof.evaluate._points import matched_points
from vemprof.spatial import envelope_mesh
from vemprof.store import Store

#: Edges of the orientation bins, degrees between the envelope normal and Z.
ANGLE_BINS = (0.0, 30.0, 60.0, 90.0)


def score_detection(store: Store, *, truth: str, found: dict[str, str], nucleus: str,
                    tolerance_nm: float) -> pd.DataFrame:
    """Each route's detection (``found``: route name → label image) scored against the
    pores of ``labels/<truth>``: one row per route and orientation bin (``angle``
    'all' first), with ``truth``, ``found`` (true pores matched), ``recall`` and, on the
    'all' rows, ``predicted``, ``precision`` and ``f1``."""
    truth_nm = centroids_nm(store.labels(truth).data, spacing=store.spacing)
    angles = normal_angles(store, truth_nm, nucleus=nucleus)
    rows = []
    for route, labels in found.items():
        found_nm = centroids_nm(store.labels(labels).data, spacing=store.spacing)
        matched = _matched_truth(truth_nm, found_nm, tolerance_nm=tolerance_nm)
        scores = detection_scores(int(matched.sum()), len(found_nm) - int(matched.sum()), len(truth_nm)
                                  - int(matched.sum()))
        rows.append({"route": route, "labels": labels, "angle": "all", "truth": len(truth_nm),
                     "found": int(matched.sum()), "recall": scores["recall"], "predicted": len(found_nm),
                     "precision": scores["precision"], "f1": scores["f1"]})
        for low, high in zip(ANGLE_BINS[:-1], ANGLE_BINS[1:]):
            inside = (angles >= low) & ((angles < high) | (high == ANGLE_BINS[-1]))
            rows.append({"route": route, "labels": labels, "angle": f"{low:g}-{high:g}", "truth": int(inside.sum()),
                         "found": int(matched[inside].sum()),
                         "recall": float(matched[inside].mean()) if inside.any() else np.nan})
    return pd.DataFrame(rows)


def normal_angles(store: Store, points_nm: np.ndarray, *, nucleus: str) -> np.ndarray:
    """The angle (degrees, 0–90) between Z and the envelope's normal nearest each point (n, 3; nm)."""
    vertices, faces, _ = envelope_mesh(store, nucleus=nucleus, sections=None)
    corners = vertices[faces]
    normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    lengths = np.maximum(np.linalg.norm(normals, axis=1), np.finfo(float).tiny)
    nearest = cKDTree(corners.mean(axis=1)).query(np.asarray(points_nm, float) / 1000)[1]
    return np.degrees(np.arccos(np.clip(np.abs(normals[nearest, 0]) / lengths[nearest], 0, 1)))


def _matched_truth(truth_nm: np.ndarray, found_nm: np.ndarray, *, tolerance_nm: float) -> np.ndarray:
    """Whether each true point is matched (one to one, within ``tolerance_nm``)."""
    matched = np.zeros(len(truth_nm), bool)
    if len(truth_nm) and len(found_nm):
        matched[matched_points(truth_nm, found_nm, tolerance_nm=tolerance_nm)["i"]] = True
    return matched
