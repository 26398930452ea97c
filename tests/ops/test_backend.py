"""The GPU dispatch, tested on the CPU with stand-in CuPy modules (no GPU here).

The stand-in answers 7 in every voxel, so a result of 7s can only have come from the
backend; its records show what each call was given.
"""

import os
import sys
import types

import numpy as np
import pytest
import scipy.ndimage as ndi

from vemprof import ops
from vemprof.errors import VemprofError
from vemprof.ops import _backend

from .conftest import as_dask


class OnDevice(np.ndarray):
    """Arrays that went through the stand-in's ``cupy.asarray``."""


@pytest.fixture(autouse=True)
def cpu_by_default(monkeypatch):
    """Each test starts with no `use_gpu` choice and no VEMPROF_DEVICE."""
    monkeypatch.setattr(_backend, "_choice", None)
    monkeypatch.delenv(_backend.DEVICE_VARIABLE, raising=False)


@pytest.fixture
def gpu_calls(monkeypatch):
    """Install stand-in ``cupy`` and ``cupyx.scipy.ndimage``; yield the list of their calls."""
    calls = []
    cupy = types.ModuleType("cupy")
    cupy.asarray = lambda a: np.asarray(a).view(OnDevice)
    cupy.asnumpy = lambda a: np.asarray(a).view(np.ndarray)
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    gpu_ndimage = types.ModuleType("cupyx.scipy.ndimage")

    def recording(name):
        def call(array, *args, **kwargs):
            calls.append((name, array, args, kwargs))
            return np.full(array.shape, 7, kwargs.get("output", array.dtype)).view(OnDevice)

        return call

    for name in ("gaussian_filter", "median_filter", "grey_opening", "binary_dilation", "binary_erosion"):
        setattr(gpu_ndimage, name, recording(name))
    modules = {
        "cupy": cupy,
        "cupyx": types.ModuleType("cupyx"),
        "cupyx.scipy": types.ModuleType("cupyx.scipy"),
        "cupyx.scipy.ndimage": gpu_ndimage,
    }
    for name, module in modules.items():
        monkeypatch.setitem(sys.modules, name, module)
    return calls


def test_cpu_is_the_default_and_asking_for_a_missing_gpu_is_an_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "cupy", None)  # CuPy cannot be imported
    assert not ops.gpu_available() and not _backend.gpu_enabled()
    with pytest.raises(VemprofError, match="no usable GPU"):
        ops.use_gpu(True)
    assert not _backend.gpu_enabled()


def test_the_environment_variable_is_the_default_and_use_gpu_overrides_it(monkeypatch):
    monkeypatch.setenv(_backend.DEVICE_VARIABLE, "gpu")
    assert _backend.gpu_enabled()
    with ops.use_gpu(False):
        assert not _backend.gpu_enabled()
        assert os.environ[_backend.DEVICE_VARIABLE] == "gpu"
    assert _backend.gpu_enabled()


def test_use_gpu_is_a_setting_and_a_context_manager_and_leaves_the_environment_alone(gpu_calls):
    ops.use_gpu(True)
    assert _backend.gpu_enabled()
    with ops.use_gpu(False):
        assert not _backend.gpu_enabled()
    assert _backend.gpu_enabled()
    ops.use_gpu(False)
    assert not _backend.gpu_enabled()
    assert _backend.DEVICE_VARIABLE not in os.environ


def test_the_gpu_answers_hot_calls_with_its_arguments_and_numpy_comes_back(gpu_calls, image, blobs, spacing):
    with ops.use_gpu(True):
        smooth = ops.gaussian(image, sigma_nm=10, spacing=spacing)
        ops.dilate(blobs, radius_nm=8, spacing=spacing)
        ops.erode(blobs, radius_nm=8, spacing=spacing)
    assert type(smooth) is np.ndarray and smooth.dtype == np.float32 and (smooth == 7).all()
    assert [call[0] for call in gpu_calls] == ["gaussian_filter", "binary_dilation", "binary_erosion"]
    name, array, args, kwargs = gpu_calls[0]
    assert type(array) is OnDevice and args == ((1.25, 2.0, 2.0),)
    assert kwargs == {"output": np.float32, "mode": "reflect", "truncate": 4.0}
    for (name, array, args, kwargs), outside in zip(gpu_calls[1:], (0, 1)):
        assert type(kwargs["structure"]) is OnDevice and kwargs["border_value"] == outside
        np.testing.assert_array_equal(kwargs["structure"], ops.ball(8, spacing=spacing))


def test_dask_blocks_computed_in_worker_threads_follow_the_setting(gpu_calls, image, spacing):
    lazy = ops.gaussian(as_dask(image, (12, 16, 20)), sigma_nm=10, spacing=spacing)
    with ops.use_gpu(True):
        assert (lazy.compute(scheduler="threads") == 7).all()
    assert len(gpu_calls) == 8  # one per block


def test_the_cpu_path_is_scipy_even_with_a_gpu_at_hand(gpu_calls, image, spacing, monkeypatch):
    monkeypatch.setenv(_backend.DEVICE_VARIABLE, "gpu")
    with ops.use_gpu(False):
        smooth = ops.gaussian(image, sigma_nm=10, spacing=spacing)
    expected = ndi.gaussian_filter(image, (10 / 8, 2, 2), output=np.float32, mode="reflect", truncate=4)
    np.testing.assert_array_equal(smooth, expected)
    assert gpu_calls == []
