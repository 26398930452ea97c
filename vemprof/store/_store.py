"""`Store`: one OME-Zarr group per dataset, read and written by every vemprof step.

Layout (OME-NGFF 0.5, zarr v3)::

    cell.zarr/
      zarr.json               root group: the raw image's multiscales ("raw")
      0/ 1/ 2/ …              raw pyramid, finest first
      labels/<name>/          NGFF label images (masks and instances), each a pyramid;
                              sparse annotations are label images with class names
      probabilities/<name>/   multiscale float maps from classifiers and models
      tables/<name>.parquet   object tables, one row per object
      provenance.json         the steps that made the outputs
      .staging/               arrays being written (moved into place when complete)

Every array write is staged and moved into place only when complete, so a reader sees
the old output or the new one, never half of one; an interrupted write resumes from
its finished chunks when repeated with the same ``resume_key``.
"""

from __future__ import annotations

import json
import os
import shutil
import uuid
from dataclasses import replace
from pathlib import Path
from typing import Callable

import dask.array as da
import numpy as np
import pandas as pd

from vemprof.errors import VemprofError
from vemprof.store import _ngff
from vemprof.store._annotations import (
    annotation_metadata,
    check_classes,
    checked_values,
    count_voxels,
    image_label_extras,
    read_annotation,
)
from vemprof.store._provenance import (
    append_provenance,
    read_provenance,
    step_record,
    write_json_atomic,
)
from vemprof.store._pyramid import PyramidLevel, plan_pyramid
from vemprof.store._writer import _LIBC, ProgressCallback, chunk_count, write_pyramid
from vemprof.volume import Volume, open_volume, validate_spacing

DEFAULT_CHUNKS = (128, 128, 128)
STORE_FORMAT = 1
LABEL_DTYPES = (np.uint8, np.uint16, np.uint32, np.uint64)


class Store:
    """A dataset store on disk. Create one with `Store.create`, open one with `Store.open`."""

    def __init__(self, path: Path):
        self.path = Path(path)

    # -- opening and creating -------------------------------------------------------

    @classmethod
    def create(cls, path: str | os.PathLike) -> "Store":
        """An empty store at ``path`` (which must not exist or be an empty folder)."""
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise VemprofError(f"{path} already exists and is not empty; choose another path or remove it")
        path.mkdir(parents=True, exist_ok=True)
        _write_group(path, {"vemprof": {"store_format": STORE_FORMAT}})
        return cls(path)

    @classmethod
    def open(cls, path: str | os.PathLike) -> "Store":
        """The store at ``path``; a one-line error if there is none."""
        path = Path(path)
        if not path.exists():
            raise VemprofError(f"no such dataset store: {path}; create one with 'vemprof import' or 'vemprof synth'")
        if not is_store(path):
            raise VemprofError(
                f"{path} is not a vemprof dataset store; import it first with 'vemprof import {path} NEW.zarr'"
            )
        return cls(path)

    # -- what is in it ---------------------------------------------------------------

    @property
    def has_raw(self) -> bool:
        return "ome" in _read_group_attributes(self.path)

    @property
    def label_names(self) -> list[str]:
        return _group_names(self.path / "labels")

    @property
    def annotation_names(self) -> list[str]:
        """The label images that are sparse annotations (they carry class names)."""
        return [name for name in self.label_names
                if read_annotation(_read_group_attributes(self.path / "labels" / name)) is not None]

    @property
    def probability_names(self) -> list[str]:
        return _group_names(self.path / "probabilities")

    @property
    def table_names(self) -> list[str]:
        folder = self.path / "tables"
        return sorted(p.stem for p in folder.glob("*.parquet")) if folder.exists() else []

    @property
    def provenance(self) -> list[dict]:
        return read_provenance(self.path)

    @property
    def phantom_truth(self) -> set[str]:
        """The members a phantom's generator (``vemprof synth``) wrote, e.g. ``labels/cell``:
        its ground truth, which no later step may overwrite (empty for other stores)."""
        return {output for record in self.provenance if record.get("step") == "synth"
                for output in record.get("outputs", [])}

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size of the raw image's finest level, nm (Z, Y, X)."""
        return self.raw().require_spacing()

    def raw(self, *, level: int = 0) -> Volume:
        """The raw EM image (lazy) at a pyramid level."""
        if not self.has_raw:
            raise VemprofError(f"{self.path} holds no raw image yet; import one with 'vemprof import SRC {self.path}'")
        return _read_multiscale(self.path, level=level, name="raw")

    def labels(self, name: str, *, level: int = 0) -> Volume:
        """A label image (lazy) by name."""
        return _read_multiscale(self._member("labels", name, self.label_names), level=level, name=name)

    def annotation_classes(self, name: str) -> list[str]:
        """The class names of annotation image ``name``: value k + 2 is the k-th (1 is
        background, 0 not annotated); read its values with `labels`."""
        return list(self._annotation(name)["classes"])

    def annotation_voxels(self, name: str) -> dict[str, int]:
        """Voxels painted per class of annotation image ``name``, background first."""
        return dict(self._annotation(name).get("voxels", {}))

    def probabilities(self, name: str, *, level: int = 0) -> Volume:
        """A probability map (lazy) by name."""
        group = self._member("probabilities", name, self.probability_names)
        return _read_multiscale(group, level=level, name=name)

    def pyramid(self, group: str = "") -> list[tuple[tuple[int, ...], tuple[float, ...]]]:
        """(shape, spacing in nm) of each level of the image at ``group`` ('' = raw)."""
        path = self.path / group
        entry = _read_group_attributes(path)["ome"]["multiscales"][0]
        return [(_array_shape(path / d["path"]), tuple(d["coordinateTransformations"][0]["scale"]))
                for d in entry["datasets"]]

    def read_table(self, name: str) -> pd.DataFrame:
        """An object table by name."""
        path = self.path / "tables" / f"{name}.parquet"
        if not path.exists():
            raise VemprofError(f"no table '{name}' in {self.path}; it has: {', '.join(self.table_names) or 'none'}")
        return pd.read_parquet(path)

    def _member(self, kind: str, name: str, present: list[str]) -> Path:
        if name not in present:
            raise VemprofError(f"no {kind} '{name}' in {self.path}; it has: {', '.join(present) or 'none'}")
        return self.path / kind / name

    def _annotation(self, name: str) -> dict:
        entry = read_annotation(_read_group_attributes(self.path / "labels" / name))
        if entry is None:
            problem = (f"labels/{name} in {self.path} is a label image without class names, not an annotation image"
                       if name in self.label_names else f"no annotation image '{name}' in {self.path}")
            raise VemprofError(
                f"{problem}; its annotation images: {', '.join(self.annotation_names) or 'none'} (make one with "
                "'vemprof annotate-planes' or 'vemprof import SRC STORE --as-annotations NAME --classes …')")
        return entry

    # -- writing ---------------------------------------------------------------------

    def write_raw(
        self, array: da.Array | np.ndarray, *, spacing, chunks=DEFAULT_CHUNKS,
        progress: ProgressCallback | None = None, resume_key: str | None = None, memory_mib: float | None = None,
    ) -> None:
        """Write the raw image and its pyramid; a store holds one raw image, written once.

        ``memory_mib`` bounds the memory for the data being written, MiB (default
        ``vemprof.store._writer.DEFAULT_MEMORY_MIB``; see `write_pyramid`)."""
        if self.has_raw:
            raise VemprofError(f"{self.path} already holds a raw image; import into a new store or pass --overwrite")
        spacing = validate_spacing(spacing)
        staging = self._staging("raw", resume_key)
        levels = _write_pyramid(_as_dask(array, chunks), staging, spacing=spacing, chunks=chunks, averaged=True,
                                progress=progress, memory_mib=memory_mib)
        for level in range(len(levels)):  # (a level left by a move cut short is replaced)
            replace_folder(staging / str(level), self.path / str(level))
        attributes = _read_group_attributes(self.path)
        attributes.update(_ngff.image_attributes(_multiscale_entry("raw", levels)))
        _write_group(self.path, attributes)
        shutil.rmtree(staging)
        _remove_empty_parents(staging, stop=self.path)

    def write_labels(
        self, name: str, labels: da.Array | np.ndarray, *, chunks=DEFAULT_CHUNKS,
        progress: ProgressCallback | None = None, resume_key: str | None = None, memory_mib: float | None = None,
    ) -> None:
        """Write (or replace) a label image: unsigned integer ids, 0 = background, same
        shape as the raw image; ``memory_mib`` as for `write_raw`."""
        labels = _as_dask(labels, chunks)
        if labels.dtype == bool:
            labels = labels.astype(np.uint8)
        if labels.dtype not in LABEL_DTYPES:
            raise VemprofError(
                f"label image '{name}' has dtype {labels.dtype}; labels must be unsigned integers "
                "(uint8 … uint64), convert float or signed ids first"
            )
        self._write_member("labels", name, labels, chunks=chunks, averaged=False, progress=progress,
                           resume_key=resume_key, memory_mib=memory_mib)
        attributes = _ngff.labels_group_attributes(self.label_names)
        _write_group(self.path / "labels", attributes)

    def write_annotations(
        self, name: str, image: da.Array | np.ndarray, *, classes, chunks=DEFAULT_CHUNKS,
        progress: ProgressCallback | None = None, resume_key: str | None = None, memory_mib: float | None = None,
        check: Callable[[dict[str, int]], None] | None = None,
    ) -> None:
        """Write (or replace) a sparse annotation image ``labels/<name>``.

        Parameters
        ----------
        name : name of the label image
        image : integer array (Z, Y, X) of the raw image's shape: 0 not annotated,
            1 background, k + 2 ``classes[k]``; stored as uint8 (uint16 beyond 254 classes)
        classes : class names of the values 2, 3, … (a list, or one string split at commas)
        chunks, progress, resume_key, memory_mib : as for `write_labels`
        check : called with the voxels painted per class (`annotation_voxels`) once the
            image is written, before it is moved into place; a `VemprofError` it raises
            leaves the store as it was

        Each block is checked to hold values 0…len(classes)+1 only as it is written; a
        value outside is a one-line error and nothing is written.
        """
        classes = check_classes(classes)
        values = checked_values(_as_dask(image, chunks), name=name, classes=classes, chunks=chunks)

        def attributes(entry: dict, level0: Path) -> dict:
            voxels = count_voxels(level0, classes)
            if check is not None:
                check(voxels)
            return {**_ngff.label_image_attributes(entry, **image_label_extras(classes)),
                    "vemprof": annotation_metadata(classes, voxels)}

        self._write_member("labels", name, values, chunks=chunks, averaged=False, progress=progress,
                           resume_key=resume_key, memory_mib=memory_mib, attributes=attributes)
        _write_group(self.path / "labels", _ngff.labels_group_attributes(self.label_names))

    def write_probabilities(
        self, name: str, probabilities: da.Array | np.ndarray, *, chunks=DEFAULT_CHUNKS,
        progress: ProgressCallback | None = None, resume_key: str | None = None, memory_mib: float | None = None,
    ) -> None:
        """Write (or replace) a probability map (float in [0, 1] or uint8 scaled to 0–255);
        ``memory_mib`` as for `write_raw`."""
        self._write_member("probabilities", name, _as_dask(probabilities, chunks), chunks=chunks, averaged=True,
                           progress=progress, resume_key=resume_key, memory_mib=memory_mib)
        _write_group(self.path / "probabilities", {})

    def write_table(self, name: str, table: pd.DataFrame) -> None:
        """Write (or replace) an object table as Parquet, atomically."""
        check_name(name)
        folder = self.path / "tables"
        folder.mkdir(exist_ok=True)
        temporary = folder / f".{name}.{uuid.uuid4().hex}.tmp"
        table.to_parquet(temporary, index=False)
        os.replace(temporary, folder / f"{name}.parquet")

    def record(self, step: str, *, outputs: list[str], parameters: dict, inputs=(), started=None) -> None:
        """Add a step to the store's provenance."""
        append_provenance(self.path, step_record(step, outputs=outputs, parameters=parameters, inputs=inputs,
                                                 started=started))

    def chunks_to_write(self, shape, chunks=DEFAULT_CHUNKS, *, averaged: bool = True, spacing=None) -> int:
        """Number of chunks a write of an array of ``shape`` makes (all pyramid levels),
        for sizing a progress bar; ``spacing`` defaults to the raw image's."""
        levels = plan_pyramid(tuple(shape), spacing or self.spacing, chunk_shape=chunks, averaged=averaged)
        return sum(chunk_count(level.shape, chunks) for level in levels)

    def _write_member(self, kind, name, array, *, chunks, averaged, progress, resume_key, memory_mib,
                      attributes: Callable[[dict, Path], dict] | None = None) -> None:
        """Write ``array`` as ``<kind>/<name>`` through a staging folder. ``attributes``
        makes the group attributes from the multiscale entry and the staged level 0
        (default: those of a label image or an image). A `VemprofError` while writing
        (bad values in ``array``) or from ``attributes`` discards the staged write:
        mending the input changes it, so nothing written could be resumed."""
        check_name(name)
        raw = self.raw()
        if array.shape != raw.shape:
            raise VemprofError(
                f"{kind} '{name}' has shape {array.shape} but the raw image is {raw.shape}; "
                "they must cover the same voxels"
            )
        untouched = None if (self.path / ".staging").exists() else os.stat(self.path)
        staging = self._staging(f"{kind}/{name}", resume_key)
        try:
            levels = _write_pyramid(array, staging, spacing=raw.require_spacing(), chunks=chunks, averaged=averaged,
                                    progress=progress, memory_mib=memory_mib)
            entry = _multiscale_entry(name, levels)
            if attributes is not None:
                group = attributes(entry, staging / "0")
            else:
                group = _ngff.label_image_attributes(entry) if kind == "labels" else _ngff.image_attributes(entry)
        except VemprofError:
            shutil.rmtree(staging)
            _remove_empty_parents(staging, stop=self.path)
            if untouched is not None:  # the store's folder as it was, its modification time too
                os.utime(self.path, ns=(untouched.st_atime_ns, untouched.st_mtime_ns))
            raise
        _write_group(staging, group)
        final = self.path / kind / name
        final.parent.mkdir(exist_ok=True)
        replace_folder(staging, final)
        _remove_empty_parents(staging, stop=self.path)

    def _staging(self, relative: str, resume_key: str | None) -> Path:
        """The staging folder for one output; kept for a resume only with the same key."""
        staging = self.path / ".staging" / relative
        key_file = staging / "resume-key"
        if staging.exists() and (resume_key is None or not key_file.exists() or key_file.read_text() != resume_key):
            shutil.rmtree(staging)
        staging.mkdir(parents=True, exist_ok=True)
        if resume_key is not None:
            key_file.write_text(resume_key)
        return staging

    def __repr__(self) -> str:
        return f"Store({str(self.path)!r})"


def is_store(path: Path) -> bool:
    """True when ``path`` is a vemprof dataset store."""
    return "vemprof" in _read_group_attributes(path)


# -- helpers -----------------------------------------------------------------------------


def _as_dask(array, chunks) -> da.Array:
    if isinstance(array, da.Array):
        return array
    return da.from_array(np.asarray(array), chunks=tuple(min(c, n) for c, n in zip(chunks, np.shape(array))))


def _write_pyramid(array: da.Array, staging: Path, *, spacing, chunks, averaged: bool,
                   progress: ProgressCallback | None, memory_mib: float | None = None) -> list[PyramidLevel]:
    """Write every level into ``staging/<level>`` in one sweep over ``array`` (coarser
    levels made in memory where ``memory_mib`` allows, else from the level above on disk)."""
    levels = plan_pyramid(tuple(array.shape), spacing, chunk_shape=chunks, averaged=averaged)
    write_pyramid(array, [staging / str(index) for index in range(len(levels))], [level.factors for level in levels],
                  chunks=chunks, averaged=averaged, progress=progress, memory_mib=memory_mib)
    return levels


def _multiscale_entry(name: str, levels: list[PyramidLevel]) -> dict:
    return _ngff.multiscale(name, [level.spacing for level in levels], [level.offset for level in levels])


def _read_multiscale(group: Path, *, level: int, name: str) -> Volume:
    """A pyramid level of the NGFF image at ``group``, read through the guarded readers."""
    return replace(open_volume(group, level=level), name=name)


def _read_group_attributes(path: Path) -> dict:
    metadata = path / "zarr.json"
    if not metadata.exists():
        return {}
    try:
        content = json.loads(metadata.read_text())
    except (OSError, ValueError) as error:
        raise VemprofError(f"{metadata} is unreadable ({error}); restore it from a backup") from None
    return content.get("attributes", {}) if content.get("node_type") == "group" else {}


def _array_shape(path: Path) -> tuple[int, ...]:
    """The shape recorded in the zarr v3 array metadata at ``path``."""
    metadata = path / "zarr.json"
    try:
        return tuple(int(n) for n in json.loads(metadata.read_text())["shape"])
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise VemprofError(f"{metadata} is unreadable or damaged ({type(error).__name__}: {error}); restore the "
                           "store from a backup, or import the dataset again") from None


def _write_group(path: Path, attributes: dict) -> None:
    path.mkdir(parents=True, exist_ok=True)
    write_json_atomic(path / "zarr.json", {"zarr_format": 3, "node_type": "group", "attributes": attributes})


def _group_names(folder: Path) -> list[str]:
    if not folder.exists():
        return []
    return sorted(p.name for p in folder.iterdir() if (p / "zarr.json").exists() and not p.name.startswith("."))


def replace_folder(new: Path, final: Path) -> None:
    """Move the folder ``new`` to ``final``, replacing what is there.

    An existing ``final`` is exchanged with ``new`` in one atomic step where the system
    offers one (Linux's ``renameat2`` with ``RENAME_EXCHANGE``), so a reader finds the old
    folder or the new one at every moment; the old one is then removed. Elsewhere the old
    folder is first renamed aside, which leaves a moment in which neither is at ``final``.
    """
    if not final.exists():
        os.replace(new, final)
    elif _exchange(new, final):
        shutil.rmtree(new)
    else:
        trash = final.with_name(f".{final.name}.{uuid.uuid4().hex}.old")
        os.replace(final, trash)
        os.replace(new, final)
        shutil.rmtree(trash)


_AT_FDCWD = -100
_RENAME_EXCHANGE = 2


def _exchange(first: Path, second: Path) -> bool:
    """Swap two paths atomically; False where the system or file system cannot."""
    renameat2 = getattr(_LIBC, "renameat2", None)
    if renameat2 is None:
        return False
    done = renameat2(_AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE)
    return done == 0


def _remove_empty_parents(path: Path, *, stop: Path) -> None:
    for parent in path.parents:
        if parent == stop or not parent.exists() or any(parent.iterdir()):
            return
        parent.rmdir()


def check_name(name: str) -> None:
    """A one-line error unless ``name`` can name a store member (a folder, a table file)."""
    if not name or not all(c.isalnum() or c in "_-" for c in name):
        raise VemprofError(f"'{name}' is not a valid name; use letters, digits, '_' and '-' only")

