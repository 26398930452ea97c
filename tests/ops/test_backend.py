"""The GPU dispatch, tested on the CPU with a stand-in for CuPy (no GPU here)."""

import sys
import types

import numpy as np
import pytest
import scipy.ndimage

from vemprof import ops
from vemprof.errors import VemprofError
from vemprof.ops import _backend


class FakeDeviceArray(np.ndarray):
    """Marks arrays that went through the stand-in's asarray."""


@pytest.fixture
def fake_cupy(monkeypatch):
    calls = []
    cupy = types.ModuleType("cupy")
    cupy.asarray = lambda a: np.asarray(a).view(FakeDeviceArray)
    cupy.asnumpy = lambda a: np.asarray(a).view(np.ndarray)
    cupy.cuda = types.SimpleNamespace(runtime=types.SimpleNamespace(getDeviceCount=lambda: 1))
    gpu_ndimage = types.ModuleType("cupyx.scipy.ndimage")

    def recording(name):
        def call(array, *args, **kwargs):
            assert isinstance(array, FakeDeviceArray)
            calls.append(name)
            return getattr(scipy.ndimage, name)(np.asarray(array), *args, **kwargs)

        return call

    for name in ("gaussian_filter", "median_filter", "grey_opening", "binary_dilation", "binary_erosion"):
        setattr(gpu_ndimage, name, recording(name))
    cupyx = types.ModuleType("cupyx")
    cupyx_scipy = types.ModuleType("cupyx.scipy")
    for name, module in {"cupy": cupy, "cupyx": cupyx, "cupyx.scipy": cupyx_scipy, "cupyx.scipy.ndimage": gpu_ndimage}.items():
        monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.delenv(_backend.DEVICE_VARIABLE, raising=False)
    yield calls
    monkeypatch.delenv(_backend.DEVICE_VARIABLE, raising=False)


def test_cpu_is_the_default_and_no_gpu_here(monkeypatch):
    monkeypatch.delenv(_backend.DEVICE_VARIABLE, raising=False)
    assert not _backend.gpu_enabled()
    if not ops.gpu_available():
        with pytest.raises(VemprofError, match="no usable GPU"):
            ops.use_gpu(True)


def test_hot_operations_dispatch_to_cupy_with_the_same_results(fake_cupy, image, blobs, spacing):
    cpu = ops.gaussian(image, sigma_nm=10, spacing=spacing), ops.white_tophat(image, radius_nm=10, spacing=spacing)
    cpu_mask = ops.dilate(blobs, radius_nm=8, spacing=spacing)
    assert ops.gpu_available()
    ops.use_gpu(True)
    gpu = ops.gaussian(image, sigma_nm=10, spacing=spacing), ops.white_tophat(image, radius_nm=10, spacing=spacing)
    gpu_mask = ops.dilate(blobs, radius_nm=8, spacing=spacing)
    assert fake_cupy == ["gaussian_filter", "grey_opening", "binary_dilation"]
    for a, b in zip(cpu + (cpu_mask,), gpu + (gpu_mask,)):
        assert type(b) is np.ndarray
        np.testing.assert_array_equal(a, b)
    ops.use_gpu(False)
    ops.gaussian(image, sigma_nm=10, spacing=spacing)
    assert len(fake_cupy) == 3
