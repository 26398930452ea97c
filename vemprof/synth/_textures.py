"""Random textures of the compartments: cytosol grain and regional density, euchromatin
mottle, heterochromatin.

Each is a `SmoothField` over the cell's box, read on voxel grids for the bulk and at
points for the membrane bands, so both agree where they meet.
"""

from __future__ import annotations

import numpy as np

from vemprof.synth import _stain as stain_of
from vemprof.synth._fields import SmoothField
from vemprof.synth._grid import Box, Grid

#: Grain of the cytosol (ribosome clusters, cytoskeleton), nm.
_CYTOSOL_GRAIN_NM = 50.0
#: Coarse grid cells per correlation length of the grain fields: a grain is no more than
#: a few voxels, so a coarse grid of that size is enough and keeps the noise cheap.
_GRAIN_GRID = 1.25
#: Mottle of the euchromatin, nm.
_CHROMATIN_GRAIN_NM = 90.0
#: Size of the heterochromatin clumps inside the nucleus, nm.
_CLUMP_NM = 250.0
#: Size of the patches of heterochromatin along the envelope, nm.
_LINING_PATCH_NM = 500.0
#: Size of the denser and paler regions of cytosol, nm.
_CYTOSOL_REGION_NM = 1500.0
#: Least factor on the cytosol's density in its palest regions.
_LEAST_REGION_FACTOR = 0.3


class Textures:
    """Smooth random fields over the region ``low_nm``..``high_nm`` (Z, Y, X) nm.

    ``density_variation`` is the relative standard deviation of the cytosol's density
    over regions of about `_CYTOSOL_REGION_NM` (0: uniform; the regions' field is then not
    drawn, so the other fields do not depend on it)."""

    def __init__(self, low_nm, high_nm, rng: np.random.Generator, *, density_variation: float = 0.0) -> None:
        self.cytosol = SmoothField(low_nm, high_nm, _CYTOSOL_GRAIN_NM, rng, cells_per_correlation=_GRAIN_GRID)
        self.chromatin = SmoothField(low_nm, high_nm, _CHROMATIN_GRAIN_NM, rng, cells_per_correlation=_GRAIN_GRID)
        self.clumps = SmoothField(low_nm, high_nm, _CLUMP_NM, rng)
        self.lining = SmoothField(low_nm, high_nm, _LINING_PATCH_NM, rng)
        self.density_variation = density_variation
        self.regions = SmoothField(low_nm, high_nm, _CYTOSOL_REGION_NM, rng) if density_variation > 0 else None

    def cytosol_on_grid(self, box: Box, grid: Grid) -> np.ndarray:
        """Cytosol stain over ``box``, float32."""
        out = _cytosol(self.cytosol.on_grid(box, grid.spacing))
        if self.regions is not None:
            out *= self._region_factor(self.regions.on_grid(box, grid.spacing))
        return out

    def cytosol_at(self, points_nm: np.ndarray) -> np.ndarray:
        out = _cytosol(self.cytosol.at(points_nm))
        if self.regions is not None:
            out *= self._region_factor(self.regions.at(points_nm))
        return out

    def _region_factor(self, field: np.ndarray) -> np.ndarray:
        """The factor on the cytosol's density from the regions' field (modified in place)."""
        field *= np.float32(self.density_variation)
        field += np.float32(1)
        return np.maximum(field, np.float32(_LEAST_REGION_FACTOR), out=field)

    def nucleoplasm_on_grid(self, box: Box, grid: Grid) -> np.ndarray:
        """Euchromatin stain over ``box`` (without clumps), float32."""
        out = self.chromatin.on_grid(box, grid.spacing)
        out *= np.float32(stain_of.NUCLEOPLASM * stain_of.NUCLEOPLASM_TEXTURE)
        out += np.float32(stain_of.NUCLEOPLASM)
        return out

    def nucleoplasm_at(self, points_nm: np.ndarray) -> np.ndarray:
        return stain_of.NUCLEOPLASM * (1 + stain_of.NUCLEOPLASM_TEXTURE * self.chromatin.at(points_nm))

    def heterochromatin_at(self, points_nm: np.ndarray) -> np.ndarray:
        """The lining field (unit normal) along the envelope: where it is high, the
        heterochromatin layer is thick."""
        return self.lining.at(points_nm)


def _cytosol(field: np.ndarray) -> np.ndarray:
    """Cytosol stain from its texture field (modified in place): a faint smooth texture
    plus dense granules at the field's peaks."""
    granules = np.clip(field - np.float32(stain_of.GRANULE_THRESHOLD), 0, None)
    field *= np.float32(stain_of.CYTOSOL * stain_of.CYTOSOL_TEXTURE)
    field += np.float32(stain_of.CYTOSOL)
    field += np.float32(stain_of.GRANULE_GAIN) * granules
    return field
