"""Seamless 2D prediction over a volume: tiles on one grid per plane, Gaussian blending.

A 2D network sees one plane at a time through square tiles. Where tiles overlap, their
class probabilities are averaged with Gaussian weights (highest at the tile's centre,
where the network sees the most context), so no seam shows at tile borders. The tiles of
a plane lie on one grid fixed by the plane's size alone (stride ``tile − overlap``, the
last tile flush with the far edge); a block of the volume computes every tile that
touches it and keeps its own part. So a volume predicted block by block equals the
volume predicted in one piece, up to the order of floating-point sums (tested: at most
1/255 apart in probability).
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from vemprof.errors import VemprofError

#: Gaussian blending weight's standard deviation, in tile edges (nnU-Net's 1/8).
BLEND_SIGMA = 1 / 8


def tile_starts(length: int, *, tile: int, overlap: int) -> list[int]:
    """Starts of the tiles that cover ``[0, length)``: every ``tile − overlap`` pixels, the
    last one ending at ``length``."""
    if length < tile:
        raise VemprofError(f"a plane of {length} pixels is smaller than the {tile}-pixel tile; "
                           "use a finer --level or a model trained with a smaller tile")
    stride = tile - overlap
    return sorted(set(range(0, length - tile, stride)) | {length - tile})


def blend_weights(tile: int) -> np.ndarray:
    """(tile, tile) float32 Gaussian weights, 1 at the centre, at least 1e-3 at the corners."""
    x = (np.arange(tile) - (tile - 1) / 2) / (BLEND_SIGMA * tile)
    line = np.exp(-0.5 * x * x)
    return np.maximum(np.outer(line, line), 1e-3).astype(np.float32)


def predict_region(
    image, region: tuple[slice, slice, slice], *, run: Callable[[np.ndarray], np.ndarray], classes: int,
    tile: int, overlap: int, batch: int = 8, prepare: Callable[[np.ndarray], np.ndarray] = np.float32,
    where: np.ndarray | None = None,
) -> np.ndarray:
    """Class probabilities (classes, Z, Y, X) float32 of ``region`` of ``image``.

    Parameters
    ----------
    image : (Z, Y, X) array (numpy, zarr or dask; read by slices)
        The whole volume; tiles near the region's border read beyond it.
    region : 3 slices
        The block to predict.
    run : callable
        ``(n, 1, tile, tile) float32 → (n, classes, tile, tile)`` probabilities.
    tile, overlap : int
        Tile edge and overlap of neighbouring tiles, pixels.
    prepare : callable
        Applied to each read window (e.g. normalisation to float32).
    where : (Z, Y, X) bool array of the region's shape, optional
        Only the tiles that hold one of its voxels are run (the others' pixels get 0),
        so the cost follows ``where`` rather than the region (e.g. a band around a surface).
    """
    zs, ys, xs = region
    starts = [[s for s in tile_starts(n, tile=tile, overlap=overlap) if s < r.stop and s + tile > r.start]
              for n, r in zip(image.shape[1:], (ys, xs))]
    top, left = starts[0][0], starts[1][0]
    window = prepare(np.asarray(image[zs, top : starts[0][-1] + tile, left : starts[1][-1] + tile]))
    weights = blend_weights(tile)
    inside = (slice(ys.start - top, ys.stop - top), slice(xs.start - left, xs.stop - left))
    places = [(z, y - top, x - left) for z in range(window.shape[0]) for y in starts[0] for x in starts[1]]
    if where is not None:
        wanted = np.zeros(window.shape, bool)
        wanted[(slice(None), *inside)] = where
        places = [(z, y, x) for z, y, x in places if wanted[z, y : y + tile, x : x + tile].any()]
    total = np.zeros((classes, *window.shape), np.float32)
    if where is None:  # every plane has the same tiles: one plane's weights serve all
        weight_sum = np.zeros(window.shape[1:], np.float32)
        for _, y, x in places[: len(starts[0]) * len(starts[1])]:
            weight_sum[y : y + tile, x : x + tile] += weights
    else:
        weight_sum = np.zeros(window.shape, np.float32)
        for z, y, x in places:
            weight_sum[z, y : y + tile, x : x + tile] += weights
    for first in range(0, len(places), batch):
        chosen = places[first : first + batch]
        tiles = np.stack([window[z, y : y + tile, x : x + tile] for z, y, x in chosen])[:, None]
        for (z, y, x), probabilities in zip(chosen, run(tiles)):
            total[:, z, y : y + tile, x : x + tile] += probabilities * weights
    np.divide(total, weight_sum, out=total, where=weight_sum > 0)  # 0 where no tile ran
    return total[(slice(None), slice(None), *inside)]
