"""TIFF: multi-page files (pages are Z; ImageJ, OME-TIFF, pyramids) and folders of 2D slices."""

from __future__ import annotations

import logging
import math
import xml.etree.ElementTree as ElementTree
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Iterator, Sequence

import numpy as np
import tifffile
import zarr

from vemprof.errors import VemprofError
from vemprof.volume._axes import to_zyx
from vemprof.volume._guard import file_stamp, guarded_array
from vemprof.volume._paths import stem
from vemprof.volume._units import to_nm
from vemprof.volume._volume import Spacing, Volume

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")


def read_tiff(path: Path, *, level: int, channel: int | None) -> Volume:
    """Open a multi-page (or OME/ImageJ hyperstack) TIFF lazily, one task per group of pages.

    Parameters
    ----------
    path : Path
        The TIFF file.
    level : int
        Pyramid level of a pyramidal (OME-)TIFF; 0 is full resolution.
    channel : int or None
        Channel (or RGB sample) to keep where the file has several.

    Returns
    -------
    Volume
        (Z, Y, X) data read through tifffile's zarr interface, chunked by the file's
        pages, strips or tiles; spacing in nm from OME-XML or ImageJ metadata (see
        `tiff_spacing`), scaled for pyramid levels.
    """
    with _tifffile_errors(path):
        try:
            reader = _TiffPages(str(path), level=level)
        except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
            raise VemprofError(f"{path} is not a readable TIFF file ({type(exc).__name__}: {exc}); "
                               "check that it is a TIFF, or restore or re-export it") from None
        spacing = tiff_spacing(reader.tif)
    axes = _letters(reader.series.axes, reader.array.shape)
    data = guarded_array(partial(_TiffPages, str(path), level=level), shape=reader.array.shape,
                         dtype=reader.array.dtype, chunks=reader.array.chunks, axes=axes, source=str(path),
                         reader=reader, stamp=file_stamp(path))
    data = to_zyx(data, axes, channel=channel, source=str(path))
    if spacing is not None and level:
        full = dict(zip(axes, reader.series.levels[0].shape))
        spacing = tuple(s * full[a] / n for s, a, n in zip(spacing, "zyx", data.shape))  # type: ignore[assignment]
    return Volume(data=data, spacing=spacing, name=stem(path),
                  source=str(path) if level == 0 else f"{path} (level {level})")


def read_tiff_slices(files: Sequence[Path], *, source: str) -> Volume:
    """Open a stack of 2D TIFF slices (one file per Z plane, in the given order) lazily.

    Every file's header is checked at once (shape and dtype must agree); pixel data is
    read one file per plane when computed. Spacing comes from the first file's
    OME/ImageJ metadata, and is usually unknown (None): a 2D slice rarely records Z.

    Parameters
    ----------
    files : sequence of Path
        The slices, first plane first.
    source : str
        The folder or pattern they came from, for the name and messages.
    """
    first, spacing = None, None
    for file in files:
        with _tifffile_errors(file):
            try:
                with tifffile.TiffFile(file) as tif:
                    series = tif.series[0]
                    found = (series.shape, series.dtype)
                    if first is None:
                        spacing = tiff_spacing(tif)
            except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
                raise VemprofError(f"slice {file} is not a readable TIFF file ({type(exc).__name__}: {exc}); "
                                   "restore or re-export it, or remove it from the folder") from None
        if first is None:
            first = found
            if len(found[0]) < 2 or math.prod(found[0][:-2]) != 1:
                raise VemprofError(f"slice {file} has shape {found[0]}, not a 2D grey image; a folder or pattern "
                                   "must hold 2D single-channel slices (one per Z plane)")
        elif found != first:
            raise VemprofError(f"slices differ: {file.name} is {_describe(found)} but {files[0].name} is "
                               f"{_describe(first)}; all slices must have the same shape and dtype — re-export them")
    plane = first[0][-2:]
    opener = partial(_TiffSlices, tuple(str(f) for f in files), first[0], first[1])
    data = guarded_array(opener, shape=(len(files), *plane), dtype=first[1], chunks=(1, *plane), axes="zyx",
                         source=source, stamp=f"{len(files)}-{file_stamp(files[0])}-{file_stamp(files[-1])}")
    return Volume(data=data, spacing=spacing, name=stem(source.rstrip("/*?")), source=source)


def tiff_spacing(tif: tifffile.TiffFile) -> Spacing | None:
    """The voxel size in nm along (Z, Y, X) that a TIFF's metadata records, or None.

    * OME-TIFF: ``PhysicalSizeX/Y/Z`` of the first image, with ``PhysicalSize?Unit``
      (µm where the unit attribute is absent, as the OME schema defines).
    * ImageJ: X/Y from the ``XResolution``/``YResolution`` tags (pixels per unit), Z
      from ``spacing``, all in the description's ``unit`` (``micron``, ``nm``, ``\\u00B5m``…).
      ImageJ leaves ``spacing`` out when the depth is 1 unit; vemprof then treats Z as
      unknown rather than trust an uncalibrated default.
    * Plain TIFF resolution tags (cm or inch) give X/Y only, never Z, so they are not
      used: the result is None.
    """
    if tif.is_ome:
        return _ome_xml_spacing(tif.ome_metadata or "")
    if tif.is_imagej:
        metadata = tif.imagej_metadata or {}
        page = tif.pages.first
        if "XResolution" not in page.tags or "YResolution" not in page.tags:
            return None
        xres, yres = page.resolution
        if not xres or not yres:
            return None
        unit = metadata.get("unit")
        return to_nm([metadata.get("spacing"), 1.0 / yres, 1.0 / xres], [unit] * 3)
    return None


def _ome_xml_spacing(xml: str) -> Spacing | None:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return None
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return None
    values = [pixels.get(f"PhysicalSize{a}") for a in "ZYX"]
    units = [pixels.get(f"PhysicalSize{a}Unit", "µm") for a in "ZYX"]
    return to_nm(values, units)


class _TiffPages:
    """One open TIFF file as a zarr array (tifffile's ``aszarr``): reads only the pages asked for."""

    def __init__(self, path: str, *, level: int):
        self.tif = tifffile.TiffFile(path)
        self.series = self.tif.series[0]
        count = len(self.series.levels)
        if not 0 <= level < count:
            self.tif.close()
            raise VemprofError(f"level {level} is out of range: {path} has pyramid levels 0…{count - 1}; "
                               "give one of those")
        self.array = zarr.open_array(self.series.aszarr(level=level), mode="r")

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        return self.array[key]


class _TiffSlices:
    """A list of 2D TIFF files as a (Z, Y, X) array: each plane read whole, then cropped."""

    def __init__(self, files: tuple[str, ...], file_shape: tuple[int, ...], dtype: np.dtype):
        self.files, self.file_shape, self.dtype = files, tuple(file_shape), np.dtype(dtype)

    def __getitem__(self, key: tuple[slice, slice, slice]) -> np.ndarray:
        zs, ys, xs = key
        return np.stack([self._plane(i)[ys, xs] for i in range(*zs.indices(len(self.files)))])

    def _plane(self, index: int) -> np.ndarray:
        plane = tifffile.imread(self.files[index])
        if plane.shape != self.file_shape or plane.dtype != self.dtype:
            raise ValueError(f"{Path(self.files[index]).name} is {_describe((plane.shape, plane.dtype))}, expected "
                             f"{_describe((self.file_shape, self.dtype))}")
        return plane.reshape(self.file_shape[-2:])


def _letters(axes: str, shape: tuple[int, ...]) -> str:
    """tifffile's axis letters → ours: RGB samples count as channels; lone page axis is Z.

    A plain multi-page file has axes ``QYX`` or ``IYX``, an ImageJ stack saved as frames
    ``TYX``: where there is no Z axis and exactly one such axis has more than one entry,
    it is taken as Z.
    """
    letters = axes.lower()
    if "s" in letters and "c" not in letters:
        letters = letters.replace("s", "c")
    if "z" not in letters:
        pages = [a for a, n in zip(letters, shape) if a in "qit" and n > 1]
        if len(pages) == 1:
            letters = letters.replace(pages[0], "z")
    return letters


def _describe(found: tuple[tuple[int, ...], np.dtype]) -> str:
    shape, dtype = found
    return f"{'×'.join(map(str, shape))} {dtype}"


@contextmanager
def _tifffile_errors(path: Path) -> Iterator[None]:
    """Fail where tifffile only logs an error while parsing (a truncated or damaged file)."""
    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append  # type: ignore[method-assign]
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if records:
        raise VemprofError(f"{path} is truncated or damaged (tifffile: {records[0].getMessage()}); "
                           "restore the file or re-export it")
