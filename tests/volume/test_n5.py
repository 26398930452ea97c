"""N5 containers written by tensorstore: X, Y, Z order on disk, keys, pyramids and voxel sizes."""

import json

import dask.array as da
import numpy as np
import pytest
import tensorstore as ts

from vemprof.errors import VemprofError
from vemprof.volume import open_volume


def write_n5(folder, data, *, block=(16, 16, 2), **attributes):
    """Write ``data`` (Z, Y, X) as an N5 dataset: dimensions and blockSize are listed X, Y, Z."""
    store = ts.open({"driver": "n5", "kvstore": {"driver": "file", "path": str(folder)},
                     "metadata": {"dimensions": list(data.shape[::-1]), "blockSize": list(block),
                                  "dataType": str(data.dtype), "compression": {"type": "gzip"}}},
                    create=True, delete_existing=True).result()
    store[...] = data.T
    if attributes:
        document = json.loads((folder / "attributes.json").read_text())
        (folder / "attributes.json").write_text(json.dumps(document | attributes))


def test_resolution_is_x_y_z(tmp_path, image):
    write_n5(tmp_path / "cell.n5/raw", image, resolution=[4, 5, 8], units=["nm", "nm", "nm"])
    volume = open_volume(tmp_path / "cell.n5")  # the only dataset
    assert isinstance(volume.data, da.Array)
    assert volume.shape == image.shape and volume.dtype == image.dtype and volume.name == "cell"
    assert volume.spacing == (8.0, 5.0, 4.0)
    assert all(c % s == 0 or c == n for c, s, n in zip(volume.chunks, (2, 16, 16), image.shape))
    np.testing.assert_array_equal(volume.data.compute(), image)


def test_tensorstore_units_and_resolution_metadata(tmp_path, image):
    store = ts.open({"driver": "n5", "kvstore": {"driver": "file", "path": str(tmp_path / "a.n5/em")},
                     "metadata": {"dimensions": [40, 32, 6], "blockSize": [8, 8, 2], "dataType": "uint8",
                                  "compression": {"type": "raw"}, "units": ["um", "um", "um"],
                                  "resolution": [0.004, 0.005, 0.008]}},
                    create=True).result()
    store[...] = image.T
    assert open_volume(tmp_path / "a.n5/em").spacing == pytest.approx((8.0, 5.0, 4.0))


@pytest.mark.parametrize("spelling", ["key", "slash", "colon"])
def test_key_spellings(tmp_path, image, spelling):
    write_n5(tmp_path / "c.n5/em/raw", image)
    write_n5(tmp_path / "c.n5/em/copy", image[::-1])
    path = tmp_path / "c.n5"
    volume = {"key": lambda: open_volume(path, key="em/raw"), "slash": lambda: open_volume(path / "em/raw"),
              "colon": lambda: open_volume(f"{path}:/em/raw")}[spelling]()
    assert volume.source == f"{path}:/em/raw"
    np.testing.assert_array_equal(volume.data.compute(), image)


def test_container_root_found_by_version_attribute(tmp_path, image):
    (tmp_path / "export").mkdir()
    (tmp_path / "export/attributes.json").write_text('{"n5": "4.0.0"}')
    write_n5(tmp_path / "export/volumes/raw", image,
             pixelResolution={"unit": "um", "dimensions": [0.004, 0.005, 0.008]})
    volume = open_volume(tmp_path / "export/volumes/raw")
    assert volume.source == f"{tmp_path / 'export'}:/volumes/raw"
    assert volume.spacing == pytest.approx((8.0, 5.0, 4.0))


def test_n5_viewer_pyramid(tmp_path, image):
    (tmp_path / "p.n5").mkdir()
    (tmp_path / "p.n5/attributes.json").write_text(json.dumps({"n5": "4.0.0", "resolution": [4, 5, 8]}))
    write_n5(tmp_path / "p.n5/s0", image)
    write_n5(tmp_path / "p.n5/s1", np.ascontiguousarray(image[:, ::2, ::2]), downsamplingFactors=[2, 2, 1])
    full, half = open_volume(tmp_path / "p.n5"), open_volume(tmp_path / "p.n5", level=1)
    assert full.shape == image.shape and full.spacing == (8.0, 5.0, 4.0)
    assert half.shape == (6, 16, 20) and half.spacing == (8.0, 10.0, 8.0)
    np.testing.assert_array_equal(half.data.compute(), image[:, ::2, ::2])
    with pytest.raises(VemprofError, match=r"level 2 is out of range: .*p.n5:/ has pyramid levels 0…1"):
        open_volume(tmp_path / "p.n5", level=2)


def test_wrong_or_missing_key(tmp_path, image):
    write_n5(tmp_path / "c.n5/a", image)
    write_n5(tmp_path / "c.n5/b", image)
    with pytest.raises(VemprofError, match=r"c.n5 holds 2 3D datasets or pyramids \(/a 6×32×40 uint8, "
                                           r"/b 6×32×40 uint8\); give --key one of them"):
        open_volume(tmp_path / "c.n5")
    with pytest.raises(VemprofError, match=r"no dataset 'nope' in .*c.n5 \(datasets and pyramids: /a .*, /b .*\)"):
        open_volume(tmp_path / "c.n5", key="nope")


def test_corrupt_block(tmp_path, image, one_block_per_chunk):
    write_n5(tmp_path / "c.n5/raw", image)
    (tmp_path / "c.n5/raw/1/0/1").write_bytes(b"\x00\x00garbage")  # block x 1, y 0, z 1
    volume = open_volume(tmp_path / "c.n5")
    with pytest.raises(VemprofError, match=r"corrupt or unreadable data in .*c.n5:/raw at z 2:4, y 0:16, x 16:32 "
                                           r"\(.*\); restore the file or re-export it"):
        volume.data.compute()


def test_damaged_attributes(tmp_path, image):
    write_n5(tmp_path / "c.n5/raw", image)
    (tmp_path / "c.n5/raw/attributes.json").write_text('{"dimensions": [40, 32')
    with pytest.raises(VemprofError, match=r"raw/attributes.json is not valid JSON .*restore the N5 container"):
        open_volume(tmp_path / "c.n5")


def test_a_missing_block_is_an_error_naming_its_region(tmp_path, image):
    write_n5(tmp_path / "c.n5/raw", image)
    (tmp_path / "c.n5/raw/1/0/1").unlink()  # block x 1, y 0, z 1
    with pytest.raises(VemprofError, match=r"^chunk missing in .*c.n5:/raw at z 2:4, y 0:16, x 16:32; restore it, "
                                           r"or pass --allow-missing-chunks"):
        open_volume(tmp_path / "c.n5").data.compute()
    expected = image.copy()
    expected[2:4, 0:16, 16:32] = 0
    np.testing.assert_array_equal(open_volume(tmp_path / "c.n5", allow_missing_chunks=True).data.compute(), expected)
