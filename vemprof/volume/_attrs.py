"""Voxel size from the attribute conventions of HDF5, N5 and plain zarr containers.

Each convention, the axis order it uses and the unit it implies:

=======================================  =========  ==========================================
attribute                                order      unit
=======================================  =========  ==========================================
``element_size_um`` (ilastik, Fiji)      Z, Y, X    µm
``transform`` {axes, scale, units}       named      ``units`` (COSEM / OpenOrganelle)
``pixelResolution`` {dimensions, unit}   X, Y, Z    ``unit`` (N5 Viewer, n5-spark)
``pixelWidth/Height/Depth``              X, Y, Z    ``pixelUnit`` (N5 ImageJ export)
``resolution`` in N5                     X, Y, Z    ``units``/``unit``, else nm (tensorstore,
                                                    neuroglancer, Paintera, BigDataViewer)
``resolution`` in HDF5 / zarr            Z, Y, X    ``units``/``unit``, else nm (CREMI, funlib)
``voxel_size``, ``spacing``              Z, Y, X    ``units``/``unit``, else nm
=======================================  =========  ==========================================

"Else nm" rules only for the last three: a unit-less value of 1 on every axis is the
placeholder many writers leave, and counts as unknown. A value list of the wrong length
or with non-positive numbers is unknown too. Attributes are looked up on the dataset
first, then on each parent group; a size inherited from a parent is multiplied by the
dataset's own ``downsamplingFactors`` (X, Y, Z; N5 Viewer pyramids).
"""

from __future__ import annotations

from typing import Mapping, Sequence

from vemprof.volume._units import as_float, to_nm
from vemprof.volume._volume import Spacing

_NM = ("nm", "nm", "nm")


def spacing_from_attrs(chain: Sequence[Mapping], *, xyz_resolution: bool) -> Spacing | None:
    """The voxel size in nm along (Z, Y, X) from a dataset's attributes and its parents'.

    Parameters
    ----------
    chain : sequence of mappings
        The dataset's attributes first, then its parent group's, up to the root.
    xyz_resolution : bool
        True for N5, where ``resolution`` lists X, Y, Z; False for HDF5 and zarr (Z, Y, X).

    Returns
    -------
    tuple of 3 floats or None
        From the first level of ``chain`` that holds a known convention; None if none does
        or that convention's value is unusable.
    """
    for depth, attrs in enumerate(chain):
        found, spacing = _spacing_in(attrs, xyz_resolution=xyz_resolution)
        if not found:
            continue
        if spacing is not None and depth > 0:
            factors = _three(chain[0].get("downsamplingFactors"))
            if factors is not None:
                spacing = tuple(s * f for s, f in zip(spacing, reversed(factors)))  # type: ignore[assignment]
        return spacing
    return None


def _spacing_in(attrs: Mapping, *, xyz_resolution: bool) -> tuple[bool, Spacing | None]:
    """(whether a convention is present, its voxel size in nm or None)."""
    if "element_size_um" in attrs:
        values = _three(attrs["element_size_um"])
        return True, None if values is None else to_nm(values, ("um",) * 3)
    transform = attrs.get("transform")
    if isinstance(transform, Mapping) and "scale" in transform:
        return True, _named_transform(transform)
    pixel_resolution = attrs.get("pixelResolution")
    if pixel_resolution is not None:
        if not isinstance(pixel_resolution, Mapping):
            return True, None
        values = _three(pixel_resolution.get("dimensions"))
        unit = pixel_resolution.get("unit")
        return True, None if values is None else to_nm(values[::-1], (unit,) * 3)
    if "pixelWidth" in attrs:
        values = [attrs.get("pixelDepth"), attrs.get("pixelHeight"), attrs.get("pixelWidth")]
        return True, to_nm(values, (attrs.get("pixelUnit"),) * 3)
    for name in ("resolution", "voxel_size", "spacing"):
        if name in attrs:
            values = _three(attrs[name])
            if values is None:
                return True, None
            units = _units(attrs)
            if name == "resolution" and xyz_resolution:
                values, units = values[::-1], (units[::-1] if units else None)
            if units is None:
                return True, None if all(v == 1 for v in values) else to_nm(values, _NM)
            return True, to_nm(values, units)
    return False, None


def _named_transform(transform: Mapping) -> Spacing | None:
    axes = [str(a).lower() for a in transform.get("axes", ())]
    scale, units = transform.get("scale"), transform.get("units")
    if sorted(axes) != ["x", "y", "z"] or not isinstance(scale, Sequence) or not isinstance(units, Sequence):
        return None
    if len(scale) != 3 or len(units) != 3:
        return None
    order = [axes.index(a) for a in "zyx"]
    return to_nm([scale[i] for i in order], [units[i] for i in order])


def _units(attrs: Mapping) -> tuple | None:
    """Per-axis units from ``units`` (a list) or ``unit`` (one for all), in attribute order."""
    units = attrs.get("units")
    if isinstance(units, (list, tuple)) or hasattr(units, "tolist"):
        units = list(units)
        return tuple(units) if len(units) == 3 else ("?",) * 3
    unit = attrs.get("unit", units)
    return None if unit is None else (unit,) * 3


def _three(value: object) -> tuple[float, float, float] | None:
    """Three finite numbers from a list/array, else None."""
    if hasattr(value, "tolist"):
        value = value.tolist()  # numpy arrays from h5py attributes
    if not isinstance(value, (list, tuple)) or len(value) != 3:
        return None
    numbers = [as_float(v) for v in value]
    if any(n is None for n in numbers):
        return None
    return tuple(numbers)  # type: ignore[return-value]
