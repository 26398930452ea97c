"""``vemprof train`` and ``vemprof predict``: the pixel classifier from the command line."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from vemprof.cli._rich_progress import rich_progress
from vemprof.errors import VemprofError

#: Kinds of model `train` makes (the U-Net comes with its own issue).
KINDS = ("forest",)


def run_train(store_path: Path, *, annotations: str, kind: str, out: Path, level: int, seed: int, trees: int,
              overwrite: bool, console: Console) -> None:
    """Train a model on the store's annotations and save it to ``out``."""
    from vemprof.learn import save_model, train_classifier
    from vemprof.store import Store

    if kind not in KINDS:
        raise VemprofError(f"--kind {kind} is not available; this vemprof trains: {', '.join(KINDS)}")
    if trees < 1:
        raise VemprofError(f"--trees must be at least 1, got {trees}")
    if out.exists() and not overwrite:
        raise VemprofError(f"{out} already exists; choose another --out or pass --overwrite")
    store = Store.open(store_path)
    started = time.perf_counter()
    description, weights = train_classifier(store, annotations, level=level, trees=trees, seed=seed,
                                            progress=rich_progress)
    save_model(out, description, weights, overwrite=overwrite)
    voxels = ", ".join(f"{name} {count}" for name, count in description.training["annotated_voxels"].items())
    console.print(f"trained a {kind} on {description.training['sampled_voxels']} voxels "
                  f"(annotated: {voxels}) in {time.perf_counter() - started:.1f} s")
    console.print(f"wrote {out} ({len(weights) / 2**20:.1f} MiB)")


def run_predict(store_path: Path, *, model: Path, level: int | None, prefix: str, overwrite: bool,
                console: Console) -> None:
    """Classify the store's raw image with ``model``; write probabilities and labels."""
    from vemprof.learn import classify_store
    from vemprof.store import Store

    store = Store.open(store_path)
    started = time.perf_counter()
    written = classify_store(store, model, level=level, prefix=prefix, overwrite=overwrite, progress=rich_progress)
    console.print(f"classified {store_path} in {time.perf_counter() - started:.1f} s; wrote "
                  + ", ".join(f"probabilities/{n} and labels/{n}" for n in written))
