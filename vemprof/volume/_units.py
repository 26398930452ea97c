"""Length units as the field's formats spell them, converted to nanometres."""

from __future__ import annotations

import math
from typing import Sequence

from vemprof.volume._volume import PartialSpacing, Spacing

_NM_PER_UNIT = {
    "pm": 1e-3, "picometer": 1e-3, "picometre": 1e-3,
    "å": 0.1, "angstrom": 0.1, "ångström": 0.1, "angstroem": 0.1,
    "nm": 1.0, "nanometer": 1.0, "nanometre": 1.0,
    "um": 1e3, "µm": 1e3, "micron": 1e3, "micrometer": 1e3, "micrometre": 1e3,
    "mm": 1e6, "millimeter": 1e6, "millimetre": 1e6,
    "cm": 1e7, "centimeter": 1e7, "centimetre": 1e7,
    "inch": 2.54e7,
    "m": 1e9, "meter": 1e9, "metre": 1e9,
}


def nm_per_unit(unit: object) -> float | None:
    """Nanometres in one ``unit``, or None for a missing, non-length or unknown unit.

    Accepts the spellings of OME-NGFF (``"micrometer"``), OME-XML (``"µm"``), ImageJ
    (``"micron"``, ``"\\u00B5m"``), NIfTI (``"mm"``), N5 (``"nm"``), plurals and the
    Greek mu. ``"pixel"`` and empty strings give None.
    """
    if isinstance(unit, bytes):
        unit = unit.decode("utf-8", "replace")
    if not isinstance(unit, str):
        return None
    text = unit.strip().replace("\\u00B5", "µ").replace("\\u00b5", "µ").replace("\u03bc", "µ")
    if text == "A":  # upper case only: ImageJ and MRC tools write "A" for ångström
        return 0.1
    text = text.lower()
    return _NM_PER_UNIT.get(text) or _NM_PER_UNIT.get(text.removesuffix("s"))


def to_nm(values: Sequence[object], units: Sequence[object]) -> Spacing | None:
    """(z, y, x) sizes in their units → nanometres, or None if any value or unit is unusable.

    Parameters
    ----------
    values : 3 numbers
        Voxel size along (Z, Y, X) in ``units``.
    units : 3 unit names
        One unit per axis (see `nm_per_unit`).
    """
    sizes = sizes_nm(values, units)
    return None if None in sizes else sizes  # type: ignore[return-value]


def sizes_nm(values: Sequence[object], units: Sequence[object]) -> PartialSpacing:
    """Like `to_nm`, axis by axis: each size in nm, or None where its value or unit is unusable."""
    result = []
    for value, unit in zip(values, units, strict=True):
        factor = nm_per_unit(unit)
        number = as_float(value)
        result.append(None if factor is None or number is None or number <= 0 else number * factor)
    return tuple(result)  # type: ignore[return-value]


def as_float(value: object) -> float | None:
    """``value`` as a finite float, or None (for strings, None, NaN, arrays…)."""
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None
