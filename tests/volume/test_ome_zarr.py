"""OME-Zarr v0.4 (zarr v2) and v0.5 (zarr v3) images and labels, written by ome-zarr-py; plain zarr."""

import re
import warnings

import dask.array as da
import numpy as np
import pytest
import zarr
from ome_zarr.format import FormatV04, FormatV05

with warnings.catch_warnings():  # ome-zarr-py's writer module builds a deprecated Scaler as a default
    warnings.simplefilter("ignore", DeprecationWarning)
    from ome_zarr.writer import write_image, write_labels

from volume_samples import label_volume

from vemprof.errors import VemprofError
from vemprof.volume import _guard, open_volume

# ome-zarr-py's write_labels passes that deprecated Scaler on
pytestmark = pytest.mark.filterwarnings("ignore:(?s).*scaler:DeprecationWarning")

FORMATS = {"0.4": (FormatV04(), 2), "0.5": (FormatV05(), 3)}


def write_ome(path, data, *, version="0.5", unit="nanometer", scale=(8, 5, 5), axes="zyx", levels=2,
              chunks=(4, 8, 8)):
    fmt, zarr_format = FORMATS[version]
    group = zarr.open_group(str(path), mode="w", zarr_format=zarr_format)
    spatial = {a: 1.0 for a in axes} | dict(zip("zyx", scale))
    factors = [{"z": 1, "y": 2 ** i, "x": 2 ** i} for i in range(1, levels)]
    write_image(data, group, fmt=fmt, axes=axes, scale=spatial, scale_factors=factors,
                axes_units={a: unit for a in "zyx"} if unit else None,
                storage_options={"chunks": (1,) * (len(axes) - 3) + chunks})
    return group


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_ome_zarr_round_trip(tmp_path, image, version):
    write_ome(tmp_path / "cell.zarr", image, version=version)
    volume = open_volume(tmp_path / "cell.zarr")
    assert isinstance(volume.data, da.Array)
    assert volume.shape == image.shape and volume.dtype == image.dtype
    assert volume.spacing == (8.0, 5.0, 5.0)
    assert volume.name == "cell" and not volume.is_labels
    # dask blocks are whole storage chunks (or the whole axis)
    assert all(c % s == 0 or c == n for c, s, n in zip(volume.chunks, (4, 8, 8), image.shape))
    np.testing.assert_array_equal(volume.data.compute(), image)


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_pyramid_level_scales_the_spacing(tmp_path, image, version):
    write_ome(tmp_path / "cell.zarr", image, version=version)
    volume = open_volume(tmp_path / "cell.zarr", level=1)
    assert volume.shape == (6, 16, 20)
    assert volume.spacing == (8.0, 10.0, 10.0)
    with pytest.raises(VemprofError, match=r"level 2 is out of range: .* levels 0…1"):
        open_volume(tmp_path / "cell.zarr", level=2)


@pytest.mark.parametrize(("unit", "scale", "expected"), [
    ("micrometer", (0.008, 0.005, 0.005), (8.0, 5.0, 5.0)),
    ("angstrom", (80, 50, 50), (8.0, 5.0, 5.0)),
    (None, (8, 5, 5), None),  # no unit: the size is unknown
])
def test_spacing_units(tmp_path, image, unit, scale, expected):
    write_ome(tmp_path / "cell.zarr", image, unit=unit, scale=scale, levels=1)
    spacing = open_volume(tmp_path / "cell.zarr").spacing
    assert spacing == (None if expected is None else pytest.approx(expected))


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_label_image_beside_the_raw_image(tmp_path, image, version):
    """Our dataset store: the raw multiscale at the root, NGFF labels under labels/<name>."""
    group = write_ome(tmp_path / "store.zarr", image, version=version)
    labels = label_volume()
    write_labels(labels, group, name="cell", fmt=FORMATS[version][0], axes="zyx", scale={"z": 8, "y": 5, "x": 5},
                 axes_units={a: "nanometer" for a in "zyx"}, scale_factors=[])
    for volume in (open_volume(tmp_path / "store.zarr/labels/cell"),
                   open_volume(tmp_path / "store.zarr", key="labels/cell"),
                   open_volume(f"{tmp_path / 'store.zarr'}:labels/cell")):
        assert volume.is_labels and volume.name == "cell"
        assert volume.spacing == (8.0, 5.0, 5.0)
        np.testing.assert_array_equal(volume.data.compute(), labels)
    assert not open_volume(tmp_path / "store.zarr").is_labels
    with pytest.raises(VemprofError, match=r"list of label images .*available: cell.*store.zarr/labels/cell"):
        open_volume(tmp_path / "store.zarr/labels")
    with pytest.raises(VemprofError, match=r"no array or group 'labels/nucleus' in .*store.zarr \(arrays: "
                                           r"labels/cell/s0 \(6, 32, 40\) uint32, .*s0 \(6, 32, 40\) uint8.*\); "
                                           r"give --key one of those$"):
        open_volume(tmp_path / "store.zarr", key="labels/nucleus")


def test_single_channel_and_time_axes_are_dropped(tmp_path, image):
    write_ome(tmp_path / "c.zarr", image[None, None], axes="tczyx", levels=1)
    volume = open_volume(tmp_path / "c.zarr")
    assert volume.shape == image.shape and volume.spacing == (8.0, 5.0, 5.0)


def test_several_channels_need_a_choice(tmp_path, image):
    write_ome(tmp_path / "c.zarr", np.stack([image, 255 - image]), axes="czyx", levels=1)
    with pytest.raises(VemprofError, match=r"has 2 channels; pick one with --channel 0…1"):
        open_volume(tmp_path / "c.zarr")
    np.testing.assert_array_equal(open_volume(tmp_path / "c.zarr", channel=1).data.compute(), 255 - image)
    with pytest.raises(VemprofError, match=r"channel 2 is out of range"):
        open_volume(tmp_path / "c.zarr", channel=2)


def test_several_time_points_are_refused(tmp_path, image):
    write_ome(tmp_path / "t.zarr", np.stack([image, image]), axes="tzyx", levels=1)
    with pytest.raises(VemprofError, match=r"has 2 time points .*export a single one"):
        open_volume(tmp_path / "t.zarr")


@pytest.mark.parametrize("zarr_format", [2, 3])
def test_plain_zarr_array(tmp_path, image, zarr_format):
    array = zarr.create_array(str(tmp_path / "raw.zarr"), shape=image.shape, chunks=(2, 16, 16), dtype=image.dtype,
                              zarr_format=zarr_format)
    array[...] = image
    volume = open_volume(tmp_path / "raw.zarr")
    assert volume.spacing is None and volume.shape == image.shape
    np.testing.assert_array_equal(volume.data.compute(), image)
    array.attrs["resolution"] = [8, 5, 4]  # funlib / CREMI convention: Z, Y, X in nm
    assert open_volume(tmp_path / "raw.zarr").spacing == (8.0, 5.0, 4.0)


def test_plain_zarr_group(tmp_path, image):
    group = zarr.open_group(str(tmp_path / "g.zarr"), mode="w")
    group.create_array("volumes/raw", data=image, chunks=(3, 16, 16))
    group.create_array("thumbnail", data=image[0])
    volume = open_volume(tmp_path / "g.zarr")  # the only 3D array
    np.testing.assert_array_equal(volume.data.compute(), image)
    group.create_array("volumes/copy", data=image)
    with pytest.raises(VemprofError, match=r"holds 2 3D arrays .*volumes/copy.*volumes/raw.*give --key"):
        open_volume(tmp_path / "g.zarr")
    np.testing.assert_array_equal(open_volume(tmp_path / "g.zarr", key="volumes/copy").data.compute(), image)
    with pytest.raises(VemprofError, match=r"not a 3D stack"):
        open_volume(tmp_path / "g.zarr", key="thumbnail")


def test_opening_reads_no_data(tmp_path, image, monkeypatch):
    write_ome(tmp_path / "cell.zarr", image, levels=1)
    reads = []
    original = _guard.GuardedSource.__getitem__
    monkeypatch.setattr(_guard.GuardedSource, "__getitem__", lambda self, key: reads.append(key) or original(self, key))
    volume = open_volume(tmp_path / "cell.zarr")
    assert reads == []
    # every chunk file is garbage now: opening still works, computing does not
    for chunk in (tmp_path / "cell.zarr/s0/c").rglob("*"):
        if chunk.is_file():
            chunk.write_bytes(b"garbage")
    open_volume(tmp_path / "cell.zarr")
    with pytest.raises(VemprofError, match="corrupt or unreadable data"):
        volume.data.compute()
    assert reads


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_corrupt_chunk_names_the_block(tmp_path, image, version, one_block_per_chunk):
    write_ome(tmp_path / "cell.zarr", image, version=version, levels=1)
    chunk = tmp_path / ("cell.zarr/s0/c/1/1/1" if version == "0.5" else "cell.zarr/s0/1/1/1")
    chunk.write_bytes(b"\x00garbage" * 20)
    volume = open_volume(tmp_path / "cell.zarr")
    np.testing.assert_array_equal(volume.data[:4].compute(), image[:4])  # other chunks still read
    source = re.escape(str(tmp_path / "cell.zarr/s0"))
    with pytest.raises(VemprofError, match=rf"^corrupt or unreadable data in {source} at z 4:6, y 8:16, x 8:16 "
                                           r"\([^\n]*\); restore the file or re-export it$"):
        volume.data.compute()


MISSING = (r"; restore it, or pass --allow-missing-chunks "
           r"if empty regions are meant to read as 0$")


@pytest.mark.parametrize("version", ["0.4", "0.5"])
def test_a_missing_chunk_is_an_error_naming_its_region(tmp_path, image, version):
    write_ome(tmp_path / "cell.zarr", image, version=version, levels=1)
    (tmp_path / ("cell.zarr/s0/c/1/1/1" if version == "0.5" else "cell.zarr/s0/1/1/1")).unlink()
    volume = open_volume(tmp_path / "cell.zarr")
    with pytest.raises(VemprofError, match=rf"^chunk missing in .*cell.zarr/s0 at z 4:6, y 8:16, x 8:16{MISSING}"):
        volume.data.compute()


def test_missing_chunks_read_as_the_fill_value_when_allowed(tmp_path, image):
    write_ome(tmp_path / "cell.zarr", image, levels=1)
    (tmp_path / "cell.zarr/s0/c/1/1/1").unlink()
    expected = image.copy()
    expected[4:6, 8:16, 8:16] = 0
    np.testing.assert_array_equal(open_volume(tmp_path / "cell.zarr", allow_missing_chunks=True).data.compute(),
                                  expected)


@pytest.mark.parametrize(("zarr_format", "options", "chunk", "region"), [
    (2, {}, "1.0.1", "z 2:4, y 0:16, x 16:32"),  # zarr v2's default '.' separator
    (2, {"chunk_key_encoding": {"name": "v2", "separator": "/"}}, "1/0/1", "z 2:4, y 0:16, x 16:32"),
    (3, {}, "c/1/0/1", "z 2:4, y 0:16, x 16:32"),
    (3, {"shards": (4, 32, 32)}, "c/1/0/0", "z 4:6, y 0:32, x 0:32"),  # a whole shard is the stored unit
])
def test_missing_chunk_of_a_plain_zarr_array(tmp_path, image, zarr_format, options, chunk, region):
    array = zarr.create_array(str(tmp_path / "raw.zarr"), shape=image.shape, chunks=(2, 16, 16), dtype=image.dtype,
                              zarr_format=zarr_format, **options)
    array[...] = image
    (tmp_path / "raw.zarr" / chunk).unlink()
    with pytest.raises(VemprofError, match=rf"^chunk missing in .*raw.zarr at {region}{MISSING}"):
        open_volume(tmp_path / "raw.zarr").data.compute()


def test_label_images_may_leave_chunks_out(tmp_path, image):
    """NGFF label images are sparse: zarr skips chunks of background, which reads as 0."""
    group = write_ome(tmp_path / "store.zarr", image, levels=1)
    labels = np.zeros(image.shape, np.uint32)
    labels[:2, :8, :8] = 3
    write_labels(labels, group, name="cell", fmt=FormatV05(), axes="zyx", scale_factors=[],
                 storage_options={"chunks": (2, 8, 8)})
    assert len(list((tmp_path / "store.zarr/labels/cell/s0/c").rglob("*"))) < 10  # most chunks were never written
    np.testing.assert_array_equal(open_volume(tmp_path / "store.zarr/labels/cell").data.compute(), labels)


def test_unreadable_store_metadata(tmp_path):
    (tmp_path / "bad.zarr").mkdir()
    (tmp_path / "bad.zarr/zarr.json").write_text("{not json")
    with pytest.raises(VemprofError, match=r"unreadable zarr metadata .*restore the store or re-export it"):
        open_volume(tmp_path / "bad.zarr")


@pytest.mark.parametrize(("version", "metadata"), [("0.4", ".zarray"), ("0.5", "zarr.json")])
def test_unreadable_level_metadata_names_the_file(tmp_path, image, version, metadata):
    write_ome(tmp_path / "cell.zarr", image, version=version, levels=1)
    (tmp_path / "cell.zarr/s0" / metadata).write_text("{ not json")
    with pytest.raises(VemprofError, match=rf"cell.zarr/s0 has unreadable zarr metadata in {re.escape(metadata)} "
                                           r"\(JSONDecodeError: .*\); restore the store or re-export it$"):
        open_volume(tmp_path / "cell.zarr")


def test_pyramid_array_opened_directly_keeps_its_spacing(tmp_path, image):
    write_ome(tmp_path / "cell.zarr", image, version="0.4")
    volume = open_volume(tmp_path / "cell.zarr/s1")
    assert volume.shape == (6, 16, 20) and volume.spacing == (8.0, 10.0, 10.0)
    assert volume.source == f"{tmp_path / 'cell.zarr'} (level 1)"
