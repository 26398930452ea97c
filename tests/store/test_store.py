"""The dataset store: OME-Zarr layout, pyramids, labels, tables, provenance, atomic and
resumable writes."""

import os
import shutil

import dask.array as da
import numpy as np
import pandas as pd
import pytest
import zarr
from ome_zarr_models.v05.image import Image
from ome_zarr_models.v05.image_label import ImageLabel

from vemprof import VemprofError
from vemprof.store import Store, fingerprint
from vemprof.store._pyramid import plan_pyramid
from vemprof.store._writer import progress_log_path, write_resumable


@pytest.fixture
def image():
    rng = np.random.default_rng(0)
    return rng.integers(0, 255, size=(40, 100, 90), dtype=np.uint8)


@pytest.fixture
def store(tmp_path, image):
    store = Store.create(tmp_path / "cell.zarr")
    store.write_raw(image, spacing=(8, 5, 5), chunks=(16, 32, 32))
    return store


def test_raw_round_trip_with_pyramid_in_nanometres(store, image):
    raw = store.raw()
    assert raw.spacing == (8.0, 5.0, 5.0)
    assert isinstance(raw.data, da.Array)
    np.testing.assert_array_equal(raw.data.compute(), image)
    # anisotropic 8 × 5 × 5 nm: Y and X are halved first, then all three axes
    assert [spacing for _, spacing in store.pyramid()] == [(8, 5, 5), (8, 10, 10), (16, 20, 20), (32, 40, 40)]
    assert [shape for shape, _ in store.pyramid()] == [(40, 100, 90), (40, 50, 45), (20, 25, 23), (10, 13, 12)]


def test_pyramid_levels_are_block_means_rounded_half_up(store, image):
    level1 = store.raw(level=1).data.compute()
    expected = np.floor(image.reshape(40, 50, 2, 45, 2).mean(axis=(2, 4)) + 0.5)
    np.testing.assert_array_equal(level1, expected.astype(np.uint8))


def test_store_is_valid_ome_ngff_0_5(store, image):
    store.write_labels("nucleus", (image > 128).astype(np.uint8), chunks=(16, 32, 32))
    group = zarr.open_group(str(store.path), mode="r")
    Image.from_zarr(group)  # raises on any deviation from the NGFF 0.5 specification
    ImageLabel.from_zarr(group["labels"]["nucleus"])
    transforms = group.attrs["ome"]["multiscales"][0]["datasets"][1]["coordinateTransformations"]
    # averaging 2 × 2 voxels moves the first voxel centre by half a fine voxel
    assert transforms == [{"type": "scale", "scale": [8.0, 10.0, 10.0]},
                          {"type": "translation", "translation": [0.0, 2.5, 2.5]}]


def test_labels_are_listed_and_keep_their_ids(store, image):
    instances = (image // 64).astype(np.uint32)
    store.write_labels("mitochondria", instances, chunks=(16, 32, 32))
    store.write_labels("cell", image > 10)
    assert store.label_names == ["cell", "mitochondria"]
    assert zarr.open_group(str(store.path / "labels"), mode="r").attrs["ome"]["labels"] == ["cell", "mitochondria"]
    np.testing.assert_array_equal(store.labels("mitochondria").data.compute(), instances)
    assert store.labels("cell").dtype == np.uint8
    # label pyramids pick voxels, never average ids
    assert set(np.unique(store.labels("mitochondria", level=2).data.compute())) <= set(np.unique(instances))


def test_labels_must_be_unsigned_ids_on_the_raw_grid(store, image):
    with pytest.raises(VemprofError, match="unsigned integers"):
        store.write_labels("bad", image.astype(np.float32))
    with pytest.raises(VemprofError, match="same voxels"):
        store.write_labels("bad", np.zeros((4, 4, 4), np.uint8))
    with pytest.raises(VemprofError, match="not a valid name"):
        store.write_labels("../escape", image)


def test_missing_members_name_what_is_there(store):
    with pytest.raises(VemprofError, match="no labels 'nucleus'.*none"):
        store.labels("nucleus")
    with pytest.raises(VemprofError, match="no table 'pores'"):
        store.read_table("pores")
    with pytest.raises(VemprofError, match="level 9 is out of range.*levels 0…3"):
        store.raw(level=9)


def test_tables_and_probabilities(store, image):
    table = pd.DataFrame({"label": [1, 2], "volume_um3": [0.5, 1.25]})
    store.write_table("mitochondria", table)
    pd.testing.assert_frame_equal(store.read_table("mitochondria"), table)
    store.write_probabilities("nucleus", image.astype(np.float32) / 255)
    assert store.probability_names == ["nucleus"]
    assert store.probabilities("nucleus").dtype == np.float32


def test_provenance_records_step_parameters_versions_and_inputs(store, tmp_path):
    source = tmp_path / "scribbles.txt"
    source.write_text("paint")
    store.record("classify", outputs=["labels/cell"], parameters={"trees": 100}, inputs=[source])
    (step,) = store.provenance
    assert step["step"] == "classify" and step["parameters"] == {"trees": 100}
    assert step["inputs"][0]["fingerprint"] == fingerprint(source)
    assert {"vemprof", "numpy", "zarr"} <= set(step["versions"])


def test_fingerprint_changes_with_an_edit_not_with_a_faithful_copy(tmp_path):
    first, second = tmp_path / "a.raw", tmp_path / "b.raw"
    first.write_bytes(np.random.default_rng(1).bytes(3_000_000))
    shutil.copy2(first, second)
    assert fingerprint(first) == fingerprint(second)
    with open(second, "r+b") as handle:  # the last byte, as a truncated-then-repaired file would differ
        handle.seek(-1, 2)
        handle.write(b"\0")
    os.utime(second, ns=(first.stat().st_atime_ns, first.stat().st_mtime_ns))
    assert fingerprint(first) != fingerprint(second)


def test_opening_something_that_is_not_a_store(tmp_path):
    with pytest.raises(VemprofError, match="no such dataset store"):
        Store.open(tmp_path / "missing.zarr")
    (tmp_path / "folder").mkdir()
    with pytest.raises(VemprofError, match="not a vemprof dataset store"):
        Store.open(tmp_path / "folder")


def test_an_interrupted_write_resumes_from_finished_chunks(tmp_path):
    data = np.arange(32 * 32 * 32, dtype=np.uint16).reshape(32, 32, 32)
    computed = []

    def read_block(block, block_info=None, fail_at=None):
        start = tuple(lo for lo, _ in block_info[0]["array-location"])
        if start == fail_at:
            raise KeyboardInterrupt
        computed.append(start)
        return block

    source = da.from_array(data, chunks=8)
    path = tmp_path / "array"
    with pytest.raises(KeyboardInterrupt):
        write_resumable(source.map_blocks(read_block, fail_at=(16, 0, 0), dtype=data.dtype), path, chunks=(8, 8, 8),
                        batch_bytes=16 * 8**3 * 2)
    assert progress_log_path(path).exists()
    written_before = len(computed)
    assert written_before >= 16

    computed.clear()
    write_resumable(source.map_blocks(read_block, dtype=data.dtype), path, chunks=(8, 8, 8))
    assert len(computed) == 64 - 32  # the two finished batches are not computed again
    assert not progress_log_path(path).exists()
    np.testing.assert_array_equal(zarr.open_array(str(path), mode="r")[:], data)


def test_replacing_labels_keeps_the_old_ones_until_the_new_are_complete(store, image):
    old = (image > 100).astype(np.uint8)
    store.write_labels("cell", old)

    def interrupted(block, block_info=None):
        if block_info[0]["chunk-location"] == (1, 0, 0):
            raise KeyboardInterrupt
        return block

    with pytest.raises(KeyboardInterrupt):
        store.write_labels("cell", da.from_array(old * 0, chunks=16).map_blocks(interrupted, dtype=np.uint8))
    np.testing.assert_array_equal(store.labels("cell").data.compute(), old)


def test_pyramid_plan_stops_when_one_chunk_holds_the_level():
    levels = plan_pyramid((256, 512, 512), (25, 20, 20), chunk_shape=(128, 128, 128), averaged=True)
    assert [level.shape for level in levels] == [(256, 512, 512), (128, 256, 256), (64, 128, 128)]


def test_a_replaced_folder_is_never_missing(tmp_path, monkeypatch):
    """The new folder takes the old one's place in one step: a crash at any moment leaves
    one of the two in place (here the step that would follow the first of two renames fails)."""
    from vemprof.store import _store

    if not _store._exchange(*_two_folders(tmp_path / "probe")):
        pytest.skip("this system or file system cannot exchange two paths atomically")
    new, old = _two_folders(tmp_path)

    def a_crash_after_the_first_rename(source, target):
        raise OSError("the process died here")

    monkeypatch.setattr(_store.os, "replace", a_crash_after_the_first_rename)
    _store.replace_folder(new, old)
    assert (old / "content").read_text() == "new" and not new.exists()


def _two_folders(parent):
    """(new, old): two folders, each with a file saying which it is."""
    old, new = parent / "old", parent / "new"
    for folder, text in ((old, "old"), (new, "new")):
        folder.mkdir(parents=True)
        (folder / "content").write_text(text)
    return new, old


def test_ngff_metadata_is_validated_as_it_is_written(store):
    from vemprof.store import _ngff

    entry = _ngff.multiscale("raw", [(8, 5, 5)], [(0, 0, 0)])
    entry["axes"] = entry["axes"][:2]  # two axes for three-dimensional scales
    with pytest.raises(ValueError, match="invalid NGFF 0.5 image metadata"):
        _ngff.image_attributes(entry)


def test_damaged_provenance_is_one_line(store):
    (store.path / "provenance.json").write_text('{"steps": [')
    with pytest.raises(VemprofError, match=r"provenance.json is unreadable or damaged .*restore it from a backup"):
        store.provenance
    (store.path / "provenance.json").write_text('{"steps": [1, 2]}')
    with pytest.raises(VemprofError, match="does not list steps"):
        store.provenance
