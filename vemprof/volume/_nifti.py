"""NIfTI-1/2 images (nibabel), axes X, Y, Z → (Z, Y, X)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import nibabel
import numpy as np

from vemprof.errors import VemprofError
from vemprof.volume._axes import to_zyx
from vemprof.volume._guard import file_stamp, guarded_array
from vemprof.volume._paths import stem
from vemprof.volume._units import to_nm
from vemprof.volume._volume import Volume

NIFTI_SUFFIXES = (".nii", ".nii.gz")


def read_nifti(path: Path, *, channel: int | None) -> Volume:
    """Open a NIfTI image lazily through nibabel's array proxy.

    The voxel array's axes (i, j, k) are taken as (X, Y, Z) and returned as (Z, Y, X);
    the affine (orientation, flips) is not applied. A 4th axis of length 1 is dropped;
    ``channel`` must be None (NIfTI has no channel axis).
    Scaled data (``scl_slope``/``scl_inter``) come out as floats, as nibabel returns them.
    A ``.nii.gz`` is decompressed from its start for every block read: convert large
    ones to OME-Zarr first.

    Returns
    -------
    Volume
        Spacing in nm from ``pixdim`` in the header's ``xyzt_units`` (mm, µm, m);
        None where the unit is unknown.
    """
    try:
        reader = _NiftiVoxels(str(path))
    except (nibabel.filebasedimages.ImageFileError, OSError, ValueError, EOFError) as exc:
        raise VemprofError(f"{path} is not a readable NIfTI file ({exc}); "
                           "check that it is NIfTI, or restore or re-export it") from None
    header = reader.header
    shape = tuple(int(n) for n in header.get_data_shape())
    axes = "xyztuvw"[: len(shape)]
    data = guarded_array(partial(_NiftiVoxels, str(path)), shape=shape, dtype=reader.dtype,
                         chunks=(*shape[:2], 1, *([1] * (len(shape) - 3))), axes=axes, source=str(path),
                         reader=reader, stamp=file_stamp(path))
    space_unit = header.get_xyzt_units()[0]
    zooms = [float(z) for z in header.get_zooms()[:3]]
    spacing = to_nm(zooms[::-1], [space_unit] * 3) if len(zooms) == 3 else None
    return Volume(data=to_zyx(data, axes, channel=channel, source=str(path)), spacing=spacing, name=stem(path),
                  source=str(path))


class _NiftiVoxels:
    """A NIfTI file's voxels through nibabel's array proxy (reads only the slices asked for)."""

    def __init__(self, path: str):
        image = nibabel.load(path)
        self.header = image.header
        self._proxy = image.dataobj
        scaled = self._proxy.slope != 1 or self._proxy.inter != 0
        raw = np.dtype(image.get_data_dtype()).newbyteorder("=")
        self.dtype = np.result_type(raw, np.float32) if scaled else raw

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        return np.asarray(self._proxy[key], dtype=self.dtype)
