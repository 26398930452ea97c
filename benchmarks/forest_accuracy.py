"""Benchmark: how well the pixel classifier (feature bank + random forest) segments (issue 14, item 5).

On the **phantom** (`make_phantom()`, 256 × 512 × 512 at 25 × 20 × 20 nm), through the
same library calls the CLI makes (`annotate_planes`, `train_classifier`, `classify_store`):

* cell vs resin from annotations on 2 planes (``--every 128``: planes 0 and 128), trained
  and classified at pyramid level 1 and at level 0; IoU of ``labels/cell`` against the
  ground truth;
* nucleus and mitochondria from 1 plane in 10 (``--every 10``, whole planes), level 0.

On **real FIB-SEM** (``../shared/data/epfl_hippocampus_fibsem``, 5 nm, mitochondria): its
slices are not contiguous, so each is a one-plane volume; the forest is trained on the
left half of each of the 27 training slices and scored on the 5 test slices (whole).

Run: ``python benchmarks/forest_accuracy.py [--skip-phantom] [--skip-real] [--real DIR]
[--workdir DIR] [--scales-nm 10,20,40,80,160] [--trees N]``. About 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vemprof.evaluate import semantic_scores
from vemprof.learn import FeatureBank, annotate_planes, classify_store, save_model, train_classifier
from vemprof.learn._forest import TREES
from vemprof.store import Store, write_dataset
from vemprof.synth import make_phantom

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = ROOT.parent / "shared" / "data" / "epfl_hippocampus_fibsem"
REAL_SPACING = (5.0, 5.0, 5.0)


def phantom_runs(workdir: Path, bank: FeatureBank | None, trees: int) -> list[dict]:
    """Cell vs resin (2 planes; level 1 and 0), nucleus and mitochondria (1 in 10)."""
    started = time.perf_counter()
    phantom = make_phantom()
    store = write_dataset(workdir / "phantom.zarr", raw=phantom.image, spacing=phantom.spacing,
                          labels={name: phantom.labels[name] for name in ("cell", "nucleus", "mitochondria")},
                          tables={}, step="synth", parameters={})
    print(f"phantom made and written in {time.perf_counter() - started:.0f} s")
    rows = []
    annotate_planes(store, "cell_planes", from_labels=["cell"], every=128)
    for level in (1, 0):
        rows.append(_run(store, workdir, "cell_planes", ["cell"], phantom.labels, level=level, bank=bank,
                         trees=trees, what=f"cell vs resin, 2 planes (0, 128), level {level}"))
    annotate_planes(store, "organelle_planes", from_labels=["nucleus", "mitochondria"], every=10)
    rows.append(_run(store, workdir, "organelle_planes", ["nucleus", "mitochondria"], phantom.labels, level=0,
                     bank=bank, trees=trees, what="nucleus and mitochondria, 1 plane in 10 (26 planes), level 0"))
    return rows


def _run(store: Store, workdir: Path, annotations: str, classes: list[str], truth: dict, *, level: int, bank,
         trees: int, what: str) -> dict:
    started = time.perf_counter()
    description, weights = train_classifier(store, annotations, level=level, bank=bank, trees=trees)
    trained = time.perf_counter()
    model = save_model(workdir / f"{annotations}-level{level}.zip", description, weights, overwrite=True)
    classify_store(store, model, level=level, prefix="predicted_", overwrite=True)
    classified = time.perf_counter()
    scores = {name: semantic_scores(truth[name] > 0, Store.open(store.path).labels(f"predicted_{name}").data)["iou"]
              for name in classes}
    row = {"what": what, "train_s": trained - started, "classify_s": classified - trained,
           "sampled": description.training["sampled_voxels"], "channels": len(FeatureBank.from_dict(
               description.features).names()), **{f"IoU {n}": v for n, v in scores.items()}}
    print(row)
    return row


def real_run(folder: Path, bank: FeatureBank | None, trees: int) -> dict:
    """Mitochondria on the EPFL slices: train on the left half of each training slice."""
    import tifffile

    from vemprof.learn._features import compute_features
    from vemprof.learn._forest import (OnnxClassifier, fit_forest, forest_to_onnx, image_range, normalised)

    train_raw = tifffile.imread(folder / "train_raw.tif")
    train_mito = tifffile.imread(folder / "train_mito.tif") > 0
    test_raw = tifffile.imread(folder / "test_raw.tif")
    test_mito = tifffile.imread(folder / "test_mito.tif") > 0
    bank = bank or FeatureBank.default(REAL_SPACING)
    grey_range = image_range(train_raw)
    rng = np.random.default_rng(0)
    started = time.perf_counter()
    samples, targets = [], []
    half = train_raw.shape[2] // 2
    per_slice = 200_000 // len(train_raw)
    for plane, mask in zip(train_raw, train_mito):
        features = compute_features(normalised(plane[None], grey_range), spacing=REAL_SPACING, bank=bank)[0, :, :half]
        pick = rng.choice(features.shape[0] * features.shape[1], size=per_slice, replace=False)
        samples.append(features.reshape(-1, bank.count)[pick])
        targets.append(mask[:, :half].reshape(-1)[pick].astype(np.uint8) + 1)
    forest = fit_forest(np.concatenate(samples), np.concatenate(targets), trees=trees, seed=0)
    classifier = OnnxClassifier(forest_to_onnx(forest, bank.count))
    trained = time.perf_counter()
    test_range = image_range(test_raw)
    predicted = np.stack([
        classifier.probabilities(compute_features(normalised(plane[None], test_range), spacing=REAL_SPACING,
                                                  bank=bank).reshape(-1, bank.count))[:, 1].reshape(plane.shape) >= 0.5
        for plane in test_raw])
    scores = semantic_scores(test_mito, predicted)
    row = {"what": "EPFL mitochondria, trained on the left half of 27 slices, scored on 5 test slices",
           "train_s": trained - started, "classify_s": time.perf_counter() - trained,
           "sampled": sum(len(t) for t in targets), "channels": bank.count, "IoU mitochondria": scores["iou"],
           "precision": scores["precision"], "recall": scores["recall"]}
    print(row)
    return row


def report(rows: list[dict]) -> None:
    print()
    print("| run | channels | training voxels | train s | classify s | IoU |")
    print("|---|---:|---:|---:|---:|---|")
    for row in rows:
        ious = ", ".join(f"{k[4:]} {v:.3f}" for k, v in row.items() if k.startswith("IoU"))
        print(f"| {row['what']} | {row['channels']} | {row['sampled']} | {row['train_s']:.0f} | "
              f"{row['classify_s']:.0f} | {ious} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--skip-phantom", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument("--scales-nm", default=None, help="feature scales in nm (default: FeatureBank.default)")
    parser.add_argument("--trees", type=int, default=TREES, help="trees of each forest")
    arguments = parser.parse_args()
    bank = FeatureBank(tuple(float(s) for s in arguments.scales_nm.split(","))) if arguments.scales_nm else None
    rows = []
    with tempfile.TemporaryDirectory(dir=arguments.workdir) as scratch:
        if not arguments.skip_phantom:
            rows += phantom_runs(Path(scratch), bank, arguments.trees)
    if not arguments.skip_real:
        if (arguments.real / "train_raw.tif").exists():
            rows.append(real_run(arguments.real, bank, arguments.trees))
        else:
            print(f"no real data at {arguments.real}; skipped")
    report(rows)


if __name__ == "__main__":
    main()
