"""Benchmark: the whole profile (`vemprof profile`) on phantoms of growing size, one cell or a field.

For each shape (Z, Y, X voxels at the default 25 × 20 × 20 nm; the cell grows with the
field), makes the phantom, paints the scribbles and organelle planes from its truth as
``make demo`` does, runs ``vemprof profile STORE --pipeline pipelines/demo.yaml --prefix
found_`` in a fresh process, and prints the seconds of each step (from the store's
provenance), the whole run's time and its peak resident memory (measured by the kernel),
and the growth of each against the smallest volume. The trainings are time-limited
(2.5 and 3 minutes), so they cost the same at every size; the rest should grow with the
voxels, or with the nuclear surface for the pores.

Run: ``.venv/bin/python benchmarks/bench_profile_scale.py [FOLDER] [--shapes 128,256,256 192,384,384]
[--tiles ZxYxX]`` (about 6 + 8 minutes on 2 cores for the default shapes; the 256 × 512 ×
512 demo phantom takes 11.5).

A single cell is made in memory (`vemprof synth`, about 31 bytes a voxel), so this
machine stops near 3·10⁸ voxels. Larger volumes are fields of cells: with ``--tiles``,
each shape is one cell's tile and the field holds tz × ty × tx of them (made tile by tile
with the memory of one), profiled with every cell and nucleus kept by the clean-ups
(``each_cell: true``, ``cleanup: {nucleus: {kind: nuclei}}``) and the pores and
distribution steps set to ``each_nucleus: true``; e.g. ``--shapes 250,500,500 --tiles
4x2x2`` is 1000³ voxels.
"""

from __future__ import annotations

import argparse
import datetime as dt
import math
import subprocess
import sys
import tempfile
from pathlib import Path

import yaml
from _measure import run_measured

from vemprof.store import Store

PIPELINE = Path(__file__).resolve().parents[1] / "pipelines" / "demo.yaml"


def make_phantom(store: Path, shape: str, tiles: str) -> None:
    """The phantom (a field of ``tiles`` cells of ``shape``) and its annotations, as ``make
    demo`` makes them."""
    vemprof = [sys.executable, "-m", "vemprof"]
    for command in (["synth", str(store), "--set", f"shape={shape}", "--tiles", tiles, "--overwrite", "--no-preview"],
                    ["annotate-planes", str(store), "--from-labels", "cell", "--out", "cell_scribbles",
                     "--every", "64", "--fraction", "0.3", "--overwrite"],
                    ["annotate-planes", str(store), "--from-labels", "nucleus,mitochondria",
                     "--out", "organelle_annotations", "--every", "10", "--fraction", "0.5", "--overwrite"]):
        subprocess.run([*vemprof, *command], check=True, stdout=subprocess.DEVNULL)


def many_cells_pipeline(path: Path) -> Path:
    """``PIPELINE`` for a volume of many cells, written at ``path``: every cell and every
    nucleus kept by the clean-ups, the pores and their distribution counted nucleus by
    nucleus, the pore model trained 5 minutes."""
    pipeline = yaml.safe_load(PIPELINE.read_text())
    for step in pipeline["steps"]:
        if step["step"] == "cell":
            step["each_cell"] = True
        if step["step"] == "organelles":
            step["cleanup"] = {"nucleus": {"kind": "nuclei"}}
        if step["step"] in ("pores", "distribution"):
            step["each_nucleus"] = True
        if step["step"] == "pores":
            step["train_minutes"] = 5  # the default pipeline's (the demo's 3 fit one cell in 15 minutes)
    path.write_text(yaml.safe_dump(pipeline, sort_keys=False))
    return path


def step_seconds(store: Path) -> dict[str, float]:
    """Seconds of each profile step, from the store's provenance (the last record of each)."""
    seconds = {}
    for record in Store.open(store).provenance:
        if record.get("step") == "profile":
            took = dt.datetime.fromisoformat(record["finished"]) - dt.datetime.fromisoformat(record["started"])
            seconds[record["parameters"]["pipeline_step"]] = took.total_seconds()
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("folder", nargs="?", type=Path, help="where the phantoms go (default: a temporary folder)")
    parser.add_argument("--shapes", nargs="+", default=["128,256,256", "192,384,384"],
                        help="Z,Y,X voxel counts, one phantom each (with --tiles, of one tile)")
    parser.add_argument("--tiles", default="1x1x1", help="ZxYxX cells in the field (default: one cell)")
    options = parser.parse_args()
    folder = options.folder or Path(tempfile.mkdtemp(prefix="profile-scale-"))
    folder.mkdir(parents=True, exist_ok=True)
    cells = math.prod(int(n) for n in options.tiles.split("x"))
    pipeline = many_cells_pipeline(folder / "pipeline.yaml") if cells > 1 else PIPELINE
    rows = []
    for shape in options.shapes:
        store = folder / f"phantom_{shape.replace(',', 'x')}_{options.tiles}.zarr"
        make_phantom(store, shape, options.tiles)
        code = (f"import sys; from vemprof.cli import main; sys.argv = ['vemprof', 'profile', {str(store)!r}, "
                f"'--pipeline', {str(pipeline)!r}, '--prefix', 'found_']; main()")
        seconds, peak_mib = run_measured(code)
        voxels = math.prod(int(n) for n in shape.split(",")) * cells
        rows.append((shape if cells == 1 else f"{shape} × {options.tiles}", voxels, step_seconds(store), seconds,
                     peak_mib))
    steps = list(rows[0][2])
    print("\n| shape | voxels | " + " | ".join(f"{step} s" for step in steps) + " | total s | peak GiB |")
    print("|---|---:|" + "---:|" * (len(steps) + 2))
    for shape, voxels, per_step, seconds, peak_mib in rows:
        times = " | ".join(f"{per_step.get(step, float('nan')):.0f}" for step in steps)
        print(f"| {shape} | {voxels / 1e6:.0f} M | {times} | {seconds:.0f} | {peak_mib / 1024:.1f} |")
    smallest = rows[0]
    for shape, voxels, per_step, seconds, peak_mib in rows[1:]:
        growth = ", ".join(f"{step} ×{per_step[step] / max(smallest[2][step], 1):.1f}" for step in steps)
        print(f"{shape} against {smallest[0]} (×{voxels / smallest[1]:.1f} voxels): {growth}; "
              f"total ×{seconds / smallest[3]:.1f}, peak memory ×{peak_mib / smallest[4]:.1f}")


if __name__ == "__main__":
    main()
