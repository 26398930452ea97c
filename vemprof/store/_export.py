"""Export a volume to a TIFF stack that Fiji/ImageJ and every EM tool open.

uint8, uint16 and float32 volumes become ImageJ hyperstacks (voxel size in the ImageJ
calibration); other types (uint32/uint64 labels) become OME-TIFF with physical sizes.
Written one chunk-thick slab at a time, so memory stays bounded.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Iterator

import numpy as np
import tifffile

from vemprof._progress import ProgressReporter, no_progress
from vemprof.errors import VemprofError
from vemprof.store._destination import check_output_file
from vemprof.volume import Volume

IMAGEJ_DTYPES = (np.uint8, np.uint16, np.float32)


def export_tiff(volume: Volume, path: str | os.PathLike, *, progress: ProgressReporter = no_progress) -> Path:
    """Write ``volume`` to a multi-page TIFF at ``path`` (pages are Z), atomically."""
    path = Path(path)
    if path.suffix.lower() not in (".tif", ".tiff"):
        raise VemprofError(f"{path} must end in .tif or .tiff")
    check_output_file(path)
    z_spacing, y_spacing, x_spacing = volume.require_spacing()
    temporary = path.with_name(f".{path.name}.partial")
    if volume.dtype in IMAGEJ_DTYPES:
        options = dict(imagej=True, resolution=(1000.0 / x_spacing, 1000.0 / y_spacing),
                       metadata={"spacing": z_spacing / 1000.0, "unit": "um", "axes": "ZYX"})
    else:
        options = dict(ome=True, bigtiff=volume.nbytes > 2**31, metadata={
            "axes": "ZYX", "PhysicalSizeZ": z_spacing, "PhysicalSizeY": y_spacing, "PhysicalSizeX": x_spacing,
            "PhysicalSizeZUnit": "nm", "PhysicalSizeYUnit": "nm", "PhysicalSizeXUnit": "nm"})
    try:
        with progress(f"exporting {volume.name}", volume.shape[0]) as advance:
            tifffile.imwrite(temporary, _pages(volume, advance), shape=volume.shape, dtype=volume.dtype, **options)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)  # left only by a failure or an interruption
    return path


def _pages(volume: Volume, advance) -> Iterator[np.ndarray]:
    start = 0
    for depth in volume.data.chunks[0]:
        slab = np.asarray(volume.data[start:start + depth])
        yield from slab
        advance(depth)
        start += depth
