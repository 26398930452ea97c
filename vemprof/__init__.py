"""vemprof: profile cells in volume electron microscopy.

Axis order is always (Z, Y, X); voxel sizes are in nanometres; results in µm.

``Volume`` and ``open_volume`` are imported on first use, so that ``import vemprof``
(and the command line's start, where Ctrl-C must already be handled) stays instant.
"""

from importlib import import_module
from importlib.metadata import PackageNotFoundError, version

from vemprof.errors import VemprofError

try:
    __version__ = version("vemprof")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Volume", "VemprofError", "__version__", "open_volume"]

_LAZY = {"Volume": "vemprof.volume", "open_volume": "vemprof.volume"}


def __getattr__(name: str):
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'vemprof' has no attribute {name!r}")
