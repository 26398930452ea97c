"""Benchmark: how well the 2D U-Net segments nucleus and mitochondria (issue 15, item 5).

Through the library calls the CLI makes (`annotate_planes`, `train_unet`, `classify_store`):

* **phantom** (`make_phantom()`, 256 × 512 × 512 at 25 × 20 × 20 nm), the published
  regime: nucleus and mitochondria painted on 1 plane in 10, about half of each painted
  plane (``--every 10 --fraction 0.5``); trained for at most ``--max-minutes`` at
  ``--level``, predicted over the whole volume. Scores: IoU of nucleus and mitochondria,
  mitochondria instance F1 at IoU ≥ 0.5 and AP-75 against the phantom's instances;
* **real FIB-SEM** (``../shared/data/epfl_hippocampus_fibsem``, 5 nm, mitochondria): the
  27 training slices as a stack (a 2D network takes them one by one), the left half of
  each painted; scored on the 5 test slices (whole), probability ≥ 0.5 (the slices are
  not contiguous, so the 3D clean-up does not apply).

With ``--contacts`` the seams between touching mitochondria are painted as a class of
their own (``annotate-planes --contacts mitochondria``), which the clean-up uses to
separate them. With ``--zyx`` the phantom is also predicted along Z, Y and X planes
(``predict --axes zyx``) and scored again.

Run: ``python benchmarks/unet_accuracy.py [--max-minutes 10] [--level 0] [--fraction 0.5] [--contacts]
[--zyx] [--skip-phantom] [--skip-real] [--keep DIR]``. About 2 × ``--max-minutes`` plus a few
minutes of prediction on 2 cores.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

from vemprof.evaluate import instance_scores, semantic_scores
from vemprof.learn import annotate_planes, classify_store, save_model, train_unet
from vemprof.store import Store, write_dataset
from vemprof.synth import make_phantom

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REAL = ROOT.parent / "shared" / "data" / "epfl_hippocampus_fibsem"
REAL_SPACING = (5.0, 5.0, 5.0)


def phantom_run(workdir: Path, *, max_minutes: float, level: int, every: int, fraction: float,
                contacts: bool, zyx: bool) -> dict:
    started = time.perf_counter()
    phantom = make_phantom()
    store = write_dataset(workdir / "phantom.zarr", raw=phantom.image, spacing=phantom.spacing, overwrite=True,
                          labels={name: phantom.labels[name] for name in ("nucleus", "mitochondria")},
                          tables={}, step="synth", parameters={})
    print(f"phantom made and written in {time.perf_counter() - started:.0f} s", flush=True)
    annotate_planes(store, "painted", from_labels=["nucleus", "mitochondria"], every=every, fraction=fraction,
                    contacts=["mitochondria"] if contacts else [])
    row = _train_and_predict(store, workdir, "painted", max_minutes=max_minutes, level=level)
    row.update(_phantom_scores(phantom, Store.open(store.path), "unet_"))
    row["what"] = (f"phantom, 1 plane in {every}, {fraction:.0%} of each painted, level {level}"
                   + (", mitochondria contacts painted" if contacts else ""))
    if zyx:
        started = time.perf_counter()
        classify_store(store, row["model"], level=level, prefix="zyx_", overwrite=True, axes="zyx")
        row["zyx_classify_s"] = time.perf_counter() - started
        row.update({f"zyx {key}": value for key, value in _phantom_scores(phantom, Store.open(store.path),
                                                                          "zyx_").items()})
    print(row, flush=True)
    return row


def _phantom_scores(phantom, store: Store, prefix: str) -> dict:
    """IoU of nucleus and mitochondria, mitochondria instance F1 and AP-75 of ``prefix``'s labels."""
    row = {f"IoU {name}": semantic_scores(phantom.labels[name] > 0, store.labels(f"{prefix}{name}").data)["iou"]
           for name in ("nucleus", "mitochondria")}
    instances = instance_scores(phantom.labels["mitochondria"], store.labels(f"{prefix}mitochondria").data)
    row.update({"mitochondria F1@0.5": instances["f1"], "mitochondria AP-75": instances["ap_75"]})
    return row


def real_run(folder: Path, workdir: Path, *, max_minutes: float) -> dict:
    import tifffile

    train_raw = tifffile.imread(folder / "train_raw.tif")
    train_mito = tifffile.imread(folder / "train_mito.tif") > 0
    test_raw = tifffile.imread(folder / "test_raw.tif")
    test_mito = tifffile.imread(folder / "test_mito.tif") > 0
    painted = np.where(train_mito, 2, 1).astype(np.uint8)
    painted[:, :, train_raw.shape[2] // 2:] = 0
    train = write_dataset(workdir / "epfl-train.zarr", raw=train_raw, spacing=REAL_SPACING, labels={}, tables={},
                          step="import", parameters={}, overwrite=True)
    train.write_annotations("painted", painted, classes=["mitochondria"])
    model = _train_and_predict(train, workdir, "painted", max_minutes=max_minutes, level=0, predict=False)
    test = write_dataset(workdir / "epfl-test.zarr", raw=test_raw, spacing=REAL_SPACING, labels={}, tables={},
                         step="import", parameters={}, overwrite=True)
    started = time.perf_counter()
    classify_store(test, model["model"], prefix="unet_")
    # the slices are not contiguous, so the 3D clean-up means nothing here: score probability >= 0.5
    scores = semantic_scores(test_mito, Store.open(test.path).probabilities("unet_mitochondria").data >= 128)
    model.update({"classify_s": time.perf_counter() - started, "IoU mitochondria": scores["iou"],
                  "precision": scores["precision"], "recall": scores["recall"],
                  "what": "EPFL mitochondria, left half of 27 training slices painted, 5 test slices"})
    crop = folder.parent / "epfl_hippocampus_crop_3d" / "exampleImage_3d.tif"
    if crop.exists():
        crop_figure(model["model"], crop, workdir, ROOT / "docs" / "images" / "unet_epfl_crop.png")
    print(model, flush=True)
    return model


def crop_figure(model: Path, crop: Path, workdir: Path, out: Path) -> None:
    """The model's mitochondria on the contiguous 3D crop (no ground truth): three Z
    slices and an XZ section, the instances outlined in colour."""
    import matplotlib
    import tifffile
    from matplotlib.figure import Figure
    from skimage.segmentation import find_boundaries

    image = tifffile.imread(crop)
    store = write_dataset(workdir / "epfl-crop.zarr", raw=image, spacing=REAL_SPACING, labels={}, tables={},
                          step="import", parameters={}, overwrite=True)
    classify_store(store, model, prefix="unet_")
    labels = np.asarray(Store.open(store.path).labels("unet_mitochondria").data)
    views = [(f"z = {z}", image[z], labels[z]) for z in (5, len(image) // 2, len(image) - 6)]
    views.append(("XZ section, y = 128", image[:, 128], labels[:, 128]))
    figure = Figure(figsize=(13, 3.6), dpi=110)
    for axes, (title, grey, found) in zip(figure.subplots(1, 4, width_ratios=[1, 1, 1, 1]), views):
        colours = np.array([matplotlib.colormaps["tab10"](i % 10)[:3] for i in range(int(labels.max()) + 1)])
        rgb = np.repeat(grey[..., None] / 255.0, 3, axis=2)
        edge = find_boundaries(found, mode="inner") & (found > 0)
        rgb[edge] = colours[found[edge]]
        axes.imshow(rgb, aspect="equal")
        axes.set_title(title, fontsize=9)
        axes.axis("off")
    figure.suptitle(f"U-Net trained on half of each of 27 EPFL slices, on the contiguous 3D crop "
                    f"({image.shape[0]} × {image.shape[1]} × {image.shape[2]} at 5 nm): "
                    f"{int(labels.max())} mitochondria", fontsize=10)
    figure.tight_layout()
    figure.savefig(out)
    print(f"wrote {out}", flush=True)


def _train_and_predict(store: Store, workdir: Path, annotations: str, *, max_minutes: float, level: int,
                       predict: bool = True) -> dict:
    started = time.perf_counter()
    description, weights, others = train_unet(store, annotations, level=level, max_minutes=max_minutes)
    trained = time.perf_counter()
    model = save_model(workdir / f"{store.path.stem}-unet", description, weights, others=others, overwrite=True)
    print(others["training.csv"].decode(), flush=True)
    if predict:
        classify_store(store, model, level=level, prefix="unet_", overwrite=True)
    return {"model": model, "train_s": trained - started, "classify_s": time.perf_counter() - trained,
            "iterations": description.training["iterations"], "best_validation": description.training["best_mean_iou"]}


def report(rows: list[dict]) -> None:
    print()
    print("| run | iterations | train s | predict s | scores |")
    print("|---|---:|---:|---:|---|")
    for row in rows:
        scores = ", ".join(f"{k} {v:.3f}" for k, v in row.items()
                           if k.startswith(("IoU", "mitochondria", "precision", "recall", "zyx ")))
        print(f"| {row['what']} | {row['iterations']} | {row['train_s']:.0f} | {row['classify_s']:.0f} | {scores} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--max-minutes", type=float, default=10.0)
    parser.add_argument("--level", type=int, default=0)
    parser.add_argument("--every", type=int, default=10)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--contacts", action="store_true", help="paint the seams between touching mitochondria")
    parser.add_argument("--zyx", action="store_true", help="also predict the phantom with --axes zyx and score it")
    parser.add_argument("--skip-phantom", action="store_true")
    parser.add_argument("--skip-real", action="store_true")
    parser.add_argument("--real", type=Path, default=DEFAULT_REAL)
    parser.add_argument("--keep", type=Path, default=None, help="write the stores and models here and keep them")
    arguments = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        workdir = arguments.keep or Path(scratch)
        workdir.mkdir(parents=True, exist_ok=True)
        if not arguments.skip_phantom:
            rows.append(phantom_run(workdir, max_minutes=arguments.max_minutes, level=arguments.level,
                                    every=arguments.every, fraction=arguments.fraction,
                                    contacts=arguments.contacts, zyx=arguments.zyx))
        if not arguments.skip_real:
            if (arguments.real / "train_raw.tif").exists():
                rows.append(real_run(arguments.real, workdir, max_minutes=arguments.max_minutes))
            else:
                print(f"no real data at {arguments.real}; skipped")
    report(rows)


if __name__ == "__main__":
    main()
