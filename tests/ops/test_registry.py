import dataclasses

import numpy as np
import pytest

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import as_dask

CHAIN = """
- {op: shell, input: nucleus, output: band, inner_nm: 10, outer_nm: 40}
- {op: invert, input: raw, output: dark}
- {op: threshold_local, input: dark, output: spots, window_nm: 60, offset: -5}
- {op: mask_image, inputs: [spots, band], output: pores}
- {op: connected_components, input: pores, output: labels, connectivity: 6}
- {op: filter_objects, input: labels, output: kept, feature: volume_nm3, min_value: 200}
"""


def test_every_public_operation_is_registered_with_units_and_defaults():
    table = ops.describe_operations()
    assert set(table["operation"]) == set(ops.OPERATIONS)
    assert {"gaussian", "watershed", "grow_regions", "shell", "fill_holes"} <= set(ops.OPERATIONS)
    row = table[(table.operation == "shell") & (table.parameter == "outer_nm")].iloc[0]
    assert row["unit"] == "nm" and row["default"] == "required" and row["description"]
    assert (table.loc[table.parameter == "min_volume_nm3", "unit"] == "nm³").all()
    assert "spacing" not in set(table["parameter"])


@pytest.mark.parametrize("lazy", [False, True])
def test_run_chain_from_yaml(lazy, image, blobs, spacing):
    inputs = {"raw": image, "nucleus": blobs}
    if lazy:
        inputs = {k: as_dask(v, (7, 9, 11)) for k, v in inputs.items()}
    out = ops.run_chain(CHAIN, inputs, spacing=spacing)
    assert list(out) == ["band", "dark", "spots", "pores", "labels", "kept"]
    expected = ops.run_chain(CHAIN, {"raw": image, "nucleus": blobs}, spacing=spacing)
    for name, array in out.items():
        np.testing.assert_array_equal(np.asarray(array), expected[name])
    assert set(np.unique(expected["kept"])) <= set(np.unique(expected["labels"]))


def test_run_chain_from_a_file(tmp_path, image, blobs, spacing):
    path = tmp_path / "chain.yaml"
    path.write_text(CHAIN)
    assert "kept" in ops.run_chain(path, {"raw": image, "nucleus": blobs}, spacing=spacing)


@pytest.mark.parametrize(
    "steps, message",
    [
        ([{"op": "blur", "input": "raw"}], "unknown operation 'blur'; allowed: gaussian, median"),
        ([{"op": "gaussian", "input": "raw", "sigma": 3}], "unknown parameter 'sigma'; allowed: sigma_nm"),
        ([{"op": "gaussian", "input": "raw"}], "missing required parameter"),
        ([{"op": "gaussian", "input": "nope", "sigma_nm": 3}], "neither an input nor an earlier output"),
        ([{"op": "mask_image", "input": "raw"}], "needs 2 input array"),
        ([{"op": "gaussian", "input": "raw", "sigma_nm": -3}], "step 1 (gaussian): sigma_nm must be"),
        ([{"op": "keep_nearest", "input": "raw", "mask": "missing"}], "reads 'missing'"),
        ("- [unclosed", "not valid YAML"),
        ("op: gaussian", "a chain is a YAML list"),
    ],
)
def test_chain_errors_are_one_line_and_list_what_is_allowed(steps, message, image, spacing):
    with pytest.raises(VemprofError) as info:
        ops.run_chain(steps, {"raw": image}, spacing=spacing)
    assert message in str(info.value)
    assert "\n" not in str(info.value)


def test_nothing_runs_when_a_later_step_is_wrong(image, spacing, monkeypatch):
    calls = []
    recording = dataclasses.replace(ops.OPERATIONS["invert"], function=lambda x: calls.append(x))
    monkeypatch.setitem(ops.OPERATIONS, "invert", recording)
    with pytest.raises(VemprofError):
        ops.run_chain([{"op": "invert", "input": "raw"}, {"op": "erode", "input": "invert"}], {"raw": image}, spacing=spacing)
    assert calls == []
