"""Score a store's objects as points: the library call behind `vemprof points`.

Each point (an object's centroid in ``tables/<labels>``) gets ``knn{k}_mean_um`` and
``kde_score`` (`point_scores`); with ``regions`` its ``section`` (`assign_sections`);
with ``surface`` (the nucleus) the points are also read as a pattern on the nuclear
envelope: their density per µm² of envelope per section and overall
(``tables/<labels>_density``, `region_densities`) and Ripley's L against complete
spatial randomness on the same envelope, overall and per section
(``tables/<labels>_ripley``, `ripley_on_surface`, with its global test's p-value and
verdict as columns).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from vemprof.spatial._points import CENTROIDS, point_scores
from vemprof.spatial._section_store import assign_sections, envelope_mesh
from vemprof.spatial._surface import WHOLE_SURFACE, region_densities, ripley_on_surface
from vemprof.store import Store

#: Columns of the global test copied from ``ripley_on_surface``'s attrs into each row.
_GLOBAL_TEST = ("p_value", "verdict", "statistic_um", "r_at_max_um")


def score_points(store: Store, labels: str, *, k: int = 8, bandwidth_um: float = 0.1, surface: str | None = None,
                 regions: str | None = None, simulations: int = 99, seed: int = 0) -> dict[str, pd.DataFrame]:
    """Score the points of ``tables/<labels>`` (module note), write the tables and record
    the step; returns them by name (``labels``, and with ``surface`` ``<labels>_density``
    and ``<labels>_ripley``)."""
    started = dt.datetime.now(dt.timezone.utc)
    table = point_scores(store.read_table(labels), k=k, bandwidth_um=bandwidth_um)
    if regions is not None:
        table = assign_sections(store, table, sections=regions)
    written = {labels: table}
    if surface is not None:
        vertices, faces, face_regions = envelope_mesh(store, nucleus=surface, sections=regions)
        points = table[list(CENTROIDS)].to_numpy(np.float64)
        point_regions = table["section"].to_numpy() if regions is not None else np.ones(len(points), np.int64)
        written[f"{labels}_density"] = region_densities(points, vertices, faces, point_regions=point_regions,
                                                        face_regions=face_regions)
        written[f"{labels}_ripley"] = _ripley_by_region(points, vertices, faces, point_regions=point_regions,
                                                        face_regions=face_regions, simulations=simulations,
                                                        seed=seed)
    for name, result in written.items():
        store.write_table(name, result)
    store.record("points", outputs=[f"tables/{name}" for name in written], started=started,
                 parameters={"labels": labels, "k": k, "bandwidth_um": bandwidth_um, "surface": surface,
                             "regions": regions, "simulations": simulations, "seed": seed})
    return written


def _ripley_by_region(points, vertices, faces, *, point_regions, face_regions, simulations, seed) -> pd.DataFrame:
    """Ripley's L on the whole envelope (region 0) and on each region's patch of it (with
    at least 2 points), one block of rows per region, the global test in every row."""
    parts = [(WHOLE_SURFACE, np.ones(len(points), bool), None)]
    if len(np.unique(face_regions)) > 1:
        parts += [(region, point_regions == region, face_regions == region) for region in np.unique(face_regions)]
    curves = []
    for region, chosen, patch in parts:
        if np.count_nonzero(chosen) < 2:
            continue
        curve = ripley_on_surface(points[chosen], vertices, faces, simulations=simulations, seed=seed,
                                  faces_mask=patch)
        curve.insert(0, "region", region)
        for name in _GLOBAL_TEST:
            curve[name] = curve.attrs[name]
        curves.append(pd.DataFrame(curve))
    return pd.concat(curves, ignore_index=True)
