"""Measurements of segmented objects: tables of size, shape, position and intensity in µm.

`object_table` makes one row per object of a label image (numpy or dask, in bounded
memory); `object_parents` says which cell each lies in and whether in the nucleus;
`compartment_table` gives each class's share of the cell and of the cytoplasm;
`membrane_distances` each object's exact distances to the nuclear envelope and the
plasma membrane;
`measure_labels` does it for a store's label image into ``tables/<name>``.
docs/measure.md defines every column.
"""

from vemprof.measure._compartments import compartment_table, object_parents
from vemprof.measure._distances import membrane_distances
from vemprof.measure._shape import object_table
from vemprof.measure._store import measure_labels

__all__ = ["compartment_table", "measure_labels", "membrane_distances", "object_parents", "object_table"]
