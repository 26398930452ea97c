"""Input checks shared by the metrics: one-line `VemprofError` messages with the fix."""

from __future__ import annotations

import math
from typing import Any

import dask.array as da
import numpy as np

from vemprof.errors import VemprofError


def check_label_pair(truth: Any, prediction: Any, *, names: tuple[str, str] = ("truth", "prediction")) -> tuple:
    """Both inputs as numpy or dask arrays of one shape, each a mask or integer label image."""
    checked = tuple(_check_objects(array, name) for array, name in zip((truth, prediction), names))
    if checked[0].shape != checked[1].shape:
        raise VemprofError(
            f"the {names[0]} has shape {checked[0].shape} but the {names[1]} has shape {checked[1].shape}; "
            "compare images of the same grid (resample or crop one of them)"
        )
    return checked


def _check_objects(array: Any, name: str) -> Any:
    if not isinstance(array, da.Array):
        array = np.asarray(array)
    if array.ndim == 0:
        raise VemprofError(f"the {name} is a single value, not an image; give a mask or label image")
    if array.size == 0:
        raise VemprofError(f"the {name} is empty (shape {array.shape}); give an image with voxels")
    if not (array.dtype == bool or np.issubdtype(array.dtype, np.integer)):
        raise VemprofError(
            f"the {name} has dtype {array.dtype}; give a mask or an integer label image "
            "(threshold a probability map first, e.g. probabilities >= 0.5)"
        )
    return array


def check_points(points: Any, name: str) -> np.ndarray:
    """``points`` as a float (n, 3) array of finite nm coordinates (n may be 0)."""
    try:
        values = np.asarray(points, dtype=float)
    except (TypeError, ValueError):
        raise VemprofError(f"the {name} must be an (n, 3) array of Z, Y, X in nm; got {type(points).__name__} "
                           "that is not numbers") from None
    if values.size == 0:
        values = values.reshape(0, 3)
    if values.ndim != 2 or values.shape[1] != 3:
        raise VemprofError(f"the {name} must be an (n, 3) array of Z, Y, X in nm, got shape {values.shape}")
    if not np.isfinite(values).all():
        raise VemprofError(f"the {name} contain NaN or infinite coordinates; drop those points first")
    return values


def check_length(value: Any, name: str) -> float:
    """A positive, finite length in nm."""
    try:
        length = float(value)
    except (TypeError, ValueError):
        length = math.nan
    if not (math.isfinite(length) and length > 0):
        raise VemprofError(f"{name} must be a positive length in nm (e.g. {name}=60), got {value!r}")
    return length
