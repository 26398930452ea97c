"""OME-NGFF 0.5 metadata for the dataset store: multiscale images and label images.

Only the JSON is built here; arrays are written by `_writer`. Axes are always z, y, x in
nanometres; every pyramid level carries its own scale (and, for averaged levels, the
half-voxel translation that averaging introduces). Each document is validated against
the specification (ome-zarr-models) as it is built, so a store never receives metadata
that NGFF readers would refuse.
"""

from __future__ import annotations

from typing import Sequence

NGFF_VERSION = "0.5"

AXES = [{"name": axis, "type": "space", "unit": "nanometer"} for axis in ("z", "y", "x")]


def multiscale(
    name: str, level_spacings: Sequence[Sequence[float]], level_offsets: Sequence[Sequence[float]]
) -> dict:
    """One NGFF ``multiscales`` entry.

    Parameters
    ----------
    name : str
        Name of the image (``raw``, a label name, a probability map name).
    level_spacings : sequence of (z, y, x) floats
        Voxel size of each pyramid level in nm, finest first.
    level_offsets : sequence of (z, y, x) floats
        Physical position (nm) of each level's first voxel centre relative to level 0's.
    """
    datasets = []
    for level, (spacing, offset) in enumerate(zip(level_spacings, level_offsets)):
        transforms: list[dict] = [{"type": "scale", "scale": [float(s) for s in spacing]}]
        if any(offset):
            transforms.append({"type": "translation", "translation": [float(o) for o in offset]})
        datasets.append({"path": str(level), "coordinateTransformations": transforms})
    return {"name": name, "axes": AXES, "datasets": datasets}


def image_attributes(multiscale_entry: dict) -> dict:
    """Group attributes of an NGFF 0.5 multiscale image."""
    return _validated("image", {"ome": {"version": NGFF_VERSION, "multiscales": [multiscale_entry]}})


def label_image_attributes(
    multiscale_entry: dict, *, colors: Sequence[dict] | None = None, properties: Sequence[dict] | None = None
) -> dict:
    """Group attributes of an NGFF 0.5 label image whose source image is the store root;
    ``colors`` and ``properties`` as the specification has them (a ``label-value`` each)."""
    image_label: dict = {"version": NGFF_VERSION, "source": {"image": "../../"}}
    if colors:
        image_label["colors"] = list(colors)
    if properties:
        image_label["properties"] = list(properties)
    attributes = image_attributes(multiscale_entry)
    attributes["ome"]["image-label"] = image_label
    return _validated("image-label", attributes)


def labels_group_attributes(names: Sequence[str]) -> dict:
    """Attributes of the ``labels`` group that lists the label images."""
    return _validated("labels", {"ome": {"version": NGFF_VERSION, "labels": sorted(set(names))}})


def _validated(kind: str, attributes: dict) -> dict:
    """``attributes`` unchanged; a `ValueError` if they break the NGFF 0.5 specification
    (a fault of vemprof's, not of the user's data)."""
    # imported here: the models cost a third of a second, paid only by writers
    from ome_zarr_models.v05.image import ImageAttrs
    from ome_zarr_models.v05.image_label import ImageLabelAttrs
    from ome_zarr_models.v05.labels import LabelsAttrs
    from pydantic import ValidationError

    model = {"image": ImageAttrs, "image-label": ImageLabelAttrs, "labels": LabelsAttrs}[kind]
    try:
        model.model_validate(attributes["ome"])
    except ValidationError as error:
        raise ValueError(f"vemprof built invalid NGFF 0.5 {kind} metadata ({error}); please report this") from None
    return attributes
