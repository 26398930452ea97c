"""Import throughput and peak memory: `vemprof import` against "read it all, write it all".

For TIFF stacks of growing size (each many times the 128³ chunk), it runs in a fresh
process each:

* vemprof — ``import_volume`` (lazy read, batches of chunks, pyramid, provenance);
* baseline — ``tifffile.imread`` of the whole stack, then one ``zarr`` write with the
  same chunks and compressor (level 0 only, no pyramid).

and prints MB/s and the process's peak resident memory. vemprof's peak stays flat as the
stack grows; the baseline's grows with it, so a stack larger than RAM imports only with
vemprof. Run: ``.venv/bin/python benchmarks/bench_import.py [--sizes-mb 256,1024,2048]``.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

VEMPROF = """
from vemprof.store._import import import_volume
import_volume({source!r}, {destination!r}, voxel_size_nm=(8, 5, 5))
"""

BASELINE = """
import tifffile, zarr
from zarr.codecs import BloscCodec, BloscShuffle
data = tifffile.imread({source!r})
zarr.create_array(store={destination!r}, data=data, chunks=(128, 128, 128),
                  compressors=[BloscCodec(cname="zstd", clevel=3, shuffle=BloscShuffle.bitshuffle)])
"""


def write_stack(path: Path, *, size_mb: int, width: int = 2048) -> tuple[int, int, int]:
    """A uint8 TIFF stack of about ``size_mb`` MB with EM-like texture, written page by page."""
    depth = max(1, size_mb * 2**20 // (width * width))
    rng = np.random.default_rng(0)
    y, x = np.mgrid[0:width, 0:width]
    texture = (120 + 40 * np.sin(x / 37.0) * np.cos(y / 53.0)).astype(np.float32)

    def pages():
        for z in range(depth):
            yield np.clip(texture + rng.normal(0, 12, texture.shape) + 10 * np.sin(z / 9), 0, 255).astype(np.uint8)

    tifffile.imwrite(path, pages(), shape=(depth, width, width), dtype=np.uint8)
    return depth, width, width


def run_measured(code: str) -> tuple[float, float]:
    """Seconds and peak resident memory (MB) of ``code`` run in a fresh Python process."""
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code])
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark process failed with status {status}")
    return seconds, usage.ru_maxrss / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", default="256,1024,2048", help="stack sizes in MB, comma-separated")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    arguments = parser.parse_args()
    sizes = [int(s) for s in arguments.sizes_mb.split(",")]
    with tempfile.TemporaryDirectory(dir=arguments.workdir) as scratch:
        scratch = Path(scratch)
        print(f"{'stack':>16} {'MB':>6} | {'vemprof MB/s':>12} {'peak MB':>8} | {'baseline MB/s':>13} {'peak MB':>8} "
              f"| {'speed ratio':>11} {'memory ratio':>12}")
        for size in sizes:
            source = scratch / f"stack_{size}.tif"
            shape = write_stack(source, size_mb=size)
            megabytes = source.stat().st_size / 1e6
            ours = run_measured(VEMPROF.format(source=str(source), destination=str(scratch / f"v{size}.zarr")))
            base = run_measured(BASELINE.format(source=str(source), destination=str(scratch / f"b{size}.zarr")))
            print(f"{'×'.join(map(str, shape)):>16} {megabytes:6.0f} | {megabytes / ours[0]:12.1f} {ours[1]:8.0f} | "
                  f"{megabytes / base[0]:13.1f} {base[1]:8.0f} | {base[0] / ours[0]:11.2f} {base[1] / ours[1]:12.2f}")
            source.unlink()


if __name__ == "__main__":
    main()
