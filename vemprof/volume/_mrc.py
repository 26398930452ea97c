"""MRC / CCP4 maps, tomograms and image stacks (mrcfile, memory-mapped)."""

from __future__ import annotations

import os
from functools import partial
from pathlib import Path

import mrcfile
import mrcfile.utils
import numpy as np

from vemprof.errors import VemprofError
from vemprof.volume._axes import default_axes, to_zyx
from vemprof.volume._guard import file_stamp, guarded_array
from vemprof.volume._paths import stem
from vemprof.volume._volume import Spacing, Volume

MRC_SUFFIXES = (".mrc", ".rec", ".st", ".map", ".mrcs", ".ali", ".ccp4")

_HEADER_BYTES = 1024


def read_mrc(path: Path, *, channel: int | None) -> Volume:
    """Open an MRC file as a memory-mapped (Z, Y, X) volume.

    The header is read and the file size checked against it at once (a truncated file
    fails here); voxels are read through the memory map only when computed, one task
    per group of whole Z planes. ``channel`` must be None (MRC has no channel axis).

    Returns
    -------
    Volume
        Spacing in nm from the header's voxel size in Å (see `mrc_spacing`).
    """
    try:
        with mrcfile.open(path, header_only=True) as mrc:
            header = mrc.header.copy()
            voxel_size = mrc.voxel_size.copy()
    except (ValueError, OSError, EOFError) as exc:
        raise VemprofError(f"{path} is not a readable MRC file ({exc}); "
                           "check that it is an MRC file, or restore or re-export it") from None
    try:
        dtype = mrcfile.utils.data_dtype_from_header(header)
    except ValueError as exc:
        raise VemprofError(f"{path}: unsupported MRC data mode ({exc}); re-export it as 8/16-bit integers or "
                           "32-bit floats") from None
    shape = tuple(int(n) for n in (header.nz, header.ny, header.nx))
    expected = _HEADER_BYTES + int(header.nsymbt) + int(np.prod(shape)) * dtype.itemsize
    size = os.path.getsize(path)
    if size < expected:
        raise VemprofError(f"{path} is truncated: its header declares {shape[0]}×{shape[1]}×{shape[2]} {dtype} "
                           f"voxels ({expected} bytes) but the file holds {size} bytes; "
                           "restore the file or re-export it")
    reader = _MrcVoxels(str(path))
    shape = reader.shape
    axes = default_axes(shape, source=str(path))
    data = guarded_array(partial(_MrcVoxels, str(path)), shape=shape, dtype=reader.dtype, chunks=(1, *shape[1:]),
                         axes=axes, source=str(path), reader=reader, stamp=file_stamp(path))
    return Volume(data=to_zyx(data, axes, channel=channel, source=str(path)), spacing=mrc_spacing(voxel_size),
                  name=stem(path), source=str(path))


def mrc_spacing(voxel_size: np.recarray) -> Spacing | None:
    """The voxel size in nm along (Z, Y, X) from an MRC header's voxel size in Å, or None.

    The header stores the cell size in Å; its voxel size is cell / sampling. Writers
    that know nothing leave the cell at 0 (→ 0 Å) or write 1 Å per voxel (IMOD's
    default). So a voxel size of 0 or less on any axis, or exactly 1 Å on every axis,
    means unknown (None); any other value is converted (10 Å = 1 nm).
    """
    values = [float(voxel_size.z), float(voxel_size.y), float(voxel_size.x)]
    if any(not np.isfinite(v) or v <= 0 for v in values) or all(v == 1.0 for v in values):
        return None
    return tuple(v / 10.0 for v in values)  # type: ignore[return-value]


class _MrcVoxels:
    """An MRC file's memory-mapped voxels; keeps the mrcfile object (which owns the map) alive."""

    def __init__(self, path: str):
        self._mrc = mrcfile.mmap(path, mode="r")
        self.shape, self.dtype = self._mrc.data.shape, self._mrc.data.dtype.newbyteorder("=")

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        return np.array(self._mrc.data[key], dtype=self.dtype)  # a native-order copy, detached from the map
