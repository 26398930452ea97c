"""From a predicted class mask to the final label image: the clean-up per class, in nm.

A U-Net predicts plane by plane, so its masks have ragged surfaces, pinholes, specks and
thin bridges between neighbours. Each class is cleaned by one of four recipes (its
``kind``), built from `vemprof.ops` so that numpy and dask masks both work:

``largest`` (the nucleus: one per cell)
    closing by ``closing_nm``, the largest connected component, its holes filled.
    Returns a uint8 0/1 mask.
``nuclei`` (the nuclei of a volume of many cells)
    closing by ``closing_nm``, pieces under ``min_volume_um3`` removed, holes filled.
    Returns a uint8 0/1 mask.
``instances`` (mitochondria: many separate objects)
    opening by ``opening_nm``, objects under ``min_volume_um3`` removed, touching
    objects split by a watershed of the distance map (`vemprof.ops.split_touching`:
    every centre at least ``split_h_nm`` deeper than its surroundings seeds a part,
    distances capped at ``max_radius_nm``), then neighbouring parts merged where the
    neck between them keeps at least ``neck_ratio`` of the thinner part's radius.
    Returns uint32 instance ids (uint64 beyond 2³² voxels).
``mask`` (any other class)
    objects under ``min_volume_um3`` removed (0 keeps all). Returns a uint8 0/1 mask.

A length or volume of 0 skips its step. The defaults suit HeLa FIB-SEM at 5–40 nm
voxels:

- nucleus ``closing_nm`` 50: fills dents and pinholes up to ~100 nm across while
  keeping nuclear invaginations (channels 100–500 nm wide) open; with kind ``nuclei``,
  ``min_volume_um3`` 1: a ball 1.2 µm across, far below any nucleus (a HeLa nucleus is
  hundreds of µm³), far above the specks a network leaves.
- mitochondria (200–1000 nm across) ``opening_nm`` 40: removes structures thinner than
  ~80 nm (membranes, ER tubules 60–100 nm) and bridges of that width between
  neighbours; ``min_volume_um3`` 0.003: smaller than a ball 200 nm across
  (0.0042 µm³), the thinnest mitochondrion; ``split_h_nm`` 10: parts are seeded
  at nearly every bulge and then merged by proportion, ``neck_ratio`` 0.6: where two
  mitochondria touch, the neck is narrower than 60 % of the thinner one's radius,
  while the waists of one tube stay wider (an absolute depth cannot tell these apart:
  both grow with size; see `vemprof.ops._necks` and docs/unet.md); ``max_radius_nm``
  500: the widest mitochondrion, also the block-wise halo (×2).
"""

from __future__ import annotations

import math
import os
from numbers import Real
from typing import Any, Sequence

import numpy as np

from vemprof import ops
from vemprof.errors import VemprofError
from vemprof.ops._validate import check_mask
from vemprof.volume import validate_spacing

#: The clean-up of each class the U-Net is usually trained for (JSON-able, lengths in nm).
CLEANUP_DEFAULTS = {
    "nucleus": {"kind": "largest", "closing_nm": 50.0},
    "mitochondria": {
        "kind": "instances", "opening_nm": 40.0, "min_volume_um3": 0.003, "split_h_nm": 10.0,
        "neck_ratio": 0.6, "max_radius_nm": 500.0,
    },
}
#: The clean-up of any other class.
OTHER_DEFAULTS = {"kind": "mask", "min_volume_um3": 0.0}
#: The clean-up of the nuclei of many cells (choose it with ``{"nucleus": {"kind": "nuclei"}}``).
NUCLEI_DEFAULTS = {"kind": "nuclei", "closing_nm": 50.0, "min_volume_um3": 1.0}
#: The parameters each kind starts from when ``parameters`` choose a kind other than the class's.
_KIND_DEFAULTS = {defaults["kind"]: defaults for defaults in (*CLEANUP_DEFAULTS.values(), NUCLEI_DEFAULTS,
                                                               OTHER_DEFAULTS)}
#: Parameters that must be above 0 (0 would not mean "skip").
_POSITIVE = ("split_h_nm", "max_radius_nm")

_NM3_PER_UM3 = 1e9


def cleanup_parameters(name: str, parameters: dict | None = None) -> dict:
    """The full clean-up parameters of class ``name``: its defaults, overridden key by key.

    Parameters
    ----------
    name : str
        Class name; ``nucleus`` and ``mitochondria`` have their own defaults
        (`CLEANUP_DEFAULTS`), any other class `OTHER_DEFAULTS`.
    parameters : dict, optional
        Keys to change. A different ``kind`` starts from that kind's defaults.

    Returns
    -------
    dict
        ``kind`` and every parameter of that kind (a new dict, JSON-able); what
        `clean_mask` applies and what provenance should record.

    Examples
    --------
    >>> cleanup_parameters("mitochondria", {"min_volume_um3": 0.01})["min_volume_um3"]
    0.01
    >>> cleanup_parameters("golgi")
    {'kind': 'mask', 'min_volume_um3': 0.0}
    """
    parameters = dict(parameters or {})
    defaults = CLEANUP_DEFAULTS.get(name, OTHER_DEFAULTS)
    kind = parameters.get("kind", defaults["kind"])
    if kind not in _KIND_DEFAULTS:
        raise VemprofError(f"unknown clean-up kind {kind!r} for {name!r}; choose one of: {', '.join(_KIND_DEFAULTS)}")
    if kind != defaults["kind"]:
        defaults = _KIND_DEFAULTS[kind]
    unknown = sorted(set(parameters) - set(defaults))
    if unknown:
        raise VemprofError(
            f"unknown clean-up parameter{'s' if len(unknown) > 1 else ''} {', '.join(unknown)} for {name!r} "
            f"(kind {kind!r}); valid: {', '.join(defaults)}"
        )
    resolved = {**defaults, **parameters}
    for key, value in resolved.items():
        if key == "kind":
            continue
        if not (isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
                and (value > 0 if key in _POSITIVE else value >= 0)):
            raise VemprofError(
                f"clean-up parameter {key} of {name!r} must be a number {'> 0' if key in _POSITIVE else '>= 0'}, "
                f"got {value!r}"
            )
        resolved[key] = float(value)
    return resolved


def clean_mask(mask: Any, *, name: str, spacing: Sequence[float], parameters: dict | None = None,
               cores: Any = None, staging: str | os.PathLike | None = None) -> Any:
    """The final label image of class ``name`` from its predicted mask.

    Parameters
    ----------
    mask : (Z, Y, X) bool (or integer, non-zero = in) array, numpy or dask
        The class's voxels, e.g. probability >= 0.5.
    name : str
        Class name; chooses the defaults (see `cleanup_parameters`).
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    parameters : dict, optional
        Overrides of the defaults, key by key (see the module notes for each kind).
    cores : (Z, Y, X) bool array, optional
        For ``instances``: the class's voxels without its contacts (where a network
        found the seam between touching objects, class ``<name>_contact``). Each
        connected core seeds one object, grown over ``mask`` by a watershed of the
        distance map, instead of splitting at the distance map's maxima.
    staging : folder, optional
        For a dask ``mask`` of kind ``instances``: where the split stages its
        intermediates (`vemprof.ops.split_touching`), so memory does not grow with the
        volume.

    Returns
    -------
    (Z, Y, X) array, numpy or lazy dask like ``mask``: uint8 0/1 for kinds ``largest``,
    ``nuclei`` and ``mask``, uint32 instance ids (0 = background) for ``instances``.

    Examples
    --------
    >>> speck = np.zeros((4, 8, 8), bool); speck[1:3, 2:4, 2:4] = True
    >>> int(clean_mask(speck, name="mitochondria", spacing=(20, 10, 10)).max())
    0
    """
    settings = cleanup_parameters(name, parameters)
    spacing = validate_spacing(spacing)
    mask = check_mask(mask)
    kind = settings["kind"]
    if kind in ("largest", "nuclei") and settings["closing_nm"] > 0:
        mask = ops.closing(mask, radius_nm=settings["closing_nm"], spacing=spacing)
    if kind == "largest":
        return ops.fill_holes(ops.keep_largest(mask)).astype(np.uint8)
    if kind == "instances" and settings["opening_nm"] > 0:
        mask = ops.opening(mask, radius_nm=settings["opening_nm"], spacing=spacing)
    if settings["min_volume_um3"] > 0:
        mask = ops.remove_small_objects(mask, min_volume_nm3=settings["min_volume_um3"] * _NM3_PER_UM3,
                                        spacing=spacing)
    if kind == "nuclei":
        return ops.fill_holes(mask).astype(np.uint8)
    if kind == "instances" and cores is not None:
        cores = check_mask(cores) & mask
        if settings["min_volume_um3"] > 0:  # a speck of a core would seed an object of its own
            cores = ops.remove_small_objects(cores, min_volume_nm3=settings["min_volume_um3"] * _NM3_PER_UM3,
                                             spacing=spacing)
        seeds = ops.connected_components(cores)
        cap = settings["max_radius_nm"]  # distances beyond it come as inf
        relief = -np.minimum(ops.distance_transform(mask, spacing=spacing, max_distance_nm=cap), np.float32(cap))
        return ops.watershed(relief, markers=seeds, mask=mask, spacing=spacing,
                             halo_nm=2 * settings["max_radius_nm"]).astype(np.uint32)
    if kind == "instances":
        return ops.split_touching(mask, spacing=spacing, h_nm=settings["split_h_nm"],
                                  max_radius_nm=settings["max_radius_nm"], neck_ratio=settings["neck_ratio"],
                                  staging=staging)
    return mask.astype(np.uint8)
