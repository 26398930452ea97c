"""Input checks shared by every operation: one-line `VemprofError` messages with the fix."""

from __future__ import annotations

import math
from typing import Any, Sequence

import dask.array as da
import numpy as np

from vemprof.errors import VemprofError
from vemprof.volume import Spacing, validate_spacing

CONNECTIVITIES = (6, 18, 26)
_QUANTITIES = (("_nm3", "volume in nm³"), ("_nm2", "area in nm²"), ("_nm", "length in nm"))


def is_dask(array: Any) -> bool:
    """True for a dask array (the block-wise path), False for an in-memory array."""
    return isinstance(array, da.Array)


def as_spacing(spacing: Sequence[float] | None) -> Spacing:
    """The voxel size as a (z, y, x) tuple of positive nanometres, or a `VemprofError`."""
    if spacing is None:
        raise VemprofError(
            "the voxel size is missing: pass spacing=(z, y, x) in nm, e.g. spacing=(8, 5, 5)"
        )
    return validate_spacing(spacing)


def _check_3d(array: Any, what: str) -> None:
    if not hasattr(array, "ndim") or not hasattr(array, "dtype"):
        raise VemprofError(f"the {what} must be a numpy or dask array, got {type(array).__name__}")
    if array.ndim != 3:
        raise VemprofError(
            f"the {what} must be 3D (Z, Y, X), got {array.ndim}D shape {tuple(array.shape)}; "
            "add a Z axis of length 1 for a single plane"
        )
    if 0 in array.shape:
        raise VemprofError(f"the {what} is empty (shape {tuple(array.shape)}); give a volume with voxels")


def _raise_if_not_finite(block: np.ndarray, what: str) -> np.ndarray:
    if not np.isfinite(block).all():
        raise VemprofError(
            f"the {what} contains NaN or infinite values; replace them first, e.g. np.nan_to_num(image)"
        )
    return block


def check_image(image: Any, *, what: str = "image") -> Any:
    """Check a 3D numeric intensity image; return it (lazily checked for NaN/inf if dask).

    Booleans are accepted as 0/1 intensities. Float images must be finite: a numpy
    image is checked now, a dask image block by block when it is computed.
    """
    _check_3d(image, what)
    if not (np.issubdtype(image.dtype, np.number) or image.dtype == bool):
        raise VemprofError(f"the {what} must be numeric, got dtype {image.dtype}")
    if np.issubdtype(image.dtype, np.complexfloating):
        raise VemprofError(f"the {what} must be real, got dtype {image.dtype}; take np.abs() first")
    if np.issubdtype(image.dtype, np.floating):
        if is_dask(image):
            return image.map_blocks(_raise_if_not_finite, what=what, dtype=image.dtype)
        _raise_if_not_finite(image, what)
    return image


def check_mask(mask: Any, *, what: str = "mask") -> Any:
    """Check a 3D boolean (or integer 0/non-zero) mask and return it as bool."""
    _check_3d(mask, what)
    if mask.dtype == bool:
        return mask
    if np.issubdtype(mask.dtype, np.integer):
        return mask != 0
    raise VemprofError(
        f"the {what} must be boolean or integer, got dtype {mask.dtype}; "
        "threshold a probability map first (e.g. ops.threshold(prob, method='value', value=0.5))"
    )


def check_labels(labels: Any, *, what: str = "labels") -> Any:
    """Check a 3D label image: unsigned integers (or non-negative signed), 0 = background."""
    _check_3d(labels, what)
    if labels.dtype == bool:
        return labels.astype(np.uint32)
    if not np.issubdtype(labels.dtype, np.integer):
        raise VemprofError(
            f"the {what} must be an integer label image, got dtype {labels.dtype}; "
            "label a mask with ops.connected_components or cast with .astype(np.uint32)"
        )
    if np.issubdtype(labels.dtype, np.signedinteger):
        if not is_dask(labels) and labels.size and labels.min() < 0:
            raise VemprofError(f"the {what} contain negative values; labels are >= 0 (0 = background)")
        labels = labels.astype(np.uint64 if labels.dtype.itemsize > 4 else np.uint32)
    return labels


def check_objects(objects: Any, *, what: str = "objects") -> Any:
    """Check a 3D mask (bool) or label image (integers); return it as `check_mask` or `check_labels` does."""
    _check_3d(objects, what)
    if np.issubdtype(objects.dtype, np.integer):
        return check_labels(objects, what=what)
    return check_mask(objects, what=what)  # booleans pass; floats get the "threshold it first" message


def check_same_shape(reference: Any, other: Any, *, what: str, reference_what: str = "image") -> None:
    """Raise unless ``other`` has the same (Z, Y, X) shape as ``reference``."""
    if tuple(other.shape) != tuple(reference.shape):
        raise VemprofError(
            f"the {what} has shape {tuple(other.shape)} but the {reference_what} has shape "
            f"{tuple(reference.shape)}; resample or crop them to the same grid"
        )


def same_kind(reference: Any, other: Any) -> Any:
    """Return ``other`` as a dask array chunked like ``reference`` if that is dask, else as numpy."""
    if is_dask(reference):
        return da.asarray(other).rechunk(reference.chunks)
    if is_dask(other):
        return np.asarray(other.compute())
    return np.asarray(other)


def _quantity(name: str) -> str:
    """What a parameter measures, from its name: ``*_nm3`` a volume in nm³, ``*_nm`` a length…"""
    return next((what for suffix, what in _QUANTITIES if name.endswith(suffix)), "number")


def check_length(value: Any, *, name: str, allow_zero: bool = True) -> float:
    """A finite amount >= 0 (> 0 when ``allow_zero`` is False): a length in nm, a volume in nm³…

    The message names the quantity from the parameter's name (``radius_nm``: a length
    in nm; ``min_volume_nm3``: a volume in nm³; ``h``: a number).
    """
    quantity = _quantity(name)
    try:
        amount = float(value)
    except (TypeError, ValueError):
        raise VemprofError(f"{name} must be a {quantity}, got {value!r}") from None
    if not math.isfinite(amount) or amount < 0 or (amount == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        raise VemprofError(f"{name} must be a finite {quantity} {bound}, got {value!r}")
    return amount


def check_connectivity(connectivity: Any) -> int:
    """6 (faces), 18 (+edges) or 26 (+corners)."""
    if connectivity not in CONNECTIVITIES:
        raise VemprofError(f"connectivity must be one of 6, 18, 26, got {connectivity!r}")
    return int(connectivity)


def check_choice(value: Any, *, name: str, allowed: Sequence[str]) -> str:
    """One of ``allowed``, or an error that lists them."""
    if value not in allowed:
        raise VemprofError(f"{name} must be one of {', '.join(map(repr, allowed))}, got {value!r}")
    return value
