"""The pockets under the nuclear pores and the pore masks above them, found by the shipped
chains of 3D operations: the contrast (EM or raw backscatter) told apart by itself, the
pockets and pores of a phantom scored against its own; the ground truth is never
overwritten."""

import json

import dask.array as da
import numpy as np
import pandas as pd
import pytest
from scipy import ndimage

from vemprof.errors import VemprofError
from vemprof.evaluate import centroids_nm, point_scores
from vemprof.ops import load_chain
from vemprof.store import Store, write_dataset
from vemprof.synth import make_phantom
from vemprof.workflows import POCKETS_CHAIN, normal_angles, pocket_contrast


def test_the_shipped_chain_is_readable_and_in_nm():
    steps = load_chain(POCKETS_CHAIN)
    assert [step["op"] for step in steps][:2] == ["shell", "gaussian"] and steps[-1]["output"] == "pockets"
    lengths = {key for step in steps for key in step if key.endswith(("_nm", "_nm3"))}
    assert {"inner_nm", "outer_nm", "sigma_nm", "window_nm", "halo_nm"} <= lengths
    touching = [step for step in steps if step.get("feature") == "distance_to_surface_nm"]
    assert touching and touching[0]["mask"] == "nucleus"  # pockets hang from the envelope


@pytest.mark.parametrize("contrast", ["em", "backscatter"])
def test_the_contrast_is_told_by_the_envelope(contrast):
    phantom = make_phantom(shape=(64, 128, 128), spacing=(60, 60, 60), contrast=contrast, seed=2)
    assert pocket_contrast(phantom.image, phantom.labels["nucleus"] > 0, spacing=phantom.spacing) == contrast


def scores(vemprof_cli, truth: str, found: str) -> dict:
    scored = vemprof_cli("evaluate", "cell.zarr", "--truth", truth, "--pred", found, "--points", "--tolerance-nm",
                         "100", "--json")
    assert scored.code == 0, scored
    return json.loads(scored.stdout)


def test_pockets_and_pores_of_a_phantom_are_found(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert vemprof_cli(*"synth cell.zarr --set shape=128,256,256 --voxel-size 50,40,40 --no-preview".split()).code == 0
    refused = vemprof_cli("pores", "cell.zarr")  # labels/pockets is the phantom's truth
    assert refused.code == 2 and "--prefix" in refused.stderr
    found = vemprof_cli("pores", "cell.zarr", "--steps", "pockets,masks,score", "--prefix", "found_")
    assert found.code == 0, found
    store = Store.open(tmp_path / "cell.zarr")
    assert [record["parameters"]["step"] for record in store.provenance[-3:]] == ["pockets", "masks", "score"]
    assert store.provenance[-3]["parameters"]["contrast"] == "em"
    pockets, masks = np.asarray(store.labels("found_pockets").data), np.asarray(store.labels("found_pore_masks").data)
    assert (pockets[np.asarray(store.labels("nucleus").data) == 0] == 0).all()  # all under the envelope
    assert set(np.unique(masks)) <= set(np.unique(pockets))  # the mask of pocket k has id k
    # measured on this phantom (docs/pores.md): pockets 0.72 / 0.75 / 0.73, pores 0.72 / 0.75 / 0.73
    for truth, found in (("pockets", "found_pockets"), ("pores", "found_pore_masks")):
        scored = scores(vemprof_cli, truth, found)
        assert scored["precision"] >= 0.6 and scored["recall"] >= 0.6 and scored["f1"] >= 0.65, truth
    detection = store.read_table("found_pore_detection").set_index("angle")  # at 60 nm, by orientation
    assert list(detection.index) == ["all", "0-30", "30-60", "60-90"]
    assert detection.loc[["0-30", "30-60", "60-90"], "truth"].sum() == detection.loc["all", "truth"]
    assert detection.loc[["0-30", "30-60", "60-90"], "found"].sum() == detection.loc["all", "found"]


def test_the_envelope_normal_at_each_pore_is_the_designed_one(tmp_path):
    phantom = make_phantom(shape=(96, 192, 192), spacing=(50, 40, 40), seed=1)
    pores = phantom.tables["pores"]
    designed = np.degrees(np.arccos(np.abs(pores["normal_z"].to_numpy())))
    store = write_dataset(tmp_path / "cell.zarr", raw=phantom.image, spacing=phantom.spacing, tables={},
                          labels={"nucleus": phantom.labels["nucleus"]}, step="test", parameters={})
    found = normal_angles(store, pores[["z_um", "y_um", "x_um"]].to_numpy() * 1000, nucleus="nucleus")
    assert np.median(np.abs(found - designed)) < 5  # degrees (2.3 on the default phantom)


def test_the_distribution_of_the_phantoms_pores_by_section(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert vemprof_cli(*"synth cell.zarr --set shape=96,192,192 --voxel-size 60,50,50 --no-preview".split()).code == 0
    result = vemprof_cli("pores", "cell.zarr", "--steps", "distribute", "--pores", "pores")  # the true pores
    assert result.code == 0, result
    store = Store.open(tmp_path / "cell.zarr")
    pores = store.read_table("pores")
    assert {"centroid_z_um", "section", "knn8_mean_um", "kde_score", "centroid_dist_envelope_um"} <= set(pores.columns)
    assert (pores["centroid_dist_envelope_um"] < 0.15).all()  # pores sit in the envelope (voxels of 50–60 nm)
    density = store.read_table("pore_density").set_index("section")
    # designed: 10 pores per µm² on section 1, 7 on section 2 (the issue asks for within 15 %)
    assert density.loc[1, "pores_per_um2"] == pytest.approx(10, rel=0.15)
    assert density.loc[2, "pores_per_um2"] == pytest.approx(7, rel=0.15)
    assert density.loc[0, "pores"] == len(pores)
    test = store.read_table("pore_sections_test").iloc[0]
    assert test["mean_a"] < test["mean_b"] and test["student_p"] < 0.05  # the denser section: nearer neighbours
    figures = sorted(path.name for path in (tmp_path / "cell_pores").iterdir())
    assert figures == ["pores_kde_score.glb", "pores_kde_score.png", "pores_knn8_mean_um.glb",
                       "pores_knn8_mean_um.png", "pores_steps.png", "sections_knn.png"]


def test_the_pores_of_a_round_nucleus_are_counted_as_one_section_without_a_test(vemprof_cli, tmp_path):
    z, y, x = np.ogrid[:60, :80, :80]
    radius = ((z - 30) * 1.2) ** 2 + (y - 40) ** 2 + (x - 40) ** 2
    nucleus = radius <= 30 ** 2
    rng = np.random.default_rng(3)
    directions = rng.normal(size=(60, 3)) / [1.2, 1, 1]
    at = np.rint([30, 40, 40] + 30.5 * directions / np.linalg.norm(directions * [1.2, 1, 1], axis=1)[:, None])
    pores = np.zeros(nucleus.shape, np.uint16)
    pores[tuple(at.astype(int).T)] = np.arange(1, 61)
    store = Store.create(tmp_path / "cell.zarr")
    store.write_raw(np.full(nucleus.shape, 120, np.uint8), spacing=(60.0, 50.0, 50.0), chunks=(20, 40, 40))
    store.write_labels("nucleus", nucleus.astype(np.uint8), chunks=(20, 40, 40))
    store.write_labels("pores", ndimage.grey_dilation(pores, size=2), chunks=(20, 40, 40))

    result = vemprof_cli("pores", str(store.path), "--steps", "distribute", "--pores", "pores")

    assert result.code == 0, result
    said = " ".join(result.stdout.split())
    assert "warning: the nucleus has no invagination to split at: it is one section, 1" in said
    assert "no nucleus has two sections with at least 2 pores each, so the sections are not compared" in said
    density = store.read_table("pore_density").set_index("section")
    assert list(density.index) == [0, 1] and density.loc[0, "pores"] == density.loc[1, "pores"] > 50
    assert store.read_table("pore_sections_test").empty
    assert (tmp_path / "cell_pores" / "sections_knn.png").exists()


def test_a_volume_too_large_for_memory_gets_the_same_pockets_step_by_step(tmp_path, monkeypatch):
    from vemprof.workflows import _pockets, find_pockets

    phantom = make_phantom(shape=(96, 192, 192), spacing=(60, 50, 50), seed=0)
    store = write_dataset(tmp_path / "cell.zarr", raw=phantom.image, spacing=phantom.spacing, tables={},
                          labels={"nucleus": phantom.labels["nucleus"]}, step="test", parameters={})
    count = find_pockets(store, out="pockets")
    monkeypatch.setattr(_pockets, "BOX_VOXELS", 0)  # as if the volume did not fit: staged on disk
    assert find_pockets(store, out="staged_pockets") == count
    np.testing.assert_array_equal(store.labels("staged_pockets").data.compute(), store.labels("pockets").data.compute())
    assert not (store.path / ".staging").exists()


def test_a_field_runs_the_chain_nucleus_by_nucleus_to_the_pockets_of_the_whole_volume(vemprof_cli, tmp_path,
                                                                                      monkeypatch):
    """Each nucleus's box (the nucleus and 1 µm around it) is run on its own: the work
    follows the nuclei, not the volume, and the pockets are those of the whole volume."""
    from vemprof.workflows import _pockets, find_pockets

    monkeypatch.chdir(tmp_path)
    assert vemprof_cli(*"synth field.zarr --shape 96,192,192 --voxel-size 60,50,50 --tiles 1x1x2 "
                        "--no-preview".split()).code == 0
    store = Store.open(tmp_path / "field.zarr")
    mask = store.labels("nucleus").data > 0
    pieces, stride = _pockets._coarse_pieces(mask)
    boxes = sorted((box for box, _ in _pockets.nucleus_boxes(pieces, stride=stride, shape=mask.shape,
                                                             spacing=store.spacing)), key=lambda box: box[2].start)
    assert len(boxes) == 2 and boxes[0][2].stop <= boxes[1][2].start  # one a nucleus, apart
    for box, tile in zip(boxes, (slice(0, 192), slice(192, 384))):  # each holds its tile's nucleus and 1 µm
        nucleus = ndimage.find_objects(np.asarray(mask[:, :, tile]).astype(np.uint8))[0]
        for axis, (span, step) in enumerate(zip(nucleus, store.spacing)):
            offset = tile.start if axis == 2 else 0
            assert box[axis].start <= max(0, span.start + offset - 1000 / step)
            assert box[axis].stop >= min(mask.shape[axis], span.stop + offset + 1000 / step)
    count = find_pockets(store, out="pockets", each_nucleus=True)
    monkeypatch.setattr(_pockets, "BOX_VOXELS", 0)  # the whole volume, staged on disk
    assert find_pockets(store, out="staged_pockets", each_nucleus=True) == count
    boxed, staged = (np.asarray(store.labels(name).data) for name in ("pockets", "staged_pockets"))
    np.testing.assert_array_equal(boxed > 0, staged > 0)
    pairs = np.unique(np.c_[boxed[boxed > 0], staged[boxed > 0]], axis=0)  # numbered box by box: one id for one
    assert len(pairs) == count == len(np.unique(pairs[:, 0])) == len(np.unique(pairs[:, 1]))

    # boxes so wide (8 µm) that each holds the other nucleus, and joined they would not fit in memory: two
    # boxes, each leaving out the other's nucleus, give the same pockets again (with it, 763 pockets against 488)
    monkeypatch.setattr(_pockets, "BOX_MARGIN_NM", 8000.0)

    def boxes_of(most_voxels):
        return _pockets.nucleus_boxes(pieces, stride=stride, shape=mask.shape, spacing=store.spacing,
                                      margin_nm=8000, most_voxels=most_voxels)

    assert len(boxes_of(np.inf)) == 1  # joined
    most = max(np.prod([b.stop - b.start for b in box]) for box, _ in boxes_of(0))  # the larger nucleus's own box
    monkeypatch.setattr(_pockets, "BOX_VOXELS", most)
    (first, _), (second, _) = boxes_of(most)
    assert all(a.start < b.stop and b.start < a.stop for a, b in zip(first, second))
    assert find_pockets(store, out="apart_pockets", each_nucleus=True) == count
    apart = np.asarray(store.labels("apart_pockets").data)
    np.testing.assert_array_equal(apart > 0, staged > 0)
    assert len(np.unique(np.c_[apart[apart > 0], staged[apart > 0]], axis=0)) == count


def test_nucleus_boxes_that_would_overlap_are_joined():
    from vemprof.workflows._pockets import nucleus_boxes

    pieces = np.zeros((10, 40, 40), np.int32)
    pieces[3:6, 5:10, 5:10], pieces[3:6, 5:10, 14:18], pieces[3:6, 30:35, 30:35] = 1, 2, 3
    boxes = nucleus_boxes(pieces, stride=(2, 2, 2), shape=(20, 80, 80), spacing=(10, 10, 10), margin_nm=30)
    # 1 and 2 are 8 voxels apart: with a stride and 3 voxels each side, their boxes meet and become one
    assert boxes == [((slice(1, 17), slice(5, 25), slice(5, 41)), {1, 2}),
                     ((slice(1, 17), slice(55, 75), slice(55, 75)), {3})]
    # unless the joined box would be larger than allowed (16 · 20 · 36 voxels): they stay apart, overlapping
    apart = nucleus_boxes(pieces, stride=(2, 2, 2), shape=(20, 80, 80), spacing=(10, 10, 10), margin_nm=30,
                          most_voxels=16 * 20 * 36 - 1)
    assert apart == [((slice(1, 17), slice(5, 25), slice(5, 25)), {1}),
                     ((slice(1, 17), slice(5, 25), slice(23, 41)), {2}),
                     ((slice(1, 17), slice(55, 75), slice(55, 75)), {3})]


def test_two_lobes_joined_by_a_thin_bridge_are_one_nucleus():
    """A bridge one voxel thin, on a row that sampling every other voxel would skip: the
    coarse pieces keep it (blocks set where any voxel is), so the nucleus is one piece, as
    at full resolution (the demo's U-Net once made such a nucleus, refused as 2 pieces)."""
    from vemprof.workflows._pockets import _check_nucleus, _coarse_pieces

    mask = np.zeros((20, 256, 256), bool)
    mask[5:15, 100:160, 20:100] = mask[5:15, 100:160, 140:220] = True
    mask[10, 159, 100:140] = True  # on the lobes' last row, odd: sampling rows 0, 2, … misses it
    pieces, stride = _coarse_pieces(da.from_array(mask, chunks=(8, 100, 100)))
    assert stride == (1, 2, 2) and pieces.max() == 1
    _check_nucleus(mask, name="nucleus")  # no error: one nucleus
    two = mask.copy()
    two[10, 159, 110:130] = False  # the bridge cut: two pieces, refused in one line
    with pytest.raises(VemprofError, match="labels/nucleus has 2 separate pieces"):
        _check_nucleus(two, name="nucleus")


def test_each_pore_mask_is_a_disc_of_envelope_above_its_pocket(tmp_path):
    from vemprof.workflows import find_pore_masks

    phantom = make_phantom(shape=(96, 192, 192), spacing=(60, 50, 50), seed=0)
    store = write_dataset(tmp_path / "cell.zarr", raw=phantom.image, spacing=phantom.spacing, tables={},
                          labels={"nucleus": phantom.labels["nucleus"], "pockets": phantom.labels["pockets"]},
                          step="test", parameters={}, chunks=(32, 64, 64))
    count = find_pore_masks(store, out="pore_masks")
    masks = np.asarray(store.labels("pore_masks").data)
    pockets = phantom.labels["pockets"]
    assert count == len(np.unique(pockets)) - 1  # one per pocket, with its id
    assert set(np.unique(masks)) == set(np.unique(pockets))
    sizes = np.bincount(masks.ravel())[1:]
    sizes = sizes[sizes > 0] * np.prod(phantom.spacing)  # nm³
    disc = np.pi * 60 ** 2 * 90  # the largest a mask can be: radius 60 nm, 30 nm out to 60 nm in
    assert (sizes <= disc * 1.5).all()  # voxels at the rim count whole
    # the phantom's own pockets give masks on its pores: the pores are found at 60 nm
    scored = point_scores(centroids_nm(phantom.labels["pores"], spacing=phantom.spacing),
                          centroids_nm(masks, spacing=phantom.spacing), tolerance_nm=60)
    assert scored["f1"] >= 0.9


def test_pieces_of_one_pocket_give_one_pore_and_pores_a_pore_apart_stay_two():
    from scipy.spatial import cKDTree

    from vemprof.workflows._pore_masks import joined_pockets

    flat = cKDTree(np.array([(0.0, y, x) for y in range(0, 1000, 10) for x in range(0, 1000, 10)]))  # nm
    # pockets 1 and 2: the halves of one pocket, 80 nm apart, 100 nm under the envelope; pocket 3 a pore away
    centres = np.array([(-100.0, 500, 460), (-100, 500, 540), (-100, 500, 690)])
    ids, points = joined_pockets(np.array([1, 2, 3]), np.array([10, 30, 20]), centres, surface=flat)
    assert ids.tolist() == [2, 3]  # the larger half names the pore
    assert points.tolist() == [[0, 500, 520], [0, 500, 690]]  # weighted by volume: 460 · 1/4 + 540 · 3/4
    alone, at = joined_pockets(np.array([7]), np.array([5]), centres[:1], surface=flat)
    assert alone.tolist() == [7] and at.tolist() == [[0, 500, 460]]


def test_a_field_of_cells_has_its_pores_counted_nucleus_by_nucleus(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert vemprof_cli(*"synth field.zarr --shape 96,192,192 --voxel-size 60,50,50 --tiles 1x1x2 "
                        "--no-preview".split()).code == 0
    refused = vemprof_cli("pores", "field.zarr", "--steps", "distribute", "--pores", "pores")
    assert refused.code == 2 and "give --each-nucleus" in refused.stderr
    result = vemprof_cli("pores", "field.zarr", "--steps", "distribute", "--pores", "pores", "--each-nucleus")
    assert result.code == 0, result
    store = Store.open(tmp_path / "field.zarr")
    # each cell's nucleus split on its own, as designed: nucleus k's sections are 2k - 1 (small) and 2k (large)
    found, designed = np.asarray(store.labels("sections").data), np.asarray(store.labels("nucleus_sections").data)
    designed = np.where(designed > 0, designed + 2 * (np.arange(designed.shape[2]) >= 192), 0)  # tile 2: 3 and 4
    matched = set()
    for section in (1, 2, 3, 4):
        truth = np.bincount(designed[found == section]).argmax()  # the designed section it lies in
        overlap = np.count_nonzero((found == section) & (designed == truth))
        assert overlap / np.count_nonzero((found == section) | (designed == truth)) >= 0.9, section
        assert section % 2 == truth % 2  # the small section first
        matched.add(truth)
    assert matched == {1, 2, 3, 4}
    pores = store.read_table("pores")
    assert set(pores["nucleus"]) == {1, 2} and ((pores["section"] + 1) // 2 == pores["nucleus"]).all()
    density = store.read_table("pore_density").set_index(["nucleus", "section"])
    assert density.loc[(0, 0), "pores"] == len(pores)
    for nucleus in (1, 2):  # designed: 10 pores per µm² on the small section, 7 on the large
        assert density.loc[(nucleus, 2 * nucleus - 1), "pores_per_um2"] == pytest.approx(10, rel=0.15)
        assert density.loc[(nucleus, 2 * nucleus), "pores_per_um2"] == pytest.approx(7, rel=0.15)
        assert density.loc[(nucleus, 0), "pores"] == (pores["nucleus"] == nucleus).sum()
    tests = store.read_table("pore_sections_test").set_index("nucleus")
    assert list(tests.index) == [1, 2]
    assert (tests["mean_a"] < tests["mean_b"]).all()  # in each nucleus, the denser section: nearer neighbours
    # a field too large to read whole is measured block by block, to the same table
    from vemprof.workflows import _distribution

    monkeypatch.setattr(_distribution, "IN_MEMORY_VOXELS", 0)
    _distribution.distribute_pores(store, pores="pores", nucleus="nucleus", prefix="blocks_",
                                   figures=tmp_path / "figures", each_nucleus=True)
    pd.testing.assert_frame_equal(store.read_table("blocks_pores"), pores)
