"""The montage draws slices with the ground truth overlaid and reads only those slices."""

import dask.array as da
import matplotlib.image
import pytest

from vemprof.synth import make_phantom, phantom_montage, phantom_zoom


class SlicesOnly:
    """A volume that hands out 2D slices and refuses to be read whole."""

    def __init__(self, array):
        self.array = array
        self.shape = array.shape
        self.dtype = array.dtype
        self.reads = []

    def __getitem__(self, index):
        out = self.array[index]
        assert out.ndim <= 2, f"read a {out.ndim}D block"
        self.reads.append(index)
        return out

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole volume was read")


@pytest.fixture(scope="module")
def phantom():
    return make_phantom(shape=(64, 128, 128), spacing=(40.0, 40.0, 40.0), n_mitochondria=8)


def test_montage_reads_only_the_slices_it_shows(phantom, tmp_path):
    image = SlicesOnly(phantom.image)
    labels = {name: SlicesOnly(value) for name, value in phantom.labels.items()}
    path = phantom_montage(image, labels, spacing=phantom.spacing, path=tmp_path / "montage.png", z_slices=[20, 32, 44])
    picture = matplotlib.image.imread(path)
    assert picture.ndim == 3 and picture.shape[1] > picture.shape[0]
    assert len(image.reads) == 4  # three XY slices and one XZ slice
    assert all(len(volume.reads) == 4 for volume in labels.values())


def test_montage_takes_dask_arrays(phantom, tmp_path):
    image = da.from_array(phantom.image, chunks=(16, 64, 64))
    labels = {name: da.from_array(value, chunks=(16, 64, 64)) for name, value in phantom.labels.items()}
    path = phantom_montage(image, labels, spacing=phantom.spacing, path=tmp_path / "montage.png", title="dask")
    assert path.stat().st_size > 10_000


def test_zoom_crops_around_a_point(phantom, tmp_path):
    pore = phantom.tables["pores"].iloc[0]
    path = phantom_zoom(
        phantom.image, phantom.labels, spacing=phantom.spacing, path=tmp_path / "zoom.png",
        center_zyx_um=(pore["z_um"], pore["y_um"], pore["x_um"]), size_um=1.0,
    )
    assert matplotlib.image.imread(path).shape[0] > 100

