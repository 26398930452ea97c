"""`write_dataset`: a whole new store at once (what `vemprof synth` writes), resumable."""

import numpy as np
import pandas as pd
import pytest

from vemprof import VemprofError
from vemprof.store import write_dataset

from .test_import import ctrl_c_after_first_batch, level_0_chunk_files


def dataset(seed: int) -> dict:
    rng = np.random.default_rng(seed)
    raw = rng.integers(0, 255, (32, 64, 64), dtype=np.uint8)
    return dict(raw=raw, spacing=(25.0, 20.0, 20.0), labels={"cell": (raw > 60).astype(np.uint8)},
                tables={"cells": pd.DataFrame({"label": [1]})}, step="synth", parameters={"seed": seed},
                chunks=(16, 32, 32))


def test_an_interrupted_write_resumes_from_its_finished_chunks(tmp_path):
    destination, partial = tmp_path / "phantom.zarr", tmp_path / "phantom.zarr.partial"
    with pytest.raises(KeyboardInterrupt):
        write_dataset(destination, **dataset(1), memory_mib=0.05, progress=ctrl_c_after_first_batch)
    finished = level_0_chunk_files(partial)
    assert 0 < len(finished) < 8 and not destination.exists()

    store = write_dataset(destination, **dataset(1))

    after = level_0_chunk_files(destination)
    assert {name: after[name] for name in finished} == finished
    np.testing.assert_array_equal(store.raw().data.compute(), dataset(1)["raw"])
    np.testing.assert_array_equal(store.labels("cell").data.compute(), dataset(1)["labels"]["cell"])
    assert [step["parameters"] for step in store.provenance] == [{"seed": 1}]
    assert not partial.exists()


def test_other_parameters_discard_an_interrupted_write(tmp_path):
    destination = tmp_path / "phantom.zarr"
    with pytest.raises(KeyboardInterrupt):
        write_dataset(destination, **dataset(1), memory_mib=0.05, progress=ctrl_c_after_first_batch)
    store = write_dataset(destination, **dataset(2))
    np.testing.assert_array_equal(store.raw().data.compute(), dataset(2)["raw"])


def test_an_existing_store_is_replaced_only_with_overwrite(tmp_path):
    destination = tmp_path / "phantom.zarr"
    write_dataset(destination, **dataset(1))
    with pytest.raises(VemprofError, match="already holds files; choose another path or pass --overwrite"):
        write_dataset(destination, **dataset(2))
    store = write_dataset(destination, **dataset(2), overwrite=True)
    np.testing.assert_array_equal(store.raw().data.compute(), dataset(2)["raw"])
