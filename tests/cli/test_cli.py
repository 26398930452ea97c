"""The `vemprof` command as a user runs it: the demo's path, and one-line errors."""

import json
import shutil

import numpy as np
import pytest
import tifffile

from vemprof.store import Store


@pytest.fixture(scope="module")
def phantom_store(tmp_path_factory):
    """A small phantom store made with `vemprof synth`, shared by the tests here."""
    import sys

    from vemprof.cli import main

    destination = tmp_path_factory.mktemp("synth") / "phantom.zarr"
    argv = sys.argv
    sys.argv = ["vemprof", "synth", str(destination), "--shape", "64,128,128", "--voxel-size", "40,40,40",
                "--seed", "3"]
    try:
        with pytest.raises(SystemExit) as exit_:
            main()
    finally:
        sys.argv = argv
    assert exit_.value.code == 0
    return destination


def test_version(vemprof_cli):
    result = vemprof_cli("--version")
    assert result.code == 0 and result.stdout.startswith("vemprof ")


def test_synth_writes_image_ground_truth_tables_and_preview(phantom_store):
    store = Store.open(phantom_store)
    assert store.raw().shape == (64, 128, 128) and store.raw().spacing == (40, 40, 40)
    assert {"cell", "nucleus", "nucleus_sections", "nuclear_envelope", "mitochondria", "pores",
            "pockets"} <= set(store.label_names)
    # the ground truth's tables are named apart from what 'vemprof measure' writes
    assert {"truth_pores", "truth_mitochondria", "truth_organelles", "slice_shifts"} <= set(store.table_names)
    (step,) = store.provenance
    assert step["step"] == "synth" and step["parameters"]["seed"] == 3
    assert phantom_store.with_suffix(".png").stat().st_size > 10_000


def test_synth_tiles_makes_a_field_of_cells_one_per_tile(vemprof_cli, tmp_path):
    destination = tmp_path / "field.zarr"
    result = vemprof_cli("synth", destination, "--tiles", "1x2x1", "--set", "shape=48,112,112",
                         "--set", "spacing=40,40,40", "--seed", "3")
    assert result.code == 0, result.stderr
    store = Store.open(destination)
    assert store.raw().shape == (48, 224, 112) and store.raw().spacing == (40, 40, 40)
    cells = store.labels("cell").data
    assert np.unique(cells[:, :112].compute()).tolist() == [0, 1] and np.unique(cells[:, 112:].compute()).tolist() == [0, 2]
    assert list(store.read_table("tiles")["offset_y"]) == [0, 112]
    (step,) = store.provenance
    assert step["parameters"]["tiles"] == [1, 2, 1] and step["parameters"]["seed"] == 3
    assert "mitochondria_count" in result.stdout and destination.with_suffix(".png").stat().st_size > 10_000


def test_info_describes_a_store(vemprof_cli, phantom_store):
    result = vemprof_cli("info", phantom_store, "--json")
    summary = json.loads(result.stdout)
    assert summary["raw"]["shape"] == [64, 128, 128]
    assert summary["raw"]["voxel_size_nm"] == [40, 40, 40]
    assert summary["labels"]["mitochondria"]["dtype"] == "uint32"
    assert summary["provenance"][0]["step"] == "synth"
    text = vemprof_cli("info", phantom_store).stdout
    assert "40 × 40 × 40 nm" in text and "mitochondria" in text


def test_export_then_import_round_trip(vemprof_cli, phantom_store, tmp_path):
    tiff = tmp_path / "phantom.tif"
    assert vemprof_cli("export", phantom_store, tiff).code == 0
    result = vemprof_cli("import", tiff, tmp_path / "imported.zarr")
    assert result.code == 0, result.stderr
    imported = Store.open(tmp_path / "imported.zarr")
    original = Store.open(phantom_store)
    assert imported.raw().spacing == pytest.approx(original.raw().spacing)
    np.testing.assert_array_equal(imported.raw().data.compute(), original.raw().data.compute())

    labels = vemprof_cli("import", phantom_store / "labels" / "mitochondria", tmp_path / "imported.zarr",
                         "--as-labels", "mitochondria")
    assert labels.code == 0, labels.stderr
    np.testing.assert_array_equal(imported.labels("mitochondria").data.compute(),
                                  original.labels("mitochondria").data.compute())
    again = vemprof_cli("import", tiff, tmp_path / "imported.zarr")
    assert again.code == 0 and "up to date" in again.stdout


def one_line_error(result) -> str:
    assert result.code == 2, result
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert "Traceback" not in result.stderr
    return lines[0]


def test_missing_file(vemprof_cli, tmp_path):
    assert "no such file" in one_line_error(vemprof_cli("import", tmp_path / "nope.tif", tmp_path / "a.zarr"))


def test_unknown_format(vemprof_cli, tmp_path):
    path = tmp_path / "notes.docx"
    path.write_text("not an image")
    message = one_line_error(vemprof_cli("import", path, tmp_path / "a.zarr"))
    assert "format" in message and "TIFF" in message


def test_voxel_size_absent_zero_or_malformed(vemprof_cli, tmp_path):
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.random.default_rng(0).integers(0, 255, (8, 32, 32), dtype=np.uint8))
    assert "--voxel-size" in one_line_error(vemprof_cli("import", stack, tmp_path / "a.zarr"))
    assert "positive" in one_line_error(vemprof_cli("import", stack, tmp_path / "a.zarr", "--voxel-size", "0,5,5"))
    assert "three numbers" in one_line_error(vemprof_cli("import", stack, tmp_path / "a.zarr", "--voxel-size", "5,5"))
    assert not (tmp_path / "a.zarr").exists()


def test_label_image_given_as_image(vemprof_cli, phantom_store, tmp_path):
    message = one_line_error(vemprof_cli("import", phantom_store / "labels" / "nucleus", tmp_path / "a.zarr"))
    assert "label image" in message and "--as-labels" in message


def test_destination_holding_a_different_dataset(vemprof_cli, phantom_store, tmp_path):
    stack = tmp_path / "stack.tif"
    tifffile.imwrite(stack, np.random.default_rng(0).integers(0, 255, (8, 32, 32), dtype=np.uint8))
    copy = tmp_path / "phantom.zarr"
    shutil.copytree(phantom_store, copy)
    message = one_line_error(vemprof_cli("import", stack, copy, "--voxel-size", "8,5,5"))
    assert "--overwrite" in message
    assert Store.open(copy).raw().shape == (64, 128, 128)  # untouched
    assert vemprof_cli("import", stack, copy, "--voxel-size", "8,5,5", "--overwrite").code == 0
    assert Store.open(copy).raw().shape == (8, 32, 32)
    assert "--overwrite" in one_line_error(vemprof_cli("synth", copy, "--shape", "64,128,128"))


def test_corrupt_chunk(vemprof_cli, phantom_store, tmp_path):
    copy = tmp_path / "phantom.zarr"
    shutil.copytree(phantom_store, copy)
    (copy / "0" / "c" / "0" / "0" / "0").write_bytes(b"\x00garbage")
    message = one_line_error(vemprof_cli("import", copy, tmp_path / "b.zarr"))
    assert "corrupt or unreadable" in message
    assert not (tmp_path / "b.zarr").exists() and not (tmp_path / "b.zarr.partial").exists()


def test_unknown_phantom_parameter(vemprof_cli, tmp_path):
    assert "vemprof synth --parameters" in one_line_error(vemprof_cli("synth", tmp_path / "p.zarr", "--set", "x=1"))


def test_usage_mistakes_show_usage_not_a_traceback(vemprof_cli):
    missing = vemprof_cli("import")
    assert missing.code == 2 and "Missing argument" in missing.stderr and "Traceback" not in missing.stderr
    assert "give the store to create" in one_line_error(vemprof_cli("synth"))


def test_phantom_parameters_are_listed_and_checked(vemprof_cli, tmp_path):
    listing = vemprof_cli("synth", "--parameters").stdout
    assert "pore_density_small_per_um2" in listing and "mitochondria_volume_fraction" in listing
    message = one_line_error(vemprof_cli("synth", tmp_path / "p.zarr", "--set", "n_mitochondria=many"))
    assert "n_mitochondria" in message and "integer" in message
    assert "spacing" in one_line_error(vemprof_cli("synth", tmp_path / "p.zarr", "--voxel-size", "0,20,20"))
    assert not (tmp_path / "p.zarr").exists() and not (tmp_path / "p.zarr.partial").exists()


def test_import_help_names_the_default_memory_budget():
    import typer

    from vemprof.cli._app import app
    from vemprof.store import DEFAULT_MEMORY_MIB

    options = {p.name: p for p in typer.main.get_command(app).commands["import"].params}
    assert options["memory"].show_default == f"{DEFAULT_MEMORY_MIB:g}"
