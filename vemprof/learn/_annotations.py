"""Sparse annotations made from label images, the way a person paints them.

`plane_annotations` turns label images (cell, nucleus, mitochondria…) into a sparse
annotation image. Every ``every``-th plane along an axis is annotated — planes 0, N,
2N, …, starting at the first — and every other plane stays 0 (not annotated). In an
annotated plane a voxel inside the k-th label image is class k + 2, the last one listed
winning where they overlap (a nucleus inside the cell is nucleus); any other voxel is
background (1). With ``fraction < 1`` only part of each annotated plane is painted: discs
``patch_nm`` across are placed at random, each centred on a voxel not yet painted, until
that fraction *of the plane* is covered — the scattered patches a person paints — and
the rest of the plane stays 0. Each plane's patches come from its own random stream
(the seed and the plane's index), so they do not depend on ``every``.

With ``contacts``, the seams between touching objects of an instance label image
(mitochondria side by side) get a class of their own, painted over the object's class:
in an annotated plane, each voxel of an object with a voxel of another object within
`SEAM_NM` (30 nm, at least one voxel) along the plane's axes — a band about 60 nm wide
along the contact, thick enough for a network to learn. A network taught that class can
separate touching objects that no distance map tells apart (`_cleanup`).

`annotate_planes` does this for label images of a store and writes the result as an
annotation image ``labels/<name>`` with its provenance. Only the annotated planes of the
label images are read, block by block, and the annotation image is written block by
block (blocks without an annotated plane are zeros and read nothing).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Sequence

import dask.array as da
import numpy as np
from scipy import ndimage

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.store import DEFAULT_CHUNKS, Store, fingerprint, job_key
from vemprof.volume import Volume, validate_spacing

AXES = ("z", "y", "x")
DEFAULT_EVERY = 10
DEFAULT_PATCH_NM = 500.0
#: Half-width of a painted seam between touching objects, nm.
SEAM_NM = 30.0
STEP = "annotate-planes"


def plane_annotations(
    labels: Sequence[np.ndarray | da.Array],
    *,
    spacing: Sequence[float],
    every: int = DEFAULT_EVERY,
    fraction: float = 1.0,
    axis: str = "z",
    seed: int = 0,
    patch_nm: float = DEFAULT_PATCH_NM,
    contacts: Sequence[int] = (),
) -> da.Array:
    """A sparse annotation image painted from label images on every ``every``-th plane.

    Parameters
    ----------
    labels : sequence of arrays (Z, Y, X), numpy or dask, all of one shape
        Label images in class order, nonzero inside the objects (masks or instance
        ids): the k-th is class k + 2.
    spacing : (z, y, x) voxel size, nm
    every : int
        Annotate planes 0, ``every``, 2 · ``every``, … along ``axis``.
    fraction : float
        Part of each annotated plane painted, 0 < fraction ≤ 1 (1: whole planes).
    axis : "z", "y" or "x"
    seed : int
        Seed of the patch positions (non-negative).
    patch_nm : float
        Diameter of the painted discs, nm, in the plane's physical units (an ellipse in
        voxels where they are anisotropic); used when ``fraction < 1``.
    contacts : sequence of int
        Indices of instance label images whose seams between touching objects get a
        class each, after the label images' classes (``len(labels) + 2 + i``).

    Returns
    -------
    dask array (Z, Y, X), uint8 (uint16 beyond 254 classes), chunked as
    ``labels[0]``: 0 not annotated, 1 background, k + 2 inside ``labels[k]``, then the
    contact classes.

    Examples
    --------
    >>> cell = np.zeros((20, 6, 6), np.uint8); cell[:, 2:4, 2:4] = 1
    >>> painted = plane_annotations([cell], spacing=(40, 10, 10), every=10).compute()
    >>> np.flatnonzero(painted.any(axis=(1, 2))).tolist()
    [0, 10]
    >>> painted[10, 1:5, 1:5].tolist()
    [[1, 1, 1, 1], [1, 2, 2, 1], [1, 2, 2, 1], [1, 1, 1, 1]]
    """
    along = _check_options(every=every, fraction=fraction, axis=axis, seed=seed, patch_nm=patch_nm)
    arrays = [da.asarray(label) for label in labels]
    if not arrays or any(array.ndim != 3 or array.shape != arrays[0].shape for array in arrays):
        raise VemprofError(f"give one or more label images (Z, Y, X) of one shape, got "
                           f"{', '.join(str(array.shape) for array in arrays) or 'none'}")
    spacing = validate_spacing(spacing)
    arrays = [array.rechunk(arrays[0].chunks) for array in arrays]  # block by block, the same blocks of each
    shape = arrays[0].shape
    planes = list(range(0, shape[along], every))
    plane_shape = tuple(n for i, n in enumerate(shape) if i != along)
    radii = tuple(patch_nm / 2 / s for i, s in enumerate(spacing) if i != along)
    patches = None if fraction == 1 else {
        plane: _patch_centres(plane_shape, radii=radii, fraction=fraction, rng=np.random.default_rng([seed, plane]))
        for plane in planes}
    dtype = _dtype(len(arrays) + len(contacts))
    take = tuple(slice(0, None, every) if i == along else slice(None) for i in range(3))
    painted = da.map_blocks(_paint_block, *(array[take] for array in arrays), dtype=dtype, axis=along, planes=planes,
                            patches=patches, radii=radii, contacts=tuple(contacts),
                            seam=tuple(max(1, round(SEAM_NM / s)) for i, s in enumerate(spacing) if i != along))
    annotation = da.zeros(shape, dtype=dtype, chunks=arrays[0].chunks)
    annotation[take] = painted
    return annotation


def annotate_planes(
    store: Store,
    name: str,
    *,
    from_labels: Sequence[str] | str,
    every: int = DEFAULT_EVERY,
    fraction: float = 1.0,
    axis: str = "z",
    seed: int = 0,
    patch_nm: float = DEFAULT_PATCH_NM,
    contacts: Sequence[str] | str = (),
    overwrite: bool = False,
    chunks: tuple[int, int, int] = DEFAULT_CHUNKS,
    memory_mib: float | None = None,
    progress: ProgressReporter = no_progress,
) -> Volume:
    """Paint annotation image ``labels/<name>`` of ``store`` from its label images
    ``from_labels`` (class names, in order; a string is split at commas), as
    `plane_annotations` does, and record the step's provenance. ``contacts`` (names
    among ``from_labels``) add a class ``<name>_contact`` each: the seams between
    touching objects of that instance label image.

    One-line errors, with nothing written: a label name the store lacks, an existing
    ``name`` without ``overwrite``, options out of range, or a class with no voxel in
    the annotated planes (annotate more planes: a smaller ``every``). ``chunks``,
    ``memory_mib`` and ``progress`` are as for `Store.write_annotations`; an interrupted
    write resumes when repeated with the same options and unchanged label images.
    """
    _check_options(every=every, fraction=fraction, axis=axis, seed=seed, patch_nm=patch_nm)
    names = _label_names(from_labels, store)
    seams = [n.strip() for n in (contacts.split(",") if isinstance(contacts, str) else contacts) if n.strip()]
    if set(seams) - set(names):
        raise VemprofError(f"--contacts names {', '.join(sorted(set(seams) - set(names)))}, which --from-labels does "
                           "not; name label images that are painted")
    if name in store.label_names and not overwrite:
        raise VemprofError(f"labels/{name} already exists in {store.path}; choose another --out or pass --overwrite "
                           "to replace it")
    volumes = [store.labels(label) for label in names]
    image = plane_annotations([volume.data for volume in volumes], spacing=store.spacing, every=every,
                              fraction=fraction, axis=axis, seed=seed, patch_nm=patch_nm,
                              contacts=[names.index(seam) for seam in seams])
    classes = names + [f"{seam}_contact" for seam in seams]
    parameters = {"from_labels": names, "every": every, "fraction": fraction, "axis": axis, "seed": seed,
                  "patch_nm": patch_nm, "contacts": seams, "name": name}
    inputs = [store.path / "labels" / label for label in names]
    job = {"step": STEP, "parameters": parameters, "chunks": list(chunks),
           "inputs": [fingerprint(path) for path in inputs]}

    def require_every_class(voxels: dict[str, int]) -> None:
        missing = [label for label in classes if voxels[label] == 0]
        if missing:
            planes = range(0, image.shape[AXES.index(axis)], every)
            listed = ", ".join(map(str, planes)) if len(planes) <= 4 else f"{planes[0]}, {planes[1]}, …, {planes[-1]}"
            raise VemprofError(
                f"'{missing[0]}' has no voxel in the annotated planes {listed} along {axis} (or classes listed after "
                f"it paint over it); annotate more planes with a smaller --every, e.g. --every {max(1, every // 2)}"
                + (", or more of each plane with a larger --fraction" if fraction < 1 else ""))

    started = dt.datetime.now(dt.timezone.utc)
    total = store.chunks_to_write(image.shape, chunks, averaged=False)
    with progress(f"annotating every {every}th plane into {name}", total) as advance:
        store.write_annotations(name, image, classes=classes, chunks=chunks, progress=advance,
                                resume_key=job_key(job), memory_mib=memory_mib, check=require_every_class)
    store.record(STEP, outputs=[f"labels/{name}"], parameters=parameters, inputs=inputs, started=started)
    return store.labels(name)


# -- checks ------------------------------------------------------------------------------


def _label_names(from_labels: Sequence[str] | str, store: Store) -> list[str]:
    names = [n.strip() for n in (from_labels.split(",") if isinstance(from_labels, str) else from_labels)]
    if not names or "" in names:
        raise VemprofError(f"--from-labels takes label names separated by commas (e.g. --from-labels "
                           f"cell,nucleus), got '{','.join(names)}'")
    repeated = sorted({n for n in names if names.count(n) > 1})
    if repeated:
        raise VemprofError(f"--from-labels names '{repeated[0]}' more than once; give each label image once")
    unknown = [n for n in names if n not in store.label_names]
    if unknown:
        raise VemprofError(f"no labels {', '.join(repr(n) for n in unknown)} in {store.path}; it has: "
                           f"{', '.join(store.label_names) or 'none'}")
    return names


def _check_options(*, every, fraction, axis, seed, patch_nm) -> int:
    """The index of ``axis``, or a one-line error for options out of range."""
    if not isinstance(every, (int, np.integer)) or every < 1:
        raise VemprofError(f"--every must be a whole number of planes, at least 1, got {every}")
    if not 0 < fraction <= 1:
        raise VemprofError(f"--fraction is the part of each annotated plane painted, more than 0 and at most 1, "
                           f"got {fraction}")
    if axis not in AXES:
        raise VemprofError(f"--axis must be z, y or x, got '{axis}'")
    if not isinstance(seed, (int, np.integer)) or seed < 0:
        raise VemprofError(f"--seed must be a non-negative whole number, got {seed}")
    if not math.isfinite(patch_nm) or patch_nm <= 0:
        raise VemprofError(f"--patch must be a positive diameter in nm, got {patch_nm}")
    return AXES.index(axis)


# -- painting ----------------------------------------------------------------------------


def _seams(ids: np.ndarray, *, reach: tuple[int, int]) -> np.ndarray:
    """Pixels of a 2D instance image with a pixel of another object within ``reach``
    pixels along each axis (a (2·reach + 1)² window)."""
    window = tuple(2 * r + 1 for r in reach)
    others_low = ndimage.minimum_filter(np.where(ids == 0, ids.max() + 1, ids), size=window, mode="nearest")
    others_high = ndimage.maximum_filter(ids, size=window, mode="nearest")
    return (ids != 0) & ((others_low < ids) | (others_high > ids))


def _dtype(classes: int) -> np.dtype:
    return np.dtype(np.uint8 if classes + 1 <= np.iinfo(np.uint8).max else np.uint16)


def _patch_centres(plane_shape: tuple[int, int], *, radii: tuple[float, float], fraction: float,
                   rng: np.random.Generator) -> np.ndarray:
    """Centres (n, 2), voxels, of discs of ``radii`` placed at random, each on a voxel
    not yet covered, until at least ``fraction`` of the plane is covered."""
    covered = np.zeros(plane_shape, dtype=bool)
    target = fraction * covered.size
    painted, centres = 0, []
    while painted < target:
        for u, v in zip(rng.integers(0, plane_shape[0], 64), rng.integers(0, plane_shape[1], 64)):
            if covered[u, v]:
                continue
            painted += _paint_disc(covered, (u, v), radii)
            centres.append((u, v))
            if painted >= target:
                break
    return np.array(centres, dtype=float).reshape(-1, 2)


def _paint_disc(mask: np.ndarray, centre: tuple[float, float], radii: tuple[float, float]) -> int:
    """Set the voxels of ``mask`` (2D) inside the ellipse at ``centre`` with ``radii``
    (voxels, clipped at the edges); the number newly set."""
    (cu, cv), (ru, rv) = centre, radii
    us = slice(max(0, math.floor(cu - ru)), min(mask.shape[0], math.floor(cu + ru) + 1))
    vs = slice(max(0, math.floor(cv - rv)), min(mask.shape[1], math.floor(cv + rv) + 1))
    du = (np.arange(us.start, us.stop) - cu) / ru
    dv = (np.arange(vs.start, vs.stop) - cv) / rv
    disc = du[:, None] ** 2 + dv[None, :] ** 2 <= 1
    new = int(np.count_nonzero(disc & ~mask[us, vs]))
    mask[us, vs] |= disc
    return new


def _patch_mask(centres: np.ndarray, radii: tuple[float, float], region: list[tuple[int, int]]) -> np.ndarray:
    """The discs at ``centres`` within ``region`` ((start, stop) of the two in-plane axes)."""
    (u0, u1), (v0, v1) = region
    mask = np.zeros((u1 - u0, v1 - v0), dtype=bool)
    ru, rv = radii
    near = ((centres[:, 0] + ru >= u0) & (centres[:, 0] - ru < u1)
            & (centres[:, 1] + rv >= v0) & (centres[:, 1] - rv < v1))
    for cu, cv in centres[near]:
        _paint_disc(mask, (cu - u0, cv - v0), radii)
    return mask


def _paint_block(*blocks: np.ndarray, axis: int, planes: list[int], patches: dict[int, np.ndarray] | None,
                 radii: tuple[float, float], contacts: tuple[int, ...] = (), seam: tuple[int, int] = (1, 1),
                 block_info=None) -> np.ndarray:
    """The annotation of one block of the annotated planes (``blocks``: the label images'
    blocks there, the planes along ``axis``)."""
    location = block_info[None]["array-location"]
    region = [bounds for i, bounds in enumerate(location) if i != axis]
    stacks = [np.moveaxis(block, axis, 0) for block in blocks]
    painted = np.zeros(stacks[0].shape, dtype=_dtype(len(blocks) + len(contacts)))
    for j in range(painted.shape[0]):
        plane = painted[j]
        plane[...] = 1
        for value, stack in enumerate(stacks, start=2):
            plane[stack[j] != 0] = value
        for value, index in enumerate(contacts, start=len(blocks) + 2):
            plane[_seams(stacks[index][j], reach=seam) & (plane == index + 2)] = value
        if patches is not None:
            plane[~_patch_mask(patches[planes[location[axis][0] + j]], radii, region)] = 0
    return np.moveaxis(painted, 0, axis)
