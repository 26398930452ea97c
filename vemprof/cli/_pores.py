"""``vemprof pores``: the nuclear-pore workflow's steps on a store, in order, with what each wrote."""

from __future__ import annotations

import warnings
from pathlib import Path

from rich.console import Console

from vemprof.cli._rich_progress import rich_progress
from vemprof.cli._rows import print_rows
from vemprof.errors import VemprofError

#: The steps built so far, in the order they run.
STEPS = ("pockets", "masks", "distribute", "score")


def run_pores(store: Path, *, nucleus: str, steps: str, prefix: str, contrast: str, pockets_chain: Path | None,
              pore_radius_nm: float, pores_labels: str | None, figures: Path | None, truth: str,
              tolerance_nm: float, console: Console) -> None:
    """Run the chosen ``steps`` (comma-separated, of `STEPS`) on the store at ``store``;
    outputs are named with ``prefix``, and a phantom's ground truth is never overwritten."""
    from vemprof.store import Store
    from vemprof.workflows import (
        POCKETS_CHAIN,
        distribute_pores,
        find_pockets,
        find_pore_masks,
        score_detection,
    )

    chosen = [step.strip() for step in steps.split(",") if step.strip()]
    unknown = sorted(set(chosen) - set(STEPS))
    if unknown:
        raise VemprofError(f"unknown step(s) {', '.join(unknown)}; the steps built so far: {', '.join(STEPS)}")
    dataset = Store.open(store)
    names = {"pockets": f"{prefix}pockets", "masks": f"{prefix}pore_masks", "distribute": None, "score": None}
    phantom_truth = {output for record in dataset.provenance if record.get("step") == "synth"
                     for output in record.get("outputs", [])}
    for step in chosen:
        if names[step] and f"labels/{names[step]}" in phantom_truth:
            raise VemprofError(f"labels/{names[step]} holds the phantom's ground truth; write beside it with "
                               "--prefix, e.g. --prefix found_")
    if "pockets" in chosen:
        count = find_pockets(dataset, nucleus=nucleus, out=names["pockets"], contrast=contrast,
                             chain=pockets_chain or POCKETS_CHAIN, progress=rich_progress)
        console.print(f"found {count} pockets under the envelope of labels/{nucleus}; wrote labels/{names['pockets']}")
    if "masks" in chosen:
        count = find_pore_masks(dataset, nucleus=nucleus, pockets=names["pockets"], out=names["masks"],
                                radius_nm=pore_radius_nm, progress=rich_progress)
        console.print(f"marked {count} pores above the pockets; wrote labels/{names['masks']}")
    if "distribute" in chosen:
        pores_name = pores_labels or next((name for name in (f"{prefix}pores", names["masks"])
                                           if name in dataset.label_names), f"{prefix}pores")
        folder = figures or store.with_name(f"{store.name.removesuffix('.zarr')}_pores")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            tables = distribute_pores(dataset, pores=pores_name, nucleus=nucleus, prefix=prefix, figures=folder,
                                      progress=rich_progress)
        for warning in caught:
            console.print(f"[yellow]warning:[/] {warning.message}", highlight=False, soft_wrap=True)
        console.print(f"the pores of labels/{pores_name} on the envelope, by section:")
        print_rows(tables[f"{prefix}pore_density"], console)
        print_rows(tables[f"{prefix}pore_sections_test"], console)
        console.print(f"wrote tables/{prefix}pores, tables/{prefix}pore_density, tables/{prefix}pore_sections_test "
                      f"and the figures in {folder}")
    if "score" in chosen:
        routes = {"3D operations": names["masks"]}
        scored = score_detection(dataset, truth=truth, found=routes, nucleus=nucleus, tolerance_nm=tolerance_nm)
        dataset.write_table(f"{prefix}pore_detection", scored)
        dataset.record("pores", outputs=[f"tables/{prefix}pore_detection"],
                       parameters={"step": "score", "truth": truth, "routes": routes, "tolerance_nm": tolerance_nm})
        print_rows(scored, console, skip_empty=True)
        console.print(f"wrote tables/{prefix}pore_detection")

