"""OME-Zarr (NGFF v0.1–v0.5; zarr v2 and v3) multiscale images and labels, and plain zarr arrays."""

from __future__ import annotations

import json
import os
from functools import partial
from pathlib import Path
from typing import Any, Mapping

import dask.array as da
import numpy as np
import zarr
import zarr.errors

from vemprof.errors import VemprofError
from vemprof.volume._attrs import spacing_from_attrs
from vemprof.volume._axes import default_axes, to_zyx
from vemprof.volume._guard import file_stamp, guarded_array, require_chunks
from vemprof.volume._paths import stem
from vemprof.volume._units import as_float, nm_per_unit
from vemprof.volume._volume import Spacing, Volume

_METADATA_ERRORS = (ValueError, OSError, TypeError, KeyError)  # invalid JSON or metadata


def read_zarr(path: Path, *, key: str | None, level: int, channel: int | None,
              allow_missing_chunks: bool = False) -> Volume:
    """Open the OME-Zarr image, NGFF label image or plain zarr array at ``path[/key]``.

    Parameters
    ----------
    path : Path
        A zarr folder (group or array; zarr format 2 or 3).
    key : str or None
        Path of a group or array inside ``path`` (``"labels/cell"``, ``"raw/s0"``).
    level : int
        Pyramid level of a multiscale image; 0 is full resolution.
    channel : int or None
        Channel to keep where the image has several.
    allow_missing_chunks : bool, default False
        Read chunks (or shards) missing from the store as the array's fill value. Without
        it, reading a block of an image over a missing chunk raises `VemprofError`
        naming the chunk's region; NGFF label images always allow it (their writers
        leave out chunks of background).

    Returns
    -------
    Volume
        Lazy (Z, Y, X) data; ``is_labels`` for an NGFF label image (``image-label``
        metadata); spacing from the level's ``coordinateTransformations`` in nm, None
        where an axis has no known length unit.
    """
    target = path / key.strip("/") if key else path
    if key and not target.exists():
        listing = ", ".join(f"{name} {node.shape} {node.dtype}" for name, node in _arrays(_open_node(path))[:12])
        raise VemprofError(f"no array or group {key!r} in {path} (arrays: {listing or 'none'}); "
                           "give --key one of those")
    node = _open_node(target)
    if isinstance(node, zarr.Array):
        _no_pyramid(level, target)
        return (_pyramid_level(target, channel=channel, allow_missing_chunks=allow_missing_chunks)
                or _plain_array(node, target, channel=channel, allow_missing_chunks=allow_missing_chunks))
    meta = _ome(node.attrs.asdict())
    if "multiscales" in meta:
        return _multiscale(node, meta, target, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)
    if "labels" in meta:
        names = ", ".join(map(str, meta["labels"])) or "none"
        raise VemprofError(f"{target} is the list of label images of an OME-Zarr (available: {names}); "
                           f"open one of them, e.g. {target}/{meta['labels'][0] if meta['labels'] else '<name>'}")
    if "plate" in meta or "well" in meta:
        raise VemprofError(f"{target} is an OME-Zarr plate or well; open one image inside it, e.g. {target}/A/1/0")
    return _only_array(node, target, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)


def _open_node(target: Path) -> zarr.Array | zarr.Group:
    if not target.exists():
        raise VemprofError(f"no such file or folder: {target}; check the path and the key")
    try:
        return zarr.open(store=str(target), mode="r")
    except zarr.errors.NodeNotFoundError:
        raise VemprofError(f"{target} is not a zarr array or group (no zarr.json, .zarray or .zgroup); "
                           "give the folder of a zarr store") from None
    except _METADATA_ERRORS as exc:
        raise _unreadable_metadata(target, exc) from None


def _unreadable_metadata(target: Path, exc: Exception) -> VemprofError:
    """The error for zarr metadata at ``target`` that zarr could not read, naming the file at fault."""
    present = [name for name in ("zarr.json", ".zarray", ".zgroup", ".zattrs") if (target / name).is_file()]
    broken = [name for name in present if not _parses(target / name)] or present
    return VemprofError(f"{target} has unreadable zarr metadata in {' or '.join(broken) or 'its metadata files'} "
                        f"({type(exc).__name__}: {exc}); restore the store or re-export it")


def _ome(attrs: Mapping[str, Any]) -> Mapping[str, Any]:
    """NGFF metadata: under ``ome`` in v0.5, at the top level in v0.4 and earlier."""
    ome = attrs.get("ome")
    return ome if isinstance(ome, Mapping) else attrs


def _multiscale(group: zarr.Group, meta: Mapping, target: Path, *, level: int, channel: int | None,
                allow_missing_chunks: bool) -> Volume:
    multiscale = (meta["multiscales"] or [{}])[0]
    datasets = multiscale.get("datasets") or []
    if not datasets:
        raise VemprofError(f"{target} has OME-Zarr metadata that lists no pyramid levels; "
                           "restore the store or re-export it")
    if not 0 <= level < len(datasets):
        raise VemprofError(f"level {level} is out of range: {target} has pyramid levels 0…{len(datasets) - 1}; "
                           "give --level one of those")
    dataset = datasets[level]
    array_path = str(dataset.get("path", ""))
    try:
        array = group[array_path]
    except KeyError:
        raise VemprofError(f"{target} lists pyramid level {level} at {array_path!r} but that array is missing; "
                           "restore the store or re-export it") from None
    except _METADATA_ERRORS as exc:
        raise _unreadable_metadata(target / array_path, exc) from None
    letters, units = _axes(multiscale.get("axes"), array.ndim, source=str(target))
    scale = _scale(dataset.get("coordinateTransformations"), array.ndim)
    top = _scale(multiscale.get("coordinateTransformations"), array.ndim)
    spacing = _spacing(letters, units, scale, top)
    source = f"{target}/{array_path}"
    is_labels = "image-label" in meta
    data = to_zyx(_lazy(array, letters, source, allow_missing_chunks=allow_missing_chunks or is_labels), letters,
                  channel=channel, source=str(target))
    return Volume(data=data, spacing=spacing, name=target.name if is_labels else stem(target), is_labels=is_labels,
                  source=str(target) if level == 0 else f"{target} (level {level})")


def _axes(axes: Any, ndim: int, *, source: str) -> tuple[str, list]:
    """(one letter per axis, one unit or None per axis) from NGFF ``axes`` metadata."""
    if axes is None:  # NGFF v0.1/v0.2: always 5D t, c, z, y, x
        return "tczyx"[-ndim:], [None] * ndim
    if len(axes) != ndim:
        raise VemprofError(f"{source} lists {len(axes)} axes for a {ndim}D array; restore or re-export the store")
    names, types, units = [], [], []
    for axis in axes:  # v0.3: names only; v0.4+: {name, type, unit}
        entry = axis if isinstance(axis, Mapping) else {"name": axis}
        names.append(str(entry.get("name", "")).lower())
        types.append(entry.get("type"))
        units.append(entry.get("unit"))
    spatial = [i for i, kind in enumerate(types) if kind == "space"]
    if not {"z", "y", "x"} <= set(names) and len(spatial) == 3:  # spatial axes under other names
        for i, letter in zip(spatial, "zyx"):
            names[i] = letter
    letters = ""
    for name, kind in zip(names, types):
        if name in ("z", "y", "x"):
            letters += name
        elif kind == "channel" or name == "c":
            letters += "c"
        else:
            letters += "t" if kind == "time" or name == "t" else "?"
    return letters, units


def _scale(transforms: Any, ndim: int) -> list[float | None]:
    """Per-axis product of the ``scale`` transforms; None where a scale is not inline."""
    scale: list[float | None] = [1.0] * ndim
    for transform in transforms or []:
        if transform.get("type") != "scale":
            continue
        values = transform.get("scale")
        if not isinstance(values, list) or len(values) != ndim:  # "path" to a binary scale, or malformed
            return [None] * ndim
        factors = [as_float(v) for v in values]
        scale = [None if s is None or f is None else s * f for s, f in zip(scale, factors)]
    return scale


def _spacing(letters: str, units: list, scale: list, top: list) -> Spacing | None:
    values = []
    for letter in "zyx":
        i = letters.index(letter) if letter in letters else None
        factor = None if i is None else nm_per_unit(units[i])
        if factor is None or scale[i] is None or top[i] is None or scale[i] * top[i] <= 0:
            return None
        values.append(scale[i] * top[i] * factor)
    return tuple(values)  # type: ignore[return-value]


def _pyramid_level(target: Path, *, channel: int | None, allow_missing_chunks: bool) -> Volume | None:
    """``target`` read as a level of the OME-Zarr image in the folder above it, if it is one."""
    parents = _parent_attrs(target)
    meta = _ome(parents[0]) if parents else {}
    multiscales = meta.get("multiscales") or [{}]
    paths = [str(d.get("path", "")).strip("/") for d in multiscales[0].get("datasets") or []]
    if target.name not in paths:
        return None
    return _multiscale(zarr.open_group(str(target.parent), mode="r"), meta, target.parent,
                       level=paths.index(target.name), channel=channel, allow_missing_chunks=allow_missing_chunks)


def _plain_array(array: zarr.Array, target: Path, *, channel: int | None, allow_missing_chunks: bool) -> Volume:
    names = getattr(array.metadata, "dimension_names", None)
    if names and all(isinstance(n, str) and n.lower() in ("z", "y", "x", "c", "t") for n in names):
        letters = "".join(n.lower() for n in names)
    else:
        letters = default_axes(array.shape, source=str(target))
    data = to_zyx(_lazy(array, letters, str(target), allow_missing_chunks=allow_missing_chunks), letters,
                  channel=channel, source=str(target))
    chain = [array.attrs.asdict(), *_parent_attrs(target)]
    return Volume(data=data, spacing=spacing_from_attrs(chain, xyz_resolution=False), name=stem(target),
                  source=str(target))


def _only_array(group: zarr.Group, target: Path, *, level: int, channel: int | None,
                allow_missing_chunks: bool) -> Volume:
    """A group without NGFF metadata: its one 3D array, or an error listing what is there."""
    arrays = _arrays(group)
    volumes = [(name, node) for name, node in arrays if node.ndim == 3]
    if len(volumes) == 1:
        _no_pyramid(level, target)
        return _plain_array(volumes[0][1], target / volumes[0][0], channel=channel,
                            allow_missing_chunks=allow_missing_chunks)
    listing = ", ".join(f"{name} {node.shape} {node.dtype}" for name, node in arrays) or "none"
    raise VemprofError(f"{target} is a zarr group without OME-Zarr metadata and holds "
                       f"{len(volumes)} 3D arrays (arrays: {listing}); give --key one of them")


def _arrays(node: zarr.Array | zarr.Group) -> list[tuple[str, zarr.Array]]:
    """(path, array) of every array in a group and its subgroups, sorted by path."""
    if isinstance(node, zarr.Array):
        return []
    return sorted((name, member) for name, member in node.members(max_depth=None) if isinstance(member, zarr.Array))


def _parent_attrs(target: Path) -> list[dict]:
    """Attributes of the zarr groups above ``target``, nearest first."""
    chain = []
    for parent in target.parents:
        if (parent / "zarr.json").is_file():
            chain.append(_read_json(parent / "zarr.json").get("attributes", {}))
        elif (parent / ".zgroup").is_file():
            chain.append(_read_json(parent / ".zattrs"))
        else:
            break
    return chain


def _parses(path: Path) -> bool:
    try:
        json.loads(path.read_text())
    except (OSError, ValueError):
        return False
    return True


def _read_json(path: Path) -> dict:
    """A JSON object from ``path``; empty where it is missing or unreadable (no metadata then)."""
    try:
        document = json.loads(path.read_text())
    except (OSError, ValueError):
        return {}
    return document if isinstance(document, dict) else {}


def _lazy(array: zarr.Array, letters: str, folder: str, *, allow_missing_chunks: bool) -> da.Array:
    """``array`` (stored in ``folder``) as a guarded dask array in its own axis order."""
    reader = _ZarrArray(folder, allow_missing_chunks=allow_missing_chunks, array=array)
    return guarded_array(partial(_ZarrArray, folder, allow_missing_chunks=allow_missing_chunks), shape=array.shape,
                         dtype=array.dtype, chunks=array.chunks, axes=letters, source=folder, reader=reader,
                         stamp=f"{file_stamp(folder)}-{allow_missing_chunks}")


class _ZarrArray:
    """A zarr array in a local folder that refuses to read a missing chunk as its fill value, unless allowed.

    Each block read first checks (one ``stat`` per chunk, or per shard of a sharded array)
    that the chunks it covers are stored, under zarr's own chunk keys (``c/0/1/2``,
    ``0.1.2``, ``0/1/2``).
    """

    def __init__(self, folder: str, *, allow_missing_chunks: bool, array: zarr.Array | None = None):
        self.folder, self.allow_missing_chunks = folder, allow_missing_chunks
        self.array = array if array is not None else zarr.open_array(store=folder, mode="r")

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        if not self.allow_missing_chunks:
            require_chunks(key, shape=self.array.shape, grid=self.array.shards or self.array.chunks,
                           is_stored=self._is_stored, fill_value=self.array.fill_value)
        return self.array[key]

    def _is_stored(self, coords: tuple[int, ...]) -> bool:
        return os.path.exists(os.path.join(self.folder, self.array.metadata.encode_chunk_key(coords)))


def _no_pyramid(level: int, target: Path) -> None:
    if level != 0:
        raise VemprofError(f"level {level} is out of range: {target} is a single array without a pyramid; "
                           "give --level 0")
