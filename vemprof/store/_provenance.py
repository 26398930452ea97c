"""Provenance: what made each output of a dataset store.

``provenance.json`` at the store root lists the steps in the order they ran, each with
its outputs, parameters, the package versions and a fingerprint of every input file.

What a fingerprint notices (`fingerprint`):

* a file: its size, modification time and 16 samples of 64 KiB spread over its content
  (all of it up to 1 MiB), so a 100 GB stack is fingerprinted in well under a second;
* a folder (OME-Zarr, N5, a folder of TIFF slices): every file's relative path, size and
  modification time (one ``stat`` per file), the whole content of its metadata files
  (``zarr.json``, ``.zarray``, ``attributes.json``… up to 64 KiB), and 4 samples of 4 KiB
  from each of up to `MAX_SAMPLED_FILES` files spread evenly over the listing — every
  file in a folder of slices, a spread of chunk files in a large store. A folder of
  100 000 chunk files is fingerprinted in about a second.

So any edit, truncation, replacement, addition, removal or renaming changes it, because
each changes a size, a name or a modification time; a copy that keeps modification
times (``cp -p``, `shutil.copytree`) keeps it. A rewrite that also restores the old
modification time is noticed where its content differs at a sampled place: in a single
file or any file of a folder of up to `MAX_SAMPLED_FILES` files, not in the unsampled
chunk files of a larger one.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import platform
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from vemprof.errors import VemprofError

PROVENANCE_FILE = "provenance.json"
SAMPLES_PER_FILE = 16
SAMPLE_BYTES = 64 * 1024
METADATA_BYTES = 64 * 1024
METADATA_NAMES = (".zarray", ".zattrs", ".zgroup", ".zmetadata")
METADATA_SUFFIXES = (".json", ".xml", ".txt", ".yaml", ".yml")
MAX_SAMPLED_FILES = 4096
SAMPLES_PER_MEMBER = 4
MEMBER_SAMPLE_BYTES = 4 * 1024
RECORDED_PACKAGES = (
    "vemprof", "numpy", "scipy", "scikit-image", "dask", "zarr", "tifffile", "mrcfile", "h5py",
    "tensorstore", "pandas", "pyarrow",
)


def fingerprint(path: str | os.PathLike) -> str:
    """``sha256:<hex>`` of a file's or a folder's size, modification times and sampled content.

    See the module's description for what it notices; a folder's fingerprint costs one
    ``stat`` per file and at most `MAX_SAMPLED_FILES` small reads.
    """
    path = _stored_path(path)
    digest = hashlib.sha256()
    if path.is_dir():
        _hash_folder(path, digest)
    else:
        status = path.stat()
        digest.update(f"{status.st_size}\0{status.st_mtime_ns}\0".encode())
        _hash_samples(path, status.st_size, digest, samples=SAMPLES_PER_FILE, sample_bytes=SAMPLE_BYTES)
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


def _hash_folder(folder: Path, digest) -> None:
    """Every file's name, size and mtime; metadata in full; content samples of a spread of the others."""
    files = sorted(_walk(folder, ""))
    data = [name for name, status in files if not _is_metadata(name, status.st_size)]
    sampled = {data[i] for i in _spread(len(data), MAX_SAMPLED_FILES)}
    for name, status in files:
        digest.update(f"{name}\0{status.st_size}\0{status.st_mtime_ns}\0".encode())
        if name in sampled:
            _hash_samples(folder / name, status.st_size, digest, samples=SAMPLES_PER_MEMBER,
                          sample_bytes=MEMBER_SAMPLE_BYTES)
        elif _is_metadata(name, status.st_size):
            _hash_samples(folder / name, status.st_size, digest, samples=1, sample_bytes=METADATA_BYTES)


def _walk(folder: Path, prefix: str):
    """(relative path, stat) of every file under ``folder``; one ``stat`` per file."""
    with os.scandir(folder) as entries:
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):  # no cycles through links
                yield from _walk(Path(entry.path), f"{prefix}{entry.name}/")
            elif entry.is_file():
                yield f"{prefix}{entry.name}", entry.stat()


def _spread(count: int, most: int) -> set[int]:
    """Indices of up to ``most`` of ``count`` items, evenly spread (all of them when few)."""
    if count <= most:
        return set(range(count))
    return {i * (count - 1) // (most - 1) for i in range(most)}


def _is_metadata(name: str, size: int) -> bool:
    base = name.rsplit("/", 1)[-1]
    return size <= METADATA_BYTES and (base in METADATA_NAMES or base.lower().endswith(METADATA_SUFFIXES))


def _hash_samples(path: Path, size: int, digest, *, samples: int, sample_bytes: int) -> None:
    """All of a file up to ``samples × sample_bytes``, else that many samples spread from start to end."""
    with open(path, "rb") as handle:
        if size <= samples * sample_bytes:
            digest.update(handle.read())
            return
        last = size - sample_bytes
        for i in range(samples):
            handle.seek(i * last // (samples - 1))
            digest.update(handle.read(sample_bytes))


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
    try:
        steps = json.loads(path.read_text())["steps"]
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise VemprofError(f"{path} is unreadable or damaged ({type(error).__name__}: {error}); restore it from a "
                           "backup, or import the dataset again into a new store") from None
    if not isinstance(steps, list) or not all(isinstance(step, dict) and "step" in step for step in steps):
        raise VemprofError(f"{path} does not list steps as vemprof writes them; restore it from a backup, "
                           "or import the dataset again into a new store")
    return steps


def append_provenance(store_path: Path, record: dict) -> None:
    """Add a step to the store's provenance, atomically."""
    steps = read_provenance(store_path) + [record]
    write_json_atomic(store_path / PROVENANCE_FILE, {"steps": steps})


def write_json_atomic(path: Path, content: dict) -> None:
    """Write JSON to ``path`` so that readers see the old or the new file, never half."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_text(json.dumps(content, indent=2) + "\n")
    os.replace(temporary, path)
