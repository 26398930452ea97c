"""`looks_like_labels`: a cheap guess whether a volume holds object ids rather than grey values."""

from __future__ import annotations

import numpy as np

from vemprof.volume._volume import Volume

_SAMPLE = (4, 128, 128)  # voxels (Z, Y, X): 65 536 in a large volume


def looks_like_labels(volume: Volume, *, max_values: int = 16) -> bool:
    """Whether ``volume`` looks like a label image (object ids or a mask), not an EM image.

    The rule, cheapest test first:

    1. metadata: an NGFF label image (``volume.is_labels``) or a boolean mask → True;
    2. dtype: floating point (EM intensities, probabilities) → False;
    3. a central sample of up to 4 × 128 × 128 voxels, taken inside one dask block so
       only that block is read, decides for integer dtypes. Label images are piecewise
       constant: most neighbouring voxels (along Y and X) are equal, while the noise
       of EM images makes them differ. So it is True where the sample holds at most
       ``max_values`` distinct values and at least half of neighbouring voxels are
       equal (masks, semantic labels), or where at least 90 % of them are equal
       (instance labels with many ids). A constant sample (a blank region) is no
       evidence either way → False.

    Parameters
    ----------
    volume : Volume
        The volume to look at; only a small sample of it is computed.
    max_values : int, default 16
        Most distinct values a semantic label sample is expected to hold.

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
    sample = np.asarray(volume.data[_central_window(volume.data.chunks)].compute())
    distinct = np.unique(sample).size
    if distinct <= 1:
        return False
    pairs = [sample[:, 1:, :] == sample[:, :-1, :], sample[:, :, 1:] == sample[:, :, :-1]]
    total = sum(p.size for p in pairs)
    equal = sum(int(np.count_nonzero(p)) for p in pairs) / total if total else 0.0
    return (distinct <= max_values and equal >= 0.5) or equal >= 0.9


def _central_window(chunks: tuple[tuple[int, ...], ...]) -> tuple[slice, ...]:
    """Up to `_SAMPLE` voxels around the centre, inside the block that holds the centre."""
    window = []
    for sizes, want in zip(chunks, _SAMPLE):
        edges = np.cumsum((0, *sizes))
        centre = int(edges[-1]) // 2
        block = min(int(np.searchsorted(edges, centre, side="right")) - 1, len(sizes) - 1)
        lo, hi = int(edges[block]), int(edges[block + 1])
        width = min(want, hi - lo)
        start = min(max(centre - width // 2, lo), hi - width)
        window.append(slice(start, start + width))
    return tuple(window)
