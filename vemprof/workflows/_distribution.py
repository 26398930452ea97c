"""The distribution of nuclear pores on the envelope: the last step of `vemprof pores`.

For the pores of a label image: each pore's centroid, section (the nucleus split at its
invagination, `vemprof.spatial.split_nucleus`, made if the store has none), nucleus,
``knn8_mean_um`` and ``kde_score`` (`score_points`) and distance to the envelope;
pores per µm² of envelope for the whole nucleus and per section; Student's and Welch's
t-tests (and Mann–Whitney) of the 8-nearest-neighbour distance between the sections;
and figures: the pores coloured by each score (PNG and GLB) and the section comparison.

Several nuclei (a volume of many cells, sections split with ``each_nucleus``): nucleus
k's sections are 2k − 1 and 2k; the density table has a row per nucleus besides its
sections (``nucleus`` k, ``section`` 0) and one for all nuclei (0, 0); the sections of
each nucleus are tested against each other (one row per nucleus with two sections of at
least two pores); the comparison figure shows the first nucleus tested.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from pathlib import Path

import dask.array as da
import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.measure import measure_labels, membrane_distances
from vemprof.render import comparison_figure, render_labels
from vemprof.spatial import COMPARISON_COLUMNS, compare, nucleus_of_section, score_points, split_nucleus
from vemprof.store import Store
from vemprof.workflows._pockets import _check_nucleus

#: Volumes up to this many voxels have their pores' envelope distances taken whole (as
#: `vemprof.measure` does), larger ones block by block.
IN_MEMORY_VOXELS = 2 ** 27

#: The per-pore columns of the distribution table, besides the k-nearest one.
_POINT_COLUMNS = ("label", "centroid_z_um", "centroid_y_um", "centroid_x_um", "nucleus", "section")


def distribute_pores(store: Store, *, pores: str, nucleus: str = "nucleus", sections: str = "sections",
                     prefix: str = "", figures: Path, k: int = 8, bandwidth_um: float = 0.1, simulations: int = 99,
                     each_nucleus: bool = False, progress: ProgressReporter = no_progress) -> dict[str, pd.DataFrame]:
    """Measure where the pores of ``labels/<pores>`` lie (module note). Writes
    ``tables/<prefix>pores`` (one row per pore), ``tables/<prefix>pore_density`` (per
    nucleus and section, and as nucleus 0, section 0 the whole envelope: ``pores``,
    ``envelope_um2``, ``pores_per_um2``) and ``tables/<prefix>pore_sections_test``, and
    the figures into the folder ``figures``; returns the three tables by name. Where
    ``labels/<sections>`` is missing it is made, with ``each_nucleus`` for several nuclei."""
    started = dt.datetime.now(dt.timezone.utc)
    store.labels(pores)  # a one-line error, before anything is written, if it is missing
    _check_nucleus(store.labels(nucleus).data > 0, name=nucleus, each_nucleus=each_nucleus)
    if sections not in store.label_names:
        split_nucleus(store, nucleus=nucleus, out=sections, each_nucleus=each_nucleus, progress=progress)
    measured = measure_labels(store, pores, image=None, sections=sections, progress=progress)
    written = score_points(store, pores, k=k, bandwidth_um=bandwidth_um, surface=nucleus, regions=sections,
                           simulations=simulations)
    knn = f"knn{k}_mean_um"
    scored = written[pores].assign(nucleus=lambda t: nucleus_of_section(t["section"]))
    table = scored[[*_POINT_COLUMNS, knn, "kde_score"]].merge(
        _envelope_distances(store, pores, nucleus=nucleus, centroids=measured), on="label")
    density = _by_nucleus(written[f"{pores}_density"].rename(columns={
        "region": "section", "points": "pores", "area_um2": "envelope_um2", "per_um2": "pores_per_um2"}))
    test = _section_tests(table, knn)
    tables = {f"{prefix}pores": table, f"{prefix}pore_density": density, f"{prefix}pore_sections_test": test}
    for name, result in tables.items():
        store.write_table(name, result)
    figures.mkdir(parents=True, exist_ok=True)
    for column in (knn, "kde_score"):
        render_labels(store, pores, color_by=column, out=figures / f"pores_{column}.png",
                      mesh=figures / f"pores_{column}.glb", cmap="magma")
    shown = int(test["nucleus"].iloc[0]) if len(test) else int(table["nucleus"].min())
    nuclei = table["nucleus"].nunique()
    comparison_figure(table[table["nucleus"] == shown], column=knn, by="section", test=test,
                      out=figures / "sections_knn.png",
                      title="Nuclear pores: distance to the 8 nearest, by nucleus section"
                            + (f" (nucleus {shown} of {nuclei})" if nuclei > 1 else ""))
    store.record("pores", outputs=[f"tables/{name}" for name in tables], started=started,
                 parameters={"step": "distribute", "pores": pores, "nucleus": nucleus, "sections": sections, "k": k,
                             "bandwidth_um": bandwidth_um, "simulations": simulations, "figures": str(figures),
                             "each_nucleus": each_nucleus})
    return tables


def _by_nucleus(density: pd.DataFrame) -> pd.DataFrame:
    """The density table by section (`region_densities`, renamed) with a ``nucleus``
    column, 0 for all nuclei; with several nuclei also a row per nucleus (``section`` 0).
    Sorted by nucleus, then section."""
    density.insert(0, "nucleus", nucleus_of_section(density["section"]))
    sections = density[density["section"] > 0]
    rows = [density[density["section"] == 0], sections]
    if sections["nucleus"].nunique() > 1:
        whole = sections.groupby("nucleus", as_index=False)[["pores", "envelope_um2"]].sum()
        whole.insert(1, "section", 0)
        whole["pores_per_um2"] = whole["pores"] / whole["envelope_um2"]
        rows.append(whole)
    return pd.concat(rows, ignore_index=True).sort_values(["nucleus", "section"]).reset_index(drop=True)


def _section_tests(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` compared between the sections of each nucleus with two sections of at
    least 2 pores each (`compare`), one block of rows per nucleus with a ``nucleus``
    column. Where no nucleus has (one round nucleus, say), a table with the columns and
    no row, and a warning: the densities stand without a test."""
    tests = []
    for nucleus in sorted(table["nucleus"].unique()):
        counts = table.loc[table["nucleus"] == nucleus, "section"].value_counts()
        if (counts >= 2).sum() >= 2:
            tests.append(compare(table[table["nucleus"] == nucleus], column, "section").assign(nucleus=nucleus))
    if not tests:
        warnings.warn("no nucleus has two sections with at least 2 pores each, so the sections are not compared "
                      "(no t-test); check labels/sections and the pores found", stacklevel=3)
        return pd.DataFrame(columns=[*COMPARISON_COLUMNS, "nucleus"], dtype=float)
    return pd.concat(tests, ignore_index=True)


def _envelope_distances(store: Store, pores: str, *, nucleus: str, centroids: pd.DataFrame) -> pd.DataFrame:
    """Each pore's distance to the envelope (the nucleus's surface), surface to surface and
    from its centroid, µm (`membrane_distances`; the cell is taken as the whole volume)."""
    labels, mask = store.labels(pores).data, store.labels(nucleus).data
    cell = da.ones(labels.shape, dtype=bool, chunks=labels.chunks)
    if math.prod(labels.shape) <= IN_MEMORY_VOXELS:
        labels, cell, mask = np.asarray(labels), np.ones(labels.shape, bool), np.asarray(mask)
    distances = membrane_distances(labels, cell=cell, nucleus=mask, spacing=store.spacing, centroids_um=centroids)
    return distances[["label", "dist_envelope_um", "centroid_dist_envelope_um"]]
