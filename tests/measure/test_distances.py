"""Distances to the nuclear envelope and the plasma membrane: a hand-computed slab cell,
scipy's distance transforms, block by block against whole (exact at every range, or up
to a chosen reach)."""

import dask.array as da
import numpy as np
import pytest
from scipy import ndimage

from vemprof.measure import membrane_distances

SPACING = (10.0, 5.0, 5.0)  # nm


def slab_cell():
    """A cell filling x = 5…34 of a 12 × 16 × 40 volume (its membrane faces X only), a
    nucleus at x = 15…24, an object at x = 8…9 in the cytoplasm (id 3) and one at
    x = 18…19 inside the nucleus (id 7)."""
    shape = (12, 16, 40)
    cell = np.zeros(shape, bool)
    cell[..., 5:35] = True
    nucleus = np.zeros(shape, bool)
    nucleus[..., 15:25] = True
    labels = np.zeros(shape, np.uint32)
    labels[4:8, 6:10, 8:10] = 3
    labels[4:8, 6:10, 18:20] = 7
    return labels, cell, nucleus


def test_hand_computed_distances():
    labels, cell, nucleus = slab_cell()
    table = membrane_distances(labels, cell=cell, nucleus=nucleus, spacing=SPACING).set_index("label")
    # id 3: its voxel x = 9 is 6 voxels (30 nm) from the nucleus voxel x = 15; x = 8 is 4 voxels from x = 4
    assert table.loc[3, "dist_envelope_um"] == pytest.approx(0.030)
    assert table.loc[3, "dist_plasma_membrane_um"] == pytest.approx(0.020)
    assert table.loc[3, "centroid_dist_envelope_um"] == pytest.approx(0.0325)  # centroid x = 8.5
    assert table.loc[3, "centroid_dist_plasma_membrane_um"] == pytest.approx(0.0225)
    assert table.loc[3, "dist_nearer_membrane_um"] == pytest.approx(0.020)
    assert table.loc[3, "centroid_dist_nearer_membrane_um"] == pytest.approx(0.0225)
    # id 7 inside the nucleus: x = 18 is 4 voxels from x = 14 outside it, and 14 voxels from x = 4 outside the cell
    assert table.loc[7, "dist_envelope_um"] == pytest.approx(0.020)
    assert table.loc[7, "centroid_dist_envelope_um"] == pytest.approx(0.0225)
    assert table.loc[7, "dist_plasma_membrane_um"] == pytest.approx(0.070)


def scattered_cell():
    """`slab_cell` with ten more objects scattered over the volume."""
    labels, cell, nucleus = slab_cell()
    rng = np.random.default_rng(0)
    for label in range(20, 30):
        z, y, x = rng.integers(0, 11), rng.integers(0, 15), rng.integers(0, 38)
        labels[z:z + 2, y:y + 2, x:x + 3] = label
    return labels, cell, nucleus


def test_equal_to_scipys_distance_transforms_of_each_side():
    """The plain way: a distance field of each side of each surface, its minimum over each
    object and its value at each centroid (linear) — on objects scattered across both."""
    labels, cell, nucleus = scattered_cell()
    table = membrane_distances(labels, cell=cell, nucleus=nucleus, spacing=SPACING).set_index("label")
    ids = np.unique(labels)[1:]
    centroids = np.array(ndimage.center_of_mass(labels > 0, labels, ids))
    for name, mask in (("envelope", nucleus), ("plasma_membrane", cell)):
        field = (ndimage.distance_transform_edt(mask, sampling=SPACING)
                 + ndimage.distance_transform_edt(~mask, sampling=SPACING))
        np.testing.assert_allclose(table.loc[ids, f"dist_{name}_um"], ndimage.minimum(field, labels, ids) / 1000)
        np.testing.assert_allclose(table.loc[ids, f"centroid_dist_{name}_um"],
                                   ndimage.map_coordinates(field, centroids.T, order=1, mode="nearest") / 1000)


@pytest.mark.parametrize("chunks", [(6, 8, 20), (5, 7, 9), (1, 16, 3)])
@pytest.mark.parametrize("reach", ["exact", "up to 400 nm"])
def test_block_by_block_equals_whole(chunks, reach):
    labels, cell, nucleus = scattered_cell()
    options = {"exact": {}, "up to 400 nm": {"max_distance_nm": 400}}[reach]  # every distance here ≤ 200 nm
    whole = membrane_distances(labels, cell=cell, nucleus=nucleus, spacing=SPACING)
    chunked = {name: da.from_array(array, chunks=chunks) for name, array in
               (("labels", labels), ("cell", cell), ("nucleus", nucleus))}
    blocks = membrane_distances(**chunked, spacing=SPACING, **options)
    np.testing.assert_allclose(blocks.to_numpy(float), whole.to_numpy(float), rtol=1e-6)


def test_a_short_reach_leaves_farther_distances_inf():
    labels, cell, nucleus = scattered_cell()
    chunked = {name: da.from_array(array, chunks=8) for name, array in
               (("labels", labels), ("cell", cell), ("nucleus", nucleus))}
    near = membrane_distances(**chunked, spacing=SPACING, max_distance_nm=25).set_index("label")
    assert np.isinf(near.loc[3, "dist_envelope_um"]) and np.isinf(near.loc[3, "centroid_dist_envelope_um"])
    assert near.loc[3, "dist_plasma_membrane_um"] == pytest.approx(0.020)


def test_a_store_too_large_to_read_whole_is_measured_block_by_block(tmp_path, monkeypatch):
    from vemprof.measure import _store, measure_labels
    from vemprof.store import write_dataset

    labels, cell, nucleus = scattered_cell()
    store = write_dataset(tmp_path / "cell.zarr", raw=np.zeros(labels.shape, np.uint8), spacing=SPACING, tables={},
                          labels={"spots": labels, "cell": cell.astype(np.uint8), "nucleus": nucleus.astype(np.uint8)},
                          step="test", parameters={}, chunks=(6, 8, 16))
    whole = measure_labels(store, "spots", cell="cell", nucleus="nucleus")
    monkeypatch.setattr(_store, "IN_MEMORY_VOXELS", 0)  # as if the volume were larger than memory
    columns = [c for c in whole.columns if "dist_" in c]
    for reach in (None, 0.4):  # exact; or up to 0.4 µm, farther than any distance here
        blocks = measure_labels(store, "spots", cell="cell", nucleus="nucleus", max_distance_um=reach)
        np.testing.assert_allclose(blocks[columns].to_numpy(float), whole[columns].to_numpy(float), rtol=1e-6)


def test_a_reach_that_is_not_a_length_is_refused_in_one_line(tmp_path):
    from vemprof.errors import VemprofError
    from vemprof.measure import measure_labels
    from vemprof.store import write_dataset

    labels, cell, nucleus = slab_cell()
    with pytest.raises(VemprofError, match="max_distance_nm must be a finite length in nm > 0"):
        membrane_distances(labels, cell=cell, nucleus=nucleus, spacing=SPACING, max_distance_nm=-1)
    store = write_dataset(tmp_path / "cell.zarr", raw=np.zeros(labels.shape, np.uint8), spacing=SPACING, tables={},
                          labels={"spots": labels, "cell": cell.astype(np.uint8), "nucleus": nucleus.astype(np.uint8)},
                          step="test", parameters={})
    with pytest.raises(VemprofError, match="--max-distance-um must be a distance above 0 µm, got -1"):
        measure_labels(store, "spots", cell="cell", nucleus="nucleus", max_distance_um=-1)
    assert "spots" not in store.table_names  # nothing written
