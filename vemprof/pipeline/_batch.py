"""Many stores profiled at once (``vemprof batch``), in this process or on a Dask cluster.

Each store is one task: `profile_store` runs the pipeline on it (`profile`) and returns
a row of its key numbers. On a cluster (`dask.distributed`: a local one of worker
processes, ``--workers N``, or an existing scheduler, ``--scheduler ADDRESS``) the tasks
run on the workers; a worker lost mid-run has its task run again on another, which skips
the steps the lost one finished (a run resumes: `vemprof.pipeline._profile`), so the
results are those of an undisturbed run. A store that fails is a row with its error; the
others go on. `summarise` writes the summary table and a comparison report.
"""

from __future__ import annotations

import contextlib
import html
import os
import time
from pathlib import Path
from typing import Callable, Iterator, Sequence

import dask
import pandas as pd

from vemprof.errors import VemprofError

#: How long a scheduler may take to answer, seconds.
CONNECT_TIMEOUT_S = 10
#: The summary's numbers: (column, table, how it is made from the table).
_NUMBERS = {
    "cell_um3": ("compartments", lambda t: t["cell_volume_um3"].iloc[0]),
    "nucleus_pct_of_cell": ("compartments", lambda t: _row(t, "nucleus")["pct_of_cell"]),
    "mitochondria": ("compartments", lambda t: int(_row(t, "mitochondria")["count"])),
    "mitochondria_pct_of_cytoplasm": ("compartments", lambda t: _row(t, "mitochondria")["pct_of_cytoplasm"]),
    "mitochondria_sv_median_per_um": ("mitochondria", lambda t: t["sv_ratio_per_um"].median()),
    "pores": ("pore_density", lambda t: int(t.loc[t["section"] == 0, "pores"].iloc[0])),
    "pores_per_um2": ("pore_density", lambda t: t.loc[t["section"] == 0, "pores_per_um2"].iloc[0]),
    "sections_knn8_welch_p": ("pore_sections_test", lambda t: t["welch_p"].iloc[0]),
}


def profile_store(path: str | os.PathLike, *, pipeline, prefix: str = "") -> dict:
    """Profile the store at ``path`` with ``pipeline`` (a file or a `Pipeline`); one row:
    ``store``, ``status`` (``profiled`` or ``failed``), ``error``, ``seconds``, the steps
    ``ran``, and the key numbers found. Never raises for a store's own problem."""
    from vemprof.pipeline._profile import profile
    from vemprof.store import Store

    started = time.perf_counter()
    row = {"store": str(path), "status": "profiled", "error": "", "ran": ""}
    try:
        store = Store.open(path)
        # on a worker, the store's blocks are computed by its own threads: handing them to
        # the cluster from inside a task would wait on the worker's only thread
        with dask.config.set(scheduler="threads"):
            outcomes = profile(store, pipeline=pipeline, prefix=prefix)
        row["ran"] = ",".join(o.step for o in outcomes if o.outcome == "ran")
        row.update(_numbers(store, prefix))
    except VemprofError as error:
        row.update(status="failed", error=str(error))
    except Exception as error:  # a library's failure on this store must not stop the others
        row.update(status="failed", error=f"{type(error).__name__}: {error}")
    row["seconds"] = round(time.perf_counter() - started, 1)
    return row


def profile_many(paths: Sequence[Path], *, pipeline, prefix: str = "", client=None,
                 done: Callable[[dict], None] = lambda row: None) -> pd.DataFrame:
    """Profile every store of ``paths`` (on ``client``'s cluster when given, else one after
    the other here); ``done(row)`` is called as each ends. Returns the rows in order."""
    if client is None:
        rows = []
        for path in paths:
            rows.append(profile_store(path, pipeline=pipeline, prefix=prefix))
            done(rows[-1])
        return pd.DataFrame(rows)
    from distributed import as_completed

    futures = {client.submit(profile_store, str(path), pipeline=pipeline, prefix=prefix, pure=False): index
               for index, path in enumerate(paths)}
    rows: list[dict | None] = [None] * len(paths)
    for future in as_completed(futures):
        try:
            row = future.result()
        except Exception as error:  # the task itself lost more workers than the scheduler allows
            row = {"store": str(paths[futures[future]]), "status": "failed", "error": f"{type(error).__name__}: "
                   f"{error}", "ran": "", "seconds": float("nan")}
        rows[futures[future]] = row
        done(row)
    return pd.DataFrame(rows)


@contextlib.contextmanager
def dask_client(*, workers: int | None = None, scheduler: str | None = None) -> Iterator[object | None]:
    """A `distributed.Client`: of a local cluster of ``workers`` processes, or of the
    scheduler at ``scheduler``; None (run here) with neither. One line when the scheduler
    does not answer."""
    if workers is not None and scheduler is not None:
        raise VemprofError("give --workers (a local cluster) or --scheduler (an existing one), not both")
    if workers is None and scheduler is None:
        yield None
        return
    from distributed import Client, LocalCluster

    if workers is not None:
        if workers < 1:
            raise VemprofError(f"--workers must be at least 1, got {workers}")
        with LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None) as cluster, \
                Client(cluster) as client:
            yield client
        return
    try:
        client = Client(scheduler, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError) as error:
        raise VemprofError(f"no Dask scheduler answers at {scheduler} ({type(error).__name__}); start one "
                           "(dask scheduler, then dask worker ADDRESS) or fix the address") from None
    with client:
        yield client


def summarise(rows: pd.DataFrame, *, out: Path) -> Path:
    """Write ``out/summary.parquet``, ``out/summary.csv`` and ``out/comparison.html`` (the
    table and a bar chart per number, one bar per store); returns the report's path."""
    import base64
    import io

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from vemprof.report import write_page, write_tables

    write_tables({"summary": rows}, out)
    numbers = [column for column in _NUMBERS if column in rows and rows[column].notna().any()]
    figures = []
    names = [Path(store).name.removesuffix(".zarr") for store in rows["store"]]
    for column in numbers:
        figure, axis = plt.subplots(figsize=(1.2 + 0.6 * len(rows), 3.0), dpi=120)
        axis.bar(names, rows[column].astype(float), color="tab:blue")
        axis.set_title(column, fontsize=9)
        axis.tick_params(axis="x", labelrotation=45, labelsize=7)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        plt.close(figure)
        data = base64.b64encode(buffer.getvalue()).decode()
        figures.append(f"<img alt='{column}' src='data:image/png;base64,{data}'>")
    failed = rows[rows["status"] == "failed"]
    failures = "".join(f"<li>{html.escape(row.store)}: {html.escape(row.error)}</li>" for row in failed.itertuples())
    return write_page(out / "comparison.html", title="vemprof batch", sections=[
        f"<h1>vemprof batch: {len(rows)} stores, {len(rows) - len(failed)} profiled, {len(failed)} failed</h1>",
        "<h2>Each store</h2>", rows.to_html(index=False, float_format=lambda v: f"{v:.4g}", border=0),
        "<h2>Compared</h2>", "".join(figures) or "<p>No numbers to compare.</p>",
        f"<h2>Failed</h2><ul>{failures}</ul>" if failures else ""])


def _numbers(store, prefix: str) -> dict:
    """The summary's numbers that the store's tables hold."""
    found = {}
    for column, (table, value) in _NUMBERS.items():
        if prefix + table in store.table_names:
            table_values = store.read_table(prefix + table)
            if "class" in table_values:
                table_values = table_values.assign(**{"class": table_values["class"].str.removeprefix(prefix)})
            try:
                found[column] = value(table_values)
            except (KeyError, IndexError):
                continue
    return found


def _row(table: pd.DataFrame, name: str) -> pd.Series:
    return table.loc[table["class"] == name].iloc[0]
