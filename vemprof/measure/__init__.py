"""Measurements of segmented objects: tables of size, shape, position and intensity in µm.

`object_table` makes one row per object of a label image (numpy or dask, in bounded
memory); `measure_labels` does it for a store's label image into ``tables/<name>``.
docs/measure.md defines every column.
"""

from vemprof.measure._shape import object_table
from vemprof.measure._store import measure_labels

__all__ = ["measure_labels", "object_table"]
