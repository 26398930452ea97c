"""`looks_like_labels`: a cheap guess whether a volume holds object ids rather than grey values."""

from __future__ import annotations

import dask
import numpy as np

from vemprof.volume._volume import Volume

_SAMPLE = (4, 128, 128)  # voxels (Z, Y, X) per window: 65 536 in a large volume
_WINDOW_CENTRES = (  # fractions of the extent along (Z, Y, X): the centre and four spread around it
    (0.5, 0.5, 0.5), (0.25, 0.25, 0.25), (0.25, 0.75, 0.75), (0.75, 0.25, 0.75), (0.75, 0.75, 0.25),
)


def looks_like_labels(volume: Volume, *, max_values: int = 16) -> bool:
    """Whether ``volume`` looks like a label image (object ids or a mask), not an EM image.

    The rule, cheapest test first:

    1. metadata: an NGFF label image (``volume.is_labels``) or a boolean mask → True;
    2. dtype: floating point (EM intensities, probabilities) → False;
    3. for integer dtypes, five windows of up to 4 × 128 × 128 voxels — at the centre
       and at four points spread through the volume, each inside one dask block so
       only five blocks are read — decide. Label images are piecewise constant: most
       neighbouring voxels (along Y and X) are equal, while the noise of EM images
       makes them differ. A window is label-like where it holds at most
       ``max_values`` distinct values and at least half of neighbouring voxels are
       equal (masks, semantic labels), or where at least 90 % of them are equal
       (instance labels with many ids). A constant window (background, blank or
       saturated regions) is no evidence either way. True where at least one window
       is evidence and every such window is label-like: label images hold no noisy
       region, while one (an over-exposed region of resin, say) can look flat.

    Parameters
    ----------
    volume : Volume
        The volume to look at; only five small windows of it are computed.
    max_values : int, default 16
        Most distinct values a semantic label window is expected to hold.

    Returns
    -------
    bool

    Examples
    --------
    >>> import dask.array as da, numpy as np
    >>> mask = np.zeros((8, 64, 64), np.uint8); mask[2:6, 16:48, 16:48] = 1
    >>> looks_like_labels(Volume(da.from_array(mask), spacing=None, name="mask"))
    True
    >>> noise = np.random.default_rng(0).integers(0, 256, (8, 64, 64), dtype=np.uint8)
    >>> looks_like_labels(Volume(da.from_array(noise), spacing=None, name="em"))
    False
    """
    if volume.is_labels or volume.dtype == bool:
        return True
    if not np.issubdtype(volume.dtype, np.integer):
        return False
    windows = dict.fromkeys(_window(volume.data.chunks, centre) for centre in _WINDOW_CENTRES)  # distinct, in order
    samples = dask.compute(*(volume.data[tuple(slice(*r) for r in window)] for window in windows))
    verdicts = [v for v in (_label_like(np.asarray(s), max_values=max_values) for s in samples) if v is not None]
    return bool(verdicts) and all(verdicts)


def _label_like(sample: np.ndarray, *, max_values: int) -> bool | None:
    """Whether one (Z, Y, X) window looks like labels; None for a constant window (no evidence)."""
    distinct = np.unique(sample).size
    if distinct <= 1:
        return None
    pairs = [sample[:, 1:, :] == sample[:, :-1, :], sample[:, :, 1:] == sample[:, :, :-1]]
    total = sum(p.size for p in pairs)
    equal = sum(int(np.count_nonzero(p)) for p in pairs) / total if total else 0.0
    return (distinct <= max_values and equal >= 0.5) or equal >= 0.9


def _window(chunks: tuple[tuple[int, ...], ...], centre: tuple[float, ...]) -> tuple[tuple[int, int], ...]:
    """(start, stop) per axis of up to `_SAMPLE` voxels around ``centre`` (fractions of the extent),
    inside the block that holds that point."""
    window = []
    for sizes, want, fraction in zip(chunks, _SAMPLE, centre):
        edges = np.cumsum((0, *sizes))
        point = int(int(edges[-1]) * fraction)
        block = min(int(np.searchsorted(edges, point, side="right")) - 1, len(sizes) - 1)
        lo, hi = int(edges[block]), int(edges[block + 1])
        width = min(want, hi - lo)
        start = min(max(point - width // 2, lo), hi - width)
        window.append((start, start + width))
    return tuple(window)
