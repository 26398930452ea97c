"""Benchmark: how well touching mitochondria are split into instances, on true masks.

The mitochondria of several phantoms (the default, other seeds, another voxel size), all
instances joined into one mask, are split again by `vemprof.ops.split_touching` — by
h-maxima alone (the depth ``h`` of a centre below its neck, 50 nm: the U-Net's clean-up
before the neck ratio) and by over-splitting (h 10 nm) then merging parts whose neck keeps
at least 0.6 of the thinner part's radius (the clean-up's default now) — and scored
against the phantom's instances: F1 at IoU ≥ 0.5 and AP-75. The mask is the truth, so
the score is the splitting's alone, not the network's.

Run: ``python benchmarks/split_accuracy.py``. About 5 minutes on 2 cores (most of it
making the phantoms).
"""

from __future__ import annotations

import time

from vemprof import ops
from vemprof.evaluate import instance_scores
from vemprof.synth import make_phantom

PHANTOMS = {
    "default (256 × 512 × 512 at 25 × 20 × 20 nm, seed 0)": {},
    "seed 1": {"seed": 1},
    "seed 2": {"seed": 2},
    "40 nm voxels (128 × 256 × 256), seed 3": {"shape": (128, 256, 256), "spacing": (40.0, 40.0, 40.0), "seed": 3},
}
METHODS = {
    "h-maxima, h 50 nm": {"h_nm": 50.0},
    "h 10 nm + neck ratio 0.6": {"h_nm": 10.0, "neck_ratio": 0.6},
}


def main() -> None:
    print("| phantom | mitochondria (touching) | " + " | ".join(f"{m}: F1 / AP-75" for m in METHODS) + " | s |")
    print("|---|---:|" + "---:|" * len(METHODS) + "---:|")
    for name, overrides in PHANTOMS.items():
        started = time.perf_counter()
        phantom = make_phantom(**overrides)
        truth = phantom.labels["mitochondria"]
        touching = _touching(truth)
        cells = []
        for options in METHODS.values():
            split = ops.split_touching(truth > 0, spacing=phantom.spacing, max_radius_nm=500.0, **options)
            scores = instance_scores(truth, split)
            cells.append(f"{scores['f1']:.3f} / {scores['ap_75']:.3f}")
        print(f"| {name} | {int(truth.max())} ({touching}) | " + " | ".join(cells)
              + f" | {time.perf_counter() - started:.0f} |", flush=True)


def _touching(labels) -> int:
    """How many objects touch another (share a face)."""
    touching = set()
    for axis in range(3):
        first = labels.take(range(labels.shape[axis] - 1), axis=axis)
        second = labels.take(range(1, labels.shape[axis]), axis=axis)
        meet = (first > 0) & (second > 0) & (first != second)
        touching |= set(first[meet].tolist()) | set(second[meet].tolist())
    return len(touching)


if __name__ == "__main__":
    main()
