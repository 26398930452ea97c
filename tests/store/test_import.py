"""`vemprof import`: any format into a store, resumable, refusing bad input with one line."""

import contextlib

import numpy as np
import pytest
import tifffile

from vemprof import VemprofError
from vemprof.store import import_labels, import_volume


@pytest.fixture
def em_stack():
    """A noisy 8-bit EM-like stack (hundreds of grey values)."""
    rng = np.random.default_rng(3)
    z, y, x = np.mgrid[0:48, 0:80, 0:72]
    return np.clip(120 + 50 * np.sin(x / 5.0) * np.cos(y / 7.0) + rng.normal(0, 15, z.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def em_tiff(tmp_path, em_stack):
    path = tmp_path / "stack.tif"
    tifffile.imwrite(path, em_stack, imagej=True, resolution=(1 / 0.005, 1 / 0.005),
                     metadata={"spacing": 0.008, "unit": "um", "axes": "ZYX"})
    return path


def test_import_a_tiff_stack_with_its_voxel_size(tmp_path, em_tiff, em_stack):
    result = import_volume(em_tiff, tmp_path / "cell.zarr", chunks=(16, 32, 32))
    assert result.status == "imported"
    raw = result.store.raw()
    assert raw.spacing == pytest.approx((8, 5, 5))
    np.testing.assert_array_equal(raw.data.compute(), em_stack)
    (step,) = result.store.provenance
    assert step["step"] == "import" and step["parameters"]["voxel_size_nm"] == pytest.approx([8, 5, 5])
    assert not (tmp_path / "cell.zarr.partial").exists()


def test_importing_again_is_a_no_op_and_a_different_source_is_refused(tmp_path, em_tiff, em_stack):
    import_volume(em_tiff, tmp_path / "cell.zarr")
    assert import_volume(em_tiff, tmp_path / "cell.zarr").status == "up to date"
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, em_stack[::-1].copy())
    with pytest.raises(VemprofError, match="already holds a dataset imported from .*stack.tif.*--overwrite"):
        import_volume(other, tmp_path / "cell.zarr", voxel_size_nm=(8, 5, 5))
    replaced = import_volume(other, tmp_path / "cell.zarr", voxel_size_nm=(8, 5, 5), overwrite=True)
    np.testing.assert_array_equal(replaced.store.raw().data.compute(), em_stack[::-1])


def test_an_interrupted_import_resumes_without_rewriting_finished_chunks(tmp_path, em_tiff, em_stack):
    destination, partial = tmp_path / "cell.zarr", tmp_path / "cell.zarr.partial"
    with pytest.raises(KeyboardInterrupt):
        import_volume(em_tiff, destination, chunks=(16, 32, 32), memory_mib=0.1, progress=ctrl_c_after_first_batch)
    assert not destination.exists()
    finished = level_0_chunk_files(partial)
    assert 0 < len(finished) < 27  # some of the 3 × 3 × 3 chunks, not all

    result = import_volume(em_tiff, destination, chunks=(16, 32, 32))

    assert result.status == "resumed" and not partial.exists()
    after = level_0_chunk_files(destination)
    assert len(after) == 27
    assert {name: after[name] for name in finished} == finished  # the same files, not written again
    np.testing.assert_array_equal(result.store.raw().data.compute(), em_stack)


def test_an_interrupted_import_of_another_source_starts_afresh(tmp_path, em_tiff, em_stack):
    destination = tmp_path / "cell.zarr"
    with pytest.raises(KeyboardInterrupt):
        import_volume(em_tiff, destination, chunks=(16, 32, 32), memory_mib=0.1, progress=ctrl_c_after_first_batch)
    other = tmp_path / "other.tif"
    tifffile.imwrite(other, 255 - em_stack)
    result = import_volume(other, destination, chunks=(16, 32, 32), voxel_size_nm=(8, 5, 5))
    assert result.status == "imported"
    np.testing.assert_array_equal(result.store.raw().data.compute(), 255 - em_stack)


def test_an_interrupted_label_import_never_resumes_from_another_dataset(tmp_path, em_tiff, em_stack):
    """Two datasets of one HDF5 file: interrupting the first and importing the second under
    the same name must give the second, not a mixture of the two."""
    import h5py

    store = import_volume(em_tiff, tmp_path / "cell.zarr", chunks=(16, 32, 32)).store
    mitochondria, nucleus = (em_stack > 150).astype(np.uint8) * 7, (em_stack < 100).astype(np.uint8) * 3
    path = tmp_path / "segmentation.h5"
    with h5py.File(path, "w") as file:
        file["mito"], file["nucleus"] = mitochondria, nucleus
    with pytest.raises(KeyboardInterrupt):
        import_labels(path, store, "x", key="mito", chunks=(16, 32, 32), memory_mib=0.1,
                      progress=ctrl_c_after_first_batch)
    import_labels(path, store, "x", key="nucleus", chunks=(16, 32, 32))
    np.testing.assert_array_equal(store.labels("x").data.compute(), nucleus)


@contextlib.contextmanager
def ctrl_c_after_first_batch(description, total):
    """A progress reporter that presses Ctrl-C as soon as the first batch of chunks is written."""

    def advance(finished):
        if finished:
            raise KeyboardInterrupt

    yield advance


def level_0_chunk_files(store_folder):
    """{chunk key: modification time} of the chunk files of the finest level, wherever in
    the (partial, staged or finished) store they lie."""
    return {path.as_posix().split("/0/c/", 1)[1]: path.stat().st_mtime_ns
            for path in store_folder.rglob("*") if path.is_file() and "/0/c/" in path.as_posix()}


def test_voxel_size_must_be_known_and_positive(tmp_path, em_stack):
    plain = tmp_path / "plain.tif"
    tifffile.imwrite(plain, em_stack)
    with pytest.raises(VemprofError, match="voxel size .* unknown.*--voxel-size"):
        import_volume(plain, tmp_path / "a.zarr")
    with pytest.raises(VemprofError, match="must be positive"):
        import_volume(plain, tmp_path / "a.zarr", voxel_size_nm=(0, 5, 5))
    assert not (tmp_path / "a.zarr").exists() and not (tmp_path / "a.zarr.partial").exists()


def test_a_label_image_is_refused_where_an_image_is_expected(tmp_path):
    labels = np.zeros((32, 64, 64), np.uint16)
    labels[5:20, 10:40, 10:30] = 1
    labels[22:30, 40:60, 30:60] = 2
    path = tmp_path / "labels.tif"
    tifffile.imwrite(path, labels)
    with pytest.raises(VemprofError, match="looks like a label image.*--as-labels"):
        import_volume(path, tmp_path / "a.zarr", voxel_size_nm=(8, 5, 5))
    assert not (tmp_path / "a.zarr").exists()


def test_nan_values_are_refused_and_nothing_is_left(tmp_path):
    image = np.random.default_rng(0).random((32, 32, 32)).astype(np.float32)
    image[20, 5, 5] = np.nan
    path = tmp_path / "nan.tif"
    tifffile.imwrite(path, image)
    with pytest.raises(VemprofError, match="NaN or infinite values near z 16:32"):
        import_volume(path, tmp_path / "a.zarr", voxel_size_nm=(8, 5, 5), chunks=(16, 16, 16))
    assert not (tmp_path / "a.zarr").exists() and not (tmp_path / "a.zarr.partial").exists()


def test_a_corrupt_chunk_in_an_ome_zarr_source(tmp_path, em_tiff):
    source = import_volume(em_tiff, tmp_path / "source.zarr", chunks=(16, 32, 32)).store
    (source.path / "0" / "c" / "1" / "1" / "0").write_bytes(b"not a compressed chunk")
    with pytest.raises(VemprofError, match="corrupt or unreadable"):
        import_volume(source.path, tmp_path / "copy.zarr")
    assert not (tmp_path / "copy.zarr").exists() and not (tmp_path / "copy.zarr.partial").exists()


def test_labels_join_an_existing_store(tmp_path, em_tiff, em_stack):
    store = import_volume(em_tiff, tmp_path / "cell.zarr").store
    instances = (em_stack > 150).astype(np.int32) * 7
    path = tmp_path / "mito.tif"
    tifffile.imwrite(path, instances)
    imported = import_labels(path, store, "mitochondria")
    assert imported.dtype == np.uint32 and imported.is_labels
    np.testing.assert_array_equal(store.labels("mitochondria").data.compute(), instances)
    tifffile.imwrite(path, instances[:10])
    with pytest.raises(VemprofError, match="same voxels"):
        import_labels(path, store, "bad")
    tifffile.imwrite(path, instances.astype(np.float32))
    with pytest.raises(VemprofError, match="not integer labels"):
        import_labels(path, store, "bad")


def test_import_from_a_key_inside_an_hdf5_file(tmp_path, em_stack):
    import h5py

    path = tmp_path / "volumes.h5"
    with h5py.File(path, "w") as file:
        file.create_dataset("em/raw", data=em_stack, chunks=(16, 32, 32)).attrs["element_size_um"] = (0.008, 0.005, 0.005)
        file.create_dataset("em/other", data=em_stack[:, :10])
    store = import_volume(f"{path}:/em/raw", tmp_path / "cell.zarr").store
    np.testing.assert_array_equal(store.raw().data.compute(), em_stack)
    (step,) = store.provenance
    assert step["inputs"][0]["path"].endswith("volumes.h5:/em/raw")
    assert import_volume(f"{path}:/em/raw", tmp_path / "cell.zarr").status == "up to date"


def test_an_edited_slice_folder_is_not_up_to_date(tmp_path):
    """Rewriting one slice at the same size changes what the folder holds: importing it
    again must not say "up to date" and keep the old data. (Slices of 90 kB: larger
    than the metadata files a folder fingerprint reads whole.)"""
    stack = np.random.default_rng(5).integers(0, 255, (6, 300, 300), dtype=np.uint8)
    folder = tmp_path / "slices"
    folder.mkdir()
    for z, plane in enumerate(stack):
        tifffile.imwrite(folder / f"slice_{z}.tif", plane)
    destination = tmp_path / "cell.zarr"
    import_volume(folder, destination, voxel_size_nm=(8, 5, 5))
    edited = stack.copy()
    edited[3] = 255 - edited[3]
    tifffile.imwrite(folder / "slice_3.tif", edited[3])  # the same size, new content

    with pytest.raises(VemprofError, match="already holds a dataset imported from .*slices"):
        import_volume(folder, destination, voxel_size_nm=(8, 5, 5))
    result = import_volume(folder, destination, voxel_size_nm=(8, 5, 5), overwrite=True)
    assert result.status == "imported"
    np.testing.assert_array_equal(result.store.raw().data.compute(), edited)
