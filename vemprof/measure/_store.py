"""Measure a store's label image into ``tables/<labels>``: the library call behind `vemprof measure`."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.measure._compartments import compartment_table, object_parents
from vemprof.measure._distances import membrane_distances
from vemprof.measure._neighbours import nearest_objects
from vemprof.measure._shape import object_table
from vemprof.store import Store

#: Volumes up to this many voxels are read whole for the membrane distances (labels,
#: cell, nucleus and two float32 distance transforms: about 14 bytes a voxel).
IN_MEMORY_VOXELS = 2 ** 27


def measure_labels(store: Store, labels: str, *, image: str | None = "raw", cell: str | None = None,
                   nucleus: str | None = None, max_distance_um: float | None = None, sections: str | None = None,
                   csv: Path | None = None, compartments: str = "compartments",
                   progress: ProgressReporter = no_progress) -> pd.DataFrame:
    """The object table of ``labels/<labels>`` (`object_table`), with the intensity
    columns of ``image`` (``"raw"``, a probability map's name, or None), written as
    ``tables/<labels>.parquet`` (and to ``csv`` when given) and recorded in the
    store's provenance. Returns the table.

    With the label images ``cell`` and ``nucleus`` (both or neither), each object also
    gets its parent (`object_parents`: ``cell``, ``nucleus_fraction``, ``in_nucleus``)
    and its distances to the membranes (`membrane_distances`: volumes of up to
    `IN_MEMORY_VOXELS` read whole, larger ones block by block; exact, or with
    ``max_distance_um`` exact up to it and inf beyond), and the class's row of
    ``tables/<compartments>`` (`compartment_table`) is written or replaced. With the
    label image ``sections`` (`vemprof.spatial.split_nucleus`), each object gets the
    ``section`` nearest its centroid."""
    if (cell is None) != (nucleus is None):
        raise VemprofError("give --cell and --nucleus together (the cytoplasm is the cell without the nucleus)")
    _check_reach(max_distance_um)
    started = dt.datetime.now(dt.timezone.utc)
    volume = store.labels(labels)
    if image is None:
        grey = None
    elif image == "raw":
        grey = store.raw().data
    elif image in store.probability_names:
        grey = store.probabilities(image).data
    else:
        raise VemprofError(f"--image {image} is neither raw nor a probability map of {store.path}; it has: "
                           f"{', '.join(['raw', *store.probability_names])}")
    table = object_table(volume.data, spacing=store.spacing, image=grey, progress=progress)
    outputs = [f"tables/{labels}"]
    if sections is not None:
        from vemprof.spatial import assign_sections

        table = assign_sections(store, table, sections=sections)
    if cell is not None:
        cells, nuclei = store.labels(cell).data, store.labels(nucleus).data
        table = table.merge(object_parents(volume.data, cell=cells, nucleus=nuclei), on="label")
        table = table.merge(_membrane_columns(store, volume.data, table, cell=cell, nucleus=nucleus,
                                              max_distance_um=max_distance_um), on="label")
        row = compartment_table({labels: volume.data}, cell=cells, nucleus=nuclei, spacing=store.spacing)
        others = store.read_table(compartments) if compartments in store.table_names else row.iloc[:0]
        store.write_table(compartments, pd.concat([others[others["class"] != labels], row], ignore_index=True))
        outputs.append(f"tables/{compartments}")
    store.write_table(labels, table)
    if csv is not None:
        table.to_csv(csv, index=False)
    store.record("measure", outputs=outputs, started=started,
                 parameters={"labels": labels, "image": image, "cell": cell, "nucleus": nucleus,
                             "max_distance_um": max_distance_um, "sections": sections, "objects": len(table)})
    return table


def measure_distances(store: Store, labels: str, *, cell: str | None = None, nucleus: str | None = None,
                      to: str | None = None, radius_um: float = 1.0, max_distance_um: float | None = None,
                      progress: ProgressReporter = no_progress) -> pd.DataFrame:
    """``tables/<labels>`` (from `measure_labels`) with distance columns added or
    replaced: to the membranes of ``cell`` and ``nucleus`` (`membrane_distances`, as in
    `measure_labels`) and to the objects of ``labels/<to>`` (`nearest_objects`, within
    ``radius_um``); written back and recorded. Returns the table."""
    if (cell is None) != (nucleus is None):
        raise VemprofError("give --cell and --nucleus together (the distances are to the plasma membrane and the "
                           "nuclear envelope)")
    if cell is None and to is None:
        raise VemprofError("say what to measure the distances to: --cell and --nucleus (the membranes), "
                           "--to OTHER (another label image), or both")
    _check_reach(max_distance_um)
    started = dt.datetime.now(dt.timezone.utc)
    volume = store.labels(labels).data
    table = store.read_table(labels)
    if "centroid_z_um" not in table.columns:
        raise VemprofError(f"tables/{labels} has no centroids; measure the objects first (vemprof measure "
                           f"{store.path} --labels {labels})")
    new = []
    if cell is not None:
        new.append(_membrane_columns(store, volume, table, cell=cell, nucleus=nucleus,
                                     max_distance_um=max_distance_um))
    if to is not None:
        others = volume if to == labels else store.labels(to).data
        new.append(nearest_objects(volume, others, spacing=store.spacing, other_name=to, radius_um=radius_um,
                                   progress=progress))
    for columns in new:
        table = table.drop(columns=[c for c in columns.columns if c != "label" and c in table.columns])
        table = table.merge(columns, on="label", how="left")
    store.write_table(labels, table)
    store.record("distances", outputs=[f"tables/{labels}"], started=started,
                 parameters={"labels": labels, "cell": cell, "nucleus": nucleus, "to": to, "radius_um": radius_um,
                             "max_distance_um": max_distance_um})
    return table


def _check_reach(max_distance_um: float | None) -> None:
    """One line, before anything is read, for a reach of the membrane distances that is not a length."""
    if max_distance_um is not None and not 0 < max_distance_um < math.inf:
        raise VemprofError(f"--max-distance-um must be a distance above 0 µm, got {max_distance_um}; leave it out "
                           "for exact distances at every range")


def _membrane_columns(store: Store, labels, table: pd.DataFrame, *, cell: str, nucleus: str,
                      max_distance_um: float | None) -> pd.DataFrame:
    """`membrane_distances` of the objects of ``labels``: read whole up to
    `IN_MEMORY_VOXELS`, else block by block (exact, or up to ``max_distance_um``)."""
    arrays = [labels, store.labels(cell).data, store.labels(nucleus).data]
    if math.prod(labels.shape) <= IN_MEMORY_VOXELS:
        arrays = [np.asarray(array) for array in arrays]
    return membrane_distances(arrays[0], cell=arrays[1], nucleus=arrays[2], spacing=store.spacing,
                              centroids_um=table,
                              max_distance_nm=None if max_distance_um is None else max_distance_um * 1000)
