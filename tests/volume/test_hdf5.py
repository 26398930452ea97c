"""HDF5 files written by h5py: dataset keys, chunk-wise reading and voxel-size attributes."""

import dask.array as da
import h5py
import numpy as np
import pytest
from volume_samples import label_volume

from vemprof.errors import VemprofError
from vemprof.volume import open_volume


def test_ilastik_element_size_um(tmp_path, image):
    with h5py.File(tmp_path / "cell.h5", "w") as f:
        f.create_dataset("exported_data", data=image, chunks=(2, 16, 16), compression="gzip")
        f["exported_data"].attrs["element_size_um"] = [0.008, 0.005, 0.004]  # Z, Y, X
    volume = open_volume(tmp_path / "cell.h5")
    assert isinstance(volume.data, da.Array)
    assert volume.shape == image.shape and volume.dtype == image.dtype and volume.name == "cell"
    assert volume.spacing == pytest.approx((8.0, 5.0, 4.0))
    assert volume.source == f"{tmp_path / 'cell.h5'}:/exported_data"
    assert all(c % s == 0 or c == n for c, s, n in zip(volume.chunks, (2, 16, 16), image.shape))
    np.testing.assert_array_equal(volume.data.compute(), image)


def cremi(path, image):
    """CREMI layout: /volumes/raw and /volumes/labels/neuron_ids, ``resolution`` Z, Y, X in nm."""
    with h5py.File(path, "w") as f:
        f.create_dataset("volumes/raw", data=image).attrs["resolution"] = (40.0, 4.0, 4.0)
        f.create_dataset("volumes/labels/neuron_ids", data=label_volume(), chunks=(3, 16, 16))
        f["volumes/labels"].attrs["resolution"] = (40.0, 4.0, 4.0)  # on the group: inherited
        f.create_dataset("thumbnail", data=image[0])
    return path


@pytest.mark.parametrize("spelling", ["key", "colon", "slash"])
def test_key_spellings(tmp_path, image, spelling):
    path = cremi(tmp_path / "sample.hdf", image)
    volume = {"key": lambda: open_volume(path, key="/volumes/raw"),
              "colon": lambda: open_volume(f"{path}:/volumes/raw"),
              "slash": lambda: open_volume(f"{path}/volumes/raw")}[spelling]()
    assert volume.spacing == (40.0, 4.0, 4.0)
    np.testing.assert_array_equal(volume.data.compute(), image)


def test_resolution_inherited_from_group(tmp_path, image):
    volume = open_volume(cremi(tmp_path / "sample.h5", image), key="volumes/labels/neuron_ids")
    assert volume.spacing == (40.0, 4.0, 4.0) and volume.dtype == np.uint32
    np.testing.assert_array_equal(volume.data.compute(), label_volume())


def test_several_3d_datasets_need_a_key(tmp_path, image):
    path = cremi(tmp_path / "sample.h5", image)
    with pytest.raises(VemprofError, match=r"holds 2 3D datasets \(datasets: .*/volumes/raw 6×32×40 uint8.*\); "
                                           r"give --key one of them"):
        open_volume(path)
    with pytest.raises(VemprofError, match=r"no dataset '/volumes/missing' in .*sample.h5 \(datasets: "
                                           r"/thumbnail 32×40 uint8, .*\); give --key one of those"):
        open_volume(path, key="/volumes/missing")
    with pytest.raises(VemprofError, match=r"sample.h5:/thumbnail is 2D"):
        open_volume(path, key="thumbnail")


@pytest.mark.parametrize(("attrs", "expected"), [
    ({"resolution": [8, 5, 4], "unit": "nm"}, (8.0, 5.0, 4.0)),
    ({"resolution": [0.008, 0.005, 0.004], "units": ["um", "um", "um"]}, (8.0, 5.0, 4.0)),
    ({"voxel_size": [8, 5, 4]}, (8.0, 5.0, 4.0)),
    ({"spacing": [80, 50, 40], "unit": "angstrom"}, (8.0, 5.0, 4.0)),
    ({"resolution": [1, 1, 1]}, None),  # a placeholder, not a size
    ({}, None),
])
def test_voxel_size_attributes(tmp_path, image, attrs, expected):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("data", data=image).attrs.update(attrs)
    assert open_volume(tmp_path / "a.h5").spacing == expected


def test_4d_dataset_is_refused(tmp_path, image):
    with h5py.File(tmp_path / "a.h5", "w") as f:
        f.create_dataset("data", data=np.stack([image, image]))
    with pytest.raises(VemprofError, match=r"a.h5:/data is 4D \(shape \(2, 6, 32, 40\)\) and does not name its "
                                           r"axes; export a single-channel 3D"):
        open_volume(tmp_path / "a.h5", key="data")


def test_not_an_hdf5_file(tmp_path):
    (tmp_path / "notes.h5").write_text("plain text")
    with pytest.raises(VemprofError, match=r"notes.h5 is not a readable HDF5 file .*check that it is HDF5"):
        open_volume(tmp_path / "notes.h5")


def test_a_chunk_never_written_is_an_error_naming_its_region(tmp_path, image):
    """An export interrupted half-way: HDF5 reads the chunks it never wrote as the fill value."""
    with h5py.File(tmp_path / "cut.h5", "w") as f:
        dataset = f.create_dataset("raw", shape=image.shape, dtype=image.dtype, chunks=(2, 16, 16))
        dataset[:4] = image[:4]
    with pytest.raises(VemprofError, match=r"^chunk missing in .*cut.h5:/raw at z 4:6, y 0:16, x 0:16; restore it, "
                                           r"or pass --allow-missing-chunks"):
        open_volume(tmp_path / "cut.h5").data.compute()
    expected = image.copy()
    expected[4:] = 0
    np.testing.assert_array_equal(open_volume(tmp_path / "cut.h5", allow_missing_chunks=True).data.compute(), expected)
