"""The low-density pockets under nuclear pores, by 3D operations: the first step of `vemprof pores`.

Under each nuclear pore the chromatin leaves a small pocket of low density, 100–300 nm
across, in the band just inside the nuclear envelope; each is hard to see in one plane
but stands out in 3D against the band around it. The chain `POCKETS_CHAIN` (YAML,
shipped with the package, every length in nm, editable) takes the band inside the
nucleus, compares each voxel with the band around it (`ops.normalize_in_mask`), keeps
the clearly brighter spots, splits them between their brightest points and keeps the
pocket-sized ones that reach up to the envelope (a pocket hangs from its pore).

The chain runs on the box of each nucleus (`nucleus_boxes`: the nucleus and `BOX_MARGIN_NM`
around it), in memory: its work follows the nuclei, not the volume, which matters for a
field of cells (at 10⁹ voxels, 16 nuclei). Boxes that overlap are joined while the
joined box fits in memory (`BOX_VOXELS`); past that they stay apart, and each box
leaves out the nuclei of the other. A nucleus whose own box is too large has the whole
volume go step by step, staged on disk.

The chain wants low density bright. EM contrast (membranes and chromatin dark) already
is; raw backscatter contrast (membranes bright) is inverted first. ``contrast='auto'``
tells them apart by the envelope: the band of `ENVELOPE_BAND_NM` inside the nucleus's
surface is darker than the nucleoplasm deeper in (`NUCLEOPLASM_BAND_NM`) in EM
contrast, brighter in backscatter.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from pathlib import Path
from typing import Literal

import cc3d
import dask.array as da
import numpy as np
import pandas as pd
from scipy import ndimage

from vemprof import ops
from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.ops import ARRAY_PARAMETERS, load_chain
from vemprof.pipeline import run_ops_chain
from vemprof.store import Store

#: The chain of operations that finds the pockets (see its comments).
POCKETS_CHAIN = Path(__file__).with_name("pockets.yaml")
#: Depths (nm inside the nucleus's surface) of the envelope (at least one voxel deep) and
#: of the nucleoplasm beneath it, compared to tell EM contrast from backscatter.
ENVELOPE_BAND_NM = (0.0, 40.0)
NUCLEOPLASM_BAND_NM = (200.0, 400.0)
#: Boxes up to this many voxels run the chain in memory (faster; about 65 bytes a voxel
#: at its peak: 4.4 GB); beyond, the volume goes step by step, each step staged on disk
#: (`vemprof.pipeline.run_ops_chain`). At 2²⁷, two nuclei's boxes joined peaked at 9 GB.
BOX_VOXELS = 2 ** 26
#: How far a nucleus's box reaches beyond it, nm: past every reach of the chain outside
#: the nucleus (the band and its windows lie inside it; the Gaussian reaches 4 σ = 80 nm).
BOX_MARGIN_NM = 1000.0
#: Pieces of the nucleus mask under this share of it are crumbs, not a second nucleus.
_CRUMB_FRACTION = 0.01

Contrast = Literal["auto", "em", "backscatter"]


def find_pockets(store: Store, *, nucleus: str = "nucleus", out: str = "pockets", contrast: Contrast = "auto",
                 chain: str | Path = POCKETS_CHAIN, each_nucleus: bool = False,
                 progress: ProgressReporter = no_progress) -> int:
    """Find the pockets under the nuclear pores of ``labels/<nucleus>`` in the raw image and
    write them as ``labels/<out>`` (one id per pocket); returns how many.

    ``contrast``: 'em' (low density bright), 'backscatter' (inverted first) or 'auto'
    (`pocket_contrast`). ``chain``: the YAML chain, `POCKETS_CHAIN` by default; it takes
    the inputs ``bright`` and ``nucleus`` and makes ``pockets``. ``each_nucleus``: the
    mask may hold several nuclei (a volume of many cells); else one piece is required."""
    if contrast not in ("auto", "em", "backscatter"):
        raise VemprofError(f"--contrast must be auto, em or backscatter, not {contrast!r}")
    started = dt.datetime.now(dt.timezone.utc)
    mask = store.labels(nucleus).data > 0
    pieces, stride = _coarse_pieces(mask)
    _check_nucleus(mask, name=nucleus, each_nucleus=each_nucleus, pieces=pieces)
    raw = store.raw().data
    boxes = nucleus_boxes(pieces, stride=stride, shape=mask.shape, spacing=store.spacing, margin_nm=BOX_MARGIN_NM,
                          most_voxels=BOX_VOXELS)
    nothing = (f"no pocket found under the envelope of labels/{nucleus}; check --contrast (it was {{}}) or lower the "
               f"threshold 'value' in a copy of {POCKETS_CHAIN.name} (--pockets-chain)")
    if max(math.prod(b.stop - b.start for b in box) for box, _ in boxes) <= BOX_VOXELS:
        chosen, count = _run_in_boxes(store, chain, raw, mask, boxes=boxes, pieces=(pieces, stride),
                                      contrast=contrast, out=out, like=nucleus, nothing=nothing, progress=progress)
    else:
        chosen = pocket_contrast(raw, mask, spacing=store.spacing) if contrast == "auto" else contrast
        bright = ({"op": "gaussian", "input": "raw", "output": "bright", "sigma_nm": 0} if chosen == "em"
                  else {"op": "invert", "input": "raw", "output": "bright"})  # low density bright, staged
        count = _run_staged(store, chain, staged_first=[bright], names={"nucleus": nucleus, "pockets": out},
                            out=out, nothing=nothing.format(chosen), progress=progress)
    store.record("pores", outputs=[f"labels/{out}"], started=started,
                 parameters={"step": "pockets", "nucleus": nucleus, "contrast": chosen, "chain": str(chain),
                             "pockets": count})
    return count


def nucleus_boxes(pieces: np.ndarray, *, stride: tuple[int, int, int], shape: tuple[int, int, int],
                  spacing, margin_nm: float = BOX_MARGIN_NM,
                  most_voxels: float = math.inf) -> list[tuple[tuple[slice, slice, slice], set[int]]]:
    """Boxes of the full volume (``shape``) that hold every piece of the nucleus mask and
    ``margin_nm`` around it, each with the pieces it holds for its own.

    ``pieces`` are the mask's connected pieces in blocks of ``stride`` voxels
    (`_coarse_pieces`); each piece's box is widened by a stride and the margin, and boxes
    that overlap are joined into one, unless the joined box would be over
    ``most_voxels``: those two stay apart, overlapping (two nuclei of neighbouring cells,
    close)."""
    reach = [stride[axis] + math.ceil(margin_nm / spacing[axis]) for axis in range(3)]
    boxes = [([(max(0, s.start * stride[axis] - reach[axis]), min(shape[axis], s.stop * stride[axis] + reach[axis]))
               for axis, s in enumerate(piece)], {index})
             for index, piece in enumerate(ndimage.find_objects(pieces), start=1) if piece is not None]
    joined = True
    while joined:
        joined = False
        for i, j in itertools.combinations(range(len(boxes)), 2):
            (first, own_first), (second, own_second) = boxes[i], boxes[j]
            union = [(min(a[0], b[0]), max(a[1], b[1])) for a, b in zip(first, second)]
            if (all(a[0] < b[1] and b[0] < a[1] for a, b in zip(first, second))
                    and math.prod(high - low for low, high in union) <= most_voxels):
                boxes[i] = (union, own_first | own_second)
                del boxes[j]
                joined = True
                break
    return [(tuple(slice(low, high) for low, high in box), own) for box, own in boxes]


def _own_nucleus(mask: np.ndarray, box: tuple[slice, ...], own: set[int], pieces: np.ndarray,
                 stride: tuple[int, int, int]) -> np.ndarray:
    """``mask`` (bool, the nucleus mask read in ``box``) less the voxels of the coarse
    pieces (`_coarse_pieces`) not in ``own``: the nuclei of other boxes that reach into it."""
    kept = np.zeros(int(pieces.max()) + 1, bool)
    kept[list(own)] = True
    blocks = np.ix_(*[np.arange(b.start, b.stop) // step for b, step in zip(box, stride)])
    return mask & kept[pieces[blocks]]


def _run_in_boxes(store: Store, chain, raw, mask, *, boxes, pieces, contrast: Contrast, out: str, like: str,
                  nothing: str, progress: ProgressReporter) -> tuple[str, int]:
    """Run ``chain`` in memory on each box of ``raw`` and ``mask`` (`nucleus_boxes`: each
    with its own nuclei, those of a box that overlaps it left out) and write what it
    makes as ``labels/<out>``, numbered on from box to box; the contrast chosen (from the
    largest box, for 'auto') and the number of pockets. ``pieces``: the mask's
    `_coarse_pieces` and their stride. With none, the one-line error ``nothing``
    (formatted with the contrast) and nothing written."""
    largest = max((box for box, _ in boxes), key=lambda box: math.prod(b.stop - b.start for b in box))
    chosen = contrast
    if contrast == "auto":
        chosen = pocket_contrast(np.asarray(raw[largest]), np.asarray(mask[largest]), spacing=store.spacing)
    voxels, count = [], 0
    with progress(f"making labels/{out}", len(boxes)) as advance:
        for box, own in boxes:
            image = np.asarray(raw[box])
            inputs = {"bright": image if chosen == "em" else ops.invert(image),
                      "nucleus": _own_nucleus(np.asarray(mask[box]), box, own, *pieces)}
            pockets = np.asarray(ops.run_chain(chain, inputs, spacing=store.spacing, keep=["pockets"])["pockets"])
            found = np.nonzero(pockets)
            ids = np.unique(pockets[found], return_inverse=True)[1].astype(np.uint32) + 1  # 1..k in id order
            voxels.append(pd.DataFrame({"z": found[0] + box[0].start, "y": found[1] + box[1].start,
                                        "x": found[2] + box[2].start, "label": ids + np.uint32(count)}))
            count += int(ids.max(initial=0))
            advance(1)
    if count == 0:
        raise VemprofError(nothing.format(chosen))
    write_voxels(store, out, pd.concat(voxels, ignore_index=True), like=like, dtype=np.uint32, progress=progress)
    return chosen, count


def _run_staged(store: Store, chain, *, staged_first: list[dict], names: dict[str, str], out: str, nothing: str,
                progress: ProgressReporter) -> int:
    """Run ``chain`` on the whole store, each step staged on disk (`run_ops_chain`,
    resumable), and write its ``pockets`` as ``labels/<out>``; the number of pockets.
    ``staged_first`` steps make the inputs that are not store members, and ``names``
    maps the chain's names to the store's. With none, the one-line error ``nothing`` and
    nothing written."""
    counted = []

    def count_before_writing(arrays) -> None:
        counted.append(len(da.unique(da.asarray(arrays[out])).compute()) - 1)  # ids need not be consecutive
        if counted[-1] <= 0:
            raise VemprofError(nothing)

    steps = staged_first + _renamed(load_chain(chain), names)
    run_ops_chain(store, steps, outputs=[out], check=count_before_writing, progress=progress)
    return counted[-1]


def _renamed(steps: list[dict], names: dict[str, str]) -> list[dict]:
    """``steps`` with the arrays they read and make renamed by ``names``."""
    keys = ("input", "output", *ARRAY_PARAMETERS)

    def rename(value):
        return names.get(value, value) if isinstance(value, str) else value

    return [{key: [rename(v) for v in value] if key == "inputs" else rename(value) if key in keys else value
             for key, value in step.items()} for step in steps]


def write_labels_like(store: Store, name: str, labels, *, like: str, progress: ProgressReporter) -> None:
    """Write ``labels/<name>`` in the chunks of ``labels/<like>``, with a progress bar."""
    chunks = store.labels(like).data.chunksize
    with progress(f"writing labels/{name}", store.chunks_to_write(labels.shape, chunks, averaged=False)) as advance:
        store.write_labels(name, labels, chunks=chunks, progress=advance)


def write_voxels(store: Store, name: str, voxels: pd.DataFrame, *, like: str, dtype,
                 progress: ProgressReporter) -> None:
    """Write ``voxels`` (columns ``z``, ``y``, ``x``, ``label``; one row per voxel) as
    ``labels/<name>`` (0 elsewhere) in the chunks of ``labels/<like>``, chunk by chunk."""
    labels = da.map_blocks(_block_of, store.labels(like).data, dtype=dtype, voxels=voxels, ids_dtype=dtype)
    write_labels_like(store, name, labels, like=like, progress=progress)


def _block_of(block: np.ndarray, *, voxels: pd.DataFrame, ids_dtype, block_info=None) -> np.ndarray:
    """The voxels' ids in one chunk of the volume (0 elsewhere)."""
    (z0, z1), (y0, y1), (x0, x1) = block_info[0]["array-location"]
    inside = voxels[(voxels["z"] >= z0) & (voxels["z"] < z1) & (voxels["y"] >= y0) & (voxels["y"] < y1)
                    & (voxels["x"] >= x0) & (voxels["x"] < x1)]
    result = np.zeros(block.shape, ids_dtype)
    result[inside["z"] - z0, inside["y"] - y0, inside["x"] - x0] = inside["label"]
    return result


def pocket_contrast(raw, nucleus, *, spacing) -> str:
    """'em' if the envelope band is darker than the nucleoplasm beneath it, else 'backscatter'."""
    depth = ops.distance_transform(nucleus, spacing=spacing, max_distance_nm=NUCLEOPLASM_BAND_NM[1])
    outermost = max(ENVELOPE_BAND_NM[1], max(spacing))  # at least the first voxel inside
    envelope = (depth > ENVELOPE_BAND_NM[0]) & (depth <= outermost)
    nucleoplasm = (depth > NUCLEOPLASM_BAND_NM[0]) & (depth <= NUCLEOPLASM_BAND_NM[1])
    if not (bool(envelope.any()) and bool(nucleoplasm.any())):
        raise VemprofError("the nucleus is too thin to tell the image's contrast (no nucleoplasm 400 nm inside its "
                           "surface); give --contrast em or --contrast backscatter")
    return "em" if float(raw[envelope].mean()) < float(raw[nucleoplasm].mean()) else "backscatter"


def _coarse_pieces(mask) -> tuple[np.ndarray, tuple[int, int, int]]:
    """The connected pieces (26-connected) of ``mask`` at a coarse scale, and its stride
    per axis: each coarse voxel is a block of stride voxels, set where any of them is
    (about 128 blocks an axis, enough for whole nuclei). Every voxel of the mask lies in a
    block of one piece, and voxels connected in the mask lie in the same piece: a nucleus
    whose lobes meet by a thin bridge stays one (sampling every stride-th voxel split it)."""
    stride = tuple(max(1, n // 128) for n in mask.shape)
    padded = da.pad(da.asarray(mask), [(0, -n % step) for n, step in zip(mask.shape, stride)], constant_values=False)
    coarse = np.asarray(da.coarsen(np.any, padded, dict(enumerate(stride))))
    return cc3d.connected_components(coarse, connectivity=26), stride


def _check_nucleus(mask, *, name: str, each_nucleus: bool = False, pieces: np.ndarray | None = None) -> None:
    """One nucleus (or, with ``each_nucleus``, any number), not empty, none cut by every
    face of the volume: else a one-line error with the fix (checked on the mask's
    `_coarse_pieces`, given or made)."""
    pieces = _coarse_pieces(mask)[0] if pieces is None else pieces
    if not pieces.any():
        raise VemprofError(f"labels/{name} is empty; segment the nucleus first (vemprof predict) or name another "
                           "with --nucleus")
    sizes = np.bincount(pieces.ravel())[1:]
    large = np.flatnonzero(sizes >= _CRUMB_FRACTION * sizes.sum()) + 1
    if len(large) > 1 and not each_nucleus:
        raise VemprofError(f"labels/{name} has {len(large)} separate pieces; keep one nucleus (an ops chain with "
                           "keep_largest) and run again, or give --each-nucleus for a volume of several cells")
    for piece in large:
        if all((pieces.take(end, axis=axis) == piece).any() for axis in range(3) for end in (0, -1)):
            raise VemprofError(f"labels/{name} reaches every face of the volume: the nucleus is cut on all sides, so "
                               "its envelope is not whole; check the nucleus segmentation or image a whole nucleus")
