"""`open_volume`: one entry point for every format vemprof reads."""

from __future__ import annotations

import glob
import os
import re
from pathlib import Path

from vemprof.errors import VemprofError
from vemprof.volume._hdf5 import HDF5_SUFFIXES, read_hdf5
from vemprof.volume._mrc import MRC_SUFFIXES, read_mrc
from vemprof.volume._n5 import is_n5_root, read_n5
from vemprof.volume._nifti import NIFTI_SUFFIXES, read_nifti
from vemprof.volume._ome_zarr import read_zarr
from vemprof.volume._paths import natural_key
from vemprof.volume._tiff import TIFF_SUFFIXES, read_tiff, read_tiff_slices
from vemprof.volume._volume import Volume

SUPPORTED = ("OME-Zarr or zarr (.zarr folder), TIFF (.tif/.tiff file, folder of 2D slices or a pattern such as "
             "'slices/*.tif'), MRC (.mrc/.rec/.st/.map), HDF5 (.h5/.hdf5/.hdf), N5 (.n5 folder), NIfTI (.nii/.nii.gz)")

_ZARR_METADATA = ("zarr.json", ".zarray", ".zgroup")
_KEYED = re.compile(r"^(.*?\.(?:h5|hdf5|hdf|he5|n5|zarr)):(.*)$", re.IGNORECASE)
_MAGIC = ((b"II*\x00", "tiff"), (b"MM\x00*", "tiff"), (b"II+\x00", "tiff"), (b"MM\x00+", "tiff"),
          (b"\x89HDF\r\n\x1a\n", "hdf5"))


def open_volume(path: str | os.PathLike, *, key: str | None = None, level: int = 0,
                channel: int | None = None, allow_missing_chunks: bool = False) -> Volume:
    """Open a 3D image or label volume lazily, whatever its format.

    Nothing but metadata is read here: the result's ``data`` is a dask array built on
    the file's own chunks, pages or planes, so a 100 GB file opens at once. A block
    that cannot be decoded when computed raises `VemprofError` naming the file and the
    block's voxel ranges.

    Parameters
    ----------
    path : str or os.PathLike
        One of

        * an OME-Zarr (NGFF v0.4 / zarr v2 or v0.5 / zarr v3) image, its label image
          (``store.zarr/labels/cell``) or a plain zarr array or group (``*.zarr``);
        * a multi-page TIFF, OME-TIFF or ImageJ TIFF; a folder of 2D TIFF slices, or a
          pattern such as ``"run1/slice_*.tif"`` (natural order: ``slice_2`` before
          ``slice_10``);
        * an MRC file (``.mrc``, ``.rec``, ``.st``, ``.map``);
        * an HDF5 file, optionally with its dataset key: ``cell.h5:/volumes/raw``;
        * an N5 container or a dataset inside it: ``cell.n5/raw``;
        * a NIfTI image (``.nii``, ``.nii.gz``).
    key : str, optional
        Dataset or group inside an HDF5, N5 or zarr container (``"volumes/raw"``,
        ``"labels/cell"``); without it a container with exactly one 3D dataset opens
        that one.
    level : int, default 0
        Pyramid level (OME-Zarr, pyramidal TIFF, N5 Viewer pyramids); 0 is full
        resolution.
    channel : int, optional
        Channel to keep where the image has several (OME-Zarr ``c`` axis, ImageJ or
        OME-TIFF channels, RGB samples).
    allow_missing_chunks : bool, default False
        Read storage chunks that are missing from a chunked file (zarr chunks or shards,
        N5 blocks, HDF5 chunks never written) as the file's fill value, as label images
        mean them to. Without it, computing a block over a missing chunk raises
        `VemprofError` naming the chunk's region: a deleted chunk file or an interrupted
        export must not read as zeros. NGFF label images always allow it.

    Returns
    -------
    Volume
        ``data`` of shape (Z, Y, X) in the file's dtype; ``spacing`` in nm per axis
        where the file records it (None otherwise); ``is_labels`` for NGFF label
        images.

    Raises
    ------
    VemprofError
        A missing path, an unknown format, a file that is not what its name says, a
        wrong key, level or channel, or data that is not 3D; the message names the fix.
        When computed, ``data`` raises it for corrupt or missing chunks.

    Examples
    --------
    >>> volume = open_volume("cell.zarr")                      # doctest: +SKIP
    >>> nucleus = open_volume("cell.zarr/labels/nucleus")      # doctest: +SKIP
    >>> raw = open_volume("cremi.h5", key="volumes/raw")       # doctest: +SKIP
    >>> volume.spacing                                         # doctest: +SKIP
    (8.0, 5.0, 5.0)
    """
    text = os.fspath(path)
    if isinstance(level, bool) or not isinstance(level, int) or level < 0:
        raise VemprofError(f"level must be a whole number ≥ 0 (0 = full resolution), got {level!r}")
    if channel is not None and (isinstance(channel, bool) or not isinstance(channel, int) or channel < 0):
        raise VemprofError(f"channel must be a whole number ≥ 0, got {channel!r}")
    target, inner = _split_key(text)
    if inner is not None:
        if key is not None and key.strip("/") != inner.strip("/"):
            raise VemprofError(f"two dataset keys given ({inner!r} in the path and key={key!r}); give just one")
        key = inner
    if not target.exists():
        if glob.has_magic(text):
            _reject(text, "a pattern of TIFF slices", key=key, level=level)
            return _open_pattern(text, channel=channel)
        raise VemprofError(f"no such file or folder: {text}; check the path")
    if target.is_dir():
        return _open_folder(target, key=key, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)
    return _open_file(target, key=key, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)


def _split_key(text: str) -> tuple[Path, str | None]:
    """(container path, key inside it or None) from ``file.h5:/key`` or ``file.h5/key``."""
    keyed = _KEYED.match(text)
    if keyed and Path(keyed.group(1)).exists():
        return Path(keyed.group(1)), keyed.group(2)
    path = Path(text)
    if not path.exists():
        for parent in path.parents:
            if parent.is_file() and _suffix_in(parent, HDF5_SUFFIXES):
                return parent, path.relative_to(parent).as_posix()
            if parent.exists():
                break
    return path, None


def _open_folder(folder: Path, *, key: str | None, level: int, channel: int | None,
                 allow_missing_chunks: bool) -> Volume:
    if any((folder / name).is_file() for name in _ZARR_METADATA):
        return read_zarr(folder, key=key, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)
    root = next((p for p in (folder, *folder.parents) if is_n5_root(p)), None)
    if root is not None:
        inside = "" if folder == root else folder.relative_to(root).as_posix()
        joined = "/".join(part.strip("/") for part in (inside, key or "") if part.strip("/")) or None
        return read_n5(root, key=joined, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)
    files = sorted((f for f in folder.iterdir() if f.is_file() and _suffix_in(f, TIFF_SUFFIXES)
                    and not f.name.startswith(".")), key=natural_key)
    if not files:
        raise VemprofError(f"{folder} is not a zarr store or N5 container and holds no TIFF slices; "
                           f"give a folder or file vemprof reads: {SUPPORTED}")
    _reject(str(folder), "a folder of TIFF slices", key=key)
    if len(files) == 1:
        return read_tiff(files[0], level=level, channel=channel)
    _reject(str(folder), "a folder of 2D single-channel TIFF slices", level=level, channel=channel)
    return read_tiff_slices(files, source=str(folder))


def _open_file(file: Path, *, key: str | None, level: int, channel: int | None, allow_missing_chunks: bool) -> Volume:
    kind = _kind(file)
    if kind == "hdf5":
        return read_hdf5(file, key=key, level=level, channel=channel, allow_missing_chunks=allow_missing_chunks)
    if kind is None:
        raise VemprofError(f"unknown format: {file}; vemprof reads {SUPPORTED} — convert it to one of these")
    if kind == "tiff":
        _reject(str(file), "a TIFF file", key=key)
        return read_tiff(file, level=level, channel=channel)
    _reject(str(file), "an MRC file" if kind == "mrc" else "a NIfTI file", key=key, level=level)
    if kind == "mrc":
        return read_mrc(file, channel=channel)
    return read_nifti(file, channel=channel)


def _kind(file: Path) -> str | None:
    """The format from the file name, else from its first bytes; None if unknown."""
    for kind, suffixes in (("tiff", TIFF_SUFFIXES), ("mrc", MRC_SUFFIXES), ("hdf5", HDF5_SUFFIXES),
                           ("nifti", NIFTI_SUFFIXES)):
        if _suffix_in(file, suffixes):
            return kind
    try:
        with open(file, "rb") as handle:
            head = handle.read(348)
    except OSError as exc:
        raise VemprofError(f"cannot read {file} ({exc.strerror or exc}); check its permissions") from None
    for magic, kind in _MAGIC:
        if head.startswith(magic):
            return kind
    if head[208:212] == b"MAP ":
        return "mrc"
    if head[344:348] in (b"n+1\x00", b"n+2\x00"):
        return "nifti"
    return None


def _open_pattern(pattern: str, *, channel: int | None) -> Volume:
    files = sorted((Path(p) for p in glob.glob(pattern) if Path(p).is_file()), key=natural_key)
    if not files:
        raise VemprofError(f"no files match {pattern}; check the pattern")
    others = [f.name for f in files if not _suffix_in(f, TIFF_SUFFIXES)]
    if others:
        raise VemprofError(f"{pattern} matches files that are not TIFF ({', '.join(others[:3])}); "
                           "a pattern must match TIFF slices only — narrow it, e.g. '*.tif'")
    if len(files) == 1:
        return read_tiff(files[0], level=0, channel=channel)
    _reject(pattern, "a pattern of 2D single-channel TIFF slices", channel=channel)
    return read_tiff_slices(files, source=pattern)


def _reject(source: str, what: str, *, key: str | None = None, level: int = 0, channel: int | None = None) -> None:
    """Fail for options that ``what`` has no use for."""
    if key is not None:
        raise VemprofError(f"{source} is {what}, which has no dataset keys; leave key out "
                           "(keys are for HDF5, N5 and zarr containers)")
    if level != 0:
        raise VemprofError(f"level {level} is out of range: {source} is {what} without a pyramid; give --level 0")
    if channel is not None:
        raise VemprofError(f"{source} is {what}, which has no channels; leave channel out")


def _suffix_in(path: Path, suffixes: tuple[str, ...]) -> bool:
    return path.name.lower().endswith(suffixes)
