"""Objects coloured by a value each: the colour map, its range, and the look-up from label ids.

Every view of a rendering (slices, projections, the mesh) takes its colours from one
`FeatureColours`, so an object has the same colour everywhere and the colour bar holds
for all of them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.colors import Colormap, Normalize

from vemprof.errors import VemprofError

#: RGBA of an object that has no value (absent from the values, or NaN).
NO_VALUE_RGBA = (0.6, 0.6, 0.6, 1.0)


@dataclass(frozen=True)
class FeatureColours:
    """The colour of each object by its value.

    Attributes
    ----------
    labels : ndarray (n,) uint64
        The objects' ids, sorted (0, the background, is never among them).
    values : ndarray (n,) float64
        Their values (finite or NaN).
    name : str
        What the values are (the colour bar's label), e.g. ``sv_ratio_per_um``.
    cmap : Colormap
    norm : Normalize
        The finite values' minimum and maximum, mapped to the two ends of ``cmap``.
    """

    labels: np.ndarray
    values: np.ndarray
    name: str
    cmap: Colormap
    norm: Normalize

    @classmethod
    def of(cls, values: Mapping | pd.Series, *, name: str = "value", cmap: str = "viridis") -> FeatureColours:
        """The colours of ``values`` (label id → number, a mapping or a `pd.Series` indexed
        by label) on the matplotlib colour map ``cmap``; a one-line error when no value is
        finite or ``cmap`` is not a colour map's name."""
        series = pd.Series(values, dtype=np.float64).drop(index=0, errors="ignore").sort_index()
        finite = series[np.isfinite(series)]
        if finite.empty:
            raise VemprofError(f"no object has a finite value of {name}; choose a column with values")
        low, high = float(finite.min()), float(finite.max())
        if low == high:  # one value: put it in the middle of the colour map
            low, high = low - 0.5, high + 0.5
        return cls(labels=series.index.to_numpy(np.uint64), values=series.to_numpy(np.float64), name=name,
                   cmap=colour_map(cmap), norm=Normalize(low, high))

    def value_image(self, labels: np.ndarray) -> np.ndarray:
        """The value of each voxel's object (float32, the shape of ``labels``); NaN for the
        background and for objects without a value."""
        labels = np.asarray(labels)
        if not self.labels.size:
            return np.full(labels.shape, np.nan, np.float32)
        index = np.clip(np.searchsorted(self.labels, labels), 0, self.labels.size - 1)
        known = (self.labels[index] == labels) & (labels != 0)
        return np.where(known, self.values[index], np.nan).astype(np.float32)

    def rgba(self, values: np.ndarray) -> np.ndarray:
        """RGBA in [0, 1] (shape + (4,)) of ``values``: the colour map's, `NO_VALUE_RGBA` for NaN."""
        values = np.asarray(values, np.float64)
        colours = self.cmap(self.norm(np.where(np.isfinite(values), values, self.norm.vmin)))
        colours[~np.isfinite(values)] = NO_VALUE_RGBA
        return colours

    def label_rgba(self, labels: np.ndarray) -> np.ndarray:
        """RGBA in [0, 1] (shape + (4,)) of each voxel of ``labels``: its object's colour,
        `NO_VALUE_RGBA` for an object without a value, transparent (all 0) for the background."""
        labels = np.asarray(labels)
        colours = self.rgba(self.value_image(labels))
        colours[labels == 0] = 0.0
        return colours


def colour_map(name: str) -> Colormap:
    """The matplotlib colour map ``name``, or a one-line error naming a few."""
    try:
        return matplotlib.colormaps[name]
    except KeyError:
        raise VemprofError(f"unknown colour map '{name}'; use a matplotlib colour map such as viridis, magma, "
                           "cividis, coolwarm or turbo") from None
