"""Tiny synthetic volumes for the reader tests: noisy EM-like images and label volumes."""

import numpy as np


def em_image(shape=(6, 32, 40), dtype=np.uint8, seed=0) -> np.ndarray:
    """Noisy grey values with some structure, like a small FIB-SEM crop."""
    rng = np.random.default_rng(seed)
    z, y, x = np.indices(shape)
    smooth = 100 + 40 * np.sin(x / 5.0) * np.cos(y / 7.0) + 3 * z
    return np.clip(smooth + rng.normal(0, 15, shape), 0, np.iinfo(dtype).max).astype(dtype)


def label_volume(shape=(6, 32, 40)) -> np.ndarray:
    """A few boxes with distinct ids on a 0 background (uint32)."""
    labels = np.zeros(shape, np.uint32)
    labels[1:5, 4:14, 4:18] = 1
    labels[1:5, 18:30, 6:20] = 2
    labels[2:6, 8:28, 24:38] = 7
    return labels
