"""Where the hot ndimage calls run: scipy on the CPU (default) or CuPy on a GPU.

The GPU is opt-in: `use_gpu(True)` (or the environment variable ``VEMPROF_DEVICE=gpu``,
which dask worker processes inherit) sends the hot filters (Gaussian, median, grey
morphology, small-radius binary morphology) to ``cupyx.scipy.ndimage``; each block is
copied to the GPU and back, so callers always see numpy arrays. Everything else stays
on the CPU. The GPU path is unmeasured: no GPU was available when it was written.
"""

from __future__ import annotations

import importlib
import os
from types import ModuleType
from typing import Any

import numpy as np
import scipy.ndimage

from vemprof.errors import VemprofError

DEVICE_VARIABLE = "VEMPROF_DEVICE"


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        cupy = importlib.import_module("cupy")
        importlib.import_module("cupyx.scipy.ndimage")
        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # no CuPy, no driver, no device: all mean "no GPU"
        return False


def use_gpu(enabled: bool = True) -> None:
    """Send the hot ndimage calls to the GPU (True) or keep them on the CPU (False).

    Raises `VemprofError` when asked for a GPU that CuPy cannot reach.
    """
    if enabled and not gpu_available():
        raise VemprofError(
            "no usable GPU: CuPy is not installed or sees no CUDA device; "
            "install vemprof[gpu] on a machine with a GPU, or stay on the CPU"
        )
    os.environ[DEVICE_VARIABLE] = "gpu" if enabled else "cpu"


def gpu_enabled() -> bool:
    """True when hot calls currently go to the GPU."""
    return os.environ.get(DEVICE_VARIABLE, "cpu").lower() == "gpu"


def _gpu_modules() -> tuple[ModuleType, ModuleType]:
    return importlib.import_module("cupy"), importlib.import_module("cupyx.scipy.ndimage")


def ndimage_call(name: str, array: np.ndarray, *args: Any, **kwargs: Any) -> np.ndarray:
    """Call ``scipy.ndimage.<name>`` or, on the GPU, ``cupyx.scipy.ndimage.<name>``.

    Array-valued keyword arguments (footprints, structures) are moved along with the
    input; the result always comes back as a numpy array.
    """
    if not gpu_enabled():
        return getattr(scipy.ndimage, name)(array, *args, **kwargs)
    cupy, gpu_ndimage = _gpu_modules()
    moved = {k: cupy.asarray(v) if isinstance(v, np.ndarray) else v for k, v in kwargs.items()}
    return cupy.asnumpy(getattr(gpu_ndimage, name)(cupy.asarray(array), *args, **moved))
