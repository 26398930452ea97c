"""3D operations in nanometres; each works on numpy arrays and, lazily, on dask arrays.

Every operation takes the array first, then keyword-only options with lengths in nm and
the voxel size ``spacing`` (nm, Z, Y, X). Given a dask array it returns a lazy dask array
equal to the whole-array answer (see docs/ops.md for what is exact and what is not).
"""

from vemprof.ops._backend import gpu_available, use_gpu
from vemprof.ops._blockwise import halo_voxels, map_channels_with_halo
from vemprof.ops._cleanup import fill_holes, remove_small_holes, remove_small_objects
from vemprof.ops._distance import distance_transform
from vemprof.ops._exact_distance import exact_distance_transform
from vemprof.ops._filters import (
    enhance_particles,
    gaussian,
    median,
    normalize_in_mask,
    normalize_local_contrast,
    subtract_background,
    white_tophat,
)
from vemprof.ops._label import connected_components
from vemprof.ops._morphology import (
    ball,
    closing,
    dilate,
    erode,
    invert,
    mask_image,
    opening,
    shell,
)
from vemprof.ops._objects import (
    FEATURES,
    filter_objects,
    keep_largest,
    keep_nearest,
    object_features,
    relabel_sequential,
)
from vemprof.ops._region_growing import grow_regions
from vemprof.ops._registry import (
    ARRAY_PARAMETERS,
    OPERATIONS,
    check_chain,
    describe_operations,
    load_chain,
    run_chain,
)
from vemprof.ops._threshold import threshold, threshold_local, threshold_value
from vemprof.ops._watershed import find_maxima, split_touching, watershed

__all__ = [
    "ARRAY_PARAMETERS",
    "FEATURES",
    "OPERATIONS",
    "describe_operations",
    "find_maxima",
    "grow_regions",
    "check_chain",
    "load_chain",
    "run_chain",
    "split_touching",
    "watershed",
    "ball",
    "connected_components",
    "fill_holes",
    "filter_objects",
    "keep_largest",
    "keep_nearest",
    "object_features",
    "relabel_sequential",
    "remove_small_holes",
    "remove_small_objects",
    "closing",
    "dilate",
    "distance_transform",
    "exact_distance_transform",
    "enhance_particles",
    "erode",
    "gaussian",
    "gpu_available",
    "halo_voxels",
    "map_channels_with_halo",
    "invert",
    "mask_image",
    "median",
    "normalize_in_mask",
    "normalize_local_contrast",
    "opening",
    "shell",
    "subtract_background",
    "threshold",
    "threshold_local",
    "threshold_value",
    "use_gpu",
    "white_tophat",
]
