"""The 2D U-Net: seamless tiled prediction, training on sparse planes of a small phantom,
the model's files, prediction over a store, and bad requests in one line."""

import contextlib
import csv
import io
from functools import partial

import dask.array as da
import numpy as np
import pytest
import torch

from vemprof import ops
from vemprof.errors import VemprofError
from vemprof.learn import classify_store, predict_where, save_model, train_unet
from vemprof.learn._model import model_file
from vemprof.learn._tiles import predict_region, tile_starts
from vemprof.learn._unet import OnnxNetwork, TorchNetwork, build_network, choose_device, onnx_bytes
from vemprof.learn._unet_train import FINAL_RATE, LEARNING_RATE, learning_rate
from vemprof.store import write_dataset
from vemprof.synth import make_phantom

SPACING = (60.0, 60.0, 60.0)
#: A small network for tests: 3 levels (tiles a multiple of 4), one residual unit each.
SMALL = {"channels": [8, 16, 32], "residual_units": 1}


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(shape=(32, 96, 96), spacing=SPACING, n_mitochondria=4, seed=3)


@pytest.fixture(scope="module")
def network():
    torch.manual_seed(0)
    return build_network(3, SMALL).eval()


def test_tiles_cover_the_plane_and_end_flush_with_it():
    assert tile_starts(300, tile=64, overlap=16) == [0, 48, 96, 144, 192, 236]
    assert tile_starts(64, tile=64, overlap=16) == [0]
    with pytest.raises(VemprofError, match="smaller than the 64-pixel tile"):
        tile_starts(50, tile=64, overlap=16)


def test_a_volume_predicted_in_blocks_equals_it_predicted_whole(network):
    image = np.random.default_rng(0).random((3, 150, 170), dtype=np.float32)
    run = TorchNetwork(network, "cpu")
    whole = predict_region(image, (slice(0, 3), slice(0, 150), slice(0, 170)), run=run, classes=3, tile=64,
                           overlap=16)
    pieces = np.zeros_like(whole)
    for z in (slice(0, 2), slice(2, 3)):
        for y in (slice(0, 70), slice(70, 150)):
            for x in (slice(0, 33), slice(33, 170)):
                pieces[:, z, y, x] = predict_region(image, (z, y, x), run=run, classes=3, tile=64, overlap=16)
    assert np.abs(pieces - whole).max() <= 1 / 255
    np.testing.assert_allclose(whole.sum(axis=0), 1, atol=1e-5)  # probabilities


def test_only_the_tiles_near_a_region_are_run(network):
    """A band in a corner of the planes: the tiles that miss it are never run (0 there),
    the band itself is predicted, and a band everywhere is the whole prediction."""
    image = np.random.default_rng(0).random((2, 150, 170), dtype=np.float32)
    region = (slice(0, 2), slice(0, 150), slice(0, 170))
    ran = []

    def counting(tiles):
        ran.append(len(tiles))
        return TorchNetwork(network, "cpu")(tiles)

    whole = predict_region(image, region, run=counting, classes=3, tile=64, overlap=16)
    every_tile = sum(ran)
    band = np.zeros(image.shape, bool)
    band[1, 10:20, 10:20] = True
    ran.clear()
    near = predict_region(image, region, run=counting, classes=3, tile=64, overlap=16, where=band)
    assert sum(ran) == 1 and every_tile == 2 * 3 * 4  # one tile of the 2 × 12 holds the band
    np.testing.assert_allclose(near[:, band].sum(axis=0), 1, atol=1e-5)  # probabilities on the band
    assert not near[:, 0].any() and not near[:, 1, 100:, 100:].any()
    everywhere = predict_region(image, region, run=counting, classes=3, tile=64, overlap=16,
                                where=np.ones(image.shape, bool))
    np.testing.assert_allclose(everywhere, whole, atol=1e-6)


def test_onnxruntime_runs_the_network_as_pytorch_does(network):
    tiles = np.random.default_rng(1).random((2, 1, 32, 48), dtype=np.float32)
    exported = OnnxNetwork(onnx_bytes(network, tile=32))(tiles)
    np.testing.assert_allclose(exported, TorchNetwork(network, "cpu")(tiles), atol=1e-5)


def _store_with_painted_planes(path, phantom, *, every: int = 4, spacing=None):
    """The phantom as a store (at its voxel size or ``spacing``), the cell painted on
    every ``every``-th plane (1 = resin)."""
    store = write_dataset(path, raw=phantom.image, spacing=spacing or phantom.spacing,
                          labels={"cell": phantom.labels["cell"]}, tables={}, step="test", parameters={},
                          chunks=(16, 48, 48))
    annotations = np.zeros(phantom.image.shape, dtype=np.uint8)
    annotations[::every] = np.where(phantom.labels["cell"][::every] > 0, 2, 1)
    store.write_annotations("painted", annotations, classes=["cell"], chunks=(16, 48, 48))
    return store


def test_the_learning_rate_falls_along_a_half_cosine_over_the_budget():
    assert learning_rate(0) == LEARNING_RATE and learning_rate(1) == pytest.approx(FINAL_RATE * LEARNING_RATE)
    assert learning_rate(0.5) == pytest.approx((1 + FINAL_RATE) / 2 * LEARNING_RATE)  # half way down at half time
    assert learning_rate(1.7) == learning_rate(1)  # past the budget (the last step's time) it stays at the floor


def test_a_unet_trained_on_painted_planes_finds_the_cell(tmp_path, phantom):
    store = _store_with_painted_planes(tmp_path / "cell.zarr", phantom)
    description, weights, others = train_unet(store, "painted", max_iterations=150, device="cpu", network=SMALL,
                                              patch=64, seed=0)
    assert description.kind == "unet" and description.classes == ["background", "cell"]
    assert description.training["planes"]["validation"] == [8, 28]  # planes 0, 4, … 28: one in five held out
    model = save_model(tmp_path / "cell.zip", description, weights, others=others)
    log = list(csv.DictReader(io.StringIO(model_file(model, "training.csv").decode())))
    assert int(log[-1]["iteration"]) == 150 and "iou_cell" in log[0]
    rates = [float(row["learning_rate"]) for row in log]  # down a half cosine over the 150 iterations
    assert rates == sorted(rates, reverse=True) and rates[-1] == pytest.approx(FINAL_RATE * LEARNING_RATE)
    assert model_file(model, "training.png").startswith(b"\x89PNG")

    assert classify_store(store, model, prefix="found_", device="cpu") == ["found_cell"]
    found = np.asarray(store.labels("found_cell").data) > 0
    truth = phantom.labels["cell"] > 0
    assert np.count_nonzero(found & truth) / np.count_nonzero(found | truth) > 0.9
    assert store.probabilities("found_cell").data.dtype == np.uint8
    # the model's clean-up changed at prediction: keep only objects of at least 1000 µm³ (the cell is smaller)
    classify_store(store, model, prefix="strict_", device="cpu", cleanup={"cell": {"min_volume_um3": 1000}})
    assert not np.asarray(store.labels("strict_cell").data).any()
    assert store.provenance[-1]["parameters"]["cleanup"]["cell"] == {"kind": "mask", "min_volume_um3": 1000.0}

    # kept only inside another label image (as organelles inside the cell mask): nothing outside it
    half = np.zeros(phantom.image.shape, np.uint8)
    half[..., : half.shape[2] // 2] = 1
    store.write_labels("left_half", half)
    classify_store(store, model, prefix="left_", device="cpu", within="left_half")
    inside = np.asarray(store.labels("left_cell").data) > 0
    assert not (inside & (half == 0)).any() and np.array_equal(inside, found & (half > 0))
    assert store.provenance[-1]["parameters"]["within"] == "left_half"
    with pytest.raises(VemprofError, match="has no labels/nope; make the cell mask first"):
        classify_store(store, model, prefix="none_", device="cpu", within="nope")
    with pytest.raises(VemprofError, match="--within found_cell is one of the label images this model writes"):
        classify_store(store, model, prefix="found_", device="cpu", within="found_cell", overwrite=True)


def test_predicting_along_z_y_and_x_planes_averages_three_good_predictions(tmp_path, phantom):
    """Anisotropic voxels (the phantom's planes said to be 90 nm apart, 1.5 pixels): the
    Y and X planes are stretched to the training pixel and back; their consensus finds
    the cell as well as Z alone."""
    store = _store_with_painted_planes(tmp_path / "cell.zarr", phantom, spacing=(90.0, 60.0, 60.0))
    description, weights, others = train_unet(store, "painted", max_iterations=150, device="cpu", network=SMALL,
                                              patch=32, seed=0)
    model = save_model(tmp_path / "cell.zip", description, weights, others=others)
    truth = phantom.labels["cell"] > 0
    scores = {}
    for axes in ("z", "zyx"):
        classify_store(store, model, prefix=f"{axes}_", device="cpu", axes=axes)
        found = np.asarray(store.labels(f"{axes}_cell").data) > 0
        scores[axes] = np.count_nonzero(found & truth) / np.count_nonzero(found | truth)
    assert scores["zyx"] > 0.9 and scores["zyx"] > scores["z"] - 0.02, scores
    assert store.provenance[-1]["parameters"]["axes"] == "zyx"

    # only near a band (the cell's surface in a corner): there the same consensus; in planes of none of the three
    # orientations that hold it, nothing ran
    band = ops.shell(truth, inner_nm=0, outer_nm=60, side="inside", spacing=store.spacing)
    band[10:], band[:, 30:], band[..., 30:] = False, False, False
    predict_where(store, model, where=da.from_array(band, chunks=16), names=["near_cell"], axes="zyx", device="cpu")
    near, whole = (np.asarray(store.probabilities(name).data).astype(int) for name in ("near_cell", "zyx_cell"))
    assert np.abs(near[band] - whole[band]).max() <= 1  # of 255: rounding
    assert not near[10:, 30:, 30:].any() and whole[10:, 30:, 30:].any()


def test_planes_held_out_for_validation_are_not_rotated_into_training(tmp_path, phantom):
    """With --rotations, a held-out plane's pixels must not reach training by way of a
    rotated plane that crosses it."""
    from vemprof.learn._unet_train import _rotated

    store = _store_with_painted_planes(tmp_path / "cell.zarr", phantom)
    annotations = np.zeros(phantom.image.shape, np.uint8)
    annotations[4], annotations[8] = 2, 3  # two classes, each painted on one plane whole
    store.write_annotations("two", annotations, classes=["first", "held_out"], chunks=(16, 48, 48))
    planes = _rotated(store, "two", level=0, grey_range=(0, 255), patch=32, angles=[90], every=1, held_out=[8])
    painted = {int(value) for plane in planes for value in np.unique(plane.labels)}
    assert painted == {0, 2}  # class 3 lived on the held-out plane only


def test_the_same_seed_trains_the_same_network_on_the_cpu(tmp_path, phantom):
    store = _store_with_painted_planes(tmp_path / "cell.zarr", phantom)
    first, second = (train_unet(store, "painted", max_iterations=5, device="cpu", network=SMALL, patch=64,
                                seed=7)[2]["unet.pt"] for _ in range(2))
    states = [torch.load(io.BytesIO(weights), weights_only=True) for weights in (first, second)]
    assert all(torch.equal(states[0][key], states[1][key]) for key in states[0])


def test_an_interrupted_training_resumes_to_the_same_network(tmp_path, phantom):
    """Interrupted at step 110 (after the validation and checkpoint at step 100), the same
    call goes on from step 101 and ends with the network an uninterrupted run gives."""
    store = _store_with_painted_planes(tmp_path / "cell.zarr", phantom)
    options = dict(max_iterations=120, device="cpu", network=SMALL, patch=32, seed=0)
    uninterrupted = train_unet(store, "painted", **options)
    checkpoint = tmp_path / "unet.checkpoint.pt"
    reported = []

    @contextlib.contextmanager
    def recorded(description, total, *, stop_at=None):
        reported.append(description)

        def advance(finished):
            reported.append(finished)
            if len(reported) - 2 == stop_at:  # the description and the skip come first
                raise KeyboardInterrupt

        yield advance

    with pytest.raises(KeyboardInterrupt):
        train_unet(store, "painted", checkpoint=checkpoint, progress=partial(recorded, stop_at=110), **options)
    assert checkpoint.exists()
    reported.clear()
    resumed = train_unet(store, "painted", checkpoint=checkpoint, progress=recorded, **options)
    assert "resumed at step 101" in reported[0] and reported[1:] == [100] + [1] * 20  # 20 steps, not 120
    assert not checkpoint.exists()
    states = [torch.load(io.BytesIO(run[2]["unet.pt"]), weights_only=True) for run in (uninterrupted, resumed)]
    assert all(torch.equal(states[0][key], states[1][key]) for key in states[0])
    assert resumed[0].training["iterations"] == 120


def test_bad_requests_fail_in_one_line(tmp_path, phantom, monkeypatch):
    store = _store_with_painted_planes(tmp_path / "cell.zarr", phantom)
    with pytest.raises(VemprofError, match="multiple of 4"):
        train_unet(store, "painted", max_iterations=1, network=SMALL, patch=30)
    coarse = train_unet(store, "painted", level=1, max_iterations=1, device="cpu", network=SMALL, patch=64)
    model = save_model(tmp_path / "coarse", *coarse[:2], others=coarse[2])
    with pytest.raises(VemprofError, match="48 × 48 pixels, smaller than the model's 64-pixel training patch"):
        classify_store(store, model, prefix="p_")
    fine = train_unet(store, "painted", max_iterations=1, device="cpu", network=SMALL, patch=64)
    fine = save_model(tmp_path / "fine", *fine[:2], others=fine[2])
    with pytest.raises(VemprofError, match="Y planes at level 0 are 32 × 96 pixels.*too thin for --axes zyx"):
        classify_store(store, fine, prefix="p_", axes="zyx")
    with pytest.raises(VemprofError, match="--axes must be one of z, zyx"):
        classify_store(store, fine, prefix="p_", axes="xy")
    assert "p_cell" not in store.label_names
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(VemprofError, match="no CUDA GPU"):
        choose_device("cuda")
    assert choose_device("auto") == "cpu"
