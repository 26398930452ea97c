"""vemprof: profile cells in volume electron microscopy.

Axis order is always (Z, Y, X); voxel sizes are in nanometres; results in µm.
"""

from importlib.metadata import PackageNotFoundError, version

from vemprof.errors import VemprofError
from vemprof.volume import Volume, open_volume

try:
    __version__ = version("vemprof")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0+unknown"

__all__ = ["Volume", "VemprofError", "__version__", "open_volume"]
