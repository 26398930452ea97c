"""The profile of a phantom cell from its ground truth: the fall of mitochondrial S/V with
the distance to the nearer membrane, which the generator builds in, comes out — strong and
significant to the nearer membrane, weaker to either membrane alone (as in the published
HeLa study)."""

import pytest

from vemprof.measure import membrane_distances, object_table
from vemprof.spatial import correlate
from vemprof.synth import make_phantom


@pytest.fixture(scope="module")
def mitochondria():
    phantom = make_phantom(shape=(128, 256, 256), spacing=(40, 40, 40), seed=3)
    labels = phantom.labels["mitochondria"]
    table = object_table(labels, spacing=phantom.spacing)
    distances = membrane_distances(labels, cell=phantom.labels["cell"], nucleus=phantom.labels["nucleus"],
                                   spacing=phantom.spacing, centroids_um=table)
    return table.merge(distances, on="label")


@pytest.mark.parametrize("distance", ["dist_nearer_membrane_um", "centroid_dist_nearer_membrane_um"])
def test_sv_falls_with_the_distance_to_the_nearer_membrane(mitochondria, distance):
    row = correlate(mitochondria, distance, "sv_ratio_per_um").iloc[0]
    assert row["n"] >= 30
    assert row["pearson_r"] < -0.5 and row["pearson_p"] < 0.01
    assert row["spearman_r"] < -0.5 and row["spearman_p"] < 0.01


def test_either_membrane_alone_correlates_more_weakly(mitochondria):
    nearer = abs(correlate(mitochondria, "dist_nearer_membrane_um", "sv_ratio_per_um")["pearson_r"].iloc[0])
    for membrane in ("envelope", "plasma_membrane"):
        alone = correlate(mitochondria, f"dist_{membrane}_um", "sv_ratio_per_um")["pearson_r"].iloc[0]
        assert abs(alone) < nearer - 0.2, membrane
