"""`write_tiled_dataset`: a store made tile by tile, one tile in memory, resumable in both
phases (tiles, then pyramids) with the same bytes as an uninterrupted write."""

import contextlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
import pytest
from scipy import ndimage as ndi

from vemprof import VemprofError
from vemprof.store import write_tiled_dataset

TILE_SHAPE = (16, 24, 40)
TILES = (2, 2, 1)
SHAPE = tuple(n * t for n, t in zip(TILE_SHAPE, TILES))


@dataclass
class Block:
    """A tile as `write_tiled_dataset` takes it."""

    offset: tuple[int, int, int]
    image: np.ndarray
    labels: dict = field(repr=False)
    tables: dict = field(repr=False)
    carry: dict


class Blocks:
    """Makes tile ``index`` (random EM-like noise, its bright blobs as objects with ids
    after the previous tile's), remembering which tiles it made; can fail once at a tile."""

    def __init__(self, *, fail_at: int | None = None, error=RuntimeError):
        self.made, self.fail_at, self.error = [], fail_at, error

    def __call__(self, index: int, *, carry: dict) -> Block:
        if index == self.fail_at:
            self.fail_at = None
            raise self.error("the machine went down")
        self.made.append(index)
        rng = np.random.default_rng(index)
        image = ndi.gaussian_filter(rng.normal(100, 40, TILE_SHAPE), 1.5).astype(np.uint8)
        objects, count = ndi.label(image > 110)
        objects = np.where(objects > 0, objects + carry.get("largest", 0), 0).astype(np.uint32)
        offset = tuple(int(p) * n for p, n in zip(np.unravel_index(index, TILES), TILE_SHAPE))
        table = pd.DataFrame({"label": np.unique(objects[objects > 0]), "tile": index})
        return Block(offset, image, {"objects": objects, "bright": (image > 110).astype(np.uint8)},
                     {"objects": table}, {"largest": carry.get("largest", 0) + count})


def write(destination, make_tile, **options):
    return write_tiled_dataset(destination, shape=SHAPE, spacing=(25.0, 20.0, 20.0), count=4, make_tile=make_tile,
                               step="synth", parameters={"tiles": list(TILES)}, chunks=(8, 16, 16), **options)


def files(folder) -> dict[str, bytes]:
    """Every file's bytes, but the provenance (which holds the time of writing)."""
    return {path.relative_to(folder).as_posix(): path.read_bytes()
            for path in sorted(folder.rglob("*")) if path.is_file() and path.name != "provenance.json"}


@contextlib.contextmanager
def ctrl_c_while_writing_pyramids(description, total):
    """A progress reporter that presses Ctrl-C once the first pyramid chunks are written."""

    def advance(finished):
        if description.startswith("writing") and finished:
            raise KeyboardInterrupt

    yield advance


@pytest.fixture(scope="module")
def reference(tmp_path_factory):
    """The store written in one go."""
    return write(tmp_path_factory.mktemp("reference") / "field.zarr", Blocks())


def test_tiles_land_at_their_offsets_with_ids_and_tables_of_the_whole(reference):
    blocks, carry, image = Blocks(), {}, np.zeros(SHAPE, np.uint8)
    for index in range(4):
        block = blocks(index, carry=carry)
        image[tuple(slice(o, o + n) for o, n in zip(block.offset, TILE_SHAPE))] = block.image
        carry = block.carry
    np.testing.assert_array_equal(reference.raw().data.compute(), image)
    objects = reference.labels("objects").data.compute()
    assert objects.dtype == np.uint32 and objects.max() == carry["largest"]
    table = reference.read_table("objects")
    assert list(table["label"]) == list(range(1, carry["largest"] + 1))
    assert list(table["tile"]) == sorted(table["tile"])
    assert reference.pyramid()[1][0] == (16, 24, 20)
    (step,) = reference.provenance
    assert step["parameters"] == {"tiles": [2, 2, 1]}
    assert "labels/objects" in step["outputs"] and "tables/objects" in step["outputs"]
    assert not (reference.path / ".tiles").exists()
    assert not reference.path.with_name("field.zarr.partial").exists()


def test_an_interrupted_tile_resumes_after_the_finished_tiles_with_the_same_bytes(reference, tmp_path):
    destination = tmp_path / "field.zarr"
    with pytest.raises(RuntimeError, match="went down"):
        write(destination, Blocks(fail_at=1))
    assert not destination.exists() and (tmp_path / "field.zarr.partial" / ".tiles" / "done.jsonl").exists()

    again = Blocks()
    store = write(destination, again)

    assert again.made == [1, 2, 3]  # tile 0 was not made again
    assert files(store.path) == files(reference.path)
    assert store.provenance[0]["parameters"] == reference.provenance[0]["parameters"]


def test_an_interrupted_pyramid_resumes_without_making_tiles_again(reference, tmp_path):
    destination = tmp_path / "field.zarr"
    with pytest.raises(KeyboardInterrupt):
        write(destination, Blocks(), memory_mib=0.05, progress=ctrl_c_while_writing_pyramids)

    again = Blocks()
    store = write(destination, again)

    assert again.made == []
    assert files(store.path) == files(reference.path)


def test_a_bad_tile_leaves_nothing_behind(tmp_path):
    with pytest.raises(VemprofError, match="the machine went down"):
        write(tmp_path / "field.zarr", Blocks(fail_at=2, error=VemprofError))
    assert list(tmp_path.iterdir()) == []


def test_a_tile_outside_the_dataset_is_refused(tmp_path):
    def misplaced(index, *, carry):
        block = Blocks()(index, carry=carry)
        block.offset = (0, 0, 8)
        return block

    with pytest.raises(VemprofError, match=r"tile 0 of shape \(16, 24, 40\) at offset \(0, 0, 8\) does not lie inside"):
        write(tmp_path / "field.zarr", misplaced)
