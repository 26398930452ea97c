"""Thresholds: global (Otsu, fixed value, percentile) and local (adaptive, in a window).

Global thresholds on a dask image are computed exactly, block by block: the histogram
for Otsu is summed over blocks (same bins, same counts as the whole array), and a
percentile is found by narrowing histograms until the few candidate values fit in
memory, then ranking them — the same order statistics as a full sort. The threshold
value is computed when the function is called; the mask it returns stays lazy.
"""

from __future__ import annotations

from functools import partial
from typing import Any, Sequence

import dask
import numpy as np
from scipy.ndimage import correlate1d
from skimage.filters import threshold_otsu

from vemprof.errors import VemprofError
from vemprof.ops._blockwise import map_elementwise, map_with_halo
from vemprof.ops._filters import WINDOW_SIGMAS, local_mean
from vemprof.ops._validate import (
    as_spacing,
    check_choice,
    check_image,
    check_length,
    is_dask,
)

OTSU_BINS = 256
#: Integer images spanning at most this many values get one Otsu bin per value.
MAX_INTEGER_BINS = 65536
#: A percentile search stops narrowing once this many candidate values remain.
PERCENTILE_CANDIDATES = 1_000_000
PERCENTILE_BINS = 4096


def _blocks(image: Any) -> list:
    return list(image.to_delayed().ravel()) if is_dask(image) else [image]


def _reduce(function, image: Any, **kwargs: Any) -> list:
    """Apply ``function`` to every block (or to the whole numpy array); list of results."""
    if is_dask(image):
        return list(dask.compute(*[dask.delayed(function)(b, **kwargs) for b in _blocks(image)]))
    return [function(np.asarray(image), **kwargs)]


def _min_max(block: np.ndarray) -> tuple[float, float]:
    return float(block.min()), float(block.max())


def _bin_counts(block: np.ndarray, *, edges: np.ndarray) -> np.ndarray:
    """Counts in [e0, e1), [e1, e2), …; values below e0 or at/above the last edge go to the ends."""
    index = np.searchsorted(edges, block.ravel(), side="right")
    return np.bincount(index, minlength=len(edges) + 1)


def _otsu_value(image: Any) -> float:
    low, high = np.array(_reduce(_min_max, image)).T
    low, high = float(low.min()), float(high.max())
    if low == high:
        return low
    if np.issubdtype(image.dtype, np.integer) and high - low < MAX_INTEGER_BINS:
        centres = np.arange(low, high + 1)
        edges = np.arange(low, high + 2) - 0.5
    else:
        edges = np.linspace(low, high, OTSU_BINS + 1)
        centres = (edges[:-1] + edges[1:]) / 2
        edges = edges.copy()
        edges[-1] = np.nextafter(high, np.inf)  # the maximum belongs to the last bin
    counts = sum(_reduce(_bin_counts, image, edges=edges[1:-1]))
    return float(threshold_otsu(hist=(counts, centres)))


def _values_in(block: np.ndarray, *, low: float, high: float) -> np.ndarray:
    values = block.ravel()
    # numpy scalars, not Python floats: compare in float64 like the histogram edges
    inside = (values >= np.float64(low)) & (values < np.float64(high))
    return values[inside]


def _order_statistics(image: Any, ranks: Sequence[int]) -> list[float]:
    """The values at the given 0-based ranks of the sorted image, exactly."""
    if not is_dask(image):
        flat = np.asarray(image).ravel()
        return [float(v) for v in np.partition(flat, list(ranks))[list(ranks)]]
    lows, highs = np.array(_reduce(_min_max, image)).T
    results = []
    for rank in ranks:
        # invariant: the wanted value lies in [low, high) and `below` values are < low
        low, high, below = float(lows.min()), float(np.nextafter(highs.max(), np.inf)), 0
        while True:
            bounds = np.unique(np.linspace(low, high, PERCENTILE_BINS + 1))
            inside = sum(_reduce(_bin_counts, image, edges=bounds))[1:-1]
            chosen = int(np.searchsorted(below + np.cumsum(inside), rank, side="right"))
            low, high = float(bounds[chosen]), float(bounds[chosen + 1])
            below += int(inside[:chosen].sum())
            if inside[chosen] <= PERCENTILE_CANDIDATES or len(bounds) == 2:
                candidates = np.sort(np.concatenate(_reduce(_values_in, image, low=low, high=high)))
                results.append(float(candidates[rank - below]))
                break
    return results


def _percentile_value(image: Any, percentile: float) -> float:
    """Linear-interpolation percentile (numpy's default rule), identical for numpy and dask."""
    position = (image.size - 1) * percentile / 100.0
    lower = int(np.floor(position))
    upper = min(lower + 1, image.size - 1)
    ranks = sorted({lower, upper})
    values = dict(zip(ranks, _order_statistics(image, ranks)))
    return float(values[lower] + (values[upper] - values[lower]) * (position - lower))


def threshold_value(
    image: Any, *, method: str = "otsu", value: float | None = None, percentile: float | None = None
) -> float:
    """The global threshold of an image, as a number.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    method : {'otsu', 'value', 'percentile'}
        'otsu': Otsu's threshold on a histogram (one bin per value for integer images
        spanning < 65536 values, else 256 bins between min and max); 'value': ``value``
        itself; 'percentile': the ``percentile``-th percentile (linear interpolation).
    value : float, optional
        The threshold for ``method='value'``.
    percentile : float, optional
        In [0, 100], for ``method='percentile'``.

    Returns
    -------
    float
        On a dask image, computed now, exactly as for the same numpy image.
    """
    image = check_image(image)
    method = check_choice(method, name="method", allowed=("otsu", "value", "percentile"))
    if method == "value":
        if value is None:
            raise VemprofError("method='value' needs value=<threshold>")
        return float(value)
    if method == "percentile":
        if percentile is None or not 0 <= float(percentile) <= 100:
            raise VemprofError(f"method='percentile' needs percentile between 0 and 100, got {percentile!r}")
        return _percentile_value(image, float(percentile))
    return _otsu_value(image)


def _above(image: np.ndarray, *, level: float) -> np.ndarray:
    return image > level


def threshold(
    image: Any, *, method: str = "otsu", value: float | None = None, percentile: float | None = None
) -> Any:
    """Foreground mask ``image > threshold`` for a global threshold (see `threshold_value`).

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    method : {'otsu', 'value', 'percentile'}
        How the threshold is chosen (see `threshold_value`).
    value : float, optional
        For ``method='value'``.
    percentile : float, optional
        For ``method='percentile'``, in [0, 100].

    Returns
    -------
    (Z, Y, X) bool array; lazy for a dask image (the threshold itself is computed now).

    Examples
    --------
    >>> import numpy as np
    >>> image = np.zeros((2, 4, 4), np.uint8); image[:, :2] = 200
    >>> int(threshold(image, method="otsu").sum())
    16
    """
    level = threshold_value(image, method=method, value=value, percentile=percentile)
    return map_elementwise(_above, image, dtype=bool, level=level)


def _local_threshold_block(
    image: np.ndarray, *, method: str, sigma_voxels: tuple[float, ...], box: tuple[int, ...], offset: float
) -> np.ndarray:
    values = image.astype(np.float64)
    if method == "gaussian":
        local = local_mean(values, sigma_voxels)
    else:
        local = values
        for axis, size in enumerate(box):
            # correlate1d, not uniform_filter's running sum: every block adds in the same order
            local = correlate1d(local, np.full(size, 1.0 / size), axis=axis, mode="reflect")
    return values > local - offset


def threshold_local(
    image: Any, *, window_nm: float, spacing: Sequence[float], method: str = "gaussian", offset: float = 0.0
) -> Any:
    """Adaptive threshold: foreground where ``image > local mean - offset``.

    Parameters
    ----------
    image : (Z, Y, X) array, numpy or dask
    window_nm : float
        Window diameter in nm (> 0).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    method : {'gaussian', 'mean'}
        'gaussian': Gaussian-weighted mean, sigma ``window_nm / 4`` cut at
        ``window_nm / 2``; 'mean': plain mean over a box of ``window_nm`` (an odd
        number of voxels per axis, at least 1).
    offset : float
        Subtracted from the local mean (intensity units); positive keeps more.

    Returns
    -------
    (Z, Y, X) bool array, numpy or lazy dask like ``image``.
    """
    spacing = as_spacing(spacing)
    image = check_image(image)
    window_nm = check_length(window_nm, name="window_nm", allow_zero=False)
    method = check_choice(method, name="method", allowed=("gaussian", "mean"))
    half = tuple(int(np.floor(window_nm / 2 / s)) for s in spacing)
    block = partial(
        _local_threshold_block,
        method=method,
        sigma_voxels=tuple(window_nm / WINDOW_SIGMAS / s for s in spacing),
        box=tuple(2 * h + 1 for h in half),
        offset=float(offset),
    )
    if is_dask(image):
        return map_with_halo(block, image, reach_nm=window_nm / 2, spacing=spacing, dtype=bool)
    return block(np.asarray(image))
