"""Sparse annotations: label images whose values are painted classes.

Value 0 is *not annotated*, 1 is *background*, ``k + 2`` is ``classes[k]``. An annotation
image is an NGFF label image ``labels/<name>`` like any other, so viewers show it; its
group attributes also carry the class names and the voxels painted per class::

    "vemprof": {"annotation": {"classes": ["nucleus", "mitochondria"],
                               "voxels": {"background": 1200, "nucleus": 340, "mitochondria": 95}}}

and, for viewers, the NGFF ``image-label`` ``properties`` (a ``class`` per value) and
``colors``. `Store.write_annotations` writes them; this module checks the class names
and the values and builds the metadata.
"""

from __future__ import annotations

from pathlib import Path

import dask
import dask.array as da
import numpy as np

from vemprof.errors import VemprofError

BACKGROUND = "background"
_BACKGROUND_RGBA = [128, 128, 128, 96]
_CLASS_RGBA = [  # matplotlib's tab10, opaque: distinct colours in napari and other viewers
    [31, 119, 180, 255], [255, 127, 14, 255], [44, 160, 44, 255], [214, 39, 40, 255], [148, 103, 189, 255],
    [140, 86, 75, 255], [227, 119, 194, 255], [188, 189, 34, 255], [23, 190, 207, 255],
]


def check_classes(classes) -> list[str]:
    """The class names as a list (a string is split at commas), or a one-line error
    where there are none, one is empty or repeated, or one is called 'background'."""
    names = classes.split(",") if isinstance(classes, str) else list(classes or [])
    names = [str(name).strip() for name in names]
    example = "(e.g. --classes nucleus,mitochondria: value 2 is nucleus, 3 mitochondria)"
    if not names:
        raise VemprofError(f"an annotation image needs its class names; give them with --classes {example}")
    if "" in names:
        raise VemprofError(f"--classes has an empty name in '{','.join(names)}'; give every class a name {example}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise VemprofError(f"--classes names '{repeated[0]}' more than once; give each class its own name")
    if BACKGROUND in names:
        raise VemprofError("'background' is value 1 in every annotation image; leave it out of --classes, "
                           "which names the values 2, 3, …")
    return names


def annotation_dtype(classes: list[str]) -> np.dtype:
    """uint8 up to 254 classes, else uint16."""
    return np.dtype(np.uint8 if len(classes) + 1 <= np.iinfo(np.uint8).max else np.uint16)


def checked_values(image: da.Array, *, name: str, classes: list[str], chunks: tuple[int, int, int]) -> da.Array:
    """``image`` as `annotation_dtype` in blocks of ``chunks``, each checked to hold values
    0…len(classes)+1 only (a one-line error naming the first block that does not)."""
    if not np.issubdtype(image.dtype, np.integer):
        raise VemprofError(f"annotation image '{name}' holds {image.dtype} values; annotations are integers "
                           "(0 not annotated, 1 background, 2… the classes), round or convert them first")
    return image.rechunk(chunks).map_blocks(_checked_block, dtype=annotation_dtype(classes), annotation=name, classes=classes)


def _checked_block(block: np.ndarray, *, annotation: str, classes: list[str], block_info=None) -> np.ndarray:
    top = len(classes) + 1
    if block.size:
        low, high = block.min(), block.max()
        if low < 0 or high > top:
            (z, y, x) = block_info[0]["array-location"]
            allowed = "2" if top == 2 else f"2…{top}"
            raise VemprofError(
                f"annotation image '{annotation}' holds the value {low if low < 0 else high} (near z {z[0]}:{z[1]}, "
                f"y {y[0]}:{y[1]}, x {x[0]}:{x[1]}), outside 0…{top} for its {len(classes)} class(es) (0 not "
                f"annotated, 1 background, {allowed} {', '.join(classes)}); name every painted class with --classes")
    return block.astype(annotation_dtype(classes), copy=False)


def count_voxels(level0: Path, classes: list[str]) -> dict[str, int]:
    """Voxels of each value of the written annotation array at ``level0``, by name:
    background first, then the classes (read block by block)."""
    top = len(classes) + 1
    blocks = da.from_zarr(str(level0)).to_delayed().ravel()
    counts = sum(dask.compute(*(dask.delayed(_value_counts)(block, top) for block in blocks)))
    return {name: int(count) for name, count in zip([BACKGROUND, *classes], counts[1:])}


def _value_counts(block: np.ndarray, top: int) -> np.ndarray:
    return np.bincount(block.ravel(), minlength=top + 1)[:top + 1]


def image_label_extras(classes: list[str]) -> dict:
    """NGFF ``image-label`` ``properties`` and ``colors`` for the values 1 (background) and 2….

    Parameters
    ----------
    classes : class names of the values 2, 3, …
    """
    names = [BACKGROUND, *classes]
    colors = [_BACKGROUND_RGBA] + [_CLASS_RGBA[k % len(_CLASS_RGBA)] for k in range(len(classes))]
    return {"properties": [{"label-value": value, "class": name} for value, name in enumerate(names, start=1)],
            "colors": [{"label-value": value, "rgba": rgba} for value, rgba in enumerate(colors, start=1)]}


def annotation_metadata(classes: list[str], voxels: dict[str, int]) -> dict:
    """The ``vemprof`` group attribute of an annotation image."""
    return {"annotation": {"classes": list(classes), "voxels": dict(voxels)}}


def read_annotation(attributes: dict) -> dict | None:
    """``{"classes": […], "voxels": {…}}`` of an annotation image's group attributes; None
    for any other label image."""
    entry = attributes.get("vemprof", {}).get("annotation")
    return entry if isinstance(entry, dict) and isinstance(entry.get("classes"), list) else None
