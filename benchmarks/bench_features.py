"""The pixel classifier's feature bank: speed and peak memory against scikit-image.

On one volume (blobs in noise, uint8), each in a fresh process limited to ``--cores``
cores, whose peak resident memory the kernel measures (``ru_maxrss``):

- ``compute_features`` on the whole array, default bank (one scale per thread);
- ``features_dask`` block by block (dask threads, ``--cores`` workers), stored into
  one in-memory output, for each ``--chunks``;
- ``skimage.feature.multiscale_basic_features`` with its defaults (3D: intensity,
  edges, texture at 6 sigmas, 30 channels).

Prints a markdown table: compute seconds (the call alone), Mvoxel/s, speed against
scikit-image, peak RSS and the peak above the idle footprint (a process that has
imported the libraries and made the volume), also per voxel.

Run: ``.venv/bin/python benchmarks/bench_features.py [--shape 128,256,256]
[--voxel-size 25,20,20] [--chunks 128x128x128,64x128x128] [--cores 2]``.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
from pathlib import Path

from _measure import run_measured

SETUP = """
import os, json, time
for variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[variable] = "1"
if hasattr(os, "sched_setaffinity"):
    os.sched_setaffinity(0, sorted(os.sched_getaffinity(0))[:{cores}])
import dask
import dask.array as da
import numpy as np
import scipy.ndimage as ndi
from skimage.feature import multiscale_basic_features
from vemprof.learn import FeatureBank, compute_features, features_dask

rng = np.random.default_rng(0)
blobs = ndi.gaussian_filter(rng.normal(size={shape!r}).astype(np.float32), 3) > 0.02
image = np.clip(90 + 80 * blobs + rng.normal(0, 20, {shape!r}), 0, 255).astype(np.uint8)
spacing = {spacing!r}
bank = FeatureBank.default(spacing)
"""

RUNS = {
    "idle": "",
    "whole": "features = compute_features(image, spacing=spacing, bank=bank)",
    "dask": """
features = np.empty((*image.shape, bank.count), np.float32)
lazy = features_dask(da.from_array(image, chunks={chunks!r}), spacing=spacing, bank=bank)
da.store(lazy, features, lock=False, scheduler="threads", num_workers={cores})
""",
    "skimage": "features = multiscale_basic_features(image)",
}

TIMED = """
start = time.perf_counter()
{run}
seconds = time.perf_counter() - start
channels = features.shape[-1] if {run!r} else 0
json.dump({{"seconds": seconds, "channels": channels}}, open({report!r}, "w"))
"""


def triple(text: str, kind=int) -> tuple:
    return tuple(kind(part) for part in text.replace("x", ",").split(","))


def measure(run: str, report: Path, **values) -> tuple[float, float, int]:
    """Compute seconds, peak RSS (MiB) and channel count of one run in a fresh process."""
    code = SETUP.format(**values) + TIMED.format(run=run.format(**values), report=str(report))
    _, peak = run_measured(code)
    result = json.loads(report.read_text())
    return result["seconds"], peak, result["channels"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shape", default="128,256,256", help="Z,Y,X voxels")
    parser.add_argument("--voxel-size", default="25,20,20", help="Z,Y,X nm")
    parser.add_argument("--chunks", default="128x128x128,64x128x128", help="dask chunkings, comma separated")
    parser.add_argument("--cores", type=int, default=2)
    arguments = parser.parse_args()
    shape, spacing = triple(arguments.shape), triple(arguments.voxel_size, float)
    values = {"shape": shape, "spacing": spacing, "cores": arguments.cores}
    voxels = shape[0] * shape[1] * shape[2]
    runs = [("vemprof compute_features, whole array", RUNS["whole"], {})]
    runs += [(f"vemprof features_dask, chunks {chunks}", RUNS["dask"], {"chunks": triple(chunks)})
             for chunks in arguments.chunks.split(",")]
    runs.append(("skimage multiscale_basic_features (defaults)", RUNS["skimage"], {}))

    from vemprof.learn import FeatureBank

    bank = FeatureBank.default(spacing)
    with tempfile.TemporaryDirectory() as scratch:
        report = Path(scratch) / "report.json"
        _, idle, _ = measure(RUNS["idle"], report, **values)
        results = [(name, *measure(run, report, **values, **extra)) for name, run, extra in runs]
    print(f"{'×'.join(map(str, shape))} voxels (uint8) at {'×'.join(f'{s:g}' for s in spacing)} nm, "
          f"{arguments.cores} of {os.cpu_count()} cores; default bank: scales {bank.scales_nm} nm, "
          f"{bank.count} channels, halo {bank.halo(spacing)} voxels; idle footprint {idle:.0f} MiB\n")
    print("| run | channels | seconds | Mvoxel/s | × skimage | peak RSS MiB | above idle MiB | bytes/voxel |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    skimage_seconds = results[-1][1]
    for name, seconds, peak, channels in results:
        print(f"| {name} | {channels} | {seconds:.1f} | {voxels / seconds / 1e6:.2f} "
              f"| {skimage_seconds / seconds:.1f} | {peak:.0f} | {peak - idle:.0f} "
              f"| {(peak - idle) * 2**20 / voxels:.0f} |")


if __name__ == "__main__":
    main()
