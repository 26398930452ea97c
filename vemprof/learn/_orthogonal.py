"""A 2D network's view of a volume along Z, Y or X planes, and the way back.

``predict --axes zyx`` predicts the volume three times — along Z planes (Y × X), along Y
planes (Z × X) and along X planes (Z × Y) — and averages the three probability maps
(orthogonal-plane consensus): an object the network misreads in one orientation is
usually read right in the other two, and the surfaces become smooth in Z as well.

A `PlaneView` turns the volume so that the planes to predict are its first axis and
their rows and columns the other two, lazily (read by slices, like an array, as
`_tiles.predict_region` reads). The network learnt its classes at the in-plane pixel
size; where Z planes lie further apart than that (anisotropic FIB-SEM, e.g. 25 nm
against 20 nm), the Z axis of the Y and X planes is resampled to the in-plane pixel
(linear; output pixel ``o`` at input coordinate ``(o + ½) · pixel / spacing − ½``, as
`rotated_planes` resamples), and the probabilities are resampled back to the Z planes
(linear) before they are averaged.

Each orientation is predicted in blocks that hold its planes whole along Z
(`PASS_BLOCKS`) and stored in chunks that tile the consensus's chunks
(`PASS_CHUNKS`, `CONSENSUS_CHUNKS`), so averaging reads each stored chunk once.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

#: The volume's axes (Z, Y, X) in the order of a view along each axis's planes:
#: planes, rows, columns.
ORDERS = {"z": (0, 1, 2), "y": (1, 0, 2), "x": (2, 0, 1)}
#: Regions predicted at once along Y and X planes, voxels (Z, Y, X); ``None`` = the
#: whole axis. The Z planes' blocks are `_classify.UNET_BLOCK`.
PASS_BLOCKS = {"y": (None, 16, 1024), "x": (None, 1024, 16)}
#: Stored chunks of each orientation's probabilities, and of their average (Z, Y, X).
PASS_CHUNKS = {"z": (8, 512, 512), "y": (64, 16, 512), "x": (64, 512, 16)}
CONSENSUS_CHUNKS = (64, 512, 512)


class PlaneView:
    """``volume`` (Z, Y, X) seen as (planes, rows, columns) along ``axis``'s planes,
    rows resampled to the columns' pixel size where they are Z. Read by slices
    (three slices of step 1) into float32 numpy arrays.

    Parameters
    ----------
    volume : (Z, Y, X) array, numpy or dask
    axis : "z", "y" or "x"
        The planes: ``"y"`` gives (Y, Z', X), ``"x"`` gives (X, Z', Y).
    spacing : (z, y, x) voxel size, nm
    """

    def __init__(self, volume, *, axis: str, spacing: Sequence[float]):
        order = ORDERS[axis]
        self.source = volume.transpose(order)
        self.order = order
        #: Z's voxel size over the in-plane pixel size (1 when the planes are Z planes).
        self.stretch = 1.0 if axis == "z" else float(spacing[0]) / float(spacing[order[2]])
        planes, rows, columns = self.source.shape
        self.shape = (planes, max(1, round(rows * self.stretch)), columns)

    def __getitem__(self, region: tuple[slice, slice, slice]) -> np.ndarray:
        planes, rows, columns = region
        if self.stretch == 1.0:
            return np.asarray(self.source[planes, rows, columns], dtype=np.float32)
        start, stop, _ = rows.indices(self.shape[1])
        coordinates = (np.arange(start, stop) + 0.5) / self.stretch - 0.5
        first = min(max(int(np.floor(coordinates[0])), 0), self.source.shape[1] - 1)
        last = min(int(np.floor(coordinates[-1])) + 2, self.source.shape[1])
        block = np.asarray(self.source[planes, first:last, columns], dtype=np.float32)
        return interpolated(block, coordinates - first, axis=1)

    def region(self, volume_region: tuple[slice, slice, slice]) -> tuple[slice, slice, slice]:
        """The view's region for a region of the volume (one that spans all of Z where
        the rows are resampled Z)."""
        planes, rows, columns = (volume_region[i] for i in self.order)
        return planes, rows if self.stretch == 1.0 else slice(0, self.shape[1]), columns

    def mask(self, where: np.ndarray) -> np.ndarray:
        """``where`` (bool, Z, Y, X) of a volume region (one that spans all of Z where the
        rows are resampled Z) as the view's region (`region`): where the rows are resampled,
        each row that `back` reads for a Z plane of ``where`` is set."""
        turned = where.transpose(self.order)
        if self.stretch == 1.0:
            return turned
        depth = turned.shape[1]
        coordinates = np.clip((np.arange(depth) + 0.5) * self.stretch - 0.5, 0, self.shape[1] - 1)
        low = np.floor(coordinates).astype(np.intp)
        high = np.minimum(low + 1, self.shape[1] - 1)
        rows = np.zeros((turned.shape[0], self.shape[1], turned.shape[2]), bool)
        for read in (low, high):
            np.logical_or.at(rows, (slice(None), read), turned)
        return rows

    def back(self, probabilities: np.ndarray, *, depth: int) -> np.ndarray:
        """(classes, planes, rows, columns) of a `region` back to (classes, Z, Y, X),
        rows resampled to the volume's ``depth`` Z planes."""
        if self.stretch != 1.0:
            probabilities = interpolated(probabilities, (np.arange(depth) + 0.5) * self.stretch - 0.5, axis=2)
        return probabilities.transpose(0, *(1 + np.argsort(self.order)))


def interpolated(array: np.ndarray, coordinates: np.ndarray, *, axis: int) -> np.ndarray:
    """``array`` read at fractional ``coordinates`` along ``axis``: linear between
    neighbours, the edge value beyond the ends; float32."""
    length = array.shape[axis]
    clipped = np.clip(coordinates, 0, length - 1)
    low = np.floor(clipped).astype(np.intp)
    high = np.minimum(low + 1, length - 1)
    shape = [1] * array.ndim
    shape[axis] = -1
    weight = (clipped - low).astype(np.float32).reshape(shape)
    return (np.take(array, low, axis=axis) * (1 - weight) + np.take(array, high, axis=axis) * weight).astype(
        np.float32, copy=False)
