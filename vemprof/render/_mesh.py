"""The surfaces of a label image's objects as one triangle mesh, each object in its value's colour.

Marching cubes of all objects in one pass (``zmesh``), smoothed like the surfaces that
`vemprof measure` takes its areas from, and written as PLY, glTF or GLB with a colour per
vertex, which Blender, MeshLab, ParaView and web viewers show as they are. Vertices are
in µm in X, Y, Z order (the order viewers expect) from the first voxel's centre; the
faces wind anticlockwise seen from outside, so normals point out of the objects.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import trimesh

from vemprof.errors import VemprofError
from vemprof.measure import taubin_smooth
from vemprof.render._colours import FeatureColours

#: Mesh formats by file suffix, as trimesh names them.
MESH_FORMATS = {".ply": "ply", ".glb": "glb", ".gltf": "gltf"}


def check_mesh_path(path: str | os.PathLike) -> Path:
    """``path`` as a `Path`, or a one-line error unless it ends in .ply, .glb or .gltf."""
    path = Path(path)
    if path.suffix.lower() not in MESH_FORMATS:
        raise VemprofError(f"the mesh {path} must end in .ply, .glb or .gltf (e.g. {path.with_suffix('.glb').name})")
    return path


def feature_mesh(
    labels,
    values: Mapping | pd.Series,
    *,
    spacing: Sequence[float],
    name: str = "value",
    cmap: str = "viridis",
    smooth: bool = True,
) -> trimesh.Trimesh:
    """The closed surfaces of the objects of ``labels``, each vertex in its object's colour.

    Parameters
    ----------
    labels : array-like (Z, Y, X) of unsigned integers
        Object ids, 0 the background; read whole (give a coarser pyramid level of a
        large volume).
    values : mapping of label id to number, or pd.Series indexed by label id
        Each object's value; objects without one (or NaN) are grey.
    spacing : sequence of 3 floats
        Voxel size, nm (Z, Y, X).
    name : str
        What the values are (for messages).
    cmap : str
        A matplotlib colour map; the values' minimum and maximum are its two ends.
    smooth : bool
        Take the voxel staircase off with Taubin's filter (as `vemprof measure` does).

    Returns
    -------
    trimesh.Trimesh
        Vertices (n, 3) in µm, X, Y, Z; faces (m, 3); ``visual.vertex_colors`` (n, 4) uint8.
        An object touching a face of the volume is closed there.

    Examples
    --------
    >>> labels = np.zeros((32, 64, 64), np.uint32); labels[8:16, 8:24, 8:24] = 1
    >>> feature_mesh(labels, {1: 0.5}, spacing=(10, 5, 5)).is_watertight
    True
    """
    import zmesh

    colours = FeatureColours.of(values, name=name, cmap=cmap)
    spacing = np.asarray(spacing, np.float64)
    mesher = zmesh.Mesher(tuple(spacing))
    # one voxel of background all round closes the objects at the volume's faces (zmesh's
    # own close=True shifts the vertices by a voxel)
    mesher.mesh(np.pad(np.asarray(labels), 1), close=False)
    ids = np.array(sorted(mesher.ids()), np.uint64)
    parts = [mesher.get(int(label), normals=False, reduction_factor=0) for label in ids]
    if not parts:
        raise VemprofError("the label image holds no objects, so there is no surface to mesh")
    offsets = np.cumsum([0] + [len(part.vertices) for part in parts[:-1]])
    vertices_nm = np.concatenate([part.vertices for part in parts]).astype(np.float64) - spacing
    faces = np.concatenate([part.faces.astype(np.int64) + offset for part, offset in zip(parts, offsets)])
    if smooth:
        vertices_nm = taubin_smooth(vertices_nm, faces)
    object_rgba = colours.rgba(colours.value_image(ids))
    vertex_rgba = np.repeat(object_rgba, [len(part.vertices) for part in parts], axis=0)
    # Z, Y, X → X, Y, Z mirrors the shape; reversing each triangle turns its normal back outwards
    return trimesh.Trimesh(vertices=vertices_nm[:, ::-1] / 1000, faces=faces[:, ::-1],
                           vertex_colors=np.round(vertex_rgba * 255).astype(np.uint8), process=False)


def write_mesh(mesh: trimesh.Trimesh, path: str | os.PathLike) -> Path:
    """Write ``mesh`` as PLY (binary), GLB or glTF (one file, buffers embedded) by the
    suffix of ``path``, atomically: a reader finds the old file or the new, never half."""
    path = check_mesh_path(path)
    file_type = MESH_FORMATS[path.suffix.lower()]
    if file_type == "gltf":
        content = trimesh.exchange.gltf.export_gltf(mesh.scene(), embed_buffers=True)["model.gltf"]
    else:
        content = mesh.export(file_type=file_type)
    temporary = path.with_name(f".{path.name}.partial")
    try:
        temporary.write_bytes(content)
        os.replace(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)
    return path
