"""`vemprof profile`: a pipeline run step by step on a store. A rerun skips what is done
and unchanged; a changed parameter redoes its step and those that read its outputs; a run
killed with SIGKILL at any moment resumes and ends with the same results as one never
disturbed; a phantom's truth is never overwritten; the whole workflow, pores and report
included, runs on a small phantom."""

import os
import signal
import subprocess
import sys
import time

import numpy as np
import pandas as pd
import pytest

from vemprof.learn import annotate_planes
from vemprof._progress import no_progress
from vemprof.pipeline._spec import DistancesStep, DistributionStep, MeasureStep, PoresStep
from vemprof.pipeline._steps import Run, plan_pores, run_distances, run_distribution, run_measure
from vemprof.store import Store, write_dataset
from vemprof.workflows import POCKETS_CHAIN

from .conftest import QUICK, as_at_a_terminal, fresh_copy

def outcomes(result) -> dict[str, str]:
    """{step: 'ran' or 'skipped'} from the command's output."""
    lines = [line for line in result.stdout.splitlines() if line.startswith("[") and "]" in line]
    found = {}
    for line in lines:
        step = line.split("] ")[1].split(":")[0]
        found[step] = "skipped" if "skipped" in line else "ran"
    return found


def test_a_rerun_skips_every_step_and_a_change_redoes_only_what_it_touches(vemprof_cli, segmented, tmp_path):
    store, pipeline = fresh_copy(segmented, tmp_path)
    first = vemprof_cli("profile", store, "--pipeline", pipeline)
    assert first.code == 0, first
    assert outcomes(first) == dict.fromkeys(["cell", "measure", "distances", "statistics"], "ran")
    again = vemprof_cli("profile", store, "--pipeline", pipeline)
    assert outcomes(again) == dict.fromkeys(["cell", "measure", "distances", "statistics"], "skipped")

    pipeline.write_text(QUICK.replace("  - step: distances\n", "  - step: distances\n    radius_um: 0.5\n"))
    changed = vemprof_cli("profile", store, "--pipeline", pipeline)
    assert outcomes(changed) == {"cell": "skipped", "measure": "skipped", "distances": "ran", "statistics": "ran"}
    assert "n_mitochondria_within_0.5_um" in Store.open(store).read_table("mitochondria")

    annotate_planes(Store.open(store), "cell_scribbles", from_labels="cell", every=12, fraction=0.5,
                    overwrite=True)  # new scribbles: everything downstream of the cell is redone
    repainted = vemprof_cli("profile", store, "--pipeline", pipeline)
    assert set(outcomes(repainted).values()) == {"ran"}


def test_a_stack_is_imported_then_profiled(vemprof_cli, segmented, tmp_path):
    store, pipeline = fresh_copy(segmented, tmp_path)
    assert vemprof_cli("profile", store, "--pipeline", pipeline).code == 0  # trains cell_profile/cell_model.zip
    assert vemprof_cli("export", store, tmp_path / "stack.tif").code == 0
    (tmp_path / "from_stack.yaml").write_text("name: from a stack\nsteps:\n  - step: import\n  - step: cell\n"
                                              "    model: cell_profile/cell_model.zip\n")
    result = vemprof_cli("profile", tmp_path / "stack.tif", "--pipeline", tmp_path / "from_stack.yaml")
    assert result.code == 0, result
    imported = Store.open(tmp_path / "stack.zarr")
    np.testing.assert_array_equal(np.asarray(imported.labels("cell").data),  # the same model on the same image
                                  np.asarray(Store.open(store).labels("cell").data))


def table_values(store) -> dict[str, pd.DataFrame]:
    dataset = Store.open(store)
    return {name: dataset.read_table(name) for name in ("mitochondria", "nucleus", "compartments",
                                                        "mitochondria_correlations")}


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL as on Linux and macOS")
def test_a_run_killed_at_any_moment_resumes_to_the_same_results(segmented, tmp_path):
    undisturbed, pipeline = fresh_copy(segmented, tmp_path / "undisturbed")
    command = [sys.executable, "-m", "vemprof", "profile"]
    subprocess.run([*command, undisturbed, "--pipeline", pipeline], check=True, capture_output=True)
    expected = table_values(undisturbed)

    killed, pipeline = fresh_copy(segmented, tmp_path / "killed")
    for delay in (1.5, 3.5, 6.0):  # while importing libraries, training or predicting, measuring
        process = subprocess.Popen([*command, killed, "--pipeline", pipeline], stdout=subprocess.DEVNULL,
                                   stderr=subprocess.DEVNULL)
        time.sleep(delay)
        process.send_signal(signal.SIGKILL)
        process.wait()
        dataset = Store.open(killed)  # every output there is whole: readable to its last voxel
        for name in dataset.label_names:
            np.asarray(dataset.labels(name).data)
        for name in dataset.table_names:
            dataset.read_table(name)
    finished = subprocess.run([*command, killed, "--pipeline", pipeline], capture_output=True, text=True)
    assert finished.returncode == 0, finished.stderr
    for name, table in table_values(killed).items():
        pd.testing.assert_frame_equal(table, expected[name], obj=name)


@pytest.mark.skipif(os.name != "posix", reason="SIGINT as on Linux and macOS")
def test_ctrl_c_exits_130_and_the_same_command_finishes_the_run(segmented, tmp_path):
    from vemprof.cli import INTERRUPTED

    store, pipeline = fresh_copy(segmented, tmp_path)
    command = [sys.executable, "-m", "vemprof", "profile", store, "--pipeline", pipeline]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=as_at_a_terminal)
    for line in process.stdout:
        if line.startswith("[1/4] cell"):  # the forest starts training
            break
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130 and stderr.strip().splitlines()[-1] == INTERRUPTED, stderr
    assert subprocess.run(command, capture_output=True).returncode == 0


def test_a_phantoms_truth_is_never_overwritten(vemprof_cli, tmp_path):
    made = vemprof_cli(*f"synth {tmp_path / 'p.zarr'} --set shape=32,96,96 --voxel-size 60,50,50 --no-preview"
                       .split())
    assert made.code == 0
    annotate_planes(Store.open(tmp_path / "p.zarr"), "cell_scribbles", from_labels="cell", every=16)
    annotate_planes(Store.open(tmp_path / "p.zarr"), "organelle_annotations", from_labels="nucleus,mitochondria")
    refused = vemprof_cli("profile", tmp_path / "p.zarr")
    assert refused.code == 2 and "ground truth" in refused.stderr and "--prefix found_" in refused.stderr
    assert not (tmp_path / "p_profile").exists()


def test_a_store_without_the_annotations_the_pipeline_trains_on_is_one_line(vemprof_cli, segmented, tmp_path):
    store, pipeline = fresh_copy(segmented, tmp_path)
    pipeline.write_text(QUICK.replace("    level: 0\n", "    level: 0\n    annotations: scribbles\n"))
    result = vemprof_cli("profile", store, "--pipeline", pipeline)
    assert result.code == 2 and "no annotation image labels/scribbles" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


def test_the_pores_step_is_keyed_on_the_pockets_chain_it_runs(tmp_path):
    run = Run(store=None, prefix="", folder=tmp_path, progress=None, say=print)
    assert POCKETS_CHAIN in plan_pores(run, PoresStep(step="pores")).files  # a new vemprof's chain redoes the pores
    edited = tmp_path / "pockets.yaml"
    assert plan_pores(run, PoresStep(step="pores", pockets_chain=edited)).files == [edited]


def test_the_distribution_step_of_a_field_of_cells_counts_pores_nucleus_by_nucleus(vemprof_cli, tmp_path):
    made = vemprof_cli(*f"synth {tmp_path / 'f.zarr'} --shape 96,192,192 --voxel-size 60,50,50 --tiles 1x1x2 "
                       "--no-preview".split())
    assert made.code == 0
    said = []
    run = Run(store=Store.open(tmp_path / "f.zarr"), prefix="", folder=tmp_path / "f_profile", progress=no_progress,
              say=said.append)
    run_distribution(run, DistributionStep(step="distribution", each_nucleus=True))  # the phantom's true pores
    density = run.store.read_table("pore_density")
    assert list(zip(density["nucleus"], density["section"])) == [(0, 0), (1, 0), (1, 1), (1, 2), (2, 0), (2, 3),
                                                                   (2, 4)]
    counted = [line for line in said if not line.startswith("warning:")]
    assert counted[0].startswith("all nuclei:") and counted[1].startswith("nucleus 1:")


def test_the_distances_step_takes_the_membrane_distances_measure_wrote_until_a_mask_changes(tmp_path):
    shape = (12, 16, 40)
    cell, nucleus, mitochondria = (np.zeros(shape, np.uint8) for _ in range(3))
    cell[..., 5:35], nucleus[..., 15:25] = 1, 1
    mitochondria[4:8, 6:10, 8:10] = 1  # 4 voxels (20 nm) inside the cell's edge at x = 5
    store = write_dataset(tmp_path / "cell.zarr", raw=np.zeros(shape, np.uint8), spacing=(10, 5, 5), tables={},
                          labels={"cell": cell, "nucleus": nucleus, "mitochondria": mitochondria},
                          step="test", parameters={})
    said = []
    run = Run(store=store, prefix="", folder=tmp_path / "cell_profile", progress=no_progress, say=said.append)
    run_measure(run, MeasureStep(step="measure", labels=("mitochondria",)))
    run_distances(run, DistancesStep(step="distances", to=None))
    assert said[-1] == "tables/mitochondria has its membrane distances already (the measure step)"
    cell[..., :7] = 0  # the cell segmented again, its edge 2 voxels nearer
    store.write_labels("cell", cell)
    store.record("cell", outputs=["labels/cell"], parameters={})
    run_distances(run, DistancesStep(step="distances", to=None))
    assert store.read_table("mitochondria")["dist_plasma_membrane_um"].item() == pytest.approx(0.010)
