"""`Grid`: the voxel lattice of the phantom in physical units (voxel k sits at k·spacing nm)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

Box = tuple[slice, slice, slice]


@dataclass(frozen=True)
class Grid:
    """Shape (Z, Y, X) in voxels and voxel size (Z, Y, X) in nm."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]

    @property
    def extent_nm(self) -> np.ndarray:
        """Size of the field of view along (Z, Y, X), nm."""
        return np.asarray(self.shape, dtype=float) * np.asarray(self.spacing)

    @property
    def voxel_volume_um3(self) -> float:
        return float(np.prod(self.spacing)) * 1e-9

    @property
    def full(self) -> Box:
        return tuple(slice(0, n) for n in self.shape)  # type: ignore[return-value]

    def coordinates(self, box: Box) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Voxel-centre coordinates in nm over ``box``, float32, shaped to broadcast:
        (nz, 1, 1), (1, ny, 1), (1, 1, nx)."""
        out = []
        for axis, (index, step) in enumerate(zip(box, self.spacing)):
            shape = [1, 1, 1]
            shape[axis] = -1
            out.append((np.arange(index.start, index.stop, dtype=np.float32) * np.float32(step)).reshape(shape))
        return tuple(out)  # type: ignore[return-value]

    def box_around(self, low_nm, high_nm) -> Box:
        """Index slices of the voxels whose centres lie in [low_nm, high_nm] (Z, Y, X),
        clipped to the grid (possibly empty)."""
        spacing = np.asarray(self.spacing)
        start = np.clip(np.ceil(np.asarray(low_nm) / spacing), 0, self.shape).astype(int)
        stop = np.clip(np.floor(np.asarray(high_nm) / spacing) + 1, 0, self.shape).astype(int)
        return tuple(slice(int(a), int(max(a, b))) for a, b in zip(start, stop))  # type: ignore[return-value]

    def index_of(self, points_nm: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Nearest voxel of each point (n, 3) in nm, clipped to the grid."""
        index = np.rint(np.asarray(points_nm) / np.asarray(self.spacing)).astype(np.intp)
        index = np.clip(index, 0, np.asarray(self.shape) - 1)
        return index[:, 0], index[:, 1], index[:, 2]
