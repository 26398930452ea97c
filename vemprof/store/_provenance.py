"""Provenance: what made each output of a dataset store.

``provenance.json`` at the store root lists the steps in the order they ran, each with
its outputs, parameters, the package versions and a fingerprint of every input file.
A fingerprint hashes the size, modification time and sampled content of files (and the
listing of folders), so a 100 GB stack is fingerprinted in well under a second while an
edit (which changes the modification time), truncation or replacement of the input
changes it; a copy that keeps the modification time (``cp -p``) keeps it.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

PROVENANCE_FILE = "provenance.json"
SAMPLES_PER_FILE = 16
SAMPLE_BYTES = 64 * 1024
SMALL_FILE_BYTES = 64 * 1024
RECORDED_PACKAGES = (
    "vemprof", "numpy", "scipy", "scikit-image", "dask", "zarr", "tifffile", "mrcfile", "h5py",
    "tensorstore", "pandas", "pyarrow",
)


def fingerprint(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a file's size, mtime and sampled content, or of a folder's listing.

    For a folder (OME-Zarr, N5, a folder of TIFF slices) every file's relative path and
    size go in, and the full content of its small files (metadata, JSON).
    """
    path = _stored_path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        for root, dirs, files in os.walk(path):
            dirs.sort()
            for name in sorted(files):
                file = Path(root, name)
                size = file.stat().st_size
                digest.update(f"{file.relative_to(path).as_posix()}\0{size}\0".encode())
                if size <= SMALL_FILE_BYTES:
                    digest.update(file.read_bytes())
    else:
        _hash_file_samples(path, digest)
    return "sha256:" + digest.hexdigest()


def _stored_path(source: str | os.PathLike) -> Path:
    """The file or folder on disk behind a volume path: ``x.h5:/key`` → ``x.h5``,
    ``x.h5/volumes/raw`` → ``x.h5``, ``slices/*.tif`` → ``slices``."""
    path = Path(source)
    if not path.exists() and ":" in str(source):
        path = Path(str(source).rsplit(":", 1)[0])
    while not path.exists() and path != path.parent:
        path = path.parent
    return path


def _hash_file_samples(path: Path, digest) -> None:
    status = path.stat()
    digest.update(f"{status.st_size}\0{status.st_mtime_ns}\0".encode())
    with open(path, "rb") as handle:
        if status.st_size <= SAMPLES_PER_FILE * SAMPLE_BYTES:
            digest.update(handle.read())
            return
        last = status.st_size - SAMPLE_BYTES
        for i in range(SAMPLES_PER_FILE):
            handle.seek(i * last // (SAMPLES_PER_FILE - 1))
            digest.update(handle.read(SAMPLE_BYTES))


def package_versions() -> dict[str, str]:
    """Versions of Python and of the packages that shape vemprof's results."""
    versions = {"python": platform.python_version()}
    for package in RECORDED_PACKAGES:
        try:
            versions[package] = version(package)
        except PackageNotFoundError:
            continue
    return versions


def step_record(
    step: str, *, outputs: list[str], parameters: dict, inputs: list[str | os.PathLike] = (),
    started: dt.datetime | None = None,
) -> dict:
    """One provenance entry, stamped now."""
    now = dt.datetime.now(dt.timezone.utc)
    return {
        "step": step,
        "outputs": list(outputs),
        "parameters": parameters,
        "inputs": [{"path": str(Path(p).absolute()), "fingerprint": fingerprint(p)} for p in inputs],
        "versions": package_versions(),
        "started": (started or now).isoformat(timespec="seconds"),
        "finished": now.isoformat(timespec="seconds"),
    }


def read_provenance(store_path: Path) -> list[dict]:
    """The steps recorded in a store, oldest first ([] for a new store)."""
    path = store_path / PROVENANCE_FILE
    if not path.exists():
        return []
    return json.loads(path.read_text())["steps"]


def append_provenance(store_path: Path, record: dict) -> None:
    """Add a step to the store's provenance, atomically."""
    steps = read_provenance(store_path) + [record]
    write_json_atomic(store_path / PROVENANCE_FILE, {"steps": steps})


def write_json_atomic(path: Path, content: dict) -> None:
    """Write JSON to ``path`` so that readers see the old or the new file, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(temporary, path)
