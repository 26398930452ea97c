"""`Cytoplasm`: where organelles may go, and how far each place is from the membranes.

Distances come from exact Euclidean distance transforms (``edt``, anisotropic) of the
cell and nucleus masks over the cell's box: to the plasma membrane from inside the cell,
and to the nucleus from outside it. Both are measured to the nearest voxel centre of the
other compartment.
"""

from __future__ import annotations

import edt
import numpy as np

from vemprof.synth._grid import Box, Grid

#: Finite-difference step for the clearance gradient, voxels.
_GRADIENT_STEP_VOXELS = 2


class Cytoplasm:
    """The cytoplasm (cell minus nucleus) over ``box``, with its distance maps.

    Parameters
    ----------
    cell, nucleus : ndarray of bool, shape of ``box``
        Masks of the cell (inside the plasma membrane) and of the nucleus.
    box : tuple of slices
        Where the masks lie in ``grid``.
    grid : Grid
    threads : int
        Threads for the distance transforms.
    """

    def __init__(self, cell: np.ndarray, nucleus: np.ndarray, box: Box, grid: Grid, *, threads: int) -> None:
        self.box = box
        self.grid = grid
        self.start_nm = np.array([b.start for b in box]) * np.asarray(grid.spacing)
        self.to_plasma_membrane = edt.edt(cell, anisotropy=grid.spacing, black_border=True, parallel=threads)
        self.to_nucleus = edt.edt(~nucleus, anisotropy=grid.spacing, parallel=threads)
        self.to_nucleus[~cell] = 0
        self.voxel_count = int(np.count_nonzero(cell & ~nucleus))

    @property
    def volume_um3(self) -> float:
        return self.voxel_count * self.grid.voxel_volume_um3

    def _index(self, points_nm: np.ndarray) -> tuple[tuple[np.ndarray, ...], np.ndarray]:
        index = np.rint((np.atleast_2d(points_nm) - self.start_nm) / np.asarray(self.grid.spacing)).astype(np.intp)
        shape = np.asarray(self.to_nucleus.shape)
        inside = ((index >= 0) & (index < shape)).all(axis=1)
        index = np.clip(index, 0, shape - 1)
        return (index[:, 0], index[:, 1], index[:, 2]), inside

    def distances_at(self, points_nm: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Distances (nm) from points (n, 3) to the plasma membrane and to the nucleus,
        each 0 where the point is outside the cell or inside the nucleus respectively."""
        index, inside = self._index(points_nm)
        return self.to_plasma_membrane[index] * inside, self.to_nucleus[index] * inside

    def clearance_at(self, points_nm: np.ndarray) -> np.ndarray:
        """Distance (nm) to the nearer membrane, 0 outside the cytoplasm."""
        to_plasma_membrane, to_nucleus = self.distances_at(points_nm)
        return np.minimum(to_plasma_membrane, to_nucleus)

    def clearance_gradient_at(self, point_nm: np.ndarray) -> np.ndarray:
        """Gradient of the clearance at one point, per nm; shape (3,)."""
        steps = np.diag(np.asarray(self.grid.spacing) * _GRADIENT_STEP_VOXELS)
        ahead = self.clearance_at(point_nm + steps)
        behind = self.clearance_at(point_nm - steps)
        return (ahead - behind) / (2 * np.diag(steps))

    def random_points(self, count: int, min_clearance_nm: float, rng: np.random.Generator) -> np.ndarray:
        """Up to ``count`` points (n, 3) nm uniform in the cytoplasm at least
        ``min_clearance_nm`` from both membranes (fewer if such places are very rare)."""
        extent = np.asarray(self.to_nucleus.shape) * np.asarray(self.grid.spacing)
        found: list[np.ndarray] = []
        total = 0
        for _ in range(50):
            points = self.start_nm + rng.random((max(4 * count, 64), 3)) * extent
            points = points[self.clearance_at(points) >= min_clearance_nm]
            found.append(points)
            total += len(points)
            if total >= count:
                break
        return np.concatenate(found)[:count]
