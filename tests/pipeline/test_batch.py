"""`vemprof batch`: many stores profiled with one pipeline, here or on a local Dask cluster
of worker processes; one summary table and a comparison report; a store that fails is
reported and the others go on; a worker killed mid-run is survived, with the results of
an undisturbed run."""

import os
import signal
import threading

import pandas as pd
import pytest

from vemprof.pipeline import dask_client, load_pipeline, profile_many
from vemprof.store import Store, write_dataset

from .conftest import fresh_copy


def two_stores_and_a_bad_one(segmented, folder):
    first, pipeline = fresh_copy(segmented, folder / "a")
    second, _ = fresh_copy(segmented, folder / "b")
    bare = Store.open(first)
    write_dataset(folder / "bare.zarr", raw=bare.raw().data.compute(), spacing=bare.spacing, tables={}, labels={},
                  step="import", parameters={})  # no scribbles
    return [first, second, folder / "bare.zarr"], pipeline


def test_many_stores_one_summary_and_a_failing_store_does_not_stop_the_others(vemprof_cli, segmented, tmp_path):
    stores, pipeline = two_stores_and_a_bad_one(segmented, tmp_path)
    result = vemprof_cli("batch", *stores, "--pipeline", pipeline, "--out", tmp_path / "summary")
    assert result.code == 1, result  # one store failed
    assert "bare.zarr: failed: " in result.stdout and "2 of 3 stores profiled" in result.stdout
    summary = pd.read_csv(tmp_path / "summary" / "summary.csv")
    assert summary["status"].tolist() == ["profiled", "profiled", "failed"]
    assert "no annotation image labels/cell_scribbles" in summary["error"].iloc[2]
    assert (summary["mitochondria"].iloc[:2] > 0).all() and summary["mitochondria"].iloc[0] == summary[
        "mitochondria"].iloc[1]  # the same store twice: the same numbers
    page = (tmp_path / "summary" / "comparison.html").read_text()
    assert "2 profiled, 1 failed" in page and page.count("data:image/png;base64,") >= 4


@pytest.mark.skipif(os.name != "posix", reason="SIGKILL as on Linux and macOS")
def test_a_worker_killed_mid_run_is_survived_with_the_results_of_an_undisturbed_run(segmented, tmp_path):
    undisturbed, pipeline_file = fresh_copy(segmented, tmp_path / "undisturbed")
    pipeline = load_pipeline(pipeline_file)
    assert profile_many([undisturbed], pipeline=pipeline)["status"].tolist() == ["profiled"]
    stores = [fresh_copy(segmented, tmp_path / name)[0] for name in ("a", "b")]
    with dask_client(workers=2) as client:
        pids = list(client.run(os.getpid).values())
        killer = threading.Timer(3.0, os.kill, (pids[0], signal.SIGKILL))  # while both stores are being profiled
        killer.start()
        rows = profile_many(stores, pipeline=pipeline, client=client)
        killer.join()
        assert pids[0] not in client.run(os.getpid).values()  # the worker was lost (and replaced)
    assert rows["status"].tolist() == ["profiled", "profiled"], rows["error"].tolist()
    expected = Store.open(undisturbed)
    for store in stores:
        for name in ("mitochondria", "compartments", "mitochondria_correlations"):
            pd.testing.assert_frame_equal(Store.open(store).read_table(name), expected.read_table(name), obj=name)


def test_one_store_profiled_as_a_task_on_a_local_cluster(vemprof_cli, segmented, tmp_path):
    store, pipeline = fresh_copy(segmented, tmp_path)
    result = vemprof_cli("profile", store, "--pipeline", pipeline, "--workers", "1")
    assert result.code == 0, result
    assert "on the cluster" in result.stdout and "ran cell,measure,distances,statistics" in result.stdout
    assert "mitochondria_correlations" in Store.open(store).table_names
