"""Montages of a phantom (or any volume with labels): slices with the ground truth overlaid.

Only the slices shown are read (``np.asarray`` of an index of each array), so lazy dask
arrays of volumes larger than memory work too.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from scipy import ndimage as ndi

#: How each ground-truth label is overlaid, in drawing order: (name, colour, opacity,
#: legend). A colour is one RGB for every object, a {value: RGB} map, or None for a
#: stable pseudo-random colour per instance.
_OVERLAYS = (
    ("nucleus_sections", {1: (0.25, 0.45, 1.0), 2: (0.2, 0.85, 0.35)}, 0.22, ("section 1", "section 2")),
    ("organelles", (0.6, 0.38, 0.15), 0.35, ("other organelles",)),
    ("mitochondria", None, 0.45, ("mitochondria",)),
    ("nuclear_envelope", (1.0, 0.85, 0.1), 0.75, ("envelope",)),
    ("pockets", (0.1, 0.9, 0.95), 0.8, ("pockets",)),
    ("pores", (1.0, 0.1, 0.1), 1.0, ("pores",)),
)
#: Colour of the cell outline, drawn last.
_CELL_OUTLINE = (1.0, 0.55, 0.0)
#: Colour standing for "one colour per instance" in the legend.
_INSTANCES_LEGEND = (0.8, 0.4, 0.9)


def phantom_montage(
    image,
    labels: Mapping[str, object],
    *,
    spacing: Sequence[float],
    path: str | Path,
    z_slices: Sequence[int] | None = None,
    y_slice: int | None = None,
    title: str | None = None,
    overlaid: str = "ground truth",
) -> Path:
    """Write a PNG: XY slices at several depths and one XZ slice, each plain and with the
    ground truth (or the labels ``overlaid`` names) overlaid, with a scale bar in µm.

    Parameters
    ----------
    image : array-like (Z, Y, X)
        The EM image (numpy or dask; only the shown slices are read).
    labels : mapping of str to array-like (Z, Y, X)
        Any of ``cell``, ``nucleus_sections``, ``nuclear_envelope``, ``mitochondria``,
        ``pores``, ``pockets``; missing ones are not drawn.
    spacing : sequence of 3 floats
        Voxel size in nm (Z, Y, X).
    path : str or Path
        Where to write the PNG.
    z_slices : sequence of int, optional
        XY planes to show; default three at 35%, 50% and 65% of the depth.
    y_slice : int, optional
        Row of the XZ slice; default the middle.
    title : str, optional
    overlaid : str
        What the overlaid labels are, in each lower panel's title.

    Returns
    -------
    Path
        ``path``.
    """
    nz, ny, _ = image.shape
    z_slices = list(z_slices) if z_slices is not None else [int(nz * f) for f in (0.35, 0.5, 0.65)]
    y_slice = ny // 2 if y_slice is None else int(y_slice)
    views = [(f"XY, z = {z * spacing[0] / 1000:.2f} µm", (z, slice(None), slice(None)), (spacing[1], spacing[2])) for z in z_slices]
    views.append((f"XZ, y = {y_slice * spacing[1] / 1000:.2f} µm", (slice(None), y_slice, slice(None)), (spacing[0], spacing[2])))
    columns = len(views)
    fig, axes = plt.subplots(2, columns, figsize=(4.2 * columns, 8.6), squeeze=False)
    for column, (name, index, pixel) in enumerate(views):
        grey = np.asarray(image[index])
        planes = {key: np.asarray(value[index]) for key, value in labels.items()}
        _show(axes[0, column], grey, pixel, name)
        _show(axes[1, column], _overlay(grey, planes), pixel, f"{name}, {overlaid}")
    return _save(fig, path, title=title, legend_height=0.04, title_height=0.03, dpi=110)


def phantom_zoom(
    image,
    labels: Mapping[str, object],
    *,
    spacing: Sequence[float],
    path: str | Path,
    center_zyx_um: Sequence[float],
    size_um: float = 1.5,
    title: str | None = None,
) -> Path:
    """Write a PNG of a square XY crop (plain and with ground truth) around a point.

    Parameters
    ----------
    image, labels, spacing, path
        As for `phantom_montage`.
    center_zyx_um : sequence of 3 floats
        Centre of the crop in µm (Z, Y, X); its Z picks the plane.
    size_um : float
        Side of the crop in µm.
    title : str, optional
    """
    nz, ny, nx = image.shape
    z = int(np.clip(round(center_zyx_um[0] * 1000 / spacing[0]), 0, nz - 1))
    half = [size_um * 500 / spacing[1], size_um * 500 / spacing[2]]
    rows = _window(center_zyx_um[1] * 1000 / spacing[1], half[0], ny)
    cols = _window(center_zyx_um[2] * 1000 / spacing[2], half[1], nx)
    index = (z, rows, cols)
    grey = np.asarray(image[index])
    planes = {key: np.asarray(value[index]) for key, value in labels.items()}
    fig, axes = plt.subplots(1, 2, figsize=(10, 5.4))
    name = f"XY, z = {z * spacing[0] / 1000:.2f} µm"
    _show(axes[0], grey, (spacing[1], spacing[2]), name)
    _show(axes[1], _overlay(grey, planes), (spacing[1], spacing[2]), name + ", ground truth")
    return _save(fig, path, title=title, legend_height=0.06, title_height=0.05, dpi=120)


def _window(center: float, half: float, size: int) -> slice:
    start = int(np.clip(round(center - half), 0, max(size - 1, 0)))
    return slice(start, int(np.clip(round(center + half), start + 1, size)))


def _show(axis, picture: np.ndarray, pixel_nm: Sequence[float], name: str) -> None:
    """Draw a 2D grey or RGB picture with physical axes (µm) and a scale bar."""
    height_um = picture.shape[0] * pixel_nm[0] / 1000
    width_um = picture.shape[1] * pixel_nm[1] / 1000
    axis.imshow(picture, cmap="gray", extent=(0, width_um, height_um, 0), interpolation="nearest")
    axis.set_title(name, fontsize=9)
    axis.set_axis_off()
    bar = _nice_length(width_um / 5)
    margin = 0.04 * width_um
    thickness = 0.015 * max(height_um, width_um)
    axis.add_patch(Rectangle((margin, height_um - margin - thickness), bar, thickness, color="white", ec="black", lw=0.5))
    text = f"{bar:g} µm" if bar >= 1 else f"{bar * 1000:g} nm"
    axis.text(margin + bar / 2, height_um - margin - 1.6 * thickness, text, color="black", ha="center", va="bottom",
              fontsize=8, fontweight="bold", bbox={"facecolor": "white", "alpha": 0.7, "pad": 1, "lw": 0})


def _nice_length(length: float) -> float:
    """The largest of 1, 2, 5 × 10^k not above ``length``."""
    power = 10 ** np.floor(np.log10(length))
    for step in (5, 2, 1):
        if step * power <= length:
            return float(step * power)
    return float(power)


def _overlay(grey: np.ndarray, planes: Mapping[str, np.ndarray]) -> np.ndarray:
    """RGB picture: ``grey`` scaled to [0, 1] with the labels blended over it."""
    grey = grey.astype(np.float32)
    low, high = np.percentile(grey, (0.5, 99.5))
    rgb = np.repeat(np.clip((grey - low) / max(high - low, 1e-6), 0, 1)[..., None], 3, axis=-1)
    for name, colour, opacity, _ in _OVERLAYS:
        plane = planes.get(name)
        if plane is None or not plane.any():
            continue
        mask = plane > 0
        rgb[mask] = (1 - opacity) * rgb[mask] + opacity * _colours(plane[mask], colour)
    cell = planes.get("cell")
    if cell is not None:
        edge = (cell > 0) & ~ndi.binary_erosion(cell > 0, border_value=1)
        rgb[edge] = _CELL_OUTLINE
    return rgb


def _colours(values: np.ndarray, colour) -> np.ndarray:
    """RGB (n, 3) for label ``values`` (n,) by an `_OVERLAYS` colour."""
    if colour is None:  # a stable pseudo-random hue per instance
        hue = ((values.astype(np.uint64) * 2654435761) % 1000) / 1000.0
        return plt.cm.hsv(hue)[:, :3].astype(np.float32)
    if isinstance(colour, dict):
        out = np.zeros((len(values), 3), dtype=np.float32)
        for value, rgb in colour.items():
            out[values == value] = rgb
        return out
    return np.broadcast_to(np.asarray(colour, dtype=np.float32), (len(values), 3))


def _legend(fig) -> None:
    entries = {"cell": _CELL_OUTLINE}
    for _, colour, _, names in _OVERLAYS:
        colours = list(colour.values()) if isinstance(colour, dict) else [colour or _INSTANCES_LEGEND]
        entries.update(zip(names, colours))
    handles = [Rectangle((0, 0), 1, 1, color=c) for c in entries.values()]
    fig.legend(handles, list(entries), loc="lower center", ncol=len(entries), fontsize=9, frameon=False)


def _save(fig, path, *, title: str | None, legend_height: float, title_height: float, dpi: int) -> Path:
    """Add the legend and title (figure fractions reserved for them), write the PNG, close."""
    _legend(fig)
    if title:
        fig.suptitle(title)
    fig.tight_layout(rect=(0, legend_height, 1, 1 - title_height if title else 1))
    path = Path(path)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        fig.savefig(temporary, dpi=dpi, format="png")
        os.replace(temporary, path)  # a reader finds the old picture or the new, never half of one
    finally:
        plt.close(fig)
        temporary.unlink(missing_ok=True)
    return path
