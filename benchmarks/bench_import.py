"""Import throughput and peak memory: `vemprof import` against "read it all, write it all".

For TIFF stacks of growing size (2048 × 2048 uint8 pages, each stack many times the 128³
chunk), it runs in a fresh process each:

* vemprof — ``import_volume`` (tiles of one 128-plane chunk-row read within the memory
  budget, chunks compressed in threads, the whole pyramid made from memory, provenance
  with the source's fingerprint);
* baseline — ``tifffile.imread`` of the whole stack, then one ``zarr`` write with the
  same chunks and compressor (level 0 only, no pyramid).

and prints MB/s (MB = 10⁶ bytes of the TIFF, over the process's whole run, imports
included) and the process's peak resident memory in MiB (from the kernel), best of
``--repeat`` runs each, the two run alternately on the same cached file. vemprof's peak
stays flat as the stack grows (the interpreter and its libraries, ~230 MiB, plus at most
the budget); the baseline's grows with the stack.

Run: ``.venv/bin/python benchmarks/bench_import.py [--sizes-mb 256,1024,4096] [--memory-mib 640]
[--repeat 2] [--workdir DIR]``. The scratch folder (default: the system's temporary
folder) needs about 3 × the largest stack free; it is removed afterwards.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import tifffile

VEMPROF = """
from vemprof.store import import_volume
import_volume({source!r}, {destination!r}, voxel_size_nm=(8, 5, 5), memory_mib={memory_mib!r})
"""

VEMPROF_IDLE = """
from vemprof.store import import_volume
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

    tifffile.imwrite(path, pages(), shape=(depth, width, width), dtype=np.uint8,
                     bigtiff=depth * width * width > 2**32 - 2**25)  # a classic TIFF holds up to 4 GiB
    return depth, width, width


PEAK = """
import os
if os.path.exists("/proc/self/status"):
    print("peak-kib", open("/proc/self/status").read().split("VmHWM:")[1].split()[0])
"""


def run_measured(code: str) -> tuple[float, float]:
    """Seconds and peak resident memory (MiB) of ``code`` run in a fresh Python process.

    The peak is the process's own high-water mark (Linux's ``VmHWM``); ``getrusage``'s
    ``ru_maxrss`` of a child, the fallback elsewhere, starts from its parent's peak.
    """
    start = time.perf_counter()
    process = subprocess.Popen([sys.executable, "-c", code + PEAK], stdout=subprocess.PIPE, text=True)
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if status != 0:
        raise SystemExit(f"benchmark process failed with status {status}")
    lines = [line.split()[1] for line in output.splitlines() if line.startswith("peak-kib")]
    return seconds, (int(lines[-1]) if lines else usage.ru_maxrss) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes-mb", default="256,1024,4096", help="stack sizes in MiB, comma-separated")
    parser.add_argument("--memory-mib", type=float, default=None, help="vemprof's memory budget (default: its own)")
    parser.add_argument("--repeat", type=int, default=2, help="runs of each, the best is kept")
    parser.add_argument("--workdir", default=None, help="scratch folder (default: a temporary one)")
    arguments = parser.parse_args()
    sizes = [int(s) for s in arguments.sizes_mb.split(",")]
    folder = Path(arguments.workdir or tempfile.gettempdir())
    free = shutil.disk_usage(folder).free
    if free < 3 * max(sizes) * 2**20:
        raise SystemExit(f"{folder} has {free / 2**30:.1f} GiB free, the benchmark needs about "
                         f"{3 * max(sizes) / 1024:.1f} GiB; pass --workdir on a larger disk")
    _, idle = run_measured(VEMPROF_IDLE)
    print(f"vemprof's idle footprint (Python and the libraries imported): {idle:.0f} MiB; "
          f"best of {arguments.repeat} runs each\n")
    print("| stack | MB | vemprof MB/s | vemprof peak MiB | baseline MB/s | baseline peak MiB | speed ratio "
          "(vemprof / baseline) | memory ratio (baseline / vemprof) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    with tempfile.TemporaryDirectory(dir=folder) as scratch:
        scratch = Path(scratch)
        for size in sizes:
            source = scratch / f"stack_{size}.tif"
            shape = write_stack(source, size_mb=size)
            megabytes = source.stat().st_size / 1e6
            ours, base = [], []
            for _ in range(arguments.repeat):
                for runs, code, name in ((ours, VEMPROF, "v"), (base, BASELINE, "b")):
                    destination = scratch / f"{name}{size}.zarr"
                    os.sync()  # no writeback of the last run's output slows this one
                    runs.append(run_measured(code.format(source=str(source), destination=str(destination),
                                                         memory_mib=arguments.memory_mib)))
                    shutil.rmtree(destination, ignore_errors=True)
            seconds, peak = min(r[0] for r in ours), max(r[1] for r in ours)
            base_seconds, base_peak = min(r[0] for r in base), max(r[1] for r in base)
            print(f"| {' × '.join(map(str, shape))} | {megabytes:.0f} | {megabytes / seconds:.1f} | {peak:.0f} | "
                  f"{megabytes / base_seconds:.1f} | {base_peak:.0f} | {base_seconds / seconds:.2f} | "
                  f"{base_peak / peak:.2f} |", flush=True)
            source.unlink()


if __name__ == "__main__":
    main()
