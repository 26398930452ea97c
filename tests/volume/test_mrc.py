"""MRC files written by mrcfile: memory-mapped reading and the header's voxel size in Å."""

import dask.array as da
import mrcfile
import numpy as np
import pytest
from volume_samples import em_image

from vemprof.errors import VemprofError
from vemprof.volume import open_volume


def write_mrc(path, data, voxel_size=None):
    with mrcfile.new(path, overwrite=True) as mrc:
        mrc.set_data(data)
        if voxel_size is not None:
            mrc.voxel_size = voxel_size  # (x, y, z) in Å
    return path


@pytest.mark.parametrize("suffix", [".mrc", ".rec", ".st", ".map"])
def test_mrc_round_trip(tmp_path, suffix):
    data = em_image(dtype=np.uint16).astype(np.int16)
    write_mrc(tmp_path / f"tomo{suffix}", data, voxel_size=(40.0, 50.0, 80.0))
    volume = open_volume(tmp_path / f"tomo{suffix}")
    assert isinstance(volume.data, da.Array) and volume.name == "tomo"
    assert volume.shape == data.shape and volume.dtype == np.int16
    assert volume.spacing == pytest.approx((8.0, 5.0, 4.0))  # Å → nm, (x, y, z) → (z, y, x)
    assert volume.chunks[1:] == data.shape[1:]  # whole planes
    np.testing.assert_array_equal(volume.data.compute(), data)


@pytest.mark.parametrize("voxel_size", [None, (0.0, 0.0, 0.0), (1.0, 1.0, 1.0), (40.0, 40.0, 0.0)])
def test_default_header_voxel_size_is_unknown(tmp_path, voxel_size):
    write_mrc(tmp_path / "a.mrc", np.zeros((3, 4, 5), np.float32), voxel_size=voxel_size)
    assert open_volume(tmp_path / "a.mrc").spacing is None


def test_truncated_mrc(tmp_path):
    write_mrc(tmp_path / "full.mrc", np.ones((4, 16, 16), np.float32))
    data = (tmp_path / "full.mrc").read_bytes()
    (tmp_path / "cut.mrc").write_bytes(data[:-1000])
    with pytest.raises(VemprofError, match=r"cut.mrc is truncated: its header declares 4×16×16 float32 voxels "
                                           r"\(5120 bytes\) but the file holds 4120 bytes; restore the file"):
        open_volume(tmp_path / "cut.mrc")


def test_not_an_mrc_file(tmp_path):
    (tmp_path / "notes.mrc").write_text("no map here " * 200)
    with pytest.raises(VemprofError, match=r"notes.mrc is not a readable MRC file \(.*\); check that it is an MRC"):
        open_volume(tmp_path / "notes.mrc")


def test_2d_mrc_is_refused(tmp_path):
    write_mrc(tmp_path / "image.mrc", np.zeros((16, 16), np.float32))
    with pytest.raises(VemprofError, match=r"image.mrc is 2D \(shape \(16, 16\)\), not a 3D stack"):
        open_volume(tmp_path / "image.mrc")
