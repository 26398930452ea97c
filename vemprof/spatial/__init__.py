"""Spatial statistics and tests on object tables: how crowded each point is (k nearest
neighbours, kernel density), correlation of two columns, a column compared between
groups (docs/measure.md#statistics); points on a curved surface (density per µm², Ripley's
L against randomness on the same surface); a nucleus (or each of several) split into sections at its
invagination and objects assigned to them (docs/measure.md#nucleus-sections)."""

from vemprof.spatial._points import point_scores
from vemprof.spatial._points_store import score_points
from vemprof.spatial._section_store import assign_sections, envelope_mesh, split_nucleus
from vemprof.spatial._sections import (
    SectionSplit,
    nearest_sections,
    nucleus_of_section,
    section_of_points,
    split_at_invagination,
    split_by_plane,
    split_each_nucleus,
)
from vemprof.spatial._stats import COMPARISON_COLUMNS, compare, correlate, hedges_g
from vemprof.spatial._surface import region_densities, ripley_on_surface, sample_surface

__all__ = [
    "COMPARISON_COLUMNS",
    "SectionSplit",
    "assign_sections",
    "compare",
    "correlate",
    "envelope_mesh",
    "hedges_g",
    "nearest_sections",
    "nucleus_of_section",
    "point_scores",
    "region_densities",
    "ripley_on_surface",
    "sample_surface",
    "score_points",
    "section_of_points",
    "split_at_invagination",
    "split_by_plane",
    "split_each_nucleus",
    "split_nucleus",
]
