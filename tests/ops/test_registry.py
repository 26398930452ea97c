import dataclasses
import re

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
- {op: filter_objects, input: labels, output: kept, feature: volume_nm3, min_value: 500}
- {op: distance_transform, input: nucleus, output: depth, max_distance_nm: 60}
"""


def by_hand(raw, nucleus, spacing):
    """CHAIN, written as the operations called one by one."""
    band = ops.shell(nucleus, inner_nm=10, outer_nm=40, spacing=spacing)
    dark = ops.invert(raw)
    spots = ops.threshold_local(dark, window_nm=60, offset=-5, spacing=spacing)
    pores = ops.mask_image(spots, band)
    labels = ops.connected_components(pores, connectivity=6)
    kept = ops.filter_objects(labels, feature="volume_nm3", min_value=500, spacing=spacing)
    depth = ops.distance_transform(nucleus, max_distance_nm=60, spacing=spacing)
    return {"band": band, "dark": dark, "spots": spots, "pores": pores, "labels": labels, "kept": kept, "depth": depth}


def test_every_public_operation_is_registered_with_units_and_defaults():
    table = ops.describe_operations()
    assert set(table["operation"]) == set(ops.OPERATIONS)
    assert {"gaussian", "watershed", "grow_regions", "shell", "fill_holes", "distance_transform"} <= set(ops.OPERATIONS)
    row = table[(table.operation == "shell") & (table.parameter == "outer_nm")].iloc[0]
    assert row["unit"] == "nm" and row["default"] == "required" and row["description"]
    assert (table.loc[table.parameter == "min_volume_nm3", "unit"] == "nm³").all()
    assert set(table.loc[table.unit == "array", "parameter"]) == set(ops.ARRAY_PARAMETERS)
    assert "spacing" not in set(table["parameter"])


def test_a_chain_equals_its_operations_called_by_hand(image, blobs, spacing):
    out = ops.run_chain(CHAIN, {"raw": image, "nucleus": blobs}, spacing=spacing)
    expected = by_hand(image, blobs, spacing)
    assert list(out) == list(expected)
    for name, array in expected.items():
        np.testing.assert_array_equal(out[name], array, err_msg=name)


def test_a_chain_keeping_one_output_lets_the_others_go(image, blobs, spacing, monkeypatch):
    import weakref

    held = []  # a weak reference to every array the chain makes
    original = ops.invert

    def watched(*args, **kwargs):
        result = original(*args, **kwargs)
        held.append(weakref.ref(result))
        return result

    monkeypatch.setitem(ops.OPERATIONS["invert"].__dict__, "function", watched)
    out = ops.run_chain(CHAIN, {"raw": image, "nucleus": blobs}, spacing=spacing, keep=["kept"])
    assert list(out) == ["kept"]
    np.testing.assert_array_equal(out["kept"], by_hand(image, blobs, spacing)["kept"])
    assert held and held[0]() is None  # "dark", last read by threshold_local, is gone


def test_a_chain_gives_the_known_answers(image, blobs, spacing):
    out = ops.run_chain(CHAIN, {"raw": image, "nucleus": blobs}, spacing=spacing)
    np.testing.assert_array_equal(out["dark"], 255 - image)
    np.testing.assert_array_equal(out["pores"], out["spots"] & out["band"])
    volumes = np.bincount(out["labels"].ravel()) * np.prod(spacing)
    kept_ids = set(np.unique(out["kept"])) - {0}
    assert kept_ids == {label for label in range(1, len(volumes)) if volumes[label] >= 500}  # 3 voxels or more
    assert len(kept_ids) > 1 and len(volumes) - 1 > len(kept_ids)


def test_a_lazy_chain_equals_the_operations_called_by_hand(image, blobs, spacing):
    out = ops.run_chain(CHAIN, {"raw": as_dask(image, (7, 9, 11)), "nucleus": as_dask(blobs, (7, 9, 11))}, spacing=spacing)
    for name, array in by_hand(image, blobs, spacing).items():
        np.testing.assert_array_equal(np.asarray(out[name]), array, err_msg=name)


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
    with pytest.raises(VemprofError, match=re.escape(message)) as info:
        ops.run_chain(steps, {"raw": image}, spacing=spacing)
    assert "\n" not in str(info.value)


def test_nothing_runs_when_a_later_step_is_wrong(image, spacing, monkeypatch):
    calls = []
    recording = dataclasses.replace(ops.OPERATIONS["invert"], function=lambda x: calls.append(x))
    monkeypatch.setitem(ops.OPERATIONS, "invert", recording)
    with pytest.raises(VemprofError, match=r"step 2 \(erode\): missing required parameter\(s\): radius_nm"):
        ops.run_chain([{"op": "invert", "input": "raw"}, {"op": "erode", "input": "invert"}], {"raw": image}, spacing=spacing)
    assert calls == []
