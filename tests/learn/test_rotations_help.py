"""Training on rotated planes ("3D-aware") teaches a 2D U-Net how objects look cut
across: it finds tubes standing along Z that a network trained on Z planes alone misses.

The synthetic case: bright tubes (radius 30 nm, the class) and bright balls (radius
90 nm, background), equally bright, in noise. In the training volume the tubes lie along
X, so its Z planes show them as stripes and the balls as discs: a network trained on
those planes learns "stripe = tube, disc = background". In the test volume the tubes stand
along Z, so its Z planes show them as small discs, which that network calls background.
Rotated by 90° about Y, the training tubes stand along Z too, and a network trained on the
rotated planes as well has seen small discs labelled tube.

Measured before choosing the margin (recall of the test tubes, 500 iterations, training
seeds 0, 1, 2 on each of five layouts: volume seeds 100 + k and 200 + k, k = 0…4):
Z planes only 0.00–0.06, with rotations 0.64–0.88, the difference 0.62–0.88 (0.81 for
the case below: 0.05 and 0.87). The test asks for a difference of 0.4.
"""

import numpy as np

from vemprof.learn import annotate_planes, classify_store, save_model, train_unet
from vemprof.store import write_dataset

SPACING = (10.0, 10.0, 10.0)  # nm
SHAPE = (48, 64, 64)  # voxels, Z Y X
TUBE_RADIUS_NM = 30.0
BALL_RADIUS_NM = 90.0
#: A small network for tests: 3 levels, one residual unit each.
SMALL = {"channels": [8, 16, 32], "residual_units": 1}


def tubes_and_balls(*, along: str, tubes: int = 6, balls: int = 4, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """A volume of ``tubes`` straight tubes (radius `TUBE_RADIUS_NM`, axes at least 20 nm
    more than that from the faces) running along ``along`` ("z", "y" or "x") from face to
    face, and ``balls`` balls (radius `BALL_RADIUS_NM`) centred at random, cut by the
    faces, all equally bright; and the tubes' mask.

    Returns the image (Z, Y, X) float32, 0.2 outside and 0.8 inside the objects plus
    Gaussian noise of standard deviation 0.05, and the mask (Z, Y, X) bool, true inside
    the tubes (where a ball overlaps a tube, the tube).
    """
    rng = np.random.default_rng(seed)
    position = dict(zip("zyx", np.indices(SHAPE) * np.array(SPACING)[:, None, None, None]))
    extent = dict(zip("zyx", np.array(SHAPE) * SPACING))
    inside_tube = np.zeros(SHAPE, bool)
    for _ in range(tubes):
        squared = sum((position[axis] - rng.uniform(TUBE_RADIUS_NM + 20, extent[axis] - TUBE_RADIUS_NM - 20)) ** 2
                      for axis in "zyx" if axis != along)
        inside_tube |= squared <= TUBE_RADIUS_NM ** 2
    inside_ball = np.zeros(SHAPE, bool)
    for _ in range(balls):
        squared = sum((position[axis] - rng.uniform(0, extent[axis])) ** 2 for axis in "zyx")
        inside_ball |= squared <= BALL_RADIUS_NM ** 2
    image = np.where(inside_tube | inside_ball, 0.8, 0.2) + 0.05 * rng.standard_normal(SHAPE)
    return image.astype(np.float32), inside_tube


def tube_store(path, *, along: str, seed: int):
    """`tubes_and_balls` as a store with its tubes as label image ``tube``; returns the store and the mask."""
    image, tubes = tubes_and_balls(along=along, seed=seed)
    store = write_dataset(path, raw=image, spacing=SPACING, labels={"tube": tubes.astype(np.uint8)}, tables={},
                          step="synth", parameters={"along": along, "seed": seed})
    return store, tubes


def recall_of_unet(tmp_path, training, test, tubes: np.ndarray, *, rotations, seed: int = 0) -> float:
    """The fraction of the ``tubes`` voxels of ``test`` found by a U-Net trained on ``training``'s
    painted planes (and, with ``rotations`` in degrees, on its rotated planes)."""
    name = "rotated" if rotations else "z_planes"
    description, weights, others = train_unet(training, "painted", max_iterations=500, device="cpu",
                                              network=SMALL, patch=64, seed=seed, rotations=rotations)
    model = save_model(tmp_path / f"{name}.zip", description, weights, others=others)
    classify_store(test, model, prefix=f"{name}_", device="cpu")
    found = np.asarray(test.labels(f"{name}_tube").data) > 0
    return np.count_nonzero(found & tubes) / np.count_nonzero(tubes)


def test_rotated_planes_teach_the_unet_tubes_standing_along_z(tmp_path):
    training, _ = tube_store(tmp_path / "lying.zarr", along="x", seed=100)
    annotate_planes(training, "painted", from_labels=["tube"], every=1)  # every Z plane painted whole
    test, standing = tube_store(tmp_path / "standing.zarr", along="z", seed=200)

    z_planes_only = recall_of_unet(tmp_path, training, test, standing, rotations=())
    with_rotations = recall_of_unet(tmp_path, training, test, standing, rotations=(30, 60, 90))
    assert with_rotations >= z_planes_only + 0.4, (
        f"recall of the standing tubes: {with_rotations:.2f} with rotations, {z_planes_only:.2f} without")
