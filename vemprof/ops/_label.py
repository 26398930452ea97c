"""Connected components, whole-array or block-wise with an exact merge across block faces.

Block-wise labelling in three steps, all lazy:

1. every block is labelled on its own (cc3d) and summarised: its number of labels,
   where each label first appears (global raster index), voxels per label, and its six
   face planes (labels and input values);
2. one merge task offsets the block labels to be unique, joins labels that touch across
   a block face under the chosen connectivity (a union-find over the face pairs, via
   ``scipy.sparse.csgraph``), and numbers the joined components 1..K in raster order of
   their first voxel — the order cc3d uses on the whole array, so the block-wise labels
   are *identical* to the whole-array labels, not only equal up to a renumbering;
3. every block is labelled again (cheaper than keeping the labels) and its labels are
   looked up in the merged table; a `finish` function turns them into the output.

Memory: both passes read the same input blocks, so dask keeps each input block until
its second pass, i.e. the whole *input* of a global operation (a bool mask: 1 byte per
voxel) while the merge waits for the last summary. For volumes larger than memory, store
that input first (zarr) so each pass reads it from disk. (Rebinding the second pass to
recompute the input, `dask.graph_manipulation.bind`, fails on rechunked graphs in dask
2026.8.)

The same summary carries what the global mask operations need (volumes, border
contact), so `fill_holes`, `remove_small_objects` and `remove_small_holes` are exact too.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import partial
from typing import Any, Callable

import cc3d
import dask
import dask.array as da
import fastremap
import numpy as np
from scipy.sparse import coo_matrix
from scipy.sparse.csgraph import connected_components as graph_components

from vemprof.ops._validate import check_connectivity, check_objects, is_dask

#: For a step of one voxel along the boundary's normal, the in-plane offsets that make
#: two voxels neighbours under each connectivity.
_PLANE_SHIFTS = {
    6: [(0, 0)],
    18: [(0, 0), (1, 0), (-1, 0), (0, 1), (0, -1)],
    26: [(dp, dq) for dp in (-1, 0, 1) for dq in (-1, 0, 1)],
}


def label_dtype(shape: tuple[int, ...]) -> np.dtype:
    """uint32 unless the volume has so many voxels that labels could overflow it."""
    return np.dtype(np.uint32 if int(np.prod(shape, dtype=np.float64)) < 2**32 else np.uint64)


def _local_labels(block: np.ndarray, connectivity: int, dtype: np.dtype) -> np.ndarray:
    """cc3d labels of one block: 1..n in raster order of first voxel (bool: components of True)."""
    if not block.any():
        return np.zeros(block.shape, dtype=dtype)
    return cc3d.connected_components(
        np.ascontiguousarray(block), connectivity=connectivity, out_dtype=dtype,
        binary_image=block.dtype == bool,
    )


def _first_voxels(local: np.ndarray, origin: tuple[int, ...], shape: tuple[int, ...]) -> np.ndarray:
    """Global raster index of each label's first voxel (labels appear in raster order)."""
    flat = local.ravel()
    running_max = np.maximum.accumulate(flat)
    first = np.flatnonzero(np.diff(running_max, prepend=flat.dtype.type(0)))
    coordinates = np.unravel_index(first, local.shape)
    return np.ravel_multi_index(tuple(c + o for c, o in zip(coordinates, origin)), shape).astype(np.int64)


def _summarise(
    block: np.ndarray, marked: np.ndarray | None, *, origin: tuple[int, ...], shape: tuple[int, ...], connectivity: int
) -> dict:
    return _summary_of(_local_labels(block, connectivity, label_dtype(shape)), block, marked, origin, shape)


def _summary_of(
    local: np.ndarray, block: np.ndarray, marked: np.ndarray | None, origin: tuple[int, ...], shape: tuple[int, ...]
) -> dict:
    """What the merge needs to know about one labelled block."""
    count = int(local.max(initial=0))
    if marked is None:
        local_marked = np.zeros(count, bool)
    else:
        local_marked = np.bincount(local.ravel(), weights=marked.ravel(), minlength=count + 1)[1:] > 0
    faces = {}
    for axis in range(3):
        for side, index in (("first", 0), ("last", -1)):
            plane = [slice(None)] * 3
            plane[axis] = index
            faces[axis, side] = (_packed(local[tuple(plane)]), _packed(block[tuple(plane)]))
    return {
        "count": count,
        "first": _first_voxels(local, origin, shape),
        "voxels": np.bincount(local.ravel(), minlength=count + 1)[1:].astype(np.int64),
        "marked": local_marked,
        "faces": faces,
    }


def _packed(plane: np.ndarray) -> tuple[str, tuple[int, ...], bytes]:
    """A face plane compressed: the merge waits for every block's six faces, and mostly
    empty label planes shrink tens of times, which keeps the first pass small."""
    return plane.dtype.str, plane.shape, zlib.compress(np.ascontiguousarray(plane).tobytes(), 1)


def _unpacked(packed: tuple[str, tuple[int, ...], bytes]) -> np.ndarray:
    dtype, shape, data = packed
    return np.frombuffer(zlib.decompress(data), dtype=dtype).reshape(shape)


@dataclass(frozen=True)
class Components:
    """The global components of a volume analysed in blocks.

    Attributes
    ----------
    offsets : (n_blocks,) int64
        Added to a block's local labels (1..n) to make them unique across blocks.
    final : (n_local + 1,) int array
        Global component of each offset local label (0 for background), numbered
        1..K in raster order of the component's first voxel.
    voxels : (K + 1,) int64
        Voxels per component (index 0 unused).
    on_border : (K + 1,) bool
        True for components that touch a face of the volume.
    marked : (K + 1,) bool
        True for components holding at least one voxel of the ``marked`` array.
    """

    offsets: np.ndarray
    final: np.ndarray
    voxels: np.ndarray
    on_border: np.ndarray
    marked: np.ndarray


def _shifted(a: np.ndarray, b: np.ndarray, dp: int, dq: int) -> tuple[np.ndarray, np.ndarray]:
    """Pair plane ``a`` at (p, q) with plane ``b`` at (p + dp, q + dq), where both exist."""
    rows, cols = a.shape
    a_part = a[max(0, -dp): rows - max(0, dp), max(0, -dq): cols - max(0, dq)]
    b_part = b[max(0, dp): rows - max(0, -dp), max(0, dq): cols - max(0, -dq)]
    return a_part, b_part


def _tile(planes: np.ndarray) -> np.ndarray:
    """Assemble a 2D grid (object array) of face planes into one plane."""
    return np.block([[planes[i, j] for j in range(planes.shape[1])] for i in range(planes.shape[0])])


def _merge(summaries: list[dict], *, grid: tuple[int, int, int], connectivity: int) -> Components:
    counts = np.array([s["count"] for s in summaries], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)[:-1]]).astype(np.int64)
    total = int(counts.sum())
    by_position = np.empty(grid, dtype=object)
    for flat_index, summary in enumerate(summaries):
        by_position[np.unravel_index(flat_index, grid)] = (summary, offsets[flat_index])

    def face(axis: int, side: str, index: int) -> tuple[np.ndarray, np.ndarray]:
        """The plane (offset labels, values) of every block at ``index`` along ``axis``, tiled."""
        selection = [slice(None)] * 3
        selection[axis] = index
        row = by_position[tuple(selection)]
        labels, values = np.empty(row.shape, object), np.empty(row.shape, object)
        for position, (summary, offset) in np.ndenumerate(row):
            plane_labels, plane_values = map(_unpacked, summary["faces"][axis, side])
            labels[position] = np.where(plane_labels > 0, plane_labels.astype(np.int64) + offset, 0)
            values[position] = plane_values
        return _tile(labels), _tile(values)

    sources, targets, border = [], [], []
    for axis in range(3):
        for index in range(grid[axis] - 1):
            (a, a_values), (b, b_values) = face(axis, "last", index), face(axis, "first", index + 1)
            for dp, dq in _PLANE_SHIFTS[connectivity]:
                a_part, b_part = _shifted(a, b, dp, dq)
                av_part, bv_part = _shifted(a_values, b_values, dp, dq)
                joined = (a_part > 0) & (b_part > 0) & (av_part == bv_part)
                sources.append(a_part[joined])
                targets.append(b_part[joined])
        border.append(face(axis, "first", 0)[0].ravel())
        border.append(face(axis, "last", grid[axis] - 1)[0].ravel())

    source = np.concatenate(sources) if sources else np.zeros(0, np.int64)
    target = np.concatenate(targets) if targets else np.zeros(0, np.int64)
    graph = coo_matrix((np.ones(len(source), np.int8), (source - 1, target - 1)), shape=(total, total))
    _, component = graph_components(graph, directed=False) if total else (0, np.zeros(0, np.int64))
    # number the components in raster order of their first voxel
    first = np.concatenate([s["first"] for s in summaries]) if total else np.zeros(0, np.int64)
    component_first = np.full(component.max(initial=-1) + 1, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(component_first, component, first)
    rank = np.empty(len(component_first), np.int64)
    rank[np.argsort(component_first, kind="stable")] = np.arange(1, len(component_first) + 1)
    final = np.concatenate([[0], rank[component]]).astype(np.uint32 if total < 2**32 else np.uint64)

    voxels = np.bincount(final[1:], weights=np.concatenate([s["voxels"] for s in summaries]) if total else None,
                         minlength=len(rank) + 1).astype(np.int64)
    on_border = np.zeros(len(rank) + 1, bool)
    on_border[final[np.unique(np.concatenate(border))]] = True
    on_border[0] = False
    marked = np.zeros(len(rank) + 1, bool)
    if total:
        marked[final[1:][np.concatenate([s["marked"] for s in summaries])]] = True
    marked[0] = False
    return Components(offsets=offsets, final=final, voxels=voxels, on_border=on_border, marked=marked)


def _whole_array_components(local: np.ndarray, marked: np.ndarray | None) -> Components:
    """`Components` of a volume labelled in one piece: cc3d's labels are already final."""
    count = int(local.max(initial=0))
    ids, counts = fastremap.unique(local, return_counts=True)  # no int64 copy, unlike bincount
    voxels = np.zeros(count + 1, np.int64)
    voxels[ids] = counts
    voxels[0] = 0
    on_border = np.zeros(count + 1, bool)
    for axis in range(3):
        on_border[np.unique(np.take(local, [0, -1], axis=axis))] = True
    on_border[0] = False
    flagged = np.zeros(count + 1, bool)
    if marked is not None:
        flagged = np.bincount(local.ravel(), weights=marked.ravel(), minlength=count + 1) > 0
        flagged[0] = False
    return Components(
        offsets=np.zeros(1, np.int64), final=np.arange(count + 1, dtype=local.dtype),
        voxels=voxels, on_border=on_border, marked=flagged,
    )


def _global_labels(local: np.ndarray, components: Components, block_index: int) -> np.ndarray:
    offset = int(components.offsets[block_index])
    table = components.final[offset: offset + int(local.max(initial=0)) + 1].copy()
    table[0] = 0  # local 1..n are offset + 1..n; local 0 is background
    return table[local]


def _finish_block(
    block: np.ndarray, components: Components, *, block_index: int, connectivity: int,
    finish: Callable[[np.ndarray, np.ndarray, Components], np.ndarray], shape: tuple[int, ...], dtype: Any,
) -> np.ndarray:
    local = _local_labels(block, connectivity, label_dtype(shape))
    return finish(block, _global_labels(local, components, block_index), components).astype(dtype, copy=False)


def analyse_components(
    source: Any,
    *,
    connectivity: int,
    finish: Callable[[np.ndarray, np.ndarray, Components], np.ndarray],
    dtype: Any,
    marked: Any = None,
) -> Any:
    """Label ``source``'s components globally and turn them into an output with ``finish``.

    Parameters
    ----------
    source : (Z, Y, X) bool or integer array, numpy or dask
        Bool: components of True voxels. Integers: components of equal non-zero values.
    connectivity : {6, 18, 26}
    finish : callable
        ``finish(block, global_labels, components) -> output block``; ``global_labels``
        are the final component ids (0 = background) of the block's voxels.
    dtype : numpy dtype
        The output's dtype.
    marked : (Z, Y, X) bool array, optional
        Voxels whose components `Components.marked` flags (e.g. seeds).

    Returns
    -------
    (Z, Y, X) array, numpy or lazy dask like ``source``; identical either way. For a
    dask ``source`` the first pass (per-block summaries and their merge) is computed
    when this is called; the returned array is lazy in the second pass only.
    """
    shape = tuple(int(n) for n in source.shape)
    if not is_dask(source):
        source = np.asarray(source)
        local = _local_labels(source, connectivity, label_dtype(shape))
        components = _whole_array_components(local, None if marked is None else np.asarray(marked))
        return finish(source, local, components).astype(dtype, copy=False)
    grid = tuple(len(c) for c in source.chunks)
    starts = [np.concatenate([[0], np.cumsum(c)[:-1]]) for c in source.chunks]
    blocks = source.to_delayed()
    marked_blocks = None if marked is None else da.asarray(marked).rechunk(source.chunks).to_delayed()
    summaries = []
    for position in np.ndindex(grid):
        origin = tuple(int(starts[axis][i]) for axis, i in enumerate(position))
        summarise = partial(_summarise, origin=origin, shape=shape, connectivity=connectivity)
        marked_block = None if marked_blocks is None else marked_blocks[position]
        summaries.append(dask.delayed(summarise, pure=True)(blocks[position], marked_block))
    # The first pass runs now: block summaries and their merge are small, and computing
    # them apart from the second pass lets each input block be freed once summarised, so
    # memory stays bounded by a few blocks; the second pass reads the input again.
    merged = dask.delayed(partial(_merge, grid=grid, connectivity=connectivity), pure=True)(summaries).compute()
    components = dask.delayed(merged, pure=True)
    pieces = np.empty(grid, dtype=object)
    for flat_index, position in enumerate(np.ndindex(grid)):
        block_shape = tuple(source.chunks[axis][i] for axis, i in enumerate(position))
        task = partial(
            _finish_block, block_index=flat_index, connectivity=connectivity, finish=finish, shape=shape,
            dtype=dtype,
        )
        pieces[position] = da.from_delayed(
            dask.delayed(task, pure=True)(blocks[position], components),
            shape=block_shape, dtype=dtype, meta=np.empty((0, 0, 0), dtype=dtype),
        )
    return da.block(pieces.tolist())


def _labels_as_output(block: np.ndarray, labels: np.ndarray, components: Components) -> np.ndarray:
    return labels


def connected_components(image: Any, *, connectivity: int = 26) -> Any:
    """Label connected components: 1..K in raster (Z, Y, X) order of each one's first voxel.

    Parameters
    ----------
    image : (Z, Y, X) bool or integer array, numpy or dask
        A mask (components of True voxels) or labels/classes (components of equal
        non-zero values, so touching objects with different ids stay apart).
    connectivity : {6, 18, 26}
        Neighbours sharing a face (6), also an edge (18), also a corner (26).

    Returns
    -------
    (Z, Y, X) uint32 array (uint64 for volumes of 2³² voxels or more); a dask input
    gives a lazy result identical to the numpy result, label for label.

    Examples
    --------
    >>> import numpy as np
    >>> mask = np.zeros((1, 1, 5), bool); mask[0, 0, [0, 1, 3]] = True
    >>> connected_components(mask).ravel().tolist()
    [1, 1, 0, 2, 0]
    """
    connectivity = check_connectivity(connectivity)
    source = check_objects(image, what="image")
    dtype = label_dtype(tuple(source.shape))
    if not is_dask(source):  # cc3d's own numbering is the definition the block-wise merge reproduces
        return _local_labels(np.asarray(source), connectivity, dtype)
    return analyse_components(source, connectivity=connectivity, finish=_labels_as_output, dtype=dtype)
