"""`PhantomField`: a field of phantom cells, made one tile (one cell) at a time.

A field of ``tz × ty × tx`` tiles is as large as the tiles together, yet never more than
one tile is in memory: each tile is a whole `make_phantom` volume placed at its offset,
with its ids shifted so that they are unique over the field and its tables moved into
the field's coordinates. A store writer (`vemprof.store.write_tiled_dataset`) writes the
tiles as they come, so a field far larger than memory can be made.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import numpy as np
import pandas as pd

from vemprof.errors import VemprofError
from vemprof.synth._parameters import PhantomParameters
from vemprof.synth._phantom import INSTANCES, Phantom, make_phantom

#: Instance labels that share another's ids: the pocket under pore k has pore k's label.
_SHARED_IDS = {"pockets": "pores"}
#: The largest id a uint32 instance label holds.
_MAX_ID = int(np.iinfo(np.uint32).max)
#: Position columns of the object tables, µm, and the axis each runs along.
_POSITION_COLUMNS = {"z_um": 0, "y_um": 1, "x_um": 2}
#: Summary entries that add up over tiles (volumes, counts); the others are per tile only.
_ADDITIVE_SUFFIXES = ("_um3", "_count", "_count_section1", "_count_section2")
_ADDITIVE_NAMES = ("mitochondria_branched", "nucleoli", "vesicles", "ribosomes", "sv_distance_n")


@dataclass(frozen=True, eq=False)
class FieldTile:
    """One tile of a `PhantomField`, already in the field's ids and coordinates.

    Attributes
    ----------
    index : int
        Position in the field's tile order (C order over Z, Y, X tiles).
    position : tuple of 3 ints
        Tile position (Z, Y, X) in the tile grid.
    offset : tuple of 3 ints
        Voxel offset (Z, Y, X) of the tile's first voxel in the field.
    phantom : Phantom
        The tile's phantom, labels and tables in field ids and coordinates (see
        `PhantomField`); its ``summary`` and ``parameters`` are the tile's own.
    carry : dict of str to int
        The largest id used so far in each id space (``mitochondria``, ``pores``,
        ``organelles``), this tile included: what the next tile's ids start after.
    """

    index: int
    position: tuple[int, int, int]
    offset: tuple[int, int, int]
    phantom: Phantom = field(repr=False)
    carry: dict[str, int]

    @property
    def image(self) -> np.ndarray:
        """The tile's EM image (Z, Y, X), one tile's shape."""
        return self.phantom.image

    @property
    def labels(self) -> dict[str, np.ndarray]:
        """The tile's label images (Z, Y, X) in field ids."""
        return self.phantom.labels

    @property
    def tables(self) -> dict[str, pd.DataFrame]:
        """The tile's object tables in field ids and coordinates, with a ``tiles`` table of
        one row (see `PhantomField`)."""
        return self.phantom.tables


@dataclass(frozen=True)
class PhantomField:
    """A field of ``tiles = (tz, ty, tx)`` phantom cells, each tile a whole `make_phantom`.

    Iterating over the field makes the tiles in order, one at a time; `tile` makes any
    one of them given the ``carry`` of the tile before it (so a writer that records each
    tile's carry can resume after an interruption).

    Rules
    -----
    Seeds
        Tile 0 uses ``params.seed``: it is exactly ``make_phantom(params)``. Tile ``i > 0``
        uses ``np.random.SeedSequence([params.seed, i]).generate_state(1)[0]``. Every other
        parameter is the same for all tiles; ``params.shape`` is one tile's shape.
    Ids
        Instance labels (``mitochondria``, ``pores``, ``pockets``, ``organelles``; uint32)
        are shifted by the largest id of the tiles before, so ids are unique over the
        field; ``pockets`` share ``pores``' ids (the pocket under pore k keeps label k).
        ``cell`` becomes an instance label too: the cell of tile ``i`` has id ``i + 1``
        (uint8 up to 255 tiles, else uint16 or uint32). The semantic masks keep their
        values: ``nucleus`` (1), ``nucleus_sections`` (1 = small section, 2 = large) and
        ``nuclear_envelope`` (1).
    Tables
        Each gets a ``tile`` column (the tile's index); ``label`` columns of the tables
        named after an id space get that space's shift; the centres ``z_um``, ``y_um``,
        ``x_um`` are shifted by the tile's origin (offset × spacing / 1000), and
        ``slice_shifts``' ``z`` by the tile's Z offset, so every table is in the field's
        coordinates. A ``tiles`` table has one row per tile: its index, ``seed``, voxel
        offset ``offset_z``/``offset_y``/``offset_x`` and its summary's numbers.

    Parameters
    ----------
    params : PhantomParameters
        Each tile's parameters (``shape`` is one tile's shape, voxels Z, Y, X).
    tiles : tuple of 3 ints
        Tile counts (Z, Y, X), each at least 1.

    Examples
    --------
    >>> from vemprof.synth import PhantomField, PhantomParameters
    >>> params = PhantomParameters(shape=(48, 112, 112), spacing=(40, 40, 40))
    >>> cells = PhantomField(params, tiles=(1, 1, 2))
    >>> cells.shape
    (48, 112, 224)
    >>> [tile.offset for tile in cells]
    [(0, 0, 0), (0, 0, 112)]
    """

    params: PhantomParameters
    tiles: tuple[int, int, int]

    def __post_init__(self) -> None:
        tiles = tuple(self.tiles)
        if len(tiles) != 3 or any(isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1
                                  for n in tiles):
            raise VemprofError(f"tiles must be three counts Z,Y,X of at least 1 (e.g. tiles=(1, 2, 2)), got {self.tiles}")
        object.__setattr__(self, "tiles", tuple(int(n) for n in tiles))

    @property
    def shape(self) -> tuple[int, int, int]:
        """The field's shape, voxels (Z, Y, X): the tile shape times the tile counts."""
        return tuple(n * t for n, t in zip(self.params.shape, self.tiles))

    @property
    def spacing(self) -> tuple[float, float, float]:
        """Voxel size, nm (Z, Y, X)."""
        return tuple(float(s) for s in self.params.spacing)

    @property
    def count(self) -> int:
        """Number of tiles."""
        return int(np.prod(self.tiles))

    def position(self, index: int) -> tuple[int, int, int]:
        """Tile ``index``'s position (Z, Y, X) in the tile grid."""
        if not 0 <= index < self.count:
            raise VemprofError(f"tile {index} is not in a field of {self.count} tiles; give 0…{self.count - 1}")
        return tuple(int(i) for i in np.unravel_index(index, self.tiles))

    def offset(self, index: int) -> tuple[int, int, int]:
        """Voxel offset (Z, Y, X) of tile ``index`` in the field."""
        return tuple(p * n for p, n in zip(self.position(index), self.params.shape))

    def seed(self, index: int) -> int:
        """The seed tile ``index`` is made with (see the rules above)."""
        if index == 0:
            return self.params.seed
        return int(np.random.SeedSequence([self.params.seed, index]).generate_state(1)[0])

    def tile(self, index: int, *, carry: dict[str, int] | None = None) -> FieldTile:
        """Make tile ``index``, its ids following ``carry`` (the previous tile's; None or
        empty for the first)."""
        offset = self.offset(index)
        phantom = make_phantom(self.params, seed=self.seed(index))
        shifts = {space: int((carry or {}).get(space, 0)) for space in _id_spaces()}
        after = _shift_ids(phantom.labels, shifts)
        phantom.labels["cell"] = _number_cell(phantom.labels["cell"], index + 1, self.count)
        origin_um = [o * s / 1000 for o, s in zip(offset, self.spacing)]
        phantom.tables = {name: _move_table(name, table, index=index, offset=offset, origin_um=origin_um,
                                            shifts=shifts)
                          for name, table in phantom.tables.items()}
        phantom.tables["tiles"] = _tile_row(phantom.summary, index=index, seed=self.seed(index), offset=offset)
        return FieldTile(index, self.position(index), offset, phantom, after)

    def __iter__(self) -> Iterator[FieldTile]:
        carry: dict[str, int] = {}
        for index in range(self.count):
            tile = self.tile(index, carry=carry)
            carry = tile.carry
            yield tile
            del tile  # the next tile is made with this one released


def summarise_field(tiles: pd.DataFrame) -> dict[str, Any]:
    """The field's summary from its ``tiles`` table (one row per tile): the number of
    tiles and the totals of what adds up over tiles (volumes in µm³ and counts). Every
    other statistic (fractions, densities, correlations, contrast) is per tile, in the
    ``tiles`` table, and is not averaged here."""
    additive = [name for name in tiles.columns if name.endswith(_ADDITIVE_SUFFIXES) or name in _ADDITIVE_NAMES]
    summary: dict[str, Any] = {"tiles": len(tiles)}
    summary.update({name: _plain(tiles[name].sum()) for name in additive})
    return summary


# -- helpers -----------------------------------------------------------------------------


def _id_spaces() -> list[str]:
    """The id spaces of the instance labels (``pockets`` shares ``pores``')."""
    return sorted({_SHARED_IDS.get(name, name) for name in INSTANCES})


def _shift_ids(labels: dict[str, np.ndarray], shifts: dict[str, int]) -> dict[str, int]:
    """Add each id space's shift to its instance labels' ids, in place; the largest id in
    each space afterwards."""
    after = dict(shifts)
    for name in INSTANCES:
        space = _SHARED_IDS.get(name, name)
        image = labels[name]
        largest = int(image.max(initial=0))
        if shifts[space] + largest > _MAX_ID:
            raise VemprofError(f"the field needs more than {_MAX_ID} {space} ids; make fewer or smaller tiles")
        if shifts[space]:
            np.add(image, np.uint32(shifts[space]), out=image, where=image > 0)
        after[space] = max(after[space], shifts[space] + largest)
    return after


def _number_cell(cell: np.ndarray, number: int, count: int) -> np.ndarray:
    """The cell mask as an instance label holding ``number``, in the smallest unsigned
    type that holds ``count`` cells."""
    dtype = np.min_scalar_type(count)
    return np.multiply(cell, dtype.type(number), dtype=dtype)


def _move_table(name: str, table: pd.DataFrame, *, index: int, offset, origin_um, shifts) -> pd.DataFrame:
    """``table`` in the field's ids and coordinates, with a ``tile`` column."""
    table = table.copy()
    if "label" in table and name in shifts:
        table["label"] = table["label"] + shifts[name]
    for column, axis in _POSITION_COLUMNS.items():
        if column in table:
            table[column] = table[column] + origin_um[axis]
    if name == "slice_shifts":
        table["z"] = table["z"] + offset[0]
    table.insert(0, "tile", index)
    return table


def _tile_row(summary: dict[str, Any], *, index: int, seed: int, offset) -> pd.DataFrame:
    """One row: the tile's index, seed, voxel offset and its summary's numbers."""
    row: dict[str, Any] = {"tile": index, "seed": seed, "offset_z": offset[0], "offset_y": offset[1],
                           "offset_x": offset[2]}
    row.update({key: value for key, value in summary.items()
                if isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(value, bool)})
    return pd.DataFrame([row])


def _plain(value) -> int | float:
    """A numpy scalar as a JSON-serialisable number."""
    return value.item() if hasattr(value, "item") else value
