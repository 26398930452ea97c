"""3D-aware training planes: the volume made isotropic, rotated about X and about Y, cut
into every k-th Z plane; objects survive the rotation, labels keep their values, the
padding is not annotated, and planes without annotation are left out."""

import numpy as np
import pytest
from scipy import ndimage

from vemprof.errors import VemprofError
from vemprof.learn._rotations import ROTATION_PLANES, rotated_planes

SPACING = (10.0, 5.0, 5.0)  # nm; isotropic at 5 nm the 32 × 48 × 48 volume is 64 × 48 × 48
SHAPE = (32, 48, 48)
ISO_SHAPE = (64, 48, 48)
#: Balls (centre z, y, x in voxels; radius in nm) labelled 2, 3, 4 on background 1.
BALLS = {2: ((10, 14, 14), 45.0), 3: ((20, 30, 32), 45.0), 4: ((16, 34, 12), 40.0)}


def annotated_balls() -> np.ndarray:
    """A fully annotated volume: background 1 and three balls of 2000–3000 isotropic voxels."""
    z, y, x = np.indices(SHAPE) * np.array(SPACING)[:, None, None, None]
    labels = np.ones(SHAPE, np.uint8)
    for value, (centre, radius_nm) in BALLS.items():
        cz, cy, cx = np.array(centre) * SPACING
        labels[(z - cz) ** 2 + (y - cy) ** 2 + (x - cx) ** 2 <= radius_nm ** 2] = value
    return labels


def noise(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).random(SHAPE).astype(np.float32)


def stacked(planes, axis, angle, shape) -> np.ndarray:
    """The label volume of one rotation rebuilt from its planes (taken with every=1)."""
    volume = np.zeros(shape, planes.labels[0].dtype)
    for (source_axis, source_angle, z), plane in zip(planes.sources, planes.labels):
        if (source_axis, source_angle) == (axis, angle):
            volume[z] = plane
    return volume


def rotated_shape(shape, angle, axis) -> tuple[int, ...]:
    return ndimage.rotate(np.zeros(shape, bool), angle, axes=ROTATION_PLANES[axis], reshape=True).shape


def rotate_back(rotated: np.ndarray, angle: float, axis: str, shape) -> np.ndarray:
    """``rotated`` turned back by ``angle`` about the centres, on a grid of ``shape`` (nearest).

    scipy's rotate with the original grid as output: rotating back with ``reshape=True``
    and cropping would shift by half a voxel wherever the margin is odd.
    """
    cos, sin = np.cos(np.deg2rad(angle)), np.sin(np.deg2rad(angle))
    a, b = ROTATION_PLANES[axis]
    matrix = np.eye(3)
    matrix[[a, a, b, b], [a, b, a, b]] = cos, -sin, sin, cos
    offset = (np.array(rotated.shape) - 1) / 2 - matrix @ ((np.array(shape) - 1) / 2)
    return ndimage.affine_transform(rotated, matrix, offset, output_shape=shape, order=0)


@pytest.fixture(scope="module")
def every_plane():
    return rotated_planes(noise(), annotated_balls(), spacing=SPACING, every=1)


def test_the_unrotated_planes_are_the_volume_at_isotropic_voxels(every_plane):
    isotropic = stacked(every_plane, None, 0.0, ISO_SHAPE)

    assert every_plane.pixel_nm == 5.0
    for value in BALLS:  # each 10 nm plane became two 5 nm planes
        assert np.count_nonzero(isotropic == value) == 2 * np.count_nonzero(annotated_balls() == value) >= 2000


@pytest.mark.parametrize("axis", ["x", "y"])
@pytest.mark.parametrize("angle", [30.0, 60.0, 90.0])
def test_objects_survive_rotation_and_rotation_back(every_plane, axis, angle):
    isotropic = stacked(every_plane, None, 0.0, ISO_SHAPE)
    rotated = stacked(every_plane, axis, angle, rotated_shape(ISO_SHAPE, angle, axis))

    back = rotate_back(rotated, angle, axis, ISO_SHAPE)

    for value in BALLS:
        iou = np.count_nonzero((back == value) & (isotropic == value)) / np.count_nonzero(
            (back == value) | (isotropic == value))
        assert iou >= 0.95, (value, iou)


def test_labels_keep_their_values_and_the_padding_is_not_annotated():
    labels = np.random.default_rng(1).choice(np.array([1, 3, 7], np.uint16), size=SHAPE)
    image = noise()

    planes = rotated_planes(image, labels, spacing=SPACING, angles=[30], axes=["x"], every=1)

    assert {plane.dtype for plane in planes.labels} == {np.dtype(np.uint16)}
    assert {plane.dtype for plane in planes.images} == {np.dtype(np.float32)}
    assert set(np.unique(np.concatenate([plane.ravel() for plane in planes.labels]))) == {0, 1, 3, 7}
    # the middle plane of the rotated volume: its ends in Y lie outside the turned box
    middle = planes.sources.index(("x", 30.0, rotated_shape(ISO_SHAPE, 30, "x")[0] // 2))
    assert planes.labels[middle][0, 0] == planes.labels[middle][-1, -1] == 0
    assert planes.images[middle][0, 0] == pytest.approx(np.median(image))


def test_every_kth_plane_of_each_rotation():
    labels = np.ones(SHAPE, np.uint8)  # fully annotated: no plane is left out

    planes = rotated_planes(noise(), labels, spacing=SPACING, angles=[90], every=5)

    # 90° about X turns Z × Y (64 × 48) into 48 × 64; about Y, Z × X into 48 × 64
    assert planes.sources == ([(None, 0.0, z) for z in range(0, 64, 5)]
                              + [("x", 90.0, z) for z in range(0, 48, 5)]
                              + [("y", 90.0, z) for z in range(0, 48, 5)])
    assert [plane.shape for plane in planes.images] == [(48, 48)] * 13 + [(64, 48)] * 10 + [(48, 64)] * 10
    assert [plane.shape for plane in planes.labels] == [plane.shape for plane in planes.images]


def test_planes_without_annotation_are_left_out():
    labels = np.zeros(SHAPE, np.uint8)
    labels[10] = 1  # one painted plane at 10 nm: isotropic planes 20 and 21

    planes = rotated_planes(noise(), labels, spacing=SPACING, angles=[90], axes=["x"], every=5)

    assert planes.sources == [(None, 0.0, 20)] + [("x", 90.0, z) for z in range(0, 48, 5)]
    # turned on its side, the painted plane crosses every rotated plane as two rows
    assert [np.count_nonzero(plane) for plane in planes.labels[1:]] == [2 * 48] * 10


@pytest.mark.parametrize("change, message", [
    (dict(labels=np.ones((32, 48, 40), np.uint8)), "one 3D shape"),
    (dict(labels=np.ones(SHAPE, np.float32)), "must be integers"),
    (dict(labels=np.zeros(SHAPE, np.uint8)), "no annotation"),
    (dict(spacing=(10, 0, 5)), "positive nanometres"),
    (dict(axes=["z"]), "'x' and 'y'"),
    (dict(angles=[30, float("nan")]), "finite degrees"),
    (dict(every=0), "every must be"),
])
def test_bad_input_is_refused_in_one_line(change, message):
    arguments = dict(image=noise(), labels=np.ones(SHAPE, np.uint8), spacing=SPACING) | change

    with pytest.raises(VemprofError, match=message) as error:
        rotated_planes(**arguments)
    assert "\n" not in str(error.value)
