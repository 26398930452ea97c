"""`open_volume`'s dispatch: paths, keys, options and the errors for bad input."""

import h5py
import mrcfile
import numpy as np
import pytest
import tifffile

from vemprof.errors import VemprofError
from vemprof.volume import open_volume


def test_missing_path(tmp_path):
    with pytest.raises(VemprofError, match=r"^no such file or folder: .*nothing.tif; check the path$"):
        open_volume(tmp_path / "nothing.tif")
    with pytest.raises(VemprofError, match=r"^no such file or folder: .*nothing.h5/raw; check the path$"):
        open_volume(tmp_path / "nothing.h5/raw")


def test_unknown_format_lists_the_supported_ones(tmp_path):
    (tmp_path / "photo.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(100))
    with pytest.raises(VemprofError, match=r"unknown format: .*photo.png; vemprof reads OME-Zarr .*TIFF .*MRC .*HDF5 "
                                           r".*N5 .*NIfTI .* convert it to one of these"):
        open_volume(tmp_path / "photo.png")


def test_format_sniffed_when_the_name_does_not_say(tmp_path, image):
    tifffile.imwrite(tmp_path / "stack.dat", image)
    np.testing.assert_array_equal(open_volume(tmp_path / "stack.dat").data.compute(), image)
    with mrcfile.new(tmp_path / "map.bin") as mrc:
        mrc.set_data(image.astype(np.float32))
    assert open_volume(tmp_path / "map.bin").dtype == np.float32


def test_folder_without_volume(tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(VemprofError, match=r"empty is not a zarr store or N5 container and holds no TIFF slices"):
        open_volume(tmp_path / "empty")


def test_options_a_format_has_no_use_for(tmp_path, image):
    tifffile.imwrite(tmp_path / "stack.tif", image)
    with pytest.raises(VemprofError, match=r"stack.tif is a TIFF file, which has no dataset keys; leave key out"):
        open_volume(tmp_path / "stack.tif", key="raw")
    with pytest.raises(VemprofError, match=r"stack.tif has no channel axis .*; leave channel out"):
        open_volume(tmp_path / "stack.tif", channel=0)
    with mrcfile.new(tmp_path / "map.mrc") as mrc:
        mrc.set_data(image.astype(np.int16))
    with pytest.raises(VemprofError, match=r"level 1 is out of range: .*map.mrc is an MRC file without a pyramid"):
        open_volume(tmp_path / "map.mrc", level=1)


@pytest.mark.parametrize(("options", "message"), [
    ({"level": -1}, r"level must be a whole number ≥ 0"),
    ({"level": 1.5}, r"level must be a whole number ≥ 0"),
    ({"channel": -2}, r"channel must be a whole number ≥ 0"),
])
def test_bad_option_values(tmp_path, options, message):
    with pytest.raises(VemprofError, match=message):
        open_volume(tmp_path, **options)


def test_two_different_keys(tmp_path, image):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f["raw"] = image
    assert open_volume(f"{tmp_path / 'a.h5'}:/raw", key="raw").shape == image.shape  # the same key twice is fine
    with pytest.raises(VemprofError, match=r"two dataset keys given \('/raw' in the path and key='other'\)"):
        open_volume(f"{tmp_path / 'a.h5'}:/raw", key="other")
