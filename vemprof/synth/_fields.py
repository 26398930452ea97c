"""Smooth random fields: smoothed white noise on a coarse grid, read by interpolation.

A field with correlation length ℓ needs no finer grid than ℓ/2 to ℓ/5 (finer where its
level sets are drawn as surfaces), so the noise and the smoothing are cheap; reading it
on the voxel grid is a separable interpolation (three passes of a few gathers), far
cheaper than filtering a full-size volume. Linear interpolation suits textures; a field
that shapes a surface uses cubic (Catmull-Rom) interpolation, whose gradient is
continuous, so the surface shows no facets.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from scipy import ndimage as ndi

#: Coarse grid cells per correlation length (the Gaussian sigma of the smoothing), enough
#: for a smooth texture; level sets drawn as surfaces need a finer grid.
_CELLS_PER_CORRELATION = 2.0
#: Grid cells of padding beyond each face of the region.
_PAD = 2


def _weights(fraction: np.ndarray, interpolation: str) -> list[np.ndarray]:
    """Interpolation weights of the neighbours at offsets (0, 1) or (-1, 0, 1, 2)."""
    t = fraction
    if interpolation == "linear":
        return [1 - t, t]
    t2, t3 = t * t, t * t * t
    return [(-t3 + 2 * t2 - t) / 2, (3 * t3 - 5 * t2 + 2) / 2, (-3 * t3 + 4 * t2 + t) / 2, (t3 - t2) / 2]


class SmoothField:
    """A Gaussian random field of zero mean and unit variance over a region.

    Parameters
    ----------
    low_nm, high_nm : sequence of 3 floats
        The region it covers, (Z, Y, X) nm; outside it the field repeats its edge values.
    correlation_nm : float or sequence of 3 floats
        Gaussian smoothing sigma along (Z, Y, X), nm: the size of the field's blobs.
    rng : numpy.random.Generator
        Source of the white noise.
    cells_per_correlation : float
        Coarse grid cells per correlation length.
    interpolation : {"linear", "cubic"}
        How the coarse grid is read.
    """

    def __init__(
        self,
        low_nm,
        high_nm,
        correlation_nm,
        rng: np.random.Generator,
        *,
        cells_per_correlation: float = _CELLS_PER_CORRELATION,
        interpolation: Literal["linear", "cubic"] = "linear",
    ) -> None:
        correlation = np.broadcast_to(np.asarray(correlation_nm, dtype=float), (3,))
        self.cell_nm = correlation / cells_per_correlation
        self.origin_nm = np.asarray(low_nm, dtype=float) - _PAD * self.cell_nm
        extent = np.asarray(high_nm, dtype=float) - np.asarray(low_nm, dtype=float)
        counts = np.ceil(extent / self.cell_nm).astype(int) + 2 * _PAD + 1
        noise = rng.standard_normal(tuple(counts), dtype=np.float32)
        smooth = ndi.gaussian_filter(noise, cells_per_correlation, mode="wrap")
        smooth /= smooth.std()
        self.values = smooth
        self.interpolation = interpolation

    def gradient_magnitude(self) -> SmoothField:
        """|∇ field| per nm, on the same coarse grid."""
        gradient = np.gradient(self.values.astype(np.float64), *self.cell_nm)
        out = object.__new__(SmoothField)
        out.cell_nm, out.origin_nm, out.interpolation = self.cell_nm, self.origin_nm, self.interpolation
        out.values = np.sqrt(sum(g * g for g in gradient)).astype(np.float32)
        return out

    def _neighbours(self, coordinate_nm: np.ndarray, axis: int) -> tuple[list[np.ndarray], list[np.ndarray]]:
        """Indices and weights of the coarse neighbours of coordinates along ``axis``."""
        position = (coordinate_nm - self.origin_nm[axis]) / self.cell_nm[axis]
        size = self.values.shape[axis]
        lower = np.clip(np.floor(position).astype(np.intp), 0, size - 2)
        fraction = np.clip(position - lower, 0, 1).astype(np.float32)
        offsets = (0, 1) if self.interpolation == "linear" else (-1, 0, 1, 2)
        indices = [np.clip(lower + o, 0, size - 1) for o in offsets]
        return indices, _weights(fraction, self.interpolation)

    def on_grid(self, box: tuple[slice, slice, slice], spacing) -> np.ndarray:
        """The field at the voxel centres of ``box`` (index slices of a grid with voxel size
        ``spacing`` nm, voxel k at k·spacing); float32 array of the box shape."""
        out = self.values
        # X first while the array is small; the last pass, along Z, copies whole planes
        for axis in (2, 1, 0):
            coords = np.arange(box[axis].start, box[axis].stop, dtype=np.float64) * spacing[axis]
            indices, weights = self._neighbours(coords, axis)
            shape = [1, 1, 1]
            shape[axis] = -1
            total = np.take(out, indices[0], axis=axis)
            total *= weights[0].reshape(shape)
            for index, weight in zip(indices[1:], weights[1:]):
                part = np.take(out, index, axis=axis)
                part *= weight.reshape(shape)
                total += part
            out = total
        return out

    def at(self, points_nm: np.ndarray) -> np.ndarray:
        """The field at points, ``points_nm`` of shape (n, 3) in nm (Z, Y, X); float32 (n,)."""
        points = np.asarray(points_nm, dtype=np.float64)
        if self.interpolation == "linear":
            position = (points - self.origin_nm) / self.cell_nm
            return ndi.map_coordinates(self.values, position.T, order=1, mode="nearest").astype(np.float32)
        neighbours = [self._neighbours(points[:, axis], axis) for axis in range(3)]
        out = np.zeros(len(points), dtype=np.float32)
        for iz, wz in zip(*neighbours[0]):
            for iy, wy in zip(*neighbours[1]):
                for ix, wx in zip(*neighbours[2]):
                    out += self.values[iz, iy, ix] * (wz * wy * wx)
        return out


class LevelSets:
    """Evenly spaced level sets of a `SmoothField`, as surfaces with a distance.

    The levels are ``k · step`` for all integers k, with ``step`` chosen so that they lie
    about ``spacing_nm`` apart; the distance to the nearest one is its field difference
    over the local gradient magnitude (floored to keep it finite at the field's
    extrema), exact to first order near the surfaces.
    """

    def __init__(self, field: SmoothField, spacing_nm: float) -> None:
        self.field = field
        self.gradient = field.gradient_magnitude()
        typical = float(self.gradient.values.mean())
        self.step = spacing_nm * typical
        self.floor = 0.3 * typical

    def distance_at(self, points_nm: np.ndarray) -> np.ndarray:
        """Distance (nm) from points (n, 3) to the nearest level set; float32 (n,)."""
        value = self.field.at(points_nm)
        offset = np.abs(value - self.step * np.rint(value / self.step))
        return offset / np.maximum(self.gradient.at(points_nm), self.floor)
