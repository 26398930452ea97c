"""The guard between dask and the file readers: pickling for distributed runs, block checks, messages."""

import pickle
from functools import partial

import cloudpickle
import numpy as np
import pytest
import tifffile

from vemprof.errors import VemprofError
from vemprof.volume import open_volume
from vemprof.volume._guard import GuardedSource


def test_graph_survives_pickling_as_for_distributed_workers(tmp_path, image):
    """Workers get the graph pickled: the open file handle stays behind and is reopened there."""
    tifffile.imwrite(tmp_path / "stack.tif", image, compression="zlib")
    volume = open_volume(tmp_path / "stack.tif")
    shipped = pickle.loads(cloudpickle.dumps(volume.data))
    np.testing.assert_array_equal(shipped.compute(scheduler="threads"), image)


def test_short_blocks_are_reported():
    """A reader that returns less than asked (a file shorter than its header says) is caught."""
    guard = GuardedSource(partial(np.zeros, (1, 5, 6)), shape=(4, 5, 6), dtype=np.float64, chunks=(1, 5, 6),
                          axes="zyx", source="made-up.dat")
    with pytest.raises(VemprofError, match=r"^corrupt or unreadable data in made-up.dat at z 0:2, y 0:5, x 0:6 "
                                           r"\(got a float64 block of shape \(1, 5, 6\), expected float64 "
                                           r"\(2, 5, 6\)\); restore the file or re-export it$"):
        guard[0:2, 0:5, 0:6]


def test_message_lists_z_y_x_whatever_the_file_order():
    def failing():
        raise OSError("disk went away\nsecond line")

    guard = GuardedSource(failing, shape=(6, 5, 4, 2), dtype=np.uint8, chunks=(6, 5, 1, 1), axes="xyzc",
                          source="data.nii")
    with pytest.raises(VemprofError, match=r"^corrupt or unreadable data in data.nii at z 2:3, y 0:5, x 0:6, c 1:2 "
                                           r"\(OSError: disk went away\); restore"):
        guard[0:6, 0:5, 2:3, 1]
