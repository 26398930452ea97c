"""Training planes for a "3D-aware" 2D network: the annotated volume rotated about X and about Y.

A 2D U-Net trained only on Z planes learns objects as they look in Z planes; nuclear
pores and mitochondria cut in other orientations then go unrecognised. The published
FIB-SEM recipe trains the 2D network on planes of the volume turned in 3D: rotate the
image and its annotation by 30°, 60° and 90° about the X axis and about the Y axis, and
take every k-th Z plane of each rotated volume, plus those of the unrotated volume.

`rotated_planes` does this in four steps:

1. Resample image and labels to isotropic voxels of the finest voxel size (``pixel_nm``),
   so that a rotation turns nanometres into nanometres: the image linearly, the labels
   by nearest neighbour.
2. Rotate one angle about one axis at a time (``"x"``: in the Z–Y plane; ``"y"``: in the
   Z–X plane), with scipy's ``reshape=True`` so nothing is cut. The image is interpolated
   linearly and padded with its median; the labels take the nearest voxel's value, so
   no new label value appears, and are padded with 0 (not annotated) so the padding
   teaches the network nothing.
3. Take every ``every``-th Z plane (2D, Y × X) of the rotated volumes, and once those of
   the unrotated volume (angle 0).
4. Keep the planes whose labels are not all 0, as copies, so the rotated volume is freed
   before the next rotation.

Sparse annotations keep their values: 0 not annotated, 1 background, 2… classes.

Memory: the isotropic image (float32) and labels stay in memory, plus one rotated pair
(up to about 2× larger at 45°) and the kept planes. Give it the annotated training
volume at the resolution level the network trains on, not a whole dataset at full
resolution.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Iterator, Sequence

import numpy as np
from scipy import ndimage

from vemprof.errors import VemprofError
from vemprof.volume import validate_spacing

DEFAULT_ANGLES = (30.0, 60.0, 90.0)
DEFAULT_AXES = ("x", "y")
DEFAULT_EVERY = 5
#: The (Z, Y, X) axes that span the plane of rotation about each axis.
ROTATION_PLANES = {"x": (0, 1), "y": (0, 2)}


@dataclass(frozen=True)
class RotatedPlanes:
    """2D training planes cut from the rotated volumes.

    Attributes
    ----------
    images : list of 2D float32 arrays (Y, X)
        The image planes; planes from different rotations differ in shape.
    labels : list of 2D arrays (Y, X), the labels' dtype
        The label plane of each image plane, values as given (0 not annotated).
    sources : list of (axis, angle, z)
        Where each plane comes from: the rotation axis (``"x"``, ``"y"``, or None for the
        unrotated volume), the angle in degrees (0.0 unrotated) and the plane's Z index
        in that rotated isotropic volume.
    pixel_nm : float
        The pixel size of every plane, nm, on both axes (the finest voxel size given).
    """

    images: list[np.ndarray]
    labels: list[np.ndarray]
    sources: list[tuple[str | None, float, int]]
    pixel_nm: float


def rotated_planes(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    spacing: Sequence[float],
    angles: Sequence[float] = DEFAULT_ANGLES,
    axes: Sequence[str] = DEFAULT_AXES,
    every: int = DEFAULT_EVERY,
) -> RotatedPlanes:
    """Every ``every``-th Z plane of the volume rotated about X and about Y, as 2D training data.

    Parameters
    ----------
    image : ndarray (Z, Y, X), any real dtype
        The image of the annotated training volume (finite values).
    labels : ndarray (Z, Y, X), integer dtype
        Its sparse annotation: 0 not annotated, 1 background, 2… classes.
    spacing : (z, y, x) voxel size, nm
    angles : sequence of float
        Rotation angles in degrees, each applied about each axis in ``axes``. Multiples
        of 360° are the unrotated volume, whose planes are always included once.
    axes : sequence of "x" and "y"
        ``"x"`` rotates in the Z–Y plane (about the X axis), ``"y"`` in the Z–X plane.
    every : int
        Take Z planes 0, ``every``, 2 · ``every``, … of each (rotated) isotropic volume.

    Returns
    -------
    RotatedPlanes
        Parallel lists of image planes (float32) and label planes (the labels' dtype),
        unrotated first, then by axis and angle in the order given, with their sources
        and their pixel size ``pixel_nm`` (the finest of ``spacing``). Planes whose
        labels are all 0 are left out.

    Examples
    --------
    >>> image = np.zeros((4, 8, 8), np.float32); labels = np.ones((4, 8, 8), np.uint8)
    >>> planes = rotated_planes(image, labels, spacing=(10, 5, 5), angles=[90], axes=["x"], every=4)
    >>> planes.pixel_nm, [plane.shape for plane in planes.images]
    (5.0, [(8, 8), (8, 8), (8, 8), (8, 8)])
    >>> planes.sources
    [(None, 0.0, 0), (None, 0.0, 4), ('x', 90.0, 0), ('x', 90.0, 4)]
    """
    spacing = validate_spacing(spacing)
    image, labels = np.asarray(image), np.asarray(labels)
    _check_volumes(image, labels)
    angles, axes, every = _check_options(angles=angles, axes=axes, every=every)
    pixel_nm = min(spacing)
    fill = float(np.median(image))
    iso_image = _isotropic(image.astype(np.float32, copy=False), spacing=spacing, pixel_nm=pixel_nm, order=1)
    iso_labels = _isotropic(labels, spacing=spacing, pixel_nm=pixel_nm, order=0)
    images, label_planes, sources = [], [], []
    rotations = [(None, 0.0)] + [(axis, angle) for axis in axes for angle in angles if angle % 360 != 0]
    for axis, angle in rotations:
        for z, image_plane, label_plane in _annotated_planes(iso_image, iso_labels, axis=axis, angle=angle,
                                                             fill=fill, every=every):
            images.append(image_plane)
            label_planes.append(label_plane)
            sources.append((axis, angle, z))
    return RotatedPlanes(images=images, labels=label_planes, sources=sources, pixel_nm=pixel_nm)


def _check_volumes(image: np.ndarray, labels: np.ndarray) -> None:
    if image.ndim != 3 or image.shape != labels.shape:
        raise VemprofError(f"give an image and labels of one 3D shape (Z, Y, X), got {image.shape} and {labels.shape}")
    real = np.issubdtype(image.dtype, np.number) and not np.issubdtype(image.dtype, np.complexfloating)
    if not (real or image.dtype == bool):
        raise VemprofError(f"the image must be real numbers, got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.floating) and not np.isfinite(image).all():
        raise VemprofError("the image contains NaN or infinite values; replace them first, e.g. np.nan_to_num(image)")
    if not np.issubdtype(labels.dtype, np.integer):
        raise VemprofError(f"the labels must be integers (0 not annotated, 1 background, 2… classes), "
                           f"got dtype {labels.dtype}; cast with .astype(np.uint8)")
    if not np.any(labels):
        raise VemprofError("the labels hold no annotation (all 0); paint background (1) and classes (2…) first")


def _check_options(*, angles: Sequence[float], axes: Sequence[str], every: int
                   ) -> tuple[list[float], list[str], int]:
    try:
        angles = [float(angle) for angle in angles]
    except (TypeError, ValueError):
        raise VemprofError(f"angles must be numbers of degrees, e.g. (30, 60, 90), got {angles!r}") from None
    if not all(math.isfinite(angle) for angle in angles):
        raise VemprofError(f"angles must be finite degrees, e.g. (30, 60, 90), got {angles}")
    if isinstance(axes, str) or not set(axes) <= set(ROTATION_PLANES):
        raise VemprofError(f"axes must be a list of 'x' and 'y' (the rotation axes), got {axes!r}")
    if isinstance(every, bool) or not isinstance(every, (int, np.integer)) or every < 1:
        raise VemprofError(f"every must be a whole number of planes >= 1, got {every!r}")
    return angles, list(axes), int(every)


def _isotropic(volume: np.ndarray, *, spacing: Sequence[float], pixel_nm: float, order: int) -> np.ndarray:
    """``volume`` resampled to voxels of ``pixel_nm`` on every axis, over the same extent.

    Voxel centres are aligned as grids (output voxel ``o`` is at input coordinate
    ``(o + ½) · pixel_nm / spacing − ½``), so the voxel size is exactly ``pixel_nm``.
    """
    steps = np.array(spacing, dtype=float) / pixel_nm
    shape = tuple(max(1, round(n * step)) for n, step in zip(volume.shape, steps))
    return ndimage.affine_transform(volume, 1 / steps, offset=(1 / steps - 1) / 2, output_shape=shape,
                                    order=order, mode="nearest")


def _annotated_planes(image: np.ndarray, labels: np.ndarray, *, axis: str | None, angle: float, fill: float,
                      every: int) -> Iterator[tuple[int, np.ndarray, np.ndarray]]:
    """``(z, image plane, label plane)`` for Z planes 0, every, … of image and labels rotated by
    ``angle`` degrees about ``axis`` (None: as they are), nothing cut, where the labels are not
    all 0; the planes are copies, so the rotated pair is freed when this ends."""
    if axis is not None:
        plane = ROTATION_PLANES[axis]
        image = ndimage.rotate(image, angle, axes=plane, reshape=True, order=1, mode="constant", cval=fill)
        labels = ndimage.rotate(labels, angle, axes=plane, reshape=True, order=0, mode="constant", cval=0)
    for z in range(0, labels.shape[0], every):
        if labels[z].any():
            yield z, image[z].copy(), labels[z].copy()
