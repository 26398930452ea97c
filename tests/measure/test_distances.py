"""Distances to the nuclear envelope and the plasma membrane: a hand-computed slab cell,
block-wise against whole, and the chunked volume's required reach."""

import dask.array as da
import numpy as np
import pytest

from vemprof.errors import VemprofError
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


@pytest.mark.parametrize("chunks", [(6, 8, 20), (5, 7, 9)])
def test_block_by_block_equals_whole(chunks):
    labels, cell, nucleus = slab_cell()
    rng = np.random.default_rng(0)
    for label in range(20, 30):  # more objects, scattered
        z, y, x = rng.integers(0, 11), rng.integers(0, 15), rng.integers(0, 38)
        labels[z:z + 2, y:y + 2, x:x + 3] = label
    whole = membrane_distances(labels, cell=cell, nucleus=nucleus, spacing=SPACING)
    chunked = {name: da.from_array(array, chunks=chunks) for name, array in
               (("labels", labels), ("cell", cell), ("nucleus", nucleus))}
    blocks = membrane_distances(**chunked, spacing=SPACING, max_distance_nm=400)  # every distance here ≤ 200 nm
    np.testing.assert_allclose(blocks.to_numpy(float), whole.to_numpy(float), rtol=1e-6)


def test_a_chunked_volume_needs_the_reach():
    labels, cell, nucleus = slab_cell()
    with pytest.raises(VemprofError, match="need max_distance_nm"):
        membrane_distances(da.from_array(labels, chunks=8), cell=cell, nucleus=nucleus, spacing=SPACING)


def test_a_store_too_large_to_read_whole_is_measured_block_by_block(tmp_path, monkeypatch):
    from vemprof.measure import _store, measure_labels
    from vemprof.store import write_dataset

    labels, cell, nucleus = slab_cell()
    store = write_dataset(tmp_path / "cell.zarr", raw=np.zeros(labels.shape, np.uint8), spacing=SPACING, tables={},
                          labels={"spots": labels, "cell": cell.astype(np.uint8), "nucleus": nucleus.astype(np.uint8)},
                          step="test", parameters={}, chunks=(6, 8, 16))
    whole = measure_labels(store, "spots", cell="cell", nucleus="nucleus")
    monkeypatch.setattr(_store, "IN_MEMORY_VOXELS", 0)  # as if the volume were larger than memory
    blocks = measure_labels(store, "spots", cell="cell", nucleus="nucleus", max_distance_um=0.4)
    columns = [c for c in whole.columns if "dist_" in c]
    np.testing.assert_allclose(blocks[columns].to_numpy(float), whole[columns].to_numpy(float), rtol=1e-6)
