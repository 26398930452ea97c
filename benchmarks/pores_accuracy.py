"""Benchmark: the nuclear pores found on a phantom, by each route, against its true pores.

Makes a phantom (default: the default phantom, 256 × 512 × 512 at 25 × 20 × 20 nm) and
runs the whole ``vemprof pores`` workflow on it with its defaults — pockets by 3D
operations, pore masks, the pore model trained with rotations and, with
``--xy-baseline``, without, detection, distribution and scoring — then prints the time of
each step (from the store's provenance), the detection table (precision, recall, F1 and
recall by the angle between the envelope normal and Z, at 60 nm) and the pores per µm²
of envelope by section against the phantom's design (10 and 7 per µm²).

Run: ``python benchmarks/pores_accuracy.py [FOLDER] [--seed N]``. About 15 minutes on 2
cores (two trainings of 5 minutes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import subprocess
import sys
import tempfile
from pathlib import Path

from vemprof.store import Store


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="where the phantom goes (default: a temporary folder)")
    parser.add_argument("--seed", type=int, default=0)
    options = parser.parse_args()
    folder = options.folder or Path(tempfile.mkdtemp(prefix="pores-"))
    store = folder / "phantom.zarr"
    vemprof = [sys.executable, "-m", "vemprof"]
    subprocess.run([*vemprof, "synth", str(store), "--seed", str(options.seed), "--no-preview"], check=True,
                   stdout=subprocess.DEVNULL)
    subprocess.run([*vemprof, "pores", str(store), "--prefix", "found_", "--xy-baseline", "--steps",
                    "pockets,masks,train,detect,distribute,score"], check=True)
    dataset = Store.open(store)
    print("\n| step | s |\n|---|---:|")
    for record in dataset.provenance:
        if record.get("step") == "pores":
            seconds = (dt.datetime.fromisoformat(record["finished"])
                       - dt.datetime.fromisoformat(record["started"])).total_seconds()
            print(f"| {record['parameters']['step']} {', '.join(record['outputs'])} | {seconds:.0f} |")
    detection = dataset.read_table("found_pore_detection")
    print("\n" + detection.round(3).to_string(index=False))
    density = dataset.read_table("found_pore_density")
    print("\n" + density.round(3).to_string(index=False))
    print(f"\nthe store: {store}")


if __name__ == "__main__":
    main()
