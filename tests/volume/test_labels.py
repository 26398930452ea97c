"""`looks_like_labels` on EM-like images and label volumes."""

import dask.array as da
import numpy as np
import pytest
from volume_samples import em_image, label_volume

from vemprof.volume import Volume, looks_like_labels


def volume_of(data, **kwargs):
    return Volume(da.from_array(data, chunks=(2, 16, 16)), spacing=None, name="v", **kwargs)


@pytest.mark.parametrize("dtype", [np.uint8, np.uint16])
def test_noisy_em_image_is_not_labels(dtype):
    assert not looks_like_labels(volume_of(em_image((8, 64, 64), dtype=dtype)))


def test_low_contrast_em_image_is_not_labels():
    """Only 12 grey values, but noisy: neighbouring voxels mostly differ."""
    narrow = (100 + em_image((8, 64, 64)) // 24).astype(np.uint8)
    assert np.unique(narrow).size <= 16
    assert not looks_like_labels(volume_of(narrow))


def test_label_volumes_are_labels():
    assert looks_like_labels(volume_of(label_volume()))
    assert looks_like_labels(volume_of(label_volume() > 0))  # a boolean mask
    instances = np.repeat(np.repeat(np.arange(64, dtype=np.uint32).reshape(1, 8, 8), 4, 1), 4, 2)  # 64 ids
    assert looks_like_labels(volume_of(np.repeat(instances, 4, 0)))


def test_metadata_and_dtype_decide_first():
    assert looks_like_labels(volume_of(em_image(), is_labels=True))  # an NGFF label image
    assert not looks_like_labels(volume_of(label_volume().astype(np.float32)))
    assert not looks_like_labels(volume_of(np.zeros((6, 32, 40), np.uint8)))  # blank: no evidence


def test_an_over_exposed_centre_does_not_make_an_image_labels():
    """Resin saturated at 255 (a few pixels just below) fills the centre; the rest is cell."""
    stack = em_image((16, 256, 256))
    resin = np.clip(np.random.default_rng(1).normal(275, 12, (8, 128, 128)), 0, 255).astype(np.uint8)
    stack[4:12, 64:192, 64:192] = resin
    assert not looks_like_labels(Volume(da.from_array(stack, chunks=(4, 64, 64)), spacing=None, name="v"))


def test_labels_with_a_blank_centre_are_labels():
    """Windows of background are no evidence; the ones on objects decide."""
    labels = np.zeros((16, 256, 256), np.uint32)
    labels[:, :96, :96] = 5
    labels[:, 200:, 200:] = 9
    labels[:, :96, 200:] = 2
    assert looks_like_labels(Volume(da.from_array(labels, chunks=(4, 64, 64)), spacing=None, name="v"))


def test_only_the_sampled_blocks_are_read():
    z, y, x = np.indices((64, 64, 64))
    data = da.from_array((z // 8 * 64 + y // 8 * 8 + x // 8).astype(np.uint32), chunks=16)  # 8³ boxes
    reads = []
    counted = data.map_blocks(lambda block: reads.append(block.shape) or block, meta=np.empty((0, 0, 0), np.uint32))
    assert looks_like_labels(Volume(counted, spacing=None, name="v"))
    assert reads == [(16, 16, 16)] * 5  # 5 of the 64 blocks, spread over the volume
