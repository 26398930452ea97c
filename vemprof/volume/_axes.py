"""From a file's axes (t, c, z, y, x in any order) to the (Z, Y, X) volume vemprof uses."""

from __future__ import annotations

import dask.array as da

from vemprof.errors import VemprofError

_KINDS = {"t": "time points", "c": "channels"}


def to_zyx(data: da.Array, axes: str, *, channel: int | None, source: str) -> da.Array:
    """Select one channel, drop length-1 axes and order the spatial axes Z, Y, X.

    Parameters
    ----------
    data : dask.array.Array
        The dataset in the file's axis order.
    axes : str
        One lower-case letter per axis of ``data``: ``z``, ``y``, ``x`` are spatial,
        ``c`` is the channel axis, any other letter (``t``…) a non-spatial axis.
    channel : int or None
        Channel to keep where the ``c`` axis has more than one entry.
    source : str
        Where the data came from, for messages.

    Returns
    -------
    dask.array.Array
        Shape (Z, Y, X), still lazy.

    Raises
    ------
    VemprofError
        For a missing spatial axis (a 2D image), several channels and no ``channel``,
        an out-of-range ``channel``, or a non-spatial axis longer than 1.
    """
    if channel is not None and "c" not in axes:
        raise VemprofError(f"{source} has no channel axis (axes {axes}, shape {data.shape}); leave channel out")
    missing = [a for a in "zyx" if a not in axes]
    if missing:
        others = [a for a, n in zip(axes, data.shape) if a not in "zyx" and n > 1]
        hint = (f"if its {others[0]} axis is really Z, re-save it as a Z stack" if missing == ["z"] and others
                else "give a Z,Y,X volume, e.g. a multi-page TIFF or a folder of slices")
        raise VemprofError(f"{source} is not a 3D stack: it has no {'/'.join(missing).upper()} axis "
                           f"(axes {axes}, shape {data.shape}); {hint}")
    index: list[int | slice] = []
    for letter, size in zip(axes, data.shape):
        if letter in "zyx":
            index.append(slice(None))
        elif letter == "c" and channel is not None:
            if not 0 <= channel < size:
                raise VemprofError(f"channel {channel} is out of range: {source} has {size} channels; "
                                   f"give --channel 0…{size - 1}")
            index.append(channel)
        elif size == 1:
            index.append(0)
        elif letter == "c":
            raise VemprofError(f"{source} has {size} channels; pick one with --channel 0…{size - 1}")
        else:
            kind = _KINDS.get(letter, f"entries along axis {letter!r}")
            raise VemprofError(f"{source} has {size} {kind} (axes {axes}, shape {data.shape}); vemprof reads "
                               "one 3D (Z,Y,X) stack: export a single one")
    if any(not isinstance(i, slice) for i in index):
        data = data[tuple(index)]
    kept = [a for a in axes if a in "zyx"]
    order = [kept.index(a) for a in "zyx"]
    return data if order == [0, 1, 2] else data.transpose(order)


def default_axes(shape: tuple[int, ...], *, source: str) -> str:
    """``"zyx"`` for a 3D dataset that does not name its axes; a clear error otherwise."""
    if len(shape) == 3:
        return "zyx"
    if len(shape) < 3:
        raise VemprofError(f"{source} is {len(shape)}D (shape {shape}), not a 3D stack; "
                           "give a Z,Y,X volume, e.g. a multi-page TIFF or a folder of slices")
    raise VemprofError(f"{source} is {len(shape)}D (shape {shape}) and does not name its axes; "
                       "export a single-channel 3D (Z,Y,X) dataset")
