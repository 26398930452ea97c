"""Pipelines as files: the shipped default is the published workflow and is valid; a bad
file is refused in one line with its line number, the step, the field and what is allowed."""

from pathlib import Path

import pytest

from vemprof.errors import VemprofError
from vemprof.pipeline import DEFAULT_PIPELINE, ORDER, load_pipeline, pipeline_text


def test_the_default_pipeline_is_the_published_workflow_end_to_end():
    pipeline = load_pipeline(DEFAULT_PIPELINE)
    assert [step.step for step in pipeline.steps] == list(ORDER)
    cell, organelles, pores = (pipeline.steps[i] for i in (1, 2, 6))
    assert cell.annotations == "cell_scribbles" and organelles.annotations == "organelle_annotations"
    assert cell.model is None and organelles.model is None and pores.model is None  # trained from annotations
    assert pores.rotations == (30, 60, 90) and pores.pore_radius_nm == 60
    assert "# the nuclear pores" in pipeline_text()  # shown with its comments


def test_a_volume_of_many_cells_keeps_every_nucleus_and_counts_pores_by_nucleus(tmp_path):
    text = DEFAULT_PIPELINE.read_text().replace("cleanup: {}", "cleanup: {nucleus: {kind: nuclei}}")
    path = tmp_path / "cells.yaml"
    path.write_text(text.replace("each_nucleus: false", "each_nucleus: true"))
    steps = load_pipeline(path).steps
    assert steps[2].cleanup == {"nucleus": {"kind": "nuclei"}}
    assert steps[6].each_nucleus and steps[7].each_nucleus


def edited(tmp_path: Path, old: str, new: str) -> Path:
    text = DEFAULT_PIPELINE.read_text()
    assert old in text
    path = tmp_path / "pipeline.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def line_of(path: Path, text: str) -> int:
    return next(number for number, line in enumerate(path.read_text().splitlines(), start=1) if text in line)


@pytest.mark.parametrize("old, new, message", [
    ("    max_minutes: 10", "    max_minutes: -1",
     "steps[2] (organelles) max_minutes: input should be greater than 0, got -1"),
    ("  - step: measure", "  - step: measur",
     "steps[3] (measur): unknown step 'measur'; allowed: import, cell, organelles, measure, distances"),
    ("    trees: 100", "    trees: 100\n    tres: 5",
     "steps[1] (cell) tres: unknown field; allowed: annotations, model, level, trees"),
    ("    contrast: auto  ", "    contrast: bright",
     "steps[6] (pores) contrast: input should be 'auto', 'em' or 'backscatter', got 'bright'"),
    ("    rotations: [30, 60, 90]", "    rotations: [30, 120]",
     "steps[6] (pores) rotations: each must lie in (0, 90] degrees"),
    ("    model: null                  # a trained pore model", "    model: nope.zip  # a trained pore model",
     "steps[6] (pores) model: nope.zip does not exist; fix the path or remove it to train one"),
    ("    cleanup: {}", "    cleanup: {nucleus: {kind: blobs}}",
     "steps[2] (organelles) cleanup: unknown clean-up kind 'blobs' for 'nucleus'; choose one of: largest, instances, "
     "nuclei, mask"),
    ("    cleanup: {}", "    cleanup: {mitochondria: {neck_ratio: wide}}",
     "steps[2] (organelles) cleanup: clean-up parameter neck_ratio of 'mitochondria' must be a number >= 0"),
])
def test_a_bad_field_is_named_with_its_line(tmp_path, old, new, message):
    path = edited(tmp_path, old, new)
    with pytest.raises(VemprofError) as caught:
        load_pipeline(path)
    assert message in str(caught.value) and "\n" not in str(caught.value)
    assert str(caught.value).startswith(f"{path} line {line_of(path, new.splitlines()[-1].strip())}:")


@pytest.mark.parametrize("text, message", [
    ("name: x\nsteps:\n  - step: report\n  - step: pores\n", "the steps must run in the order pores, report"),
    ("name: x\nsteps:\n  - step: pores\n  - step: pores\n", "step 'pores' appears twice; give each step once"),
    ("name: x\nsteps:\n  - trees: 3\n", "line 3: steps[0]: each step needs 'step:', one of import, cell"),
    ("name: x\nsteps: []\n", "steps: tuple should have at least 1 item"),
    ("- step: report\n", "a pipeline is a YAML mapping with 'name' and 'steps'"),
    ("name: [x\nsteps: []\n", "not valid YAML"),
    ("name: x\nsteps:\n  - step: import\n    voxel_size_nm: [0, 5, 5]\n",
     "line 4: steps[0] (import) voxel_size_nm: every voxel size must be above 0 nm"),
])
def test_a_bad_pipeline_is_refused_in_one_line(tmp_path, text, message):
    path = tmp_path / "pipeline.yaml"
    path.write_text(text)
    with pytest.raises(VemprofError) as caught:
        load_pipeline(path)
    assert message in str(caught.value)


def test_a_model_is_found_beside_the_pipeline_file(tmp_path):
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "pores.zip").write_bytes(b"")
    path = edited(tmp_path, "    model: null                  # a trained pore model (.zip) instead of training one",
                  "    model: models/pores.zip")
    assert load_pipeline(path).steps[6].model == tmp_path / "models" / "pores.zip"


def test_the_pipeline_commands(vemprof_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    shown = vemprof_cli("pipeline", "show")
    assert shown.code == 0 and shown.stdout == DEFAULT_PIPELINE.read_text()
    Path("mine.yaml").write_text(shown.stdout)
    checked = vemprof_cli("pipeline", "check", "mine.yaml")
    assert checked.code == 0 and "a valid pipeline, 'published workflow': import → cell" in checked.stdout
    refused = vemprof_cli("pipeline", "check", "nope.yaml")
    assert refused.code == 2 and "no pipeline file nope.yaml" in refused.stderr
