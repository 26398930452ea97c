"""``vemprof train`` and ``vemprof predict``: the pixel classifier from the command line."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console

from vemprof.cli._rich_progress import rich_progress
from vemprof.errors import VemprofError

#: Kinds of model `train` makes.
KINDS = ("forest", "unet")
#: Beside ``--out``, a U-Net training's checkpoint while it runs: run the same command
#: again after an interruption to resume from it.
CHECKPOINT_SUFFIX = ".checkpoint.pt"


def run_train(store_path: Path, *, annotations: str, kind: str, out: Path, level: int, seed: int, trees: int,
              max_minutes: float, max_iterations: int, device: str, rotations: str, every: int, overwrite: bool,
              console: Console) -> None:
    """Train a model on the store's annotations and save it to ``out``."""
    from vemprof.learn import save_model, train_classifier, train_unet
    from vemprof.store import Store

    if kind not in KINDS:
        raise VemprofError(f"--kind {kind} is not available; this vemprof trains: {', '.join(KINDS)}")
    if trees < 1:
        raise VemprofError(f"--trees must be at least 1, got {trees}")
    if out.exists() and not overwrite:
        raise VemprofError(f"{out} already exists; choose another --out or pass --overwrite")
    store = Store.open(store_path)
    started = time.perf_counter()
    if kind == "forest":
        description, weights = train_classifier(store, annotations, level=level, trees=trees, seed=seed,
                                                progress=rich_progress)
        others = {}
        voxels = ", ".join(f"{name} {count}" for name, count in description.training["annotated_voxels"].items())
        summary = f"on {description.training['sampled_voxels']} voxels (annotated: {voxels})"
    else:
        description, weights, others = train_unet(store, annotations, level=level, max_minutes=max_minutes,
                                                  max_iterations=max_iterations, device=device, seed=seed,
                                                  rotations=_angles(rotations), every=every,
                                                  checkpoint=out.with_name(out.name + CHECKPOINT_SUFFIX),
                                                  progress=rich_progress)
        training = description.training
        summary = (f"for {training['iterations']} iterations on {len(training['planes']['training'])} planes "
                   f"(best validation mean IoU {training['best_mean_iou']:.3f})")
    save_model(out, description, weights, others=others, overwrite=overwrite)
    console.print(f"trained a {kind} {summary} in {time.perf_counter() - started:.1f} s")
    console.print(f"wrote {out} ({len(weights) / 2**20:.1f} MiB)")


def run_predict(store_path: Path, *, model: Path, level: int | None, prefix: str, overwrite: bool, device: str,
                axes: str, cleanup: dict, each_cell: bool, within: str | None, console: Console) -> None:
    """Classify the store's raw image with ``model``; write probabilities and labels."""
    from vemprof.learn import classify_store
    from vemprof.store import Store

    store = Store.open(store_path)
    started = time.perf_counter()
    written = classify_store(store, model, level=level, prefix=prefix, overwrite=overwrite, device=device,
                             axes=axes, cleanup=cleanup, each_cell=each_cell, within=within,
                             progress=rich_progress)
    console.print(f"classified {store_path} in {time.perf_counter() - started:.1f} s; wrote "
                  + ", ".join(f"probabilities/{n} and labels/{n}" for n in written))


def _angles(text: str) -> tuple[float, ...]:
    """``--rotations`` as angles in degrees ("" → none)."""
    try:
        return tuple(float(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise VemprofError(f"--rotations takes angles in degrees separated by commas, e.g. 30,60,90; got {text!r}") \
            from None
