"""Spatial statistics and tests on object tables: how crowded each point is (k nearest
neighbours, kernel density), correlation of two columns, a column compared between
groups (docs/measure.md#statistics); a nucleus split into sections at its invagination
and objects assigned to them (docs/measure.md#nucleus-sections)."""

from vemprof.spatial._points import point_scores
from vemprof.spatial._section_store import assign_sections, envelope_mesh, split_nucleus
from vemprof.spatial._sections import (
    SectionSplit,
    nearest_sections,
    section_of_points,
    split_at_invagination,
    split_by_plane,
)
from vemprof.spatial._stats import compare, correlate, hedges_g

__all__ = [
    "SectionSplit",
    "assign_sections",
    "compare",
    "correlate",
    "envelope_mesh",
    "hedges_g",
    "nearest_sections",
    "point_scores",
    "section_of_points",
    "split_at_invagination",
    "split_by_plane",
    "split_nucleus",
]
