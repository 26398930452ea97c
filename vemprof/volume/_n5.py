"""N5 containers (tensorstore's ``n5`` driver), read chunk-wise; N5 Viewer pyramids."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path

import numpy as np
import tensorstore as ts

from vemprof.errors import VemprofError
from vemprof.volume._attrs import spacing_from_attrs
from vemprof.volume._axes import default_axes, to_zyx
from vemprof.volume._guard import file_stamp, guarded_array, require_chunks
from vemprof.volume._paths import stem
from vemprof.volume._volume import Volume


def read_n5(root: Path, *, key: str | None, level: int, channel: int | None,
            allow_missing_chunks: bool = False) -> Volume:
    """Open one dataset of an N5 container lazily.

    N5 lists ``dimensions``, ``blockSize`` and ``resolution`` fastest axis first
    (X, Y, Z); the volume is returned as (Z, Y, X).

    Parameters
    ----------
    root : Path
        The container folder (``*.n5``).
    key : str or None
        Dataset or pyramid group inside ``root`` (``"raw"``, ``"em/fibsem-uint8"``); a
        group holding ``s0``, ``s1``… (N5 Viewer) reads ``s<level>``. None takes the
        container's only 3D dataset or pyramid.
    level : int
        Pyramid level, for pyramid groups; 0 is full resolution.
    channel : int or None
        Channel to keep, where the dataset's ``axes`` attribute names a ``c`` axis.
    allow_missing_chunks : bool, default False
        Read blocks missing from the container as 0. Without it, reading over a
        missing block raises `VemprofError` naming its region (tensorstore's own
        writer leaves out blocks that are all 0: pass it for such containers).

    Returns
    -------
    Volume
        Spacing in nm from the attributes of the dataset or its groups
        (`spacing_from_attrs`, ``resolution`` in X, Y, Z order).
    """
    name = _dataset_name(root, key, level)
    folder = root / name
    source = f"{root}:/{name}"
    attrs = _attributes(folder)
    names = attrs.get("axes")
    dims = attrs["dimensions"]
    letters = "".join(str(n).lower() for n in names) if isinstance(names, list) else ""
    if len(letters) == len(dims) and set(letters) <= set("xyzct"):  # neuroglancer's "axes" attribute
        axes = letters
    else:
        axes = default_axes(tuple(dims), source=source)[::-1]
    try:
        reader = _N5Dataset(str(folder), allow_missing_chunks=allow_missing_chunks)
    except ValueError as exc:
        raise VemprofError(f"{source} has unreadable N5 metadata ({exc}); restore or re-export it") from None
    data = guarded_array(partial(_N5Dataset, str(folder), allow_missing_chunks=allow_missing_chunks),
                         shape=reader.shape, dtype=reader.dtype, chunks=reader.chunks, axes=axes, source=source,
                         reader=reader, stamp=f"{file_stamp(folder / 'attributes.json')}-{allow_missing_chunks}")
    chain = [attrs] + [_attributes(p) for p in folder.parents if p == root or root in p.parents]
    return Volume(data=to_zyx(data, axes, channel=channel, source=source),
                  spacing=spacing_from_attrs(chain, xyz_resolution=True), name=stem(root), source=source)


def is_n5_root(folder: Path) -> bool:
    """Whether ``folder`` is the root of an N5 container (``*.n5``, or an ``n5`` version attribute)."""
    return folder.suffix.lower() == ".n5" or "n5" in _attributes(folder)


def _dataset_name(root: Path, key: str | None, level: int) -> str:
    """The dataset to read, relative to ``root`` ('' for the root itself)."""
    name = (key or "").strip("/")
    folder = root / name
    if key is not None and not _is_dataset(folder) and not _is_pyramid(folder):
        listing = ", ".join(_describe(root, n) for n in _volumes(root)) or "none"
        raise VemprofError(f"no dataset {key!r} in {root} (datasets and pyramids: {listing}); give --key one of those")
    if key is None and not _is_dataset(folder) and not _is_pyramid(folder):
        volumes = [n for n in _volumes(root) if len(_attributes(root / _full_resolution(root, n))["dimensions"]) == 3]
        if len(volumes) != 1:
            listing = ", ".join(_describe(root, n) for n in _volumes(root)) or "none"
            raise VemprofError(f"{root} holds {len(volumes)} 3D datasets or pyramids ({listing}); "
                               "give --key one of them (or path.n5/key)")
        name = volumes[0]
        folder = root / name
    if _is_pyramid(folder):
        levels = 0
        while _is_dataset(folder / f"s{levels}"):
            levels += 1
        if not 0 <= level < levels:
            raise VemprofError(f"level {level} is out of range: {root}:/{name} has pyramid levels 0…{levels - 1}; "
                               "give --level one of those")
        return f"{name}/s{level}".strip("/")
    if level != 0:
        raise VemprofError(f"level {level} is out of range: {root}:/{name} is a single dataset without a pyramid; "
                           "give --level 0")
    return name


def _volumes(root: Path) -> list[str]:
    """Datasets and pyramid groups under ``root`` (not the levels inside pyramids), sorted."""
    found = []
    for folder, subfolders, _ in os.walk(root):
        here = Path(folder)
        if _is_dataset(here) or _is_pyramid(here):
            found.append("" if here == root else here.relative_to(root).as_posix())
            subfolders.clear()  # never walk into chunk folders or pyramid levels
    return sorted(found)


def _full_resolution(root: Path, name: str) -> str:
    return f"{name}/s0".strip("/") if _is_pyramid(root / name) else name


def _describe(root: Path, name: str) -> str:
    attrs = _attributes(root / _full_resolution(root, name))
    shape = "×".join(str(n) for n in reversed(attrs.get("dimensions", [])))
    return f"/{name} {shape} {attrs.get('dataType', '?')}"


def _is_dataset(folder: Path) -> bool:
    return "dimensions" in _attributes(folder)


def _is_pyramid(folder: Path) -> bool:
    return not _is_dataset(folder) and _is_dataset(folder / "s0")


def _attributes(folder: Path) -> dict:
    """The JSON object in ``folder/attributes.json``; empty where there is none."""
    try:
        text = (folder / "attributes.json").read_text()
    except OSError:
        return {}
    try:
        document = json.loads(text)
    except ValueError as exc:
        raise VemprofError(f"{folder / 'attributes.json'} is not valid JSON ({exc}); "
                           "restore the N5 container or re-export it") from None
    return document if isinstance(document, dict) else {}


class _N5Dataset:
    """One N5 dataset opened with tensorstore, in the file's (X, Y, Z) order.

    Unless ``allow_missing_chunks``, each read first checks (one ``stat`` per block) that
    the blocks it covers exist: tensorstore reads a missing block as 0.
    """

    def __init__(self, folder: str, *, allow_missing_chunks: bool):
        self.folder, self.allow_missing_chunks = folder, allow_missing_chunks
        self._store = ts.open({"driver": "n5", "kvstore": {"driver": "file", "path": folder}}, read=True).result()
        self.shape = tuple(self._store.shape)
        self.dtype = np.dtype(self._store.dtype.numpy_dtype)
        self.chunks = tuple(self._store.chunk_layout.read_chunk.shape)

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        if not self.allow_missing_chunks:
            require_chunks(key, shape=self.shape, grid=self.chunks, is_stored=self._is_stored, fill_value=0)
        return self._store[key].read().result()

    def _is_stored(self, coords: tuple[int, ...]) -> bool:
        """Whether block ``coords`` (grid indices, N5's order) is on disk at ``folder/x/y/z``."""
        return os.path.exists(os.path.join(self.folder, *map(str, coords)))
