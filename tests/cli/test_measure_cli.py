"""Measuring from the command line: a phantom's mitochondria into tables/, and as CSV;
columns correlated and compared between groups."""

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
    measured = store.read_table("mitochondria")
    assert {"cell", "nucleus_fraction", "in_nucleus", "dist_nearer_membrane_um"} <= set(measured.columns)
    assert (measured["dist_nearer_membrane_um"] <= measured["dist_envelope_um"]).all()
    assert np.isfinite(measured["centroid_dist_plasma_membrane_um"]).all()
    compartments = store.read_table("compartments")
    assert list(compartments["class"]) == ["mitochondria"] and 0 < compartments["pct_of_cytoplasm"].iloc[0] < 30
    alone = vemprof_cli("measure", "cell.zarr", "--labels", "mitochondria", "--cell", "cell")
    assert alone.code == 2 and "give --cell and --nucleus together" in alone.stderr


def test_correlate_and_compare_columns_of_a_table(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = vemprof_cli(*"synth cell.zarr --set shape=48,96,96 --voxel-size 60,60,60 --set n_mitochondria=6 "
                        "--no-preview".split())
    assert made.code == 0, made
    assert vemprof_cli("measure", "cell.zarr", "--labels", "mitochondria").code == 0
    result = vemprof_cli("correlate", "cell.zarr", "--table", "mitochondria", "--x", "volume_um3", "--y",
                         "surface_um2", "--csv", "r.csv")
    assert result.code == 0, result
    assert pd.read_csv(tmp_path / "r.csv")["pearson_r"].iloc[0] > 0.5  # larger objects, larger surfaces
    sections = pd.DataFrame({"section": [1, 1, 1, 1, 2, 2, 2, 2], "density": [3.0, 3.2, 2.9, 3.1, 4.0, 4.2, 3.9, 4.4]})
    Store.open(tmp_path / "cell.zarr").write_table("pores", sections)
    compared = vemprof_cli("compare", "cell.zarr", "--table", "pores", "--column", "density", "--by", "section",
                           "--csv", "t.csv")
    assert compared.code == 0, compared
    assert "welch_p" in compared.stdout
    written = pd.read_csv(tmp_path / "t.csv").iloc[0]
    assert written["welch_p"] < 0.01 and written["hedges_g"] < 0  # section 1 is lower
    scored = vemprof_cli("points", "cell.zarr", "--labels", "mitochondria", "--k", "3", "--bandwidth-um", "0.01")
    assert scored.code == 0, scored
    assert "warning: the KDE bandwidth 0.01 µm is below the points' typical spacing" in scored.stdout
    assert {"knn3_mean_um", "kde_score"} <= set(Store.open(tmp_path / "cell.zarr").read_table("mitochondria").columns)
    missing = vemprof_cli("correlate", "cell.zarr", "--table", "mitochondria", "--x", "nope", "--y", "voxels")
    assert missing.code == 2 and "no column nope in the table" in missing.stderr


def test_distances_to_the_membranes_and_between_objects(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert vemprof_cli(*"synth cell.zarr --set shape=48,96,96 --voxel-size 60,60,60 --set n_mitochondria=6 "
                        "--no-preview".split()).code == 0
    assert vemprof_cli("measure", "cell.zarr", "--labels", "mitochondria", "--image", "none").code == 0
    result = vemprof_cli("distances", "cell.zarr", "--labels", "mitochondria", "--cell", "cell", "--nucleus",
                         "nucleus", "--to", "mitochondria", "--radius-um", "0.5")
    assert result.code == 0, result
    table = Store.open(tmp_path / "cell.zarr").read_table("mitochondria")
    assert {"dist_nearer_membrane_um", "nearest_mitochondria_label", "dist_nearest_mitochondria_um",
            "n_mitochondria_within_0.5_um"} <= set(table.columns)
    assert (table["nearest_mitochondria_label"] != table["label"]).all()
    assert ((table["n_mitochondria_within_0.5_um"] > 0) == (table["dist_nearest_mitochondria_um"] <= 0.5)).all()
    again = vemprof_cli("distances", "cell.zarr", "--labels", "mitochondria", "--to", "nucleus")
    assert again.code == 0, again
    table = Store.open(tmp_path / "cell.zarr").read_table("mitochondria")
    assert "dist_nucleus_um" not in table.columns and (table["nearest_nucleus_label"] == 1).all()
    assert "nearest_mitochondria_label" in table.columns  # the earlier columns stay
