"""Sparse annotations in the store: label images whose values are painted classes
(0 not annotated, 1 background, 2… the classes), written and imported with their class
names, refused in one line with nothing written when the values or names are wrong."""

import dask.array as da
import numpy as np
import pytest
import tifffile
import zarr
from ome_zarr_models.v05.image_label import ImageLabel

from vemprof import VemprofError
from vemprof.store import Store, import_annotations

from .test_import import ctrl_c_after_first_batch

SHAPE = (16, 48, 40)
CHUNKS = (8, 16, 16)


@pytest.fixture
def store(tmp_path):
    store = Store.create(tmp_path / "cell.zarr")
    store.write_raw(np.random.default_rng(0).integers(0, 255, SHAPE, dtype=np.uint8), spacing=(8, 5, 5),
                    chunks=CHUNKS)
    store.write_labels("cell", np.ones(SHAPE, np.uint8), chunks=CHUNKS)
    return store


def painted() -> np.ndarray:
    """Two planes painted as in napari (int32): background, a nucleus, a mitochondrion."""
    annotation = np.zeros(SHAPE, np.int32)
    annotation[3] = 1
    annotation[3, 10:30, 10:30] = 2
    annotation[11, 5:15, 20:30] = 3
    return annotation


def nothing_left_behind(store: Store, name: str) -> bool:
    return name not in store.label_names and not (store.path / ".staging").exists()


def test_annotations_are_labels_with_their_class_names(store):
    store.write_annotations("scribbles", painted(), classes=["nucleus", "mitochondria"], chunks=CHUNKS)
    assert store.annotation_names == ["scribbles"]
    assert store.label_names == ["cell", "scribbles"]
    assert store.annotation_classes("scribbles") == ["nucleus", "mitochondria"]
    assert store.annotation_voxels("scribbles") == {"background": 40 * 48 - 400, "nucleus": 400, "mitochondria": 100}
    annotation = store.labels("scribbles")
    assert isinstance(annotation.data, da.Array) and annotation.dtype == np.uint8
    np.testing.assert_array_equal(annotation.data.compute(), painted())
    # an NGFF label image, its values named for viewers
    label = ImageLabel.from_zarr(zarr.open_group(str(store.path / "labels" / "scribbles"), mode="r"))
    properties = label.attributes.ome.image_label.properties
    assert [(p.label_value, p.model_extra["class"]) for p in properties] == [
        (1, "background"), (2, "nucleus"), (3, "mitochondria")]


def test_a_value_beyond_the_classes_is_refused_and_nothing_is_written(store):
    with pytest.raises(VemprofError, match=r"holds the value 3 \(near z 8:16.*outside 0…2 .*--classes"):
        store.write_annotations("scribbles", da.from_array(painted(), chunks=4), classes=["nucleus"], chunks=CHUNKS)
    assert nothing_left_behind(store, "scribbles")
    negative = painted()
    negative[0, 0, 0] = -1
    with pytest.raises(VemprofError, match="holds the value -1"):
        store.write_annotations("scribbles", negative, classes=["nucleus", "mitochondria"])
    assert nothing_left_behind(store, "scribbles")


@pytest.mark.parametrize("classes, message", [
    (None, "needs its class names; give them with --classes"),
    ([], "needs its class names"),
    (["nucleus", ""], "empty name"),
    ("nucleus,,mitochondria", "empty name"),
    (["nucleus", "nucleus"], "names 'nucleus' more than once"),
    (["background", "nucleus"], "'background' is value 1"),
])
def test_class_names_must_be_given_distinct_and_not_background(store, classes, message):
    with pytest.raises(VemprofError, match=message):
        store.write_annotations("scribbles", painted(), classes=classes)
    assert nothing_left_behind(store, "scribbles")


def test_float_annotations_are_refused(store):
    with pytest.raises(VemprofError, match="holds float32 values; annotations are integers"):
        store.write_annotations("scribbles", painted().astype(np.float32), classes=["nucleus", "mitochondria"])


def test_asking_for_the_classes_of_something_else_names_what_is_there(store):
    store.write_annotations("scribbles", painted(), classes="nucleus,mitochondria")
    with pytest.raises(VemprofError, match="labels/cell .* is a label image without class names.*: scribbles"):
        store.annotation_classes("cell")
    with pytest.raises(VemprofError, match="no annotation image 'paint'.*annotation images: scribbles.*--classes"):
        store.annotation_classes("paint")


def test_a_failed_check_keeps_the_old_annotations(store):
    store.write_annotations("scribbles", painted(), classes=["nucleus", "mitochondria"])

    def refuse_few_mitochondria(voxels):
        if voxels["mitochondria"] < 1000:
            raise VemprofError("too few mitochondria")

    with pytest.raises(VemprofError, match="too few"):
        store.write_annotations("scribbles", painted() * 0 + 1, classes=["nucleus", "mitochondria"],
                                check=refuse_few_mitochondria)
    np.testing.assert_array_equal(store.labels("scribbles").data.compute(), painted())
    assert not (store.path / ".staging").exists()


def test_a_painted_tiff_is_imported_with_its_classes(store, tmp_path):
    tifffile.imwrite(tmp_path / "painted.tif", painted())  # as napari saves a Labels layer
    imported = import_annotations(tmp_path / "painted.tif", store, "scribbles", classes="nucleus,mitochondria",
                                  chunks=CHUNKS)
    assert imported.is_labels and imported.dtype == np.uint8
    np.testing.assert_array_equal(imported.data.compute(), painted())
    assert store.annotation_classes("scribbles") == ["nucleus", "mitochondria"]
    (step,) = [s for s in store.provenance if s["step"] == "import-annotations"]
    assert step["parameters"]["classes"] == ["nucleus", "mitochondria"]
    assert step["inputs"][0]["path"].endswith("painted.tif")


def test_an_interrupted_import_resumes(store, tmp_path):
    tifffile.imwrite(tmp_path / "painted.tif", painted())
    with pytest.raises(KeyboardInterrupt):
        import_annotations(tmp_path / "painted.tif", store, "scribbles", classes=["nucleus", "mitochondria"],
                           chunks=CHUNKS, memory_mib=0.01, progress=ctrl_c_after_first_batch)
    assert "scribbles" not in store.label_names
    import_annotations(tmp_path / "painted.tif", store, "scribbles", classes=["nucleus", "mitochondria"],
                       chunks=CHUNKS)
    np.testing.assert_array_equal(store.labels("scribbles").data.compute(), painted())


@pytest.mark.parametrize("image, classes, message", [
    (painted(), ["nucleus"], r"holds the value 3 .*outside 0…2 for its 1 class\(es\) .*--classes"),
    (painted().astype(np.float32), ["nucleus", "mitochondria"], "float32 values, not painted classes"),
    (np.zeros(SHAPE, np.uint8), ["nucleus"], "no annotated voxel"),
    (painted(), None, "give them with --classes"),
    (painted()[:8], ["nucleus", "mitochondria"], "same voxels"),
])
def test_a_bad_import_is_refused_in_one_line_and_writes_nothing(store, tmp_path, image, classes, message):
    tifffile.imwrite(tmp_path / "painted.tif", image)
    with pytest.raises(VemprofError, match=message):
        import_annotations(tmp_path / "painted.tif", store, "scribbles", classes=classes, chunks=CHUNKS)
    assert nothing_left_behind(store, "scribbles")
    assert [s["step"] for s in store.provenance] == []
