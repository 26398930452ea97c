"""``vemprof pores``: the nuclear-pore workflow's steps on a store, in order, with what each wrote."""

from __future__ import annotations

import warnings
from pathlib import Path

from rich.console import Console

from vemprof.cli._rich_progress import rich_progress
from vemprof.cli._rows import print_rows
from vemprof.errors import VemprofError

#: The steps, in the order they run.
STEPS = ("pockets", "masks", "train", "detect", "distribute", "score")


def run_pores(store: Path, *, nucleus: str, steps: str, prefix: str, contrast: str, pockets_chain: Path | None,
              pore_radius_nm: float, model: Path | None, train_minutes: float,
              train_iterations: int | None, rotations: str,
              training_fraction: float, rounds: int, xy_baseline: bool, threshold: float, confirmed: float, axes: str,
              pores_labels: str | None, figures: Path | None, truth: str, tolerance_nm: float,
              each_nucleus: bool, console: Console) -> None:
    """Run the chosen ``steps`` (comma-separated, of `STEPS`) on the store at ``store``;
    outputs are named with ``prefix``, and a phantom's ground truth is never overwritten."""
    from vemprof.store import Store
    from vemprof.workflows import (
        POCKETS_CHAIN,
        detect_pores,
        distribute_pores,
        find_pockets,
        find_pore_masks,
        pore_steps_figure,
        score_detection,
        train_in_rounds,
    )

    chosen = [step.strip() for step in steps.split(",") if step.strip()]
    unknown = sorted(set(chosen) - set(STEPS))
    if unknown:
        raise VemprofError(f"unknown step(s) {', '.join(unknown)}; the steps are {', '.join(STEPS)}")
    angles = _angles(rotations)
    dataset = Store.open(store)
    folder = figures or store.with_name(f"{store.name.removesuffix('.zarr')}_pores")
    model = model or folder / "pore_model.zip"
    # the learned routes: (labels written, model, rotations), with rotations first
    learned = [(f"{prefix}pores", model, angles)]
    if xy_baseline:
        learned.append((f"{prefix}pores_xy", model.with_name(f"{model.stem}_xy{model.suffix}"), ()))
    names = {"pockets": [f"{prefix}pockets"], "masks": [f"{prefix}pore_masks"], "train": [f"{prefix}pore_training"],
             "detect": [name for name, _, _ in learned], "distribute": [], "score": []}
    phantom_truth = dataset.phantom_truth
    for step in chosen:
        for name in names[step]:
            if f"labels/{name}" in phantom_truth:
                raise VemprofError(f"labels/{name} holds the phantom's ground truth; write beside it with "
                                   "--prefix, e.g. --prefix found_")
    if "pockets" in chosen:
        count = find_pockets(dataset, nucleus=nucleus, out=f"{prefix}pockets", contrast=contrast,
                             chain=pockets_chain or POCKETS_CHAIN, each_nucleus=each_nucleus, progress=rich_progress)
        console.print(f"found {count} pockets under the envelope of labels/{nucleus}; wrote labels/{prefix}pockets")
    if "masks" in chosen:
        count = find_pore_masks(dataset, nucleus=nucleus, pockets=f"{prefix}pockets", out=f"{prefix}pore_masks",
                                radius_nm=pore_radius_nm, progress=rich_progress)
        console.print(f"marked {count} pores above the pockets; wrote labels/{prefix}pore_masks")
    if "train" in chosen:
        for _, path, turns in learned:
            records = train_in_rounds(dataset, nucleus=nucleus, masks=f"{prefix}pore_masks",
                                      annotations=f"{prefix}pore_training", path=path, rounds=rounds,
                                      fraction=training_fraction, minutes=train_minutes,
                                      iterations=train_iterations, rotations=turns,
                                      radius_nm=pore_radius_nm, threshold=threshold, confirmed=confirmed,
                                      axes=axes, each_nucleus=each_nucleus, progress=rich_progress)
            for record in records:
                console.print(f"round {record['round']}: trained the pore model ({_route(turns)}) on the "
                              f"{record['masks']} pores of labels/{record['targets']} with X < {record['x_end']} "
                              f"voxels; {record['iterations']} iterations, {record['minutes']:.1f} min, validation "
                              f"IoU {record['best_mean_iou']:.2f}; wrote {path}")
    if "detect" in chosen:
        for name, path, _ in learned:
            masks = f"{prefix}pore_masks" if f"{prefix}pore_masks" in dataset.label_names else None
            count = detect_pores(dataset, model=path, nucleus=nucleus, out=name, radius_nm=pore_radius_nm,
                                 threshold=threshold, masks=masks, confirmed=confirmed, axes=axes,
                                 each_nucleus=each_nucleus, progress=rich_progress)
            console.print(f"found {count} pores near the envelope with {path.name}; wrote probabilities/{name} and "
                          f"labels/{name}")
    if "distribute" in chosen:
        pores_name = pores_labels or next((name for name in (f"{prefix}pores", f"{prefix}pore_masks")
                                           if name in dataset.label_names), f"{prefix}pores")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tables = distribute_pores(dataset, pores=pores_name, nucleus=nucleus, prefix=prefix, figures=folder,
                                      each_nucleus=each_nucleus, progress=rich_progress)
        for warning in caught:
            console.print(f"[yellow]warning:[/] {warning.message}", highlight=False, soft_wrap=True)
        console.print(f"the pores of labels/{pores_name} on the envelope, by nucleus and section:")
        print_rows(tables[f"{prefix}pore_density"], console)
        print_rows(tables[f"{prefix}pore_sections_test"], console)
        console.print(f"wrote tables/{prefix}pores, tables/{prefix}pore_density, tables/{prefix}pore_sections_test "
                      f"and the figures in {folder}")
    if "score" in chosen:
        routes = {"3D operations": f"{prefix}pore_masks"}
        for name in (f"{prefix}pores", f"{prefix}pores_xy"):
            detections = [record["parameters"] for record in dataset.provenance
                          if f"labels/{name}" in record.get("outputs", []) and record.get("step") == "pores"]
            if name in dataset.label_names and detections:
                read = ", read along Z/Y/X" if detections[-1].get("axes") == "zyx" else ""
                routes[f"learned, {_route(detections[-1]['rotations'])}{read}"] = name
        scored = score_detection(dataset, truth=truth, found=routes, nucleus=nucleus, tolerance_nm=tolerance_nm)
        dataset.write_table(f"{prefix}pore_detection", scored)
        dataset.record("pores", outputs=[f"tables/{prefix}pore_detection"],
                       parameters={"step": "score", "truth": truth, "routes": routes, "tolerance_nm": tolerance_nm})
        print_rows(scored, console, skip_empty=True)
        console.print(f"wrote tables/{prefix}pore_detection")
    if set(chosen) - {"train", "score"}:
        drawn = pore_steps_figure(dataset, nucleus=nucleus, prefix=prefix, out=folder / "pores_steps.png",
                                  chain=pockets_chain or POCKETS_CHAIN)
        console.print(f"drew the steps in one plane: {drawn}")


def _angles(rotations: str) -> tuple[float, ...]:
    """The degrees of ``--rotations`` ("30,60,90"; "none": no rotation)."""
    if rotations.strip().lower() == "none":
        return ()
    try:
        angles = tuple(float(angle) for angle in rotations.split(","))
    except ValueError:
        raise VemprofError(f"--rotations takes degrees like 30,60,90 or none, got {rotations!r}") from None
    if not all(0 < angle <= 90 for angle in angles):
        raise VemprofError(f"--rotations must lie in (0, 90] degrees, got {rotations!r}")
    return angles


def _route(angles) -> str:
    """How a pore model saw the volume, in words."""
    return f"rotated {'/'.join(f'{a:g}' for a in angles)}°" if angles else "Z planes only"
