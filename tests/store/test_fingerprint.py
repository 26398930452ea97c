"""Fingerprints of input folders: an edited slice is never 'up to date'."""

import os
import shutil
import time

import numpy as np
import pytest
import tifffile

from vemprof.store import _provenance, fingerprint

AN_HOUR_AGO_NS = time.time_ns() - 3600 * 10**9


def em_slice(seed: int) -> np.ndarray:
    """A 256 × 512 uint8 noisy plane: 128 KiB of pixels, more than any 'small file'."""
    return np.random.default_rng(seed).integers(0, 256, (256, 512), dtype=np.uint8)


@pytest.fixture
def slices(tmp_path):
    """A folder of 5 TIFF slices, last modified an hour ago."""
    folder = tmp_path / "slices"
    folder.mkdir()
    for z in range(5):
        tifffile.imwrite(folder / f"slice_{z}.tif", em_slice(z))
        os.utime(folder / f"slice_{z}.tif", ns=(AN_HOUR_AGO_NS, AN_HOUR_AGO_NS))
    return folder


def rewrite(path, data, *, keep_mtime: bool) -> None:
    """Write ``data`` over the TIFF at ``path`` (same size), optionally restoring its modification time."""
    before = path.stat()
    tifffile.imwrite(path, data)
    assert path.stat().st_size == before.st_size
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def test_a_slice_rewritten_at_the_same_size_changes_the_fingerprint(slices):
    before = fingerprint(slices)
    rewrite(slices / "slice_3.tif", em_slice(99), keep_mtime=False)
    assert fingerprint(slices) != before


def test_a_rewrite_that_restores_the_modification_time_changes_it_too(slices):
    """The content of every slice is sampled, not only its size and time."""
    before = fingerprint(slices)
    rewrite(slices / "slice_3.tif", em_slice(99), keep_mtime=True)
    assert fingerprint(slices) != before


def test_touching_a_slice_changes_the_fingerprint(slices):
    """A new modification time counts as an edit, even with the same bytes."""
    before = fingerprint(slices)
    os.utime(slices / "slice_0.tif")
    assert fingerprint(slices) != before


def test_a_faithful_copy_keeps_the_fingerprint(slices, tmp_path):
    shutil.copytree(slices, tmp_path / "copy")  # copies keep the modification times
    assert fingerprint(tmp_path / "copy") == fingerprint(slices)


def test_renaming_or_removing_a_slice_changes_the_fingerprint(slices):
    before = fingerprint(slices)
    (slices / "slice_4.tif").rename(slices / "slice_5.tif")
    renamed = fingerprint(slices)
    (slices / "slice_5.tif").unlink()
    assert len({before, renamed, fingerprint(slices)}) == 3


def test_a_large_folder_samples_the_content_of_a_bounded_number_of_files(tmp_path, monkeypatch):
    """An OME-Zarr with many chunk files: every file's size and time, a spread of contents."""
    monkeypatch.setattr(_provenance, "MAX_SAMPLED_FILES", 8)
    chunks = tmp_path / "image.zarr/s0/c/0"
    chunks.mkdir(parents=True)
    (tmp_path / "image.zarr/zarr.json").write_text('{"zarr_format": 3, "node_type": "group"}')
    for i in range(100):
        (chunks / str(i)).write_bytes(bytes([i]) * 100)
    opened = []
    real_open = open
    monkeypatch.setattr(_provenance, "open", lambda path, *a, **k: opened.append(path) or real_open(path, *a, **k),
                        raising=False)
    fingerprint(tmp_path / "image.zarr")
    assert len(opened) == 8 + 1  # 8 chunk files and the metadata
