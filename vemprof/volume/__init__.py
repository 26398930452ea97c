"""Volumes: lazy ZYX arrays with a voxel size in nm, and readers for the field's formats."""

from vemprof.volume._labels import looks_like_labels
from vemprof.volume._open import open_volume
from vemprof.volume._volume import PartialSpacing, Spacing, Volume, validate_spacing

__all__ = ["PartialSpacing", "Spacing", "Volume", "looks_like_labels", "open_volume", "validate_spacing"]
