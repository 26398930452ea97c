"""Units and the voxel-size attribute conventions of HDF5, N5 and zarr containers."""

import numpy as np
import pytest

from vemprof.volume._attrs import spacing_from_attrs
from vemprof.volume._units import nm_per_unit


@pytest.mark.parametrize(("unit", "nm"), [
    ("nanometer", 1), ("nm", 1), ("micrometer", 1e3), ("µm", 1e3), ("\u03bcm", 1e3), ("um", 1e3), ("micron", 1e3),
    ("microns", 1e3), ("\\u00B5m", 1e3), ("angstrom", 0.1), ("Å", 0.1), ("A", 0.1), ("mm", 1e6), ("meter", 1e9),
    ("cm", 1e7), ("inch", 2.54e7), (b"nm", 1),
])
def test_known_units(unit, nm):
    assert nm_per_unit(unit) == pytest.approx(nm)


@pytest.mark.parametrize("unit", [None, "", "pixel", "second", "a", 3])
def test_unknown_units(unit):
    assert nm_per_unit(unit) is None


@pytest.mark.parametrize(("attrs", "xyz", "expected"), [
    ({"element_size_um": [0.008, 0.005, 0.004]}, True, (8, 5, 4)),  # Z, Y, X even in N5
    ({"resolution": [4, 5, 8]}, True, (8, 5, 4)),  # N5: X, Y, Z
    ({"resolution": [8, 5, 4]}, False, (8, 5, 4)),  # HDF5 / zarr: Z, Y, X
    ({"resolution": [4, 5, 8], "units": ["nm", "nm", "um"]}, True, (8000, 5, 4)),
    ({"pixelResolution": {"unit": "um", "dimensions": [0.004, 0.005, 0.008]}}, False, (8, 5, 4)),
    ({"pixelResolution": [4, 5, 8]}, True, None),  # no unit
    ({"pixelWidth": 4, "pixelHeight": 5, "pixelDepth": 8, "pixelUnit": "nm"}, True, (8, 5, 4)),
    ({"transform": {"axes": ["z", "y", "x"], "scale": [8, 5, 4], "units": ["nm"] * 3}}, True, (8, 5, 4)),
    ({"transform": {"axes": ["x", "y", "z"], "scale": [4, 5, 8], "units": ["nm"] * 3}}, False, (8, 5, 4)),
    ({"resolution": np.array([8.0, 5.0, 4.0]), "unit": np.bytes_(b"nm")}, False, (8, 5, 4)),  # as h5py gives them
    ({"resolution": [8, 5]}, False, None),
    ({"resolution": [8, 0, 4]}, False, None),
    ({"resolution": [1, 1, 1]}, False, None),
    ({"resolution": [1, 1, 1], "unit": "um"}, False, (1000, 1000, 1000)),
])
def test_attribute_conventions(attrs, xyz, expected):
    spacing = spacing_from_attrs([attrs], xyz_resolution=xyz)
    assert spacing == (None if expected is None else pytest.approx(expected))


def test_inherited_size_is_scaled_by_downsampling_factors():
    chain = [{"downsamplingFactors": [2, 2, 1]}, {}, {"pixelResolution": {"unit": "nm", "dimensions": [4, 5, 8]}}]
    assert spacing_from_attrs(chain, xyz_resolution=True) == (8, 10, 8)
    assert spacing_from_attrs([{"resolution": [8, 5, 4], "downsamplingFactors": [2, 2, 1]}],
                              xyz_resolution=False) == (8, 5, 4)  # its own size is already per level
