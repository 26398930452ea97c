"""The distribution of nuclear pores on the envelope: the last step of `vemprof pores`.

For the pores of a label image: each pore's centroid, section (the nucleus split at its
invagination, `vemprof.spatial.split_nucleus`, made if the store has none),
``knn8_mean_um`` and ``kde_score`` (`score_points`) and distance to the envelope;
pores per µm² of envelope for the whole nucleus and per section; Student's and Welch's
t-tests (and Mann–Whitney) of the 8-nearest-neighbour distance between the sections;
and figures: the pores coloured by each score (PNG and GLB) and the section comparison.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.measure import measure_labels, membrane_distances
from vemprof.render import comparison_figure, render_labels
from vemprof.spatial import compare, score_points, split_nucleus
from vemprof.store import Store
from vemprof.workflows._pockets import IN_MEMORY_VOXELS

#: The per-pore columns of the distribution table, besides the k-nearest one.
_POINT_COLUMNS = ("label", "centroid_z_um", "centroid_y_um", "centroid_x_um", "section")


def distribute_pores(store: Store, *, pores: str, nucleus: str = "nucleus", sections: str = "sections",
                     prefix: str = "", figures: Path, k: int = 8, bandwidth_um: float = 0.1, simulations: int = 99,
                     progress: ProgressReporter = no_progress) -> dict[str, pd.DataFrame]:
    """Measure where the pores of ``labels/<pores>`` lie (module note). Writes
    ``tables/<prefix>pores`` (one row per pore), ``tables/<prefix>pore_density`` (per
    section and, as section 0, the whole nucleus: ``pores``, ``envelope_um2``,
    ``pores_per_um2``) and ``tables/<prefix>pore_sections_test``, and the figures into the
    folder ``figures``; returns the three tables by name."""
    started = dt.datetime.now(dt.timezone.utc)
    store.labels(pores), store.labels(nucleus)  # a one-line error, before anything is written, if either is missing
    if sections not in store.label_names:
        split_nucleus(store, nucleus=nucleus, out=sections, progress=progress)
    measured = measure_labels(store, pores, image=None, sections=sections, progress=progress)
    written = score_points(store, pores, k=k, bandwidth_um=bandwidth_um, surface=nucleus, regions=sections,
                           simulations=simulations)
    knn = f"knn{k}_mean_um"
    table = written[pores][[*_POINT_COLUMNS, knn, "kde_score"]].merge(
        _envelope_distances(store, pores, nucleus=nucleus, centroids=measured), on="label")
    density = written[f"{pores}_density"].rename(columns={"region": "section", "points": "pores",
                                                          "area_um2": "envelope_um2", "per_um2": "pores_per_um2"})
    test = compare(table, knn, "section")
    tables = {f"{prefix}pores": table, f"{prefix}pore_density": density, f"{prefix}pore_sections_test": test}
    for name, result in tables.items():
        store.write_table(name, result)
    figures.mkdir(parents=True, exist_ok=True)
    for column in (knn, "kde_score"):
        render_labels(store, pores, color_by=column, out=figures / f"pores_{column}.png",
                      mesh=figures / f"pores_{column}.glb", cmap="magma")
    comparison_figure(table, column=knn, by="section", test=test, out=figures / "sections_knn.png",
                      title="Nuclear pores: distance to the 8 nearest, by nucleus section")
    store.record("pores", outputs=[f"tables/{name}" for name in tables], started=started,
                 parameters={"step": "distribute", "pores": pores, "nucleus": nucleus, "sections": sections, "k": k,
                             "bandwidth_um": bandwidth_um, "simulations": simulations, "figures": str(figures)})
    return tables


def _envelope_distances(store: Store, pores: str, *, nucleus: str, centroids: pd.DataFrame) -> pd.DataFrame:
    """Each pore's distance to the envelope (the nucleus's surface), surface to surface and
    from its centroid, µm (`membrane_distances`; the cell is taken as the whole volume)."""
    labels, mask = store.labels(pores).data, store.labels(nucleus).data
    cell = da.ones(labels.shape, bool, chunks=labels.chunks)
    if math.prod(labels.shape) <= IN_MEMORY_VOXELS:
        labels, cell, mask = np.asarray(labels), np.ones(labels.shape, bool), np.asarray(mask)
    distances = membrane_distances(labels, cell=cell, nucleus=mask, spacing=store.spacing, centroids_um=centroids,
                                   staging=store.path / ".staging" / "distances")
    return distances[["label", "dist_envelope_um", "centroid_dist_envelope_um"]]
