"""Measure a store's label image into ``tables/<labels>``: the library call behind `vemprof measure`."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.measure._shape import object_table
from vemprof.store import Store


def measure_labels(store: Store, labels: str, *, image: str | None = "raw", csv: Path | None = None,
                   progress: ProgressReporter = no_progress) -> pd.DataFrame:
    """The object table of ``labels/<labels>`` (`object_table`), with the intensity
    columns of ``image`` (``"raw"``, a probability map's name, or None), written as
    ``tables/<labels>.parquet`` (and to ``csv`` when given) and recorded in the
    store's provenance. Returns the table."""
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
    store.write_table(labels, table)
    if csv is not None:
        table.to_csv(csv, index=False)
    store.record("measure", outputs=[f"tables/{labels}"], started=started,
                 parameters={"labels": labels, "image": image, "objects": len(table)})
    return table
