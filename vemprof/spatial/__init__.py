"""Spatial statistics and tests on object tables: correlation of two columns, a column
compared between groups (docs/measure.md#statistics)."""

from vemprof.spatial._stats import compare, correlate, hedges_g

__all__ = ["compare", "correlate", "hedges_g"]
