"""Path helpers shared by the readers: display names and natural sort order."""

from __future__ import annotations

import re
from pathlib import Path

_CONTAINER_SUFFIXES = (".ome.zarr", ".ome.tiff", ".ome.tif", ".ome.btf", ".nii.gz", ".zarr", ".n5")


def stem(path: str | Path) -> str:
    """The file or folder name without its format suffix(es): ``cell.ome.zarr`` → ``cell``."""
    name = Path(path).name
    for suffix in _CONTAINER_SUFFIXES:
        if name.lower().endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name


def natural_key(path: Path) -> list:
    """Sort key putting ``slice_2`` before ``slice_10`` (digit runs compare as numbers)."""
    return [int(part) if part.isdigit() else part.casefold() for part in re.split(r"(\d+)", path.as_posix())]
