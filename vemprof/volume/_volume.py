"""`Volume`: a lazy ZYX array with its voxel size in nanometres and a name."""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from typing import Sequence

import dask.array as da
import numpy as np

from vemprof.errors import VemprofError

Spacing = tuple[float, float, float]
PartialSpacing = tuple[float | None, float | None, float | None]


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


def known_spacing(sizes: Sequence[float | None]) -> tuple[Spacing | None, PartialSpacing | None]:
    """``(spacing, partial_spacing)`` for a `Volume` from per-axis sizes (Z, Y, X in nm, None where unknown).

    All three known → ``(sizes, None)``; some → ``(None, sizes)``; none → ``(None, None)``.
    """
    values = tuple(sizes)
    if None not in values:
        return values, None  # type: ignore[return-value]
    return None, (values if any(v is not None for v in values) else None)  # type: ignore[return-value]


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
    partial_spacing : tuple of 3 (float or None), or None
        Where ``spacing`` is None but the source records the size along some axes (a
        plain TIFF's resolution tags give Y and X, never Z): those sizes in nm along
        (Z, Y, X), None for the unknown axes. `require_spacing` names them, so the user
        supplies only what is missing. None otherwise.
    """

    data: da.Array
    spacing: Spacing | None
    name: str
    is_labels: bool = False
    source: str = ""
    partial_spacing: PartialSpacing | None = None

    def __post_init__(self) -> None:
        if self.data.ndim != 3:
            raise VemprofError(
                f"{self.source or self.name}: expected a 3D (Z,Y,X) volume, got {self.data.ndim}D "
                f"shape {self.data.shape}; give a single-channel 3D stack"
            )
        if self.spacing is not None:
            object.__setattr__(self, "spacing", validate_spacing(self.spacing))
            object.__setattr__(self, "partial_spacing", None)
        elif self.partial_spacing is not None:
            object.__setattr__(self, "partial_spacing", _validate_partial(self.partial_spacing))

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
        """The voxel size, or a `VemprofError` saying how to give one (and what the file already says)."""
        what = f"voxel size of {self.source or self.name}"
        if self.spacing is None and self.partial_spacing is not None:
            raise VemprofError(_partly_known(what, self.partial_spacing))
        return validate_spacing(self.spacing, what=what)

    def with_spacing(self, spacing: Sequence[float]) -> "Volume":
        """A copy with the voxel size replaced (nm, Z,Y,X)."""
        return replace(self, spacing=validate_spacing(spacing), partial_spacing=None)

    def __repr__(self) -> str:
        sizes = self.spacing or self.partial_spacing
        spacing = "unknown" if sizes is None else "×".join("?" if s is None else f"{s:g}" for s in sizes) + " nm"
        kind = "labels" if self.is_labels else "image"
        return f"Volume({self.name!r}, {kind}, shape={self.shape}, dtype={self.dtype}, spacing={spacing})"


def _validate_partial(sizes: Sequence[float | None]) -> PartialSpacing:
    values = tuple(None if s is None else float(s) for s in sizes)
    if len(values) != 3 or not all(v is None or (math.isfinite(v) and v > 0) for v in values):
        raise ValueError(f"partial_spacing must be 3 positive sizes in nm or None (Z, Y, X), got {sizes}")
    return values  # type: ignore[return-value]


def _partly_known(what: str, sizes: PartialSpacing) -> str:
    """'the voxel size of x is only partly known: the file records 5 × 5 nm in Y, X but no Z spacing; …'"""
    known = [(axis, s) for axis, s in zip("ZYX", sizes) if s is not None]
    missing = [axis for axis, s in zip("ZYX", sizes) if s is None]
    suggestion = ",".join(axis if s is None else f"{s:g}" for axis, s in zip("ZYX", sizes))
    return (f"the {what} is only partly known: the file records {' × '.join(f'{s:g}' for _, s in known)} nm in "
            f"{', '.join(axis for axis, _ in known)} but no {', '.join(missing)} spacing; "
            f"give it as --voxel-size {suggestion} in nm")
