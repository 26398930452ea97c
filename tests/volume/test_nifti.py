"""NIfTI images written by nibabel: X, Y, Z voxel axes and pixdim with xyzt_units."""

import nibabel
import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.volume import open_volume


def write_nifti(path, data, zooms_xyz, unit):
    image = nibabel.Nifti1Image(np.ascontiguousarray(data.T), affine=np.eye(4))  # voxel axes X, Y, Z
    image.header.set_zooms(zooms_xyz)
    image.header.set_xyzt_units(xyz=unit)
    nibabel.save(image, path)


@pytest.mark.parametrize(("suffix", "unit", "zooms", "expected"), [
    (".nii", "micron", (0.004, 0.005, 0.008), (8.0, 5.0, 4.0)),
    (".nii.gz", "mm", (4e-6, 5e-6, 8e-6), (8.0, 5.0, 4.0)),
    (".nii", "unknown", (4, 5, 8), None),
])
def test_nifti_round_trip(tmp_path, image, suffix, unit, zooms, expected):
    write_nifti(tmp_path / f"cell{suffix}", image, zooms, unit)
    volume = open_volume(tmp_path / f"cell{suffix}")
    assert volume.name == "cell" and volume.shape == image.shape and volume.dtype == image.dtype
    assert volume.spacing == (None if expected is None else pytest.approx(expected))
    np.testing.assert_array_equal(volume.data.compute(), image)


def test_not_a_nifti_file(tmp_path):
    (tmp_path / "notes.nii").write_text("plain text " * 50)
    with pytest.raises(VemprofError, match=r"notes.nii is not a readable NIfTI file"):
        open_volume(tmp_path / "notes.nii")
