"""`vemprof evaluate` as a user runs it: scores of a prediction in a store against the truth."""

import json

import numpy as np
import pytest
import tifffile

from vemprof.store import Store, write_dataset
from vemprof.synth import make_phantom


@pytest.fixture(scope="module")
def box_store(tmp_path_factory):
    """A 4×4×4-voxel box as the truth, the box moved one voxel along X, and a probability map of the box."""
    truth = np.zeros((8, 16, 16), np.uint8)
    truth[2:6, 4:8, 4:8] = 1
    raw = np.random.default_rng(0).integers(0, 255, truth.shape, dtype=np.uint8)
    path = tmp_path_factory.mktemp("evaluate") / "box.zarr"
    store = write_dataset(path, raw=raw, spacing=(40, 40, 40), labels={"truth": truth, "moved": np.roll(truth, 1, 2)},
                          tables={}, step="test", parameters={}, chunks=(4, 8, 8))
    store.write_probabilities("box", np.where(truth > 0, 0.9, 0.1).astype(np.float32), chunks=(4, 8, 8))
    tifffile.imwrite(path.parent / "truth.tif", truth)
    return path


@pytest.fixture(scope="module")
def phantom_store(tmp_path_factory):
    """A small phantom cell with its pores, and the pores moved 40 nm (one voxel) along X."""
    phantom = make_phantom(shape=(48, 112, 112), spacing=(40, 40, 40), n_mitochondria=4)
    labels = {name: phantom.labels[name] for name in ("mitochondria", "pores", "nucleus_sections")}
    labels["moved_pores"] = np.roll(phantom.labels["pores"], 1, axis=2)
    path = tmp_path_factory.mktemp("evaluate") / "phantom.zarr"
    write_dataset(path, raw=phantom.image, spacing=phantom.spacing, labels=labels, tables={}, step="test",
                  parameters={}, chunks=(16, 64, 64))
    return path


def scores(vemprof_cli, *args) -> dict:
    result = vemprof_cli("evaluate", *args, "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)  # stdout holds the JSON only


def test_a_box_moved_by_one_voxel_keeps_48_of_its_64_voxels(vemprof_cli, box_store):
    moved = scores(vemprof_cli, box_store, "--truth", "truth", "--pred", "moved")

    assert (moved["true_positives"], moved["false_positives"], moved["false_negatives"]) == (48, 16, 16)
    assert moved["iou"] == pytest.approx(48 / 80) and moved["dice"] == pytest.approx(0.75)
    assert scores(vemprof_cli, box_store, "--truth", "truth", "--pred", "truth")["iou"] == 1.0


def test_the_table_names_what_was_compared(vemprof_cli, box_store):
    result = vemprof_cli("evaluate", box_store, "--truth", "truth", "--pred", "moved")

    assert result.code == 0, result.stderr
    assert "semantic scores of labels/moved against labels/truth" in result.stdout
    assert "0.6000" in result.stdout and "dice" in result.stdout


def test_as_instances_the_moved_box_matches_at_iou_0_6(vemprof_cli, box_store):
    moved = scores(vemprof_cli, box_store, "--truth", "truth", "--pred", "moved", "--instances")

    assert moved["f1"] == 1.0 and moved["mean_matched_iou"] == pytest.approx(0.6)
    assert moved["ap_50"] == 1.0 and moved["ap_75"] == 0.0
    assert moved["ap_50_95"] == pytest.approx(0.3)  # matched at IoU 0.50, 0.55, 0.60 of the 10 thresholds


def test_a_probability_map_is_thresholded_at_one_half(vemprof_cli, box_store):
    result = scores(vemprof_cli, box_store, "--truth", "truth", "--pred", "box")

    assert result["prediction"] == "probabilities/box >= 0.5"
    assert result["iou"] == 1.0


def test_the_truth_can_be_a_label_file(vemprof_cli, box_store):
    result = scores(vemprof_cli, box_store, "--truth", box_store.parent / "truth.tif", "--pred", "moved")

    assert result["iou"] == pytest.approx(0.6)


def test_pores_moved_40_nm_are_found_within_60_nm_and_missed_within_30(vemprof_cli, phantom_store):
    pores = Store.open(phantom_store).labels("pores").data.max().compute()
    found = scores(vemprof_cli, phantom_store, "--truth", "pores", "--pred", "moved_pores", "--points",
                   "--tolerance-nm", "60")
    assert found["truth_points"] == found["true_positives"] == pores
    assert found["mean_distance_nm"] == pytest.approx(40)

    missed = scores(vemprof_cli, phantom_store, "--truth", "pores", "--pred", "moved_pores", "--points",
                    "--tolerance-nm", "30")
    assert missed["recall"] == 0.0


def test_pores_per_nucleus_section(vemprof_cli, phantom_store):
    result = scores(vemprof_cli, phantom_store, "--truth", "pores", "--pred", "moved_pores", "--points",
                    "--tolerance-nm", "60", "--regions", "nucleus_sections")

    assert set(result["regions"]) == {"1", "2"}
    for section in result["regions"].values():
        assert section["recall"] == section["precision"] == 1.0
    # a pore whose centre's voxel lies on the envelope, outside both sections, counts only overall
    assert sum(s["truth_points"] for s in result["regions"].values()) <= result["truth_points"]


def test_mitochondria_against_themselves_are_perfect_instances(vemprof_cli, phantom_store):
    result = scores(vemprof_cli, phantom_store, "--truth", "mitochondria", "--pred", "mitochondria", "--instances")

    assert result["truth_objects"] == 4
    assert result["f1"] == result["ap_50_95"] == 1.0
