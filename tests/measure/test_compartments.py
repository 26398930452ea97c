"""Compartments: each object's cell and nucleus share, each class's share of the cell and
of the cytoplasm — a hand-counted box cell, the phantom's own bookkeeping, block-wise
against whole, and bad input in one line."""

import dask.array as da
import numpy as np
import pytest

from vemprof.errors import VemprofError
from vemprof.measure import compartment_table, object_parents
from vemprof.synth import make_phantom


def box_cell():
    """A 10³-voxel cell in a 12 × 12 × 14 volume, a 5³ nucleus inside it, and three
    objects: 8 voxels in the cytoplasm (id 4), 8 voxels of which 6 in the nucleus
    (id 9), 4 voxels outside the cell (id 2)."""
    shape = (12, 12, 14)
    cell = np.zeros(shape, bool)
    cell[1:11, 1:11, 1:11] = True
    nucleus = np.zeros(shape, bool)
    nucleus[3:8, 3:8, 3:8] = True
    labels = np.zeros(shape, np.uint32)
    labels[1:3, 1:3, 8:10] = 4
    labels[3, 3:5, 5:9] = 9  # x 5–7 in the nucleus, x 8 not
    labels[0, 0, 0:4] = 2
    return labels, cell, nucleus


def test_hand_counted_parents_and_shares():
    labels, cell, nucleus = box_cell()
    assert np.count_nonzero(labels == 9) == 8 and np.count_nonzero((labels == 9) & nucleus) == 6
    parents = object_parents(labels, cell=cell, nucleus=nucleus).set_index("label")
    assert parents.loc[4, "cell"] == 1 and not parents.loc[4, "in_nucleus"]
    assert parents.loc[9, "nucleus_fraction"] == pytest.approx(6 / 8) and parents.loc[9, "in_nucleus"]
    assert parents.loc[2, "cell"] == 0  # outside every cell
    row = compartment_table({"spots": labels}, cell=cell, nucleus=nucleus, spacing=(20, 10, 10)).iloc[0]
    voxel_um3 = 2000 / 1e9
    assert row["count"] == 2  # id 2 has no voxel in the cell
    assert row["volume_um3"] == pytest.approx(16 * voxel_um3)
    assert row["cell_volume_um3"] == pytest.approx(1000 * voxel_um3)
    assert row["cytoplasm_volume_um3"] == pytest.approx(875 * voxel_um3)
    assert row["pct_of_cell"] == pytest.approx(100 * 16 / 1000)
    assert row["pct_of_cytoplasm"] == pytest.approx(100 * 10 / 875)  # 8 + the 2 voxels of id 9 outside the nucleus


def test_the_phantom_comes_out_as_its_generator_counted_it():
    phantom = make_phantom(shape=(64, 128, 128), spacing=(40, 40, 40), seed=3)
    row = compartment_table({"mitochondria": phantom.labels["mitochondria"]}, cell=phantom.labels["cell"],
                            nucleus=phantom.labels["nucleus"], spacing=phantom.spacing).iloc[0]
    summary = phantom.summary
    assert row["cell_volume_um3"] == pytest.approx(summary["cell_volume_um3"])
    assert row["cytoplasm_volume_um3"] == pytest.approx(summary["cytoplasm_volume_um3"])
    assert row["volume_um3"] == pytest.approx(summary["mitochondria_volume_um3"])
    assert row["pct_of_cytoplasm"] == pytest.approx(100 * summary["mitochondria_volume_fraction"])
    assert row["count"] == phantom.labels["mitochondria"].max()


def test_several_cells_each_object_goes_to_the_cell_holding_most_of_it():
    labels, cell, nucleus = box_cell()
    cells = cell.astype(np.uint16) * 3
    cells[1:11, 1:11, 9:11] = 5  # a second cell from x = 9: id 4 has 4 voxels in each
    parents = object_parents(labels, cell=cells, nucleus=nucleus).set_index("label")
    assert parents.loc[9, "cell"] == 3
    assert parents.loc[4, "cell"] == 3  # x 8 in cell 3, x 9 in cell 5: a tie goes to the lower id


@pytest.mark.parametrize("chunks", [(5, 7, 6), (3, 4, 5)])
def test_block_by_block_equals_whole(chunks):
    labels, cell, nucleus = box_cell()
    lazy = [da.from_array(a, chunks=chunks) for a in (labels, cell, nucleus)]
    assert object_parents(lazy[0], cell=lazy[1], nucleus=lazy[2]).equals(
        object_parents(labels, cell=cell, nucleus=nucleus))
    assert compartment_table({"spots": lazy[0]}, cell=lazy[1], nucleus=lazy[2], spacing=(20, 10, 10)).equals(
        compartment_table({"spots": labels}, cell=cell, nucleus=nucleus, spacing=(20, 10, 10)))


def test_bad_input_fails_in_one_line():
    labels, cell, nucleus = box_cell()
    with pytest.raises(VemprofError, match="most of the nucleus lies outside the cell"):
        compartment_table({"spots": labels}, cell=cell, nucleus=~cell, spacing=(10, 10, 10))
    with pytest.raises(VemprofError, match="the cell mask is empty"):
        compartment_table({"spots": labels}, cell=np.zeros_like(cell), nucleus=nucleus, spacing=(10, 10, 10))
    with pytest.raises(VemprofError, match="holds no object"):
        object_parents(np.zeros_like(labels), cell=cell, nucleus=nucleus)
    with pytest.raises(VemprofError, match="shape"):
        object_parents(labels, cell=cell[:5], nucleus=nucleus)
