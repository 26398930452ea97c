"""A figure of a label image with each object coloured by a value: slices and maximum projections.

Four panels share one colour bar: the XY and XZ slices through the planes that hold the
most object voxels (over the grey image, when there is one), and the maxima of the
objects' values along Z and along Y. Extents are in µm, so anisotropic voxels keep their
true proportions; each panel has a scale bar.

The label image may be a dask array larger than memory: the projections and the
choice of planes are reduced block by block in one pass, and only the two slices are
read whole.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import dask
import dask.array as da
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.cm import ScalarMappable
from matplotlib.patches import Patch, Rectangle
from matplotlib.patheffects import withStroke
from skimage.segmentation import find_boundaries

from vemprof.errors import VemprofError
from vemprof.render._colours import NO_VALUE_RGBA, FeatureColours

#: Opacity of the objects over the grey image in the slices.
OVERLAY_OPACITY = 0.7
#: Grey of the projections' background, and of a slice's without an image (0 black … 1 white).
BACKGROUND_GREY = 0.12
#: Width of the figure, inches, and its resolution, dots per inch.
FIGURE_WIDTH_IN = 11.0
DPI = 150


def check_figure_path(path: str | os.PathLike) -> Path:
    """``path`` as a `Path`, or a one-line error unless it ends in .png."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise VemprofError(f"the figure {path} must end in .png (e.g. {path.with_suffix('.png').name})")
    return path


def render_feature(
    labels,
    values: Mapping | pd.Series,
    *,
    spacing: Sequence[float],
    out: str | os.PathLike,
    image=None,
    name: str = "value",
    cmap: str = "viridis",
    title: str | None = None,
) -> Path:
    """Write a PNG of the objects of ``labels`` coloured by ``values``.

    Parameters
    ----------
    labels : array-like (Z, Y, X) of unsigned integers, numpy or dask
        Object ids, 0 the background.
    values : mapping of label id to number, or pd.Series indexed by label id
        Each object's value; objects without one (or NaN) are grey.
    spacing : sequence of 3 floats
        Voxel size, nm (Z, Y, X).
    out : path ending in .png
        Written atomically: a reader finds the old file or the new, never half of one.
    image : array-like (Z, Y, X), optional
        Grey image shown under the objects in the slices (e.g. the raw EM image).
    name : str
        What the values are: the colour bar's label.
    cmap : str
        A matplotlib colour map; the values' minimum and maximum are its two ends.
    title : str, optional

    Returns
    -------
    Path
        ``out``.

    Examples
    --------
    >>> labels = np.zeros((32, 64, 64), np.uint32); labels[8:16, 8:24, 8:24] = 1; labels[16:24, 32:56, 32:56] = 2
    >>> render_feature(labels, {1: 0.5, 2: 2.0}, spacing=(10, 5, 5), out="cubes.png", name="volume_um3")
    PosixPath('cubes.png')
    """
    out = check_figure_path(out)
    colours = FeatureColours.of(values, name=name, cmap=cmap)
    labels = da.asarray(labels)
    nz, ny = labels.shape[:2]
    z_um, y_um, x_um = (n * s / 1000 for n, s in zip(labels.shape, spacing))
    along_z, along_y, per_z, per_y, without_value = _projections(labels, colours)
    z, y = int(np.argmax(per_z)), int(np.argmax(per_y))
    figure, axes, colour_bar_axes = _layout(y_um / x_um, z_um / x_um)
    xy, xz = (x_um, y_um), (x_um, z_um)
    _show(axes[0, 0], _slice_picture(labels[z], None if image is None else image[z], colours), xy,
          f"XY slice at z = {z * spacing[0] / 1000:.2f} µm")
    _show(axes[0, 1], _projection_picture(*along_z, colours), xy, f"maximum along Z ({nz} planes)")
    _show(axes[1, 0], _slice_picture(labels[:, y], None if image is None else image[:, y], colours), xz,
          f"XZ slice at y = {y * spacing[1] / 1000:.2f} µm")
    _show(axes[1, 1], _projection_picture(*along_y, colours), xz, f"maximum along Y ({ny} rows)")
    figure.colorbar(ScalarMappable(colours.norm, colours.cmap), cax=colour_bar_axes, label=name)
    if without_value:
        figure.legend(handles=[Patch(color=NO_VALUE_RGBA, label="no value")], loc="outside lower right", frameon=False)
    if title:
        figure.suptitle(title)
    return save_png(figure, out)


def _projections(labels: da.Array, colours: FeatureColours):
    """``(maximum, any object)`` along Z and along Y, the object voxels per Z plane and per
    Y row, and whether any object voxel has no value, reduced in one pass over ``labels``.
    A maximum is -inf where no object on the ray has a value."""
    values = labels.map_blocks(colours.value_image, dtype=np.float32)
    objects = labels != 0
    valued = da.where(da.isnan(values), -np.inf, values)
    along_z, any_z, along_y, any_y, per_z, per_y, without_value = dask.compute(
        valued.max(axis=0), objects.any(axis=0), valued.max(axis=1), objects.any(axis=1),
        objects.sum(axis=(1, 2)), objects.sum(axis=(0, 2)), (objects & da.isnan(values)).any())
    return (along_z, any_z), (along_y, any_y), per_z, per_y, bool(without_value)


def _slice_picture(labels, image, colours: FeatureColours) -> np.ndarray:
    """RGB (rows, columns, 3): the objects' colours blended over the grey ``image``, each
    object outlined in black (so that one without a value stands out from the grey too)."""
    labels = np.asarray(labels)
    grey = np.full(labels.shape, BACKGROUND_GREY) if image is None else stretched_grey(np.asarray(image))
    rgb = np.repeat(grey[..., None], 3, axis=-1)
    objects = labels != 0
    rgb[objects] = (1 - OVERLAY_OPACITY) * rgb[objects] + OVERLAY_OPACITY * colours.label_rgba(labels)[objects, :3]
    rgb[find_boundaries(labels, mode="inner") & objects] = 0.0
    return rgb


def stretched_grey(grey: np.ndarray) -> np.ndarray:
    """``grey`` mapped to [0, 1] between its 0.5th and 99.5th percentiles."""
    low, high = np.percentile(grey, (0.5, 99.5))
    return np.clip((grey.astype(np.float64) - low) / max(high - low, 1e-6), 0, 1)


def _projection_picture(maximum: np.ndarray, any_object: np.ndarray, colours: FeatureColours) -> np.ndarray:
    """RGB: the colour of the largest value along each ray, grey where the ray meets only
    objects without a value, the background grey where it meets none."""
    rgb = colours.rgba(np.where(np.isfinite(maximum), maximum, np.nan))[..., :3]
    rgb[~any_object] = BACKGROUND_GREY
    return rgb


def _layout(y_over_x: float, z_over_x: float):
    """A figure with 2 × 2 panels (rows XY and XZ, as tall as their extents; no taller than
    12 inches, narrower panels where the volume is deep) and a colour bar."""
    panel_width = (FIGURE_WIDTH_IN - 1.6) / 2
    heights = [panel_width * y_over_x, panel_width * z_over_x]
    figure = plt.figure(figsize=(FIGURE_WIDTH_IN, min(sum(heights), 12.0) + 1.2), layout="constrained")
    grid = figure.add_gridspec(2, 3, height_ratios=heights, width_ratios=[1, 1, 0.05])
    axes = np.array([[figure.add_subplot(grid[row, column]) for column in range(2)] for row in range(2)])
    return figure, axes, figure.add_subplot(grid[:, 2])


def _show(axis, picture: np.ndarray, size_um: tuple[float, float], title: str) -> None:
    """Draw ``picture`` (RGB) ``size_um`` (width, height) in µm wide and tall, with a scale bar."""
    width, height = size_um
    axis.imshow(picture, extent=(0, width, height, 0), interpolation="nearest")
    axis.set_title(title, fontsize=9)
    axis.set_axis_off()
    bar = _round_length(width / 5)
    margin = 0.04 * width
    thickness = 0.012 * width
    axis.add_patch(Rectangle((width - margin - bar, height - margin - thickness), bar, thickness,
                             facecolor="white", edgecolor="black", linewidth=0.5))
    axis.text(width - margin - bar / 2, height - margin - 1.5 * thickness, _length_text(bar), color="white",
              ha="center", va="bottom", fontsize=8, fontweight="bold",
              path_effects=[withStroke(linewidth=2, foreground="black")])  # legible on light and dark


def _round_length(length_um: float) -> float:
    """The largest of 1, 2, 5 × 10^k µm not above ``length_um``."""
    power = 10 ** np.floor(np.log10(length_um))
    return float(next(step * power for step in (5, 2, 1) if step * power <= length_um))


def _length_text(length_um: float) -> str:
    return f"{length_um:g} µm" if length_um >= 1 else f"{length_um * 1000:g} nm"


def save_png(figure, path: Path) -> Path:
    """Write ``figure`` as the PNG ``path`` through a temporary file beside it (never half
    a figure), then close it."""
    temporary = path.with_name(f".{path.name}.partial")
    try:
        figure.savefig(temporary, dpi=DPI, format="png")
        os.replace(temporary, path)
    finally:
        plt.close(figure)
        temporary.unlink(missing_ok=True)
    return path
