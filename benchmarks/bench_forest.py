"""Benchmark: pixel classification speed and memory against the plain way (issue 14, item 6).

One phantom (``--shape``, default 128 × 256 × 256 at 25 × 20 × 20 nm) and cell-vs-resin
plus mitochondria annotations on every 16th plane. Both ways train a forest of the same
size (100 trees, depth 16) on the same annotated voxels, then classify the whole volume:

* **vemprof**: `train_classifier` + `classify_store` (3D feature bank, ONNX forest,
  block by block, writes probabilities and labels into the store);
* **plain**: ``skimage.feature.multiscale_basic_features`` (3D, its defaults) on the
  whole array + ``RandomForestClassifier.predict_proba`` on all voxels.

Each runs in a fresh process; the table gives seconds and Mvoxel/s for features + forest
(for vemprof: reading the blocks, features, forest and the probabilities into scratch,
the ``classifying`` phase of its progress) and for the whole ``predict`` (with the
clean-up, upsampling and writing into the store), and peak resident memory. Then
the cell-vs-resin time for a 10^9-voxel volume, estimated from the classification
throughput at the level a user would pick (level 2: 1/64 of the voxels) and the measured
upsampling-and-writing throughput at full resolution.

Run: ``python benchmarks/bench_forest.py [--shape 128,256,256] [--workdir DIR]``.
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _measure import run_measured

PREPARE = """
import numpy as np
from vemprof.learn import annotate_planes
from vemprof.store import write_dataset
from vemprof.synth import make_phantom
phantom = make_phantom(shape={shape!r})
store = write_dataset({store!r}, raw=phantom.image, spacing=phantom.spacing,
                      labels={{n: phantom.labels[n] for n in ("cell", "mitochondria")}}, tables={{}}, step="synth",
                      parameters={{}}, chunks=(64, 64, 64))  # small chunks: pyramid levels 0, 1 and 2
annotate_planes(store, "planes", from_labels=["cell", "mitochondria"], every=16)
"""

VEMPROF_TRAIN = """
from vemprof.learn import save_model, train_classifier
from vemprof.store import Store
store = Store.open({store!r})
description, weights = train_classifier(store, "planes", level={level})
save_model({model!r}, description, weights, overwrite=True)
"""

VEMPROF_CLASSIFY = """
import contextlib, json, time
from pathlib import Path
from vemprof.learn import classify_store
from vemprof.store import Store
store = Store.open({store!r})
phases = {{}}

@contextlib.contextmanager
def timed(description, total):  # a progress reporter that notes how long each phase took
    started = time.perf_counter()
    yield lambda done=1: None
    phases[description] = time.perf_counter() - started

started = time.perf_counter()
classify_store(store, {model!r}, level={level}, prefix="p{level}_", overwrite=True, progress=timed)
Path({result!r}).write_text(json.dumps({{"classify_s": time.perf_counter() - started,
                                        "features_forest_s": phases["classifying"]}}))
"""

PLAIN = """
import json, time
from pathlib import Path
import numpy as np
from skimage.feature import multiscale_basic_features
from sklearn.ensemble import RandomForestClassifier
from vemprof.store import Store
store = Store.open({store!r})
image = np.asarray(store.raw().data)
annotations = np.asarray(store.labels("planes").data)
started = time.perf_counter()
features = multiscale_basic_features(image)
where = np.flatnonzero(annotations)
rng = np.random.default_rng(0)
pick = rng.choice(where, size=min(200_000, len(where)), replace=False)
forest = RandomForestClassifier(n_estimators=100, max_depth=16, min_samples_leaf=2, n_jobs=-1, random_state=0)
forest.fit(features.reshape(-1, features.shape[-1])[pick], annotations.reshape(-1)[pick])
trained = time.perf_counter()
features = multiscale_basic_features(image)
probabilities = forest.predict_proba(features.reshape(-1, features.shape[-1]))
Path({result!r}).write_text(json.dumps({{"classify_s": time.perf_counter() - trained}}))
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="128,256,256")
    parser.add_argument("--workdir", default=None)
    arguments = parser.parse_args()
    shape = tuple(int(n) for n in arguments.shape.split(","))
    voxels = shape[0] * shape[1] * shape[2]
    with tempfile.TemporaryDirectory(dir=arguments.workdir) as scratch:
        folder = Path(scratch)
        store, model, result = str(folder / "cell.zarr"), str(folder / "model.zip"), folder / "result.json"
        run_measured(PREPARE.format(shape=shape, store=store))
        _, idle_mib = run_measured("import vemprof.learn, vemprof.store, sklearn, skimage.feature")
        rows = []
        for level in (0, 1, 2):
            train_s, _ = run_measured(VEMPROF_TRAIN.format(store=store, model=model, level=level))
            _, peak = run_measured(VEMPROF_CLASSIFY.format(store=store, model=model, level=level, result=str(result)))
            times = json.loads(result.read_text())
            rows.append((f"vemprof, level {level} ({voxels / 8**level / 1e6:.2f} M voxels classified, full size "
                         "written)", train_s, times["features_forest_s"], times["classify_s"], peak))
        _, plain_peak = run_measured(PLAIN.format(store=store, result=str(result)))
        plain_s = json.loads(result.read_text())["classify_s"]
    print(f"\nphantom {'×'.join(map(str, shape))} = {voxels / 1e6:.1f} M voxels; a process with the libraries "
          f"imported: {idle_mib:.0f} MiB")
    print("| run | train s (whole process) | features + forest s | Mvoxel/s | whole predict s | Mvoxel/s | "
          "peak RSS MiB |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name, train_s, features_s, seconds, peak in rows:
        print(f"| {name} | {train_s:.1f} | {features_s:.1f} | {voxels / features_s / 1e6:.2f} | {seconds:.1f} | "
              f"{voxels / seconds / 1e6:.2f} | {peak:.0f} |")
    print(f"| plain: multiscale_basic_features + predict_proba on the whole array (nothing written) | | "
          f"{plain_s:.1f} | {voxels / plain_s / 1e6:.2f} | | | {plain_peak:.0f} |")
    level0 = rows[0]
    print(f"\nlevel 0: features + forest {plain_s / level0[2]:.1f}× the plain way's speed (the whole predict, "
          f"with clean-up and writing: {plain_s / level0[3]:.1f}×), {plain_peak / level0[4]:.1f}× less memory")
    print(f"cell vs resin on 10^9 voxels at level 2, scaled from this run: about "
          f"{rows[2][3] * 1e9 / voxels / 60:.0f} min (classification at level 2, upsampling and writing at level 0)")


if __name__ == "__main__":
    main()
