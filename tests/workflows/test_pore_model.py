"""The 3D-aware pore model: the envelope painted from the pore masks in part of the
nucleus (in a second round, from the pores the first model found), the pores as maxima
of the smoothed probability (block by block as whole), and the steps train, detect and
score run from the command line on a small phantom."""

import numpy as np

from vemprof import ops
from vemprof.store import Store, write_dataset
from vemprof.synth import make_phantom
from vemprof.workflows import paint_pore_training
from vemprof.workflows._pore_model import confirmed_peaks, grow_pores, probability_peaks

SPACING = np.array([30.0, 20.0, 20.0])


def blobs(shape, centres, *, sigma_nm: float) -> np.ndarray:
    """uint8 probability (0–255): a Gaussian blob of peak 1 at each centre (voxels)."""
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, SPACING)], indexing="ij")
    total = np.zeros(shape)
    for centre in centres:
        total = np.maximum(total, np.exp(-sum((g - c * s) ** 2 for g, c, s in zip(grids, centre, SPACING))
                                         / (2 * sigma_nm ** 2)))
    return np.rint(total * 255).astype(np.uint8)


def test_each_pore_is_one_maximum_and_blocks_find_what_the_whole_volume_does():
    import dask.array as da

    shape = (40, 80, 80)
    centres = np.array([[10, 20, 20], [10, 20, 27], [30, 60, 60], [20, 40, 70], [5, 75, 5]])
    probability = blobs(shape, centres, sigma_nm=40)
    probability[:, :, :3] = 250  # outside the band: never a pore
    band = np.ones(shape, bool)
    band[:, :, :3] = False
    options = dict(spacing=SPACING, sigma_nm=10, min_distance_nm=60, threshold=0.5)
    whole, heights = probability_peaks(da.from_array(probability), da.from_array(band), block=shape, **options)
    assert len(heights) == len(whole) and ((heights >= 0.5) & (heights <= 1)).all()
    # the blobs 140 nm apart are two pores; the one at the band's edge is one
    np.testing.assert_allclose(np.sort(whole, axis=0), np.sort(centres * SPACING, axis=0), atol=SPACING.max())
    pieces, _ = probability_peaks(da.from_array(probability, chunks=(16, 32, 32)), da.from_array(band),
                                  block=(16, 32, 32), **options)
    np.testing.assert_array_equal(np.sort(pieces, axis=0), np.sort(whole, axis=0))
    dim, _ = probability_peaks(da.from_array(probability // 3), da.from_array(band), block=shape, **options)
    assert len(dim) == 0  # no maximum above the threshold


def test_pores_grown_block_by_block_are_those_grown_in_one_block():
    import dask.array as da
    import pandas as pd

    shape = (40, 80, 80)
    grids = np.meshgrid(*[np.arange(n) * s for n, s in zip(shape, SPACING)], indexing="ij")
    middle = np.array(shape) * SPACING / 2
    nucleus = sum((g - m) ** 2 for g, m in zip(grids, middle)) <= 500.0 ** 2  # a ball 1 µm across
    directions = np.array([[1, 0, 0], [0, 1, 0], [0, 0, -1], [0.6, 0.8, 0], [0, 0.6, 0.8]])
    peaks_nm = middle + 500 * directions  # on its surface, some in blocks apart, some near block edges
    probability = blobs(shape, np.rint(peaks_nm / SPACING).astype(int), sigma_nm=40)
    options = dict(spacing=SPACING, radius_nm=60, lowest=0.5)
    whole = grow_pores(da.from_array(nucleus), da.from_array(probability), peaks_nm, block=shape, **options)
    pieces = grow_pores(da.from_array(nucleus, chunks=(8, 16, 16)), da.from_array(probability, chunks=(8, 16, 16)),
                        peaks_nm, block=(8, 16, 16), **options)
    assert all(len(disc) > 5 for disc in whole)  # every pore grows
    pd.testing.assert_frame_equal(pd.concat(pieces), pd.concat(whole))


def test_a_weak_maximum_is_a_pore_where_a_pore_mask_confirms_it():
    peaks_nm = np.array([[0, 0, 0], [0, 0, 1000], [0, 0, 2000], [0, 0, 3000]], float)
    heights = np.array([0.7, 0.3, 0.3, 0.1])
    masks_nm = np.array([[0, 40, 1000], [0, 200, 2000], [0, 0, 3000]], float)  # near the 2nd, far from the 3rd
    kept = confirmed_peaks(peaks_nm, heights, masks_nm, threshold=0.5, confirmed=0.2, radius_nm=60)
    assert kept.tolist() == [True, True, False, False]  # the 4th is too weak even with a mask on it
    assert confirmed_peaks(peaks_nm, heights, np.zeros((0, 3)), threshold=0.5, confirmed=0.2,
                           radius_nm=60).tolist() == [True, False, False, False]


def test_the_envelope_is_painted_from_the_masks_in_part_of_the_nucleus(tmp_path):
    phantom = make_phantom(shape=(64, 128, 128), spacing=(60, 50, 50), seed=0)
    store = write_dataset(tmp_path / "cell.zarr", raw=phantom.image, spacing=phantom.spacing, tables={},
                          labels={"nucleus": phantom.labels["nucleus"], "pores": phantom.labels["pores"]},
                          step="test", parameters={})
    painted = paint_pore_training(store, nucleus="nucleus", masks="pores", out="training", fraction=0.5)
    values = np.asarray(store.labels("training").data)
    pores = phantom.labels["pores"] > 0
    assert store.annotation_classes("training") == ["pore"]
    end = painted["x_end"]
    assert (values[..., end:] == 0).all() and np.array_equal(values[..., :end] == 2, pores[..., :end])
    total = len(np.unique(phantom.labels["pores"])) - 1
    assert abs(painted["masks"] - total / 2) <= 0.1 * total  # half the masks
    near = values == 1  # background: the envelope's neighbourhood, both sides of the surface
    nucleus = phantom.labels["nucleus"] > 0
    assert near[nucleus].any() and near[~nucleus].any()
    assert not near[..., :end][nucleus[..., :end]].all()  # not the nucleus's depths


def test_of_several_nuclei_only_the_one_with_the_most_masks_is_painted(tmp_path):
    phantom = make_phantom(shape=(64, 128, 128), spacing=(60, 50, 50), seed=0)
    pores = phantom.labels["pores"]
    fewer = np.where(np.arange(128) < 64, pores, 0)  # the second cell keeps the pores of its first half in X
    field = {"nucleus": np.concatenate([phantom.labels["nucleus"]] * 2, axis=1),
             "pores": np.concatenate([pores, np.where(fewer > 0, fewer + pores.max(), 0)], axis=1)}
    store = write_dataset(tmp_path / "field.zarr", raw=np.concatenate([phantom.image] * 2, axis=1),
                          spacing=phantom.spacing, tables={}, labels=field, step="test", parameters={})
    painted = paint_pore_training(store, nucleus="nucleus", masks="pores", out="training", fraction=0.5,
                                  each_nucleus=True)
    values = np.asarray(store.labels("training").data)
    assert not values[:, 128:].any()  # the second cell, with fewer masks, is not painted
    cell = write_dataset(tmp_path / "cell.zarr", raw=phantom.image, spacing=phantom.spacing, tables={},
                         labels={"nucleus": phantom.labels["nucleus"], "pores": pores}, step="test", parameters={})
    alone = paint_pore_training(cell, nucleus="nucleus", masks="pores", out="training", fraction=0.5)
    assert painted == alone  # the first cell as if it were alone
    np.testing.assert_array_equal(values[:, :128], np.asarray(cell.labels("training").data))


def test_pores_found_by_a_model_trained_with_and_without_rotations(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = vemprof_cli(*"synth cell.zarr --set shape=64,128,128 --voxel-size 60,50,50 --no-preview".split())
    assert made.code == 0
    # 400 iterations (the same on a busy machine) at 50–60 nm voxels give faint pores (0.02–0.04 on the masks):
    # the plumbing is tested here, the accuracy in benchmarks/pores_accuracy.py
    run = vemprof_cli("pores", "cell.zarr", "--prefix", "found_", "--steps", "pockets,masks,train,detect,score",
                      "--train-minutes", "60", "--train-iterations", "400", "--xy-baseline", "--threshold", "0.03")
    assert run.code == 0, run
    store = Store.open(tmp_path / "cell.zarr")
    assert (tmp_path / "cell_pores" / "pore_model.zip").exists()
    assert (tmp_path / "cell_pores" / "pore_model_xy.zip").exists()
    nucleus = np.asarray(store.labels("nucleus").data) > 0
    zs = np.flatnonzero(nucleus.any(axis=(1, 2)))
    away = np.r_[0 : zs[0] - 2, zs[-1] + 3 : nucleus.shape[0]]  # planes ≥ 120 nm from the nucleus: no tile ran
    assert len(away) > 20 and not np.asarray(store.probabilities("found_pores_xy").data)[away].any()
    depth_in = ops.distance_transform(nucleus, spacing=store.spacing)
    depth_out = ops.distance_transform(~nucleus, spacing=store.spacing)
    for name in ("found_pores", "found_pores_xy"):
        pores = np.asarray(store.labels(name).data) > 0
        assert pores.any() and depth_in[pores].max() <= 60 and depth_out[pores].max() <= 30  # in the envelope
    detection = store.read_table("found_pore_detection")
    # the model that learned Y and X planes (turned by 90°) reads along them too, the other along Z planes only
    assert set(detection["route"]) == {"3D operations", "learned, rotated 30/60/90°, read along Z/Y/X",
                                       "learned, Z planes only"}
    refused = vemprof_cli("pores", "cell.zarr", "--prefix", "found_", "--steps", "detect", "--model", "none.zip")
    assert refused.code == 2 and "no pore model at none.zip" in refused.stderr
    refused = vemprof_cli("pores", "cell.zarr", "--prefix", "found_", "--steps", "detect", "--axes", "xy")
    assert refused.code == 2 and "--axes must be auto, z or zyx, got 'xy'" in refused.stderr


def test_a_second_round_learns_from_the_pores_the_first_model_found(tmp_path):
    from vemprof.workflows import train_in_rounds

    phantom = make_phantom(shape=(64, 128, 128), spacing=(60, 50, 50), seed=0)
    store = write_dataset(tmp_path / "cell.zarr", raw=phantom.image, spacing=phantom.spacing, tables={},
                          labels={"nucleus": phantom.labels["nucleus"], "pores": phantom.labels["pores"]},
                          step="test", parameters={})
    # 800 iterations each round (of 64-pixel patches), not a time: on a busy machine 0.2 minutes made a first model
    # that found no pore
    records = train_in_rounds(store, nucleus="nucleus", masks="pores", annotations="training",
                              path=tmp_path / "pore_model.zip", rounds=2, minutes=60, iterations=800, threshold=0.1)
    assert [(record["round"], record["targets"]) for record in records] == [(1, "pores"), (2, "pore_model_round1")]
    found = np.asarray(store.labels("pore_model_round1").data)
    touching_the_part = len(np.unique(found[..., : records[1]["x_end"]])) - 1  # centroids in it, or not
    assert 0 < records[1]["masks"] <= touching_the_part
