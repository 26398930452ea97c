"""Spatial statistics and tests on object tables: how crowded each point is (k nearest
neighbours, kernel density), correlation of two columns, a column compared between
groups (docs/measure.md#statistics)."""

from vemprof.spatial._points import point_scores
from vemprof.spatial._stats import compare, correlate, hedges_g

__all__ = ["compare", "correlate", "hedges_g", "point_scores"]
