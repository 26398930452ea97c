"""Sparse annotations painted from a store's label images the way a person paints them:
every N-th plane, whole or in compact patches, the classes in the order given; requests
that cannot work are refused in one line and write nothing."""

import json

import cc3d
import dask.array as da
import numpy as np
import pytest
import tifffile

from vemprof.errors import VemprofError
from vemprof.learn import annotate_planes, plane_annotations
from vemprof.store import Store, write_dataset
from vemprof.synth import make_phantom

SPACING = (60.0, 60.0, 60.0)
CLASSES = ["cell", "nucleus", "mitochondria"]


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(shape=(32, 96, 96), spacing=SPACING, n_mitochondria=4)


@pytest.fixture
def store(tmp_path, phantom):
    return write_dataset(tmp_path / "cell.zarr", raw=phantom.image, spacing=phantom.spacing,
                         labels={name: phantom.labels[name] for name in CLASSES}, tables={}, step="synth",
                         parameters={}, chunks=(16, 48, 48))


def painted_as_classes(phantom) -> np.ndarray:
    """What a whole annotated plane must hold: 1 background, 2 cell, 3 nucleus, 4 mitochondria
    (a later class paints over an earlier one)."""
    expected = np.ones(phantom.image.shape, np.uint8)
    for value, name in enumerate(CLASSES, start=2):
        expected[phantom.labels[name] > 0] = value
    return expected


def test_every_tenth_plane_is_painted_from_the_labels(store, phantom):
    annotate_planes(store, "planes", from_labels="cell,nucleus,mitochondria", every=10)

    annotation = store.labels("planes").data.compute()
    assert np.flatnonzero(annotation.any(axis=(1, 2))).tolist() == [0, 10, 20, 30]
    np.testing.assert_array_equal(annotation[::10], painted_as_classes(phantom)[::10])
    assert store.annotation_classes("planes") == CLASSES
    assert store.annotation_voxels("planes")["nucleus"] == np.count_nonzero(annotation == 3) > 0
    step = store.provenance[-1]
    assert step["step"] == "annotate-planes" and step["parameters"]["every"] == 10
    assert [entry["path"].rsplit("/", 1)[1] for entry in step["inputs"]] == CLASSES


def test_every_fifth_plane_along_y(store, phantom):
    annotate_planes(store, "y-planes", from_labels=CLASSES, every=5, axis="y")

    annotation = store.labels("y-planes").data.compute()
    assert np.flatnonzero(annotation.any(axis=(0, 2))).tolist() == list(range(0, 96, 5))
    np.testing.assert_array_equal(annotation[:, ::5], painted_as_classes(phantom)[:, ::5])


def test_a_fraction_paints_compact_patches_of_the_planes(store, phantom):
    annotate_planes(store, "patches", from_labels=CLASSES, every=10, fraction=0.3, patch_nm=500, seed=1)

    annotation = store.labels("patches").data.compute()
    disc = np.pi * (250 / 60) ** 2  # voxels of one 500 nm patch
    for z in (0, 10, 20, 30):
        patches = annotation[z] > 0
        assert 0.2 <= patches.mean() <= 0.4
        # patches, not scattered voxels: each piece at least a disc cut in half by the edge
        pieces, count = cc3d.connected_components(patches, return_N=True)
        assert np.bincount(pieces.ravel())[1:].min() >= disc / 2
        assert count <= patches.sum() / disc
        # inside the patches, objects and background as the labels have them
        np.testing.assert_array_equal(annotation[z][patches], painted_as_classes(phantom)[z][patches])
    assert not annotation[1:10].any()


def test_the_same_seed_paints_the_same_patches(phantom):
    labels = [phantom.labels[name] for name in CLASSES]
    first, again, other = (plane_annotations(labels, spacing=SPACING, every=10, fraction=0.3, seed=seed).compute()
                           for seed in (1, 1, 2))
    assert np.array_equal(first, again) and not np.array_equal(first, other)


def test_block_wise_equals_whole_array(phantom):
    whole = [phantom.labels[name] for name in CLASSES]
    blocks = [da.from_array(label, chunks=(7, 20, 36)) for label in whole]
    for options in (dict(every=5), dict(every=4, fraction=0.5, axis="x", patch_nm=300)):
        expected = plane_annotations(whole, spacing=SPACING, **options).compute()
        np.testing.assert_array_equal(plane_annotations(blocks, spacing=SPACING, **options).compute(), expected)


@pytest.mark.parametrize("options, message", [
    (dict(from_labels="cell,er"), r"no labels 'er' in .*; it has: cell, mitochondria, nucleus"),
    (dict(every=0), "--every must be a whole number of planes, at least 1, got 0"),
    (dict(fraction=0.0), "--fraction is the part of each annotated plane painted"),
    (dict(fraction=1.5), "more than 0 and at most 1, got 1.5"),
    (dict(axis="t"), "--axis must be z, y or x, got 't'"),
    (dict(name="cell"), "labels/cell already exists .*--overwrite"),
    (dict(from_labels="cell,cell"), "names 'cell' more than once"),
    (dict(from_labels="nucleus", every=30), r"'nucleus' has no voxel in the annotated planes 0, 30 along z.*--every 15"),
    (dict(from_labels="nucleus,cell"), "'nucleus' has no voxel .*classes listed after it paint over it"),
])
def test_requests_that_cannot_work_are_refused_and_write_nothing(store, options, message):
    options = {"name": "paint", "from_labels": "cell", **options}
    before = store.label_names
    with pytest.raises(VemprofError, match=message):
        annotate_planes(store, options.pop("name"), **options)
    assert store.label_names == before and not (store.path / ".staging").exists()
    assert [step["step"] for step in store.provenance] == ["synth"]


def test_the_commands_paint_import_and_list_annotations(vemprof_cli, store, phantom, tmp_path):
    assert vemprof_cli("annotate-planes", store.path, "--from-labels", "cell,nucleus", "--out", "planes",
                       "--every", "5", "--fraction", "0.5").code == 0
    painted = np.zeros(phantom.image.shape, np.int32)  # a napari Labels layer saved to disk
    painted[16] = np.where(phantom.labels["nucleus"][16] > 0, 2, 1)
    tifffile.imwrite(tmp_path / "painted.tif", painted)
    assert vemprof_cli("import", tmp_path / "painted.tif", store.path, "--as-annotations", "nucleus-scribbles",
                       "--classes", "nucleus").code == 0

    summary = json.loads(vemprof_cli("info", store.path, "--json").stdout)
    assert {name: entry["classes"] for name, entry in summary["annotations"].items()} == {
        "nucleus-scribbles": ["nucleus"], "planes": ["cell", "nucleus"]}
    assert summary["annotations"]["nucleus-scribbles"]["voxels"]["nucleus"] == np.count_nonzero(painted == 2)
    assert "nucleus-scribbles: background" in vemprof_cli("info", store.path).stdout
    assert Store.open(store.path).annotation_names == ["nucleus-scribbles", "planes"]


def test_label_images_chunked_differently_are_painted_together():
    # a uint8 mask and uint32 instances read from a store come in different dask chunks
    cell = da.from_array(np.ones((32, 64, 64), np.uint8), chunks=(32, 64, 64))
    mitochondria = np.zeros((32, 64, 64), np.uint32)
    mitochondria[:, 10:20, 10:20] = 7
    painted = plane_annotations([cell, da.from_array(mitochondria, chunks=(16, 16, 16))], spacing=(25, 20, 20),
                                every=16).compute()
    assert set(np.unique(painted[0])) == {2, 3} and (painted[16, 10:20, 10:20] == 3).all()
    assert not painted[1:16].any()


def touching_objects() -> np.ndarray:
    objects = np.zeros((4, 8, 12), np.uint16)
    objects[:, 2:6, 1:5] = 7   # two objects side by side: columns 4 and 5 meet
    objects[:, 2:6, 5:9] = 9
    objects[:, 2:6, 10:12] = 3  # one apart from them (a gap at column 9)
    return objects


def test_the_seams_between_touching_objects_get_a_class_of_their_own():
    painted = plane_annotations([touching_objects()], spacing=(10, 30, 30), every=2, contacts=[0]).compute()

    assert painted[1].max() == 0  # an unannotated plane stays unpainted
    plane = painted[2]
    assert (plane[2:6, 4:6] == 3).all()  # the seam: within 30 nm (one pixel) of the other object
    assert (plane[2:6, 1:4] == 2).all() and (plane[2:6, 6:9] == 2).all() and (plane[2:6, 10:12] == 2).all()
    assert (plane[:2] == 1).all()


def test_annotate_planes_names_the_contact_class(tmp_path):
    objects = touching_objects()
    store = write_dataset(tmp_path / "seams.zarr", raw=np.zeros(objects.shape, np.uint8), spacing=(10, 10, 10),
                          labels={"cell": np.ones(objects.shape, np.uint8), "mitochondria": objects}, tables={},
                          step="test", parameters={})
    annotate_planes(store, "seams", from_labels="cell,mitochondria", contacts="mitochondria", every=2)
    assert store.annotation_classes("seams") == ["cell", "mitochondria", "mitochondria_contact"]
    with pytest.raises(VemprofError, match="--contacts names nucleus, which --from-labels does not"):
        annotate_planes(store, "other", from_labels="cell,mitochondria", contacts="nucleus")
