"""Render a store's label image coloured by a column of its table: the library call behind `vemprof render`."""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vemprof.errors import VemprofError
from vemprof.render._colours import colour_map
from vemprof.render._figure import check_figure_path, render_feature
from vemprof.render._mesh import check_mesh_path, feature_mesh, write_mesh
from vemprof.store import Store, check_output_file

#: The finest pyramid level with at most this many voxels is rendered (512³; about
#: 0.5 GiB of uint32 ids), so a volume of any size renders in bounded memory.
RENDER_VOXELS = 2 ** 27


@dataclass(frozen=True)
class Rendering:
    """What `render_labels` wrote, and from which pyramid level (0 = full resolution)."""

    figure: Path
    mesh: Path | None
    level: int
    spacing: tuple[float, float, float]
    objects: int


def render_labels(store: Store, labels: str, *, color_by: str, out: str | Path, mesh: str | Path | None = None,
                  cmap: str = "viridis") -> Rendering:
    """Colour each object of ``labels/<labels>`` by the column ``color_by`` of ``tables/<labels>``:
    a PNG of slices and maximum projections (`render_feature`, over the raw image) at
    ``out``, and with ``mesh``, the objects' surfaces (`feature_mesh`) as .ply, .glb or .gltf.

    Volumes over `RENDER_VOXELS` are rendered from the finest pyramid level within it.
    Every input is checked before anything is read: a one-line error names a missing
    table, column or label image, a column without numbers, an unknown colour map, or a
    wrong suffix."""
    out = check_output_file(check_figure_path(out))
    mesh = None if mesh is None else check_output_file(check_mesh_path(mesh))
    colour_map(cmap)
    store.labels(labels)  # a one-line error naming the store's label images where there is no such one
    values = feature_values(_table(store, labels), color_by, table_name=labels)
    level = _render_level(store.pyramid(f"labels/{labels}"))
    volume = store.labels(labels, level=level)
    spacing = volume.require_spacing()
    title = f"labels/{labels} coloured by {color_by}"
    render_feature(volume.data, values, spacing=spacing, out=out, image=_raw_like(store, volume.shape),
                   name=color_by, cmap=cmap, title=title)
    if mesh is not None:
        write_mesh(feature_mesh(volume.data, values, spacing=spacing, name=color_by, cmap=cmap), mesh)
    return Rendering(figure=out, mesh=mesh, level=level, spacing=spacing, objects=len(values))


def feature_values(table: pd.DataFrame, column: str, *, table_name: str = "") -> pd.Series:
    """The numbers of ``column`` of an object table, indexed by ``label``; a one-line error
    where the table has no such column, it holds no numbers, or none is finite."""
    where = f"tables/{table_name}" if table_name else "the table"
    numeric = [name for name in table.columns if name != "label" and pd.api.types.is_numeric_dtype(table[name])]
    if column not in table.columns:
        raise VemprofError(f"{where} has no column '{column}'; colour by one of its numeric columns: "
                           f"{', '.join(numeric) or 'none'}")
    if "label" not in table.columns:
        raise VemprofError(f"{where} has no 'label' column, so its rows are not objects of a label image; "
                           "colour by a table that 'vemprof measure' wrote")
    if not pd.api.types.is_numeric_dtype(table[column]):
        raise VemprofError(f"column '{column}' of {where} holds {table[column].dtype} values, not numbers; colour by "
                           f"one of its numeric columns: {', '.join(numeric) or 'none'}")
    values = pd.Series(table[column].to_numpy(float), index=table["label"].to_numpy(), name=column)
    if not values.map(math.isfinite).any():
        raise VemprofError(f"column '{column}' of {where} has no finite value (all NaN); colour by another of "
                           f"its numeric columns: {', '.join(numeric)}")
    return values


def _table(store: Store, labels: str) -> pd.DataFrame:
    if labels not in store.table_names:
        raise VemprofError(f"no table tables/{labels} in {store.path}; measure the objects first: "
                           f"vemprof measure {store.path} --labels {labels}")
    return store.read_table(labels)


def _render_level(pyramid: list[tuple[tuple[int, ...], tuple[float, ...]]]) -> int:
    """The finest level of ``pyramid`` ((shape, spacing) per level) within `RENDER_VOXELS`,
    else the coarsest."""
    within = [level for level, (shape, _) in enumerate(pyramid) if math.prod(shape) <= RENDER_VOXELS]
    return within[0] if within else len(pyramid) - 1


def _raw_like(store: Store, shape: tuple[int, ...]):
    """The raw image's pyramid level of ``shape`` (lazy), or None where the store has none."""
    if not store.has_raw:
        return None
    levels = [level for level, (level_shape, _) in enumerate(store.pyramid()) if level_shape == tuple(shape)]
    return store.raw(level=levels[0]).data if levels else None
