"""The 3D-aware pore model: steps ``train`` and ``detect`` of `vemprof pores`.

Training (`paint_pore_training`, `train_pore_model`, `train_in_rounds`): the pore masks
(step ``masks``) are the targets. In a part of the nucleus (the slab along X holding
`TRAINING_FRACTION` of the masks), every voxel within `TRAINING_BAND_NM` of the
nucleus's surface is painted: pore where a mask is, background elsewhere. Of several
nuclei (a volume of many cells) only the one with the most masks is painted so: the
training reads and rotates the painted box, which across 16 nuclei of a 10⁹-voxel field
was half the volume (over 13 GB), and a few minutes of training see no more than one
nucleus's pores anyway. The 2D U-Net learns from those Z planes and, the published
recipe, from every `EVERY`-th plane of that part rotated by 30°, 60° and 90° about X and
about Y (`learn.rotated_planes`): a pore cut across in XY is seen face-on in a rotated
plane, so the network learns pores at every tilt of the envelope.
With more than one round, the next model learns from the pores the last one found, which
are more often right than the masks (self-training).

Detection (`detect_pores`): the network predicts only near the envelope (the search
band, `SEARCH_INSIDE_NM` inside to `SEARCH_OUTSIDE_NM` outside the surface;
`learn.predict_where`), so its cost grows with the nuclear surface, not the volume. It
reads the volume along Z, Y and X planes and averages the three (`AXES`): it learned
those views from the planes turned by 90°, and an envelope seen en face in one of them,
where its grain looks like pores, is seen across in the other two (on the phantoms, F1
0.86–0.94 along Z planes alone became 0.94–0.98; docs/pores.md).
The probability (``probabilities/<out>``, 0 where no tile ran), masked to the band, is
smoothed at `SMOOTHING` of the pore radius, and its maxima at least a pore radius apart
are the pores' seeds (a strict watershed's: one per pore, however the probability of
neighbours runs together): those above `THRESHOLD` on their own, and, where the pore
masks of the 3D operations are given, those above `CONFIRMED` with a mask's centre
within a pore radius (two kinds of evidence that agree; measured in docs/pores.md).
Each pore grows from its maximum through the envelope (`envelope_disc`) where the
smoothed probability is at least half the lower threshold, no farther than the pore
radius, a voxel claimed by two pores going to the nearer: a pore instance, ``labels/<out>``.

Tried and left out: a white top-hat of the probability (a 150 nm opening) before the
maxima gave the same pores, since the probability is already near 0 between pores.
"""

from __future__ import annotations

import datetime as dt
import math
import tempfile
from pathlib import Path
from typing import Callable, Iterator, Sequence

import dask.array as da
import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from scipy.spatial import cKDTree
from skimage.feature import peak_local_max

from vemprof import ops
from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.evaluate import centroids_nm
from vemprof.store import Store, chunk_count, write_resumable
from vemprof.workflows._pockets import _check_nucleus, _coarse_pieces
from vemprof.workflows._pore_masks import INSIDE_NM, OUTSIDE_NM, PORE_RADIUS_NM, envelope_disc, write_discs

#: The share of the pore masks (by their centroids' X) in the painted part of the nucleus.
TRAINING_FRACTION = 0.5
#: Painted: the voxels within this distance of the nucleus's surface, both sides, nm.
TRAINING_BAND_NM = 200.0
#: The published recipe: rotations about X and about Y (degrees), every n-th plane.
ROTATIONS = (30.0, 60.0, 90.0)
EVERY = 5
#: Training time (minutes) by default: most of the 10 minutes the whole pores step may take.
TRAINING_MINUTES = 5.0
#: The learning rate at the end as a share of the first: kept constant. Decayed to 0.05
#: (the organelle U-Net's default), the learned route's F1 was 0.885 against 0.890 on the
#: default phantom and 0.814 against 0.842 on seed 3, one run each (docs/pores.md): no
#: better. The masks it learns from are automatic, a tenth or more of them wrong; a
#: network still learning fast at the end may follow their mistakes less.
FINAL_RATE = 1.0
#: The training patch, pixels (the organelle U-Net's is 128). A pore is 2–6 pixels across
#: and its pocket a few more, so 64 holds all the context it needs, and a step costs a
#: third of a 128-pixel one (29 against 10 steps a second on 2 cores, the network alone):
#: 5,000 steps in 3.7–4.9 minutes against 2,300 in 5, for the same F1 (docs/pores.md).
PATCH = 64
#: Where pores are predicted and sought: from this far inside to this far outside the
#: nucleus's surface, nm (the envelope and a pore's reach on either side).
SEARCH_INSIDE_NM = 120.0
SEARCH_OUTSIDE_NM = 80.0
#: The planes the network predicts along, averaged: "zyx" (Z, Y and X planes), "z", or
#: "auto": "zyx" where the model learned from planes turned by 90° (Y and X planes), else "z".
AXES = "auto"
#: Gaussian smoothing of the probability, in pore radii (24 nm for the 60 nm default).
SMOOTHING = 0.4
#: A pore: a maximum of the smoothed probability at least this high on its own, or at
#: least `CONFIRMED` high with a pore mask's centre within a pore radius.
THRESHOLD = 0.5
CONFIRMED = 0.2
#: Blocks (Z, Y, X voxels) in which the maxima are sought, each with a halo.
PEAK_BLOCK = (64, 512, 512)


def paint_pore_training(store: Store, *, nucleus: str, masks: str, out: str, fraction: float = TRAINING_FRACTION,
                        each_nucleus: bool = False, progress: ProgressReporter = no_progress) -> dict:
    """Write the annotation image ``labels/<out>`` (classes ``["pore"]``) from the pore
    masks ``labels/<masks>`` in a part of the nucleus (module note; with ``each_nucleus``,
    of the nucleus with the most masks); returns the end of the painted part along X
    (voxels) and how many masks lie in it."""
    if not 0 < fraction <= 1:
        raise VemprofError(f"--training-fraction must be in (0, 1], got {fraction}")
    mask = store.labels(nucleus).data > 0
    pieces, stride = _coarse_pieces(mask)  # a read of the whole mask: made once, for the check and the box
    _check_nucleus(mask, name=nucleus, each_nucleus=each_nucleus, pieces=pieces)
    pores = store.labels(masks).data
    centres = centroids_nm(pores, spacing=store.spacing)
    if len(centres) == 0:
        raise VemprofError(f"labels/{masks} holds no pore mask; make them first (--steps pockets,masks)")
    voxels = centres / np.asarray(store.spacing)
    box = (_busiest_nucleus(pieces, stride, voxels, shape=mask.shape,
                            reach_voxels=[math.ceil(TRAINING_BAND_NM / s) for s in store.spacing])
           if each_nucleus else tuple(slice(0, n) for n in mask.shape))
    inside = np.all([(v >= b.start) & (v < b.stop) for v, b in zip(voxels.T, box)], axis=0)
    x_nm = np.sort(centres[inside, 2])
    last = x_nm[max(math.ceil(fraction * len(x_nm)) - 1, 0)]
    end = min(int(last / store.spacing[2]) + 1, box[2].stop) if fraction < 1 else box[2].stop
    box = (*box[:2], slice(box[2].start, end))
    painted = da.pad(_painted_box(mask, pores, box, spacing=store.spacing),
                     [(b.start, n - b.stop) for b, n in zip(box, mask.shape)])
    with progress(f"painting labels/{out}", store.chunks_to_write(mask.shape, averaged=False)) as advance:
        store.write_annotations(out, painted, classes=["pore"], chunks=store.labels(nucleus).data.chunksize,
                                progress=advance)
    return {"x_end": end, "masks": int((inside & (voxels[:, 2] < end)).sum())}


def _painted_box(mask: da.Array, pores: da.Array, box: tuple[slice, ...], *, spacing) -> da.Array:
    """The annotations in ``box`` (voxel slices): 2 (pore) where ``pores`` is set, else 1
    (background) within `TRAINING_BAND_NM` of the surface of ``mask`` on either side, else
    0. The band is made from the box grown by its reach, exact there (on a 10⁹-voxel field
    15 s, against 72 s over the whole mask)."""
    reach = [math.ceil(TRAINING_BAND_NM / s) + 1 for s in spacing]
    grown = tuple(slice(max(b.start - r, 0), min(b.stop + r, n)) for b, r, n in zip(box, reach, mask.shape))
    around = mask[grown]
    near = (ops.shell(around, inner_nm=0, outer_nm=TRAINING_BAND_NM, side="inside", spacing=spacing)
            | ops.shell(around, inner_nm=0, outer_nm=TRAINING_BAND_NM, side="outside", spacing=spacing))
    near = near[tuple(slice(b.start - g.start, b.stop - g.start) for b, g in zip(box, grown))]
    return da.where(pores[box] > 0, 2, near.astype(np.uint8)).astype(np.uint8)


def _busiest_nucleus(pieces: np.ndarray, stride, centres_voxels: np.ndarray, *, shape,
                     reach_voxels) -> tuple[slice, ...]:
    """The box (voxel slices of a volume of ``shape``) of the nucleus nearest the most of
    ``centres_voxels`` (n, 3), grown by ``reach_voxels``: the nuclei are the mask's
    `_coarse_pieces` (``pieces`` in blocks of ``stride``), as `_check_nucleus` counts them."""
    nearest = ndi.distance_transform_edt(pieces == 0, return_distances=False, return_indices=True)
    at = np.clip((centres_voxels // stride).astype(int), 0, np.array(pieces.shape) - 1)
    owners = pieces[tuple(nearest[(slice(None), *at.T)])]
    busiest = np.bincount(owners, minlength=pieces.max() + 1)[1:].argmax() + 1
    found = ndi.find_objects(pieces)[busiest - 1]
    return tuple(slice(max((f.start - 1) * s - r, 0), min((f.stop + 1) * s + r, n))
                 for f, s, r, n in zip(found, stride, reach_voxels, shape))


def train_pore_model(store: Store, *, annotations: str, path: Path, minutes: float = TRAINING_MINUTES,
                     iterations: int | None = None, rotations: Sequence[float] = ROTATIONS, every: int = EVERY,
                     seed: int = 0, progress: ProgressReporter = no_progress) -> dict:
    """Train the pore U-Net on ``labels/<annotations>`` (`paint_pore_training`) at full
    resolution, rotated by ``rotations`` (none: Z planes only), for ``minutes`` or
    ``iterations`` (when given), whichever ends first, and save it at ``path``;
    returns its training record. Interrupted, it resumes from a checkpoint beside ``path``."""
    from vemprof.learn import MAX_ITERATIONS, save_model, train_unet

    path.parent.mkdir(parents=True, exist_ok=True)
    description, weights, others = train_unet(
        store, annotations, level=0, max_minutes=minutes, max_iterations=iterations or MAX_ITERATIONS,
        rotations=tuple(rotations), every=every, seed=seed, patch=PATCH, final_rate=FINAL_RATE,
        checkpoint=path.with_name(path.name + ".checkpoint"), progress=progress)
    save_model(path, description, weights, others=others, overwrite=True)
    return description.training


def train_in_rounds(store: Store, *, nucleus: str, masks: str, annotations: str, path: Path, rounds: int = 1,
                    fraction: float = TRAINING_FRACTION, minutes: float = TRAINING_MINUTES,
                    iterations: int | None = None, rotations: Sequence[float] = ROTATIONS,
                    radius_nm: float = PORE_RADIUS_NM, threshold: float = THRESHOLD, confirmed: float = CONFIRMED,
                    axes: str = AXES, each_nucleus: bool = False,
                    progress: ProgressReporter = no_progress) -> list[dict]:
    """Paint ``labels/<annotations>`` from the pore masks ``labels/<masks>`` and train the
    pore model at ``path`` on it; with ``rounds`` > 1, again on the pores that model finds
    (``labels/<path's stem>_round<k>``), each round's labels better than the last
    (self-training); ``each_nucleus``: the mask may hold several nuclei. Returns each
    round's painting and training records."""
    if rounds < 1:
        raise VemprofError(f"--rounds must be at least 1, got {rounds}")
    records, targets = [], masks
    for round_ in range(1, rounds + 1):
        painted = paint_pore_training(store, nucleus=nucleus, masks=targets, out=annotations, fraction=fraction,
                                      each_nucleus=each_nucleus, progress=progress)
        trained = train_pore_model(store, annotations=annotations, path=path, minutes=minutes, iterations=iterations,
                                   rotations=rotations, progress=progress)
        records.append({"round": round_, "targets": targets, **painted, **trained})
        if round_ < rounds:
            targets = f"{path.stem}_round{round_}"
            detect_pores(store, model=path, nucleus=nucleus, out=targets, radius_nm=radius_nm, threshold=threshold,
                         masks=masks, confirmed=confirmed, axes=axes, each_nucleus=each_nucleus, progress=progress)
    return records


def detect_pores(store: Store, *, model: Path, nucleus: str, out: str, radius_nm: float = PORE_RADIUS_NM,
                 threshold: float = THRESHOLD, masks: str | None = None, confirmed: float = CONFIRMED,
                 each_nucleus: bool = False, axes: str = AXES, device: str = "auto",
                 progress: ProgressReporter = no_progress) -> int:
    """Predict ``probabilities/<out>`` with the pore model at ``model`` over the search band
    of ``labels/<nucleus>`` and write the pores found in it as ``labels/<out>`` (module
    note): maxima of at least ``threshold``, and of at least ``confirmed`` near a pore of
    ``labels/<masks>`` when given; returns how many. ``each_nucleus``: the mask may hold
    several nuclei (a volume of many cells)."""
    from vemprof.learn import load_model, predict_where

    for name, value in (("--threshold", threshold), ("--confirmed", confirmed)):
        if not 0 < value < 1:
            raise VemprofError(f"{name} must be between 0 and 1, got {value}")
    if axes not in ("auto", "z", "zyx"):
        raise VemprofError(f"--axes must be auto, z or zyx, got {axes!r}")
    if not model.exists():
        raise VemprofError(f"no pore model at {model}; train one first (--steps train) or give it with --model")
    started = dt.datetime.now(dt.timezone.utc)
    description, _ = load_model(model)
    if description.classes[1:] != ["pore"]:
        raise VemprofError(f"{model} predicts {', '.join(description.classes[1:])}, not pores; give a pore model "
                           "(made by --steps train)")
    axes = reading_axes(description.training, axes)
    mask = store.labels(nucleus).data > 0
    _check_nucleus(mask, name=nucleus, each_nucleus=each_nucleus)
    spacing = np.asarray(store.spacing, np.float64)
    sigma_nm = SMOOTHING * radius_nm
    lowest = min(threshold, confirmed) if masks else threshold
    with tempfile.TemporaryDirectory(dir=store.path, prefix=".search-band-") as scratch:
        band = _staged_band(mask, spacing=spacing, path=Path(scratch) / "band.zarr", progress=progress)
        predict_where(store, model, where=band, names=[out], axes=axes, device=device, progress=progress)
        probability = store.probabilities(out).data
        peaks_nm, heights = probability_peaks(probability, band, spacing=spacing, sigma_nm=sigma_nm,
                                              min_distance_nm=radius_nm, threshold=lowest, progress=progress)
    if masks:
        centres_nm = centroids_nm(store.labels(masks).data, spacing=spacing)
        peaks_nm = peaks_nm[confirmed_peaks(peaks_nm, heights, centres_nm, threshold=threshold, confirmed=confirmed,
                                            radius_nm=radius_nm)]
    none_found = (f"no pore found: the pore model's probability never reaches {lowest} near the envelope of "
                  f"labels/{nucleus}; lower --threshold or train on more pores")
    if len(peaks_nm) == 0:
        raise VemprofError(none_found)

    discs = grow_pores(mask, probability, peaks_nm, spacing=spacing, radius_nm=radius_nm, lowest=lowest,
                       progress=progress)
    if all(disc.empty for disc in discs):  # maxima only where the envelope is a sliver: no pore grows
        raise VemprofError(none_found)
    claimed = write_discs(store, out, discs, like=nucleus, dtype=np.uint32, progress=progress)
    count = int(claimed["label"].nunique())
    store.record("pores", outputs=[f"probabilities/{out}", f"labels/{out}"], started=started,
                 parameters={"step": "detect", "model": str(model), "nucleus": nucleus, "radius_nm": radius_nm,
                             "threshold": threshold, "masks": masks, "confirmed": confirmed if masks else None,
                             "smoothing_nm": sigma_nm, "search_inside_nm": SEARCH_INSIDE_NM,
                             "search_outside_nm": SEARCH_OUTSIDE_NM, "rotations": description.training["rotations"],
                             "axes": axes, "pores": count})
    return count


def reading_axes(training: dict, axes: str) -> str:
    """The planes a pore model with the training record ``training`` predicts along:
    ``axes`` ("z", "zyx"), or for "auto" "zyx" where it learned from planes turned by 90°
    (the Y and X planes), else "z"."""
    if axes != "auto":
        return axes
    return "zyx" if 90 in training.get("rotations", []) else "z"


def grow_pores(mask: da.Array, probability: da.Array, peaks_nm: np.ndarray, *, spacing: np.ndarray,
               radius_nm: float, lowest: float, block: tuple[int, int, int] = PEAK_BLOCK,
               progress: ProgressReporter = no_progress) -> list[pd.DataFrame]:
    """Each pore grown from its maximum (``peaks_nm``, (n, 3) nm; pore k is row k - 1)
    through the envelope of ``mask`` where ``probability`` (uint8), smoothed, is at least
    ``lowest / 2`` (module note): `envelope_disc` voxels, one table per pore in id order.
    The pores are taken by ``block`` (voxels), each block of the volume read once with
    what its pores reach beyond it: any blocks give the same pores."""
    sigma_nm = SMOOTHING * radius_nm
    depth = [math.ceil(max(SEARCH_INSIDE_NM, SEARCH_OUTSIDE_NM) / s) + 1 for s in spacing]

    def likely(nucleus_near: _Window, probability_near: _Window) -> Callable[[tuple[slice, ...]], np.ndarray]:
        """``keep`` for `envelope_disc`: where in a box the smoothed probability is at
        least half the lower threshold (the band exact within the box's smoothing reach)."""
        def keep(box: tuple[slice, ...]) -> np.ndarray:
            wide = _widened(box, [math.ceil(4 * sigma_nm / s) for s in spacing], mask.shape)
            outer = _widened(wide, depth, mask.shape)  # the shells are exact within ``wide``
            near = _search_band(nucleus_near[outer], spacing=spacing)[_within(wide, outer)]
            smooth = _smoothed(probability_near[wide], near, spacing=spacing, sigma_nm=sigma_nm)
            return smooth[_within(box, wide)] >= lowest / 2
        return keep

    # what `keep` reads around a pore: the disc's box, the smoothing's reach, the band's depth, and rounding
    reach_nm = radius_nm + max(OUTSIDE_NM, INSIDE_NM) + 4 * sigma_nm + (np.array(depth) + 4) * spacing
    grown = {}
    with progress("growing each pore from its maximum", len(peaks_nm)) as advance:
        for region, labels in _by_block(peaks_nm, spacing=spacing, shape=mask.shape, block=block,
                                        reach_nm=reach_nm):
            # each block read once, not once a pore (a dask read of a chunk costs ~0.05 s)
            nucleus_near = _Window(np.asarray(mask[region]), region, shape=mask.shape)
            keep = likely(nucleus_near, _Window(np.asarray(probability[region]), region, shape=mask.shape))
            for label in labels:
                grown[label] = envelope_disc(nucleus_near, peaks_nm[label - 1], label=label, spacing=spacing,
                                             radius_nm=radius_nm, keep=keep)
                advance(1)
    return [grown[label] for label in sorted(grown)]


def probability_peaks(probability: da.Array, band: da.Array, *, spacing, sigma_nm: float, min_distance_nm: float,
                      threshold: float, block: tuple[int, int, int] = PEAK_BLOCK,
                      progress: ProgressReporter = no_progress) -> tuple[np.ndarray, np.ndarray]:
    """(n, 3) nm positions and (n,) heights (0–1) of the maxima of ``probability`` (uint8,
    0–255) within ``band``, smoothed by ``sigma_nm``, at least ``min_distance_nm`` apart and
    ``threshold`` (0–1) high; sought ``block`` by block with a halo, so equal to the whole
    volume's."""
    spacing = np.asarray(spacing, np.float64)
    halo = [int(math.ceil((min_distance_nm + 4 * sigma_nm) / s)) for s in spacing]
    radius = [max(int(round(min_distance_nm / s)), 1) for s in spacing]
    grid = np.ogrid[tuple(slice(-r, r + 1) for r in radius)]
    footprint = sum((g / r) ** 2 for g, r in zip(grid, radius)) <= 1
    shape = probability.shape
    starts = [range(0, n, b) for n, b in zip(shape, block)]
    found = []
    with progress("seeking the pores' maxima", math.prod(len(s) for s in starts)) as advance:
        for corner in np.ndindex(*[len(s) for s in starts]):
            core = [slice(s[i], min(s[i] + b, n)) for s, i, b, n in zip(starts, corner, block, shape)]
            wide = _widened(tuple(core), halo, shape)
            near = np.asarray(band[wide])
            if near.any():
                smooth = _smoothed(np.asarray(probability[wide]), near, spacing=spacing, sigma_nm=sigma_nm)
                peaks = peak_local_max(smooth, footprint=footprint, threshold_abs=threshold, exclude_border=False)
                peaks = peaks + [w.start for w in wide]
                inside = np.all([(peaks[:, a] >= core[a].start) & (peaks[:, a] < core[a].stop) for a in range(3)],
                                axis=0)
                kept = peaks[inside]
                found.append(np.c_[kept * spacing, smooth[tuple((kept - [w.start for w in wide]).T)]])
            advance(1)
    found = np.concatenate(found) if found else np.zeros((0, 4))
    return found[:, :3], found[:, 3]


def confirmed_peaks(peaks_nm: np.ndarray, heights: np.ndarray, masks_nm: np.ndarray, *, threshold: float,
                    confirmed: float, radius_nm: float) -> np.ndarray:
    """Which maxima (positions nm, heights 0–1) are pores: ``threshold`` high, or
    ``confirmed`` high with one of ``masks_nm`` (the pore masks' centres, nm) within
    ``radius_nm``; a bool array."""
    near = np.zeros(len(peaks_nm), bool)
    if len(masks_nm) and len(peaks_nm):
        near = cKDTree(masks_nm).query(peaks_nm, distance_upper_bound=radius_nm)[0] <= radius_nm
    return (heights >= threshold) | (near & (heights >= confirmed))


def _staged_band(mask: da.Array, *, spacing, path: Path, progress: ProgressReporter) -> da.Array:
    """The search band of ``mask`` (`_search_band`) made once, chunk by chunk, into a zarr
    array at ``path``: the prediction and the maxima read it block by block with halos, and
    each read of the lazy band would make its chunks again (at 10⁹ voxels a whole band
    takes 50 s). Named as the lazy band, so a prediction interrupted on it resumes."""
    band = _search_band(mask, spacing=spacing)
    with progress("marking the envelope's band", chunk_count(band.shape, band.chunksize)) as advance:
        target = write_resumable(band, path, chunks=band.chunksize, progress=advance)
    return da.from_zarr(target, name=band.name)


def _search_band(nucleus, *, spacing):
    """Where pores are sought: `SEARCH_INSIDE_NM` inside to `SEARCH_OUTSIDE_NM` outside
    the surface of ``nucleus`` (bool, numpy or dask)."""
    return (ops.shell(nucleus, inner_nm=0, outer_nm=SEARCH_INSIDE_NM, side="inside", spacing=spacing)
            | ops.shell(nucleus, inner_nm=0, outer_nm=SEARCH_OUTSIDE_NM, side="outside", spacing=spacing))


class _Window:
    """A region of a volume read once, sliced with the volume's own voxel indices (boxes
    inside the region only); ``shape`` is the whole volume's."""

    def __init__(self, array: np.ndarray, region: tuple[slice, ...], *, shape: tuple[int, ...]):
        self.array, self.region, self.shape = array, region, tuple(shape)

    def __getitem__(self, box: tuple[slice, ...]) -> np.ndarray:
        if any(b.start < r.start or b.stop > r.stop for b, r in zip(box, self.region)):
            raise ValueError(f"{box} reaches beyond the region read, {self.region}")
        return self.array[_within(box, self.region)]


def _by_block(points_nm: np.ndarray, *, spacing, shape, block, reach_nm) -> Iterator[tuple[tuple[slice, ...], list]]:
    """The points (n, 3; nm) grouped by the block of ``block`` voxels each lies in: each
    block grown by ``reach_nm`` (per axis) within ``shape``, and its points' 1-based ids."""
    voxels = np.clip(np.floor(points_nm / spacing).astype(int), 0, np.array(shape) - 1)
    keys = voxels // np.array(block)
    reach = np.ceil(np.asarray(reach_nm) / spacing).astype(int)
    for key in np.unique(keys, axis=0):
        labels = (np.flatnonzero(np.all(keys == key, axis=1)) + 1).tolist()
        start = key * np.array(block)
        yield tuple(slice(max(a - r, 0), min(a + b + r, n)) for a, b, r, n in zip(start, block, reach, shape)), labels


def _widened(box: tuple[slice, ...], reach, shape) -> tuple[slice, ...]:
    """``box`` grown by ``reach`` voxels per axis, within ``shape``."""
    return tuple(slice(max(b.start - r, 0), min(b.stop + r, n)) for b, r, n in zip(box, reach, shape))


def _within(box: tuple[slice, ...], outer: tuple[slice, ...]) -> tuple[slice, ...]:
    """``box`` as slices of the array read at ``outer``."""
    return tuple(slice(b.start - o.start, b.stop - o.start) for b, o in zip(box, outer))


def _smoothed(probability: np.ndarray, band: np.ndarray, *, spacing, sigma_nm: float) -> np.ndarray:
    """``probability`` (uint8) in 0–1, 0 outside ``band``, smoothed by ``sigma_nm``."""
    inside = np.where(band, probability.astype(np.float32) / 255, np.float32(0))
    return ndi.gaussian_filter(inside, sigma=sigma_nm / np.asarray(spacing), mode="nearest")

