"""Shared synthetic volumes: organelle-like blobs that cross chunk borders."""

import dask.array as da
import numpy as np
import pytest

SPACING = (8.0, 5.0, 5.0)
#: chunk shapes for block-wise comparisons: regular, uneven, and thinner than most halos
CHUNKS = [(12, 16, 20), (7, 9, 11), (3, 4, 5)]


def ball_mask(shape, centre, radius_nm, spacing):
    """Voxels whose centre lies within radius_nm of ``centre`` (voxel coordinates)."""
    grids = np.ogrid[tuple(slice(0, n) for n in shape)]
    squared = sum(((g - c) * s) ** 2 for g, c, s in zip(grids, centre, spacing))
    return squared <= radius_nm**2


def make_blobs(shape=(24, 32, 40), spacing=SPACING, count=9, seed=0):
    """Balls of random radius at random places, some touching, some on the volume edge."""
    rng = np.random.default_rng(seed)
    mask = np.zeros(shape, bool)
    for _ in range(count):
        centre = [rng.uniform(0, n) for n in shape]
        mask |= ball_mask(shape, centre, rng.uniform(20, 45), spacing)
    return mask


@pytest.fixture
def spacing():
    return SPACING


@pytest.fixture
def blobs():
    return make_blobs()


@pytest.fixture
def image(blobs):
    """uint8 EM-like image: bright blobs, noise, a slow gradient along X."""
    rng = np.random.default_rng(1)
    gradient = np.linspace(0, 40, blobs.shape[2])[None, None, :]
    values = 60 + 100 * blobs + gradient + rng.normal(0, 12, blobs.shape)
    return np.clip(values, 0, 255).astype(np.uint8)


def as_dask(array, chunks):
    return da.from_array(array, chunks=chunks)
