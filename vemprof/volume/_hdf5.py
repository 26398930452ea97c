"""HDF5 datasets (h5py), read chunk-wise (or plane-wise where the dataset is contiguous)."""

from __future__ import annotations

from functools import partial
from pathlib import Path

import h5py
import numpy as np

from vemprof.errors import VemprofError
from vemprof.volume._attrs import spacing_from_attrs
from vemprof.volume._axes import default_axes, to_zyx
from vemprof.volume._guard import file_stamp, guarded_array, require_chunks
from vemprof.volume._paths import stem
from vemprof.volume._volume import Volume

HDF5_SUFFIXES = (".h5", ".hdf5", ".hdf", ".he5")


def read_hdf5(path: Path, *, key: str | None, level: int, channel: int | None,
              allow_missing_chunks: bool = False) -> Volume:
    """Open one dataset of an HDF5 file lazily.

    Parameters
    ----------
    path : Path
        The HDF5 file.
    key : str or None
        Dataset path inside the file (``"/volumes/raw"``); None takes the file's only
        3D dataset.
    level : int
        Must be 0: vemprof reads no HDF5 pyramids.
    channel : int or None
        Must be None: an HDF5 dataset does not name a channel axis.
    allow_missing_chunks : bool, default False
        Read chunks that were never written as the dataset's fill value. Without it,
        reading over one raises `VemprofError` naming its region: HDF5 writes every
        chunk it is given (zeros too), so an unwritten chunk means an interrupted or
        partial export. Contiguous datasets cannot be checked.

    Returns
    -------
    Volume
        (Z, Y, X) data in the dataset's own order, one task per group of its chunks;
        spacing in nm from the dataset's or its groups' attributes (`spacing_from_attrs`,
        ``resolution`` in Z, Y, X order).
    """
    try:
        file = h5py.File(path, "r")
    except OSError as exc:
        raise VemprofError(f"{path} is not a readable HDF5 file ({exc}); "
                           "check that it is HDF5, or restore or re-export it") from None
    try:
        name = _dataset_name(file, key, path)
        dataset = file[name]
        source = f"{path}:/{name}"
        if level != 0:
            raise VemprofError(f"level {level} is out of range: {source} is a single dataset without a pyramid; "
                               "give --level 0")
        axes = default_axes(dataset.shape, source=source)
        _check_filters(dataset, source)
    except VemprofError:
        file.close()
        raise
    chain, node = [], dataset
    while True:
        chain.append(_attrs(node))
        if node.name == "/":
            break
        node = node.parent
    reader = _H5Dataset(str(path), name, allow_missing_chunks=allow_missing_chunks, file=file)
    data = guarded_array(partial(_H5Dataset, str(path), name, allow_missing_chunks=allow_missing_chunks),
                         shape=dataset.shape, dtype=dataset.dtype,
                         chunks=dataset.chunks or (1, *dataset.shape[1:]), axes=axes, source=source, reader=reader,
                         stamp=f"{file_stamp(path)}-{allow_missing_chunks}")
    return Volume(data=to_zyx(data, axes, channel=channel, source=source),
                  spacing=spacing_from_attrs(chain, xyz_resolution=False), name=stem(path), source=source)


def _dataset_name(file: h5py.File, key: str | None, path: Path) -> str:
    """The dataset to read: ``key`` if it names one, else the file's only 3D dataset."""
    found: dict[str, h5py.Dataset] = {}

    def collect(name: str, node: h5py.HLObject) -> None:  # returning a value would stop the visit
        if isinstance(node, h5py.Dataset):
            found[name] = node

    file.visititems(collect)
    listing = ", ".join(f"/{n} {'×'.join(map(str, d.shape))} {d.dtype}" for n, d in found.items()) or "none"
    if key is None:
        volumes = [n for n, d in found.items() if d.ndim == 3]
        if len(volumes) == 1:
            return volumes[0]
        raise VemprofError(f"{path} holds {len(volumes)} 3D datasets (datasets: {listing}); "
                           "give --key one of them (or path.h5:/key)")
    name = key.strip("/")
    if name not in found:
        raise VemprofError(f"no dataset {key!r} in {path} (datasets: {listing}); give --key one of those")
    return name


def _check_filters(dataset: h5py.Dataset, source: str) -> None:
    """Fail now, not at compute time, where a compression filter is not installed."""
    plist = dataset.id.get_create_plist()
    for index in range(plist.get_nfilters()):
        code, _, _, filter_name = plist.get_filter(index)
        if not h5py.h5z.filter_avail(code):
            raise VemprofError(f"{source} is compressed with HDF5 filter {code} "
                               f"({filter_name.decode(errors='replace') or 'unknown'}) that is not installed; "
                               "install it (pip install hdf5plugin) and try again")


def _attrs(node: h5py.HLObject) -> dict:
    """A node's attributes; ones h5py cannot decode are skipped (they carry no voxel size)."""
    values = {}
    for name in node.attrs:
        try:
            values[name] = node.attrs[name]
        except (OSError, TypeError, ValueError):
            continue
    return values


class _H5Dataset:
    """One dataset of an open HDF5 file, indexable by slices.

    Unless ``allow_missing_chunks``, each read of a chunked dataset first checks (one
    index lookup per chunk) that the chunks it covers were written.
    """

    def __init__(self, path: str, name: str, *, allow_missing_chunks: bool, file: h5py.File | None = None):
        self._file = file if file is not None else h5py.File(path, "r")
        self._dataset = self._file[name]
        self.allow_missing_chunks = allow_missing_chunks

    def __getitem__(self, key: tuple[slice, ...]) -> np.ndarray:
        dataset = self._dataset
        if dataset.chunks is not None and not self.allow_missing_chunks:
            require_chunks(key, shape=dataset.shape, grid=dataset.chunks, is_stored=self._is_stored,
                           fill_value=dataset.fillvalue)
        return dataset[key]

    def _is_stored(self, coords: tuple[int, ...]) -> bool:
        offset = tuple(c * size for c, size in zip(coords, self._dataset.chunks))
        return self._dataset.id.get_chunk_info_by_coord(offset).byte_offset is not None
