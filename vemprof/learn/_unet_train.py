"""Training the 2D U-Net on sparse, partly painted planes.

The annotated planes (Z planes with at least one painted pixel, at the training level)
are read once, each cropped to its painted part plus half a patch around it. One plane in
five (at least one, when there are three or more) is held out for validation; the rest
give training patches: square ``patch``-pixel windows centred near a painted pixel
drawn at random (planes weighted by their painted area), augmented (`_augment`).

The loss (`painted_loss`) is cross-entropy plus soft Dice over the painted pixels only
(unpainted pixels, 0, are ignored); with patches centred on each painted class equally
often, a rare class such as mitochondria is not drowned by the background. Adam, its
learning rate falling from `LEARNING_RATE` to `FINAL_RATE` times that along a half
cosine over the budget (`learning_rate`: the larger of the share of ``max_iterations``
done and the share of ``max_minutes`` spent): the network settles as the budget runs
out instead of swinging from one validation to the next. Every `VALIDATE_EVERY`
iterations the network predicts the validation planes whole (tiled, as `predict` does)
and scores the mean IoU of the classes on their painted pixels; the best network is
kept, and training stops after `PATIENCE` validations without improvement (counted
from the first that finds anything: a rare class may take a while to appear), at
``max_iterations``, or at ``max_minutes`` — whichever comes first. Each validation is
a row of the training log (CSV), which is also drawn (PNG). On the CPU, the same seed
gives the same network. With a checkpoint file, each validation also saves the whole
training state, and a training interrupted is resumed from it (`_checkpoint`).
"""

from __future__ import annotations

import copy
import csv
import io
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

import vemprof
from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.learn._augment import augment
from vemprof.learn._checkpoint import checkpoint_key, load_checkpoint, save_checkpoint
from vemprof.learn._classify import _check_level, annotations_at_level
from vemprof.learn._cleanup import cleanup_parameters
from vemprof.learn._forest import NORMALISATION, image_range, normalised
from vemprof.learn._model import ModelDescription
from vemprof.learn._rotations import rotated_planes
from vemprof.learn._tiles import predict_region
from vemprof.learn._unet import (
    NETWORK,
    OVERLAP,
    TILE,
    TorchNetwork,
    build_network,
    choose_device,
    multiple_of,
    onnx_bytes,
    require_torch,
    state_bytes,
)

#: Training patch edge, pixels; patches per step; Adam's first learning rate, and its
#: last as a share of the first.
PATCH = 128
BATCH = 8
LEARNING_RATE = 1e-3
FINAL_RATE = 0.05
#: Iterations between validations; validations without improvement before stopping.
VALIDATE_EVERY = 100
PATIENCE = 15
#: The most training iterations unless told otherwise (training may stop earlier, by time or patience).
MAX_ITERATIONS = 5000


@dataclass
class _Plane:
    """One painted plane: its normalised image and its annotations (0 = unpainted)."""

    z: int
    image: np.ndarray
    labels: np.ndarray

    def __post_init__(self) -> None:
        #: Where each annotation value lies: value → (rows, columns) int32.
        flat = self.labels.ravel()
        order = np.argsort(flat, kind="stable")
        values, starts = np.unique(flat[order], return_index=True)
        ends = [*starts[1:], len(order)]
        self.pixels = {int(v): np.unravel_index(order[s:e], self.labels.shape) for v, s, e in zip(values, starts, ends)
                       if v > 0}


def train_unet(
    store, annotations: str, *, level: int = 0, max_minutes: float = 10.0, max_iterations: int = MAX_ITERATIONS,
    device: str = "auto", seed: int = 0, network: dict = NETWORK, patch: int = PATCH,
    rotations: Sequence[float] = (), every: int = 5, final_rate: float = FINAL_RATE,
    checkpoint: str | os.PathLike | None = None, progress: ProgressReporter = no_progress,
) -> tuple[ModelDescription, bytes, dict[str, bytes]]:
    """A 2D U-Net trained on the painted pixels of ``annotations`` at pyramid ``level``.

    With ``rotations`` (degrees, e.g. (30, 60, 90)), the training planes also include
    every ``every``-th plane of the annotated volume rotated about X and about Y
    (`rotated_planes`, "3D-aware" training; the whole volume at ``level`` is read).
    ``final_rate``: the learning rate at the end of the budget as a share of the first
    (`learning_rate`; 1 keeps it constant).
    With ``checkpoint`` (a file path), the training state is saved there at every
    validation and an interrupted training with the same settings resumes from it
    (`_checkpoint`); the file is removed when training ends.
    Returns the description, the ONNX weights and the other files (``unet.pt``, the
    training log ``training.csv`` and its plot ``training.png``), for `save_model`.
    """
    torch = require_torch()

    classes = store.annotation_classes(annotations)
    names = ["background", *classes]
    _check_level(store, level)
    if patch % multiple_of(network):
        raise VemprofError(f"the patch ({patch} pixels) must be a multiple of {multiple_of(network)}")
    if max_minutes <= 0 or max_iterations < 1:
        raise VemprofError("--max-minutes must be positive and the iterations at least 1")
    if not 0 < final_rate <= 1:
        raise VemprofError(f"the final learning rate is a share of the first, in (0, 1]; got {final_rate}")
    device = choose_device(device)
    raw = store.raw(level=level)
    spacing = raw.require_spacing()
    grey_range = image_range(raw.data)
    planes = _painted_planes(store, annotations, level=level, grey_range=grey_range, patch=patch)
    counts = np.bincount(np.concatenate([p.labels.ravel() for p in planes]), minlength=len(names) + 1)[1:]
    missing = [name for name, count in zip(names, counts) if count == 0]
    if missing:
        raise VemprofError(f"annotation class(es) {', '.join(missing)} have no painted pixel in '{annotations}' "
                           f"at level {level}; paint some (or annotate more planes)")
    if len(counts) > len(names):
        raise VemprofError(f"'{annotations}' holds values beyond its {len(classes)} classes; "
                           "re-import it with the right --classes")
    held_out = [i % 5 == 2 and len(planes) >= 3 for i in range(len(planes))]
    validation = [p for p, out in zip(planes, held_out) if out]
    training = [p for p, out in zip(planes, held_out) if not out]
    if rotations:
        training += _rotated(store, annotations, level=level, grey_range=grey_range, patch=patch,
                             angles=rotations, every=every, held_out=[p.z for p in validation])

    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = build_network(len(names), network).to(device)
    optimiser = torch.optim.Adam(model.parameters(), lr=LEARNING_RATE)
    pixel_nm = float(min(spacing[1:]))
    rows, losses, best, best_state, waited, first, spent = [], [], -1.0, None, 0, 1, 0.0
    key = checkpoint_key({"store": str(store.path), "annotations": annotations, "painted": counts.tolist(),
                          "level": level, "seed": seed, "network": network, "patch": patch,
                          "rotations": list(rotations), "every": every, "final_rate": final_rate})
    saved = load_checkpoint(checkpoint, key)
    if saved is not None:
        model.load_state_dict(saved["model"])
        optimiser.load_state_dict(saved["optimiser"])
        rng.bit_generator.state = json.loads(saved["rng"])
        torch.set_rng_state(saved["torch_rng"])
        rows, best, best_state, waited = json.loads(saved["rows"]), saved["best"], saved["best_state"], saved["waited"]
        first, spent = rows[-1]["iteration"] + 1, rows[-1]["minutes"]
    started = time.perf_counter()
    resumed = f", resumed at step {first}" if saved is not None else ""
    with progress(f"training a U-Net on {len(training)} planes (≤ {max_minutes:g} min{resumed})",
                  max_iterations) as advance:
        advance(first - 1)
        for iteration in range(first, max_iterations + 1):
            model.train()
            rate = learning_rate(max(iteration / max_iterations, minutes_spent(spent, started) / max_minutes),
                                 final_rate=final_rate)
            for group in optimiser.param_groups:
                group["lr"] = rate
            images, targets = _batch(training, rng=rng, patch=patch, pixel_nm=pixel_nm)
            probabilities = model(torch.from_numpy(images).to(device))
            loss = painted_loss(probabilities, torch.from_numpy(targets).to(device))
            optimiser.zero_grad()
            loss.backward()
            optimiser.step()
            losses.append(loss.item())
            advance(1)
            minutes = minutes_spent(spent, started)
            out_of_time = minutes >= max_minutes or iteration == max_iterations
            if iteration % VALIDATE_EVERY and not out_of_time:
                continue
            scores = _validate(model, validation or training, classes=len(names), device=device, patch=patch)
            score = float(np.nanmean(scores[1:])) if np.isfinite(scores[1:]).any() else 0.0
            rows.append({"iteration": iteration, "minutes": round(minutes, 3), "learning_rate": rate,
                         "train_loss": float(np.mean(losses)),
                         **{f"iou_{name}": round(s, 4) for name, s in zip(names[1:], scores[1:])}, "mean_iou": score})
            losses = []
            if score > best:
                best, best_state, waited = score, copy.deepcopy(model.state_dict()), 0
            elif best > 0:  # a network that finds nothing yet has not converged: patience waits for a first find
                waited += 1
            if out_of_time or waited >= PATIENCE:
                break
            if checkpoint is not None:
                save_checkpoint(checkpoint, {
                    "key": key, "model": model.state_dict(), "optimiser": optimiser.state_dict(),
                    "rng": json.dumps(rng.bit_generator.state), "torch_rng": torch.get_rng_state(),
                    "rows": json.dumps(rows), "best": best, "best_state": best_state, "waited": waited})
    model.load_state_dict(best_state)
    model = model.cpu().eval()
    description = ModelDescription(
        kind="unet", classes=names, spacing_nm=[float(s) for s in spacing], level=level,
        features={"network": network, "patch": patch, "tile": TILE, "overlap": OVERLAP,
                  "cleanup": {name: cleanup_parameters(name) for name in classes}},
        normalisation=dict(NORMALISATION),
        training={"store": str(store.path), "annotations": annotations,
                  "painted_pixels": {name: int(c) for name, c in zip(names, counts)},
                  "planes": {"training": [p.z for p in training if p.z >= 0],
                             "validation": [p.z for p in validation],
                             "rotated": sum(p.z < 0 for p in training)},
                  "iterations": rows[-1]["iteration"], "minutes": rows[-1]["minutes"], "best_mean_iou": best,
                  "validated_on": "held-out planes" if validation else "the training planes (fewer than 3 painted)",
                  "rotations": list(rotations), "rotated_every": every if rotations else None,
                  "learning_rate": {"first": LEARNING_RATE, "final_share": final_rate},
                  "seed": seed, "device": device},
        vemprof_version=vemprof.__version__,
    )
    others = {"unet.pt": state_bytes(model), "training.csv": _csv(rows), "training.png": _plot(rows)}
    weights = onnx_bytes(model, tile=TILE)
    if checkpoint is not None:
        Path(checkpoint).unlink(missing_ok=True)
    return description, weights, others


def learning_rate(fraction: float, *, final_rate: float = FINAL_RATE) -> float:
    """Adam's learning rate with ``fraction`` (0–1) of the training budget spent: from
    `LEARNING_RATE` down a half cosine to ``final_rate`` × `LEARNING_RATE`."""
    fraction = min(max(fraction, 0.0), 1.0)
    return LEARNING_RATE * (final_rate + (1 - final_rate) * 0.5 * (1 + math.cos(math.pi * fraction)))


def minutes_spent(before: float, started: float) -> float:
    """Minutes of training: ``before`` (a resumed training's) plus those since ``started``
    (`time.perf_counter`)."""
    return before + (time.perf_counter() - started) / 60


def painted_loss(probabilities, targets):
    """Cross-entropy plus soft Dice loss over the painted pixels (targets ≥ 0; −1 = unpainted).

    ``probabilities`` (n, classes, h, w) softmax output, ``targets`` (n, h, w) int64. The
    Dice term averages over the classes painted in the batch, each counting alike however
    few its pixels: with the class-balanced patches of `_batch`, how the loss balances a
    rare class against the background (as nnU-Net does).
    """
    import torch

    painted = targets >= 0
    cross_entropy = torch.nn.functional.nll_loss(torch.log(probabilities.clamp_min(1e-7)), targets, ignore_index=-1)
    one_hot = torch.nn.functional.one_hot(targets.clamp_min(0), probabilities.shape[1]).permute(0, 3, 1, 2)
    weight = painted[:, None].float()
    truth = one_hot.float() * weight
    found = probabilities * weight
    overlap = (truth * found).sum(dim=(0, 2, 3))
    sizes = truth.sum(dim=(0, 2, 3))
    dice = (2 * overlap + 1) / (sizes + found.sum(dim=(0, 2, 3)) + 1)
    return cross_entropy + 1 - dice[sizes > 0].mean()


def _painted_planes(store, annotations: str, *, level: int, grey_range, patch: int) -> list[_Plane]:
    """The Z planes with painted pixels at ``level``, each cropped to its painted box plus
    half a patch (at least a patch; smaller planes are padded, unpainted)."""
    raw = store.raw(level=level)
    labels = annotations_at_level(store, annotations, level)
    painted = np.flatnonzero(np.asarray((labels != 0).any(axis=(1, 2))))
    if len(painted) == 0:
        raise VemprofError(f"'{annotations}' holds no painted pixel (all 0); paint some or use "
                           "'vemprof annotate-planes'")
    planes = []
    for z in painted:
        plane = np.asarray(labels[z])
        rows, columns = np.nonzero(plane)
        box = [slice(max(int(i.min()) - patch // 2, 0), min(int(i.max()) + 1 + patch // 2, n))
               for i, n in zip((rows, columns), plane.shape)]
        image = normalised(np.asarray(raw.data[z, box[0], box[1]]), grey_range)
        planes.append(_Plane(int(z), *_padded(image, plane[box[0], box[1]].astype(np.int16), patch)))
    return planes


def _rotated(store, annotations: str, *, level: int, grey_range, patch: int, angles, every: int,
             held_out: Sequence[int]) -> list[_Plane]:
    """The painted planes of the volume rotated by ``angles`` about X and about Y, the Z
    planes ``held_out`` for validation unpainted first (rotated, they would cross the
    training planes and validation would score what training saw). Only the box of the
    painted voxels (plus half a patch) is read and rotated."""
    raw = store.raw(level=level)
    spacing = raw.require_spacing()
    labels = np.array(annotations_at_level(store, annotations, level))
    labels[list(held_out)] = 0
    if not labels.any():
        return []
    box = _painted_box(labels, margin=patch // 2)
    planes = rotated_planes(normalised(np.asarray(raw.data[box]), grey_range), labels[box], spacing=spacing,
                            angles=angles, every=every)
    return [_Plane(-1, *_padded(image, plane.astype(np.int16), patch))
            for image, plane, (axis, _, _) in zip(planes.images, planes.labels, planes.sources) if axis is not None]


def _painted_box(labels: np.ndarray, *, margin: int) -> tuple[slice, ...]:
    """The box of ``labels``' painted (non-zero, at least one) voxels, ``margin`` voxels
    wider on each side."""
    box = []
    for axis in range(labels.ndim):
        painted = np.flatnonzero(labels.any(axis=tuple(a for a in range(labels.ndim) if a != axis)))
        box.append(slice(max(int(painted[0]) - margin, 0), min(int(painted[-1]) + 1 + margin, labels.shape[axis])))
    return tuple(box)


def _padded(image: np.ndarray, labels: np.ndarray, patch: int) -> tuple[np.ndarray, np.ndarray]:
    """``image`` and ``labels`` padded to at least ``patch`` on each axis (image mirrored,
    labels unpainted)."""
    pad = [(0, max(patch - n, 0)) for n in image.shape]
    return np.pad(image, pad, mode="reflect" if min(image.shape) > 1 else "edge"), np.pad(labels, pad)


def _batch(planes: list[_Plane], *, rng: np.random.Generator, patch: int, pixel_nm: float):
    """``BATCH`` augmented patches: images (n, 1, patch, patch) float32 and targets (n,
    patch, patch) int64, the class index or −1 where unpainted.

    Each patch is centred near a painted pixel of a class drawn uniformly among the
    painted classes (then a plane by its share of that class, then a pixel), so that a
    rare class is seen as often as the background."""
    classes = sorted({value for plane in planes for value in plane.pixels})
    images, targets = [], []
    for value in rng.choice(classes, size=BATCH):
        areas = np.array([len(p.pixels[value][0]) if value in p.pixels else 0 for p in planes], float)
        plane = planes[rng.choice(len(planes), p=areas / areas.sum())]
        rows, columns = plane.pixels[value]
        pick = rng.integers(len(rows))
        corner = [int(np.clip(centre - patch // 2 + rng.integers(-patch // 4, patch // 4 + 1), 0, n - patch))
                  for centre, n in zip((rows[pick], columns[pick]), plane.labels.shape)]
        window = (slice(corner[0], corner[0] + patch), slice(corner[1], corner[1] + patch))
        image, labels = augment(plane.image[window], plane.labels[window], rng=rng, pixel_nm=pixel_nm)
        images.append(image)
        targets.append(labels.astype(np.int64) - 1)
    return np.stack(images)[:, None], np.stack(targets)


def _validate(model, planes: list[_Plane], *, classes: int, device: str, patch: int) -> list[float]:
    """IoU per class (background first) of the network's prediction on the painted pixels
    of ``planes``."""
    import torch

    model.eval()
    run = TorchNetwork(model, device)
    intersection, union = np.zeros(classes), np.zeros(classes)
    with torch.no_grad():
        for plane in planes:
            shape = plane.image.shape
            region = (slice(0, 1), slice(0, shape[0]), slice(0, shape[1]))
            probabilities = predict_region(plane.image[None], region, run=run, classes=classes, tile=patch,
                                           overlap=patch // 4)
            predicted = probabilities.argmax(axis=0)[0]
            painted = plane.labels > 0
            truth, found = plane.labels[painted] - 1, predicted[painted]
            for c in range(classes):
                intersection[c] += np.count_nonzero((truth == c) & (found == c))
                union[c] += np.count_nonzero((truth == c) | (found == c))
    return [float(i / u) if u else math.nan for i, u in zip(intersection, union)]


def _csv(rows: list[dict]) -> bytes:
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=list(rows[0]))
    writer.writeheader()
    writer.writerows(rows)
    return text.getvalue().encode()


def _plot(rows: list[dict]) -> bytes:
    """The training log drawn: training loss and validation IoU per class against iterations."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    figure = Figure(figsize=(8, 3.2), dpi=100)
    loss_axes, iou_axes = figure.subplots(1, 2)
    iterations = [row["iteration"] for row in rows]
    loss_axes.plot(iterations, [row["train_loss"] for row in rows], marker=".")
    loss_axes.set(xlabel="iteration", ylabel="training loss (weighted cross-entropy)", yscale="log")
    for key in [k for k in rows[0] if k.startswith("iou_")] + ["mean_iou"]:
        iou_axes.plot(iterations, [row[key] for row in rows], marker=".", label=key.removeprefix("iou_"))
    iou_axes.set(xlabel="iteration", ylabel="validation IoU (painted pixels)", ylim=(0, 1))
    iou_axes.legend(fontsize=8)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    return buffer.getvalue()
