"""Measurements of segmented objects: tables of size, shape, position and intensity in µm.

`object_table` makes one row per object of a label image (numpy or dask, in bounded
memory); `object_parents` says which cell each lies in and whether in the nucleus;
`compartment_table` gives each class's share of the cell and of the cytoplasm;
`membrane_distances` each object's exact distances to the nuclear envelope and the
plasma membrane;
`nearest_objects` each object's nearest neighbour of another class (or its own) and how
many lie within a radius; `measure_labels` and `measure_distances` do it for a store's
label image into ``tables/<name>``. `mask_mesh` and `taubin_smooth` make smooth meshes.
docs/measure.md defines every column.
"""

from vemprof.measure._compartments import compartment_table, object_parents
from vemprof.measure._distances import membrane_distances
from vemprof.measure._mesh import mask_mesh, taubin_smooth, triangle_areas
from vemprof.measure._neighbours import nearest_objects
from vemprof.measure._shape import object_table
from vemprof.measure._store import measure_distances, measure_labels

__all__ = [
    "compartment_table",
    "mask_mesh",
    "measure_distances",
    "measure_labels",
    "membrane_distances",
    "nearest_objects",
    "object_parents",
    "object_table",
    "taubin_smooth",
    "triangle_areas",
]
