"""The phantom's nucleus split into sections from the command line, its pores assigned to
them, their density per µm² of envelope as designed, and the designed difference in pore
density found between the sections."""

import numpy as np
import pandas as pd
import pytest

from vemprof.store import Store


def test_sections_of_a_phantom_and_its_pores(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    made = vemprof_cli(*"synth cell.zarr --set shape=96,192,192 --voxel-size 60,50,50 --no-preview".split())
    assert made.code == 0, made
    split = vemprof_cli("sections", "cell.zarr")
    assert split.code == 0, split
    store = Store.open(tmp_path / "cell.zarr")
    found, designed = np.asarray(store.labels("sections").data), np.asarray(store.labels("nucleus_sections").data)
    for section in (1, 2):
        assert np.count_nonzero((found == section) & (designed == section)) / np.count_nonzero(
            (found == section) | (designed == section)) >= 0.9
    table = store.read_table("sections")
    assert list(table["section"]) == [1, 2] and (table["envelope_um2"] > 0).all()
    assert table["volume_um3"].iloc[0] < table["volume_um3"].iloc[1]  # 1 is the smaller

    assert vemprof_cli("measure", "cell.zarr", "--labels", "pores", "--image", "none", "--sections",
                       "sections").code == 0
    pores = store.read_table("pores").set_index("label")
    designed = store.read_table("truth_pores").set_index("label")  # the phantom's own table
    assert (pores["section"] == designed.loc[pores.index, "section"]).mean() >= 0.95
    scored = vemprof_cli("points", "cell.zarr", "--labels", "pores", "--surface", "nucleus", "--regions", "sections",
                         "--simulations", "19")
    assert scored.code == 0, scored
    density = store.read_table("pores_density").set_index("region")
    # the phantom's designed densities: 10 pores per µm² on section 1, 7 on section 2
    assert density.loc[1, "per_um2"] == pytest.approx(10, rel=0.15)
    assert density.loc[2, "per_um2"] == pytest.approx(7, rel=0.15)
    ripley = store.read_table("pores_ripley")
    assert set(ripley["region"]) == {0, 1, 2} and (ripley["l_low_um"] <= ripley["l_high_um"]).all()
    # the pores are placed a hard core apart: regular on each section (p = 1/20, the least 19 simulations give)
    for section in (1, 2):
        assert set(ripley[ripley["region"] == section]["verdict"]) == {"regular"}
    compared = vemprof_cli("compare", "cell.zarr", "--table", "pores", "--column", "knn8_mean_um", "--by",
                           "section", "--csv", "compared.csv")
    assert compared.code == 0, compared
    row = pd.read_csv(tmp_path / "compared.csv").iloc[0]
    # section 1 is designed denser (10 against 7 pores per µm²): its pores' neighbours are nearer
    assert row["mean_a"] < row["mean_b"] and row["student_p"] < 0.05


def test_a_round_nucleus_is_one_section_with_a_warning(vemprof_cli, tmp_path):
    store = Store.create(tmp_path / "cell.zarr")
    store.write_raw(np.full((16, 48, 40), 100, np.uint8), spacing=(40.0, 20.0, 20.0), chunks=(8, 16, 16))
    z, y, x = np.ogrid[:16, :48, :40]
    ball = ((z - 8) * 2) ** 2 + (y - 24) ** 2 + (x - 20) ** 2 <= 12 ** 2
    store.write_labels("round", ball.astype(np.uint8), chunks=(8, 16, 16))

    split = vemprof_cli("sections", str(tmp_path / "cell.zarr"), "--nucleus", "round")

    assert split.code == 0, split
    said = " ".join(split.stdout.split())
    assert "warning: the nucleus has no invagination to split at: it is one section, 1" in said
    assert "into one section (no invagination)" in split.stdout
    sections = np.asarray(Store.open(tmp_path / "cell.zarr").labels("sections").data)
    assert np.array_equal(sections, ball.astype(np.uint8))
    assert np.isnan(Store.open(tmp_path / "cell.zarr").read_table("sections")["neck_ratio"]).all()
