"""Benchmark: the exact distance transform of a dask array (`exact_distance_transform`) against
``edt`` and ``scipy.ndimage.distance_transform_edt`` on the whole numpy array.

The mask is a ball of radius 0.45 × size with small ball-shaped holes, at 8 × 5 × 5 nm, so
distances reach ~0.45 × size voxels, far beyond a chunk. The dask input has chunks of
128³ and runs on the threaded scheduler (all cores); ``edt`` and scipy run on one core,
as they do. Each method runs in a fresh process; its time is that of the transform
alone, its peak is the process's peak resident memory (kernel), printed next to that of
a process that only built the mask and imported the libraries (idle).

Run: ``.venv/bin/python benchmarks/bench_exact_distance.py [--sizes 256 512] [--chunk 128]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import numpy as np
from _measure import run_measured

SPACING = (8.0, 5.0, 5.0)

SETUP = """
import sys, time
sys.path.insert(0, {here!r})
import dask.array as da, edt, numpy as np, scipy.ndimage
from vemprof.ops._exact_distance import exact_distance_transform
from bench_exact_distance import ball_with_holes
mask = ball_with_holes({size})
spacing = {spacing!r}
started = time.perf_counter()
"""

METHODS = {
    "idle": "pass",
    "vemprof exact, dask": (
        "exact_distance_transform(da.from_array(mask, chunks={chunk}), spacing=spacing).compute()"
    ),
    "vemprof exact, dask, staged on disk": (
        "exact_distance_transform(da.from_array(mask, chunks={chunk}), spacing=spacing, staging={workdir!r})"
        ".compute()"
    ),
    "edt, numpy": "edt.edt(mask.astype(np.uint8), anisotropy=spacing, black_border=False)",
    "scipy, numpy": "scipy.ndimage.distance_transform_edt(mask, sampling=spacing)",
}

FINISH = """
open({seconds_file!r}, "w").write(str(time.perf_counter() - started))
"""


def ball_with_holes(size: int, seed: int = 0) -> np.ndarray:
    """(size,)³ bool: a ball of radius 0.45 × size voxels at the centre, with size // 4 small holes."""
    y, x = np.ogrid[:size, :size]
    mask = np.empty((size,) * 3, bool)
    for z in range(size):  # plane by plane, so that building the mask takes little memory
        mask[z] = (z - size / 2) ** 2 + (y - size / 2) ** 2 + (x - size / 2) ** 2 <= (0.45 * size) ** 2
    rng = np.random.default_rng(seed)
    for _ in range(size // 4):
        centre = rng.uniform(0.1 * size, 0.9 * size, 3)
        radius = rng.uniform(size / 50, size / 25)
        box = tuple(slice(max(0, int(c - radius)), int(c + radius) + 2) for c in centre)
        local = np.ogrid[tuple(slice(b.start, b.stop) for b in box)]
        mask[box] &= sum((g - c) ** 2 for g, c in zip(local, centre)) > radius**2
    return mask


def measure(method: str, size: int, chunk: int, workdir: Path) -> tuple[float, float]:
    """Seconds of the transform alone and peak resident MiB of a fresh process running it."""
    seconds_file = workdir / "seconds"
    code = (SETUP.format(here=str(Path(__file__).parent), size=size, spacing=SPACING)
            + METHODS[method].format(chunk=chunk, workdir=str(workdir)) + FINISH.format(seconds_file=str(seconds_file)))
    _, peak = run_measured(code)
    return float(seconds_file.read_text()), peak


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[256, 512], help="edges of the cubic volumes")
    parser.add_argument("--chunk", type=int, default=128, help="dask chunk edge, voxels")
    arguments = parser.parse_args()
    print("| volume | " + " | ".join(name for name in METHODS if name != "idle") + " |")
    print("|---" * len(METHODS) + "|")
    with tempfile.TemporaryDirectory() as workdir:
        for size in arguments.sizes:
            _, idle = measure("idle", size, arguments.chunk, Path(workdir))
            cells = []
            for method in METHODS:
                if method != "idle":
                    seconds, peak = measure(method, size, arguments.chunk, Path(workdir))
                    cells.append(f"{seconds:.1f} s, peak {peak:.0f} MiB")
            print(f"| {size}³, chunks {arguments.chunk}³ (idle {idle:.0f} MiB) | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
