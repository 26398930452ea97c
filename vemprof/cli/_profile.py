"""``vemprof profile`` and ``vemprof batch``: a pipeline run on one store (or a stack
imported first) or on many, here or on a Dask cluster."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vemprof.cli._rich_progress import rich_progress
from vemprof.errors import VemprofError


def run_profile(target: Path, *, pipeline: Path | None, prefix: str, folder: Path | None, workers: int | None,
                scheduler: str | None, console: Console) -> None:
    """Profile the store (or the stack, imported first) at ``target`` with ``pipeline``:
    here, with every step shown, or as one task on a Dask cluster."""
    from vemprof.pipeline import DEFAULT_PIPELINE, dask_client, load_pipeline, profile, profile_many
    from vemprof.store import Store, import_volume, is_store

    if not target.exists():
        raise VemprofError(f"no such dataset store or stack: {target}; give a store (vemprof import, vemprof synth) "
                           "or a stack (TIFF, MRC, HDF5, OME-Zarr) to import first")
    chosen = load_pipeline(pipeline or DEFAULT_PIPELINE)
    if target.is_dir() and is_store(target):
        store = Store.open(target)
    else:
        destination = target.with_name(f"{target.name.split('.')[0]}.zarr")
        step = next((step for step in chosen.steps if step.step == "import"), None)
        result = import_volume(target, destination, voxel_size_nm=step.voxel_size_nm if step else None,
                               progress=rich_progress)
        console.print(f"{result.status}: {target} → {destination}", highlight=False, soft_wrap=True)
        store = Store.open(destination)
    if workers is not None or scheduler is not None:
        if folder is not None:
            raise VemprofError("--folder is for a run here; on a cluster the outputs go beside the store")
        with dask_client(workers=workers, scheduler=scheduler) as client:
            rows = profile_many([store.path], pipeline=chosen, prefix=prefix, client=client)
        row = rows.iloc[0]
        if row["status"] == "failed":
            raise VemprofError(row["error"])
        console.print(f"profiled {store.path} on the cluster in {row['seconds']:.0f} s; ran {row['ran'] or 'nothing'}",
                      highlight=False, soft_wrap=True)
        return
    outcomes = profile(store, pipeline=chosen, prefix=prefix, folder=folder, progress=rich_progress,
                       say=lambda line: console.print(line, highlight=False, soft_wrap=True))
    ran = [o.step for o in outcomes if o.outcome == "ran"]
    console.print(f"profiled {store.path}: ran {', '.join(ran) or 'nothing'}; "
                  f"{len(outcomes) - len(ran)} step(s) unchanged and skipped", highlight=False, soft_wrap=True)


def run_batch(stores: list[Path], *, pipeline: Path | None, prefix: str, out: Path, workers: int | None,
              scheduler: str | None, console: Console) -> int:
    """Profile every store; print a line as each ends and the summary; returns the exit
    status (1 when a store failed, 0 otherwise)."""
    from vemprof.pipeline import DEFAULT_PIPELINE, dask_client, load_pipeline, profile_many, summarise
    from vemprof.store import is_store

    chosen = load_pipeline(pipeline or DEFAULT_PIPELINE)
    missing = [str(store) for store in stores if not (store.is_dir() and is_store(store))]
    if missing:
        raise VemprofError(f"not a dataset store: {', '.join(missing)}; import each stack first (vemprof import) "
                           "or profile it alone (vemprof profile STACK)")
    if len(set(stores)) != len(stores):
        raise VemprofError("a store is given twice; give each once")

    with rich_progress(f"profiling {len(stores)} stores", len(stores)) as advance:
        def done(row: dict) -> None:
            failed = row["status"] == "failed"
            what = f"[red]failed:[/] {row['error']}" if failed else f"profiled in {row['seconds']:.0f} s"
            console.print(f"{row['store']}: {what}", highlight=False, soft_wrap=True)
            advance(1)

        with dask_client(workers=workers, scheduler=scheduler) as client:
            rows = profile_many(stores, pipeline=chosen, prefix=prefix, client=client, done=done)
    report = summarise(rows, out=out)
    failed = int((rows["status"] == "failed").sum())
    console.print(f"{len(rows) - failed} of {len(rows)} stores profiled; wrote {out / 'summary.csv'} and {report}",
                  highlight=False, soft_wrap=True)
    return 1 if failed else 0
