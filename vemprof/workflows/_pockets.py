"""The low-density pockets under nuclear pores, by 3D operations: the first step of `vemprof pores`.

Under each nuclear pore the chromatin leaves a small pocket of low density, 100–300 nm
across, in the band just inside the nuclear envelope; each is hard to see in one plane
but stands out in 3D against the band around it. The chain `POCKETS_CHAIN` (YAML,
shipped with the package, every length in nm, editable) takes the band inside the
nucleus, compares each voxel with the band around it (`ops.normalize_in_mask`), keeps
the clearly brighter spots, splits them between their brightest points and keeps the
pocket-sized ones that reach up to the envelope (a pocket hangs from its pore).

The chain wants low density bright. EM contrast (membranes and chromatin dark) already
is; raw backscatter contrast (membranes bright) is inverted first. ``contrast='auto'``
tells them apart by the envelope: the band of `ENVELOPE_BAND_NM` inside the nucleus's
surface is darker than the nucleoplasm deeper in (`NUCLEOPLASM_BAND_NM`) in EM
contrast, brighter in backscatter.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Literal

import cc3d
import dask.array as da
import numpy as np

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
#: Volumes up to this many voxels run the chain in memory (faster); larger ones step by
#: step, each step staged on disk (`vemprof.pipeline.run_ops_chain`).
IN_MEMORY_VOXELS = 2 ** 27
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
    _check_nucleus(mask, name=nucleus, each_nucleus=each_nucleus)
    raw = store.raw().data
    if math.prod(raw.shape) <= IN_MEMORY_VOXELS:
        raw, mask = np.asarray(raw), np.asarray(mask)
    chosen = pocket_contrast(raw, mask, spacing=store.spacing) if contrast == "auto" else contrast
    in_memory = {"bright": raw if chosen == "em" else ops.invert(raw), "nucleus": mask}
    bright = ({"op": "gaussian", "input": "raw", "output": "bright", "sigma_nm": 0} if chosen == "em"
              else {"op": "invert", "input": "raw", "output": "bright"})  # the same, staged from the store
    count = _run(store, chain, in_memory=in_memory, staged_first=[bright],
                 names={"nucleus": nucleus, "pockets": out}, made="pockets", out=out, like=nucleus,
                 nothing=f"no pocket found under the envelope of labels/{nucleus}; check --contrast (it was {chosen}) "
                         f"or lower the threshold 'value' in a copy of {POCKETS_CHAIN.name} (--pockets-chain)",
                 progress=progress)
    store.record("pores", outputs=[f"labels/{out}"], started=started,
                 parameters={"step": "pockets", "nucleus": nucleus, "contrast": chosen, "chain": str(chain),
                             "pockets": count})
    return count


def _run(store: Store, chain, *, in_memory: dict, staged_first: list[dict], names: dict[str, str], made: str,
         out: str, like: str, nothing: str, progress: ProgressReporter) -> int:
    """Run ``chain`` and write what it ``made`` as ``labels/<out>``; the number of objects.

    Up to `IN_MEMORY_VOXELS`, on the numpy arrays ``in_memory`` (by the chain's input
    names). Beyond, on the store, each step staged on disk (`run_ops_chain`, resumable):
    ``staged_first`` steps make the inputs that are not store members, and ``names``
    maps the chain's names to the store's. With no object, a one-line error ``nothing``
    and nothing written."""
    def objects(labels) -> int:
        return len(da.unique(da.asarray(labels)).compute()) - 1  # ids need not be consecutive

    def refuse_none(count: int) -> None:
        if count <= 0:
            raise VemprofError(nothing)

    if all(isinstance(array, np.ndarray) for array in in_memory.values()):
        with progress(f"making labels/{out}", 1) as advance:
            result = ops.run_chain(chain, in_memory, spacing=store.spacing, keep=[made])[made]
            advance(1)
        count = objects(result)
        refuse_none(count)
        write_labels_like(store, out, result, like=like, progress=progress)
        return count
    counted = []

    def count_before_writing(arrays) -> None:
        counted.append(objects(arrays[out]))
        refuse_none(counted[-1])

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


def _check_nucleus(mask, *, name: str, each_nucleus: bool = False) -> None:
    """One nucleus (or, with ``each_nucleus``, any number), not empty, none cut by every
    face of the volume: else a one-line error with the fix (checked on every few voxels,
    enough for a whole nucleus)."""
    coarse = np.asarray(mask[tuple(slice(None, None, max(1, n // 128)) for n in mask.shape)])
    if not coarse.any():
        raise VemprofError(f"labels/{name} is empty; segment the nucleus first (vemprof predict) or name another "
                           "with --nucleus")
    pieces = cc3d.connected_components(coarse, connectivity=26)
    sizes = np.bincount(pieces.ravel())[1:]
    large = np.flatnonzero(sizes >= _CRUMB_FRACTION * sizes.sum()) + 1
    if len(large) > 1 and not each_nucleus:
        raise VemprofError(f"labels/{name} has {len(large)} separate pieces; keep one nucleus (an ops chain with "
                           "keep_largest) and run again, or give --each-nucleus for a volume of several cells")
    for piece in large:
        if all((pieces.take(end, axis=axis) == piece).any() for axis in range(3) for end in (0, -1)):
            raise VemprofError(f"labels/{name} reaches every face of the volume: the nucleus is cut on all sides, so "
                               "its envelope is not whole; check the nucleus segmentation or image a whole nucleus")
