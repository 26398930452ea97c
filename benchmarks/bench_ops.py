"""Benchmark vemprof.ops against the plain scipy / scikit-image calls, on one core.

For each hot operation: throughput (Mvoxel/s) and peak memory (tracemalloc: numpy
allocations) of the vemprof call and of the baseline call on the same organelle-like
volume, with the ratio. (A volume four times its memory budget, processed under that
budget: ``benchmarks/bench_out_of_core.py``.)

Run: ``python benchmarks/bench_ops.py [--size 256]``. Set the thread
count to one before numpy loads (done below) so that the numbers are per core.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import time  # noqa: E402
import tracemalloc  # noqa: E402

import numpy as np  # noqa: E402
import scipy.ndimage as ndi  # noqa: E402
from skimage import morphology  # noqa: E402

from vemprof import ops  # noqa: E402

SPACING = (8.0, 5.0, 5.0)


def organelle_volume(size: int, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """A mask of ~300 ellipsoid 'organelles' (some hollow, some touching) and an EM-like image."""
    rng = np.random.default_rng(seed)
    shape = (size, size, size)
    mask = np.zeros(shape, bool)
    scale = size / 256
    for _ in range(int(300 * scale**3) or 1):
        radius = rng.uniform(25, 90) * scale
        centre = rng.uniform(0, size, 3)
        half = [int(radius / s) + 1 for s in SPACING]
        box = tuple(slice(max(0, int(c) - h), min(size, int(c) + h + 1)) for c, h in zip(centre, half))
        grids = np.ogrid[box]
        squared = sum(((g - c) * s / radius) ** 2 for g, c, s in zip(grids, centre, SPACING))
        mask[box] |= (squared <= 1) & ~((squared <= 0.3) & (rng.random() < 0.3))
    noise = rng.normal(0, 15, shape).astype(np.float32)
    image = np.clip(80 + 90 * mask + noise, 0, 255).astype(np.uint8)
    return mask, image


def measure(function, *args, repeat: int = 1, **kwargs) -> tuple[float, float]:
    """Best wall time (s) and peak traced memory (MiB) of a call."""
    best = np.inf
    tracemalloc.start()
    for _ in range(repeat):
        tracemalloc.reset_peak()
        start = time.perf_counter()
        function(*args, **kwargs)
        best = min(best, time.perf_counter() - start)
    peak = tracemalloc.get_traced_memory()[1] / 2**20
    tracemalloc.stop()
    return best, peak


def hot_operations(mask: np.ndarray, image: np.ndarray) -> list[tuple[str, callable, callable]]:
    """(name, vemprof call, baseline call) for each hot operation."""
    cases = [
        (
            "connected components (26)",
            lambda: ops.connected_components(mask),
            lambda: ndi.label(mask, structure=np.ones((3, 3, 3))),
        ),
        (
            "distance transform (aniso)",
            lambda: ops.distance_transform(mask, spacing=SPACING),
            lambda: ndi.distance_transform_edt(mask, sampling=SPACING),
        ),
        ("fill holes", lambda: ops.fill_holes(mask), lambda: ndi.binary_fill_holes(mask)),
        (
            "remove small objects",
            lambda: ops.remove_small_objects(mask, min_volume_nm3=2e6, spacing=SPACING),
            lambda: morphology.remove_small_objects(mask, max_size=int(2e6 / np.prod(SPACING)), connectivity=3),
        ),
        (
            "gaussian sigma 10 nm",
            lambda: ops.gaussian(image, sigma_nm=10, spacing=SPACING),
            lambda: ndi.gaussian_filter(image, (10 / 8, 2, 2), output=np.float32),
        ),
        (
            "white top-hat r 15 nm",
            lambda: ops.white_tophat(image, radius_nm=15, spacing=SPACING),
            lambda: ndi.white_tophat(image, footprint=ops.ball(15, spacing=SPACING)),
        ),
    ]
    for radius_voxels in (1, 2, 3, 5, 10):
        radius_nm = 5.0 * radius_voxels
        footprint = ops.ball(radius_nm, spacing=SPACING)
        cases.append(
            (
                f"dilate r {radius_voxels} vox ({footprint.sum()} in ball)",
                lambda r=radius_nm: ops.dilate(mask, radius_nm=r, spacing=SPACING),
                lambda f=footprint: ndi.binary_dilation(mask, structure=f),
            )
        )
    for radius_voxels in (2, 5, 10):
        radius_nm = 5.0 * radius_voxels
        footprint = ops.ball(radius_nm, spacing=SPACING)
        cases.append(
            (
                f"closing r {radius_voxels} vox",
                lambda r=radius_nm: ops.closing(mask, radius_nm=r, spacing=SPACING),
                lambda f=footprint: ndi.binary_closing(mask, structure=f),
            )
        )
    return cases


def crossover(mask: np.ndarray) -> list[tuple[int, int, int, float, float]]:
    """Dilation time of the two CPU routes per radius: (radius vox, ball voxels, ball rows,
    row route s, edt route s). Both give the identical mask (tests/ops/test_morphology.py)."""
    rows = []
    for radius_voxels in (1, 2, 3, 5, 8, 10, 12, 15):
        radius_nm = 5.0 * radius_voxels
        footprint = ops.ball(radius_nm, spacing=SPACING)
        ball_rows = ops._morphology._ball_rows(footprint)
        rows_time, _ = measure(ops._morphology._dilate_by_rows, mask, ball_rows, repeat=3)
        edt_time, _ = measure(lambda r=radius_nm: ops._distance.distance_squared(~mask, SPACING) <= r**2, repeat=3)
        rows.append((radius_voxels, int(footprint.sum()), len(ball_rows), rows_time, edt_time))
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=256, help="edge of the cubic test volume in voxels")
    arguments = parser.parse_args()
    mask, image = organelle_volume(arguments.size)
    mvox = mask.size / 1e6
    print(f"volume {mask.shape}, spacing {SPACING} nm, foreground {mask.mean():.1%}, one core\n")
    print("| operation | vemprof Mvox/s | baseline Mvox/s | speed-up | vemprof peak MiB | baseline peak MiB |")
    print("|---|---:|---:|---:|---:|---:|")
    for name, ours, baseline in hot_operations(mask, image):
        our_time, our_peak = measure(ours, repeat=3)
        base_time, base_peak = measure(baseline, repeat=3)
        print(
            f"| {name} | {mvox / our_time:.1f} | {mvox / base_time:.1f} | {base_time / our_time:.2f}× "
            f"| {our_peak:.0f} | {base_peak:.0f} |"
        )
    print("\nexact dilation routes (same mask)\n")
    print("| radius (voxels along X) | ball voxels | ball rows | row route s | EDT route s |")
    print("|---:|---:|---:|---:|---:|")
    for radius, voxels, ball_rows, rows_time, edt_time in crossover(mask):
        print(f"| {radius} | {voxels} | {ball_rows} | {rows_time:.3f} | {edt_time:.3f} |")


if __name__ == "__main__":
    main()
