"""Measuring from the command line: a phantom's mitochondria into tables/, and as CSV."""

import numpy as np
import pandas as pd

from vemprof.store import Store


def test_measure_a_phantoms_mitochondria(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = vemprof_cli(*"synth cell.zarr --set shape=48,96,96 --voxel-size 60,60,60 --set n_mitochondria=4 "
                        "--no-preview".split())
    assert made.code == 0, made
    result = vemprof_cli("measure", "cell.zarr", "--labels", "mitochondria", "--csv", "mito.csv")
    assert result.code == 0, result
    store = Store.open(tmp_path / "cell.zarr")
    table = store.read_table("mitochondria")
    truth = np.asarray(store.labels("mitochondria").data)
    assert sorted(table["label"]) == sorted(set(np.unique(truth)) - {0})
    voxel_um3 = 0.06 ** 3
    np.testing.assert_allclose(table["volume_um3"], [np.count_nonzero(truth == i) * voxel_um3 for i in table["label"]])
    assert (table["intensity_mean"] > 0).all() and (table["surface_um2"] > 0).all()
    pd.testing.assert_frame_equal(pd.read_csv(tmp_path / "mito.csv"), table, check_dtype=False)
    assert store.provenance[-1]["step"] == "measure"

    with_parents = vemprof_cli("measure", "cell.zarr", "--labels", "mitochondria", "--cell", "cell", "--nucleus",
                               "nucleus")
    assert with_parents.code == 0, with_parents
    store = Store.open(tmp_path / "cell.zarr")
    assert {"cell", "nucleus_fraction", "in_nucleus"} <= set(store.read_table("mitochondria").columns)
    compartments = store.read_table("compartments")
    assert list(compartments["class"]) == ["mitochondria"] and 0 < compartments["pct_of_cytoplasm"].iloc[0] < 30
    alone = vemprof_cli("measure", "cell.zarr", "--labels", "mitochondria", "--cell", "cell")
    assert alone.code == 2 and "give --cell and --nucleus together" in alone.stderr
