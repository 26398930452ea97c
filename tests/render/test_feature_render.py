"""Objects coloured by a value: the colour look-up, the PNG, and the mesh that 3D viewers open.

Two balls of radius 150 nm in a 32 × 64 × 64 volume of 20 × 10 × 10 nm voxels, with the
values 0 and 1, so that on viridis the first is its darkest colour and the second its
brightest."""

import matplotlib
import matplotlib.image
import numpy as np
import pandas as pd
import pytest
import trimesh

from vemprof.errors import VemprofError
from vemprof.render import (
    NO_VALUE_RGBA,
    FeatureColours,
    comparison_figure,
    feature_mesh,
    render_feature,
    write_mesh,
)
from vemprof.spatial import compare

SPACING = (20.0, 10.0, 10.0)
RADIUS_NM = 150.0
CENTRES_NM = {1: (320.0, 200.0, 200.0), 2: (320.0, 440.0, 440.0)}
DARKEST, BRIGHTEST = matplotlib.colormaps["viridis"]([0.0, 1.0])


def two_balls() -> np.ndarray:
    """Labels (32, 64, 64) uint32: ball 1 and ball 2 at `CENTRES_NM`."""
    grid = np.stack(np.meshgrid(*(np.arange(n) * s for n, s in zip((32, 64, 64), SPACING)), indexing="ij"), -1)
    labels = np.zeros((32, 64, 64), np.uint32)
    for label, centre in CENTRES_NM.items():
        labels[np.linalg.norm(grid - centre, axis=-1) <= RADIUS_NM] = label
    return labels


def voxel_of(centre_nm) -> tuple[int, ...]:
    return tuple(int(round(c / s)) for c, s in zip(centre_nm, SPACING))


def test_each_object_takes_the_colour_of_its_value():
    labels = two_balls()
    colours = FeatureColours.of({1: 0.0, 2: 1.0}, name="sv_ratio_per_um")
    rgba = colours.label_rgba(labels)
    assert rgba.shape == labels.shape + (4,)
    np.testing.assert_allclose(rgba[voxel_of(CENTRES_NM[1])], DARKEST)
    np.testing.assert_allclose(rgba[voxel_of(CENTRES_NM[2])], BRIGHTEST)
    assert (rgba[labels == 0] == 0).all()  # the background is transparent


def test_an_object_without_a_value_is_grey():
    labels = two_balls()
    rgba = FeatureColours.of({1: 5.0, 2: np.nan}).label_rgba(labels)
    np.testing.assert_allclose(rgba[voxel_of(CENTRES_NM[2])], NO_VALUE_RGBA)
    only_one = FeatureColours.of({1: 5.0}).label_rgba(labels)  # ball 2 is not among the values at all
    np.testing.assert_allclose(only_one[voxel_of(CENTRES_NM[2])], NO_VALUE_RGBA)


def test_values_that_cannot_be_coloured_are_refused_in_one_line():
    with pytest.raises(VemprofError, match="no object has a finite value of volume_um3"):
        FeatureColours.of({1: np.nan, 2: np.nan}, name="volume_um3")
    with pytest.raises(VemprofError, match="unknown colour map 'viridiss'"):
        FeatureColours.of({1: 1.0}, cmap="viridiss")


def test_the_figure_shows_the_objects_in_their_values_colours(tmp_path):
    labels = two_balls()
    image = np.random.default_rng(0).integers(0, 255, labels.shape, dtype=np.uint8)
    out = render_feature(labels, {1: 0.0, 2: 1.0}, spacing=SPACING, image=image, out=tmp_path / "balls.png",
                         name="sv_ratio_per_um", title="two balls")
    assert out == tmp_path / "balls.png" and [p.name for p in tmp_path.iterdir()] == ["balls.png"]
    picture = matplotlib.image.imread(out)[..., :3]
    assert picture.shape[1] == 1650 and 600 < picture.shape[0] < 1650  # 11 inches at 150 dpi, rows of XY and XZ
    # the maximum projections paint each ball in its value's own colour, unblended
    for colour in (DARKEST, BRIGHTEST):
        assert np.all(np.abs(picture - colour[:3]) < 2 / 255, axis=-1).sum() > 1000


def test_the_figure_needs_a_png_path(tmp_path):
    with pytest.raises(VemprofError, match=r"balls.jpg must end in .png \(e.g. balls.png\)"):
        render_feature(two_balls(), {1: 0.0, 2: 1.0}, spacing=SPACING, out=tmp_path / "balls.jpg")
    assert not any(tmp_path.iterdir())


@pytest.mark.parametrize("suffix", [".ply", ".glb", ".gltf"])
def test_the_mesh_reloads_in_um_with_each_objects_colour(tmp_path, suffix):
    mesh = feature_mesh(two_balls(), {1: 0.0, 2: 1.0}, spacing=SPACING)
    path = write_mesh(mesh, tmp_path / f"balls{suffix}")
    reloaded = trimesh.load(path, force="mesh", process=False)
    assert reloaded.is_winding_consistent and reloaded.is_watertight
    ball_um3 = 4 / 3 * np.pi * (RADIUS_NM / 1000) ** 3
    assert reloaded.volume == pytest.approx(2 * ball_um3, rel=0.1)  # positive: the normals point outwards
    colours = reloaded.visual.vertex_colors
    for label, colour in ((1, DARKEST), (2, BRIGHTEST)):
        of_ball = np.all(colours == np.round(colour * 255).astype(np.uint8), axis=1)
        assert 0 < of_ball.sum() < len(colours)
        centre_xyz_um = np.array(CENTRES_NM[label][::-1]) / 1000
        voxel_xyz_um = np.array(SPACING[::-1]) / 1000
        lowest, highest = reloaded.vertices[of_ball].min(axis=0), reloaded.vertices[of_ball].max(axis=0)
        assert np.all(np.abs(lowest - (centre_xyz_um - RADIUS_NM / 1000)) <= voxel_xyz_um), lowest
        assert np.all(np.abs(highest - (centre_xyz_um + RADIUS_NM / 1000)) <= voxel_xyz_um), highest


def test_an_object_cut_by_the_volume_is_closed_where_it_meets_a_face():
    labels = two_balls()[16:]  # both balls cut in half at the first plane
    mesh = feature_mesh(labels, {1: 0.0, 2: 1.0}, spacing=SPACING, smooth=False)
    voxel_um3 = np.prod(SPACING) / 1e9
    assert mesh.is_watertight
    assert mesh.volume == pytest.approx(np.count_nonzero(labels) * voxel_um3, rel=0.1)
    assert mesh.vertices[:, 2].min() == pytest.approx(-SPACING[0] / 2000)  # half a voxel before the first centre


def test_the_mesh_needs_a_mesh_suffix(tmp_path):
    mesh = feature_mesh(two_balls(), {1: 0.0, 2: 1.0}, spacing=SPACING)
    with pytest.raises(VemprofError, match=r"balls.obj must end in .ply, .glb or .gltf"):
        write_mesh(mesh, tmp_path / "balls.obj")
    assert not any(tmp_path.iterdir())


def test_a_comparison_figure_shows_each_group_and_the_test(tmp_path):
    rng = np.random.default_rng(0)
    table = pd.DataFrame({"knn8_mean_um": np.r_[rng.normal(0.35, 0.04, 60), rng.normal(0.43, 0.04, 90)],
                          "section": np.r_[np.ones(60, int), np.full(90, 2)]})
    test = compare(table, "knn8_mean_um", "section")
    out = comparison_figure(table, column="knn8_mean_um", by="section", test=test, out=tmp_path / "sections.png")
    image = matplotlib.image.imread(out)
    assert image.shape[0] > 400 and image.shape[1] > 400
    assert sorted(path.name for path in tmp_path.iterdir()) == ["sections.png"]  # no partial file left
    with pytest.raises(VemprofError, match="must end in .png"):
        comparison_figure(table, column="knn8_mean_um", by="section", test=test, out=tmp_path / "sections.jpg")
