"""Benchmark: object tables (`vemprof.measure.object_table`) against the plain scikit-image way.

A label image of ``--objects`` balls (radius 3–8 voxels, some touching) in a cube of
``--size`` voxels at 8 × 5 × 5 nm, with a grey image. The plain way:
``skimage.measure.regionprops_table`` (area, centroid, bounding box, inertia tensor
eigenvalues, mean intensity) plus, per object, ``marching_cubes`` on its padded crop and
``mesh_surface_area`` (the raw staircase surface, no smoothing). vemprof's table has
more columns and smoothed surfaces. Both run in this process, one after the other; the
row splits vemprof's time into its two passes (moments block by block, surface meshes).

Run: ``python benchmarks/bench_measure.py [--size 512] [--objects 10000]``.
"""

from __future__ import annotations

import argparse
import contextlib
import time

import numpy as np

SPACING = (8.0, 5.0, 5.0)


def balls(size: int, objects: int, seed: int = 0) -> np.ndarray:
    """``objects`` balls of radius 3–8 voxels at random places in a ``size``³ label image."""
    rng = np.random.default_rng(seed)
    labels = np.zeros((size,) * 3, np.uint32)
    for label in range(1, objects + 1):
        radius = rng.uniform(3, 8)
        centre = rng.uniform(radius, size - radius, 3)
        low = np.maximum(np.floor(centre - radius).astype(int), 0)
        high = np.minimum(np.ceil(centre + radius).astype(int) + 1, size)
        grids = np.ogrid[tuple(slice(a, b) for a, b in zip(low, high))]
        inside = sum((g - c) ** 2 for g, c in zip(grids, centre)) <= radius ** 2
        window = labels[tuple(slice(a, b) for a, b in zip(low, high))]
        window[inside] = label
    return labels


def plain_way(labels: np.ndarray, image: np.ndarray) -> int:
    from skimage import measure

    table = measure.regionprops_table(labels, intensity_image=image, spacing=SPACING, properties=(
        "label", "area", "centroid", "bbox", "inertia_tensor_eigvals", "intensity_mean"))
    for label, *box in zip(table["label"], *(table[f"bbox-{i}"] for i in range(6))):
        crop = tuple(slice(max(a - 1, 0), b + 1) for a, b in zip(box[:3], box[3:]))
        inside = np.pad(labels[crop] == label, 1).astype(np.float32)
        vertices, faces, _, _ = measure.marching_cubes(inside, 0.5, spacing=SPACING)
        measure.mesh_surface_area(vertices, faces)
    return len(table["label"])


class Stopwatch:
    """A progress reporter that keeps how long each of vemprof's tasks took, s."""

    def __init__(self) -> None:
        self.seconds: dict[str, float] = {}

    @contextlib.contextmanager
    def __call__(self, description: str, total: int):
        started = time.perf_counter()
        yield lambda done: None
        self.seconds[description] = time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--objects", type=int, default=10_000)
    arguments = parser.parse_args()
    from vemprof.measure import object_table

    labels = balls(arguments.size, arguments.objects)
    image = np.random.default_rng(1).integers(0, 255, labels.shape, dtype=np.uint8)
    count = len(np.unique(labels)) - 1
    stopwatch = Stopwatch()
    started = time.perf_counter()
    object_table(labels, spacing=SPACING, image=image, progress=stopwatch)
    ours = time.perf_counter() - started
    split = " + ".join(f"{seconds:.1f} s {task.split()[0]}" for task, seconds in stopwatch.seconds.items())
    started = time.perf_counter()
    plain_way(labels, image)
    plain = time.perf_counter() - started
    print(f"| {arguments.size}³ voxels, {count} objects | vemprof {ours:.1f} s ({split}) "
          f"| regionprops + marching cubes {plain:.1f} s | {plain / ours:.2f}× |")


if __name__ == "__main__":
    main()
