"""Benchmark: exact distances of many objects (`membrane_distances`, `nearest_objects`)
against the plain scipy way.

The label image of `bench_measure.balls` (balls of radius 3–8 voxels at 8 × 5 × 5 nm)
inside a cell (a ball filling the cube) with a nucleus (a ball of a third of its size
at the centre). The plain way for the membranes: ``scipy.ndimage.distance_transform_edt``
of the outside of the nucleus and of the inside of the cell, with the voxel size, then
``scipy.ndimage.minimum`` per object. For the nearest object of the same class (surface
to surface) scipy has no direct way; vemprof's time is printed alone. With ``--blocks``,
also the block-by-block path of a volume too large to read whole (dask, 128³ chunks:
the surfaces' voxels and k-d trees), whose worst case this is: objects all through a
round cell, many of them near its centre.

Run: ``python benchmarks/bench_distances.py [--size 512] [--objects 10000] [--blocks]``.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from bench_measure import SPACING, balls


def compartments(size: int) -> tuple[np.ndarray, np.ndarray]:
    """A cell (a ball of radius 0.48 × size) and a nucleus (radius 0.16 × size) at the centre."""
    grids = np.ogrid[tuple(slice(0, size) for _ in range(3))]
    radius2 = sum((g - size / 2) ** 2 for g in grids)
    return radius2 <= (0.48 * size) ** 2, radius2 <= (0.16 * size) ** 2


def plain_way(labels: np.ndarray, cell: np.ndarray, nucleus: np.ndarray) -> None:
    from scipy import ndimage

    ids = np.unique(labels)[1:]
    to_envelope = ndimage.distance_transform_edt(~nucleus, sampling=SPACING)
    to_membrane = ndimage.distance_transform_edt(cell, sampling=SPACING)
    ndimage.minimum(to_envelope, labels, ids)
    ndimage.minimum(to_membrane, labels, ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--objects", type=int, default=10_000)
    parser.add_argument("--blocks", action="store_true", help="also time the block-by-block (dask) path")
    arguments = parser.parse_args()
    from vemprof.measure import membrane_distances, nearest_objects

    labels = balls(arguments.size, arguments.objects)
    cell, nucleus = compartments(arguments.size)
    count = len(np.unique(labels)) - 1
    started = time.perf_counter()
    membrane_distances(labels, cell=cell, nucleus=nucleus, spacing=SPACING)
    membranes = time.perf_counter() - started
    started = time.perf_counter()
    plain_way(labels, cell, nucleus)
    plain = time.perf_counter() - started
    started = time.perf_counter()
    nearest_objects(labels, labels, spacing=SPACING, other_name="balls", radius_um=0.2)
    nearest = time.perf_counter() - started
    print(f"| {arguments.size}³ voxels, {count} objects | membranes: vemprof {membranes:.1f} s, scipy EDT + minimum "
          f"{plain:.1f} s, {plain / membranes:.2f}× | nearest object and count within 0.2 µm: {nearest:.1f} s |")
    if arguments.blocks:
        import dask.array as da

        started = time.perf_counter()
        chunked = {name: da.from_array(array, chunks=128) for name, array in (("cell", cell), ("nucleus", nucleus))}
        membrane_distances(da.from_array(labels, chunks=128), **chunked, spacing=SPACING)
        blocks = time.perf_counter() - started
        print(f"| block by block (dask, 128³) | membranes: vemprof {blocks:.1f} s, {plain / blocks:.2f}× scipy |")


if __name__ == "__main__":
    main()
