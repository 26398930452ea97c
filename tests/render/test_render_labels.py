"""Rendering a store's label image coloured by a column of its table (`render_labels`,
``vemprof render``): the files it writes, the pyramid level it reads, and one-line
errors for every input it cannot use."""

import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import trimesh

import vemprof.render._store
from vemprof.errors import VemprofError
from vemprof.render import render_labels
from vemprof.store import Store

SPACING = (20.0, 10.0, 10.0)
CHUNKS = (16, 32, 32)  # small chunks: the store keeps a coarser pyramid level


@pytest.fixture
def store(tmp_path) -> Store:
    """A 32 × 64 × 64 store with labels/boxes (three boxes) and tables/boxes, whose
    column ``volume_um3`` is numeric, ``kind`` text and ``empty`` all NaN; labels/other
    has no table."""
    labels = np.zeros((32, 64, 64), np.uint32)
    labels[4:12, 4:20, 4:20], labels[16:28, 30:60, 8:24], labels[8:24, 8:40, 40:60] = 1, 2, 3
    store = Store.create(tmp_path / "cell.zarr")
    store.write_raw(np.random.default_rng(0).integers(0, 255, labels.shape, dtype=np.uint8), spacing=SPACING,
                    chunks=CHUNKS)
    store.write_labels("boxes", labels, chunks=CHUNKS)
    store.write_labels("other", labels, chunks=CHUNKS)
    voxel_um3 = np.prod(SPACING) / 1e9
    volumes = [np.count_nonzero(labels == label) * voxel_um3 for label in (1, 2, 3)]
    store.write_table("boxes", pd.DataFrame({"label": np.array([1, 2, 3], np.uint32), "volume_um3": volumes,
                                             "kind": ["a", "b", "c"], "empty": np.nan}))
    return store


def test_render_writes_the_figure_and_the_mesh(store, tmp_path):
    rendering = render_labels(store, "boxes", color_by="volume_um3", out=tmp_path / "boxes.png",
                              mesh=tmp_path / "boxes.glb")
    assert (rendering.level, rendering.spacing, rendering.objects) == (0, SPACING, 3)
    assert matplotlib.image.imread(rendering.figure).shape[1] == 1650
    mesh = trimesh.load(rendering.mesh, force="mesh")
    assert mesh.volume == pytest.approx(store.read_table("boxes")["volume_um3"].sum(), rel=0.15)
    assert len(np.unique(mesh.visual.vertex_colors, axis=0)) == 3  # three values, three colours


def test_a_volume_over_the_budget_is_rendered_from_a_coarser_level(store, tmp_path, monkeypatch):
    monkeypatch.setattr(vemprof.render._store, "RENDER_VOXELS", 32 * 64 * 64 // 2)
    rendering = render_labels(store, "boxes", color_by="volume_um3", out=tmp_path / "boxes.png")
    assert rendering.level == 1 and rendering.spacing == (20.0, 20.0, 20.0)  # Y and X halved towards isotropy
    assert rendering.figure.exists() and rendering.mesh is None


@pytest.mark.parametrize("labels, options, message", [
    ("nope", {}, "no labels 'nope' in .*cell.zarr; it has: boxes, other"),
    ("other", {}, "no table tables/other in .*; measure the objects first: vemprof measure .*cell.zarr --labels other"),
    ("boxes", {"color_by": "surface_um2"}, "tables/boxes has no column 'surface_um2'; colour by one of its numeric "
                                           "columns: volume_um3, empty"),
    ("boxes", {"color_by": "kind"}, "column 'kind' of tables/boxes holds (str|object) values, not numbers"),
    ("boxes", {"color_by": "empty"}, r"column 'empty' of tables/boxes has no finite value \(all NaN\)"),
    ("boxes", {"out": "boxes.jpg"}, r"the figure boxes.jpg must end in .png"),
    ("boxes", {"mesh": "boxes.obj"}, r"the mesh boxes.obj must end in .ply, .glb or .gltf"),
    ("boxes", {"cmap": "nope"}, "unknown colour map 'nope'"),
])
def test_inputs_it_cannot_use_are_refused_in_one_line_before_anything_is_written(
        store, tmp_path, monkeypatch, labels, options, message):
    monkeypatch.chdir(tmp_path)
    options = {"color_by": "volume_um3", "out": "boxes.png", **options}
    with pytest.raises(VemprofError, match=message):
        render_labels(store, labels, **options)
    assert sorted(path.name for path in tmp_path.iterdir()) == ["cell.zarr"]


def test_the_command_line(store, tmp_path, vemprof_cli):
    result = vemprof_cli("render", store.path, "--labels", "boxes", "--color-by", "volume_um3",
                         "--out", tmp_path / "boxes.png", "--mesh", tmp_path / "boxes.ply", "--cmap", "magma")
    assert result.code == 0, result
    assert "rendered 3 objects of labels/boxes by volume_um3 (full resolution, 20×10×10 nm voxels)" in result.stdout
    assert (tmp_path / "boxes.png").exists() and (tmp_path / "boxes.ply").exists()
