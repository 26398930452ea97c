"""Every public operation refuses what it cannot use with one `VemprofError` line.

The cases are generated from ``ops.__all__``: a new operation joins them by being
public. Each array argument gets a string, a list and a 2D array; each length (a
parameter named ``*_nm``, ``*_nm2``, ``*_nm3``) gets -1 nm, on numpy and on dask.
"""

import inspect

import numpy as np
import pytest

from vemprof import ops
from vemprof.errors import VemprofError

from .conftest import SPACING, as_dask

SHAPE = (4, 5, 6)
_MASK = np.zeros(SHAPE, bool)
_MASK[1:3, 1:4, 1:5] = True
_SEEDS = np.zeros(SHAPE, np.uint32)
_SEEDS[2, 2, 2] = 1

#: A valid value for each required argument, by name; any other length gets `LENGTH_NM`.
VALID = {
    "image": np.linspace(0, 1, _MASK.size, dtype=np.float32).reshape(SHAPE),
    "mask": _MASK,
    "objects": _MASK,
    "labels": _MASK.astype(np.uint32),
    "seeds": _SEEDS,
    "markers": _SEEDS,
    "spacing": SPACING,
    "h": 0.1,
    "feature": "voxels",
    "low": 0.2,
    "high": 0.8,
    "inner_nm": 0.0,
    "outer_nm": 10.0,
    "function": lambda block, core: block[core][..., None],
    "halo": (1, 1, 1),
    "channels": 1,
    "dtype": np.float32,
}
LENGTH_NM = 10.0
LENGTH_SUFFIXES = ("_nm", "_nm2", "_nm3")
#: (what, bad value for an array argument, fragment of the expected message)
BAD_ARRAYS = [
    ("string", "abc", "must be a numpy or dask array, got str"),
    ("list", VALID["image"].tolist(), "must be a numpy or dask array, got list"),
    ("2D", VALID["image"][0], "must be 3D"),
]

PUBLIC = {name: getattr(ops, name) for name in ops.__all__ if inspect.isfunction(getattr(ops, name))}


def _parameters(name):
    return inspect.signature(PUBLIC[name]).parameters


def _is_array(parameter):
    return isinstance(VALID.get(parameter), np.ndarray)


def _call(name, *, dask=False, **overrides):
    """Call a public function by keyword: valid required arguments, then ``overrides``."""
    arguments = {}
    for parameter in _parameters(name).values():
        if parameter.default is not parameter.empty:
            continue
        if parameter.name not in VALID and not parameter.name.endswith(LENGTH_SUFFIXES):
            raise AssertionError(f"add a valid value for {name}'s {parameter.name!r} to VALID")
        arguments[parameter.name] = VALID.get(parameter.name, LENGTH_NM)
    if dask:
        arguments = {k: as_dask(v, 2) if _is_array(k) else v for k, v in arguments.items()}
    return PUBLIC[name](**{**arguments, **overrides})


ARRAY_CASES = [
    pytest.param(name, parameter, value, message, id=f"{name}-{parameter}-{what}")
    for name in PUBLIC
    for parameter in _parameters(name)
    if _is_array(parameter)
    for what, value, message in BAD_ARRAYS
]
LENGTH_CASES = [
    pytest.param(name, parameter, dask, id=f"{name}-{parameter}-{'dask' if dask else 'numpy'}")
    for name in PUBLIC
    for parameter in _parameters(name)
    if parameter.endswith(LENGTH_SUFFIXES)
    for dask in ([False, True] if any(map(_is_array, _parameters(name))) else [False])
]


def test_the_cases_cover_every_registered_operation():
    covered = {case.values[0] for case in ARRAY_CASES}
    assert set(ops.OPERATIONS) <= covered
    assert {"threshold_value", "object_features", "distance_transform"} <= covered
    assert {case.values[0] for case in LENGTH_CASES} >= {"find_maxima", "watershed", "ball", "halo_voxels"}


@pytest.mark.parametrize("name, parameter, value, message", ARRAY_CASES)
def test_every_array_argument_must_be_a_3d_array(name, parameter, value, message):
    with pytest.raises(VemprofError, match=message) as info:
        _call(name, **{parameter: value})
    assert "\n" not in str(info.value)


@pytest.mark.parametrize("name, parameter, dask", LENGTH_CASES)
def test_every_length_is_refused_when_negative(name, parameter, dask):
    with pytest.raises(VemprofError, match=rf"^{parameter} must be a finite .+, got -1\.0$"):
        _call(name, dask=dask, **{parameter: -1.0})
