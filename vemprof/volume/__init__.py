"""Volumes: lazy ZYX arrays with a voxel size in nm, and readers for the field's formats."""

from vemprof.volume._volume import Spacing, Volume, validate_spacing

__all__ = ["Spacing", "Volume", "validate_spacing"]
