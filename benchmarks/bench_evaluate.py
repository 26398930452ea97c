"""Benchmark vemprof.evaluate against the plain way, on label volumes read chunk by chunk.

Truth: mitochondria-like ellipsoids (about 800 per 256³); prediction: the truth moved 2
voxels along X with every tenth object left out. Both are written to
zarr (chunks of ``--chunk`` voxels) and scored from there as dask arrays, so vemprof
holds a few chunks at a time; the plain way needs both volumes in memory (numpy):

* semantic: ``t = truth > 0; p = prediction > 0`` and ``count_nonzero`` of ``t & p``, ``t``, ``p``;
* instances: a naive loop over objects (``truth == id``, ``prediction == id``) and
  ``skimage.metrics.contingency_table``, each followed by the Hungarian method.

Prints throughput (Mvoxel/s), peak memory traced during the call (tracemalloc: numpy
allocations, chunks read included) and the ratio; asserts that all agree.

Run: ``python benchmarks/bench_evaluate.py [--size 256] [--chunk 128] [--no-naive]``. Dask uses
every core (threads); the plain way runs on one.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
import tracemalloc

import dask.array as da
import numpy as np
import zarr
from scipy.optimize import linear_sum_assignment
from skimage.metrics import contingency_table

from vemprof.evaluate import instance_scores, semantic_scores


def volumes(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """(truth, prediction) uint32 label images of edge ``size``: mitochondria-like ellipsoids
    (about 800 per 256³, radii 3–12 voxels, a later one overwriting where they meet);
    the prediction is the truth moved 2 voxels along X without every tenth object."""
    rng = np.random.default_rng(seed)
    truth = np.zeros((size,) * 3, np.uint32)
    for object_id in range(1, int(800 * (size / 256) ** 3) + 1):
        radii = rng.uniform(3, 12, 3)
        centre = rng.uniform(0, size, 3)
        box = tuple(slice(max(0, int(c - r)), min(size, int(c + r) + 1)) for c, r in zip(centre, radii))
        grids = np.ogrid[box]
        inside = sum(((g - c) / r) ** 2 for g, c, r in zip(grids, centre, radii)) <= 1
        truth[box][inside] = object_id
    prediction = np.roll(truth, 2, axis=2)
    prediction[np.isin(prediction, np.arange(10, truth.max() + 1, 10))] = 0
    return truth, prediction


def measure(function, *args, repeat: int = 3) -> tuple[float, float, object]:
    """Best wall time (s), peak traced memory (MiB) and result of ``repeat`` calls."""
    best = np.inf
    tracemalloc.start()
    for _ in range(repeat):
        start = time.perf_counter()
        result = function(*args)
        best = min(best, time.perf_counter() - start)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak, result


def plain_semantic(truth: np.ndarray, prediction: np.ndarray) -> float:
    truth, prediction = truth > 0, prediction > 0
    tp = np.count_nonzero(truth & prediction)
    return tp / (np.count_nonzero(truth) + np.count_nonzero(prediction) - tp)


def dask_semantic(truth: da.Array, prediction: da.Array) -> float:
    truth, prediction = truth > 0, prediction > 0
    tp, in_truth, predicted = da.compute(*(da.count_nonzero(a) for a in (truth & prediction, truth, prediction)))
    return tp / (in_truth + predicted - tp)


def f1_of_matches(iou: np.ndarray, threshold: float = 0.5) -> float:
    """F1 at ``threshold`` of a dense (truth × prediction) IoU matrix, Hungarian matching."""
    rows, columns = linear_sum_assignment(iou, maximize=True)
    matched = np.count_nonzero(iou[rows, columns] >= threshold)
    return 2 * matched / sum(iou.shape)


def naive_instances(truth: np.ndarray, prediction: np.ndarray) -> float:
    truth_ids, predicted_ids = np.unique(truth)[1:], np.unique(prediction)[1:]
    column = {p: j for j, p in enumerate(predicted_ids)}
    iou = np.zeros((len(truth_ids), len(predicted_ids)))
    for i, t in enumerate(truth_ids):
        inside = truth == t
        ids, common = np.unique(prediction[inside], return_counts=True)
        for p, c in zip(ids, common):
            if p:
                iou[i, column[p]] = c / (np.count_nonzero(inside) + np.count_nonzero(prediction == p) - c)
    return f1_of_matches(iou)


def skimage_instances(truth: np.ndarray, prediction: np.ndarray) -> float:
    table = contingency_table(truth, prediction).tocsr()
    truth_sizes, predicted_sizes = np.asarray(table.sum(axis=1)).ravel(), np.asarray(table.sum(axis=0)).ravel()
    common = table[1:, 1:].toarray()
    union = truth_sizes[1:, None] + predicted_sizes[None, 1:] - common
    iou = np.divide(common, union, out=np.zeros(common.shape), where=union > 0)
    present = (truth_sizes[1:] > 0, predicted_sizes[1:] > 0)
    return f1_of_matches(iou[present[0]][:, present[1]])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="edge of the cubic volume in voxels")
    parser.add_argument("--chunk", type=int, default=128, help="edge of the zarr chunks in voxels")
    parser.add_argument("--no-naive", action="store_true", help="skip the naive loop (minutes on 512³)")
    arguments = parser.parse_args()
    truth, prediction = volumes(arguments.size)
    mvox = truth.size / 1e6
    with tempfile.TemporaryDirectory() as folder:
        lazy = []
        for name, array in (("truth", truth), ("prediction", prediction)):
            stored = zarr.create_array(f"{folder}/{name}.zarr", shape=array.shape, chunks=(arguments.chunk,) * 3,
                                       dtype=array.dtype)
            stored[:] = array
            lazy.append(da.from_zarr(f"{folder}/{name}.zarr"))
        print(f"volume {truth.shape} ({mvox:.0f} Mvoxel), {len(np.unique(truth)) - 1} true objects, chunks {arguments.chunk}³, "
              f"{os.cpu_count()} cores; each volume {truth.nbytes / 2**20:.0f} MiB in memory\n")
        print("| score | input | vemprof Mvox/s | peak MiB | plain way | Mvox/s | peak MiB | speed-up |")
        print("|---|---|---:|---:|---|---:|---:|---:|")
        cases = [
            ("semantic", "numpy", semantic_scores, (truth, prediction), "numpy logical ops", plain_semantic),
            ("semantic", "dask from zarr", semantic_scores, lazy, "dask.array logical ops", dask_semantic),
            ("instances", "numpy", instance_scores, (truth, prediction), "skimage contingency_table",
             skimage_instances),
            ("instances", "dask from zarr", instance_scores, lazy, "skimage contingency_table (numpy)",
             skimage_instances),
            ("instances", "numpy", instance_scores, (truth, prediction), "naive loop over objects", naive_instances),
        ]
        for score, source, ours, inputs, label, baseline in cases:
            if arguments.no_naive and baseline is naive_instances:
                continue
            ours_time, ours_peak, result = measure(ours, *inputs)
            plain_inputs = lazy if baseline is dask_semantic else (truth, prediction)
            plain_time, plain_peak, plain = measure(baseline, *plain_inputs, repeat=1 if score == "instances" else 3)
            key = "iou" if score == "semantic" else "f1"
            assert abs(result[key] - plain) < 1e-12, (result[key], plain)
            print(f"| {score} {key} {plain:.4f} | {source} | {mvox / ours_time:.0f} | {ours_peak:.0f} | {label} | "
                  f"{mvox / plain_time:.0f} | {plain_peak:.0f} | {plain_time / ours_time:.2f}× |")

if __name__ == "__main__":
    main()
