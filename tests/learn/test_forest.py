"""The forest as onnxruntime runs it: in parts of a few trees, the same probabilities."""

import numpy as np
import onnxruntime
import pytest
from sklearn.ensemble import RandomForestClassifier

from vemprof.learn._forest import forest_to_onnx, in_groups


def _probabilities(weights: bytes, features: np.ndarray) -> np.ndarray:
    session = onnxruntime.InferenceSession(weights, providers=["CPUExecutionProvider"])
    return session.run(["probabilities"], {"features": features})[0]


@pytest.mark.parametrize("classes", [2, 3])
def test_a_forest_in_parts_gives_the_probabilities_of_the_whole_forest(classes):
    rng = np.random.default_rng(0)
    features = rng.random((2000, 5), dtype=np.float32)
    targets = (features[:, 0] * classes + rng.random(2000) * 0.5).astype(int) % classes + 1
    forest = RandomForestClassifier(n_estimators=25, max_depth=6, random_state=0).fit(features, targets)
    weights = forest_to_onnx(forest, 5)

    parts = in_groups(weights, trees=10)  # 10 + 10 + 5 trees

    assert parts != weights
    grouped = _probabilities(parts, features)
    assert grouped.shape == (2000, classes)
    np.testing.assert_allclose(grouped, _probabilities(weights, features), atol=1e-6)
    np.testing.assert_allclose(grouped, forest.predict_proba(features), atol=1e-6)


def test_a_model_that_is_not_one_forest_is_run_as_it_is():
    assert in_groups(b"not onnx") == b"not onnx"
