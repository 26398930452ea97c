"""Random augmentation of one 2D training patch for the U-Net: geometry and intensity.

A sparse annotation says little about the many ways a structure can look, so every
patch is shown to the network a little changed each time: mirrored and turned (a cell
has no preferred side), bent by a smooth random displacement (membranes are never quite
the same shape twice), and with its grey levels curved, stretched and noisier (staining,
detector gain and dwell time vary between volumes).

Geometry moves the image and the labels together. Labels are only ever moved, never
interpolated: flips and turns permute pixels, and the elastic warp reads each label at
its nearest source pixel, so no class value (0 = not annotated included) appears that
was not there, and the unpainted parts of a plane stay unpainted. Intensity changes
touch the image only.

Each step is applied with a probability, in this order (defaults in brackets):

=================  ==================================================================
flip Y, flip X     each with p = 0.5
turn by 90° k      k uniform in 0–3 for square patches, 0 or 2 otherwise
elastic warp       p = ``elastic_probability`` (0.3); displacements of RMS length
                   ``elastic_amplitude_nm`` (50 nm), smoothed over
                   ``elastic_smoothing_nm`` (250 nm); image linear, labels nearest,
                   mirrored (``mode='reflect'``) beyond the edges
gamma              p = ``intensity_probability`` (0.5); exponent log-uniform in
                   ``gamma`` (0.7–1.5)
contrast           p = ``intensity_probability``; scale about the patch mean by a
                   factor log-uniform in ``contrast`` (0.75–1.33)
Gaussian noise     p = ``intensity_probability``; standard deviation ``noise_std``
                   (0.05 of the 0–1 range)
=================  ==================================================================

The elastic sizes are in nm so one setting suits every voxel size: at 5 nm pixels the
default moves structures by ~10 pixels over a ~50-pixel scale, at 40 nm by ~1 pixel
over ~6 — a strain of about 0.2 either way, and shifts well below the width of a
mitochondrion (200 nm or more).
The same generator state gives the same result.
"""

from __future__ import annotations

import math
from numbers import Real

import numpy as np
from scipy import ndimage

from vemprof.errors import VemprofError

#: Default elastic warp: RMS displacement and the scale over which it varies, nm.
ELASTIC_AMPLITUDE_NM = 50.0
ELASTIC_SMOOTHING_NM = 250.0


def augment(
    image: np.ndarray,
    labels: np.ndarray,
    *,
    rng: np.random.Generator,
    pixel_nm: float,
    flips: bool = True,
    rotations: bool = True,
    elastic_amplitude_nm: float | None = ELASTIC_AMPLITUDE_NM,
    elastic_smoothing_nm: float = ELASTIC_SMOOTHING_NM,
    elastic_probability: float = 0.3,
    gamma: tuple[float, float] | None = (0.7, 1.5),
    contrast: tuple[float, float] | None = (0.75, 1.33),
    noise_std: float | None = 0.05,
    intensity_probability: float = 0.5,
) -> tuple[np.ndarray, np.ndarray]:
    """A randomly flipped, turned, warped and re-toned copy of one 2D patch and its labels.

    Parameters
    ----------
    image : (Y, X) float array
        Intensities normalised to about 0–1.
    labels : (Y, X) integer array
        Sparse annotation of the same patch: 0 = not annotated, 1 = background, 2… classes.
    rng : numpy.random.Generator
        The source of every random choice (same state, same result).
    pixel_nm : float
        Pixel size in nm (square pixels); converts the elastic sizes to pixels.
    flips, rotations : bool
        Mirror along Y and X at random; turn by a random multiple of 90° (of 180° when
        the patch is not square, so its shape is kept).
    elastic_amplitude_nm : float or None
        Root-mean-square length of the elastic displacement, in nm; None for no warp.
    elastic_smoothing_nm : float
        Standard deviation of the Gaussian that smooths the random displacements, in nm:
        the distance over which the warp changes direction.
    elastic_probability : float
        Chance of the elastic warp.
    gamma : (low, high) or None
        Range of the exponent applied to the image's 0–1 part (values beyond 0 or 1 keep
        their distance from it); None for no gamma.
    contrast : (low, high) or None
        Range of the factor that scales the image about its mean; None for none.
    noise_std : float or None
        Standard deviation of the added Gaussian noise, as a fraction of the 0–1
        range; None for none.
    intensity_probability : float
        Chance of each of gamma, contrast and noise, drawn independently.

    Returns
    -------
    image : (Y, X) float32 array
    labels : (Y, X) array of ``labels``' dtype
        New, C-contiguous arrays, ready for ``torch.from_numpy``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> image, labels = augment(np.zeros((64, 64), np.float32), np.ones((64, 64), np.uint8),
    ...                         rng=rng, pixel_nm=10.0)
    >>> image.shape, image.dtype.name, np.unique(labels).tolist()
    ((64, 64), 'float32', [1])
    """
    _check_patch(image, labels)
    _check_options(rng=rng, pixel_nm=pixel_nm, elastic_amplitude_nm=elastic_amplitude_nm,
                   elastic_smoothing_nm=elastic_smoothing_nm, elastic_probability=elastic_probability,
                   gamma=gamma, contrast=contrast, noise_std=noise_std, intensity_probability=intensity_probability)
    image, labels = np.array(image, dtype=np.float32), np.array(labels)  # never the caller's arrays

    if flips:
        for axis in (0, 1):
            if rng.random() < 0.5:
                image, labels = np.flip(image, axis), np.flip(labels, axis)
    if rotations:
        square = image.shape[0] == image.shape[1]
        turns = int(rng.integers(4)) if square else 2 * int(rng.integers(2))
        image, labels = np.rot90(image, turns), np.rot90(labels, turns)
    image, labels = np.ascontiguousarray(image), np.ascontiguousarray(labels)
    if elastic_amplitude_nm is not None and rng.random() < elastic_probability:
        displacement = _elastic_displacement(
            image.shape, rng=rng, amplitude_px=elastic_amplitude_nm / pixel_nm,
            smoothing_px=elastic_smoothing_nm / pixel_nm,
        )
        image, labels = _warp(image, labels, displacement=displacement)

    if gamma is not None and rng.random() < intensity_probability:
        image = _apply_gamma(image, _log_uniform(rng, gamma))
    if contrast is not None and rng.random() < intensity_probability:
        mean = image.mean(dtype=np.float64)
        image = ((image - mean) * _log_uniform(rng, contrast) + mean).astype(np.float32)
    if noise_std is not None and rng.random() < intensity_probability:
        image = image + np.float32(noise_std) * rng.standard_normal(image.shape, dtype=np.float32)
    return image, labels


def _elastic_displacement(
    shape: tuple[int, int], *, rng: np.random.Generator, amplitude_px: float, smoothing_px: float
) -> np.ndarray:
    """A smooth random displacement field: white noise, Gaussian-smoothed, then scaled.

    Parameters
    ----------
    shape : (Y, X)
    rng : numpy.random.Generator
    amplitude_px : float
        Root-mean-square length of the displacement vectors over the patch, in pixels.
    smoothing_px : float
        Standard deviation of the smoothing Gaussian, in pixels.

    Returns
    -------
    (2, Y, X) float32 array: the displacement along Y and along X, in pixels.
    """
    field = rng.standard_normal((2, *shape), dtype=np.float32)
    field = ndimage.gaussian_filter(field, sigma=(0.0, smoothing_px, smoothing_px), mode="reflect")
    rms = float(np.sqrt(np.mean(np.sum(field * field, axis=0, dtype=np.float64))))
    return field * np.float32(amplitude_px / rms) if rms > 0 else field


def _warp(image: np.ndarray, labels: np.ndarray, *, displacement: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Read ``image`` (linearly) and ``labels`` (nearest pixel) at each pixel plus its displacement.

    Parameters
    ----------
    image : (Y, X) float32 array
    labels : (Y, X) integer array
    displacement : (2, Y, X) array
        Offsets along Y and X, in pixels; beyond the patch edge the patch is mirrored.

    Returns
    -------
    The warped image (float32) and labels (their own dtype).
    """
    coordinates = np.indices(image.shape, dtype=np.float32) + displacement
    warped_image = ndimage.map_coordinates(image, coordinates, order=1, mode="reflect")
    warped_labels = ndimage.map_coordinates(labels, coordinates, order=0, mode="reflect")
    return warped_image, warped_labels


def _apply_gamma(image: np.ndarray, exponent: float) -> np.ndarray:
    """``clip(image, 0, 1) ** exponent`` plus whatever lay beyond 0 or 1 (continuous, monotonic)."""
    inside = np.clip(image, 0.0, 1.0)
    return (inside ** np.float32(exponent) + (image - inside)).astype(np.float32)


def _log_uniform(rng: np.random.Generator, bounds: tuple[float, float]) -> float:
    """A factor drawn so that f and 1/f are equally likely when the bounds are reciprocal."""
    return float(np.exp(rng.uniform(np.log(bounds[0]), np.log(bounds[1]))))


def _check_patch(image: np.ndarray, labels: np.ndarray) -> None:
    for what, array in (("image", image), ("labels", labels)):
        if not isinstance(array, np.ndarray) or array.ndim != 2:
            raise VemprofError(
                f"the {what} must be one 2D (Y, X) numpy patch, got "
                f"{getattr(array, 'ndim', '?')}D {type(array).__name__}; take a plane first, e.g. volume[z]"
            )
    if not np.issubdtype(image.dtype, np.floating):
        raise VemprofError(f"the image must be float, normalised to about 0–1; got dtype {image.dtype}")
    if not np.issubdtype(labels.dtype, np.integer):
        raise VemprofError(f"the labels must be integers (0 = not annotated); got dtype {labels.dtype}")
    if image.shape != labels.shape:
        raise VemprofError(f"the image {image.shape} and labels {labels.shape} must have the same shape; crop them alike")


def _check_options(*, rng, pixel_nm, elastic_amplitude_nm, elastic_smoothing_nm, elastic_probability,
                   gamma, contrast, noise_std, intensity_probability) -> None:
    """Refuse a bad option at once, whether or not this call would have drawn its step."""
    if not isinstance(rng, np.random.Generator):
        raise VemprofError(
            f"rng must be a numpy.random.Generator, e.g. np.random.default_rng(seed); got {type(rng).__name__}"
        )
    sizes = [("pixel_nm", pixel_nm, False), ("elastic_smoothing_nm", elastic_smoothing_nm, False)]
    sizes += [(name, value, True) for name, value in (("elastic_amplitude_nm", elastic_amplitude_nm),
                                                      ("noise_std", noise_std)) if value is not None]
    for name, value, zero_allowed in sizes:
        if not (isinstance(value, Real) and math.isfinite(value) and (value >= 0 if zero_allowed else value > 0)):
            raise VemprofError(f"{name} must be a finite number {'>= 0' if zero_allowed else '> 0'}, got {value!r}")
    for name, value in (("elastic_probability", elastic_probability), ("intensity_probability", intensity_probability)):
        if not (isinstance(value, Real) and 0.0 <= value <= 1.0):
            raise VemprofError(f"{name} must be a probability between 0 and 1, got {value!r}")
    for name, bounds in (("gamma", gamma), ("contrast", contrast)):
        if bounds is not None and not (
            len(bounds) == 2 and all(isinstance(b, Real) for b in bounds)
            and 0 < bounds[0] <= bounds[1] < math.inf
        ):
            raise VemprofError(f"{name} must be a (low, high) range with 0 < low <= high, or None; got {bounds!r}")
