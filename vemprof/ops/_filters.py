"""Intensity filters in nanometres: smoothing, particle enhancement, background, contrast.

Each function takes a 3D (Z, Y, X) image and returns a filtered image of the same
shape; a dask image gives a lazy dask result equal, voxel for voxel, to the numpy
result (see `_blockwise`). Boundaries use scipy's ``'reflect'`` mode throughout.
"""

from __future__ import annotations

import math
from functools import partial
from typing import Any, Sequence

import numpy as np

from vemprof.ops._backend import ndimage_call
from vemprof.ops._blockwise import map_with_halo
from vemprof.ops._morphology import ball
from vemprof.ops._validate import (
    as_spacing,
    check_choice,
    check_image,
    check_length,
    check_mask,
    check_same_shape,
    is_dask,
    same_kind,
)

GAUSSIAN_TRUNCATE = 4.0
#: For particle enhancement: the Gaussian scale that best matches a ball of radius r
#: is r / sqrt(3) in 3D; DoG uses two Gaussians a factor DOG_RATIO apart around it.
DOG_RATIO = 1.6
#: Local contrast windows weight voxels by a Gaussian of sigma window/4, cut at ±2 sigma.
WINDOW_SIGMAS = 4.0


def _sigma_voxels(sigma_nm: float, spacing: Sequence[float]) -> tuple[float, ...]:
    return tuple(sigma_nm / s for s in spacing)


def _gaussian_block(image: np.ndarray, *, sigma_voxels: tuple[float, ...], truncate: float) -> np.ndarray:
    return ndimage_call(
        "gaussian_filter", image, sigma_voxels, output=np.float32, mode="reflect", truncate=truncate
    )


def gaussian(image: Any, *, sigma_nm: float, spacing: Sequence[float]) -> Any:
    """Gaussian smoothing with a physical standard deviation.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
        Intensities; any real dtype.
    sigma_nm : float
        Standard deviation in nm (the same physical width on every axis; in voxels it
        is ``sigma_nm / spacing``). 0 returns the image as float32.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) float32 array, numpy or lazy dask like ``image``.

    Examples
    --------
    >>> import numpy as np
    >>> smooth = gaussian(np.zeros((4, 8, 8)), sigma_nm=10, spacing=(8, 5, 5))
    >>> smooth.dtype, smooth.shape
    (dtype('float32'), (4, 8, 8))
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    sigma_nm = check_length(sigma_nm, name="sigma_nm")
    block = partial(_gaussian_block, sigma_voxels=_sigma_voxels(sigma_nm, spacing), truncate=GAUSSIAN_TRUNCATE)
    if is_dask(image):
        return map_with_halo(block, image, reach_nm=GAUSSIAN_TRUNCATE * sigma_nm, spacing=spacing, dtype=np.float32)
    return block(image)


def _median_block(image: np.ndarray, *, footprint: np.ndarray) -> np.ndarray:
    return ndimage_call("median_filter", image, footprint=footprint, mode="reflect")


def median(image: Any, *, radius_nm: float, spacing: Sequence[float]) -> Any:
    """Median over a physical ball: removes speckle while keeping edges.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    radius_nm : float
        Radius of the ball in nm (see `ball` for which voxels it holds); a radius
        below the voxel size on every axis leaves the image unchanged.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) array of the image's dtype, numpy or lazy dask like ``image``.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    radius_nm = check_length(radius_nm, name="radius_nm")
    block = partial(_median_block, footprint=ball(radius_nm, spacing=spacing))
    if is_dask(image):
        return map_with_halo(block, image, reach_nm=radius_nm, spacing=spacing, dtype=image.dtype)
    return block(image)


def _physical_laplacian(image: np.ndarray, sigma_voxels: tuple[float, ...], spacing: Sequence[float]) -> np.ndarray:
    """Sum over axes of the Gaussian second derivative, in 1/nm² (honours anisotropy)."""
    result = np.zeros(image.shape, dtype=np.float32)
    for axis, step in enumerate(spacing):
        order = [0, 0, 0]
        order[axis] = 2
        second = ndimage_call(
            "gaussian_filter", image, sigma_voxels, order=order, output=np.float32,
            mode="reflect", truncate=GAUSSIAN_TRUNCATE,
        )
        result += second / np.float32(step * step)
    return result


def _enhance_block(
    image: np.ndarray, *, method: str, sigma_nm: float, spacing: tuple[float, float, float]
) -> np.ndarray:
    if method == "log":
        laplacian = _physical_laplacian(image, _sigma_voxels(sigma_nm, spacing), spacing)
        return laplacian * np.float32(-sigma_nm * sigma_nm)
    narrow = _gaussian_block(
        image, sigma_voxels=_sigma_voxels(sigma_nm / math.sqrt(DOG_RATIO), spacing), truncate=GAUSSIAN_TRUNCATE
    )
    wide = _gaussian_block(
        image, sigma_voxels=_sigma_voxels(sigma_nm * math.sqrt(DOG_RATIO), spacing), truncate=GAUSSIAN_TRUNCATE
    )
    return narrow - wide


def enhance_particles(
    image: Any, *, particle_radius_nm: float, spacing: Sequence[float], method: str = "dog"
) -> Any:
    """Make bright round particles of a given radius stand out (blob filter).

    The filter scale is ``sigma = particle_radius_nm / sqrt(3)``, the scale at which a
    3D Laplacian of Gaussian responds most to a ball of that radius.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
        Bright particles on a darker background (invert the image for dark ones).
    particle_radius_nm : float
        Expected particle radius in nm (> 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    method : {'dog', 'log'}
        'dog': difference of Gaussians at ``sigma / sqrt(1.6)`` and ``sigma * sqrt(1.6)``
        (faster); 'log': scale-normalised negative Laplacian of Gaussian,
        ``-sigma² ∇²G_sigma``, with the Laplacian taken in physical units.

    Returns
    -------
    (Z, Y, X) float32 array; particles are positive peaks.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    radius_nm = check_length(particle_radius_nm, name="particle_radius_nm", allow_zero=False)
    method = check_choice(method, name="method", allowed=("dog", "log"))
    sigma_nm = radius_nm / math.sqrt(3.0)
    widest_nm = sigma_nm * math.sqrt(DOG_RATIO) if method == "dog" else sigma_nm
    block = partial(_enhance_block, method=method, sigma_nm=sigma_nm, spacing=spacing)
    if is_dask(image):
        return map_with_halo(block, image, reach_nm=GAUSSIAN_TRUNCATE * widest_nm, spacing=spacing, dtype=np.float32)
    return block(image)


def _tophat_block(image: np.ndarray, *, footprint: np.ndarray) -> np.ndarray:
    opened = ndimage_call("grey_opening", image, footprint=footprint, mode="reflect")
    return image - opened


def white_tophat(image: Any, *, radius_nm: float, spacing: Sequence[float]) -> Any:
    """Preserve bright particles: the image minus its grey opening by a physical ball.

    Bright structures that fit inside the ball are kept; larger bright regions and the
    background are removed.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    radius_nm : float
        Ball radius in nm: a little larger than the particles to keep.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) array of the image's dtype (booleans become uint8), >= 0.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    if image.dtype == bool:
        image = image.astype(np.uint8)
    radius_nm = check_length(radius_nm, name="radius_nm")
    block = partial(_tophat_block, footprint=ball(radius_nm, spacing=spacing))
    if is_dask(image):
        # opening = erosion then dilation: an output voxel sees twice the radius
        return map_with_halo(block, image, reach_nm=2 * radius_nm, spacing=spacing, dtype=image.dtype)
    return block(image)


def _background_block(image: np.ndarray, *, sigma_voxels: tuple[float, ...]) -> np.ndarray:
    background = _gaussian_block(image, sigma_voxels=sigma_voxels, truncate=GAUSSIAN_TRUNCATE)
    return image.astype(np.float32) - background


def subtract_background(image: Any, *, radius_nm: float, spacing: Sequence[float]) -> Any:
    """Remove slow intensity changes (charging, milling gradients) larger than a radius.

    The background is the image smoothed by a Gaussian of sigma ``radius_nm``; the
    result is the image minus that background.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    radius_nm : float
        Scale of the background in nm (> 0): well above the size of the structures
        of interest.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) float32 array centred near 0.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    radius_nm = check_length(radius_nm, name="radius_nm", allow_zero=False)
    block = partial(_background_block, sigma_voxels=_sigma_voxels(radius_nm, spacing))
    if is_dask(image):
        return map_with_halo(block, image, reach_nm=GAUSSIAN_TRUNCATE * radius_nm, spacing=spacing, dtype=np.float32)
    return block(image)


def local_mean(image: np.ndarray, sigma_voxels: tuple[float, ...]) -> np.ndarray:
    """Gaussian-weighted local mean over a window of ±2 sigma, float64 (block function)."""
    return ndimage_call(
        "gaussian_filter", image, sigma_voxels, output=np.float64, mode="reflect", truncate=WINDOW_SIGMAS / 2
    )


def _contrast_block(image: np.ndarray, *, sigma_voxels: tuple[float, ...]) -> np.ndarray:
    values = image.astype(np.float64)
    mean = local_mean(values, sigma_voxels)
    variance = np.maximum(local_mean(values * values, sigma_voxels) - mean * mean, 0.0)
    # E[x²] - E[x]² cancels to ~1e-16·mean² where the window is flat: call that 0
    flat = variance <= 1e-12 * mean * mean
    normalised = np.divide(values - mean, np.sqrt(variance), out=np.zeros_like(values), where=~flat)
    return normalised.astype(np.float32)


def normalize_local_contrast(image: Any, *, window_nm: float, spacing: Sequence[float]) -> Any:
    """Local mean/standard-deviation normalisation: ``(image - mean) / std`` in a window.

    Evens out contrast that varies across a stack. The window weights voxels by a
    Gaussian of sigma ``window_nm / 4``, cut at ``window_nm / 2`` from the centre.
    Where the window is flat (std 0) the result is 0.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    window_nm : float
        Window diameter in nm (> 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) float32 array of local z-scores.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    window_nm = check_length(window_nm, name="window_nm", allow_zero=False)
    block = partial(_contrast_block, sigma_voxels=_sigma_voxels(window_nm / WINDOW_SIGMAS, spacing))
    if is_dask(image):
        return map_with_halo(block, image, reach_nm=window_nm / 2, spacing=spacing, dtype=np.float32)
    return block(image)


def _masked_contrast_block(image: np.ndarray, mask: np.ndarray, *, sigma_voxels: tuple[float, ...]) -> np.ndarray:
    inside = mask.astype(bool)
    weight = local_mean(inside.astype(np.float64), sigma_voxels)
    values = np.where(inside, image.astype(np.float64), 0.0)
    seen = inside & (weight > 0)
    safe = np.where(seen, weight, 1.0)
    mean = local_mean(values, sigma_voxels) / safe
    variance = np.maximum(local_mean(values * values, sigma_voxels) / safe - mean * mean, 0.0)
    flat = variance <= 1e-12 * mean * mean
    normalised = np.divide(values - mean, np.sqrt(variance), out=np.zeros_like(values), where=seen & ~flat)
    return normalised.astype(np.float32)


def normalize_in_mask(image: Any, mask: Any, *, window_nm: float, spacing: Sequence[float]) -> Any:
    """Local z-scores against the mask's own neighbourhood: ``(image - mean) / std`` with
    the mean and standard deviation taken over the mask's voxels only, in a window.

    A pocket in the band under the nuclear envelope is bright against the rest of that
    band, not against the cytoplasm or deep nucleoplasm a plain window would mix in. The
    window weights voxels by a Gaussian of sigma ``window_nm / 4``, cut at ``window_nm /
    2``, as `normalize_local_contrast`. Outside the mask, and where the window is flat,
    the result is 0.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    mask : (Z, Y, X) bool array of the same shape (e.g. a `shell`)
    window_nm : float
        Window diameter in nm (> 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).

    Returns
    -------
    (Z, Y, X) float32 array of z-scores within the mask.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    mask = same_kind(image, check_mask(mask))
    check_same_shape(image, mask, what="mask", reference_what="image")
    window_nm = check_length(window_nm, name="window_nm", allow_zero=False)
    block = partial(_masked_contrast_block, sigma_voxels=_sigma_voxels(window_nm / WINDOW_SIGMAS, spacing))
    if is_dask(image):
        return map_with_halo(block, image, mask, reach_nm=window_nm / 2, spacing=spacing, dtype=np.float32)
    return block(image, mask)