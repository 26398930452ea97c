"""A chain of 3D operations on a store 4× larger than a memory budget, under that budget.

Builds a 640³ float32 EM-like volume (1000 MiB) in a dataset store, block by block, then
runs ``vemprof ops``' chain runner on it — gaussian → local threshold → closing →
remove small objects → connected components — with the writer's batch size set from
the budget, and reports the peak resident memory of the run (a fresh process, measured
by the kernel) above the idle footprint of a process that has only imported the
libraries and opened the store — the memory the data takes — against the budget. For
comparison it runs the first three steps as one lazy dask graph streamed to zarr
(``da.to_zarr``), which is how one would write them with dask alone.

Run: ``.venv/bin/python benchmarks/bench_out_of_core.py [--size 640] [--budget-mib 250]``.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from _measure import run_measured

SPACING = (8.0, 8.0, 8.0)
CHAIN = [
    {"op": "gaussian", "input": "raw", "output": "smooth", "sigma_nm": 10},
    {"op": "threshold_local", "input": "smooth", "output": "bright", "window_nm": 200, "offset": -5},
    {"op": "closing", "input": "bright", "output": "closed", "radius_nm": 20},
    {"op": "remove_small_objects", "input": "closed", "output": "big", "min_volume_nm3": 1e5},
    {"op": "connected_components", "input": "big", "output": "objects"},
]

BUILD = """
import dask.array as da, numpy as np
from vemprof.store import Store

def block(block_info=None):
    location = block_info[None]["chunk-location"]
    rng = np.random.default_rng(sum(c * 7919 ** i for i, c in enumerate(location)))
    return rng.normal(100, 20, block_info[None]["chunk-shape"]).astype(np.float32)

size, chunk = {size}, {chunk}
volume = da.map_blocks(block, chunks=((chunk,) * (size // chunk),) * 3, dtype=np.float32)
Store.create({store!r}).write_raw(volume, spacing={spacing!r}, chunks=(chunk,) * 3)
"""

IDLE = """
from vemprof.store import Store
from vemprof.pipeline import run_ops_chain
import vemprof.ops, scipy.ndimage, skimage.morphology, pandas, pyarrow
Store.open({store!r}).raw()
"""

VEMPROF = """
from vemprof.store import Store, _writer
from vemprof.pipeline import run_ops_chain
_writer.DEFAULT_BATCH_BYTES = {batch_bytes}
run_ops_chain(Store.open({store!r}), {chain!r})
"""

DASK_ALONE = """
import dask.array as da
from vemprof import ops
from vemprof.store import Store
raw = Store.open({store!r}).raw().data
spacing = {spacing!r}
mask = ops.closing(ops.threshold_local(ops.gaussian(raw, sigma_nm=10, spacing=spacing), window_nm=200,
                                       spacing=spacing, offset=-5), radius_nm=20, spacing=spacing)
da.to_zarr(mask, {out!r})
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=640, help="edge of the cubic volume, voxels")
    parser.add_argument("--chunk", type=int, default=64, help="chunk edge, voxels")
    parser.add_argument("--budget-mib", type=float, default=250.0, help="memory budget, MiB")
    parser.add_argument("--workdir", default=None)
    arguments = parser.parse_args()
    volume_mib = arguments.size**3 * 4 / 2**20
    # an output batch of 64³ float32 chunks reads its chunks and the neighbours that its
    # halos reach (up to 3 × 3 × (n + 2) chunks for n in a row), and filters them in float
    batch_bytes = int(arguments.budget_mib * 2**20 / 32)
    with tempfile.TemporaryDirectory(dir=arguments.workdir) as scratch:
        store = str(Path(scratch) / "big.zarr")
        seconds, peak = run_measured(BUILD.format(size=arguments.size, chunk=arguments.chunk, store=store,
                                                  spacing=SPACING))
        print(f"volume {arguments.size}³ float32 = {volume_mib:.0f} MiB in {arguments.chunk}³ chunks, "
              f"budget {arguments.budget_mib:.0f} MiB (volume / budget = {volume_mib / arguments.budget_mib:.1f}), "
              f"2 cores; store built in {seconds:.0f} s (peak {peak:.0f} MiB)\n")
        _, idle = run_measured(IDLE.format(store=store))
        print(f"idle footprint (Python, the libraries, the store opened): {idle:.0f} MiB\n")
        print("| run | seconds | Mvoxel/s | peak RSS MiB | above idle MiB | within budget |")
        print("|---|---:|---:|---:|---:|---|")
        runs = (
            ("vemprof ops chain (5 steps, staged per step)", VEMPROF.format(store=store, chain=CHAIN,
                                                                           batch_bytes=batch_bytes)),
            ("dask alone: gaussian → local threshold → closing → to_zarr",
             DASK_ALONE.format(store=store, spacing=SPACING, out=str(Path(scratch) / "mask.zarr"))),
        )
        for name, code in runs:
            seconds, peak = run_measured(code)
            print(f"| {name} | {seconds:.1f} | {arguments.size**3 / seconds / 1e6:.1f} | {peak:.0f} "
                  f"| {peak - idle:.0f} | {'yes' if peak - idle <= arguments.budget_mib else 'no'} |")


if __name__ == "__main__":
    main()
