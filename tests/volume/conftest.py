"""Fixtures for the reader tests."""

import numpy as np
import pytest
from volume_samples import em_image

from vemprof.volume import _guard


@pytest.fixture
def image() -> np.ndarray:
    """A (6, 32, 40) uint8 noisy EM-like image."""
    return em_image()


@pytest.fixture
def one_block_per_chunk(monkeypatch) -> None:
    """Volumes opened in this test have one dask block per stored chunk, however small."""
    monkeypatch.setattr(_guard, "MIN_BLOCK_BYTES", 0)
