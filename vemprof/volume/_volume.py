"""`Volume`: a lazy ZYX array with its voxel size in nanometres and a name."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import dask.array as da
import numpy as np

from vemprof.errors import VemprofError

Spacing = tuple[float, float, float]


def validate_spacing(spacing: Sequence[float] | None, *, what: str = "voxel size") -> Spacing:
    """Return ``spacing`` as a (z, y, x) tuple of positive finite nanometres.

    Raises `VemprofError` for a missing, zero, negative, non-finite or wrongly sized
    voxel size, with the fix in the message.
    """
    if spacing is None:
        raise VemprofError(
            f"the {what} is unknown: the file does not record it; give it as --voxel-size Z,Y,X in nm"
        )
    values = tuple(float(s) for s in spacing)
    if len(values) != 3:
        raise VemprofError(f"the {what} needs 3 values (Z,Y,X in nm), got {len(values)}: {values}")
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise VemprofError(
            f"the {what} must be positive nanometres on every axis, got {values}; give it as --voxel-size Z,Y,X"
        )
    return values  # type: ignore[return-value]


@dataclass(frozen=True)
class Volume:
    """A 3D image or label volume.

    Attributes
    ----------
    data : dask.array.Array
        Lazy array of shape (Z, Y, X).
    spacing : tuple of 3 floats or None
        Voxel size in nanometres along (Z, Y, X); None where the source does not say.
    name : str
        Short name (file stem, dataset key or label name).
    is_labels : bool
        True where the source declares integer object ids (an NGFF label image).
    source : str
        Where the volume was read from, for messages and provenance.
    """

    data: da.Array
    spacing: Spacing | None
    name: str
    is_labels: bool = False
    source: str = ""

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise VemprofError(
                f"{self.source or self.name}: expected a 3D (Z,Y,X) volume, got {self.data.ndim}D "
                f"shape {self.data.shape}; give a single-channel 3D stack"
            )
        if self.spacing is not None:
            object.__setattr__(self, "spacing", validate_spacing(self.spacing))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(int(n) for n in self.data.shape)  # type: ignore[return-value]

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def chunks(self) -> tuple[int, int, int]:
        """The first chunk's shape, in voxels."""
        return tuple(int(c[0]) for c in self.data.chunks)  # type: ignore[return-value]

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    @property
    def extent_um(self) -> tuple[float, float, float]:
        """Physical size along (Z, Y, X) in micrometres."""
        spacing = self.require_spacing()
        return tuple(n * s / 1000.0 for n, s in zip(self.shape, spacing))  # type: ignore[return-value]

    def require_spacing(self) -> Spacing:
        """The voxel size, or a `VemprofError` saying how to give one."""
        return validate_spacing(self.spacing, what=f"voxel size of {self.source or self.name}")

    def with_spacing(self, spacing: Sequence[float]) -> "Volume":
        """A copy with the voxel size replaced (nm, Z,Y,X)."""
        return replace(self, spacing=validate_spacing(spacing))

    def __repr__(self) -> str:
        spacing = "unknown" if self.spacing is None else "×".join(f"{s:g}" for s in self.spacing) + " nm"
        kind = "labels" if self.is_labels else "image"
        return f"Volume({self.name!r}, {kind}, shape={self.shape}, dtype={self.dtype}, spacing={spacing})"
