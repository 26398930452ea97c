"""A montage PNG (``vemprof preview``) of a store's raw image with its labels overlaid."""

from __future__ import annotations

from pathlib import Path

from vemprof.store import Store, check_output_file
from vemprof.synth import phantom_montage

PREVIEW_PIXELS = 1024


def write_preview(path: Path, *, out: Path | None = None, label_names: list[str] | None = None, prefix: str = "",
                  overlaid: str = "ground truth") -> Path:
    """Render the montage from the coarsest pyramid level that keeps ≥ 1024 pixels across,
    reading only the slices shown; label images named with ``prefix`` (e.g. ``found_cell``)
    are drawn as their kind (``cell``), and ``overlaid`` says what they are."""
    store = Store.open(path)
    out = check_output_file(out or path.with_suffix(".png"))
    level = _preview_level(store)
    raw = store.raw(level=level)
    names = label_names if label_names is not None else store.label_names
    labels = {name.removeprefix(prefix): store.labels(name, level=level).data for name in names}
    phantom_montage(raw.data, labels, spacing=raw.spacing, path=out, overlaid=overlaid)
    return out


def _preview_level(store: Store) -> int:
    pyramid = store.pyramid()
    for level in reversed(range(len(pyramid))):
        shape, _ = pyramid[level]
        if max(shape[1:]) >= min(PREVIEW_PIXELS, max(pyramid[0][0][1:])):
            return level
    return 0
