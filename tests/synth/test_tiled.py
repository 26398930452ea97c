"""`PhantomField`: a field of phantom cells made tile by tile, each tile a `make_phantom`
cell at its offset, ids unique over the field, tables in the field's coordinates.

Tiles of 48 × 112 × 112 voxels at 40 nm (the smallest field that holds a whole cell) keep
the file fast; a 1 × 2 × 2 field has tiles side by side along Y and X.
"""

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

from vemprof.errors import VemprofError
from vemprof.synth import PhantomField, PhantomParameters, make_phantom, summarise_field

TILE = PhantomParameters(shape=(48, 112, 112), spacing=(40.0, 40.0, 40.0), threads=1)
SEMANTIC = ("nucleus", "nucleus_sections", "nuclear_envelope")


@pytest.fixture(scope="module")
def field():
    return PhantomField(TILE, tiles=(1, 2, 2))


@pytest.fixture(scope="module")
def tiles(field):
    return list(field)


def assembled(field, tiles, name):
    """Label image ``name`` of the whole field, put together from its tiles."""
    dtype = tiles[0].labels[name].dtype
    out = np.zeros(field.shape, dtype)
    for tile in tiles:
        out[tuple(slice(o, o + n) for o, n in zip(tile.offset, tile.labels[name].shape))] = tile.labels[name]
    return out


def test_the_field_is_its_tiles_side_by_side(field, tiles):
    assert field.shape == (48, 224, 224) and field.count == 4
    assert [tile.offset for tile in tiles] == [(0, 0, 0), (0, 0, 112), (0, 112, 0), (0, 112, 112)]
    assert [tile.position for tile in tiles] == [(0, 0, 0), (0, 0, 1), (0, 1, 0), (0, 1, 1)]


def test_each_tile_is_make_phantom_with_its_own_seed_and_shifted_ids(field, tiles):
    assert field.seed(0) == TILE.seed and len({field.seed(i) for i in range(4)}) == 4
    for tile in tiles:
        alone = make_phantom(TILE, seed=field.seed(tile.index))
        np.testing.assert_array_equal(tile.image, alone.image)
        previous = tiles[tile.index - 1].carry if tile.index else {}
        for name, image in alone.labels.items():
            if name in SEMANTIC:
                expected = image
            elif name == "cell":
                expected = image * (tile.index + 1)
            else:
                shift = previous.get("pores" if name == "pockets" else name, 0)
                expected = np.where(image > 0, image + shift, 0)
            np.testing.assert_array_equal(tile.labels[name], expected, err_msg=f"tile {tile.index}, {name}")


def test_instance_ids_are_unique_over_the_field(field, tiles):
    for name in ("mitochondria", "pores", "organelles"):
        ids = [np.unique(tile.labels[name][tile.labels[name] > 0]) for tile in tiles]
        together = np.concatenate(ids)
        assert len(together) == len(np.unique(together)), name
        assert together.max() == tiles[-1].carry[name]
    for tile in tiles:  # a pocket keeps the id of the pore above it
        assert set(np.unique(tile.labels["pockets"])) <= set(np.unique(tile.labels["pores"]))
    assert set(np.unique(assembled(field, tiles, "cell"))) == {0, 1, 2, 3, 4}


def test_tables_are_in_the_field_ids_and_coordinates(field, tiles):
    mitochondria = assembled(field, tiles, "mitochondria")
    table = pd.concat([tile.tables["mitochondria"] for tile in tiles], ignore_index=True)
    assert list(table["label"]) == list(range(1, len(table) + 1))
    centroids = np.array(ndi.center_of_mass(mitochondria > 0, mitochondria, table["label"]))
    np.testing.assert_allclose(table[["z_um", "y_um", "x_um"]], centroids * np.array(field.spacing) / 1000,
                               atol=1e-9)
    for tile in tiles:
        pores = tile.tables["pores"]
        assert (pores["tile"] == tile.index).all()
        assert set(pores["label"]) == set(np.unique(tile.labels["pores"])) - {0}
        centres, voxel_um = pores[["z_um", "y_um", "x_um"]].to_numpy(), np.array(field.spacing) / 1000
        assert (centres >= np.array(tile.offset) * voxel_um).all()
        assert (centres <= (np.array(tile.offset) + TILE.shape) * voxel_um).all()
        shifts = tile.tables["slice_shifts"]
        assert list(shifts["z"]) == list(range(tile.offset[0], tile.offset[0] + TILE.shape[0]))


def test_the_tiles_table_and_the_field_summary_add_up_the_tiles(tiles):
    rows = pd.concat([tile.tables["tiles"] for tile in tiles], ignore_index=True)
    assert list(rows["tile"]) == [0, 1, 2, 3] and list(rows["offset_x"]) == [0, 112, 0, 112]
    summary = summarise_field(rows)
    assert summary["tiles"] == 4
    assert summary["mitochondria_count"] == sum(len(tile.tables["mitochondria"]) for tile in tiles)
    assert summary["cell_volume_um3"] == pytest.approx(sum(tile.phantom.summary["cell_volume_um3"] for tile in tiles))
    assert "sv_distance_pearson_r" not in summary  # per tile only, not averaged


def test_a_tile_made_alone_from_the_previous_carry_equals_the_iterated_one(field, tiles):
    again = field.tile(2, carry=tiles[1].carry)
    for name, image in tiles[2].labels.items():
        np.testing.assert_array_equal(again.labels[name], image)
    assert again.carry == tiles[2].carry


@pytest.mark.parametrize("counts", [(0, 1, 1), (1, 2), (1, -1, 1), (1.5, 1, 1)])
def test_bad_tile_counts_raise_a_clear_error(counts):
    with pytest.raises(VemprofError, match="tiles must be three counts"):
        PhantomField(TILE, tiles=counts)
