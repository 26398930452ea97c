"""Where the hot ndimage calls run: scipy on the CPU (default) or CuPy on a GPU.

The GPU is opt-in: `use_gpu(True)` (for the whole process, or within a ``with`` block)
sends the hot filters (Gaussian, median, grey morphology, small-radius binary
morphology) to ``cupyx.scipy.ndimage``; each block is copied to the GPU and back, so
callers always see numpy arrays. Everything else stays on the CPU. Without a
`use_gpu` choice the environment variable ``VEMPROF_DEVICE`` (``gpu`` or ``cpu``)
decides, so worker processes started with it set use the GPU; the library never
changes the environment itself. The setting is read when a block is computed, so a
lazy result computed after a ``with use_gpu(True):`` block runs on the CPU. The GPU
path is unmeasured: no GPU was available when it was written.
"""

from __future__ import annotations

import importlib
import os
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np
import scipy.ndimage

from vemprof.errors import VemprofError

DEVICE_VARIABLE = "VEMPROF_DEVICE"
#: The last `use_gpu` choice ("gpu" or "cpu"); None follows ``VEMPROF_DEVICE``.
_choice: str | None = None


def gpu_available() -> bool:
    """True when CuPy imports and sees at least one CUDA device."""
    try:
        cupy = importlib.import_module("cupy")
        importlib.import_module("cupyx.scipy.ndimage")
        return int(cupy.cuda.runtime.getDeviceCount()) > 0
    except Exception:  # no CuPy, no driver, no device: all mean "no GPU"
        return False


@dataclass(frozen=True)
class DeviceChoice:
    """What `use_gpu` returns; in a ``with`` statement it restores the previous choice at the end."""

    previous: str | None

    def __enter__(self) -> DeviceChoice:
        return self

    def __exit__(self, *exception: object) -> None:
        global _choice
        _choice = self.previous


def use_gpu(enabled: bool = True) -> DeviceChoice:
    """Send the hot ndimage calls to the GPU (True) or keep them on the CPU (False).

    As a call, the choice holds for the process, in every thread, until changed; as a
    context manager, the previous choice comes back at the end of the block. It
    overrides ``VEMPROF_DEVICE`` and does not change it.

    Parameters
    ----------
    enabled : bool
        True for the GPU, False for the CPU.

    Returns
    -------
    DeviceChoice
        A context manager that restores the previous choice (or ``VEMPROF_DEVICE``).

    Raises
    ------
    VemprofError
        When asked for a GPU that CuPy cannot reach.

    Examples
    --------
    >>> with use_gpu(False):
    ...     gpu_enabled()
    False
    """
    global _choice
    if enabled and not gpu_available():
        raise VemprofError(
            "no usable GPU: CuPy is not installed or sees no CUDA device; "
            "install vemprof[gpu] on a machine with a GPU, or stay on the CPU"
        )
    previous, _choice = _choice, "gpu" if enabled else "cpu"
    return DeviceChoice(previous)


def gpu_enabled() -> bool:
    """True when hot calls currently go to the GPU: the `use_gpu` choice, else ``VEMPROF_DEVICE``."""
    return (_choice or os.environ.get(DEVICE_VARIABLE, "cpu")).lower() == "gpu"


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
