"""The ``vemprof`` command: import, synth, info, preview, export, ops, annotate-planes, train, predict,
export-model, import-model, evaluate, measure, sections, distances, points, pores, correlate, compare, render,
pipeline (show, check), profile and batch."""

from __future__ import annotations

import json
import sys
import warnings
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console

import vemprof
from vemprof.cli._parse import assignments, cleanup_overrides, counts, plane, triple
from vemprof.cli._render import render_command
from vemprof.cli._rich_progress import rich_progress
from vemprof.cli._rows import print_rows
from vemprof.errors import VemprofError

app = typer.Typer(
    name="vemprof",
    help="Profile cells in volume electron microscopy. Axes are Z,Y,X; voxel sizes in nm.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
console = Console()


def _version(show: bool) -> None:
    if show:
        console.print(f"vemprof {vemprof.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True, help="Print the version."),
) -> None:
    """Profile cells in volume electron microscopy."""


@app.command("import")
def import_command(
    source: Path = typer.Argument(..., help="OME-Zarr, TIFF (file or folder of slices), MRC, HDF5 or N5 volume."),
    destination: Path = typer.Argument(..., help="Dataset store to create, e.g. cell.zarr (or to add labels to)."),
    voxel_size: Optional[str] = typer.Option(None, "--voxel-size", help="Z,Y,X in nm; overrides the file's."),
    key: Optional[str] = typer.Option(None, "--key", help="Dataset inside an HDF5/N5/zarr container."),
    level: int = typer.Option(0, "--level", help="Pyramid level of SOURCE to import (0 = full resolution)."),
    channel: Optional[int] = typer.Option(None, "--channel", help="Channel of SOURCE to keep (RGB, multi-channel)."),
    as_labels: Optional[str] = typer.Option(None, "--as-labels", metavar="NAME",
                                            help="Add SOURCE as label image NAME to the existing store."),
    as_image: bool = typer.Option(False, "--as-image",
                                  help="Import SOURCE as an image even if it looks like a label image."),
    as_annotations: Optional[str] = typer.Option(
        None, "--as-annotations", metavar="NAME",
        help="Add SOURCE as sparse annotations NAME (0 not annotated, 1 background, 2… --classes)."),
    classes: Optional[str] = typer.Option(None, "--classes", metavar="A,B,…",
                                          help="Class names of the annotation values 2, 3, … (--as-annotations)."),
    allow_missing_chunks: bool = typer.Option(False, "--allow-missing-chunks",
                                              help="Read chunks missing from a zarr/N5/HDF5 SOURCE as its fill value."),
    chunks: str = typer.Option("128,128,128", "--chunks", help="Chunk shape Z,Y,X in voxels."),
    memory: Optional[float] = typer.Option(None, "--memory", metavar="MiB", show_default="640",
                                           help="Memory for the data in flight, beyond Python's own ~220 MiB."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace a store that holds a different dataset."),
) -> None:
    """Import a volume into a dataset store (chunked OME-Zarr with a pyramid). Rerun to resume."""
    from vemprof.store import Store, import_annotations, import_labels, import_volume

    chunk_shape = _chunk_shape(chunks)
    if as_annotations or classes is not None:
        if as_labels or as_image:
            raise VemprofError("--as-annotations adds sparse annotations, --as-labels label images, --as-image an "
                               "image; give one of them")
        if not as_annotations:
            raise VemprofError("--classes names the classes of an annotation image; give it with --as-annotations NAME")
        store = Store.open(destination)
        annotations = import_annotations(source, store, as_annotations, classes=classes, key=key, level=level,
                                         channel=channel, chunks=chunk_shape, memory_mib=memory, progress=rich_progress)
        console.print(f"added annotations labels/{as_annotations} {annotations.shape} to {destination}; voxels: "
                      + ", ".join(f"{n} {v:,}" for n, v in store.annotation_voxels(as_annotations).items()))
        return
    if as_labels:
        if as_image:
            raise VemprofError("--as-image is for images, --as-labels for label images; give one of them")
        labels = import_labels(source, Store.open(destination), as_labels, key=key, level=level, channel=channel,
                               chunks=chunk_shape, memory_mib=memory, progress=rich_progress)
        console.print(f"added labels/{as_labels} {labels.shape} {labels.dtype} to {destination}")
        return
    result = import_volume(source, destination, key=key, level=level, channel=channel,
                           voxel_size_nm=triple(voxel_size, option="--voxel-size"), as_image=as_image,
                           allow_missing_chunks=allow_missing_chunks,
                           chunks=chunk_shape, memory_mib=memory, overwrite=overwrite, progress=rich_progress)
    console.print(f"{result.status}: {source} → {destination}  {result.volume!r}")


@app.command()
def synth(
    destination: Optional[Path] = typer.Argument(None, help="Dataset store to create, e.g. phantom.zarr."),
    shape: Optional[str] = typer.Option(None, "--shape", help="Z,Y,X in voxels [default: 256,512,512]."),
    voxel_size: Optional[str] = typer.Option(None, "--voxel-size", help="Z,Y,X in nm [default: 25,20,20]."),
    seed: Optional[int] = typer.Option(None, "--seed", help="Random seed; the same seed gives the same phantom "
                                                         "[default: 0]."),
    settings: Optional[list[str]] = typer.Option(None, "--set", metavar="NAME=VALUE",
                                                 help="Any phantom parameter (see 'vemprof synth --parameters')."),
    list_parameters: bool = typer.Option(False, "--parameters", help="List the phantom parameters and exit."),
    tiles: str = typer.Option("1x1x1", "--tiles", metavar="ZxYxX",
                              help="A field of cells: tile counts Z x Y x X, one phantom of --shape per tile, "
                                   "made tile by tile with the memory of one tile."),
    preview: bool = typer.Option(True, "--preview/--no-preview", help="Also write DEST.png, a montage of slices."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing store."),
) -> None:
    """Make a realistic phantom HeLa cell in FIB-SEM with exact ground truth."""
    from vemprof.cli._synth import describe_parameters, run_synth

    if list_parameters:
        console.print(describe_parameters())
        return
    if destination is None:
        raise VemprofError("give the store to create: vemprof synth PHANTOM.zarr (or --parameters)")
    overrides: dict = assignments(settings)
    if shape:
        overrides["shape"] = triple(shape, option="--shape", integer=True)
    if voxel_size:
        overrides["spacing"] = triple(voxel_size, option="--voxel-size")
    run_synth(destination, seed=seed, overrides=overrides, tiles=counts(tiles, option="--tiles"), preview=preview,
              overwrite=overwrite, console=console)


@app.command()
def info(
    path: Path = typer.Argument(..., help="A dataset store, or any volume vemprof reads."),
    key: Optional[str] = typer.Option(None, "--key", help="Dataset inside an HDF5/N5 file."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON."),
) -> None:
    """Shape, voxel size, chunks, pyramid levels, labels, tables and provenance."""
    from vemprof.cli._info import describe

    summary = describe(path, key=key)
    if as_json:
        sys.stdout.write(json.dumps(summary, indent=2) + "\n")
    else:
        from vemprof.cli._info import render

        console.print(render(summary))


@app.command()
def preview(
    store: Path = typer.Argument(..., help="A dataset store."),
    out: Optional[Path] = typer.Option(None, "--out", help="PNG to write (default: STORE.png)."),
    labels: Optional[list[str]] = typer.Option(None, "--labels", help="Label images to overlay (default: all)."),
) -> None:
    """Write a montage of slices with the label images overlaid."""
    from vemprof.render import write_preview

    path = write_preview(store, out=out, label_names=labels)
    console.print(f"wrote {path}")


@app.command()
def export(
    store: Path = typer.Argument(..., help="A dataset store."),
    out: Path = typer.Argument(..., help="TIFF to write."),
    labels: Optional[str] = typer.Option(None, "--labels", help="Export this label image instead of the raw image."),
    level: int = typer.Option(0, "--level", help="Pyramid level (0 = full resolution)."),
) -> None:
    """Export the raw image or a label image to a TIFF stack with its voxel size."""
    from vemprof.store import Store, export_tiff

    dataset = Store.open(store)
    volume = dataset.labels(labels, level=level) if labels else dataset.raw(level=level)
    console.print(f"wrote {export_tiff(volume, out, progress=rich_progress)}  {volume!r}")


@app.command("annotate-planes")
def annotate_planes_command(
    store: Path = typer.Argument(..., help="A dataset store."),
    from_labels: str = typer.Option(..., "--from-labels", metavar="NAME,…",
                                     help="Label images to paint, in class order (values 2, 3, …; the last wins)."),
    out: str = typer.Option(..., "--out", metavar="NAME", help="Annotation image to write, labels/NAME."),
    every: int = typer.Option(10, "--every", help="Annotate planes 0, N, 2N, … along --axis."),
    fraction: float = typer.Option(1.0, "--fraction",
                                   help="Part of each annotated plane painted, in patches placed at random."),
    patch: float = typer.Option(500.0, "--patch", metavar="NM", help="Patch (disc) diameter in nm."),
    axis: str = typer.Option("z", "--axis", help="Axis across the annotated planes: z, y or x."),
    seed: int = typer.Option(0, "--seed", help="Seed of the patch positions."),
    contacts: str = typer.Option("", "--contacts", metavar="NAME,…",
                                 help="Instance label images whose seams between touching objects get a class."),
    memory: Optional[float] = typer.Option(None, "--memory", metavar="MiB", show_default="640",
                                           help="Memory for the data in flight, beyond Python's own ~220 MiB."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing labels/NAME."),
) -> None:
    """Sparse annotations from label images, as a person paints them: every N-th plane, whole or in patches."""
    from vemprof.learn import annotate_planes
    from vemprof.store import Store

    dataset = Store.open(store)
    annotate_planes(dataset, out, from_labels=from_labels, every=every, fraction=fraction, axis=axis, seed=seed,
                    patch_nm=patch, contacts=contacts, overwrite=overwrite, memory_mib=memory, progress=rich_progress)
    console.print(f"wrote labels/{out} to {store}; voxels: "
                  + ", ".join(f"{n} {v:,}" for n, v in dataset.annotation_voxels(out).items()))


@app.command()
def ops(
    chain: Optional[Path] = typer.Argument(None, help="YAML list of steps: {op: NAME, input: …, output: …, options}."),
    store: Optional[Path] = typer.Argument(None, help="The dataset store whose members the chain reads and writes."),
    outputs: Optional[list[str]] = typer.Option(None, "--output", help="Step outputs to keep (default: the last)."),
    list_operations: bool = typer.Option(False, "--list", help="List every operation with its parameters and exit."),
) -> None:
    """Run a chain of 3D operations on a store; results become labels, probabilities or tables."""
    from vemprof.cli._ops import operations_table

    if list_operations:
        console.print(operations_table())
        return
    if chain is None or store is None:
        raise VemprofError("give a chain and a store: vemprof ops CHAIN.yaml STORE.zarr (or --list)")
    if not chain.is_file():
        raise VemprofError(f"no such chain file: {chain}")
    from vemprof.pipeline import run_ops_chain
    from vemprof.store import Store

    written = run_ops_chain(Store.open(store), chain, outputs=outputs, progress=rich_progress)
    for name, where in written.items():
        console.print(f"{name} → {where}")


@app.command()
def train(
    store: Path = typer.Argument(..., help="The dataset store holding the raw image and the annotations."),
    annotations: str = typer.Option(..., "--annotations", metavar="NAME", help="Annotation image in the store."),
    out: Path = typer.Option(..., "--out", metavar="MODEL", help="Model to write: a folder, or MODEL.zip."),
    kind: str = typer.Option("forest", "--kind", help="Model kind: forest (pixel classifier) or unet (2D U-Net)."),
    level: int = typer.Option(0, "--level", help="Pyramid level to train on (coarser: faster, for cell vs resin)."),
    trees: int = typer.Option(100, "--trees", help="Forest: its trees."),
    max_minutes: float = typer.Option(10.0, "--max-minutes", help="U-Net: stop training then, keeping the best."),
    max_iterations: int = typer.Option(5000, "--max-iterations", help="U-Net: most training steps."),
    device: str = typer.Option("auto", "--device", help="U-Net: auto, cpu or cuda."),
    rotations: str = typer.Option("", "--rotations", metavar="DEGREES",
                                  help="U-Net: also train on the volume rotated about X and Y, e.g. 30,60,90."),
    every: int = typer.Option(5, "--every", help="U-Net with --rotations: every N-th plane of each rotated volume."),
    seed: int = typer.Option(0, "--seed", help="Seed of the sampling and the model."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model."),
) -> None:
    """Train a pixel classifier or a U-Net on a store's sparse annotations; save it as a model file."""
    from vemprof.cli._learn import run_train

    run_train(store, annotations=annotations, kind=kind, out=out, level=level, seed=seed, trees=trees,
              max_minutes=max_minutes, max_iterations=max_iterations, device=device, rotations=rotations,
              every=every, overwrite=overwrite, console=console)


@app.command()
def predict(
    store: Path = typer.Argument(..., help="The dataset store to classify."),
    model: Path = typer.Option(..., "--model", metavar="MODEL", help="Model folder or .zip from 'vemprof train'."),
    level: Optional[int] = typer.Option(None, "--level", show_default="the model's voxel size",
                                        help="Pyramid level to classify; results are upsampled to full size."),
    prefix: str = typer.Option("", "--prefix", help="Write labels/PREFIXclass and probabilities/PREFIXclass."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace existing outputs of those names."),
    device: str = typer.Option("auto", "--device", help="U-Net: auto, cpu (onnxruntime) or cuda (PyTorch)."),
    axes: str = typer.Option("z", "--axes", help="U-Net: z (along Z planes) or zyx (along Z, Y and X planes, "
                                                 "averaged; 3x the time)."),
    cleanup: Optional[list[str]] = typer.Option(None, "--cleanup", metavar="CLASS.PARAMETER=VALUE",
                                                help="U-Net: change a clean-up parameter of the model, e.g. "
                                                     "mitochondria.neck_ratio=0.5 or nucleus.closing_nm=80 "
                                                     "(lengths in nm; repeatable)."),
    each_cell: bool = typer.Option(False, "--each-cell",
                                   help="Forest: keep every cell of a volume of many, not only the largest."),
    within: Optional[str] = typer.Option(None, "--within", metavar="LABELS",
                                         help="Keep objects only inside this label image, e.g. the cell mask."),
) -> None:
    """Classify a store with a model: probabilities/<class> (0-255) and labels/<class>."""
    from vemprof.cli._learn import run_predict

    run_predict(store, model=model, level=level, prefix=prefix, overwrite=overwrite, device=device, axes=axes,
                cleanup=cleanup_overrides(cleanup), each_cell=each_cell, within=within, console=console)


@app.command("export-model")
def export_model_command(
    model: Path = typer.Argument(..., help="A U-Net model folder or .zip from 'vemprof train --kind unet'."),
    out: Path = typer.Argument(..., help="File to write: MODEL.onnx, MODEL.czann or MODEL.zip (bioimage.io)."),
    file_format: str = typer.Option(..., "--format", help="onnx (the network alone), czann (ZEISS ZEN, arivis) or "
                                                          "bioimageio (a bioimage.io model package)."),
    sample: Optional[Path] = typer.Option(None, "--sample", metavar="STORE", show_default="the training store",
                                          help="bioimageio: the store whose middle plane gives the test image."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing OUT."),
) -> None:
    """Export a U-Net model for other tools: ONNX, CZANN (ZEISS ZEN, arivis) or a bioimage.io package."""
    from vemprof.cli._models import run_export_model

    run_export_model(model, file_format=file_format, out=out, sample=sample, overwrite=overwrite, console=console)


@app.command("import-model")
def import_model_command(
    source: Path = typer.Argument(..., help="A .czann or bioimage.io .zip written by 'vemprof export-model'."),
    out: Path = typer.Option(..., "--out", metavar="MODEL", help="Model to write: a folder, or MODEL.zip."),
    overwrite: bool = typer.Option(False, "--overwrite", help="Replace an existing model."),
) -> None:
    """Import a U-Net exported as CZANN or bioimage.io back into a vemprof model."""
    from vemprof.cli._models import run_import_model

    run_import_model(source, out=out, overwrite=overwrite, console=console)


@app.command()
def evaluate(
    store: Path = typer.Argument(..., help="The dataset store holding the prediction (and the truth)."),
    truth: str = typer.Option(..., "--truth", metavar="NAME", help="Ground truth: labels/NAME, or a label file."),
    pred: str = typer.Option(..., "--pred", metavar="NAME",
                             help="Prediction: labels/NAME, or probabilities/NAME thresholded at 0.5."),
    instances: bool = typer.Option(False, "--instances", help="Score objects: matches at IoU >= 0.5, F1, AP."),
    points: bool = typer.Option(False, "--points", help="Score object centroids as points within --tolerance-nm."),
    tolerance_nm: Optional[float] = typer.Option(None, "--tolerance-nm", help="Largest distance of a point match, nm."),
    regions: Optional[str] = typer.Option(None, "--regions", metavar="NAME",
                                          help="With --points: also score each region of labels/NAME."),
    as_json: bool = typer.Option(False, "--json", help="Print machine-readable JSON (undefined scores as null)."),
) -> None:
    """Score a segmentation against ground truth: IoU/Dice, instance F1 and AP, or point detection."""
    from vemprof.cli._evaluate import as_json as jsonable, evaluate_store, render

    result = evaluate_store(store, truth=truth, pred=pred, instances=instances, points=points,
                            tolerance_nm=tolerance_nm, regions=regions, progress=rich_progress)
    if as_json:
        sys.stdout.write(json.dumps(jsonable(result), indent=2) + "\n")
    else:
        console.print(render(result))


@app.command()
def measure(
    store: Path = typer.Argument(..., help="The dataset store holding the label image."),
    labels: str = typer.Option(..., "--labels", metavar="NAME", help="Measure the objects of labels/NAME."),
    image: str = typer.Option("raw", "--image", metavar="NAME",
                              help="Intensity columns from raw or probabilities/NAME; 'none' for none."),
    cell: Optional[str] = typer.Option(None, "--cell", metavar="NAME",
                                       help="With --nucleus: each object's parent and tables/compartments."),
    nucleus: Optional[str] = typer.Option(None, "--nucleus", metavar="NAME", help="The nucleus (labels/NAME)."),
    max_distance_um: Optional[float] = typer.Option(
        None, "--max-distance-um",
        help="Membrane distances only up to this, µm; inf beyond (default: exact at every range)."),
    sections: Optional[str] = typer.Option(None, "--sections", metavar="NAME",
                                           help="Each object's nucleus section (labels/NAME) as column 'section'."),
    csv: Optional[Path] = typer.Option(None, "--csv", metavar="FILE", help="Also write the table as CSV."),
) -> None:
    """Measure every object of a label image (volume, surface, shape, position, intensity) into tables/NAME."""
    from vemprof.measure import measure_labels
    from vemprof.store import Store

    table = measure_labels(Store.open(store), labels, image=None if image == "none" else image, cell=cell,
                           nucleus=nucleus, max_distance_um=max_distance_um, sections=sections, csv=csv,
                           progress=rich_progress)
    console.print(f"measured {len(table)} objects of labels/{labels}; wrote tables/{labels}"
                  + (" and tables/compartments" if cell else "") + (f" and {csv}" if csv else ""))


@app.command()
def sections(
    store: Path = typer.Argument(..., help="The dataset store holding the nucleus."),
    nucleus: str = typer.Option("nucleus", "--nucleus", metavar="NAME", help="The nucleus (labels/NAME)."),
    plane_text: Optional[str] = typer.Option(
        None, "--plane", metavar="Z,Y,X:NZ,NY,NX",
        help="Split by the plane through Z,Y,X (µm) with normal NZ,NY,NX instead of at the invagination."),
    out: str = typer.Option("sections", "--out", metavar="NAME", help="Write labels/NAME and tables/NAME."),
    each_nucleus: bool = typer.Option(False, "--each-nucleus",
                                      help="Several nuclei: split each on its own (nucleus k: sections 2k-1, 2k)."),
) -> None:
    """Split the nucleus into two sections at its invagination (or by a plane): labels/sections, tables/sections."""
    from vemprof.spatial import split_nucleus
    from vemprof.store import Store

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        table = split_nucleus(Store.open(store), nucleus=nucleus, out=out, plane=plane(plane_text),
                              each_nucleus=each_nucleus, progress=rich_progress)
    _print_warnings(caught)
    nuclei = table["nucleus"].nunique()
    if plane_text:
        how = "by the plane"
    elif nuclei > 1:
        how = f"each of {nuclei} nuclei at its invagination"
    elif len(table) == 1:
        how = "into one section (no invagination)"
    else:
        how = f"at the invagination (neck {table['neck_ratio'].iloc[0]:.2f} of the radius)"
    console.print(f"split labels/{nucleus} {how}; wrote labels/{out} and tables/{out}")
    _print_result(table.drop(columns="neck_ratio") if nuclei == 1 else table, None)


@app.command()
def distances(
    store: Path = typer.Argument(..., help="The dataset store holding labels/NAME and tables/NAME."),
    labels: str = typer.Option(..., "--labels", metavar="NAME", help="The objects of labels/NAME (measured)."),
    cell: Optional[str] = typer.Option(None, "--cell", metavar="NAME", help="With --nucleus: distances to the "
                                       "plasma membrane of labels/NAME and to the nuclear envelope."),
    nucleus: Optional[str] = typer.Option(None, "--nucleus", metavar="NAME", help="The nucleus (labels/NAME)."),
    to: Optional[str] = typer.Option(None, "--to", metavar="OTHER",
                                     help="Each object's nearest object of labels/OTHER (may be NAME itself)."),
    radius_um: float = typer.Option(1.0, "--radius-um", help="With --to: count the objects within this, µm."),
    max_distance_um: Optional[float] = typer.Option(
        None, "--max-distance-um",
        help="Membrane distances only up to this, µm; inf beyond (default: exact at every range)."),
) -> None:
    """Exact distances of each object, surface to surface: to the membranes, to the nearest object of a class."""
    from vemprof.measure import measure_distances
    from vemprof.store import Store

    table = measure_distances(Store.open(store), labels, cell=cell, nucleus=nucleus, to=to, radius_um=radius_um,
                              max_distance_um=max_distance_um, progress=rich_progress)
    console.print(f"measured the distances of {len(table)} objects of labels/{labels}; wrote tables/{labels}")


@app.command()
def points(
    store: Path = typer.Argument(..., help="The dataset store holding tables/NAME (from 'vemprof measure')."),
    labels: str = typer.Option(..., "--labels", metavar="NAME", help="The objects as points: tables/NAME's centroids."),
    k: int = typer.Option(8, "--k", help="Neighbours for the mean nearest-neighbour distance."),
    bandwidth_um: float = typer.Option(0.1, "--bandwidth-um", help="Gaussian kernel density bandwidth, µm."),
    surface: Optional[str] = typer.Option(
        None, "--surface", metavar="NUCLEUS",
        help="Points on this nucleus's envelope: density per µm² (tables/NAME_density), Ripley's L (NAME_ripley)."),
    regions: Optional[str] = typer.Option(None, "--regions", metavar="SECTIONS",
                                          help="Each point's section of labels/SECTIONS (column 'section')."),
    simulations: int = typer.Option(99, "--simulations", help="With --surface: random point sets for Ripley's L."),
) -> None:
    """Score how crowded each object is: mean distance to its k nearest (knnK_mean_um), a KDE (kde_score);
    on a nuclear envelope also density per µm² and Ripley's L against randomness on the same surface."""
    from vemprof.spatial import score_points
    from vemprof.store import Store

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        written = score_points(Store.open(store), labels, k=k, bandwidth_um=bandwidth_um, surface=surface,
                               regions=regions, simulations=simulations)
    _print_warnings(caught)
    scored = written[labels]
    console.print(f"scored {len(scored)} points of tables/{labels}: knn{k}_mean_um median "
                  f"{scored[f'knn{k}_mean_um'].median():.3g} µm; kde_score" + (", section" if regions else ""))
    if surface is not None:
        _print_result(written[f"{labels}_density"], None)
        ripley = written[f"{labels}_ripley"].drop_duplicates("region")
        for row in ripley.itertuples():
            where = "the whole envelope" if row.region == 0 else f"region {row.region}"
            console.print(f"Ripley's L on {where}: {row.verdict} (p = {row.p_value:.3g})")
        console.print(f"wrote tables/{labels}, tables/{labels}_density and tables/{labels}_ripley")


@app.command()
def pores(
    store: Path = typer.Argument(..., help="The dataset store: raw image and the nucleus."),
    nucleus: str = typer.Option("nucleus", "--nucleus", metavar="NAME", help="The nucleus (labels/NAME)."),
    steps: str = typer.Option("pockets,masks,train,detect,distribute", "--steps", metavar="STEP,…",
                              help="Steps to run, in order, of: pockets, masks, train, detect, distribute, score."),
    prefix: str = typer.Option("", "--prefix", metavar="P", help="Write labels/Ppockets, labels/Ppore_masks, …"),
    contrast: str = typer.Option("auto", "--contrast", help="auto, em (membranes dark) or backscatter (bright)."),
    pockets_chain: Optional[Path] = typer.Option(None, "--pockets-chain", metavar="FILE",
                                                 help="Your edited copy of vemprof/workflows/pockets.yaml."),
    pore_radius_nm: float = typer.Option(60.0, "--pore-radius-nm",
                                         help="masks, detect: the radius of a pore on the envelope, nm."),
    model: Optional[Path] = typer.Option(None, "--model", metavar="FILE",
                                         help="train writes, detect reads the pore model (default "
                                              "STORE_pores/pore_model.zip)."),
    train_minutes: float = typer.Option(5.0, "--train-minutes", help="train: the longest training, minutes."),
    train_iterations: Optional[int] = typer.Option(
        None, "--train-iterations", min=1, help="train: at most this many iterations (the same on any machine)."),
    rotations: str = typer.Option("30,60,90", "--rotations", metavar="DEG,…",
                                  help="train: rotations about X and Y (degrees), or none for Z planes only."),
    training_fraction: float = typer.Option(0.5, "--training-fraction",
                                            help="train: the share of the pore masks painted for training."),
    rounds: int = typer.Option(1, "--rounds", help="train: rounds; each after the first learns from the pores "
                                                   "the last model found (self-training; a training and a "
                                                   "detection more each)."),
    xy_baseline: bool = typer.Option(False, "--xy-baseline",
                                     help="train, detect: also a model without rotations (labels/Ppores_xy), "
                                          "so that score measures what rotations gain."),
    threshold: float = typer.Option(0.5, "--threshold", help="detect: the least smoothed probability of a pore."),
    confirmed: float = typer.Option(0.2, "--confirmed",
                                    help="detect: the least, where a pore mask (Ppore_masks) lies within a pore "
                                         "radius."),
    axes: str = typer.Option("auto", "--axes",
                             help="detect: the planes the pore model reads, averaged: zyx (Z, Y and X planes), z, "
                                  "or auto (zyx for a model trained with 90° rotations, else z)."),
    pores_labels: Optional[str] = typer.Option(
        None, "--pores", metavar="NAME",
        help="distribute: the pores of labels/NAME (default Ppores, else the pore masks Ppore_masks)."),
    figures: Optional[Path] = typer.Option(None, "--figures", metavar="DIR",
                                           help="Where the figures go (default STORE_pores/ beside it)."),
    truth: str = typer.Option("pores", "--truth", metavar="NAME",
                              help="score: the true pores (labels/NAME), e.g. a phantom's."),
    tolerance_nm: float = typer.Option(60.0, "--tolerance-nm", help="score: the farthest match of a pore, nm."),
    each_nucleus: bool = typer.Option(False, "--each-nucleus",
                                      help="The nucleus image holds several nuclei (a volume of many cells): "
                                           "each is split into its own sections, pores counted per nucleus."),
) -> None:
    """The nuclear pores: the low-density pockets under them (labels/pockets) and the pore above each
    (labels/pore_masks) by 3D operations; a U-Net trained on those masks with rotated planes, which
    finds the pores (labels/pores); where the pores lie by nucleus section (tables/pores,
    tables/pore_density, a t-test, figures); detection scored against true pores."""
    from vemprof.cli._pores import run_pores

    run_pores(store, nucleus=nucleus, steps=steps, prefix=prefix, contrast=contrast, pockets_chain=pockets_chain,
              pore_radius_nm=pore_radius_nm, model=model, train_minutes=train_minutes,
              train_iterations=train_iterations, rotations=rotations,
              training_fraction=training_fraction, rounds=rounds, xy_baseline=xy_baseline, threshold=threshold,
              confirmed=confirmed, axes=axes, pores_labels=pores_labels, figures=figures, truth=truth,
              tolerance_nm=tolerance_nm, each_nucleus=each_nucleus, console=console)


@app.command()
def correlate(
    store: Path = typer.Argument(..., help="The dataset store holding the table."),
    table: str = typer.Option(..., "--table", metavar="NAME", help="tables/NAME, e.g. mitochondria."),
    x: str = typer.Option(..., "--x", metavar="COLUMN", help="First column, e.g. dist_nearer_membrane_um."),
    y: str = typer.Option(..., "--y", metavar="COLUMN", help="Second column, e.g. sv_ratio_per_um."),
    csv: Optional[Path] = typer.Option(None, "--csv", metavar="FILE", help="Also write the result as CSV."),
) -> None:
    """Correlate two columns of a table: Pearson and Spearman r, p, n and 95% confidence intervals."""
    from vemprof.spatial import correlate as correlation

    _print_result(correlation(_table(store, table), x, y), csv)


@app.command()
def compare(
    store: Path = typer.Argument(..., help="The dataset store holding the table."),
    table: str = typer.Option(..., "--table", metavar="NAME", help="tables/NAME, e.g. pores."),
    column: str = typer.Option(..., "--column", metavar="COLUMN", help="The column to compare, e.g. knn8_mean_um."),
    by: str = typer.Option(..., "--by", metavar="COLUMN", help="The column whose values are the groups."),
    csv: Optional[Path] = typer.Option(None, "--csv", metavar="FILE", help="Also write the result as CSV."),
) -> None:
    """Compare a column between groups: Student and Welch t, Mann-Whitney U, Hedges' g, Benjamini-Hochberg."""
    from vemprof.spatial import compare as comparison

    _print_result(comparison(_table(store, table), column, by), csv)


app.command("render")(render_command)


def _table(store: Path, name: str):
    from vemprof.store import Store

    return Store.open(store).read_table(name)


def _print_warnings(caught) -> None:
    for warning in caught:
        console.print(f"[yellow]warning:[/] {warning.message}", highlight=False, soft_wrap=True)


def _print_result(result, csv: Optional[Path]) -> None:
    """Each row of ``result`` as ``column: value`` lines (numbers to 4 significant digits)."""
    print_rows(result, console)
    if csv is not None:
        result.to_csv(csv, index=False)
        console.print(f"wrote {csv}")


def _chunk_shape(text: str) -> tuple[int, int, int]:
    chunk_shape = triple(text, option="--chunks", integer=True)
    if min(chunk_shape) < 1:
        raise VemprofError(f"--chunks must be positive voxels, got {text}")
    return chunk_shape


pipeline_app = typer.Typer(help="Pipelines as files: show the published workflow, check one of yours.",
                           no_args_is_help=True)
app.add_typer(pipeline_app, name="pipeline")


@pipeline_app.command("show")
def pipeline_show() -> None:
    """Print the default pipeline (the published workflow, end to end), comments included."""
    from vemprof.pipeline import pipeline_text

    print(pipeline_text(), end="")


@pipeline_app.command("check")
def pipeline_check(file: Path = typer.Argument(..., help="A pipeline file (YAML).")) -> None:
    """Validate a pipeline file: its steps, their order, parameters and model paths."""
    from vemprof.pipeline import load_pipeline

    pipeline = load_pipeline(file)
    console.print(f"{file}: a valid pipeline, '{pipeline.name}': {' → '.join(s.step for s in pipeline.steps)}",
                  highlight=False)


@app.command()
def profile(
    target: Path = typer.Argument(..., metavar="STORE_OR_STACK",
                                  help="A dataset store, or a stack (TIFF, MRC, HDF5…) to import into STACK.zarr."),
    pipeline: Optional[Path] = typer.Option(None, "--pipeline", metavar="FILE", show_default="the published workflow",
                                            help="The pipeline file (vemprof pipeline show > FILE to start one)."),
    prefix: str = typer.Option("", "--prefix", metavar="P", help="Name every output with P: labels/Pnucleus, …"),
    folder: Optional[Path] = typer.Option(None, "--folder", metavar="DIR", show_default="STORE_profile/ beside it",
                                          help="Where the models, figures and report go."),
    workers: Optional[int] = typer.Option(None, "--workers", metavar="N",
                                          help="Run on a local Dask cluster of N worker processes."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="Run on an existing Dask cluster, e.g. tcp://host:8786."),
) -> None:
    """Run a pipeline on a store, step by step: each step done before with the same parameters and inputs is
    skipped, each changed one and those after it that read its outputs run again; an interrupted run resumes."""
    from vemprof.cli._profile import run_profile

    run_profile(target, pipeline=pipeline, prefix=prefix, folder=folder, workers=workers, scheduler=scheduler,
                console=console)


@app.command()
def batch(
    stores: list[Path] = typer.Argument(..., metavar="STORE...", help="Dataset stores to profile."),
    pipeline: Optional[Path] = typer.Option(None, "--pipeline", metavar="FILE", show_default="the published workflow",
                                            help="The pipeline file, the same for every store."),
    prefix: str = typer.Option("", "--prefix", metavar="P", help="Name every output with P."),
    out: Path = typer.Option(Path("batch"), "--out", metavar="DIR",
                             help="Where the summary table and the comparison report go."),
    workers: Optional[int] = typer.Option(None, "--workers", metavar="N",
                                          help="Profile N stores at once on a local Dask cluster."),
    scheduler: Optional[str] = typer.Option(None, "--scheduler", metavar="ADDRESS",
                                            help="Profile on an existing Dask cluster, e.g. tcp://host:8786."),
) -> None:
    """Profile many stores with one pipeline, in parallel on a Dask cluster: one summary table and a comparison
    report; a store that fails is reported and the others go on (exit status 1 if any failed)."""
    from vemprof.cli._profile import run_batch

    raise typer.Exit(run_batch(stores, pipeline=pipeline, prefix=prefix, out=out, workers=workers,
                               scheduler=scheduler, console=console))


def run() -> int:
    """Run the app on ``sys.argv``; the exit status, with user errors as one line on
    standard error (status 2). An interrupt is status 130 (typer turns Ctrl-C inside a
    command into it; `vemprof.cli.main` prints the line that says so)."""
    try:
        status = app(standalone_mode=False)
    except VemprofError as error:
        Console(stderr=True).print(f"[bold red]error:[/] {error}", highlight=False, soft_wrap=True)
        return 2
    except typer.Abort:
        return 1
    except OSError as error:  # a disk that is full, a folder without write permission, …
        where = f"{error.filename}: " if error.filename else ""
        Console(stderr=True).print(f"[bold red]error:[/] {where}{error.strerror or error}; check the path, its "
                                   "permissions and the free space, then run the same command again",
                                   highlight=False, soft_wrap=True)
        return 2
    except typer.TyperException as error:  # usage errors: a missing argument, a bad option
        if not hasattr(error, "show"):
            raise
        error.show()
        return error.exit_code
    return status if isinstance(status, int) else 0
