"""Measurements of segmented objects: tables of size, shape, position and intensity in µm.

`object_table` makes one row per object of a label image (numpy or dask, in bounded
memory); `object_parents` says which cell each lies in and whether in the nucleus;
`compartment_table` gives each class's share of the cell and of the cytoplasm;
`measure_labels` does it for a store's label image into ``tables/<name>``.
docs/measure.md defines every column.
"""

from vemprof.measure._compartments import compartment_table, object_parents
from vemprof.measure._shape import object_table
from vemprof.measure._store import measure_labels

__all__ = ["compartment_table", "measure_labels", "object_parents", "object_table"]
