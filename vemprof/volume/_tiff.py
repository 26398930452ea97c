"""TIFF: multi-page files (pages are Z; ImageJ, OME-TIFF, pyramids) and folders of 2D slices."""

from __future__ import annotations

import logging
import math
import threading
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
from vemprof.volume._units import sizes_nm
from vemprof.volume._volume import PartialSpacing, Volume, known_spacing

TIFF_SUFFIXES = (".tif", ".tiff", ".btf", ".tf8")
PRINT_PIXEL_NM = 25.4e6 / 1200  # a pixel of 1/1200 inch: coarser ones are print settings, not calibrations
_NM_PER_RESOLUTION_UNIT = {tifffile.RESUNIT.INCH: 25.4e6, tifffile.RESUNIT.CENTIMETER: 1e7,
                           tifffile.RESUNIT.MILLIMETER: 1e6, tifffile.RESUNIT.MICROMETER: 1e3}


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
        pages, strips or tiles; spacing in nm from OME-XML, ImageJ metadata or
        resolution tags (see `tiff_voxel_sizes`), scaled for pyramid levels; where only
        some axes are known (always so for resolution tags), ``partial_spacing``.
    """
    with _tifffile_errors(path):
        try:
            reader = _TiffPages(str(path), level=level)
        except (tifffile.TiffFileError, ValueError, OSError, IndexError, KeyError) as exc:
            raise VemprofError(f"{path} is not a readable TIFF file ({type(exc).__name__}: {exc}); "
                               "check that it is a TIFF, or restore or re-export it") from None
        sizes = tiff_voxel_sizes(reader.tif)
    axes = _letters(reader.series.axes, reader.array.shape)
    data = guarded_array(partial(_TiffPages, str(path), level=level), shape=reader.array.shape,
                         dtype=reader.array.dtype, chunks=reader.array.chunks, axes=axes, source=str(path),
                         reader=reader, stamp=file_stamp(path))
    data = to_zyx(data, axes, channel=channel, source=str(path))
    if level:
        full = dict(zip(axes, reader.series.levels[0].shape))
        sizes = tuple(None if s is None else s * full[a] / n for s, a, n in zip(sizes, "zyx", data.shape))
    spacing, partial_spacing = known_spacing(sizes)
    return Volume(data=data, spacing=spacing, partial_spacing=partial_spacing, name=stem(path),
                  source=str(path) if level == 0 else f"{path} (level {level})")


def read_tiff_slices(files: Sequence[Path], *, source: str) -> Volume:
    """Open a stack of 2D TIFF slices (one file per Z plane, in the given order) lazily.

    Every file's header is checked at once (shape and dtype must agree); pixel data is
    read one file per plane when computed. Voxel sizes come from the first file's
    metadata (`tiff_voxel_sizes`); a 2D slice rarely records Z, so the spacing is
    usually None, with ``partial_spacing`` where the slices record Y and X.

    Parameters
    ----------
    files : sequence of Path
        The slices, first plane first.
    source : str
        The folder or pattern they came from, for the name and messages.
    """
    first, sizes = None, (None, None, None)
    for file in files:
        with _tifffile_errors(file):
            try:
                with tifffile.TiffFile(file) as tif:
                    series = tif.series[0]
                    found = (series.shape, series.dtype)
                    if first is None:
                        sizes = tiff_voxel_sizes(tif)
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
    spacing, partial_spacing = known_spacing(sizes)
    return Volume(data=data, spacing=spacing, partial_spacing=partial_spacing, name=stem(source.rstrip("/*?")),
                  source=source)


def tiff_voxel_sizes(tif: tifffile.TiffFile) -> PartialSpacing:
    """The voxel size in nm along (Z, Y, X) that a TIFF's metadata records, None for unknown axes.

    * OME-TIFF: ``PhysicalSizeX/Y/Z`` of the first image, with ``PhysicalSize?Unit``
      (µm where the unit attribute is absent, as the OME schema defines).
    * ImageJ: X/Y from the ``XResolution``/``YResolution`` tags (pixels per unit), Z
      from ``spacing``, all in the description's ``unit`` (``micron``, ``nm``, ``\\u00B5m``…).
      ImageJ leaves ``spacing`` out when the depth is 1 unit; vemprof then treats Z as
      unknown rather than trust an uncalibrated default.
    * Plain TIFF: X/Y from the resolution tags in pixels per ``ResolutionUnit`` (inch,
      cm, or tifffile's mm and µm); Z is always unknown. No unit (``NONE``), the
      default (1, 1) and print settings (pixels of 1/1200 inch or more: 72, 96, 300
      dpi…) mean uncalibrated: unknown.
    """
    page = tif.pages.first
    if tif.is_ome:
        return _ome_xml_sizes(tif.ome_metadata or "")
    if "XResolution" not in page.tags or "YResolution" not in page.tags:
        return (None, None, None)
    xres, yres = page.resolution
    if not xres or not yres:
        return (None, None, None)
    if tif.is_imagej:
        metadata = tif.imagej_metadata or {}
        return sizes_nm([metadata.get("spacing"), 1.0 / yres, 1.0 / xres], [metadata.get("unit")] * 3)
    return _resolution_tag_sizes(xres, yres, page.resolutionunit)


def _resolution_tag_sizes(xres: float, yres: float, unit: int) -> PartialSpacing:
    """(None, y, x) in nm from a plain TIFF's pixels per ``unit``, or all None where uncalibrated."""
    per_unit = _NM_PER_RESOLUTION_UNIT.get(unit)
    if per_unit is None or (xres, yres) == (1, 1):
        return (None, None, None)
    y, x = per_unit / yres, per_unit / xres
    if max(y, x) >= PRINT_PIXEL_NM:
        return (None, None, None)
    return (None, y, x)


def _ome_xml_sizes(xml: str) -> PartialSpacing:
    try:
        root = ElementTree.fromstring(xml)
    except ElementTree.ParseError:
        return (None, None, None)
    pixels = next((e for e in root.iter() if e.tag.rsplit("}", 1)[-1] == "Pixels"), None)
    if pixels is None:
        return (None, None, None)
    values = [pixels.get(f"PhysicalSize{a}") for a in "ZYX"]
    units = [pixels.get(f"PhysicalSize{a}Unit", "µm") for a in "ZYX"]
    return sizes_nm(values, units)


class _TiffPages:
    """One open TIFF file as a zarr array (tifffile's ``aszarr``): reads only the pages asked for."""

    def __init__(self, path: str, *, level: int):
        self.tif = tifffile.TiffFile(path)
        self.series = self.tif.series[0]
        count = len(self.series.levels)
        if not 0 <= level < count:
            self.tif.close()
            raise VemprofError(f"level {level} is out of range: {path} has pyramid levels 0…{count - 1}; "
                               "give --level one of those")
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
    """Fail where tifffile only logs an error while parsing (a truncated or damaged file).

    tifffile logs to one process-wide logger; the handler added here keeps only the
    records of the calling thread, so files parsed at the same time in other threads
    are neither blamed on ``path`` nor hidden from their own readers.
    """
    handler = _ThreadRecords()
    logger = logging.getLogger("tifffile")
    logger.addHandler(handler)
    try:
        yield
    finally:
        logger.removeHandler(handler)
    if handler.records:
        raise VemprofError(f"{path} is truncated or damaged (tifffile: {handler.records[0].getMessage()}); "
                           "restore the file or re-export it")


class _ThreadRecords(logging.Handler):
    """Collects the error records logged by the thread that created it."""

    def __init__(self):
        super().__init__(logging.ERROR)
        self.thread = threading.get_ident()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if threading.get_ident() == self.thread:  # handlers run in the thread that logs
            self.records.append(record)
