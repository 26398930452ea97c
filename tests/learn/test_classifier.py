"""The pixel classifier: trained on a few annotated planes of a small phantom it finds
the cell; block-wise classification equals whole-array classification; a coarser level
gives full-size results; bad requests fail in one line."""

import contextlib

import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.learn import classify_store, load_model, save_model, train_classifier
import vemprof.learn._classify as classify
from vemprof.learn._features import FeatureBank
from vemprof.learn._forest import OnnxClassifier, classify_block, image_range
from vemprof.store import Store, write_dataset
from vemprof.synth import make_phantom

SPACING = (60.0, 60.0, 60.0)


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(shape=(32, 96, 96), spacing=SPACING, n_mitochondria=4, seed=3)


def _store_with_plane_annotations(path, phantom, *, every: int = 13):
    """The phantom as a store, with 'cell vs resin' painted on every ``every``-th plane:
    1 = resin (background), 2 = cell, 0 elsewhere."""
    store = write_dataset(path, raw=phantom.image, spacing=phantom.spacing,
                          labels={"cell": phantom.labels["cell"]}, tables={}, step="test", parameters={},
                          chunks=(16, 48, 48))
    annotations = np.zeros(phantom.image.shape, dtype=np.uint8)
    annotations[::every] = np.where(phantom.labels["cell"][::every] > 0, 2, 1)
    store.write_annotations("scribbles", annotations, classes=["cell"], chunks=(16, 48, 48))
    return store


def _iou(a, b) -> float:
    return np.count_nonzero(a & b) / np.count_nonzero(a | b)


def test_a_forest_from_three_planes_finds_the_cell(tmp_path, phantom):
    store = _store_with_plane_annotations(tmp_path / "cell.zarr", phantom)
    description, weights = train_classifier(store, "scribbles", trees=20, seed=0)
    assert description.classes == ["background", "cell"]
    assert description.training["annotated_voxels"]["cell"] > 0
    save_model(tmp_path / "cell-model.zip", description, weights)
    # the store holds the ground truth as labels/cell: the results go beside it
    with pytest.raises(VemprofError, match="already holds labels/cell; pass --prefix"):
        classify_store(store, tmp_path / "cell-model.zip")
    assert classify_store(store, tmp_path / "cell-model.zip", prefix="found_") == ["found_cell"]
    store = Store.open(store.path)
    predicted = np.asarray(store.labels("found_cell").data) > 0
    truth = phantom.labels["cell"] > 0
    assert _iou(predicted, truth) > 0.97
    probability = np.asarray(store.probabilities("found_cell").data)
    assert probability.dtype == np.uint8 and probability[truth].mean() > 200 and probability[~truth].mean() < 50
    assert store.provenance[-1]["step"] == "predict"


def test_block_wise_classification_equals_the_whole_array(tmp_path, phantom, monkeypatch):
    store = _store_with_plane_annotations(tmp_path / "cell.zarr", phantom)
    description, weights = train_classifier(store, "scribbles", trees=5, seed=1)
    save_model(tmp_path / "model", description, weights)
    # blocks smaller than the volume, so that the volume is classified in several
    monkeypatch.setattr(classify, "BLOCK", (16, 40, 56))
    classify_store(store, tmp_path / "model", prefix="found_")
    bank = FeatureBank.from_dict(description.features)
    whole = classify_block(phantom.image, spacing=SPACING, bank=bank, grey_range=image_range(phantom.image),
                           classifier=OnnxClassifier(weights))
    assert np.array_equal(np.asarray(Store.open(store.path).probabilities("found_cell").data), whole[1])


def test_a_coarser_level_gives_full_size_results(tmp_path, phantom):
    store = _store_with_plane_annotations(tmp_path / "cell.zarr", phantom, every=6)
    description, weights = train_classifier(store, "scribbles", level=1, trees=20)
    assert description.level == 1 and description.spacing_nm == [120.0, 120.0, 120.0]
    save_model(tmp_path / "coarse", description, weights)
    classify_store(store, tmp_path / "coarse", prefix="found_")  # the level follows the model's voxel size
    predicted = np.asarray(Store.open(store.path).labels("found_cell").data) > 0
    assert predicted.shape == phantom.image.shape
    # 120 nm voxels on a 3 µm cell: its thin edge is a voxel or two, the rest is found
    assert _iou(predicted, phantom.labels["cell"] > 0) > 0.85
    with pytest.raises(VemprofError, match="trained at 120 × 120 × 120 nm voxels but level 0"):
        classify_store(store, tmp_path / "coarse", level=0, prefix="again_")


def test_bad_requests_fail_in_one_line(tmp_path, phantom):
    store = _store_with_plane_annotations(tmp_path / "cell.zarr", phantom)
    empty = np.zeros(phantom.image.shape, dtype=np.uint8)
    store.write_annotations("nothing", empty + np.uint8(0), classes=["cell"])
    with pytest.raises(VemprofError, match="no annotated voxel"):
        train_classifier(store, "nothing")
    only_resin = empty.copy()
    only_resin[0] = 1
    store.write_annotations("resin-only", only_resin, classes=["cell"])
    with pytest.raises(VemprofError, match="cell have no annotated voxel"):
        train_classifier(store, "resin-only")
    with pytest.raises(VemprofError, match="--level 9 does not exist"):
        train_classifier(store, "scribbles", level=9)
    description, weights = train_classifier(store, "scribbles", trees=2)
    assert load_model(save_model(tmp_path / "m", description, weights))[0] == description
    store.write_annotations("nuclei", np.asarray(store.labels("scribbles").data), classes=["nucleus"])
    nuclei = save_model(tmp_path / "nuclei", *train_classifier(store, "nuclei", trees=2))
    with pytest.raises(VemprofError, match="--each-cell is for a forest with a class named cell"):
        classify_store(store, nuclei, prefix="found_", each_cell=True)


def test_an_interrupted_classification_resumes_where_it_stopped(tmp_path, phantom, monkeypatch):
    store = _store_with_plane_annotations(tmp_path / "cell.zarr", phantom)
    description, weights = train_classifier(store, "scribbles", trees=5)
    model = save_model(tmp_path / "model", description, weights)
    monkeypatch.setattr(classify, "BLOCK", (16, 48, 48))  # 8 blocks

    @contextlib.contextmanager
    def interrupted_after_three_blocks(description, total):
        finished = []

        def advance(count):
            finished.append(count)
            if description == "classifying" and sum(finished) >= 3:
                raise KeyboardInterrupt

        yield advance

    with pytest.raises(KeyboardInterrupt):
        classify_store(store, model, prefix="found_", progress=interrupted_after_three_blocks)
    logs = list((store.path / classify.SCRATCH).glob("*/done.txt"))
    assert len(logs) == 1 and len(logs[0].read_text().split()) == 3

    classify_store(store, model, prefix="found_")  # the same run again: 5 blocks to go
    assert not (store.path / classify.SCRATCH).exists()
    fresh = _store_with_plane_annotations(tmp_path / "fresh.zarr", phantom)
    classify_store(fresh, model, prefix="found_")
    assert np.array_equal(np.asarray(Store.open(store.path).probabilities("found_cell").data),
                          np.asarray(Store.open(fresh.path).probabilities("found_cell").data))


def test_annotations_with_fewer_pyramid_levels_than_the_image_train_a_coarse_level(tmp_path, phantom):
    store = _store_with_plane_annotations(tmp_path / "cell.zarr", phantom, every=6)
    painted = np.asarray(store.labels("scribbles").data)
    store.write_annotations("one_level", painted, classes=["cell"], chunks=(32, 96, 96))  # a single chunk
    assert len(store.pyramid("labels/one_level")) < len(store.pyramid()) > 1
    description, _ = train_classifier(store, "one_level", level=1, trees=2)
    assert description.training["annotated_voxels"] == train_classifier(store, "scribbles", level=1, trees=2)[
        0].training["annotated_voxels"]


def test_the_cell_mask_keeps_the_largest_cell_or_with_each_cell_every_cell():
    from vemprof.learn import clean_cell_mask

    spacing = (50.0, 50.0, 50.0)  # nm: a voxel is 1.25e-4 µm³
    grid = np.ogrid[:40, :40, :100]
    mask = np.zeros((40, 40, 100), bool)
    for centre_x, radius in ((20, 15), (70, 12)):  # two cells of 1.8 and 0.9 µm³
        mask |= (grid[0] - 20) ** 2 + (grid[1] - 20) ** 2 + (grid[2] - centre_x) ** 2 <= radius ** 2
    mask[1:7, 1:7, 92:98] = True  # a speck of 0.03 µm³, thick enough to outlast the opening
    one = clean_cell_mask(mask, spacing=spacing)
    assert one[20, 20, 20] and not one[20, 20, 70] and not one[4, 4, 95]
    every = clean_cell_mask(mask, spacing=spacing, min_volume_um3=0.5)
    assert every[20, 20, 20] and every[20, 20, 70] and not every[4, 4, 95]
    assert clean_cell_mask(mask, spacing=spacing, min_volume_um3=0.01)[4, 4, 95]
