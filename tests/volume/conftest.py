"""Fixtures for the reader tests."""

import numpy as np
import pytest
from volume_samples import em_image


@pytest.fixture
def image() -> np.ndarray:
    """A (6, 32, 40) uint8 noisy EM-like image."""
    return em_image()
