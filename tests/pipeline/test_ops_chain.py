"""`vemprof ops CHAIN STORE`: a chain of operations run out of core on a store."""

import numpy as np
import pytest
import yaml
from scipy import ndimage

from vemprof import VemprofError
from vemprof.ops import run_chain
from vemprof.pipeline import run_ops_chain
from vemprof.pipeline import _ops_chain
from vemprof.store import Store

SPACING = (10.0, 8.0, 8.0)
CHAIN = [
    {"op": "gaussian", "input": "raw", "output": "smooth", "sigma_nm": 12},
    {"op": "threshold", "input": "smooth", "output": "bright"},
    {"op": "closing", "input": "bright", "output": "closed", "radius_nm": 20},
    {"op": "mask_image", "inputs": ["closed", "cell"], "output": "in_cell"},
    {"op": "remove_small_objects", "input": "in_cell", "output": "big", "min_volume_nm3": 5.0e4},
    {"op": "connected_components", "input": "big", "output": "big_blobs"},
]


@pytest.fixture
def blobs_store(tmp_path):
    """Bright balls on a noisy background, crossing every chunk border, and a cell mask."""
    rng = np.random.default_rng(5)
    shape = (40, 72, 72)
    centres = rng.uniform(0, 1, (20, 3)) * shape
    distance = ndimage.distance_transform_edt(~_points(shape, centres), sampling=SPACING)
    raw = np.clip(60 + 120 * (distance < 35) + rng.normal(0, 20, shape), 0, 255).astype(np.uint8)
    cell = np.zeros(shape, np.uint8)
    cell[:, 4:68, 4:60] = 1
    store = Store.create(tmp_path / "blobs.zarr")
    store.write_raw(raw, spacing=SPACING, chunks=(16, 24, 24))
    store.write_labels("cell", cell, chunks=(16, 24, 24))
    return store, raw, cell


def _points(shape, centres):
    mask = np.zeros(shape, bool)
    mask[tuple(np.clip(centres.astype(int), 0, np.array(shape) - 1).T)] = True
    return mask


def test_the_chain_on_a_store_equals_the_chain_in_memory(blobs_store):
    store, raw, cell = blobs_store
    written = run_ops_chain(store, CHAIN, outputs=["smooth", "big_blobs"])
    assert written == {"smooth": "probabilities/smooth", "big_blobs": "labels/big_blobs"}
    expected = run_chain(CHAIN, {"raw": raw, "cell": cell}, spacing=SPACING)
    np.testing.assert_array_equal(store.labels("big_blobs").data.compute(), expected["big_blobs"])
    np.testing.assert_array_equal(store.probabilities("smooth").data.compute(), expected["smooth"])
    assert len(np.unique(expected["big_blobs"])) > 5
    (step,) = [s for s in store.provenance if s["step"] == "ops"]
    assert step["parameters"]["chain"] == CHAIN
    assert not (store.path / ".staging").exists()


def test_the_last_step_is_kept_by_default_and_a_yaml_file_works(blobs_store, tmp_path):
    store, _, _ = blobs_store
    chain = tmp_path / "chain.yaml"
    chain.write_text(yaml.safe_dump(CHAIN[:3]))
    assert run_ops_chain(store, chain) == {"closed": "labels/closed"}
    assert store.labels("closed").dtype == np.uint8


def test_a_check_that_refuses_the_results_leaves_the_outputs_unwritten(blobs_store):
    store, _, _ = blobs_store

    def refuse(arrays):
        assert set(arrays) == {"smooth", "bright", "closed"}  # every step's result, staged
        raise VemprofError("nothing worth writing")

    with pytest.raises(VemprofError, match="nothing worth writing"):
        run_ops_chain(store, CHAIN[:3], check=refuse)
    assert "closed" not in store.label_names


def test_an_interrupted_chain_resumes_after_its_finished_steps(blobs_store, monkeypatch):
    store, _, _ = blobs_store
    steps_written = []
    write = _ops_chain.write_resumable

    def interrupt_at_labelling(array, path, **options):
        if path.name.startswith("4-"):
            raise KeyboardInterrupt
        steps_written.append(path.name)
        return write(array, path, **options)

    monkeypatch.setattr(_ops_chain, "write_resumable", interrupt_at_labelling)
    with pytest.raises(KeyboardInterrupt):
        run_ops_chain(store, CHAIN)
    assert steps_written == ["0-smooth", "1-bright", "2-closed", "3-in_cell"]

    steps_written.clear()
    monkeypatch.setattr(_ops_chain, "write_resumable", lambda *a, **k: (steps_written.append(a[1].name), write(*a, **k)))
    run_ops_chain(store, CHAIN)
    assert steps_written == ["4-big", "5-big_blobs"]


def test_chain_mistakes_are_one_line_errors(blobs_store):
    store, _, _ = blobs_store
    with pytest.raises(VemprofError, match="unknown operation 'blur'; allowed: gaussian"):
        run_ops_chain(store, [{"op": "blur", "input": "raw"}])
    with pytest.raises(VemprofError, match="reads 'nucleus'.*available: cell, raw"):
        run_ops_chain(store, [{"op": "invert", "input": "nucleus"}])
    with pytest.raises(VemprofError, match="output 'x' is not made by any step"):
        run_ops_chain(store, CHAIN[:1], outputs=["x"])
    with pytest.raises(VemprofError, match="raw image cannot be replaced"):
        run_ops_chain(store, [{"op": "invert", "input": "raw", "output": "raw"}])


def test_the_command_lists_operations_and_runs_a_chain(vemprof_cli, blobs_store, tmp_path):
    listing = vemprof_cli("ops", "--list").stdout
    assert "gaussian(image)" in listing and "sigma_nm [nm] = required" in listing
    store, _, _ = blobs_store
    chain = tmp_path / "chain.yaml"
    chain.write_text(yaml.safe_dump(CHAIN))
    result = vemprof_cli("ops", chain, store.path)
    assert result.code == 0 and "big_blobs → labels/big_blobs" in result.stdout
    chain.write_text("- {op: gaussian, input: raw, sigma: 3}")
    failed = vemprof_cli("ops", chain, store.path)
    assert failed.code == 2 and "unknown parameter 'sigma'; allowed: sigma_nm" in failed.stderr
