"""Train a pixel classifier on a store's annotations; classify a whole store with it or a U-Net.

`train_classifier` reads the raw image and an annotation image at one pyramid level and
returns a model (description and ONNX weights, see `_model`). `classify_store` runs a
model over the raw image block by block (each block with the features' halo, blocks in
parallel, a progress bar, memory bounded by the block size) into a scratch array of
per-class probabilities, then writes ``probabilities/<class>`` (uint8, 0–255) and
``labels/<class>`` (the class with the highest probability) for every class but the
background. Run at a coarser level, the probabilities are interpolated (trilinear) to
full resolution before they are written. A forest's class named ``cell`` gets a clean
mask: the largest component (or, for a volume of many cells, every component of at
least ``MIN_CELL_VOLUME_UM3``), holes filled, protrusions thinner than
``CELL_OPENING_NM`` opened away. A U-Net (`_unet`) runs over blocks of whole planes,
tile by tile (`_tiles`), and its label images are cleaned at full resolution as its
description says (`_cleanup`: e.g. mitochondria split into instances).
"""

from __future__ import annotations

import hashlib
import math
import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict
from pathlib import Path
from typing import Sequence

import dask.array as da
import numpy as np
import zarr
from scipy import ndimage as ndi

import vemprof
from vemprof import ops
from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.learn._features import FeatureBank
from vemprof.learn._forest import (
    NORMALISATION,
    TREES,
    OnnxClassifier,
    classify_block,
    fit_forest,
    forest_to_onnx,
    grown_block,
    image_range,
    normalised,
    training_samples,
)
from vemprof.learn._cleanup import clean_mask, cleanup_parameters
from vemprof.learn._model import ModelDescription, load_model, model_file
from vemprof.learn._orthogonal import CONSENSUS_CHUNKS, PASS_BLOCKS, PASS_CHUNKS, PlaneView
from vemprof.learn._tiles import predict_region
from vemprof.store import Store

#: Opening radius of the cleaned cell mask, nm: microvilli-thin threads and speckle go.
CELL_OPENING_NM = 100.0
#: With ``each_cell``, the smallest piece kept as a cell, µm³: far below any cell (a
#: HeLa cell is thousands of µm³, a yeast cell tens), far above the specks a forest leaves.
MIN_CELL_VOLUME_UM3 = 10.0
#: Relative difference of voxel size at which a model no longer fits a level.
SPACING_TOLERANCE = 0.1
#: Edge of the blocks classified at once, voxels. The features cost about the same per
#: voxel for 64 × 128 × 128 and 128³ blocks (0.9 s per M voxels on one core), but the
#: smaller block reads more halo from the store; a 128³ block's 41 feature channels are
#: 344 MB in float32, its filter scratch less than that again, and two blocks run at once
#: on two cores.
BLOCK = (128, 128, 128)
#: The U-Net's blocks: a few whole planes (up to 2048 × 2048 pixels; tiles that straddle a
#: block's edge are computed by both blocks).
UNET_BLOCK = (8, 2048, 2048)
SCRATCH = ".classify"
#: The planes a U-Net predicts along: Z only, or Z, Y and X averaged.
AXES = ("z", "zyx")


def train_classifier(
    store: Store, annotations: str, *, level: int = 0, bank: FeatureBank | None = None, trees: int = TREES,
    seed: int = 0, progress: ProgressReporter = no_progress,
) -> tuple[ModelDescription, bytes]:
    """A random forest trained on the annotated voxels of ``annotations`` at ``level``.

    Returns the model's description and ONNX weights (save them with `save_model`).
    Raises a one-line `VemprofError` when there is no annotated voxel, a class has none,
    or the level does not exist.
    """
    classes = store.annotation_classes(annotations)
    _check_level(store, level)
    raw = store.raw(level=level)
    spacing = raw.require_spacing()
    image = raw.data
    labels = annotations_at_level(store, annotations, level).rechunk(image.chunks)
    bank = bank or FeatureBank.default(spacing)
    grey_range = image_range(image)
    with progress(f"reading the annotations of {annotations}", math.prod(labels.numblocks)) as advance:
        features, targets, counts = training_samples(image, labels, spacing=spacing, bank=bank, grey_range=grey_range,
                                                     seed=seed, progress=advance)
    names = ["background", *classes]
    missing = [name for value, name in enumerate(names, start=1) if counts.get(value, 0) == 0]
    if missing:
        raise VemprofError(f"annotation class(es) {', '.join(missing)} have no annotated voxel in '{annotations}' "
                           f"at level {level}; paint some (or annotate more planes)")
    unknown = sorted(set(counts) - set(range(1, len(names) + 1)))
    if unknown:
        raise VemprofError(f"'{annotations}' holds values {unknown} beyond its {len(classes)} classes; "
                           "re-import it with the right --classes")
    with progress(f"training a forest of {trees} trees on {len(targets)} voxels", 1) as advance:
        forest = fit_forest(features, targets, trees=trees, seed=seed)
        weights = forest_to_onnx(forest, bank.count)
        advance(1)
    description = ModelDescription(
        kind="forest", classes=names, features=bank.to_dict(), spacing_nm=[float(s) for s in spacing], level=level,
        normalisation=dict(NORMALISATION),
        training={"store": str(store.path), "annotations": annotations, "annotated_voxels": {
            name: counts.get(value, 0) for value, name in enumerate(names, start=1)}, "sampled_voxels": len(targets),
            "trees": trees, "seed": seed},
        vemprof_version=vemprof.__version__,
    )
    return description, weights


def classify_store(
    store: Store, model: str | os.PathLike, *, level: int | None = None, prefix: str = "", overwrite: bool = False,
    threads: int | None = None, device: str = "auto", axes: str = "z", cleanup: dict | None = None,
    each_cell: bool = False, within: str | None = None, progress: ProgressReporter = no_progress,
) -> list[str]:
    """Classify ``store``'s raw image with the model at ``model`` (a forest or a U-Net);
    write a probability map and a label image per class but the background, named
    ``prefix + class``. Returns the names written.

    ``level`` defaults to the level whose voxel size is the model's; a level whose voxel
    size differs by more than `SPACING_TOLERANCE` is refused (the model learnt its
    classes at one voxel size). Existing outputs of those names (e.g. a phantom's ground
    truth ``labels/cell``) are replaced only with ``overwrite``. ``threads`` are the
    forest's blocks at once; ``device`` runs a U-Net on ``cpu`` (onnxruntime), ``cuda``
    (PyTorch) or whichever is at hand (``auto``). ``axes`` ``"zyx"`` has a U-Net predict
    along Z, Y and X planes and averages the three (`_orthogonal`; three times the work).
    ``cleanup`` overrides a U-Net's clean-up parameters by class, e.g.
    ``{"mitochondria": {"neck_ratio": 0.5}}`` (see `_cleanup`). ``each_cell``: a forest's
    cell mask keeps every cell of a volume of many (`clean_cell_mask`), not the largest.
    ``within`` names a label image (e.g. the cell mask) outside which no object is kept:
    each label image is cut to it before its clean-up (the probabilities are not).
    """
    description, weights = load_model(model)
    _check_axes(axes)
    if axes != "z" and description.kind != "unet":
        raise VemprofError(f"--axes {axes} is for U-Nets, which see one plane at a time; a {description.kind} "
                           "classifies in 3D already: use --axes z")
    cleanups = _cleanups(description, cleanup or {})
    if each_cell and (description.kind != "forest" or "cell" not in description.classes):
        raise VemprofError("--each-cell is for a forest with a class named cell (cell vs resin); this model is a "
                           f"{description.kind} of {', '.join(description.classes[1:])}")
    level = _matching_level(store, description, level)
    if within is not None and within not in store.label_names:
        raise VemprofError(f"--within {within}: {store.path} has no labels/{within}; make the cell mask first "
                           "(vemprof predict with the cell-vs-resin forest) or leave --within out")
    names = [prefix + name for name in description.classes[1:]]
    if within in names:
        raise VemprofError(f"--within {within} is one of the label images this model writes; name another")
    taken = [f"labels/{n}" for n in names if n in store.label_names] + [
        f"probabilities/{n}" for n in names if n in store.probability_names]
    if taken and not overwrite:
        raise VemprofError(f"{store.path} already holds {', '.join(taken)}; pass --prefix (e.g. --prefix predicted_) "
                           "to write beside them, or --overwrite to replace them")
    raw = store.raw(level=level)
    spacing = raw.require_spacing()
    grey_range = image_range(raw.data)
    if description.kind == "forest":
        blocks, compute = _forest_blocks(raw.data, description, weights, spacing=spacing, grey_range=grey_range)
        threads = threads or min(os.cpu_count() or 1, 4)
        scratch = _scratch(store, weights, level, grey_range, axes)
        probabilities = _classify_into(scratch, raw.data.shape, blocks=blocks, compute=compute,
                                       classes=len(description.classes), threads=threads, progress=progress)
    else:
        views = _plane_views(raw.data, description, axes=axes, spacing=spacing, level=level)
        scratch = _scratch(store, weights, level, grey_range, axes)
        probabilities = _unet_probabilities(raw.data, description, model, views=views, device=device,
                                            grey_range=grey_range, scratch=scratch, progress=progress)
    full_shape, chunks = store.pyramid()[0][0], store.raw().data.chunksize
    factors = tuple(round(a / b) for a, b in zip(spacing, store.spacing))
    winner = da.argmax(da.from_zarr(probabilities), axis=0)

    def full_size(mask: da.Array, key: str) -> da.Array:
        """A mask of ``level`` at full resolution (the coarse mask made once, then
        interpolated block by block)."""
        if level == 0:
            return mask
        coarse = _materialised(mask.astype(np.uint8) * np.uint8(255), scratch / f"mask-{key}")
        return upsample(coarse, factors=factors, shape=full_shape) >= 128

    written = []
    for index, (name, output) in enumerate(zip(description.classes[1:], names), start=1):
        mask = winner == index
        if name == "cell" and description.kind == "forest":
            mask = clean_cell_mask(mask, spacing=spacing, min_volume_um3=MIN_CELL_VOLUME_UM3 if each_cell else None)
        cores = None
        if f"{name}_contact" in description.classes:  # the seams found between touching objects
            cores = full_size(mask, str(index))
            mask = mask | (winner == description.classes.index(f"{name}_contact"))
        mask = full_size(mask, f"{index}-all")
        if within is not None:
            mask = mask & (store.labels(within).data > 0).rechunk(mask.chunks)
        if level > 0:
            probability = upsample(_Plane(probabilities, index), factors=factors, shape=full_shape)
        else:
            probability = da.from_zarr(probabilities)[index]
        if description.kind == "unet":  # cleaned at full resolution: instance ids cannot be interpolated
            # in the store's chunks, not the network's thin slabs of planes: a slab 1000² voxels wide
            # with the clean-up's halo made blocks of 10⁸ voxels, whose maxima took over 20 GiB
            mask = mask.rechunk(chunks)
            cores = None if cores is None else cores.rechunk(chunks)
            mask = clean_mask(mask, name=name, spacing=store.spacing, parameters=cleanups[name], cores=cores,
                              staging=scratch / f"cleanup-{index}")
        for kind, array, write in (("probabilities", probability, store.write_probabilities),
                                   ("labels", mask if mask.dtype != bool else mask.astype(np.uint8),
                                    store.write_labels)):
            total = store.chunks_to_write(full_shape, averaged=kind == "probabilities")
            with progress(f"writing {kind}/{output}", total) as advance:
                write(output, array, progress=advance)
        written.append(output)
    store.record("predict", outputs=[f"probabilities/{n}" for n in written] + [f"labels/{n}" for n in written],
                 parameters={"model": str(model), "model_description": asdict(description), "level": level,
                             "prefix": prefix, "axes": axes, "cleanup": cleanups,
                             "grey_range": list(grey_range), "cell_opening_nm": CELL_OPENING_NM, "each_cell": each_cell,
                             "within": within})
    shutil.rmtree(scratch.parent)
    return written


def predict_where(
    store: Store, model: str | os.PathLike, *, where: da.Array, names: Sequence[str] | None = None,
    axes: str = "z", device: str = "auto", progress: ProgressReporter = no_progress,
) -> list[str]:
    """Write ``probabilities/<name>`` (uint8, 0–255) of the U-Net at ``model`` for every
    class but the background (``names``, in the model's order; default the classes'
    names), computed only near the voxels of ``where``
    ((Z, Y, X) bool, the raw image's shape): the tiles that hold none of them are not run,
    and their pixels get 0. The cost follows ``where`` (e.g. a band around
    the nuclear envelope), not the volume. ``axes`` ``"zyx"``: along Z, Y and X planes,
    averaged (`_orthogonal`), each orientation's tiles run only near ``where``. The model
    must fit full resolution (level 0). An interrupted run resumes after its finished
    blocks. Returns the names written."""
    description, weights = load_model(model)
    if description.kind != "unet":
        raise VemprofError(f"{model} is a {description.kind}; prediction near a region is for U-Nets")
    if _matching_level(store, description, None) != 0:
        raise VemprofError(f"the model {model} was trained at {_nm(description.spacing_nm)} nm voxels, not at "
                           f"the store's full resolution ({_nm(store.spacing)} nm); retrain it at level 0")
    raw = store.raw()
    if tuple(where.shape) != tuple(raw.data.shape):
        raise VemprofError(f"the region to predict is {where.shape}, the raw image {raw.data.shape}")
    grey_range = image_range(raw.data)
    _check_axes(axes)
    views = _plane_views(raw.data, description, axes=axes, spacing=raw.require_spacing(), level=0)
    scratch = _scratch(store, weights, 0, grey_range, f"{axes} near {where.name}")
    probabilities = _unet_probabilities(raw.data, description, model, views=views, device=device,
                                        grey_range=grey_range, scratch=scratch, progress=progress, where=where)
    names = list(names or description.classes[1:])
    if len(names) != len(description.classes) - 1:
        raise VemprofError(f"{len(names)} names for the model's {len(description.classes) - 1} classes")
    for index, name in enumerate(names, start=1):
        total = store.chunks_to_write(raw.data.shape, averaged=True)
        with progress(f"writing probabilities/{name}", total) as advance:
            store.write_probabilities(name, da.from_zarr(probabilities)[index], progress=advance)
    shutil.rmtree(scratch.parent)
    return names


def _check_axes(axes: str) -> None:
    """Refuse planes to predict along other than `AXES`'."""
    if axes not in AXES:
        raise VemprofError(f"--axes must be one of {', '.join(AXES)}, got {axes!r}")


def _cleanups(description: ModelDescription, overrides: dict) -> dict[str, dict]:
    """A U-Net's clean-up parameters per class: the model's, overridden key by key (checked
    before anything is computed); empty for a forest, which takes none."""
    if description.kind != "unet":
        if overrides:
            raise VemprofError("--cleanup is for U-Net models; a forest's cell mask has its own fixed clean-up")
        return {}
    unknown = sorted(set(overrides) - set(description.classes[1:]))
    if unknown:
        raise VemprofError(f"--cleanup names class(es) {', '.join(unknown)} the model does not have; "
                           f"its classes: {', '.join(description.classes[1:])}")
    stored = description.features["cleanup"]
    return {name: cleanup_parameters(name, {**stored.get(name, {}), **overrides.get(name, {})})
            for name in description.classes[1:]}


def annotations_at_level(store: Store, annotations: str, level: int) -> da.Array:
    """The annotation image on the grid of pyramid ``level``: every f-th voxel of level 0,
    as the label pyramid is made, whatever levels the annotation image has (never a
    blend of painted values)."""
    spacing = store.pyramid()[level][1]
    step = tuple(slice(None, None, round(s / s0)) for s, s0 in zip(spacing, store.spacing))
    return store.labels(annotations).data[step]


def clean_cell_mask(mask, *, spacing, opening_nm: float = CELL_OPENING_NM, min_volume_um3: float | None = None):
    """The largest component of ``mask`` (or with ``min_volume_um3``, every component of
    at least that volume: a volume of many cells), its holes filled, parts thinner than
    ``opening_nm`` opened away (numpy or dask, (Z, Y, X) bool)."""
    if min_volume_um3 is None:
        mask = ops.keep_largest(mask) > 0
    else:
        mask = ops.remove_small_objects(mask, min_volume_nm3=min_volume_um3 * 1e9, spacing=spacing) > 0
    mask = ops.fill_holes(mask)
    return ops.opening(mask, radius_nm=opening_nm, spacing=spacing)


def upsample(array, *, factors: tuple[int, int, int], shape: tuple[int, int, int]) -> da.Array:
    """``array`` (Z, Y, X; numpy or zarr, read by slices) of a pyramid level whose voxels
    are ``factors`` voxels of level 0 (block means, centred on them), interpolated
    trilinearly to level 0's ``shape``; lazy, block by block."""
    out_chunks = tuple(min(c, n) for c, n in zip((128, 128, 128), shape))
    template = da.zeros(shape, chunks=out_chunks, dtype=array.dtype)

    def block(_, block_info=None):
        location = block_info[0]["array-location"]
        coordinates = [(np.arange(a, b) - (f - 1) / 2) / f for (a, b), f in zip(location, factors)]
        low = [max(int(np.floor(c[0])), 0) for c in coordinates]
        high = [min(int(np.floor(c[-1])) + 2, n) for c, n in zip(coordinates, array.shape)]
        source = np.asarray(array[tuple(slice(a, b) for a, b in zip(low, high))], dtype=np.float32)
        grid = np.meshgrid(*[np.clip(c - a, 0, s - 1) for c, a, s in zip(coordinates, low, source.shape)],
                           indexing="ij")
        values = ndi.map_coordinates(source, grid, order=1, mode="nearest")
        if np.issubdtype(array.dtype, np.integer):
            values = np.rint(values)
        return values.astype(array.dtype)

    return da.map_blocks(block, template, dtype=array.dtype)


class _Plane:
    """Class ``index`` of a (classes, Z, Y, X) zarr array, read by slices like an array."""

    def __init__(self, array: zarr.Array, index: int):
        self.array, self.index = array, index
        self.shape, self.dtype = array.shape[1:], array.dtype

    def __getitem__(self, region):
        return self.array[(self.index, *region)]


def _materialised(array: da.Array, path: Path) -> zarr.Array:
    """``array`` computed into a zarr array at ``path`` (replaced if there)."""
    target = zarr.open_array(str(path), mode="w", shape=array.shape, chunks=array.chunksize, dtype=array.dtype)
    da.store(array, target, lock=False)
    return target


def _scratch(store: Store, weights: bytes, level: int, grey_range, variant: str) -> Path:
    """The scratch folder of this classification: blocks finished by an interrupted run of
    the same model, level, grey range and ``variant`` (axes, voxels predicted) are kept;
    any other run's are removed."""
    key = hashlib.sha256(weights + repr((level, grey_range, variant)).encode()).hexdigest()[:16]
    folder = store.path / SCRATCH
    if folder.exists():
        for other in folder.iterdir():
            if other.name != key:
                shutil.rmtree(other)
    (folder / key).mkdir(parents=True, exist_ok=True)
    return folder / key


def _forest_blocks(image: da.Array, description: ModelDescription, weights: bytes, *, spacing, grey_range):
    """The forest's block shape and its ``compute(region) -> (classes, …) uint8``."""
    bank = FeatureBank.from_dict(description.features)
    classifier = OnnxClassifier(weights)
    blocks = _clipped(BLOCK, image.shape)
    halo = bank.halo(spacing)
    source = image.rechunk(blocks)

    def compute(region):
        block, core = grown_block(source, region, halo)
        return classify_block(block, spacing=spacing, bank=bank, grey_range=grey_range, classifier=classifier,
                              core=core)

    return blocks, compute


def _plane_views(image: da.Array, description: ModelDescription, *, axes: str, spacing, level: int
                 ) -> dict[str, tuple[PlaneView, int]]:
    """The view of ``image`` along each of ``axes``' planes (`_orthogonal`) with its tile
    edge; a plane smaller than the model's training patch is refused."""
    views = {}
    for axis in axes:
        source = image.rechunk(_clipped(UNET_BLOCK, image.shape)) if axis == "z" else image
        view = PlaneView(source, axis=axis, spacing=spacing)
        views[axis] = view, _tile(view, description.features, axis=axis, level=level)
    return views


def _unet_probabilities(image: da.Array, description: ModelDescription, model, *, views: dict, device: str,
                        grey_range, scratch: Path, progress: ProgressReporter,
                        where: da.Array | None = None) -> zarr.Array:
    """Per-class probabilities (classes, Z, Y, X) uint8 of a U-Net along the planes of
    each view, in blocks (`UNET_BLOCK` for Z planes, `PASS_BLOCKS` for the others),
    tiled (`_tiles`); averaged over the views when there are several. With ``where`` (a
    bool array of the image's shape), only the tiles holding its voxels run (0 elsewhere)."""
    from vemprof.learn._unet import OnnxNetwork, TorchNetwork, choose_device, load_network

    features = description.features
    classes = len(description.classes)
    if choose_device(device) == "cpu":
        run = OnnxNetwork(load_model(model)[1])
    else:
        network = load_network(model_file(model, "unet.pt"), classes, features["network"])
        run = TorchNetwork(network, "cuda")
    passes = []
    for axis, (view, tile) in views.items():
        overlap = min(features["overlap"], tile // 4)

        def compute(region, view=view, tile=tile, overlap=overlap):
            wanted = None if where is None else np.asarray(where[region])
            if wanted is not None and not wanted.any():
                return np.zeros((classes, *wanted.shape), np.uint8)
            probabilities = predict_region(view, view.region(region), run=run, classes=classes, tile=tile,
                                           overlap=overlap, prepare=lambda window: normalised(window, grey_range),
                                           where=None if wanted is None else view.mask(wanted))
            return np.rint(np.clip(view.back(probabilities, depth=image.shape[0]), 0, 1) * 255).astype(np.uint8)

        blocks = _clipped(UNET_BLOCK if axis == "z" else PASS_BLOCKS[axis], image.shape)
        chunks = blocks if len(views) == 1 else _clipped(PASS_CHUNKS[axis], image.shape)
        passes.append(_classify_into(scratch / axis, image.shape, blocks=blocks, chunks=chunks, compute=compute,
                                     classes=classes, threads=1, progress=progress,  # onnxruntime uses every core
                                     what=f"classifying along {axis.upper()} planes"))
    if len(passes) == 1:
        return passes[0]
    return _consensus(passes, scratch / "probabilities")


def _tile(view: PlaneView, features: dict, *, axis: str, level: int) -> int:
    """The tile edge for the view's planes: the model's, or the largest multiple of the
    network's stride that fits the plane; a plane smaller than a training patch is refused."""
    from vemprof.learn._unet import multiple_of

    step = multiple_of(features["network"])
    tile = min(features["tile"], min(view.shape[1:]) // step * step)
    if tile < features["patch"]:
        rows, columns = view.shape[1:]
        hint = "use a finer --level" if axis == "z" else "the volume is too thin for --axes zyx: use --axes z"
        raise VemprofError(f"the {axis.upper()} planes at level {level} are {rows} × {columns} pixels, smaller than "
                           f"the model's {features['patch']}-pixel training patch; {hint}")
    return tile


def _clipped(blocks, shape) -> tuple[int, ...]:
    """``blocks`` no larger than ``shape`` (``None`` = the whole axis)."""
    return tuple(n if b is None else min(b, n) for b, n in zip(blocks, shape))


def _consensus(passes: list[zarr.Array], path: Path) -> zarr.Array:
    """The mean of the orientations' probabilities (rounded), stored at ``path``."""
    shape = passes[0].shape
    chunks = (shape[0], *_clipped(CONSENSUS_CHUNKS, shape[1:]))
    total = sum(da.from_zarr(p).rechunk(chunks).astype(np.uint16) for p in passes)
    mean = ((total + len(passes) // 2) // len(passes)).astype(np.uint8)
    return _materialised(mean, path)


def _classify_into(scratch: Path, shape: tuple[int, ...], *, blocks, compute, classes: int, threads: int,
                   progress: ProgressReporter, chunks=None, what: str = "classifying") -> zarr.Array:
    """Per-class probabilities (classes, Z, Y, X) uint8 of a volume of ``shape``,
    ``compute(region)`` block by block (blocks already in ``scratch`` from an interrupted
    run are kept) into a zarr array in ``scratch`` stored in ``chunks`` (default: the
    blocks; blocks must be whole numbers of chunks), which is returned."""
    scratch.mkdir(parents=True, exist_ok=True)
    target = zarr.open_array(str(scratch / "probabilities"), mode="a", shape=(classes, *shape),
                             chunks=(classes, *(chunks or blocks)), dtype=np.uint8, fill_value=0)
    log = scratch / "done.txt"
    done = set(log.read_text().split()) if log.exists() else set()
    regions = [tuple(slice(i * b, min((i + 1) * b, n)) for i, b, n in zip(index, blocks, shape))
               for index in np.ndindex(*[math.ceil(n / b) for n, b in zip(shape, blocks)])]
    pending = [r for r in regions if _key(r) not in done]

    def one(region):
        target[(slice(None), *region)] = compute(region)
        return region

    with progress(what, len(regions)) as advance, open(log, "a") as record:
        advance(len(regions) - len(pending))
        with ThreadPoolExecutor(max_workers=threads) as pool:
            for region in pool.map(one, pending):
                record.write(_key(region) + "\n")
                record.flush()
                advance(1)
    return target


def _key(region) -> str:
    return ",".join(str(r.start) for r in region)


def _check_level(store: Store, level: int) -> None:
    levels = len(store.pyramid())
    if not 0 <= level < levels:
        raise VemprofError(f"--level {level} does not exist in {store.path}: it has levels 0…{levels - 1}")


def _matching_level(store: Store, description: ModelDescription, level: int | None) -> int:
    """The level asked for, checked against the model's voxel size, or the one matching it."""
    pyramid = store.pyramid()
    trained = np.asarray(description.spacing_nm)

    def fits(spacing) -> bool:
        return bool(np.all(np.abs(np.asarray(spacing) / trained - 1) <= SPACING_TOLERANCE))

    if level is not None:
        _check_level(store, level)
        if not fits(pyramid[level][1]):
            closest = [i for i, (_, s) in enumerate(pyramid) if fits(s)]
            hint = f"pass --level {closest[0]}" if closest else "retrain the model on this store"
            raise VemprofError(
                f"the model was trained at {_nm(trained)} nm voxels but level {level} of {store.path} has "
                f"{_nm(pyramid[level][1])} nm; {hint}")
        return level
    for index, (_, spacing) in enumerate(pyramid):
        if fits(spacing):
            return index
    raise VemprofError(f"the model was trained at {_nm(trained)} nm voxels; no level of {store.path} has that "
                       f"voxel size (level 0: {_nm(pyramid[0][1])} nm); retrain the model on this store")


def _nm(spacing) -> str:
    return " × ".join(f"{s:g}" for s in spacing)
