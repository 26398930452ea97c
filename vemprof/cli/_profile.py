"""``vemprof profile``: a pipeline run on a store, or on a stack imported into one first."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from vemprof.cli._rich_progress import rich_progress
from vemprof.errors import VemprofError


def run_profile(target: Path, *, pipeline: Path | None, prefix: str, folder: Path | None, console: Console) -> None:
    """Profile the store (or the stack, imported first) at ``target`` with ``pipeline``."""
    from vemprof.pipeline import DEFAULT_PIPELINE, load_pipeline, profile
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
        console.print(f"{result.status}: {target} → {destination}")
        store = Store.open(destination)
    outcomes = profile(store, pipeline=chosen, prefix=prefix, folder=folder, progress=rich_progress,
                       say=lambda line: console.print(line, highlight=False, soft_wrap=True))
    ran = [o.step for o in outcomes if o.outcome == "ran"]
    console.print(f"profiled {store.path}: ran {', '.join(ran) or 'nothing'}; "
                  f"{len(outcomes) - len(ran)} step(s) unchanged and skipped")
