"""A field of phantom cells made tile by tile: time and peak memory against one tile's.

Writes, each in a fresh process whose peak resident memory the kernel measures
(``ru_maxrss``), into a temporary folder:

- one tile: ``make_phantom`` of the tile shape written by ``write_dataset`` (what
  ``vemprof synth`` does);
- the field: ``--tiles`` tiles of that shape made by `PhantomField` and written by
  ``write_tiled_dataset`` (``vemprof synth --tiles``);
- for comparison, one phantom of the field's whole shape made in memory and written by
  ``write_dataset`` (skip with ``--skip-whole``);

and prints a markdown table: seconds, voxels per second, peak RSS and the peak above the
idle footprint (a process that has only imported the libraries), also as a multiple of
the single tile's.

Run: ``.venv/bin/python benchmarks/bench_phantom_field.py [--tiles 1x2x2]
[--tile-shape 128,384,384] [--voxel-size 25,20,20] [--skip-whole]``.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

from _measure import run_measured

IDLE = """
from vemprof.store import write_dataset, write_tiled_dataset
from vemprof.synth import PhantomField, make_phantom
"""

ONE_PHANTOM = """
from vemprof.store import write_dataset
from vemprof.synth import make_phantom
phantom = make_phantom(shape={shape!r}, spacing={spacing!r})
write_dataset({store!r}, raw=phantom.image, spacing=phantom.spacing, labels=phantom.labels, tables=phantom.tables,
              step="synth", parameters=phantom.parameters)
"""

FIELD = """
from vemprof.store import write_tiled_dataset
from vemprof.synth import PhantomField, PhantomParameters
field = PhantomField(PhantomParameters(shape={shape!r}, spacing={spacing!r}), tiles={tiles!r})
write_tiled_dataset({store!r}, shape=field.shape, spacing=field.spacing, count=field.count, make_tile=field.tile,
                    step="synth", parameters={{"tiles": list(field.tiles)}})
"""


def triple(text: str, kind=int) -> tuple:
    return tuple(kind(part) for part in text.replace("x", ",").split(","))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiles", default="1x2x2", help="tile counts Z x Y x X")
    parser.add_argument("--tile-shape", default="128,384,384", help="one tile's shape Z,Y,X, voxels")
    parser.add_argument("--voxel-size", default="25,20,20", help="Z,Y,X, nm")
    parser.add_argument("--skip-whole", action="store_true", help="skip the whole field made in memory")
    parser.add_argument("--workdir", default=None)
    arguments = parser.parse_args()
    tiles, tile_shape = triple(arguments.tiles), triple(arguments.tile_shape)
    spacing = triple(arguments.voxel_size, float)
    field_shape = tuple(n * t for n, t in zip(tile_shape, tiles))
    runs = [("one tile, in memory", tile_shape, ONE_PHANTOM, {"shape": tile_shape}),
            (f"field of {arguments.tiles} tiles, tile by tile", field_shape, FIELD,
             {"shape": tile_shape, "tiles": tiles})]
    if not arguments.skip_whole:
        runs.append(("the field's shape as one phantom, in memory", field_shape, ONE_PHANTOM, {"shape": field_shape}))
    _, idle = run_measured(IDLE)
    print(f"tile {'×'.join(map(str, tile_shape))} voxels at {'×'.join(f'{s:g}' for s in spacing)} nm, "
          f"{os.cpu_count()} cores; idle footprint {idle:.0f} MiB\n")
    print("| run | voxels | seconds | Mvoxel/s | peak RSS MiB | above idle MiB | × one tile's |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(dir=arguments.workdir) as scratch:
        tile_above = None
        for number, (name, shape, code, values) in enumerate(runs):
            voxels = shape[0] * shape[1] * shape[2]
            store = str(Path(scratch) / f"run{number}.zarr")
            seconds, peak = run_measured(code.format(spacing=spacing, store=store, **values))
            tile_above = tile_above or peak - idle
            print(f"| {name} | {voxels / 1e6:.1f} M | {seconds:.1f} | {voxels / seconds / 1e6:.2f} | {peak:.0f} "
                  f"| {peak - idle:.0f} | {(peak - idle) / tile_above:.2f} |")


if __name__ == "__main__":
    main()
